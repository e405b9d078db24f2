#include "policy/compiler.h"

#include "policy/codec.h"
#include "policy/sandboxlayout.h"
#include "policy/sandboxplan.h"

#include <QJsonArray>

#include <cmath>

namespace airlock::policy {

using namespace detail;

namespace {

constexpr qint64 kContainerOpenFiles = 8192; // the local sandbox's RLIMIT_NOFILE too

bool isSharedTemp(const QString &target)
{
    return target == u"/tmp" || target == u"/var/tmp" || target == u"/dev/shm";
}

// A tmpfs is root's unless told otherwise; the container's user must own its home and other private
// folders (the shared temporary folders stay root's, sticky and writable by all).
QString tmpfsOptions(const PlannedMount &mount, std::optional<unsigned> uid, std::optional<unsigned> gid)
{
    // Spelled out in full, because Docker's defaults for tmpfs differ between versions.
    QStringList options{mount.kind == PlannedMount::Kind::Mask ? QStringLiteral("ro") : QStringLiteral("rw"),
                        mount.noexec ? QStringLiteral("noexec") : QStringLiteral("exec"), QStringLiteral("nosuid"),
                        QStringLiteral("nodev")};
    if (mount.kind == PlannedMount::Kind::Mask)
        options << QStringLiteral("size=4096");
    else if (mount.sizeBytes)
        options << QStringLiteral("size=%1").arg(*mount.sizeBytes);
    if (mount.kind == PlannedMount::Kind::Tmpfs && uid && gid && !isSharedTemp(mount.target))
        options << QStringLiteral("uid=%1").arg(*uid) << QStringLiteral("gid=%1").arg(*gid) << QStringLiteral("mode=700");
    return options.join(u',');
}

Result<QStringList> securityOptions(const Policy &policy, const LaunchContext &context)
{
    QStringList options;
    if (policy.privileges.noNewPrivileges)
        options << QStringLiteral("no-new-privileges:true");
    switch (policy.privileges.seccomp) {
    case SeccompMode::Default:
        // The backend passes Airlock's default filter; without it (an old caller) Docker uses its own.
        if (!context.seccompProfileJson.isEmpty())
            options << QStringLiteral("seccomp=") + context.seccompProfileJson;
        break;
    case SeccompMode::Unconfined:
        options << QStringLiteral("seccomp=unconfined");
        break;
    case SeccompMode::Strict:
    case SeccompMode::Custom:
        // The Engine API takes the profile's text, not a path; the backend reads it for us.
        if (context.seccompProfileJson.isEmpty()) {
            return fail(ErrorCode::InvalidArgument,
                        QStringLiteral("launch context: seccomp '%1' needs the profile text (seccompProfileJson)")
                            .arg(nameOf(policy.privileges.seccomp)));
        }
        options << QStringLiteral("seccomp=") + context.seccompProfileJson;
        break;
    }
    return options;
}

} // namespace

Result<QJsonObject> compileDockerCreate(const Policy &policy, const LaunchContext &context)
{
    if (policy.runtime.image.isEmpty())
        return fail(ErrorCode::InvalidArgument, QStringLiteral("runtime.image is not set; Docker needs an image to run"));
    auto plan = planSandbox(policy, context);
    if (!plan)
        return std::unexpected(plan.error());
    auto security = securityOptions(policy, context);
    if (!security)
        return std::unexpected(security.error());

    std::optional<unsigned> uid = context.runUid;
    std::optional<unsigned> gid = context.runGid;
    if (!uid && policy.privileges.uid && policy.privileges.gid) {
        uid = unsigned(*policy.privileges.uid);
        gid = unsigned(*policy.privileges.gid);
    }
    QJsonArray binds;
    QJsonArray volumes; // remote daemons: named volumes filled by copying
    QJsonObject tmpfs;
    const bool remote = !context.remoteVolumePrefix.isEmpty();
    const auto volume = [&](const QString &role, const QString &target, bool readOnly, const QString &from, const char *kind) {
        volumes.append(QJsonObject{
            {QStringLiteral("Type"), QStringLiteral("volume")},
            {QStringLiteral("Source"), QString(context.remoteVolumePrefix + u'-' + role)},
            {QStringLiteral("Target"), target},
            {QStringLiteral("ReadOnly"), readOnly},
            {QStringLiteral("VolumeOptions"),
             QJsonObject{{QStringLiteral("Labels"), QJsonObject{{QString::fromLatin1(kCopyFromLabel), from},
                                                                {QString::fromLatin1(kCopyKindLabel), QString::fromLatin1(kind)}}}}}});
    };
    int extraMounts = 0;
    for (const PlannedMount &mount : std::as_const(plan->mounts)) {
        if (remote && (mount.kind == PlannedMount::Kind::Bind || mount.kind == PlannedMount::Kind::ReadOnlyBind)) {
            const bool readOnly = mount.kind == PlannedMount::Kind::ReadOnlyBind;
            if (mount.target == plan->workspaceTarget)
                volume(QStringLiteral("workspace"), mount.target, readOnly, context.workspace, "workspace");
            else if (mount.target == QLatin1String(kSandboxShim))
                volume(QStringLiteral("shim"), QString::fromLatin1(kSandboxAirlockDir), true, mount.source, "shim");
            else if (mount.target == QLatin1String(kSandboxControlDir))
                continue; // the shim serves over stdio instead
            else if (mount.target == QLatin1String(kSandboxHome))
                volume(QStringLiteral("home"), mount.target, false, mount.source, "folder");
            else if (readOnly)
                volume(QStringLiteral("mount%1").arg(extraMounts++), mount.target, true, mount.source, "folder");
            else
                return fail(ErrorCode::InvalidArgument,
                            QStringLiteral("the policy mounts %1 read-write at %2, which a Docker daemon on another machine "
                                           "cannot reach; make the mount read-only (it is then copied) or use this "
                                           "machine's daemon")
                                .arg(mount.source, mount.target));
            continue;
        }
        if (remote && mount.kind == PlannedMount::Kind::ProtectedBind)
            continue; // protected names are never copied back (docker/workspacecopy.h)
        switch (mount.kind) {
        case PlannedMount::Kind::Bind:
            binds.append(QString(mount.source + u':' + mount.target + QStringLiteral(":rw")));
            break;
        case PlannedMount::Kind::ReadOnlyBind:
            binds.append(QString(mount.source + u':' + mount.target + QStringLiteral(":ro")));
            break;
        case PlannedMount::Kind::ProtectedBind: {
            const QString from = context.workspaceSource.isEmpty() ? plan->workspaceSource : context.workspaceSource;
            const QString relative = mount.source.mid(from.size() + 1);
            if (context.existingProtectedPaths.contains(relative))
                binds.append(QString(mount.source + u':' + mount.target + QStringLiteral(":ro")));
            break;
        }
        case PlannedMount::Kind::Tmpfs:
        case PlannedMount::Kind::Mask:
            tmpfs.insert(mount.target, tmpfsOptions(mount, uid, gid));
            break;
        case PlannedMount::Kind::Directory:
            break; // the image provides the root file system
        }
    }

    QJsonObject host;
    host.insert(QStringLiteral("Binds"), binds);
    if (remote)
        host.insert(QStringLiteral("Mounts"), volumes);
    host.insert(QStringLiteral("Tmpfs"), tmpfs);
    host.insert(QStringLiteral("ReadonlyRootfs"), policy.filesystem.readOnlyRoot);
    // Proxy mode needs no network either: the shim bridges the proxy through the control folder.
    host.insert(QStringLiteral("NetworkMode"),
                policy.network.mode == NetworkMode::Host ? QStringLiteral("host") : QStringLiteral("none"));
    if (policy.privileges.dropAllCapabilities)
        host.insert(QStringLiteral("CapDrop"), QJsonArray{QStringLiteral("ALL")});
    host.insert(QStringLiteral("CapAdd"), QJsonArray::fromStringList(policy.privileges.capAdd));
    host.insert(QStringLiteral("SecurityOpt"), QJsonArray::fromStringList(*security));
    const Resources &res = policy.resources;
    if (res.memoryBytes) {
        host.insert(QStringLiteral("Memory"), *res.memoryBytes);
        host.insert(QStringLiteral("MemorySwap"), *res.memoryBytes); // equal: no swap on top
    }
    if (res.cpus)
        host.insert(QStringLiteral("NanoCpus"), qint64(std::llround(*res.cpus * 1e9)));
    if (res.pids)
        host.insert(QStringLiteral("PidsLimit"), policy.runtime.dockerRuntime == DockerRuntime::Runsc ? gvisorHostTasks(*res.pids) : *res.pids);
    // Open files are capped as in the local sandbox, and stated rather than inherited: a daemon's
    // own default (often 1048576) is more than an agent needs, and more than a runtime may be allowed
    // to set (podman's crun fails with EPERM where the host's hard limit is lower).
    QJsonArray ulimits{QJsonObject{{QStringLiteral("Name"), QStringLiteral("nofile")},
                                   {QStringLiteral("Soft"), kContainerOpenFiles},
                                   {QStringLiteral("Hard"), kContainerOpenFiles}}};
    if (const auto fileLimit = fileSizeLimit(res))
        ulimits.append(QJsonObject{{QStringLiteral("Name"), QStringLiteral("fsize")},
                                   {QStringLiteral("Soft"), *fileLimit},
                                   {QStringLiteral("Hard"), *fileLimit}});
    host.insert(QStringLiteral("Ulimits"), ulimits);
    host.insert(QStringLiteral("Runtime"), policy.runtime.dockerRuntime == DockerRuntime::Runsc ? QString::fromLatin1(kGvisorRuntime)
                                                                                              : nameOf(policy.runtime.dockerRuntime));
    host.insert(QStringLiteral("Init"), true); // reaps zombies the agent's tools leave behind
    host.insert(QStringLiteral("IpcMode"), QStringLiteral("private"));
    host.insert(QStringLiteral("AutoRemove"), policy.lifecycle == Lifecycle::Ephemeral);

    QJsonArray env;
    for (auto it = plan->environment.constBegin(); it != plan->environment.constEnd(); ++it)
        env.append(QString(it.key() + u'=' + it.value()));

    QJsonObject body;
    body.insert(QStringLiteral("Image"), policy.runtime.image);
    if (uid && gid)
        body.insert(QStringLiteral("User"), QStringLiteral("%1:%2").arg(*uid).arg(*gid));
    body.insert(QStringLiteral("Hostname"), QStringLiteral("airlock"));
    body.insert(QStringLiteral("WorkingDir"), plan->workspaceTarget);
    body.insert(QStringLiteral("Env"), env);
    body.insert(QStringLiteral("Entrypoint"), QJsonArray{QString::fromLatin1(kSandboxShim)});
    QStringList shimArguments = plan->shimArguments;
    if (remote) {
        // The backend attaches to the container: its stdin and stdout are the control connection.
        shimArguments.replace(0, QStringLiteral("--stdio"));
        shimArguments.removeAt(1);
        if (const qsizetype proxy = shimArguments.indexOf(QStringLiteral("--proxy-socket")); proxy >= 0) {
            shimArguments.replace(proxy, QStringLiteral("--proxy-tunnel"));
            shimArguments.removeAt(proxy + 1);
        }
        body.insert(QStringLiteral("OpenStdin"), true);
        body.insert(QStringLiteral("StdinOnce"), false);
        body.insert(QStringLiteral("AttachStdin"), true);
        body.insert(QStringLiteral("AttachStdout"), true);
        body.insert(QStringLiteral("AttachStderr"), true);
        body.insert(QStringLiteral("Tty"), false);
        // The shim is PID 1 and reaps what the agent's tools leave: an init process would hold the
        // container's stdio pipes (the control stream) open to reading and writing by the agent's uid
        // through /proc/1/fd, where the shim makes itself undumpable.
        host.insert(QStringLiteral("Init"), false);
        QJsonArray withoutControl;
        for (const QJsonValue &e : std::as_const(env)) {
            if (!e.toString().startsWith(QLatin1String("AIRLOCK_CONTROL_DIR=")))
                withoutControl.append(e);
        }
        env = withoutControl;
        body.insert(QStringLiteral("Env"), env);
    }
    body.insert(QStringLiteral("Cmd"), QJsonArray::fromStringList(shimArguments));
    body.insert(QStringLiteral("Labels"),
                QJsonObject{{QStringLiteral("airlock.session"), context.sessionId},
                            {QStringLiteral("airlock.policy-hash"), policyHash(policy)},
                            {QStringLiteral("airlock.version"),
                             context.version.isEmpty() ? QStringLiteral(AIRLOCK_VERSION) : context.version}});
    body.insert(QStringLiteral("HostConfig"), host);
    return body;
}

} // namespace airlock::policy
