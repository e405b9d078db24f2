#pragma once

#include "error.h"

#include <QByteArrayView>
#include <QList>
#include <QString>
#include <QStringList>

// Reading where this process sits in the cgroup hierarchies (/proc/self/cgroup) and where those are
// mounted (/proc/self/mountinfo), and the small file operations the limiter needs. The parsers are
// strict: the files come from the kernel, but a container runtime may mount anything there.

namespace airlock::sandbox::cgroupfs {

inline constexpr qsizetype kMaxProcFileBytes = 1 << 20;

// One line of /proc/self/cgroup: "hierarchy-ID:controller-list:cgroup-path". Hierarchy 0 with an
// empty controller list is the unified (v2) hierarchy.
struct Membership
{
    int hierarchy = 0;
    QStringList controllers; // v1 controllers, "name=systemd" style named hierarchies included
    QString path;            // absolute, relative to the hierarchy's root as this namespace sees it
};
Result<QList<Membership>> parseProcCgroup(QByteArrayView text);

// A cgroup or cgroup2 mount from /proc/self/mountinfo.
struct Mount
{
    QString root;            // the cgroup path mounted there
    QString mountPoint;
    bool v2 = false;
    QStringList controllers; // v1: the controllers in the super options
    bool readOnly = false;
};
// Only cgroup mounts are returned; other lines are checked for shape and skipped.
Result<QList<Mount>> parseMountInfo(QByteArrayView text);

// The folder of `membership` under `mount`, or empty when the mount does not show it.
QString folderOf(const Mount &mount, const QString &cgroupPath);

// Reads a small file (kernel interface files); fails on anything over kMaxProcFileBytes.
Result<QByteArray> readSmallFile(const QString &path);
Result<void> writeFile(const QString &path, QByteArrayView value);
bool exists(const QString &path);

// The number of lines in a cgroup.procs file, -1 when it cannot be read.
int countProcs(const QString &procsFile);

} // namespace airlock::sandbox::cgroupfs
