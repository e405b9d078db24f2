#pragma once

#include "agent/acpclient.h"
#include "agent/agentcatalogue.h"
#include "error.h"
#include "policy/policy.h"
#include "sandbox/backend.h"

#include <QElapsedTimer>
#include <QObject>
#include <QPointer>
#include <QSet>

class QTimer;

namespace airlock::store {
class EventFeed;
class EventStore;
} // namespace airlock::store

namespace airlock::workspace {
class CheckpointJobs;
struct CheckpointRequest;
}

namespace airlock::egress {
class SandboxEgress;
struct EgressRecord;
}


namespace airlock::session {

class ToolRouter;

struct SessionConfig {
    QString id;            // empty: a new id
    QString title;
    agent::AgentProfile agent;
    QString policyName;
    policy::Policy policy;
    QString workspace;     // host folder, absolute
    QString databasePath;  // where answers from other processes are read
    // A fork continues another session's conversation: the first prompt carries that session's
    // transcript up to this event, so any agent (with or without session/load) picks it up.
    QString historyFrom;
    qint64 historyUpToSeq = 0;
    // Resuming: the agent's own session to reopen with session/load when the agent offers it (its
    // history then comes from the agent, and historyFrom is only the fallback).
    QString loadAcpSession;
    // The agent's model: another endpoint than its default (a gateway, a test server) and a CA for it.
    QString modelEndpoint;
    QString upstreamCaFile;
    // Set by resolveAgentAndPolicy for a sandboxed agent: its variables (placeholder key, base URL).
    QStringList agentEnv;
    // What fitting the policy to the agent changed (agentaccess.h), recorded with session.created.
    QStringList setupNotes;
};

// One session: a sandbox, an agent speaking ACP, the approvals gate and the guardrails. Every step
// is an event in the store (docs/session-events.md); this object only drives, the store remembers.
class SessionRunner : public QObject
{
    Q_OBJECT
public:
    enum class State { New, Starting, Idle, Running, Blocked, Failed, Ended };

    SessionRunner(SessionConfig config, store::EventStore *store, sandbox::Backend *backend, QObject *parent = nullptr);
    ~SessionRunner() override;

    const QString &id() const { return m_config.id; }
    State state() const { return m_state; }
    // What setting the session up changed or decided, for the user (also in session.created).
    const QStringList &setupNotes() const { return m_config.setupNotes; }
    static QString stateName(State state);

    // Creates the sandbox, starts the agent per placement and opens an ACP session; ready() or failed().
    void start();
    // One turn; turnEnded() follows. Refused while a turn runs or after the session ended.
    Result<void> prompt(const QString &text);
    void cancel();
    // Ends the agent and the sandbox (kept when persistent); state Ended with the reason.
    void stop(const QString &reason);
    // Ends the session on the user's behalf (Ctrl-C, SIGTERM): records why (session.interrupted),
    // asks the agent to cancel a running turn and gives it graceMs to end it, then stops with the
    // reason. A second call, or one with no turn running, stops at once.
    void interrupt(const QString &reason, int graceMs = 2000);
    bool isInterrupted() const { return !m_interruptReason.isEmpty(); }
    // stop() or fail() is under way (a turn it cancels still reports turnEnded first).
    bool isStopping() const { return m_stopping; }
    // Answers an open approval of this session (the store path is used too; both are fine).
    void answer(const QString &request, const QString &optionId, const QString &by = QStringLiteral("user"));

    // Where checkpoints are taken (not owned; may be null for none): one when the session starts,
    // after every tool call that may change files (edit, delete, move, execute) and after every turn.
    // They run off this thread; checkpointsIdle() says when none is outstanding.
    void setCheckpoints(workspace::CheckpointJobs *jobs) { m_checkpoints = jobs; }
    int pendingCheckpoints() const { return m_pendingCheckpoints; }
    // The sandbox layer's egress (not owned) that serves the sandbox when its policy's network mode is
    // proxy: attached before the agent starts (so its first request finds the proxy) and detached
    // when the session ends. Its proxy's failures on the model's route are said as model.failed.
    // Without one, a proxy-mode sandbox reaches nothing.
    void setEgress(egress::SandboxEgress *egress) { m_egress = egress; }

