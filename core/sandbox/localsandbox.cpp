#include "sandbox/localsandbox.h"

#include "policy/codec.h"
#include "policy/compiler.h"
#include "sandbox/localbackend.h"
#include "sandbox/protectionlayer.h"
#include "sandbox/workspacequota.h"
#include "sandbox/seccompfilter.h"
#include "sandbox/shimclient.h"
#include "sandbox/systemdscope.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QProcessEnvironment>
#include <QSocketNotifier>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

Q_DECLARE_LOGGING_CATEGORY(lcSandbox)

namespace airlock::sandbox {

namespace {

constexpr int kSeccompFd = 3;
constexpr int kControlFd = 4;
constexpr int kInfoFd = 5;
constexpr qsizetype kLogKeep = 16 * 1024;

QString errnoText(int err)
{
    return QString::fromLocal8Bit(std::strerror(err));
}

// The control socket is bound here, on the host, so the sandbox never needs a writable control
// folder and cannot replace the socket with something else.
Result<int> bindControlSocket(const QString &path)
{
    const QByteArray native = QFile::encodeName(path);
    sockaddr_un addr{};
    if (native.size() >= static_cast<qsizetype>(sizeof addr.sun_path))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("the control socket path %1 is too long for a unix socket").arg(path));
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail(ErrorCode::Io, QStringLiteral("cannot create the control socket: ") + errnoText(errno));
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, native.constData(), static_cast<size_t>(native.size()) + 1);
    if (::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 || ::chmod(native.constData(), 0600) != 0
        || ::listen(fd, 64) != 0) {
        const int err = errno;
        ::close(fd);
        return fail(ErrorCode::Io, QStringLiteral("cannot listen on %1: %2").arg(path, errnoText(err)));
    }
    return fd;
}

Result<std::pair<int, int>> makePipe()
{
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        return fail(ErrorCode::Io, QStringLiteral("cannot create a pipe: ") + errnoText(errno));
    ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    return std::pair{fds[0], fds[1]};
}

void closeFd(int &fd)
{
    if (fd >= 0)
        ::close(fd);
    fd = -1;
}

QString describeStatus(int status)
{
    if (WIFEXITED(status))
        return QStringLiteral("exit status %1").arg(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return QStringLiteral("killed by %1").arg(signalName(WTERMSIG(status)));
    return QStringLiteral("status %1").arg(status);
}

} // namespace

LocalSandbox::LocalSandbox(LocalBackend *backend, LocalSandboxState state, QString dir, bool owned)
    : Sandbox(SandboxInfo{}, backend), m_backend(backend), m_state(std::move(state)), m_dir(std::move(dir))
{
    SandboxInfo &i = mutableInfo();
    i.id = m_state.id;
    i.backend = backend->name();
    i.policyName = m_state.policyName;
    i.policyHash = m_state.policyHash;
    i.controlDir = m_dir + QStringLiteral("/control");
    i.workspace = m_state.workspace;
    i.sessionId = m_state.sessionId;
    i.lifecycle = m_state.lifecycle;
    i.state = m_state.state;
    setPolicy(m_state.policy);
    i.message = m_state.message;
    i.limits = m_state.limits;
    i.created = m_state.created;
    i.deadline = m_state.deadline;
    i.hostPid = m_state.bwrapPid;
    i.uidMapping = m_state.uidMapping;
    i.owned = owned;
    if (m_state.policy.resources.maxOutputBytes)
        setDefaultOutputCap(static_cast<quint64>(*m_state.policy.resources.maxOutputBytes));
    for (QTimer *t : {&m_killTimer, &m_deadlineTimer, &m_startTimer, &m_releaseTimer, &m_saveTimer})
        t->setSingleShot(true);
    connect(&m_saveTimer, &QTimer::timeout, this, &LocalSandbox::saveState);
    connect(&m_killTimer, &QTimer::timeout, this, &LocalSandbox::beginKill);
    connect(&m_startTimer, &QTimer::timeout, this, [this] {
        failStart(QStringLiteral("the sandbox did not start within %1 s").arg(m_backend->options().startTimeoutMs / 1000.0));
    });
    connect(&m_releaseTimer, &QTimer::timeout, this, &LocalSandbox::tryReleaseCgroup);
    connect(&m_deadlineTimer, &QTimer::timeout, this, [this] {
        stopBecause(QStringLiteral("its wall clock of %1 s ran out").arg(*m_state.policy.resources.wallClockSeconds));
    });
    if (const auto limit = m_state.policy.resources.workspaceBytes)
        new WorkspaceWatch(this, m_state.workspace, *limit);
}

