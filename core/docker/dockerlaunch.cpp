// How a sandbox spec becomes a container: the create body, its control folder and its limit report.
#include "docker/dockerbackend.h"

#include "docker/dockererrors.h"
#include "policy/codec.h"
#include "policy/compiler.h"
#include "policy/sandboxlayout.h"
#include "sandbox/agenthome.h"
#include "sandbox/protectionlayer.h"
#include "sandbox/sandboxuser.h"
#include "sandbox/seccompfilter.h"
#include "store/eventstore.h"

#include <QCoreApplication>
#include <QDir>
#include <QSaveFile>
#include <QFile>
#include <QFileInfo>
#include <QHostInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcessEnvironment>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

namespace airlock::docker {

using sandbox::LimitMechanism;
using sandbox::LimitReport;

QString DockerBackend::shimPath() const
{
    if (!m_options.shimPath.isEmpty())
        return m_options.shimPath;
    QStringList candidates;
    if (const QString env = qEnvironmentVariable("AIRLOCK_SHIM"); !env.isEmpty())
        candidates << env;
    const QString dir = QCoreApplication::applicationDirPath();
    candidates << dir + QStringLiteral("/airlock-shim") << dir + QStringLiteral("/../airlock-shim/airlock-shim")
               << dir + QStringLiteral("/../../app/airlock-shim/airlock-shim")
               << dir + QStringLiteral("/../libexec/airlock/airlock-shim")
               << QStringLiteral("/usr/libexec/airlock/airlock-shim");
    for (const QString &candidate : std::as_const(candidates)) {
        const QFileInfo info(candidate);
        if (info.isFile() && info.isExecutable())
            return info.canonicalFilePath();
    }
    return {};
}

QString DockerBackend::runtimeDir() const
{
    if (!m_options.runtimeDir.isEmpty())
        return m_options.runtimeDir;
    const QString xdg = qEnvironmentVariable("XDG_RUNTIME_DIR");
    if (!xdg.isEmpty() && QFileInfo(xdg).isDir())
        return xdg + QStringLiteral("/airlock/docker");
    return QDir::tempPath() + QStringLiteral("/airlock-%1/docker").arg(::geteuid());
}

QString DockerBackend::storeIdentity() const
{
    if (!eventStore())
        return {};
    return QHostInfo::localHostName() + u':' + QFileInfo(eventStore()->path()).absoluteFilePath();
}

Result<QString> DockerBackend::makeControlDir(const QString &id) const
{
    const QString base = runtimeDir();
    // Every folder on the way is private to this user, so the sandbox's own folder may be opened up
    // to the container's user without opening it to anyone else on the host.
    QDir().mkpath(base);
    for (QString dir = base; dir.size() > 1 && dir.contains(QLatin1String("airlock")); dir = QFileInfo(dir).path())
        ::chmod(QFile::encodeName(dir).constData(), 0700);
    const QString path = base + u'/' + id;
    if (QFileInfo::exists(path))
        QDir(path).removeRecursively();
    if (auto opened = setupControlDir(path); !opened)
        return std::unexpected(opened.error());
    return path;
}

Result<void> DockerBackend::setupControlDir(const QString &path)
{
    if (!QDir().mkpath(path))
        return fail(ErrorCode::Io, QStringLiteral("cannot create the sandbox's control folder %1").arg(path));
    // Ours, and read-only in the container: the container's user only has to reach the socket in it.
    // Every folder above is private to us, so this opens it to nobody else on the host.
    if (::chmod(QFile::encodeName(path).constData(), 0755) != 0)
        return fail(ErrorCode::Io, QStringLiteral("cannot set the mode of the control folder %1").arg(path));
    return {};
}

namespace {

// Who the container runs as over a read-write workspace; local sandboxes follow the same rule
// (sandboxuser.h). The policy's user when the workspace is theirs or open to all; its owner when it
// belongs to another unprivileged user, so what the agent writes stays theirs; and when it belongs to
// root, the policy's user through an idmapped view (a root launcher only), since sandboxed code never
// runs as host root.
struct WorkspaceUser
{
    std::optional<unsigned> uid;
    std::optional<unsigned> gid;
    bool idmap = false;
};

Result<WorkspaceUser> workspaceUserFor(const policy::Policy &p, const QString &workspace)
{
    if (p.filesystem.workspace != policy::Access::ReadWrite || !p.privileges.uid || !p.privileges.gid)
        return WorkspaceUser{};
    struct stat st{};
    if (::stat(QFile::encodeName(workspace).constData(), &st) != 0)
        return fail(ErrorCode::NotFound, QStringLiteral("cannot inspect the workspace %1: %2").arg(workspace, QString::fromLocal8Bit(::strerror(errno))));
    const auto policyUid = static_cast<uid_t>(*p.privileges.uid);
    if (st.st_uid == policyUid || (st.st_mode & S_IWOTH))
        return WorkspaceUser{};
    if (st.st_uid != 0) {
        const sandbox::SandboxUser owner = sandbox::ownerOf(st);
        return WorkspaceUser{unsigned(owner.uid), unsigned(owner.gid), false};
    }
    if (::geteuid() == 0)
        return WorkspaceUser{{}, {}, true};
    return fail(ErrorCode::InvalidArgument,
                QStringLiteral("the workspace %1 belongs to root and the container runs as %2:%3, so the agent could not "
                               "write in it (sandboxed code never runs as host root). Give it to a normal user "
                               "(sudo chown -R %2:%3 %1), choose a workspace you own, or make the workspace read-only "
                               "in the policy")
                    .arg(workspace)
                    .arg(*p.privileges.uid)
                    .arg(*p.privileges.gid));
}

} // namespace

QString DockerBackend::workspaceViewPoint(const QString &controlDir)
{
    return controlDir + QStringLiteral(".view");
}

void DockerBackend::releaseHostMounts(const QString &controlDir)
{
    sandbox::unmountProtectionLayer(sandbox::dockerProtectionMountPoint(controlDir));
    if (QFileInfo::exists(workspaceViewPoint(controlDir)))
        sandbox::unmountAndRemove(workspaceViewPoint(controlDir));
}

void DockerBackend::removeHostSide(const QString &controlDir)
{
    releaseHostMounts(controlDir);
    QDir(controlDir).removeRecursively();
    QFile::remove(policyFile(controlDir));
}

QString DockerBackend::policyFile(const QString &controlDir)
{
    return controlDir + QStringLiteral(".policy.json");
}

Result<void> DockerBackend::keepPolicy(const QString &controlDir, const policy::Policy &policy)
{
    QSaveFile file(policyFile(controlDir));
    // The mode is set on the temporary file that becomes it, before anything is written.
    if (!file.open(QIODevice::WriteOnly) || !file.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner)
        || file.write(policy::serializePolicy(policy)) < 0 || !file.commit())
        return fail(ErrorCode::Io, QStringLiteral("cannot keep the sandbox's policy in %1: %2").arg(file.fileName(), file.errorString()));
    return {};
}

