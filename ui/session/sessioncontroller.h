#pragma once

#include "error.h"
#include "session/sessionrunner.h"

#include <QHash>
#include <QObject>
#include <QPointer>

#include <memory>

namespace airlock::sandbox {
class Backend;
class SandboxManager;
} // namespace airlock::sandbox

namespace airlock::workspace {
class CheckpointJobs;
}

namespace airlock::egress {
class EgressProxy;
class SandboxEgress;
}

namespace airlock::ui {

// The sessions this window runs: one SessionRunner each. It owns the sandbox manager (the local and
// Docker backends, which the Sandboxes dock shows) and the checkpoint jobs every session and the
// Checkpoints dock share. Sessions run by another process (airlockctl run) are only watched.
class SessionController : public QObject
{
    Q_OBJECT
public:
    SessionController(const QString &databasePath, store::EventStore *store, QObject *parent = nullptr);
    ~SessionController() override;

    // Starts a session; the first prompt, when given, is sent once the agent is ready.
    Result<QString> start(session::SessionConfig config, const QString &firstPrompt = {});
    // Runs a stored session again (a fork from a checkpoint, or one that ended) with its agent,
    // policy and workspace; its conversation so far goes to the agent with the prompt.
    Result<QString> resume(const QString &sessionId, const QString &prompt);
    session::SessionRunner *runner(const QString &sessionId) const;
    sandbox::SandboxManager *sandboxes() const { return m_sandboxes; }
    // Null without a store to write to.
    workspace::CheckpointJobs *checkpoints() const { return m_checkpoints.get(); }
    // The egress proxy every session of this window uses; null without a store.
    egress::EgressProxy *egress() const { return m_egress.get(); }

Q_SIGNALS:
    // The session's runner changed state (or appeared): prompt and cancel controls follow it.
    void runnerChanged(const QString &sessionId);
    void failed(const QString &sessionId, const airlock::Error &error);
    // A session's checkpoint is being taken (for the status bar); done == total when it is over.
    void checkpointProgress(const QString &sessionId, qint64 done, qint64 total, const QString &what);

private:
    Result<sandbox::Backend *> backendFor(const policy::Policy &policy);

    QString m_databasePath;
    store::EventStore *m_store;
    sandbox::SandboxManager *m_sandboxes;
    std::unique_ptr<workspace::CheckpointJobs> m_checkpoints;
    std::unique_ptr<egress::EgressProxy> m_egress;
    std::unique_ptr<egress::SandboxEgress> m_sandboxEgress;
    QHash<QString, QPointer<session::SessionRunner>> m_runners;
};

} // namespace airlock::ui