LocalSandbox::~LocalSandbox()
{
    if (m_saveTimer.isActive()) // a process that ends right after the start must still record it
        saveState();
    closeNotifiers();
    closeFd(m_controlDirFd);
}

QString LocalSandbox::controlSocket() const
{
    return m_dir + QStringLiteral("/control/shim.sock");
}

QString LocalSandbox::socketAddress()
{
    const QString path = controlSocket();
    if (QFile::encodeName(path).size() < static_cast<qsizetype>(sizeof(sockaddr_un::sun_path)))
        return path;
    // A unix socket path has to fit in 108 bytes; a deep runtime folder is reached through its descriptor.
    if (m_controlDirFd < 0)
        m_controlDirFd = ::open(QFile::encodeName(m_dir + QStringLiteral("/control")).constData(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    return QStringLiteral("/proc/self/fd/%1/shim.sock").arg(m_controlDirFd);
}

void LocalSandbox::closeNotifiers()
{
    // Later, not now: this may run inside one of their activated() signals.
    for (QSocketNotifier **n : {&m_exitNotifier, &m_infoNotifier, &m_logNotifier, &m_layerNotifier}) {
        if (*n) {
            (*n)->setEnabled(false);
            (*n)->deleteLater();
        }
        *n = nullptr;
    }
    closeFd(m_pidfd);
    closeFd(m_infoFd);
    closeFd(m_logFd);
}

Result<void> LocalSandbox::launch(const LimitPlan &plan, const SandboxUser &user)
{
    const auto undo = [&](const Error &e) -> Result<void> {
        Limiter::release(plan.cgroup);
        removeSandboxDir(m_dir);
        return std::unexpected(e);
    };
    const policy::Policy &p = m_state.policy;
    int seccompFd = -1;
    if (p.privileges.seccomp != policy::SeccompMode::Unconfined) {
        Result<QByteArray> program = seccompProgram(p.privileges);
        if (!program)
            return undo(program.error());
        Result<int> fd = sealedMemfd("airlock-seccomp", *program);
        if (!fd)
            return undo(fd.error());
        seccompFd = *fd;
    }
    Result<int> controlFd = bindControlSocket(socketAddress());
    if (!controlFd) {
        closeFd(seccompFd);
        return undo(controlFd.error());
    }

    policy::LaunchContext context;
    context.sessionId = m_state.sessionId;
    context.workspace = m_state.workspace;
    context.workspaceSource = m_state.workspaceMount;
    context.agentHome = m_state.agentHome;
    context.shim = m_backend->shimPath();
    context.controlDir = m_dir + QStringLiteral("/control");
    context.home = QDir::homePath();
    const QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const QString &name : p.environment.passThrough) {
        if (env.contains(name))
            context.hostEnvironment.insert(name, env.value(name));
    }
    context.seccompFd = kSeccompFd;
    context.controlFd = kControlFd;
    if (p.filesystem.workspace == policy::Access::ReadWrite && p.filesystem.protectionLayer) {
        const QString layer = protectionMountPoint(m_dir);
        unmountProtectionLayer(layer); // a stale one from an earlier run of this sandbox
        // Over the idmapped view when there is one, and served as the user the sandbox runs as.
        const QString source = m_state.workspaceMount.isEmpty() ? m_state.workspace : m_state.workspaceMount;
        std::optional<LayerUser> runAs;
        if (user.switchUser)
            runAs = LayerUser{unsigned(user.uid), unsigned(user.gid)};
        Result<PendingLayer> started = startProtectionLayer(source, layer, p.filesystem.protectedPaths, false, runAs);
        Result<void> serving = started ? Result<void>{} : Result<void>(std::unexpected(started.error()));
        // Mounted by us already, the layer comes up while bwrap sets up (its first access waits for
        // it); otherwise nothing may bind the mount point before the layer is there.
        if (started && !started->mountedAhead())
            serving = started->finish(m_backend->options().startTimeoutMs);
        if (!serving) {
            closeFd(seccompFd);
            ::close(*controlFd);
            return undo(serving.error());
        }
        if (started->isPending()) {
            m_layer = std::move(*started);
            m_layerNotifier = new QSocketNotifier(m_layer.launcherFd(), QSocketNotifier::Read, this);
            connect(m_layerNotifier, &QSocketNotifier::activated, this, &LocalSandbox::layerStarted);
        }
        context.workspaceLayer = layer;
    }
    policy::Policy effective = p;
    effective.lifecycle = m_state.lifecycle; // decides --die-with-parent
    Result<policy::BwrapCommand> command = policy::compileBwrap(effective, context);
    if (!command) {
        closeFd(seccompFd);
        ::close(*controlFd);
        return undo(command.error());
    }
    QStringList args{QStringLiteral("--info-fd"), QString::number(kInfoFd)};
    args += command->arguments;
    if (plan.shimMaxProcesses)
        args << QStringLiteral("--max-processes") << QString::number(*plan.shimMaxProcesses);
    // The control folder is visible in the sandbox; only we, outside its pid namespace, may use it.
    args << QStringLiteral("--outside-peers-only");

    auto info = makePipe();
    auto log = makePipe();
    if (!info || !log) {
        closeFd(seccompFd);
        ::close(*controlFd);
        if (info) {
            ::close(info->first);
            ::close(info->second);
        }
        if (log) {
            ::close(log->first);
            ::close(log->second);
        }
        return undo(!info ? info.error() : log.error());
    }
    SpawnRequest request;
    request.program = m_backend->bwrapPath();
    request.arguments = args;
    request.environment = command->environment;
    if (seccompFd >= 0)
        request.descriptors.append({seccompFd, kSeccompFd});
    request.descriptors.append({*controlFd, kControlFd});
    request.descriptors.append({info->second, kInfoFd});
    request.outputFd = log->second;
    request.rlimits = plan.rlimits;
    request.joinCgroups = plan.joinFiles;
    request.noNewPrivileges = p.privileges.noNewPrivileges;
    request.waitForGo = plan.systemdScope;
    if (user.switchUser)
        request.user = SpawnRequest::User{user.uid, user.gid};
    Result<Spawned> spawned = spawnProcess(request);
    // The sandbox holds its own copies now; ours would keep the socket accepting after the shim is gone.
    closeFd(seccompFd);
    ::close(*controlFd);
    ::close(info->second);
    ::close(log->second);
    m_infoFd = info->first;
    m_logFd = log->first;
    if (!spawned) {
        closeNotifiers();
        return undo(spawned.error());
    }
    m_spawned = std::move(*spawned);
    m_child = true;
    m_state.bwrapPid = m_spawned.pid();
    m_state.bwrapStartTime = processStartTime(m_spawned.pid());
    m_state.ownerPid = ::getpid();
    m_state.ownerStartTime = processStartTime(::getpid());
    m_state.cgroup = plan.cgroup;
    m_state.limits = plan.report;
    mutableInfo().hostPid = m_state.bwrapPid;
    mutableInfo().limits = plan.report;
    saveState();

    watchExit(m_spawned.takePidfd());
    m_infoNotifier = new QSocketNotifier(m_infoFd, QSocketNotifier::Read, this);
    connect(m_infoNotifier, &QSocketNotifier::activated, this, &LocalSandbox::readInfo);
    m_logNotifier = new QSocketNotifier(m_logFd, QSocketNotifier::Read, this);
    connect(m_logNotifier, &QSocketNotifier::activated, this, &LocalSandbox::readLog);
    m_startTimer.start(m_backend->options().startTimeoutMs);

    if (!plan.systemdScope) {
        connectShim(socketAddress(), m_backend->options().startTimeoutMs);
        return {};
    }
    m_scope = new SystemdScope(this);
    connect(m_scope, &SystemdScope::placed, this, [this](const QString &procsFile) {
        m_state.cgroup.procsFile = procsFile;
        if (auto released = m_spawned.go(); !released) {
            failStart(released.error().message);
            return;
        }
        saveState();
        connectShim(socketAddress(), m_backend->options().startTimeoutMs);
    });
    connect(m_scope, &SystemdScope::failed, this, [this](const Error &error) { failStart(error.message); });
    m_scope->start(m_state.cgroup.unit, m_state.bwrapPid, p.resources);
    return {};
}

void LocalSandbox::reattach(bool alive)
{
    m_child = false;
    // Watch the shim itself when we know it: bwrap outside may already be gone.
    const qint64 watched = m_state.initPid > 0 && pidNamespaceOf(m_state.initPid) == m_state.pidNamespace ? m_state.initPid
                                                                                                           : m_state.bwrapPid;
    const int pidfd = alive ? openPidfd(static_cast<pid_t>(watched)) : -1;
    if (pidfd < 0) {
        m_exited = true;
        m_stopReason = QStringLiteral("it ended while Airlock was not running");
        finishStopped();
        return;
    }
    watchExit(pidfd);
    setState(SandboxState::Starting);
    m_startTimer.start(m_backend->options().startTimeoutMs);
    connectShim(socketAddress(), m_backend->options().startTimeoutMs);
}

void LocalSandbox::watchExit(int pidfd)
{
    m_pidfd = pidfd;
    m_exitNotifier = new QSocketNotifier(m_pidfd, QSocketNotifier::Read, this);
    connect(m_exitNotifier, &QSocketNotifier::activated, this, &LocalSandbox::onExited);
}

void LocalSandbox::readInfo()
{
    if (m_infoFd < 0)
        return;
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(m_infoFd, buffer, sizeof buffer);
        if (n > 0) {
            if (m_info.size() < 65536)
                m_info.append(buffer, n);
            continue;
        }
        if (n < 0 && (errno == EINTR))
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        break; // EOF or error: bwrap has said all it will
    }
    if (m_infoNotifier) {
        m_infoNotifier->setEnabled(false);
        m_infoNotifier->deleteLater();
        m_infoNotifier = nullptr;
    }
    closeFd(m_infoFd);
    const QJsonObject o = QJsonDocument::fromJson(m_info).object();
    const qint64 child = o.value(u"child-pid").toInteger();
    if (child > 0) {
        m_state.initPid = child;
        m_state.pidNamespace = static_cast<quint64>(o.value(u"pid-namespace").toInteger());
        if (m_state.pidNamespace == 0)
            m_state.pidNamespace = pidNamespaceOf(child);
        // Killing pid 1 is the only way to end a sandbox whose bwrap is not ours. A persistent one
        // outlives a crash of this process, so its pid is saved now; any other dies with us (bwrap's
        // --die-with-parent), and the save on reaching Running is soon enough for it.
        if (state() != SandboxState::Starting || m_state.lifecycle == policy::Lifecycle::Persistent)
            saveState();
    }
}