std::optional<policy::Policy> DockerBackend::keptPolicy(const QString &controlDir, const QString &expectedHash)
{
    QFile file(policyFile(controlDir));
    const QFileInfo info(file.fileName());
    // Ours, a plain file and of a sane size; and the policy the container's label names, not another.
    if (info.isSymLink() || !info.isFile() || info.ownerId() != ::geteuid() || info.size() > 1024 * 1024
        || !file.open(QIODevice::ReadOnly))
        return std::nullopt;
    auto policy = policy::parsePolicy(file.readAll());
    if (!policy || policy::policyHash(*policy) != expectedHash)
        return std::nullopt;
    return *policy;
}

Result<DockerBackend::Prepared> DockerBackend::prepare(const sandbox::SandboxSpec &spec, const QString &id) const
{
    const policy::Policy &p = spec.policy;
    const QString shim = shimPath();
    if (shim.isEmpty())
        return fail(ErrorCode::NotFound, QStringLiteral("airlock-shim was not found (looked at $AIRLOCK_SHIM, beside %1 and in "
                                                        "/usr/libexec/airlock); reinstall Airlock or set AIRLOCK_SHIM")
                                             .arg(QCoreApplication::applicationDirPath()));
    policy::LaunchContext context;
    context.sessionId = spec.sessionId;
    context.workspace = QDir::cleanPath(spec.workspace);
    context.shim = shim;
    context.controlDir = runtimeDir() + u'/' + id;
    context.shimConnects = true;
    context.home = QDir::homePath();
    const QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const QString &key : env.keys())
        context.hostEnvironment.insert(key, env.value(key));
    // A daemon on another machine works on copies: the container's user owns them, whoever owns the
    // folder here, and nothing is mounted on this machine for it.
    const bool remote = isRemote();
    if (remote)
        context.remoteVolumePrefix = QStringLiteral("airlock-") + id;
    auto owner = remote ? Result<WorkspaceUser>(WorkspaceUser{}) : workspaceUserFor(p, context.workspace);
    if (!owner)
        return std::unexpected(owner.error());
    context.runUid = owner->uid;
    context.runGid = owner->gid;
    if (!spec.agentHome.isEmpty()) {
        // The daemon mounts it, so only ownership matters: the container's user (the workspace
        // owner's, else the policy's) writes there. Only root can give a folder to another uid.
        std::optional<unsigned> uid = owner->uid, gid = owner->gid;
        if (!uid && p.privileges.uid && p.privileges.gid) {
            uid = unsigned(*p.privileges.uid);
            gid = unsigned(*p.privileges.gid);
        }
        if (::geteuid() != 0 && uid && *uid != ::geteuid())
            return fail(ErrorCode::InvalidArgument,
                        QStringLiteral("the agent's home cannot be kept for this session: the container runs as uid %1, "
                                       "and only root can give it a folder; set the policy's user to your own uid (%2) or "
                                       "choose the ephemeral lifecycle")
                            .arg(*uid)
                            .arg(::geteuid()));
        if (auto r = sandbox::prepareAgentHome(spec.agentHome, uid, gid); !r)
            return std::unexpected(r.error());
        context.agentHome = QDir::cleanPath(spec.agentHome);
    }
    if (owner->idmap)
        context.workspaceSource = workspaceViewPoint(context.controlDir);
    const bool layered = !remote && p.filesystem.workspace == policy::Access::ReadWrite && p.filesystem.protectionLayer;
    if (layered)
        context.workspaceLayer = sandbox::dockerProtectionMountPoint(context.controlDir);
    for (const QString &relative : p.filesystem.protectedPaths) {
        if (!layered && !remote && QFileInfo::exists(context.workspace + u'/' + relative))
            context.existingProtectedPaths << relative;
    }
    if (p.privileges.seccomp == policy::SeccompMode::Default || p.privileges.seccomp == policy::SeccompMode::Strict) {
        // Airlock's own filter, as in a local sandbox: Docker's default profile allows ptrace, with
        // which an agent could take over the shim and the container's init (they run as its uid).
        context.seccompProfileJson = QString::fromUtf8(sandbox::dockerSeccompProfile(p.privileges));
    } else if (p.privileges.seccomp == policy::SeccompMode::Custom) {
        QFile profile(p.privileges.seccompProfile);
        if (!profile.open(QIODevice::ReadOnly))
            return fail(ErrorCode::NotFound, QStringLiteral("cannot read the seccomp profile %1: %2")
                                                 .arg(p.privileges.seccompProfile, profile.errorString()));
        context.seccompProfileJson = QString::fromUtf8(profile.readAll());
    }
    auto compiled = policy::compileDockerCreate(p, context);
    if (!compiled)
        return std::unexpected(compiled.error());

    auto controlDir = makeControlDir(id);
    if (!controlDir)
        return std::unexpected(controlDir.error());
    releaseHostMounts(*controlDir); // stale ones of an earlier sandbox of this id
    std::optional<sandbox::LayerUser> layerUser;
    if (owner->idmap) {
        // The daemon binds the view like any folder; the idmap travels with the mount.
        const QString view = workspaceViewPoint(*controlDir);
        sandbox::SandboxUser user;
        user.uid = static_cast<uid_t>(*p.privileges.uid);
        user.gid = static_cast<gid_t>(*p.privileges.gid);
        user.name = QString::number(user.uid);
        if (::mkdir(QFile::encodeName(view).constData(), 0700) != 0 && errno != EEXIST) {
            QDir(*controlDir).removeRecursively();
            return fail(ErrorCode::Io, QStringLiteral("cannot create %1: %2").arg(view, QString::fromLocal8Bit(::strerror(errno))));
        }
        if (auto mounted = sandbox::mountIdmapped(context.workspace, view, user); !mounted) {
            ::rmdir(QFile::encodeName(view).constData());
            QDir(*controlDir).removeRecursively();
            return std::unexpected(mounted.error());
        }
        layerUser = sandbox::LayerUser{unsigned(user.uid), unsigned(user.gid)};
    } else if (owner->uid && ::geteuid() == 0) {
        layerUser = sandbox::LayerUser{*owner->uid, *owner->gid};
    }
    if (layered) {
        // The daemon binds the layer's mount point as the workspace; it lives until the sandbox is destroyed.
        const QString source = owner->idmap ? workspaceViewPoint(*controlDir) : context.workspace;
        if (auto mounted = sandbox::mountProtectionLayer(source, context.workspaceLayer, p.filesystem.protectedPaths, true, layerUser);
            !mounted) {
            releaseHostMounts(*controlDir);
            QDir(*controlDir).removeRecursively();
            return std::unexpected(mounted.error());
        }
    }

    QJsonObject body = *compiled;
    const policy::Lifecycle lifecycle = spec.effectiveLifecycle();
    QJsonObject labelObject = body.value(u"Labels").toObject();
    labelObject.insert(QLatin1StringView(labels::Sandbox), id);
    labelObject.insert(QLatin1StringView(labels::Lifecycle), policy::nameOf(lifecycle));
    labelObject.insert(QLatin1StringView(labels::PolicyName), spec.policyName);
    labelObject.insert(QLatin1StringView(labels::Workspace), context.workspace);
    labelObject.insert(QLatin1StringView(labels::ControlDir), *controlDir);
    labelObject.insert(QLatin1StringView(labels::Owner), currentOwner());
    if (p.resources.maxOutputBytes)
        labelObject.insert(QLatin1StringView(labels::OutputCap), QString::number(*p.resources.maxOutputBytes));
    if (p.resources.workspaceBytes)
        labelObject.insert(QLatin1StringView(labels::WorkspaceBytes), QString::number(*p.resources.workspaceBytes));
    if (const QString store = storeIdentity(); !store.isEmpty())
        labelObject.insert(QLatin1StringView(labels::Store), store);
    if (remote)
        labelObject.insert(QLatin1StringView(labels::Remote), QStringLiteral("1"));
    body.insert(QStringLiteral("Labels"), labelObject);

    QJsonObject host = body.value(u"HostConfig").toObject();
    // The spec may override the policy's lifecycle (the CLI keeps its sandboxes); only ephemeral ones
    // may vanish on their own.
    host.insert(QStringLiteral("AutoRemove"), lifecycle == policy::Lifecycle::Ephemeral);
    body.insert(QStringLiteral("HostConfig"), host);

    return Prepared{body, *controlDir, p.runtime.image};
}

