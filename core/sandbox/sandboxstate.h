#pragma once

#include "error.h"
#include "policy/policy.h"
#include "sandbox/backend.h"
#include "sandbox/limiter.h"

#include <QByteArray>
#include <QDateTime>
#include <QString>

// Where local sandboxes keep their host side, and the small state file that lets a restarted Airlock
// (or airlockctl in another process) find them again:
//
//   <runtime root>/sandboxes/<id>/            0700, ours
//       state.json                            0600, this record
//       control/                              0700, mounted read-only at /airlock/control
//           shim.sock                         the shim's control socket, bound by the host
//           proxy.sock                        the egress proxy's socket (a later issue)
//
// The runtime root is $AIRLOCK_RUNTIME_DIR, else $XDG_RUNTIME_DIR/airlock, else
// /tmp/airlock-<uid> (made 0700 and checked to be ours and not a link). For root it is /run/airlock
// (0711), since root's sandboxes run as another uid that must reach their control folders, and root's
// $XDG_RUNTIME_DIR is closed to it.

namespace airlock::sandbox {

inline constexpr qsizetype kMaxStateFileBytes = 2 * 1024 * 1024;

struct LocalSandboxState
{
    int version = 1;
    QString id;
    QString policyName;
    policy::Policy policy;
    QString policyHash;
    QString workspace;
    QString sessionId;
    policy::Lifecycle lifecycle = policy::Lifecycle::Ephemeral;
    SandboxState state = SandboxState::Starting;
    QString message;
    QDateTime created;
    QDateTime deadline;        // invalid: no wall clock
    qint64 bwrapPid = 0;
    quint64 bwrapStartTime = 0; // /proc/PID/stat field 22, against pid reuse
    qint64 initPid = 0;         // pid 1 of the sandbox's pid namespace, as the host sees it
    quint64 pidNamespace = 0;   // its inode
    qint64 ownerPid = 0;        // the Airlock process that started it
    quint64 ownerStartTime = 0;
    QString uidMapping;
    qint64 hostUid = -1;        // the uid sandboxed code runs as on the host; -1: unknown (older file)
    QString workspaceMount;     // an idmapped view of the workspace the sandbox binds; empty when none
    QString agentHome;          // the host folder bound as its home; empty when none
    LimitReport limits;
    CgroupPlacement cgroup;

    QByteArray toJson() const;
    // Strict: a missing or mistyped field is an error; the policy must parse.
    static Result<LocalSandboxState> fromJson(const QByteArray &json);
};

// The runtime root, created if needed.
Result<QString> sandboxRuntimeRoot();
// A folder checked to be a real directory owned by us with no access for others; made when missing.
// `mode` 0711 lets others traverse it (not list it): a root launcher's sandboxes run as another uid,
// and bwrap opens their control folder and workspace mount below it as that uid.
Result<void> ensurePrivateDir(const QString &path, mode_t mode = 0700);
// As root, every folder above `root` must let others pass (sandboxes run as another uid); says which does not.
Result<void> ensureReachableByOthers(const QString &root);
// 0711 when sandboxes run as a uid other than ours (we are root), else 0700.
mode_t runtimeDirMode();

// Writes atomically (temporary file + rename), mode 0600.
Result<void> writeStateFile(const QString &path, const LocalSandboxState &state);
// Refuses links, files not ours and files over kMaxStateFileBytes.
Result<LocalSandboxState> readStateFile(const QString &path);

} // namespace airlock::sandbox
