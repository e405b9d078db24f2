#pragma once

#include "error.h"
#include "policy/policy.h"

#include <QJsonObject>
#include <QMap>
#include <QString>
#include <QStringList>

// The compilers: pure functions from a policy and the facts of one launch to what a backend executes.
// They read no files, start nothing and look at no clock, so the editor can show their output live and
// tests can compare it with golden files.
//
// Both backends build the same sandbox: the workspace at the same path as on the host (unless told
// otherwise), protected workspace paths re-bound read-only, the policy's mounts and tmpfs, denied host
// paths masked by empty read-only folders, the shim read-only at /airlock/shim as the first process and
// the control folder at /airlock/control. The environment starts empty. No secret value can appear in
// the output: the policy holds none, and a pass-through variable that is a secret's source is dropped.
// bwrap has no resource options: the local backend applies policy.resources itself, with cgroups or
// rlimits. Allow and deny lists, host ports and secrets belong to the egress proxy, output limits and
// wall clock to the shim and the session; none of them appear in either output.

namespace airlock::policy {

// The Docker runtime gVisor is registered under for Airlock (packaging/ensure-dockerd.sh --gvisor):
// runsc with the flags Airlock's containers need (--host-uds=open for the control and proxy sockets,
// --oci-seccomp so the policy's seccomp profile applies inside, --network=none).
inline constexpr char kGvisorRuntime[] = "airlock-runsc";

// Under gVisor (ptrace platform) the container's pids cgroup counts gVisor's own threads (about 44 when
// idle) and about eight host tasks for every process inside (its stub and threads), measured with runsc
// 20221219. So a policy's process limit becomes this many host tasks, which holds about that many
// processes inside and still stops a fork bomb.
constexpr qint64 gvisorHostTasks(qint64 processes)
{
    return 64 + 8 * processes;
}

struct LaunchContext {
    QString sessionId;                 // Docker label airlock.session
    QString workspace;                 // host path, absolute
    QString sandboxWorkspace;          // where it appears inside; empty means the same path as on the host
    // The protection layer's mount point (airlock-protectfs over `workspace`), bound in its place; it
    // guards every protected name, so no read-only binds are added. Empty: no layer.
    QString workspaceLayer;
    // Where the workspace is bound from when not from `workspace` itself: an idmapped view of it that
    // gives a root-owned workspace to the unprivileged uid the sandbox runs as. Empty: `workspace`.
    QString workspaceSource;
    // Docker: the user the container runs as instead of the policy's, when the read-write workspace
    // belongs to another unprivileged user (the backend decides; see DockerBackend::prepare).
    std::optional<unsigned> runUid;
    std::optional<unsigned> runGid;
    // A host folder bound read-write as the sandbox's home (/home/agent) in place of any tmpfs there,
    // owned by the user the sandbox runs as: an agent's own state kept between runs of one session.
    QString agentHome;
    QString shim;                      // host path of the static airlock-shim binary
    QString controlDir;                // per-sandbox host folder with the shim's and proxy's sockets
    QString home;                      // the host user's home, for ~ and $HOME in mounts
    QMap<QString, QString> hostEnvironment; // where environment.passThrough takes its values
    // Docker only: the protected paths that exist in this workspace. Docker would create a missing bind
    // source as an empty root-owned folder in the user's workspace, so only existing ones are bound.
    // (bwrap uses --ro-bind-try and needs no list.)
    QStringList existingProtectedPaths;
    int proxyPort = 3128;              // loopback port in the sandbox where the shim bridges the proxy
    int seccompFd = 3;                 // bwrap: descriptor on which the backend passes the BPF filter
    // bwrap: descriptor of a control socket the backend has already bound and listens on; the shim serves
    // on it and the control folder is mounted read-only. -1: the shim binds the socket itself.
    int controlFd = -1;
    // Docker: the backend listens on the control socket and the shim connects out to it, so the control
    // folder is mounted read-only there too.
    bool shimConnects = false;
    // Docker on another machine: nothing can be bound from this one. Each folder the sandbox would bind
    // becomes a named volume "<remoteVolumePrefix>-<role>" that the backend fills by copying (the
    // volume's labels say from where: kCopyFromLabel, kCopyKindLabel); the shim serves over the
    // container's stdin and stdout and tunnels the egress proxy over them. Empty: bind mounts.
    QString remoteVolumePrefix;
    QString seccompProfileJson;        // Docker: the profile text (default and strict: Airlock's filter; custom: the file)
    QString version;                   // label airlock.version; empty means this build's version
};

// Labels of the volumes of a sandbox on a remote daemon (LaunchContext::remoteVolumePrefix).
inline constexpr char kCopyFromLabel[] = "airlock.copy-from"; // the host path copied in
inline constexpr char kCopyKindLabel[] = "airlock.copy-kind"; // workspace (copied back too), folder, shim

struct BwrapCommand {
    QStringList arguments;                // everything after "bwrap"
    // The whole environment to start bwrap with; bwrap hands it to the shim unchanged. Values stay off
    // the command line, where other users could read them in /proc.
    QMap<QString, QString> environment;
};

Result<BwrapCommand> compileBwrap(const Policy &policy, const LaunchContext &context);

// The body of POST /containers/create for the Docker Engine API.
Result<QJsonObject> compileDockerCreate(const Policy &policy, const LaunchContext &context);

// For display and copying: `env -i K=V … bwrap …` and `docker run …`, shell-quoted, one option per line.
QString renderBwrapCommandLine(const BwrapCommand &command);
QString renderDockerRunCommandLine(const QJsonObject &createBody);

// Quotes a word for a POSIX shell; words made only of safe characters are left as they are.
QString shellQuote(const QString &word);

} // namespace airlock::policy