namespace {
constexpr qint64 kPodmanNproc = 32768;
}

// What podman's compatible API takes differently from Docker's:
// - SecurityOpt seccomp=… is a file on its host, not the profile's text. The profile goes beside the
//   socket (the container may read it: it is its own filter, and no secret).
// - Without an nproc ulimit it asks for 1048576, which fails (EPERM) where the runtime may not raise
//   hard limits; one is stated instead.
// - A tmpfs takes no uid=/gid= (podman 4.3 refuses them); its own option U gives the mount to the
//   container's user, which is the same user.
Result<QJsonObject> DockerSandbox::adaptForPodman(QJsonObject body) const
{
    QJsonObject host = body.value(u"HostConfig").toObject();
    QJsonArray security = host.value(u"SecurityOpt").toArray();
    for (qsizetype i = 0; i < security.size(); ++i) {
        const QString option = security.at(i).toString();
        if (!option.startsWith(u"seccomp={"))
            continue;
        const QString path = m_controlDir + QStringLiteral("/seccomp.json");
        QFile file(path);
        if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate) || file.write(option.mid(8).toUtf8()) < 0)
            return fail(ErrorCode::Io, QStringLiteral("cannot write the seccomp profile %1: %2").arg(path, file.errorString()));
        security.replace(i, QString(QStringLiteral("seccomp=") + path));
    }
    host.insert(QStringLiteral("SecurityOpt"), security);
    QJsonObject tmpfs = host.value(u"Tmpfs").toObject();
    for (auto it = tmpfs.begin(); it != tmpfs.end(); ++it) {
        QStringList options = it.value().toString().split(u',');
        const qsizetype before = options.size();
        options.removeIf([](const QString &o) { return o.startsWith(u"uid=") || o.startsWith(u"gid="); });
        if (options.size() != before)
            options << QStringLiteral("U");
        it.value() = options.join(u',');
    }
    host.insert(QStringLiteral("Tmpfs"), tmpfs);
    QJsonArray ulimits = host.value(u"Ulimits").toArray();
    const bool stated = std::any_of(ulimits.begin(), ulimits.end(), [](const QJsonValue &u) {
        return u.toObject().value(u"Name").toString() == QLatin1String("nproc");
    });
    rlimit own{};
    if (!stated && ::getrlimit(RLIMIT_NPROC, &own) == 0) {
        // Counted per user on the host, not per container (PidsLimit bounds the container), so this
        // only has to be no tighter than what we run under and no higher than podman may hand on:
        // podman 4.3 was measured lowering its own limit to 32768.
        const qint64 nproc = std::min<qint64>(own.rlim_cur == RLIM_INFINITY ? kPodmanNproc : qint64(own.rlim_cur), kPodmanNproc);
        ulimits.append(QJsonObject{{QStringLiteral("Name"), QStringLiteral("nproc")},
                                   {QStringLiteral("Soft"), nproc},
                                   {QStringLiteral("Hard"), nproc}});
        host.insert(QStringLiteral("Ulimits"), ulimits);
    }
    body.insert(QStringLiteral("HostConfig"), host);
    return body;
}

