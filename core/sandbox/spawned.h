#pragma once

#include "error.h"
#include "sandbox/limiter.h"

#include <QList>
#include <QMap>
#include <QString>
#include <QStringList>

#include <optional>

#include <sys/types.h>

// Starting bwrap exactly as the sandbox needs it, which QProcess cannot: the whole environment given
// (nothing inherited), chosen descriptors at chosen numbers and every other one closed, rlimits and
// cgroup membership applied between fork and exec, its own session, and a pidfd to watch it by.
// The child is made with clone(CLONE_VM | CLONE_VFORK), like posix_spawn, so starting it costs the
// same whatever the size of the calling process; only when it must wait for a go-ahead (a systemd
// scope is being made for it) is it a real fork.

namespace airlock::sandbox {

struct SpawnRequest
{
    QString program;                     // absolute path
    QStringList arguments;               // after argv[0]
    QMap<QString, QString> environment;  // the whole environment
    struct Descriptor
    {
        int source;                      // the caller's, left open
        int target;                      // its number in the child (>= 3)
    };
    QList<Descriptor> descriptors;
    int outputFd = -1;                   // stdout and stderr; -1: /dev/null. stdin is always /dev/null.
    QList<RlimitValue> rlimits;
    QStringList joinCgroups;             // cgroup.procs files the child writes "0" to
    bool noNewPrivileges = false;
    bool waitForGo = false;              // the child waits for Spawned::go() before it execs
    // A root caller's child drops to this uid and gid (its only group) after joining the cgroups and
    // before it execs: bwrap then runs unprivileged and the sandbox's kernel uid is never 0.
    struct User
    {
        uid_t uid;
        gid_t gid;
    };
    std::optional<User> user;
};

class Spawned
{
public:
    Spawned() = default;
    Spawned(Spawned &&other) noexcept;
    Spawned &operator=(Spawned &&other) noexcept;
    Spawned(const Spawned &) = delete;
    Spawned &operator=(const Spawned &) = delete;
    ~Spawned();

    pid_t pid() const { return m_pid; }
    // Readable once the child has exited; owned by this object until takePidfd().
    int pidfd() const { return m_pidfd; }
    int takePidfd();

    // For waitForGo: lets the child exec, and reports whether the exec worked.
    Result<void> go();

private:
    friend Result<Spawned> spawnProcess(const SpawnRequest &request);
    pid_t m_pid = -1;
    int m_pidfd = -1;
    int m_goFd = -1;     // write end the child waits on
    int m_errorFd = -1;  // read end the child reports a failed setup or exec on
};

Result<Spawned> spawnProcess(const SpawnRequest &request);

// A pidfd for a process that is not our child (a sandbox found after a restart); -1 if it is gone.
int openPidfd(pid_t pid);

// Reaps our child if it has exited; its wait status, or nullopt while it runs.
std::optional<int> reapChild(pid_t pid);

// The start time of a process in clock ticks since boot (/proc/PID/stat field 22), so a pid that was
// reused by another process is told apart; 0 when it does not exist.
quint64 processStartTime(pid_t pid);

// The inode of a process's pid namespace (/proc/PID/ns/pid), telling whether a pid still belongs to a
// sandbox; 0 when it cannot be read.
quint64 pidNamespaceOf(qint64 pid);

} // namespace airlock::sandbox