void LocalSandbox::layerStarted()
{
    if (m_layerNotifier) {
        m_layerNotifier->setEnabled(false);
        m_layerNotifier->deleteLater();
        m_layerNotifier = nullptr;
    }
    if (auto served = m_layer.finish(0); !served) {
        if (state() == SandboxState::Starting)
            failStart(served.error().message);
        else
            stopBecause(served.error().message);
    }
}

void LocalSandbox::readLog()
{
    char buffer[16384];
    for (;;) {
        const ssize_t n = ::read(m_logFd, buffer, sizeof buffer);
        if (n > 0) {
            m_log.append(buffer, n);
            if (m_log.size() > kLogKeep)
                m_log.remove(0, m_log.size() - kLogKeep);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        break;
    }
    if (m_logNotifier) {
        m_logNotifier->setEnabled(false);
        m_logNotifier->deleteLater();
        m_logNotifier = nullptr;
    }
    closeFd(m_logFd);
}

QString LocalSandbox::logTail() const
{
    return QString::fromUtf8(m_log).trimmed().right(2000);
}

void LocalSandbox::onExited()
{
    if (m_exited)
        return;
    m_exitNotifier->setEnabled(false);
    QString how;
    // Also for a sandbox found again: in the same process (a new backend) it may still be our child.
    if (const std::optional<int> status = reapChild(static_cast<pid_t>(m_state.bwrapPid)); status && m_child) {
        how = describeStatus(*status);
        // The sandbox's cgroup is its own, so any OOM kill in it is this sandbox's memory limit.
        // bwrap passes its child's death on as 128 + the signal.
        const bool sigkill = (WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL)
                             || (WIFEXITED(*status) && WEXITSTATUS(*status) == 128 + SIGKILL);
        if (sigkill && oomKills().value_or(0) > 0)
            how += QStringLiteral(": out of memory, the sandbox's memory limit was reached");
    }
    m_exited = true;
    if (m_logFd >= 0)
        readLog();
    disconnectShim();
    // bwrap fails to bind a layer that never came up; the layer's own error says why.
    if (m_layer.isPending() && state() == SandboxState::Starting) {
        if (auto served = m_layer.finish(1000); !served) {
            m_failed = true;
            m_stopReason = served.error().message;
        }
    }
    const SandboxState now = state();
    if (now == SandboxState::Starting && !m_failed) {
        m_failed = true;
        m_stopReason = QStringLiteral("bwrap exited during start-up (%1)").arg(how.isEmpty() ? QStringLiteral("not our child") : how);
    } else if (now == SandboxState::Running && m_stopReason.isEmpty()) {
        m_stopReason = QStringLiteral("it ended by itself (%1)").arg(how.isEmpty() ? QStringLiteral("not our child") : how);
    }
    finishStopped();
}

void LocalSandbox::shimReady()
{
    if (state() != SandboxState::Starting)
        return;
    m_startTimer.stop();
    m_state.state = SandboxState::Running;
    m_state.message.clear();
    // Saved once control is back in the event loop, so whoever waits for Running sends its first exec
    // before the file is written: the save then overlaps the shim's work instead of delaying it.
    m_saveTimer.start(0);
    setState(SandboxState::Running);
    if (m_child && !m_recordedCreate) {
        m_recordedCreate = true;
        m_backend->recordEvent(m_state.sessionId, QString::fromLatin1(events::SandboxCreated), eventPayload());
    }
    startDeadlineTimer();
}

void LocalSandbox::shimLost(const Error &error)
{
    const SandboxState now = state();
    if (now == SandboxState::Starting) {
        failStart(error.message);
    } else if (now == SandboxState::Running) {
        // Without its shim a sandbox can do nothing for us; end it rather than leave it running unseen.
        m_stopReason = error.message;
        stop(0);
    }
}

void LocalSandbox::saveState()
{
    m_saveTimer.stop();
    if (!QFileInfo::exists(m_dir))
        return;
    if (auto r = writeStateFile(m_dir + QStringLiteral("/state.json"), m_state); !r)
        qCWarning(lcSandbox) << r.error().message;
}

void LocalSandbox::startDeadlineTimer()
{
    if (!m_state.deadline.isValid())
        return;
    const qint64 left = QDateTime::currentDateTimeUtc().msecsTo(m_state.deadline);
    m_deadlineTimer.start(static_cast<int>(std::clamp<qint64>(left, 0, std::numeric_limits<int>::max())));
}

void LocalSandbox::refreshInfo(SandboxInfo &info) const
{
    Sandbox::refreshInfo(info);
    info.processes = -1;
    if (info.state == SandboxState::Running && m_state.pidNamespace != 0)
        info.processes = m_backend->processesInNamespace(m_state.pidNamespace);
    else if (info.state == SandboxState::Stopped || info.state == SandboxState::Failed)
        info.processes = 0;
}

QJsonObject LocalSandbox::eventPayload() const
{
    return QJsonObject{{QStringLiteral("sandbox"), m_state.id},
                       {QStringLiteral("backend"), m_backend->name()},
                       {QStringLiteral("policy"), m_state.policyName},
                       {QStringLiteral("policyHash"), m_state.policyHash},
                       {QStringLiteral("lifecycle"), policy::nameOf(m_state.lifecycle)},
                       {QStringLiteral("limits"), mechanismName(m_state.limits.mechanism)},
                       {QStringLiteral("limitDetails"), m_state.limits.toJson()},
                       {QStringLiteral("workspace"), m_state.workspace},
                       {QStringLiteral("uidMapping"), m_state.uidMapping},
                       {QStringLiteral("hostPid"), m_state.bwrapPid}};
}

std::optional<quint64> LocalSandbox::oomKills() const
{
    return Limiter::oomKills(m_state.cgroup);
}

} // namespace airlock::sandbox