LimitReport DockerBackend::limitsFor(const policy::Policy &policy, const QString &containerName) const
{
    QJsonObject host;
    const policy::Resources &r = policy.resources;
    if (r.memoryBytes)
        host.insert(QStringLiteral("Memory"), *r.memoryBytes);
    if (r.cpus)
        host.insert(QStringLiteral("NanoCpus"), qint64(*r.cpus * 1e9));
    if (r.pids)
        host.insert(QStringLiteral("PidsLimit"), policy.runtime.dockerRuntime == policy::DockerRuntime::Runsc
                                                     ? policy::gvisorHostTasks(*r.pids) : *r.pids);
    if (policy.runtime.dockerRuntime == policy::DockerRuntime::Runsc)
        host.insert(QStringLiteral("Runtime"), QString::fromLatin1(policy::kGvisorRuntime));
    QJsonArray ulimits{QJsonObject{{QStringLiteral("Name"), QStringLiteral("nofile")}, {QStringLiteral("Hard"), 8192}}};
    if (const auto fileLimit = policy::fileSizeLimit(r))
        ulimits.append(QJsonObject{{QStringLiteral("Name"), QStringLiteral("fsize")}, {QStringLiteral("Hard"), *fileLimit}});
    host.insert(QStringLiteral("Ulimits"), ulimits);
    return limitsFor(host, containerName);
}

