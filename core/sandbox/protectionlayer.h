#pragma once

#include "error.h"

#include <QString>
#include <QStringList>

#include <optional>

// The protection layer in front of a sandbox's writable workspace: airlock-protectfs, a FUSE file
// system that passes the workspace through and refuses every change to a protected name
// (protectednames.h). The backends mount it in the sandbox's host folder and bind it as the
// workspace. See README.md, "Protected names", for why FUSE and not a mount list or seccomp.

namespace airlock::sandbox {

// airlock-protectfs: $AIRLOCK_PROTECTFS, beside the application, in the build tree, or
// /usr/libexec/airlock. Empty when not found.
QString protectfsPath();

// Who serves the layer when a root launcher's sandbox runs as another user (sandboxuser.h): the
// layer runs as that user too, so what the sandbox creates is that user's, root's own privileges
// never act for the sandbox, and no allow_other is needed.
struct LayerUser {
    unsigned uid = 0;
    unsigned gid = 0;
};

// Mounts the layer over `workspace` at `mountPoint` (made if missing), with `additions` protected
// too, and returns once it serves. The layer runs on its own (it outlives this process, as a
// persistent sandbox does) until unmountProtectionLayer. The error names the fix. `forOthers`: another
// user (the Docker daemon) opens the mount, which needs allow_other, so as a user
// /etc/fuse.conf must say user_allow_other.
Result<void> mountProtectionLayer(const QString &workspace, const QString &mountPoint, const QStringList &additions,
                                  bool forOthers = false, std::optional<LayerUser> runAs = std::nullopt);

// Unmounts the layer at `mountPoint`, which ends its process. True when nothing is mounted there
// (any more); the empty mount point is removed.
bool unmountProtectionLayer(const QString &mountPoint);

// Removes a sandbox's host folder, unmounting a layer in it first. Removes nothing when the unmount
// fails: the folder would then lead into the workspace.
bool removeSandboxDir(const QString &dir);

// The layer's mount point in a local sandbox's host folder.
QString protectionMountPoint(const QString &sandboxDir);
// ... and beside a Docker sandbox's control folder, which the container sees (so not inside it).
QString dockerProtectionMountPoint(const QString &controlDir);

} // namespace airlock::sandbox