    // Rules made by "always" answers in this session (newest first), and taking one back.
    QList<policy::ApprovalRule> sessionRules() const;
    bool removeSessionRule(int index, const QString &by = QStringLiteral("user"));

    agent::AcpClient *client() const { return m_client; }
    // The last lines of the agent's stderr (agent.log), for saying why it stopped.
    QString agentLogTail() const;
    sandbox::Sandbox *sandbox() const { return m_sandbox; }

Q_SIGNALS:
    void ready();
    void stateChanged(airlock::session::SessionRunner::State state);
    void turnEnded(const QString &stopReason);
    void failed(const airlock::Error &error);
    void ended(const QString &reason);
    void checkpointsIdle();
    // A checkpoint being taken reports how far it is (files looked at; total 0 while unknown).
    void checkpointProgress(qint64 done, qint64 total, const QString &what);

private:
    friend class ToolRouter;
    void record(const char *kind, const QJsonObject &payload);
    void modelExchange(const airlock::egress::EgressRecord &exchange);
    void setState(State state, const QString &reason = {});
    void fail(const Error &error);
    void startAgent();
    bool attachEgress();
    void detachEgress();
    void startAgentInSandbox();
    QString agentHome() const; // the kept home (keptAgentHome) when this session gets one, else empty
    void openAcpSession();
    void openOrLoadAcpSession();
    void newAcpSession();
    void acpSessionOpened(const QString &acpSession, bool loaded);
    void onUpdate(const agent::acp::SessionUpdate &update);
    void onToolCall(const QString &sessionId, const agent::acp::ToolCall &call, bool created);
    void finishTurn(const QString &stopReason, const QString &message = {});
    Result<QString> conversationSoFar() const;
    // Checks the policy's guardrails; when one is crossed, records it, cancels and stops.
    bool checkGuardrails();
    void trip(const QString &which, double limit, double value);
    // Four times a second during a turn: records agent.silent while the agent says nothing, and trips
    // maxIdleSeconds when the policy sets it.
    void watchSilence();
    void checkpoint(int cause, const QString &toolCallId = {});
    void snapshot(const workspace::CheckpointRequest &request);
    // The agent's stderr, line by line, as agent.log events (capped per session; see kAgentLogCap).
    void agentLog(const QByteArray &chunk);
    void agentLogLine(const QString &line);

    SessionConfig m_config;
    store::EventStore *m_store;
    sandbox::Backend *m_backend;
    QPointer<sandbox::Sandbox> m_sandbox;
    QPointer<sandbox::SandboxProcess> m_agentProcess; // when the agent runs in the sandbox
    agent::AcpClient *m_client;
    ToolRouter *m_router;
    store::EventFeed *m_answers = nullptr;
    workspace::CheckpointJobs *m_checkpoints = nullptr;
    egress::SandboxEgress *m_egress = nullptr;
    int m_pendingCheckpoints = 0;
    QSet<QString> m_checkpointedCalls;
    State m_state = State::New;
    QString m_acpSession;
    int m_turn = 0;
    int m_toolCalls = 0;
    qint64 m_tokens = 0;
    double m_cost = 0;
    QElapsedTimer m_clock;
    QElapsedTimer m_turnClock;
    QElapsedTimer m_modelFailureClock;
    QString m_lastModelFailure;
    int m_modelFailures = 0;
    QTimer *m_silenceTimer = nullptr;
    qint64 m_nextSilenceReport = 0; // seconds of silence at which agent.silent is next recorded
    QString m_interruptReason;
    QHash<QString, quint64> m_routedAtStart; // tool call id -> routed requests when it began
    bool m_turnRunning = false;
    bool m_loadable = false;
    bool m_loading = false;         // session/load replays history: not recorded again
    bool m_agentHasHistory = false; // the agent reopened its session: no transcript needed
    bool m_stopping = false;
    bool m_storeRefused = false;    // the store refused an event for want of space: failing
    bool m_blockedOnDisk = false;   // blocked because the store cannot write (a full disk)
    QByteArray m_agentLogLine;      // a sandboxed agent's stderr line not yet ended
    qint64 m_agentLogBytes = 0;     // stored so far
    QStringList m_agentLogTail;     // the last few lines
};

} // namespace airlock::session
