#pragma once

#include "error.h"

#include <QByteArray>
#include <QSet>
#include <QString>

// A POSIX ustar archive in memory: what POST /images/create?fromSrc=- imports as a root file system.
// Entries get a fixed time so the same files make the same archive, unless setTime() says otherwise.
// Names and link targets too long for ustar's fields go in a pax record before the entry.

namespace airlock::docker {

class TarWriter
{
public:
    // Paths are relative to the archive's root ("usr/bin/busybox"); a leading '/' is dropped.
    Result<void> addDirectory(const QString &path, quint32 mode = 0755, quint32 uid = 0, quint32 gid = 0);
    Result<void> addFile(const QString &path, const QByteArray &data, quint32 mode = 0644, quint32 uid = 0, quint32 gid = 0);
    Result<void> addSymlink(const QString &path, const QString &target, quint32 uid = 0, quint32 gid = 0);
    // The modification time of the entries added after it; -1: the fixed time again.
    void setTime(qint64 secondsSinceEpoch);

    bool contains(const QString &path) const;
    qsizetype entries() const { return m_paths.size(); }
    // The archive with its two closing zero blocks; the writer is empty afterwards.
    QByteArray finish();

private:
    Result<void> header(const QString &path, char type, quint32 mode, quint32 uid, quint32 gid, qint64 size,
                        const QString &link);

    static constexpr qint64 kFixedTime = 1700000000; // 2023-11-14: any constant will do
    QByteArray m_data;
    qint64 m_time = kFixedTime;
    QSet<QString> m_paths;
};

} // namespace airlock::docker
