#include "sandbox/localbackend.h"
#include "sandbox/agenthome.h"

#include "policy/codec.h"
#include "sandbox/localsandbox.h"
#include "sandbox/protectionlayer.h"
#include "sandbox/sandboxstate.h"
#include "sandbox/sandboxuser.h"
#include "sandbox/systemdscope.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QLoggingCategory>
#include <QProcess>
#include <QStandardPaths>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

Q_DECLARE_LOGGING_CATEGORY(lcSandbox)

namespace airlock::sandbox {

namespace {

QString applicationDir()
{
    if (QCoreApplication::instance())
        return QCoreApplication::applicationDirPath();
    return QFileInfo(QFile::symLinkTarget(QStringLiteral("/proc/self/exe"))).absolutePath();
}

QString findShim()
{
    const QString forced = qEnvironmentVariable("AIRLOCK_SHIM");
    if (!forced.isEmpty())
        return forced;
    const QString dir = applicationDir();
    // Installed layouts first, then the build tree (airlockctl, airlock and the tests sit beside app/).
    const QStringList candidates{
        dir + QStringLiteral("/airlock-shim"),
        dir + QStringLiteral("/../libexec/airlock/airlock-shim"),
        dir + QStringLiteral("/../lib/airlock/airlock-shim"),
        dir + QStringLiteral("/../airlock-shim/airlock-shim"),
        dir + QStringLiteral("/../../app/airlock-shim/airlock-shim"),
        QStringLiteral("/usr/libexec/airlock/airlock-shim"),
    };
    for (const QString &c : candidates) {
        const QFileInfo info(c);
        if (info.isFile() && info.isExecutable())
            return QDir::cleanPath(info.absoluteFilePath());
    }
    return {};
}

bool sameProcess(qint64 pid, quint64 startTime)
{
    return pid > 0 && startTime != 0 && processStartTime(static_cast<pid_t>(pid)) == startTime;
}

QString uidMappingFor(const policy::Policy &policy, const SandboxUser &user)
{
    const qint64 inside = policy.privileges.uid.value_or(user.uid);
    return QStringLiteral("%1 -> %2").arg(inside).arg(user.describe());
}

} // namespace

LocalBackend::LocalBackend(LocalBackendOptions options, QObject *parent) : Backend(parent), m_options(std::move(options))
{
    m_bwrap = m_options.bwrap.isEmpty() ? QStandardPaths::findExecutable(QStringLiteral("bwrap")) : m_options.bwrap;
    m_shim = m_options.shim.isEmpty() ? findShim() : m_options.shim;
}

LocalBackend::~LocalBackend()
{
    // Ours and short-lived: they end with us. Persistent ones and other processes' stay as they are.
    const auto all = m_sandboxes;
    for (const QPointer<LocalSandbox> &s : all) {
        if (!s)
            continue;
        const SandboxInfo info = s->info();
        if (info.owned && info.lifecycle != policy::Lifecycle::Persistent)
            s->terminateNow(QStringLiteral("Airlock closed"));
    }
}

std::optional<QString> LocalBackend::unavailableReason() const
{
    if (m_bwrap.isEmpty() || !QFileInfo(m_bwrap).isExecutable())
        return QStringLiteral("bubblewrap (bwrap) is not installed; install the bubblewrap package");
    if (m_shim.isEmpty() || !QFileInfo(m_shim).isExecutable())
        return QStringLiteral("airlock-shim was not found; set AIRLOCK_SHIM to its path");
    if (auto root = runtimeRoot(); !root)
        return root.error().message;
    return std::nullopt;
}

QString LocalBackend::bwrapPath() const
{
    return m_bwrap;
}

QString LocalBackend::shimPath() const
{
    return m_shim;
}

Result<QString> LocalBackend::runtimeRoot() const
{
    if (m_options.runtimeRoot.isEmpty())
        return sandboxRuntimeRoot();
    const QString root = QDir::cleanPath(m_options.runtimeRoot);
    if (auto r = ensureReachableByOthers(root); !r)
        return std::unexpected(r.error());
    if (auto r = ensurePrivateDir(root, runtimeDirMode()); !r)
        return std::unexpected(r.error());
    if (auto r = ensurePrivateDir(root + QStringLiteral("/sandboxes"), runtimeDirMode()); !r)
        return std::unexpected(r.error());
    return root;
}

const Limiter &LocalBackend::limiter() const
{
    if (!m_limiter) {
        std::optional<LimitMechanism> forced = m_options.limits;
        if (!forced) {
            const auto fromEnv = Limiter::forcedFromEnvironment();
            if (fromEnv)
                forced = *fromEnv;
            else
                qCWarning(lcSandbox) << fromEnv.error().message;
        }
        LimitEnvironment env = LimitEnvironment::probe();
        if (!forced || *forced == LimitMechanism::SystemdScope)
            env.systemdAvailable = systemdAvailable();
        m_limiter.emplace(std::move(env), forced);
    }
    return *m_limiter;
}

Result<void> LocalBackend::probeBwrap(const QString &bwrap)
{
    const QString program = bwrap.isEmpty() ? QStandardPaths::findExecutable(QStringLiteral("bwrap")) : bwrap;
    if (program.isEmpty())
        return fail(ErrorCode::NotFound, QStringLiteral("bwrap is not installed"));
    QProcess p;
    p.setProcessEnvironment(QProcessEnvironment());
    p.start(program, {QStringLiteral("--unshare-all"), QStringLiteral("--unshare-user"), QStringLiteral("--die-with-parent"),
                      QStringLiteral("--ro-bind"), QStringLiteral("/"), QStringLiteral("/"), QStringLiteral("--proc"),
                      QStringLiteral("/proc"), QStringLiteral("--"), QStringLiteral("/bin/true")});
    if (!p.waitForFinished(10000)) {
        p.kill();
        p.waitForFinished();
        return fail(ErrorCode::Io, QStringLiteral("bwrap did not finish within 10 s"));
    }
    if (p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0)
        return fail(ErrorCode::Io, QStringLiteral("bwrap cannot create namespaces here: ")
                                       + QString::fromLocal8Bit(p.readAllStandardError()).trimmed());
    return {};
}

Result<Sandbox *> LocalBackend::create(const SandboxSpec &spec)
{
    if (auto why = unavailableReason())
        return fail(ErrorCode::NotFound, *why);
    if (spec.policy.runtime.backend != policy::Backend::Local)
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("policy '%1' runs on the %2 backend, not on this machine's bubblewrap")
                        .arg(spec.policyName, policy::nameOf(spec.policy.runtime.backend)));
    const QString id = spec.id.isEmpty() ? newSandboxId() : spec.id;
    if (!isValidSandboxId(id))
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("'%1' is not a sandbox name: use 1-64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit")
                        .arg(id.left(80)));
    const QFileInfo workspace(spec.workspace);
    if (!workspace.isAbsolute() || !workspace.isDir())
        return fail(ErrorCode::InvalidArgument, QStringLiteral("the workspace %1 is not an existing folder").arg(spec.workspace));
    // Mounted by its real path, so a symlinked workspace cannot point the mount somewhere else later.
    const QString workspacePath = workspace.canonicalFilePath();

    auto root = runtimeRoot();
    if (!root)
        return std::unexpected(root.error());
    const QString dir = *root + QStringLiteral("/sandboxes/") + id;
    if (::mkdir(QFile::encodeName(dir).constData(), 0700) != 0)
        return fail(errno == EEXIST ? ErrorCode::InvalidArgument : ErrorCode::Io,
                    errno == EEXIST ? QStringLiteral("a sandbox named %1 already exists").arg(id)
                                    : QStringLiteral("cannot create %1: %2").arg(dir, QString::fromLocal8Bit(std::strerror(errno))));
    if (::mkdir(QFile::encodeName(dir + QStringLiteral("/control")).constData(), 0700) != 0) {
        removeSandboxDir(dir);
        return fail(ErrorCode::Io, QStringLiteral("cannot create the control folder in %1").arg(dir));
    }
    // Never host uid 0: a root launcher's sandbox runs as the workspace's owner or airlock-sandbox.
    Result<SandboxUser> user = sandboxUserFor(workspacePath, ::geteuid());
    QString workspaceMount;
    const auto undoFolders = [&] {
        if (!workspaceMount.isEmpty())
            unmountAndRemove(workspaceMount);
        removeSandboxDir(dir);
    };
    if (user && user->switchUser) {
        // It reaches its control folder (bwrap binds it, the shim finds the proxy's socket there) and
        // nothing else of ours: the folders above are traverse-only, the state file stays root's.
        if (::chmod(QFile::encodeName(dir).constData(), 0711) != 0
            || ::chown(QFile::encodeName(dir + QStringLiteral("/control")).constData(), user->uid, user->gid) != 0) {
            const int err = errno;
            undoFolders();
            return fail(ErrorCode::Io, QStringLiteral("cannot hand the control folder in %1 to %2: %3")
                                           .arg(dir, user->describe(), QString::fromLocal8Bit(std::strerror(err))));
        }
    }
    if (user && user->idmapWorkspace) {
        const QString mounts = *root + QStringLiteral("/mounts");
        workspaceMount = mounts + u'/' + id;
        if (auto r = ensurePrivateDir(mounts, runtimeDirMode()); !r) {
            workspaceMount.clear();
            undoFolders();
            return std::unexpected(r.error());
        }
        if (::mkdir(QFile::encodeName(workspaceMount).constData(), 0700) != 0 && errno != EEXIST) {
            const int err = errno;
            workspaceMount.clear();
            undoFolders();
            return fail(ErrorCode::Io, QStringLiteral("cannot create %1: %2").arg(mounts + u'/' + id, QString::fromLocal8Bit(std::strerror(err))));
        }
        if (auto r = mountIdmapped(workspacePath, workspaceMount, *user); !r) {
            undoFolders();
            return std::unexpected(r.error());
        }
    }
    if (!user) {
        undoFolders();
        return std::unexpected(user.error());
    }
    if (!spec.agentHome.isEmpty()) {
        const auto traverse = user->switchUser ? std::optional<uid_t>(user->uid) : std::nullopt;
        if (auto r = prepareAgentHome(spec.agentHome, user->uid, user->gid, traverse); !r) {
            undoFolders();
            return std::unexpected(r.error());
        }
    }

    LocalSandboxState st;
    st.id = id;
    st.policyName = spec.policyName.isEmpty() ? spec.policy.name : spec.policyName;
    st.policy = spec.policy;
    st.policyHash = policy::policyHash(spec.policy);
    st.workspace = workspacePath;
    st.sessionId = spec.sessionId;
    st.lifecycle = spec.effectiveLifecycle();
    st.created = QDateTime::currentDateTimeUtc();
    if (spec.policy.resources.wallClockSeconds)
        st.deadline = st.created.addSecs(*spec.policy.resources.wallClockSeconds);
    st.uidMapping = uidMappingFor(spec.policy, *user);
    st.hostUid = user->uid;
    st.workspaceMount = workspaceMount;
    st.agentHome = spec.agentHome.isEmpty() ? QString() : QDir::cleanPath(spec.agentHome);

    Result<LimitPlan> plan = limiter().prepare(id, spec.policy.resources);
    if (!plan) {
        undoFolders();
        return std::unexpected(plan.error());
    }
    auto *sandbox = new LocalSandbox(this, st, dir, true);
    if (auto launched = sandbox->launch(*plan, *user); !launched) {
        delete sandbox;
        if (!workspaceMount.isEmpty())
            unmountAndRemove(workspaceMount);
        return std::unexpected(launched.error());
    }
    adopt(sandbox);
    return sandbox;
}

