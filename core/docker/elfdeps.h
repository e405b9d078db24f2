#pragma once

#include "error.h"

#include <QStringList>

// Which files a host program needs to run elsewhere: its ELF interpreter and shared libraries, found the
// way ld.so finds them. Read straight from the ELF headers, so no ldd (which runs the program) is needed.

namespace airlock::docker {

struct ElfInfo
{
    QString interpreter;  // PT_INTERP; empty for a static program
    QStringList needed;   // DT_NEEDED, in order
    QStringList runpath;  // DT_RUNPATH, else DT_RPATH, with $ORIGIN expanded
};

// 64-bit little-endian ELF only (x86_64, aarch64); anything else is an error naming the file.
Result<ElfInfo> readElf(const QString &path);

// The library folders searched after the runpath, as Debian's ld.so.conf sets them up.
QStringList defaultLibraryDirs();

// The program, its interpreter and every library it needs, transitively; host paths as named (symlinks
// are kept, so callers can copy the links too).
Result<QStringList> dependencyClosure(const QString &program, const QStringList &libraryDirs = defaultLibraryDirs());

} // namespace airlock::docker
