#pragma once

#include "error.h"

#include <QStringList>

#include <git2/types.h>

namespace airlock::workspace {

// Puts a reader for loose objects in front of libgit2's own, for the object folders given (a
// repository's and its alternates'). It inflates with zlib itself and reports a truncated or garbled
// object as damage: libgit2 1.5's reader loops forever on a truncated one (libgit2 issue 7342), which
// would hang a snapshot, a rewind or a diff instead of saying what is wrong. Objects it does not find
// loose are left to libgit2 (packs). Returns the reader, to which addLooseObjectDirs adds folders.
Result<git_odb_backend *> installLooseObjectReader(git_odb *odb, const QStringList &objectDirs);
void addLooseObjectDirs(git_odb_backend *reader, const QStringList &objectDirs);

} // namespace airlock::workspace