QList<Sandbox *> LocalBackend::sandboxes() const
{
    QList<Sandbox *> out;
    for (const QPointer<LocalSandbox> &s : m_sandboxes) {
        if (s)
            out.append(s.data());
    }
    std::sort(out.begin(), out.end(), [](Sandbox *a, Sandbox *b) { return a->id() < b->id(); });
    return out;
}

void LocalBackend::adopt(LocalSandbox *sandbox)
{
    m_sandboxes.insert(sandbox->id(), sandbox);
    Q_EMIT sandboxAdded(sandbox);
}

void LocalBackend::forget(const QString &id)
{
    QPointer<LocalSandbox> s = m_sandboxes.take(id);
    if (s) {
        Q_EMIT sandboxRemoved(id);
        s->deleteLater();
    }
}

void LocalBackend::discover()
{
    auto root = runtimeRoot();
    if (!root)
        return;
    const QStringList ids = QDir(*root + QStringLiteral("/sandboxes")).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    // Idmapped workspace views whose sandbox folder is gone (a crash between the two removals).
    const QStringList mounts = QDir(*root + QStringLiteral("/mounts")).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &id : mounts) {
        if (!ids.contains(id) && isValidSandboxId(id))
            unmountAndRemove(*root + QStringLiteral("/mounts/") + id);
    }
    for (const QString &id : ids) {
        if (m_sandboxes.contains(id) || !isValidSandboxId(id))
            continue;
        if (auto found = discoverOne(*root + QStringLiteral("/sandboxes/") + id); !found)
            qCInfo(lcSandbox) << found.error().message;
    }
}

