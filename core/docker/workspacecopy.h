#pragma once

#include "error.h"

#include <QByteArray>
#include <QString>
#include <QStringList>

// The workspace of a sandbox on a daemon of another machine lives in a volume there: it is packed into
// a tar archive on the way in and made to match the container's archive on the way out. The way out is
// the dangerous one: the archive is written by whatever ran in the sandbox. So every name is checked
// (no "..", no absolute names, nothing beneath a symbolic link of the archive), nothing is followed on
// the host (each folder is opened beneath the workspace without following links), set-id bits are
// dropped, and protected names (sandbox/protectednames.h: git hooks and config, agent settings…) are
// never written, replaced or deleted on the host, whatever the archive says.

namespace airlock::docker {

struct PackOptions
{
    quint32 uid = 0; // owner of every entry in the container
    quint32 gid = 0;
    qint64 maxBytes = 1LL << 30; // the archive, refused past this
    // Non-empty: every entry goes beneath a first entry of this name for the folder itself (its mode,
    // owned like the rest). Unpacked in the folder that holds a volume's mount point, that gives the
    // volume's root to the container's user, which unpacking into the mount point cannot.
    QString top;
};

// The folder's contents with their modes and times; sockets, fifos and devices are left out.
// Symbolic links are packed as links, never followed.
Result<QByteArray> packFolder(const QString &dir, const PackOptions &options);

struct SyncReport
{
    int written = 0;   // files, folders and links created or replaced
    int removed = 0;   // entries that were no longer in the sandbox
    int unchanged = 0;
    QStringList kept;    // protected names the sandbox changed or removed, left as they were here
    QStringList refused; // entries that were not safe to create, and why
};

// Makes `dir` hold what `archive` holds beneath its top entry `top` (Docker names a copied folder's
// entries after its last name). Protected names (by the built-in list plus `protectedNames`) are left
// alone. When Airlock runs as root, what it creates belongs to the owner of `dir`.
Result<SyncReport> syncFromArchive(QByteArrayView archive, const QString &top, const QString &dir,
                                   const QStringList &protectedNames);

} // namespace airlock::docker
