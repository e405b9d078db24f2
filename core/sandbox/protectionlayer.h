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

// A layer on its way up (startProtectionLayer): its launcher, `airlock-protectfs --daemon`, exits
// once the layer serves, and the layer goes on by itself.
class PendingLayer
{
public:
    PendingLayer() = default;
    PendingLayer(PendingLayer &&other) noexcept;
    PendingLayer &operator=(PendingLayer &&other) noexcept;
    PendingLayer(const PendingLayer &) = delete;
    PendingLayer &operator=(const PendingLayer &) = delete;
    ~PendingLayer(); // ends and reaps the launcher when finish() was not called

    // Root mounted the layer itself and handed the launcher the /dev/fuse descriptor: the mount point
    // is the layer already, so a sandbox may bind it at once; its first access waits until the layer
    // serves, and fails if the layer never does. Otherwise (a user's layer, mounted through
    // fusermount3 by the launcher) nothing may bind the mount point before finish() succeeds.
    bool mountedAhead() const { return m_mountedAhead; }
    bool isPending() const { return m_pid > 0; }
    // Readable once the launcher has exited (a pidfd); for an event loop to watch.
    int launcherFd() const { return m_pidfd; }
    // Waits (at most timeoutMs) for the launcher and says whether the layer serves; on failure the
    // mount point is unmounted and the error names the fix. Once: later calls return success.
    Result<void> finish(int timeoutMs);

private:
    friend Result<PendingLayer> startProtectionLayer(const QString &, const QString &, const QStringList &, bool,
                                                     std::optional<LayerUser>);
    void abandon();
    int m_pid = -1;
    int m_pidfd = -1;
    int m_outputFd = -1;
    bool m_mountedAhead = false;
    QString m_workspace;
    QString m_mountPoint;
};

// Starts the layer over `workspace` at `mountPoint` (made if missing), with `additions` protected
// too. The layer runs on its own (it outlives this process, as a persistent sandbox does) until
// unmountProtectionLayer. The error names the fix. `forOthers`: another user (the Docker daemon)
// opens the mount, which needs allow_other, so as a user /etc/fuse.conf must say user_allow_other.
Result<PendingLayer> startProtectionLayer(const QString &workspace, const QString &mountPoint, const QStringList &additions,
                                          bool forOthers = false, std::optional<LayerUser> runAs = std::nullopt);

// startProtectionLayer, returning once the layer serves.
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
