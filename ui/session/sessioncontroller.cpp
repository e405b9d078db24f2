#include "sessioncontroller.h"

#include "docker/dockerbackend.h"
#include "egress/egressproxy.h"
#include "egress/sandboxegress.h"
#include "sandbox/localbackend.h"
#include "sandbox/sandboxmanager.h"
#include "session/continuation.h"
#include "session/sessionowner.h"
#include "store/storereader.h"
#include "workspace/checkpointjobs.h"

namespace airlock::ui {

SessionController::SessionController(const QString &databasePath, store::EventStore *store, QObject *parent)
    : QObject(parent), m_databasePath(databasePath), m_store(store), m_sandboxes(new sandbox::SandboxManager(this))
{
    // Both backends exist from the start, so sandboxes left by an earlier run (or airlockctl) are
    // listed; neither touches its daemon or bubblewrap until asked to.
    for (sandbox::Backend *backend : {static_cast<sandbox::Backend *>(new sandbox::LocalBackend),
                                      static_cast<sandbox::Backend *>(new docker::DockerBackend)}) {
        backend->setEventStore(m_store);
        m_sandboxes->addBackend(backend);
    }
    if (m_store) {
        m_checkpoints = std::make_unique<workspace::CheckpointJobs>(*m_store);
        egress::ProxyOptions proxyOptions;
        proxyOptions.store = m_store;
        m_egress = std::make_unique<egress::EgressProxy>(proxyOptions);
        // Every sandbox gets its policy's network, whoever starts it: a session, the exec console, a
        // persistent one left by airlockctl.
        m_sandboxEgress = std::make_unique<egress::SandboxEgress>(m_egress.get());
        for (sandbox::Backend *backend : m_sandboxes->backends())
            m_sandboxEgress->watch(backend);
        // Sessions whose process died (a crash, a kill, a reboot) are marked failed, not left running.
        if (auto reader = store::StoreReader::open(m_databasePath))
            (void)session::reconcileOrphans(*reader, *m_store);
    }
}

SessionController::~SessionController()
{
    blockSignals(true); // whoever listens is being destroyed too
    for (auto &runner : m_runners)
        if (runner)
            runner->stop(tr("Airlock closed"));
    qDeleteAll(m_runners.values()); // before the backends their sandboxes belong to
    m_runners.clear();
    m_checkpoints.reset(); // waits for a snapshot still being taken
    m_sandboxEgress.reset();
    m_egress.reset();
}

Result<sandbox::Backend *> SessionController::backendFor(const policy::Policy &policy)
{
    const QString name = policy.runtime.backend == policy::Backend::Docker ? QStringLiteral("docker") : QStringLiteral("local");
    sandbox::Backend *backend = m_sandboxes->backend(name);
    if (!backend)
        return fail(ErrorCode::Io, tr("no %1 backend").arg(name));
    if (auto why = backend->unavailableReason())
        return fail(ErrorCode::Io, tr("the %1 backend cannot run here: %2").arg(name, *why));
    return backend;
}

Result<QString> SessionController::start(session::SessionConfig config, const QString &firstPrompt)
{
    if (!m_store)
        return fail(ErrorCode::Io, tr("no database is open for writing"));
    auto backend = backendFor(config.policy);
    if (!backend)
        return std::unexpected(backend.error());
    config.databasePath = m_databasePath;
    auto *runner = new session::SessionRunner(std::move(config), m_store, *backend, this);
    const QString id = runner->id();
    m_runners.insert(id, runner);
    runner->setCheckpoints(m_checkpoints.get());
    runner->setEgress(m_sandboxEgress.get());
    connect(runner, &session::SessionRunner::stateChanged, this, [this, id] { Q_EMIT runnerChanged(id); });
    connect(runner, &session::SessionRunner::failed, this, [this, id](const Error &e) { Q_EMIT failed(id, e); });
    connect(runner, &session::SessionRunner::checkpointProgress, this,
            [this, id](qint64 done, qint64 total, const QString &what) { Q_EMIT checkpointProgress(id, done, total, what); });
    connect(runner, &session::SessionRunner::checkpointsIdle, this, [this, id] { Q_EMIT checkpointProgress(id, 1, 1, QString()); });
    if (!firstPrompt.isEmpty()) {
        connect(runner, &session::SessionRunner::ready, this, [runner, firstPrompt] { (void)runner->prompt(firstPrompt); },
                Qt::SingleShotConnection);
    }
    runner->start();
    Q_EMIT runnerChanged(id);
    return id;
}

Result<QString> SessionController::resume(const QString &sessionId, const QString &prompt)
{
    if (auto *live = runner(sessionId); live && live->state() != session::SessionRunner::State::Ended
        && live->state() != session::SessionRunner::State::Failed)
        return fail(ErrorCode::InvalidArgument, tr("session %1 is already running here").arg(sessionId));
    auto reader = store::StoreReader::open(m_databasePath);
    if (!reader)
        return std::unexpected(reader.error());
    auto config = session::continuationOf(*reader, sessionId);
    if (!config)
        return std::unexpected(config.error());
    if (auto resolved = session::resolveAgentAndPolicy(*reader, m_databasePath, *config); !resolved)
        return std::unexpected(resolved.error());
    if (QPointer<session::SessionRunner> old = m_runners.take(sessionId))
        old->deleteLater();
    return start(*config, prompt);
}

session::SessionRunner *SessionController::runner(const QString &sessionId) const
{
    return m_runners.value(sessionId);
}

} // namespace airlock::ui