LimitReport DockerBackend::limitsFor(const QJsonObject &host, const QString &containerName) const
{
    LimitReport report;
    const QString cgroup = m_daemonInfo.value(u"CgroupVersion").toString();
    report.mechanism = cgroup == QLatin1String("2") ? LimitMechanism::CgroupV2 : LimitMechanism::CgroupV1;
    const QString driver = m_daemonInfo.value(u"CgroupDriver").toString();
    report.where = QStringLiteral("docker container %1%2").arg(containerName,
                                                               driver.isEmpty() ? QString() : QStringLiteral(" (cgroup driver %1)").arg(driver));
    const QString version = report.mechanism == LimitMechanism::CgroupV2 ? QStringLiteral("cgroup v2") : QStringLiteral("cgroup v1");
    const auto supported = [this](const char *key) {
        const QJsonValue v = m_daemonInfo.value(QLatin1StringView(key));
        return v.isUndefined() || v.toBool(); // unknown until the daemon told us: assume the usual
    };
    const qint64 memory = qint64(host.value(u"Memory").toDouble());
    if (memory > 0) {
        if (supported("MemoryLimit"))
            report.enforced << QStringLiteral("memory %1: Docker HostConfig.Memory (%2), no swap on top").arg(formatBytes(memory), version);
        else
            report.unenforced << QStringLiteral("memory %1: the daemon reports no memory cgroup").arg(formatBytes(memory));
        if (!supported("SwapLimit"))
            report.unenforced << QStringLiteral("swap: the kernel has no swap accounting, so the container may swap");
    }
    const qint64 nanoCpus = qint64(host.value(u"NanoCpus").toDouble());
    if (nanoCpus > 0) {
        const QString cpus = QString::number(double(nanoCpus) / 1e9, 'g', 3);
        if (supported("CpuCfsQuota"))
            report.enforced << QStringLiteral("cpus %1: Docker HostConfig.NanoCpus (CFS quota)").arg(cpus);
        else
            report.unenforced << QStringLiteral("cpus %1: the daemon reports no CFS quota support").arg(cpus);
    }
    const qint64 pids = qint64(host.value(u"PidsLimit").toDouble());
    const bool gvisor = host.value(u"Runtime").toString() == QLatin1String(policy::kGvisorRuntime);
    if (pids > 0) {
        if (supported("PidsLimit") && gvisor)
            report.enforced << QStringLiteral("processes about %1: Docker HostConfig.PidsLimit %2 host tasks (pids cgroup; "
                                              "under gVisor it counts gVisor's own threads and about 8 per process)")
                                   .arg(std::max<qint64>(1, (pids - 64) / 8)).arg(pids);
        else if (supported("PidsLimit"))
            report.enforced << QStringLiteral("processes %1: Docker HostConfig.PidsLimit (pids cgroup)").arg(pids);
        else
            report.unenforced << QStringLiteral("processes %1: the daemon reports no pids cgroup").arg(pids);
    }
    const QJsonArray ulimits = host.value(u"Ulimits").toArray();
    for (const QJsonValue &u : ulimits) {
        const QString name = u.toObject().value(u"Name").toString();
        const qint64 hard = qint64(u.toObject().value(u"Hard").toDouble());
        if (name == QLatin1String("fsize"))
            report.enforced << QStringLiteral("file size %1: RLIMIT_FSIZE").arg(formatBytes(hard));
        else if (name == QLatin1String("nofile"))
            report.enforced << QStringLiteral("open files %1: RLIMIT_NOFILE").arg(hard);
    }
    return report;
}

} // namespace airlock::docker
