#pragma once

#include "error.h"

#include <QString>

#include <sys/stat.h>
#include <sys/types.h>

// Who sandboxed code is on the host. Sandboxed code never runs as host uid 0: kernel settings whose
// writes are checked by uid rather than by capability (/proc/sys, for one) would be host-wide for it,
// whatever its namespaces. A launcher that is not root runs its sandboxes as itself. A root launcher
// switches to an unprivileged uid before it starts bwrap:
//  - the workspace's owner, when that is not root, so files the sandbox writes stay the owner's;
//  - otherwise the system user `airlock-sandbox` (made once, with useradd, when missing), and the
//    workspace is given to it through an idmapped mount (root on disk appears as that user and what
//    it writes is stored as root), so the workspace stays root's.

namespace airlock::sandbox {

inline constexpr char kSandboxUserName[] = "airlock-sandbox";

struct SandboxUser
{
    uid_t uid = 0;
    gid_t gid = 0;
    bool switchUser = false;     // the launcher is root: the child drops to uid/gid before bwrap
    bool idmapWorkspace = false; // the workspace is root's: bind it through an idmapped mount
    QString name;                // for messages: "alice", "airlock-sandbox"

    // "1000 (alice)"
    QString describe() const;
};

// The owner of a file (uid, the owner's own group, name) as a sandbox user would be.
SandboxUser ownerOf(const struct stat &st);

// Who a sandbox over `workspace` runs as when the launcher has effective uid `launcherUid`.
Result<SandboxUser> sandboxUserFor(const QString &workspace, uid_t launcherUid);

// The uid and gid of `airlock-sandbox`, made as a system user when missing (root only).
Result<SandboxUser> dedicatedSandboxUser();

// Attaches an idmapped view of `source` at `target` (an empty folder): files of host uid/gid 0 appear
// as `user`, and what `user` writes there is stored as 0. Root only; the error says why it cannot be
// done (an old kernel, a file system without idmapped mounts).
Result<void> mountIdmapped(const QString &source, const QString &target, const SandboxUser &user);

// Detaches whatever is mounted at `target` and removes the folder; never removes anything inside it.
// False when something is still mounted there.
bool unmountAndRemove(const QString &target);

} // namespace airlock::sandbox
