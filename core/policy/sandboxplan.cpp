#include "policy/sandboxplan.h"

#include "policy/codec.h"
#include "policy/valuechecks.h"
#include "policy/sandboxlayout.h"

#include <QDir>

#include <algorithm>

namespace airlock::policy::detail {

namespace {

std::unexpected<Error> invalid(const QString &message)
{
    return fail(ErrorCode::InvalidArgument, message);
}

std::optional<QString> checkContextPath(const QString &value, const char *field)
{
    const QString name = QStringLiteral("launch context: ") + QLatin1StringView(field);
    if (value.isEmpty())
        return name + QStringLiteral(" is not set");
    if (!value.startsWith(u'/') || QDir::cleanPath(value) != value)
        return name + QStringLiteral(" '") + value + QStringLiteral("' is not a clean absolute path");
    if (value.contains(u':') || value.contains(u','))
        return name + QStringLiteral(" '") + value + QStringLiteral("' contains ':' or ',', which Docker mounts cannot express");
    return std::nullopt;
}

qsizetype depth(const QString &path)
{
    return path.count(u'/');
}

bool routesLoopback(const Network &network)
{
    if (!network.hostPorts.isEmpty())
        return true;
    // Allow patterns are lowercase names or IPv4 literals, with an optional :ports part.
    return std::any_of(network.allow.cbegin(), network.allow.cend(), [](const QString &pattern) {
        const QString host = pattern.section(u':', 0, 0);
        return host == QLatin1String("localhost") || host == QLatin1String("127.0.0.1");
    });
}

QMap<QString, QString> environmentFor(const Policy &policy, const LaunchContext &context)
{
    QMap<QString, QString> env;
    env.insert(QStringLiteral("HOME"), QString::fromLatin1(kSandboxHome));
    env.insert(QStringLiteral("PATH"), QString::fromLatin1(kSandboxPath));
    QStringList secretSources;
    for (const Secret &secret : policy.secrets) {
        if (secret.source == Secret::Source::HostEnv)
            secretSources << secret.ref;
    }
    for (const QString &name : policy.environment.passThrough) {
        // The proxy injects secrets; their values never enter the sandbox, even if the policy asks.
        if (secretSources.contains(name))
            continue;
        const auto it = context.hostEnvironment.constFind(name);
        if (it != context.hostEnvironment.constEnd())
            env.insert(name, it.value());
    }
    for (auto it = policy.environment.set.constBegin(); it != policy.environment.set.constEnd(); ++it)
        env.insert(it.key(), it.value());

    env.insert(QStringLiteral("AIRLOCK_CONTROL_DIR"), QString::fromLatin1(kSandboxControlDir));
    if (!context.sessionId.isEmpty())
        env.insert(QStringLiteral("AIRLOCK_SESSION"), context.sessionId);
    if (policy.network.mode == NetworkMode::Proxy) {
        const QString proxy = QStringLiteral("http://127.0.0.1:%1").arg(context.proxyPort);
        // The sandbox's own loopback is reached directly (a dev server the agent started), unless the
        // policy routes loopback through the proxy: host ports, or an allowed loopback name. Then a
        // client honouring NO_PROXY would connect to the sandbox's empty loopback and fail silently,
        // so nothing is exempt. No allowed host is ever listed, whatever the policy's variables say.
        const QString noProxy = routesLoopback(policy.network) ? QString() : QStringLiteral("localhost,127.0.0.1,::1");
        for (const char *name : {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"}) {
            env.insert(QString::fromLatin1(name), proxy);
            env.insert(QString::fromLatin1(name).toLower(), proxy);
        }
        env.insert(QStringLiteral("NO_PROXY"), noProxy);
        env.insert(QStringLiteral("no_proxy"), noProxy);
    }
    return env;
}

} // namespace

Result<SandboxPlan> planSandbox(const Policy &policy, const LaunchContext &context)
{
    if (const QList<Issue> issues = validatePolicy(policy); !issues.isEmpty())
        return invalid(QStringLiteral("the policy is not valid:\n") + formatIssues(issues));
    for (const auto &[value, field] : {std::pair{context.workspace, "workspace"}, std::pair{context.shim, "shim"},
                                       std::pair{context.controlDir, "controlDir"}}) {
        if (auto reason = checkContextPath(value, field))
            return invalid(*reason);
    }
    if (!context.workspaceSource.isEmpty()) {
        if (auto reason = checkContextPath(context.workspaceSource, "workspaceSource"))
            return invalid(*reason);
    }
    if (!context.agentHome.isEmpty()) {
        if (auto reason = checkContextPath(context.agentHome, "agentHome"))
            return invalid(*reason);
    }
    if (context.proxyPort < 1 || context.proxyPort > 65535)
        return invalid(QStringLiteral("launch context: proxyPort %1 is not a port").arg(context.proxyPort));
    if (context.seccompFd < 0)
        return invalid(QStringLiteral("launch context: seccompFd %1 is not a descriptor").arg(context.seccompFd));
    if (context.controlFd >= 0 && (context.controlFd < 3 || context.controlFd == context.seccompFd))
        return invalid(QStringLiteral("launch context: controlFd %1 collides with stdio or the seccomp descriptor")
                           .arg(context.controlFd));

    SandboxPlan plan;
    plan.workspaceSource = context.workspace;
    plan.workspaceTarget = context.sandboxWorkspace.isEmpty() ? context.workspace : context.sandboxWorkspace;
    if (auto reason = checkSandboxPath(plan.workspaceTarget))
        return invalid(QStringLiteral("the workspace cannot be mounted: ") + *reason);

    const Filesystem &fs = policy.filesystem;
    const bool needsHome = std::any_of(fs.mounts.cbegin(), fs.mounts.cend(),
                                       [](const Mount &m) { return !m.host.startsWith(u'/'); })
                           || std::any_of(fs.deniedHostPaths.cbegin(), fs.deniedHostPaths.cend(),
                                          [](const QString &d) { return !d.startsWith(u'/'); });
    if (needsHome) {
        if (auto reason = checkContextPath(context.home, "home"))
            return invalid(*reason + QStringLiteral(" (the policy names paths below ~)"));
    }
    QStringList denied;
    for (const QString &d : fs.deniedHostPaths)
        denied << expandHostPath(d, context.home);

    QList<PlannedMount> mounts;
    struct Source {
        QString host;
        QString target;
    };
    QList<Source> bindSources{{context.workspace, plan.workspaceTarget}};
    const QString workspaceSource = context.workspaceSource.isEmpty() ? context.workspace : context.workspaceSource;
    const bool layered = fs.workspace == Access::ReadWrite && !context.workspaceLayer.isEmpty();
    mounts.append({fs.workspace == Access::ReadWrite ? PlannedMount::Kind::Bind : PlannedMount::Kind::ReadOnlyBind,
                   layered ? context.workspaceLayer : workspaceSource, plan.workspaceTarget, {}, false});
    if (fs.workspace == Access::ReadWrite && !layered) {
        for (const QString &p : fs.protectedPaths)
            mounts.append({PlannedMount::Kind::ProtectedBind, workspaceSource + u'/' + p,
                           plan.workspaceTarget + u'/' + p, {}, false});
    }
    for (qsizetype i = 0; i < fs.mounts.size(); ++i) {
        const Mount &m = fs.mounts.at(i);
        if (m.target == plan.workspaceTarget)
            return invalid(QStringLiteral("filesystem.mounts[%1].target: '%2' is where the workspace is mounted")
                               .arg(i).arg(m.target));
        const QString host = expandHostPath(m.host, context.home);
        // The codec compares ~-paths only; with the home known, /home/me/.ssh and ~/.ssh are one path.
        for (qsizetype j = 0; j < denied.size(); ++j) {
            if (isSameOrUnder(host, denied.at(j)))
                return invalid(QStringLiteral("filesystem.mounts[%1].host: '%2' is inside denied host path '%3'")
                                   .arg(i).arg(m.host, fs.deniedHostPaths.at(j)));
        }
        mounts.append({m.access == Access::ReadWrite ? PlannedMount::Kind::Bind : PlannedMount::Kind::ReadOnlyBind,
                       host, m.target, {}, false});
        bindSources.append({host, m.target});
    }
    bool tmpListed = false;
    for (qsizetype i = 0; i < fs.tmpfs.size(); ++i) {
        const Tmpfs &t = fs.tmpfs.at(i);
        if (t.target == plan.workspaceTarget)
            return invalid(QStringLiteral("filesystem.tmpfs[%1].target: '%2' is where the workspace is mounted")
                               .arg(i).arg(t.target));
        tmpListed = tmpListed || t.target == u"/tmp";
        if (!context.agentHome.isEmpty() && t.target == QLatin1String(kSandboxHome))
            continue; // the kept home takes its place
        mounts.append({PlannedMount::Kind::Tmpfs, {}, t.target, t.sizeBytes, t.noexec});
    }
    if (!tmpListed)
        mounts.append({PlannedMount::Kind::Tmpfs, {}, QStringLiteral("/tmp"), policy.resources.tmpBytes, false});

    // A denied path inside a bound folder is hidden under an empty read-only folder; one that contains
    // the workspace cannot be honoured at all.
    for (const QString &d : denied) {
        if (isSameOrUnder(context.workspace, d))
            return invalid(QStringLiteral("the workspace %1 lies inside the denied host path %2").arg(context.workspace, d));
        for (const Source &source : std::as_const(bindSources)) {
            if (d != source.host && isSameOrUnder(d, source.host))
                mounts.append({PlannedMount::Kind::Mask, d, source.target + d.mid(source.host.size()), {}, true});
        }
    }

    if (context.agentHome.isEmpty())
        mounts.append({PlannedMount::Kind::Directory, {}, QString::fromLatin1(kSandboxHome), {}, false});
    else
        mounts.append({PlannedMount::Kind::Bind, context.agentHome, QString::fromLatin1(kSandboxHome), {}, false});
    mounts.append({PlannedMount::Kind::ReadOnlyBind, context.shim, QString::fromLatin1(kSandboxShim), {}, false});
    // With a socket the backend bound itself nothing in the sandbox needs to write there, and a writable
    // folder on the host's side would let it swap the socket or fill the host's disk.
    const bool backendListens = context.controlFd >= 0 || context.shimConnects;
    mounts.append({backendListens ? PlannedMount::Kind::ReadOnlyBind : PlannedMount::Kind::Bind, context.controlDir,
                   QString::fromLatin1(kSandboxControlDir), {}, false});

    // Mounting a parent after its child would hide the child.
    std::stable_sort(mounts.begin(), mounts.end(),
                     [](const PlannedMount &a, const PlannedMount &b) { return depth(a.target) < depth(b.target); });
    plan.mounts = mounts;
    plan.environment = environmentFor(policy, context);
    plan.shimArguments = {context.shimConnects ? QStringLiteral("--connect") : QStringLiteral("--control"),
                          QString::fromLatin1(kSandboxControlSocket), QStringLiteral("--workspace"), plan.workspaceTarget};
    if (policy.network.mode == NetworkMode::Proxy) {
        plan.shimArguments << QStringLiteral("--proxy-socket") << QString::fromLatin1(kSandboxProxySocket)
                           << QStringLiteral("--proxy-port") << QString::number(context.proxyPort);
    }
    return plan;
}

} // namespace airlock::policy::detail