Result<Sandbox *> LocalBackend::attach(const QString &id)
{
    if (Sandbox *known = sandbox(id))
        return known;
    if (!isValidSandboxId(id))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("'%1' is not a sandbox name").arg(id.left(80)));
    auto root = runtimeRoot();
    if (!root)
        return std::unexpected(root.error());
    const QString dir = *root + QStringLiteral("/sandboxes/") + id;
    if (!QFileInfo(dir).isDir())
        return fail(ErrorCode::NotFound, QStringLiteral("there is no local sandbox named %1").arg(id));
    return discoverOne(dir);
}

Result<Sandbox *> LocalBackend::discoverOne(const QString &dir)
{
    Result<LocalSandboxState> st = readStateFile(dir + QStringLiteral("/state.json"));
    if (!st) {
        // A folder without a state file is a launch that crashed before writing it (or one under
        // way in another process, which writes it within milliseconds).
        const QFileInfo info(dir);
        if (st.error().code == ErrorCode::NotFound && info.lastModified().secsTo(QDateTime::currentDateTime()) > 60)
            removeSandboxDir(dir);
        return std::unexpected(st.error());
    }
    const bool persistent = st->lifecycle == policy::Lifecycle::Persistent;
    // The shim (pid 1 inside) is the sandbox; bwrap outside may be gone while it lives on.
    const bool alive = (st->initPid > 0 && st->pidNamespace != 0 && pidNamespaceOf(st->initPid) == st->pidNamespace)
                       || sameProcess(st->bwrapPid, st->bwrapStartTime);
    // Our own pid here means an earlier backend in this process, which is gone.
    const bool ownerAlive = st->ownerPid != ::getpid() && sameProcess(st->ownerPid, st->ownerStartTime);
    const bool active = st->state == SandboxState::Starting || st->state == SandboxState::Running
                        || st->state == SandboxState::Stopping;
    if (!persistent && ownerAlive && active && !alive)
        return fail(ErrorCode::NotFound, QStringLiteral("sandbox %1 is ending").arg(st->id));
    // A short-lived sandbox belongs to the process that started it for as long as that lives: another
    // process that adopted it would connect to its shim, write its state file and end it on exit.
    if (!persistent && ownerAlive)
        return fail(ErrorCode::Busy, QStringLiteral("sandbox %1 is in use by another Airlock process (pid %2)")
                                         .arg(st->id)
                                         .arg(st->ownerPid));

    auto *sandbox = new LocalSandbox(this, *st, dir, persistent || !ownerAlive);
    adopt(sandbox);
    if (!persistent && !ownerAlive) {
        // What is left of a short-lived sandbox whose Airlock is gone.
        sandbox->terminateNow(QStringLiteral("its Airlock process ended"));
        return fail(ErrorCode::NotFound, QStringLiteral("sandbox %1 belonged to an Airlock process that has ended; removed").arg(st->id));
    }
    if (active)
        sandbox->reattach(alive);
    return sandbox;
}

int LocalBackend::processesInNamespace(quint64 pidNamespace) const
{
    if (!m_nsScanAge.isValid() || m_nsScanAge.elapsed() > 500) {
        m_nsCounts.clear();
        const QStringList pids = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
        for (const QString &pid : pids) {
            if (pid.isEmpty() || !pid.front().isDigit())
                continue;
            struct stat st{};
            if (::stat(QByteArray("/proc/" + pid.toLatin1() + "/ns/pid").constData(), &st) == 0)
                ++m_nsCounts[st.st_ino];
        }
        m_nsScanAge.start();
    }
    return m_nsCounts.value(pidNamespace, 0);
}

} // namespace airlock::sandbox
