#pragma once

#include "error.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <optional>

// Reads a tar archive held in memory: ustar, GNU long names and pax records (what Docker's
// GET /containers/{id}/archive sends). The archive comes from a container, so nothing in it is
// believed: checksums are checked, sizes must fit the archive, names are bounded, and anything that
// does not parse ends the read with an Error saying where. Names are returned as written; whether a
// name is safe to create is the caller's question (workspacecopy.h answers it).

namespace airlock::docker {

struct TarEntry
{
    enum class Type { File, Directory, Symlink, HardLink, Other };
    Type type = Type::Other;
    QString path;       // as in the archive, without a trailing '/'
    QString linkTarget; // symlinks and hard links
    quint32 mode = 0;
    qint64 mtime = 0;
    QByteArrayView data; // regular files; valid while the archive's bytes live
};

class TarReader
{
public:
    static constexpr qsizetype MaxPath = 4096;

    explicit TarReader(QByteArrayView archive) : m_archive(archive) {}

    // The next entry; nullopt at the end of the archive.
    Result<std::optional<TarEntry>> next();

private:
    Error broken(const QString &what) const;

    QByteArrayView m_archive;
    qsizetype m_pos = 0;
    bool m_done = false;
};

} // namespace airlock::docker
