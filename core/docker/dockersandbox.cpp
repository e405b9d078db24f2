#include "docker/dockerbackend.h"

#include "docker/dockererrors.h"
#include "docker/gvisor.h"
#include "futures.h"
#include "policy/compiler.h"
#include "docker/shimlistener.h"
#include "policy/sandboxlayout.h"
#include "sandbox/protectionlayer.h"
#include "sandbox/shimclient.h"

#include <QDir>
#include <QStandardPaths>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QTimer>

#include <sys/resource.h>

#include <algorithm>

namespace airlock::docker {

using sandbox::SandboxState;

namespace {

constexpr int kShimConnectTimeoutMs = 10000;
// After the shim's connection drops, how long the die event may take to say why.
constexpr int kDieEventGraceMs = 2000;

} // namespace

DockerSandbox::DockerSandbox(DockerBackend *backend, sandbox::SandboxInfo info, QString controlDir, QString image)
    : Sandbox(std::move(info), backend),
      m_backend(backend),
      m_controlDir(std::move(controlDir)),
      m_image(std::move(image)),
      m_listener(new ShimListener(m_controlDir + QStringLiteral("/shim.sock"), backend->shimPath(), this)),
      m_startDeadline(new QTimer(this))
{
    mutableInfo().controlDir = m_controlDir;
    m_containerName = QStringLiteral("airlock-") + id();
    connect(m_listener, &ShimListener::connected, this, [this](qintptr fd) {
        qCDebug(lcDocker) << id() << "shim connected after" << m_clock.elapsed() << "ms";
        useShimConnection(fd, m_controlDir + QStringLiteral("/shim.sock"), kShimConnectTimeoutMs);
    });
    // The shim comes back every 200 ms: one line per distinct reason, not five a second.
    connect(m_listener, &ShimListener::refused, this, [this](const QString &why) {
        if (why == m_lastRefusal)
            return;
        m_lastRefusal = why;
        qCWarning(lcDocker) << why;
    });
    m_startDeadline->setSingleShot(true);
    connect(m_startDeadline, &QTimer::timeout, this, [this] {
        failWith(Error{ErrorCode::Io, QStringLiteral("the shim of sandbox %1 did not connect to its control socket within %2 s; "
                                                     "the image may lack a loader for it, or the container's user "
                                                     "cannot reach %3")
                                          .arg(id())
                                          .arg(m_backend->options().startTimeoutMs / 1000)
                                          .arg(m_controlDir)});
    });
}

DockerSandbox::~DockerSandbox() = default;

DockerClient *DockerSandbox::client() const
{
    return m_backend->client();
}

QJsonObject DockerSandbox::eventPayload() const
{
    const sandbox::SandboxInfo i = info();
    QJsonObject payload{{QStringLiteral("sandbox"), i.id},
                        {QStringLiteral("backend"), QStringLiteral("docker")},
                        {QStringLiteral("policy"), i.policyName},
                        {QStringLiteral("policyHash"), i.policyHash},
                        {QStringLiteral("limits"), i.limits.toJson()},
                        {QStringLiteral("lifecycle"), policy::nameOf(i.lifecycle)},
                        {QStringLiteral("workspace"), i.workspace},
                        {QStringLiteral("image"), m_image},
                        {QStringLiteral("container"), m_containerId.left(12)}};
    return payload;
}

bool DockerSandbox::endCreating()
{
    m_creating = false;
    if (m_destroyRequested) {
        finishDestroy();
        return false;
    }
    if (m_stopping) {
        setState(SandboxState::Stopped, QStringLiteral("stopped before it started"));
        return false;
    }
    return true;
}

void DockerSandbox::launch(const QJsonObject &createBody)
{
    if (!m_imageReady) {
        // Airlock's own images are built here when missing (once, offline), so a fresh machine's first
        // Docker sandbox works; any other image is the daemon's business (create says it is missing).
        m_creating = true;
        airlock::then(m_backend->ensureOwnImage(m_image, [this](const QString &line) {
                     m_backend->recordFor(this, sandbox::events::SandboxProgress,
                                          QJsonObject{{QStringLiteral("sandbox"), id()}, {QStringLiteral("backend"), QStringLiteral("docker")},
                                                      {QStringLiteral("text"), line}});
                 }), this, [this, createBody](const Result<void> &ready) {
            m_creating = false;
            m_imageReady = true;
            if (m_destroyRequested)
                finishDestroy();
            else if (m_stopping)
                setState(SandboxState::Stopped, QStringLiteral("stopped before it started"));
            else if (!ready)
                failWith(ready.error());
            else
                launch(createBody);
        });
        return;
    }
    if (!m_runtimeReady) {
        // A runtime other than runc must be registered with the daemon; say how, not Docker's "unknown runtime".
        const QString runtime = createBody.value(u"HostConfig").toObject().value(u"Runtime").toString();
        if (runtime.isEmpty() || runtime == u"runc") {
            m_runtimeReady = true;
            launch(createBody);
            return;
        }
        m_creating = true;
        airlock::then(client()->info(), this, [this, createBody, runtime](const Result<QJsonObject> &info) {
            if (!endCreating())
                return;
            if (!info) {
                failWith(info.error());
                return;
            }
            const bool gvisor = runtime == QLatin1String(policy::kGvisorRuntime);
            if (const GvisorStatus status = gvisorStatus(*info, QStandardPaths::findExecutable(QStringLiteral("runsc")));
                gvisor && !status.ready()) {
                failWith(Error{ErrorCode::NotFound, QStringLiteral("gVisor cannot run this sandbox: %1; run %2 (or choose a "
                                                                   "policy without gVisor)")
                                                        .arg(status.detail, status.fix)});
                return;
            }
            const QJsonObject runtimes = info->value(u"Runtimes").toObject();
            if (!runtimes.contains(runtime)) {
                failWith(Error{ErrorCode::NotFound, QStringLiteral("the Docker daemon has no runtime named %1").arg(runtime)});
                return;
            }
            m_runtimeReady = true;
            if (gvisor)
                m_goferBinary = runtimes.value(runtime).toObject().value(u"path").toString();
            launch(createBody);
        });
        return;
    }
    if (!m_backend->isPodman()) {
        // Which daemon it is decides a few details of the request; ask once, then remember. Until the
        // answer a destroy or stop waits for it, as it does for the create's.
        m_creating = true;
        airlock::then(m_backend->probe(), this, [this, createBody](const Result<PingInfo> &ping) {
            if (!endCreating())
                return;
            if (!ping) {
                failWith(ping.error());
                return;
            }
            launch(createBody);
        });
        return;
    }
    if (!*m_backend->isPodman()) {
        createUnlessHostRoot(createBody);
        return;
    }
    auto adapted = adaptForPodman(createBody);
    if (!adapted) {
        failWith(adapted.error());
        return;
    }
    createUnlessHostRoot(*adapted);
}

void DockerSandbox::create(const QJsonObject &createBody)
{
    const QJsonObject host = createBody.value(u"HostConfig").toObject();
    m_autoRemove = host.value(u"AutoRemove").toBool();
    m_user = createBody.value(u"User").toString();
    m_remote = createBody.value(u"Labels").toObject().contains(QLatin1StringView(labels::Remote));
    m_copies = copiesOf(host);
    if (const qint64 memory = qint64(host.value(u"Memory").toDouble()); memory > 0)
        m_memoryLimit = memory;
    mutableInfo().limits = m_backend->limitsFor(host, m_containerName);
    m_launched = true;
    m_creating = true;
    m_startDeadline->start(m_backend->options().startTimeoutMs);
    m_clock.start();
    airlock::then(client()->createContainer(createBody, m_containerName), this, [this](const Result<QString> &created) {
        m_creating = false;
        qCDebug(lcDocker) << id() << "created after" << m_clock.elapsed() << "ms";
        if (!created) {
            failWith(created.error());
            return;
        }
        m_containerId = *created;
        if (!m_goferBinary.isEmpty())
            m_listener->acceptGofer(m_goferBinary, m_containerId);
        if (m_destroyRequested) {
            finishDestroy();
            return;
        }
        if (m_stopping) {
            setState(SandboxState::Stopped, QStringLiteral("stopped before it started"));
            return;
        }
        if (m_remote)
            prepareRemote();
        else
            startContainer();
    });
}

void DockerSandbox::startContainer()
{
    if (m_remote) {
        m_clock.start();
        attachRemote();
        return;
    }
    listenForShim(true);
    if (!m_listener->isListening())
        return;
    airlock::then(client()->startContainer(m_containerId), this, [this](const Result<void> &started) {
        qCDebug(lcDocker) << id() << "started after" << m_clock.elapsed() << "ms";
        if (!started)
            failWith(started.error());
    });
}

void DockerSandbox::start()
{
    if (state() != SandboxState::Stopped && state() != SandboxState::Failed)
        return;
    if (m_containerId.isEmpty() || (m_autoRemove && !m_launched)) {
        setState(state(), QStringLiteral("sandbox %1 has no container to start; create a new one").arg(id()));
        return;
    }
    if (auto dir = DockerBackend::setupControlDir(m_controlDir); !dir) {
        failWith(dir.error());
        return;
    }
    m_stopping = false;
    m_losing = false;
    m_finalized = false;
    m_oomSeen = false;
    m_exitCode.reset();
    setState(SandboxState::Starting);
    m_backend->ensureEvents();
    m_startDeadline->start(m_backend->options().startTimeoutMs);
    startContainer();
}

void DockerSandbox::attach()
{
    m_stopping = false;
    setState(SandboxState::Starting);
    m_startDeadline->start(m_backend->options().startTimeoutMs);
    // The shim connects again every 200 ms until someone listens. It has had company since launch, so
    // only a connection from the shim's own binary is taken — or, under gVisor, from the runtime's gofer
    // for this container (the sandbox's processes never appear on the host), so ask which runtime it is.
    if (m_containerId.isEmpty()) {
        listenForShim(false);
        return;
    }
    // The same inspection gives the details the dock shows, so they are not asked for twice.
    airlock::then(client()->inspectContainer(m_containerId), this, [this](const Result<QJsonObject> &inspected) {
        if (inspected)
            applyDetails(*inspected);
        if (m_remote) {
            // Its shim served the attach stream of the process that made it; a second one would start
            // in the middle of that conversation. Destroying it brings the workspace back.
            failWith(Error{ErrorCode::Io, QStringLiteral("sandbox %1 runs on the Docker daemon at %2, on another machine, and "
                                                         "cannot be taken over after Airlock restarted; destroy it to bring "
                                                         "its workspace back, then make a new one")
                                              .arg(id(), client()->endpoint().display())});
            return;
        }
        const QString runtime = inspected ? inspected->value(u"HostConfig").toObject().value(u"Runtime").toString() : QString();
        if (runtime != QLatin1String(policy::kGvisorRuntime)) {
            listenForShim(false);
            return;
        }
        airlock::then(client()->info(), this, [this, runtime](const Result<QJsonObject> &info) {
            const QString binary = info ? info->value(u"Runtimes").toObject().value(runtime).toObject().value(u"path").toString() : QString();
            if (!binary.isEmpty()) {
                m_goferBinary = binary;
                m_listener->acceptGofer(binary, m_containerId);
            }
            listenForShim(false);
        });
    });
}

void DockerSandbox::listenForShim(bool trustFirst)
{
    if (auto listening = m_listener->listen(trustFirst); !listening)
        failWith(listening.error());
}

void DockerSandbox::shimReady()
{
    m_startDeadline->stop();
    if (m_stopping)
        return;
    qCDebug(lcDocker) << id() << "shim ready after" << m_clock.elapsed() << "ms";
    // On a remote daemon the proxy's socket is here, not in the container: its connections come
    // through the shim's tunnel.
    if (m_remote && shim())
        shim()->setTunnelTarget(m_controlDir + QStringLiteral("/proxy.sock"));
    setState(SandboxState::Running);
    if (m_launched && !m_announced) {
        m_announced = true;
        m_backend->recordFor(this, sandbox::events::SandboxCreated, eventPayload());
    }
    // The host pid and user are for the Sandboxes dock; a one-shot run is over before it looks.
    QTimer::singleShot(m_launched ? 1000 : 0, this, [this] {
        if (state() == SandboxState::Running)
            inspectDetails();
    });
}



void DockerSandbox::shimLost(const Error &error)
{
    if (m_stopping || state() == SandboxState::Stopped || state() == SandboxState::Destroyed
        || state() == SandboxState::Failed)
        return;
    lost(error);
}

void DockerSandbox::lost(const Error &why)
{
    if (m_losing)
        return;
    m_losing = true;
    m_startDeadline->stop();
    m_listener->close();
    disconnectShim();
    if (m_exitCode) {
        finalize(why);
        return;
    }
    if (m_containerId.isEmpty()) {
        finalize(why);
        return;
    }
    airlock::then(client()->inspectContainer(m_containerId), this, [this, why](const Result<QJsonObject> &inspected) {
        if (inspected) {
            const QJsonObject state = inspected->value(u"State").toObject();
            if (!state.value(u"Running").toBool()) {
                m_exitCode = qint64(state.value(u"ExitCode").toDouble());
                m_oomSeen = m_oomSeen || state.value(u"OOMKilled").toBool();
                finalize(why);
                return;
            }
        }
        // Still running, or already removed: the die event tells the rest.
        QTimer::singleShot(kDieEventGraceMs, this, [this, why] { finalize(why); });
    });
}

void DockerSandbox::finalize(const Error &why)
{
    if (m_finalized)
        return;
    m_finalized = true;
    if (m_oomSeen && (!m_exitCode || *m_exitCode == 137)) {
        failWith(oomKilled(id(), m_memoryLimit));
        return;
    }
    if (!m_exitCode) {
        failWith(why);
        return;
    }
    const qint64 status = *m_exitCode;
    if (m_containerId.isEmpty()) {
        failWith(containerExited(id(), status, {}));
        return;
    }
    // The shim says on stderr why it gave up; the logs outlive the container only without AutoRemove.
    airlock::then(client()->containerLogs(m_containerId, 20), this, [this, status](const Result<ContainerLogs> &logs) {
        failWith(containerExited(id(), status, logs ? QString::fromUtf8(logs->err + logs->out) : QString()));
    });
}

void DockerSandbox::failWith(const Error &error)
{
    m_startDeadline->stop();
    m_listener->close();
    if (state() == SandboxState::Destroyed)
        return;
    const bool wasStarting = state() == SandboxState::Starting;
    disconnectShim();
    m_stopping = true;
    setState(SandboxState::Failed, error.message);
    QJsonObject payload = eventPayload();
    payload.insert(QStringLiteral("message"), error.message);
    m_backend->recordFor(this, sandbox::events::SandboxFailed, payload);
    if (error.message.contains(QLatin1String("Docker daemon")) || error.message.contains(QLatin1String("Docker socket")))
        m_backend->m_lastFailure = error.message;
    // A container that never got going is of no use to anyone; one that ran has exited already. On a
    // remote daemon its copies go after it (a volume in use cannot be removed); one that ran keeps
    // them until it is destroyed, which brings the workspace back.
    const bool dropCopies = wasStarting && m_remote && !m_announced;
    if (wasStarting && !m_containerId.isEmpty()) {
        auto removed = client()->removeContainer(m_containerId, true);
        if (dropCopies)
            airlock::then(removed, this, [this](const Result<void> &) { releaseRemote(false, [] {}); });
    } else if (dropCopies) {
        releaseRemote(false, [] {});
    }
    if (!dropCopies)
        closeRemoteStream();
}

void DockerSandbox::noteEvent(const QString &action, const QJsonObject &attributes)
{
    if (action == QLatin1String("oom")) {
        m_oomSeen = true;
        Q_EMIT outOfMemory();
        QJsonObject payload = eventPayload();
        if (m_memoryLimit)
            payload.insert(QStringLiteral("memoryLimit"), *m_memoryLimit);
        m_backend->recordFor(this, events::SandboxOom, payload);
        return;
    }
    if (action == QLatin1String("die")) {
        bool ok = false;
        const qint64 code = attributes.value(u"exitCode").toString().toLongLong(&ok);
        m_exitCode = ok ? code : -1;
        if (m_stopping)
            return;
        if (m_losing)
            finalize(Error{ErrorCode::Io, QStringLiteral("the container of sandbox %1 stopped").arg(id())});
        else if (state() == SandboxState::Starting || state() == SandboxState::Running)
            lost(Error{ErrorCode::Io, QStringLiteral("the container of sandbox %1 stopped").arg(id())});
        return;
    }
    if (action == QLatin1String("destroy") && !m_stopping
        && (state() == SandboxState::Starting || state() == SandboxState::Running)) {
        lost(containerGone(id()));
    }
}

void DockerSandbox::stop(int graceMs)
{
    if (state() == SandboxState::Stopped || state() == SandboxState::Destroyed || state() == SandboxState::Failed)
        return;
    m_stopping = true;
    m_startDeadline->stop();
    m_listener->close();
    disconnectShim();
    closeRemoteStream();
    setState(SandboxState::Stopping, m_stopReason);
    if (m_containerId.isEmpty()) {
        if (!m_creating)
            setState(SandboxState::Stopped);
        return; // the create answer sees m_stopping
    }
    const int seconds = graceMs < 0 ? 3 : std::max(1, (graceMs + 999) / 1000);
    airlock::then(client()->stopContainer(m_containerId, seconds), this, [this](const Result<void> &stopped) {
        if (state() != SandboxState::Stopping)
            return;
        if (!stopped) {
            setState(SandboxState::Failed, stopped.error().message);
            return;
        }
        const QString kept = m_autoRemove ? QStringLiteral("Docker removed its container") : QStringLiteral("its container is kept");
        const auto stopped_ = [this, kept](const QString &copyProblem) {
            QString message = m_stopReason.isEmpty() ? QStringLiteral("stopped; ") + kept
                                                     : QStringLiteral("stopped: %1; %2").arg(m_stopReason, kept);
            if (!copyProblem.isEmpty())
                message += QStringLiteral("; ") + copyProblem;
            setState(SandboxState::Stopped, message);
            m_backend->recordFor(this, sandbox::events::SandboxStopped, eventPayload());
        };
        if (!m_remote) {
            stopped_({});
            return;
        }
        // Its workspace is a copy on the daemon: bring it back before saying it stopped.
        airlock::then(pullWorkspace(), this, [stopped_](const Result<void> &pulled) {
            stopped_(pulled ? QString() : pulled.error().message);
        });
    });
}

void DockerSandbox::stopBecause(const QString &reason)
{
    m_stopReason = reason;
    stop();
}

void DockerSandbox::destroy()
{
    if (state() == SandboxState::Destroyed || m_destroyRequested)
        return;
    m_destroyRequested = true;
    m_stopping = true;
    m_startDeadline->stop();
    m_listener->close();
    const bool running = state() == SandboxState::Running;
    if (state() == SandboxState::Starting || running)
        setState(SandboxState::Stopping);
    if (running && m_autoRemove && shim() && shim()->isReady() && !m_containerId.isEmpty()) {
        // A container whose first process exits is cheaper for the daemon to tear down than one it
        // must kill: ask the shim to leave, and let AutoRemove do the rest while we wait for it.
        auto removed = client()->waitContainer(m_containerId, QStringLiteral("removed"));
        shim()->shutdown(0);
        auto *guard = new QTimer(this);
        guard->setSingleShot(true);
        connect(guard, &QTimer::timeout, this, [this] {
            disconnectShim();
            finishDestroy(); // the shim did not go: force it
        });
        guard->start(5000);
        m_clock.start();
        airlock::then(removed, this, [this, guard](const Result<qint64> &gone) {
            qCDebug(lcDocker) << id() << "left after" << m_clock.elapsed() << "ms"
                              << (gone ? QString() : gone.error().message);
            if (!guard->isActive())
                return;
            guard->stop();
            disconnectShim();
            if (gone) {
                m_removed = true; // the daemon removed it: nothing left to delete
                finishDestroy();
                return;
            }
            finishDestroy(); // the wait failed: delete it (a 404 is fine)
        });
        return;
    }
    disconnectShim();
    if (m_creating)
        return; // the create answer finishes it
    finishDestroy();
}

void DockerSandbox::finishDestroy()
{
    const auto cleanUp = [this] {
        // On a remote daemon the workspace comes back first, then its copies go.
        releaseRemote(m_announced || !m_launched, [this] {
            if (!m_controlDir.isEmpty())
                DockerBackend::removeHostSide(m_controlDir);
            setState(SandboxState::Destroyed);
            m_backend->recordFor(this, sandbox::events::SandboxDestroyed, eventPayload());
            m_backend->forget(this);
        });
    };
    if (m_containerId.isEmpty() || m_removed) {
        cleanUp();
        return;
    }
    m_clock.start();
    airlock::then(client()->removeContainer(m_containerId, true), this, [this, cleanUp](const Result<void> &removed) {
        qCDebug(lcDocker) << id() << "removed after" << m_clock.elapsed() << "ms";
        if (!removed) {
            m_destroyRequested = false;
            setState(SandboxState::Failed, QStringLiteral("could not remove the container of sandbox %1: %2. Try again, or "
                                                          "run 'airlockctl docker reconcile' once the daemon is back.")
                                               .arg(id(), removed.error().message));
            return;
        }
        cleanUp();
    });
}



} // namespace airlock::docker
