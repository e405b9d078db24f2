#include "sessionrunner.h"
#include "futures.h"

#include "sandbox/backend.h"
#include "sessionowner.h"
#include "store/eventfeed.h"
#include "store/eventstore.h"
#include "store/paths.h"
#include "egress/egressproxy.h"
#include "requestedcall.h"
#include "toolrouter.h"
#include "workspace/checkpointjobs.h"
#include "workspace/sessionexport.h"

#include <QBuffer>
#include <QFutureWatcher>
#include <QJsonArray>
#include <QLoggingCategory>
#include <QRandomGenerator>
#include <QTimer>

#include <unistd.h>

Q_LOGGING_CATEGORY(lcSession, "airlock.session", QtWarningMsg)

namespace airlock::session {

namespace {
QString newSessionId()
{
    return QStringLiteral("s-%1").arg(QRandomGenerator::global()->generate64() & 0xffffffffffffULL, 12, 16, QLatin1Char('0'));
}

// agent.silent is recorded after this many seconds of silence in a turn, then every 5 s up to a
// minute and every 30 s after: a sign of life for the thread without an event every second.
constexpr qint64 kFirstSilenceReport = 5;
qint64 nextSilenceReport(qint64 seconds)
{
    return seconds < 60 ? (seconds / 5 + 1) * 5 : (seconds / 30 + 1) * 30;
}
} // namespace

SessionRunner::SessionRunner(SessionConfig config, store::EventStore *store, sandbox::Backend *backend, QObject *parent)
    : QObject(parent), m_config(std::move(config)), m_store(store), m_backend(backend),
      m_client(new agent::AcpClient(this)), m_router(new ToolRouter(this))
{
    if (m_config.id.isEmpty())
        m_config.id = newSessionId();
    if (const QString home = agentHome(); !home.isEmpty())
        m_config.setupNotes << tr("the agent's home is kept in %1 while this session exists (lifecycle %2), so a later run "
                                  "reopens the agent's own conversation")
                                   .arg(home, policy::nameOf(m_config.policy.lifecycle));
    m_client->setHandler(m_router);
    // A quarter second, precise: the silence shown and the limit are whole seconds, never one late.
    m_silenceTimer = new QTimer(this);
    m_silenceTimer->setTimerType(Qt::PreciseTimer);
    m_silenceTimer->setInterval(250);
    connect(m_silenceTimer, &QTimer::timeout, this, &SessionRunner::watchSilence);
    connect(m_client, &agent::AcpClient::sessionUpdate, this, &SessionRunner::onUpdate);
    connect(m_client, &agent::AcpClient::toolCallChanged, this, &SessionRunner::onToolCall);
    connect(m_client, &agent::AcpClient::agentStderr, this, &SessionRunner::agentLogLine);
    connect(m_client, &agent::AcpClient::updateRejected, this,
            [this](const QString &, const Error &error, const QJsonObject &raw) {
                record("agent.error", {{QStringLiteral("message"), error.message}, {QStringLiteral("detail"), raw}});
            });
    connect(m_client, &agent::AcpClient::protocolError, this, [this](const Error &error) {
        record("agent.error", {{QStringLiteral("message"), error.message}});
    });
    connect(m_client, &agent::AcpClient::disconnected, this, [this](const Error &reason) {
        if (m_stopping || m_state == State::Ended || m_state == State::Failed)
            return;
        fail(Error{reason.code, tr("the agent went away: %1").arg(reason.message)});
    });
    if (m_store) {
        // A full disk: the store keeps events in memory and retries, and the session shows as
        // blocked on it until the store writes again (the state events themselves land then).
        connect(m_store, &store::EventStore::writeFailed, this, [this](const Error &e) {
            if (!store::isNoSpace(e) || m_state != State::Running)
                return;
            m_blockedOnDisk = true;
            setState(State::Blocked, tr("disk full: %1").arg(e.message));
        });
        connect(m_store, &store::EventStore::writeResumed, this, [this] {
            if (std::exchange(m_blockedOnDisk, false) && m_state == State::Blocked && !m_router->hasOpenRequests())
                setState(State::Running);
        });
    }
    if (!m_config.databasePath.isEmpty()) {
        // Answers given in another process (the window, airlockctl) arrive through the store.
        m_answers = new store::EventFeed(m_config.databasePath, this);
        connect(m_answers, &store::EventFeed::approvalsChanged, m_router, &ToolRouter::answerFromStore);
        // A rewind (the window's, or airlockctl's) changes the host folder: a sandbox that works on a
        // copy of it (Docker on another machine) must have its copy made to match.
        connect(m_answers, &store::EventFeed::eventsAppended, this, [this](const QString &session, const QList<store::Event> &events) {
            const bool rewound = std::any_of(events.cbegin(), events.cend(), [](const store::Event &e) {
                return e.kind == QLatin1String(workspace::kinds::CheckpointRewound);
            });
            if (session != m_config.id || !rewound || !m_sandbox)
                return;
            airlock::then(m_sandbox->pushWorkspace(), this, [this](const Result<void> &pushed) {
                if (!pushed)
                    record("workspace.copy_failed", QJsonObject{{QStringLiteral("message"), pushed.error().message}});
            });
        });
        m_answers->follow(m_config.id, 0);
    }
}

SessionRunner::~SessionRunner()
{
    if (m_state != State::Ended && m_state != State::Failed && m_state != State::New)
        stop(tr("closed"));
}

QString SessionRunner::stateName(State state)
{
    switch (state) {
    case State::New: return QStringLiteral("new");
    case State::Starting: return QStringLiteral("starting");
    case State::Idle: return QStringLiteral("idle");
    case State::Running: return QStringLiteral("running");
    case State::Blocked: return QStringLiteral("blocked");
    case State::Failed: return QStringLiteral("failed");
    case State::Ended: return QStringLiteral("ended");
    }
    return {};
}

void SessionRunner::record(const char *kind, const QJsonObject &payload)
{
    if (!m_store)
        return;
    if (auto r = m_store->append(m_config.id, QString::fromLatin1(kind), payload); !r) {
        qCWarning(lcSession) << "cannot record" << kind << r.error().message;
        // The store holds events in memory while the disk is full; once even that is used up the
        // session cannot go on without losing its history, so it fails, loudly.
        if (store::isNoSpace(r.error()) && !m_storeRefused) {
            m_storeRefused = true;
            QMetaObject::invokeMethod(this, [this, e = r.error()] { fail(e); }, Qt::QueuedConnection);
        }
    }
}

void SessionRunner::setState(State state, const QString &reason)
{
    if (state == m_state)
        return;
    m_state = state;
    QJsonObject p{{QStringLiteral("state"), stateName(state)}};
    if (!reason.isEmpty())
        p.insert(QStringLiteral("reason"), reason);
    record(store::kinds::SessionState, p);
    Q_EMIT stateChanged(state);
}

void SessionRunner::fail(const Error &error)
{
    if (m_state == State::Failed || m_state == State::Ended)
        return;
    m_stopping = true;
    if (m_turnRunning)
        finishTurn(QStringLiteral("error"), error.message);
    m_router->cancelAll();
    m_router->killAllTerminals();
    m_client->stop();
    detachEgress();
    if (sandbox::Sandbox *box = m_sandbox.data())
        box->destroy();
    setState(State::Failed, error.message);
    Q_EMIT failed(error);
}

void SessionRunner::start()
{
    if (m_state != State::New)
        return;
    record(store::kinds::SessionCreated, {{QStringLiteral("title"), m_config.title},
                                          {QStringLiteral("agent"), m_config.agent.name},
                                          {QStringLiteral("policy"), m_config.policyName},
                                          {QStringLiteral("workspace"), m_config.workspace},
                                          {QStringLiteral("owner"), currentOwner()},
                                          {QStringLiteral("notes"), QJsonArray::fromStringList(m_config.setupNotes)}});
    setState(State::Starting);
    m_clock.start();
    if (m_config.policy.guardrails.maxIdleSeconds) {
        // The policy's silence limit takes over from the client's own, so it ends the session as a
        // guardrail (recorded, the sandbox stopped) rather than failing only the turn.
        agent::AcpClient::Options options = m_client->options();
        options.promptIdleTimeoutMs = 0;
        m_client->setOptions(options);
    }
    if (m_config.policy.guardrails.maxWallClockSeconds) {
        auto *timer = new QTimer(this); // the wall clock runs out even while the agent is silent
        timer->setInterval(1000);
        connect(timer, &QTimer::timeout, this, [this] {
            if (m_state == State::Idle || m_state == State::Running || m_state == State::Blocked)
                checkGuardrails();
        });
        timer->start();
    }
    if (m_answers)
        m_answers->start(150);
    sandbox::SandboxSpec spec;
    spec.policy = m_config.policy;
    spec.policyName = m_config.policyName;
    spec.workspace = m_config.workspace;
    spec.sessionId = m_config.id;
    spec.agentHome = agentHome();
    auto created = m_backend->create(spec);
    if (!created) {
        fail(created.error());
        return;
    }
    m_sandbox = *created;
    checkpoint(int(workspace::Cause::Start));
    connect(m_sandbox, &sandbox::Sandbox::stateChanged, this, [this](sandbox::SandboxState s) {
        if (s == sandbox::SandboxState::Running && m_state == State::Starting)
            startAgent();
        else if ((s == sandbox::SandboxState::Failed || s == sandbox::SandboxState::Stopped) && !m_stopping)
            fail(Error{ErrorCode::Io, tr("the sandbox stopped: %1").arg(m_sandbox ? m_sandbox->info().message : QString())});
    });
    if (sandbox::Sandbox *s = m_sandbox.data(); s && s->isRunning()) // a failed checkpoint may have ended it
        startAgent();
}

Result<void> SessionRunner::prompt(const QString &text)
{
    if (m_state != State::Idle)
        return airlock::fail(ErrorCode::InvalidArgument,
                             tr("the session is %1; a prompt needs it idle").arg(stateName(m_state)));
    const auto &g = m_config.policy.guardrails;
    if (g.maxTurns && m_turn >= *g.maxTurns) {
        trip(QStringLiteral("maxTurns"), double(*g.maxTurns), double(m_turn));
        return airlock::fail(ErrorCode::Cancelled, tr("the session reached its limit of %1 turns").arg(*g.maxTurns));
    }
    ++m_turn;
    agent::acp::ContentBlock block;
    block.type = agent::acp::ContentBlock::Type::Text;
    block.text = text;
    QList<agent::acp::ContentBlock> blocks{block};
    QJsonObject started{{QStringLiteral("turn"), m_turn},
                        {QStringLiteral("prompt"), QJsonArray{QJsonObject{{QStringLiteral("type"), QStringLiteral("text")},
                                                                          {QStringLiteral("text"), text}}}}};
    if (m_turn == 1 && !m_config.historyFrom.isEmpty() && !m_agentHasHistory) {
        auto history = conversationSoFar();
        if (!history)
            return std::unexpected(history.error());
        agent::acp::ContentBlock context;
        context.type = agent::acp::ContentBlock::Type::Text;
        context.text = *history;
        blocks.prepend(context);
        // The thread shows the user's words; the event says what else the agent was given.
        started.insert(QStringLiteral("context"), QJsonObject{{QStringLiteral("session"), m_config.historyFrom},
                                                             {QStringLiteral("uptoSeq"), m_config.historyUpToSeq},
                                                             {QStringLiteral("chars"), history->size()}});
    }
    record("turn.started", started);
    m_turnRunning = true;
    m_turnClock.start();
    m_nextSilenceReport = kFirstSilenceReport;
    m_silenceTimer->start();
    setState(State::Running);
    airlock::then(m_client->prompt(m_acpSession, blocks), this, [this](const Result<agent::acp::PromptResult> &r) {
        if (!m_turnRunning)
            return;
        if (!r) {
            // An agent that went away fails the session; one that answered with an error only the turn.
            if (!m_client->isConnected())
                fail(Error{r.error().code, tr("the agent went away: %1").arg(r.error().message)});
            else
                finishTurn(QStringLiteral("error"), r.error().message);
            return;
        }
        if (r->usage) {
            // PromptResult usage totals (when the agent reports them) count toward the token budget.
            m_tokens = std::max<qint64>(m_tokens, r->raw.value(QStringLiteral("usage")).toObject()
                                                      .value(QStringLiteral("totalTokens")).toInteger());
        }
        finishTurn(agent::acp::nameOf(r->stopReason));
        checkGuardrails();
    });
    return {};
}

Result<QString> SessionRunner::conversationSoFar() const
{
    if (m_store)
        (void)m_store->flush();
    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    workspace::TranscriptOptions options;
    options.diffs = false; // the workspace already holds the files as they were then
    options.uptoSeq = m_config.historyUpToSeq;
    if (auto r = workspace::exportSessionMarkdown(m_config.databasePath, m_config.historyFrom, &buffer, options); !r)
        return std::unexpected(Error{r.error().code, tr("cannot read the conversation to continue: %1").arg(r.error().message)});
    return tr("This session continues an earlier conversation, forked from a checkpoint; the workspace is as it "
              "was at that point. Here is the conversation so far, for context. Then comes the new request.\n\n")
        + QString::fromUtf8(buffer.data());
}

void SessionRunner::finishTurn(const QString &stopReason, const QString &message)
{
    m_turnRunning = false;
    m_silenceTimer->stop();
    QJsonObject p{{QStringLiteral("turn"), m_turn}, {QStringLiteral("stopReason"), stopReason}};
    if (!message.isEmpty())
        p.insert(QStringLiteral("message"), message);
    record("turn.ended", p);
    checkpoint(int(workspace::Cause::Turn));
    if (m_state == State::Running || m_state == State::Blocked)
        setState(State::Idle);
    Q_EMIT turnEnded(stopReason);
    // The agent ended the turn it was asked to cancel: the interrupted session ends now.
    if (isInterrupted() && !m_stopping)
        stop(m_interruptReason);
}

void SessionRunner::cancel()
{
    if (!m_turnRunning)
        return;
    m_router->cancelAll();
    m_client->cancel(m_acpSession);
}

void SessionRunner::stop(const QString &reason)
{
    if (m_state == State::Ended || m_state == State::Failed)
        return;
    m_stopping = true;
    if (m_turnRunning) {
        m_client->cancel(m_acpSession);
        finishTurn(QStringLiteral("cancelled"), reason);
    }
    m_router->cancelAll();
    m_router->killAllTerminals();
    m_client->stop();
    detachEgress();
    if (sandbox::Sandbox *box = m_sandbox.data()) {
        if (m_config.policy.lifecycle == policy::Lifecycle::Persistent)
            box->stop();
        else
            box->destroy();
    }
    setState(State::Ended, reason);
    Q_EMIT ended(reason);
}

void SessionRunner::interrupt(const QString &reason, int graceMs)
{
    if (m_state == State::New || m_state == State::Ended || m_state == State::Failed)
        return;
    const bool again = isInterrupted();
    if (!again)
        m_interruptReason = reason;
    record("session.interrupted", {{QStringLiteral("reason"), reason},
                                   {QStringLiteral("turn"), m_turnRunning ? m_turn : 0},
                                   {QStringLiteral("forced"), again}});
    if (again || !m_turnRunning) {
        stop(m_interruptReason);
        return;
    }
    cancel();
    QTimer::singleShot(std::max(0, graceMs), this, [this] { stop(m_interruptReason); });
}

QList<policy::ApprovalRule> SessionRunner::sessionRules() const
{
    return m_router->sessionRules();
}

bool SessionRunner::removeSessionRule(int index, const QString &by)
{
    return m_router->removeSessionRule(index, by);
}

void SessionRunner::answer(const QString &request, const QString &optionId, const QString &by)
{
    m_router->answer(request, optionId, by);
}

void SessionRunner::onUpdate(const agent::acp::SessionUpdate &update)
{
    if (m_loading)
        return; // session/load replaying what the store already holds
    record("agent.update", {{QStringLiteral("update"), update.raw}});
    if (update.kind == agent::acp::SessionUpdate::Kind::Usage) {
        const QJsonObject u = update.raw;
        m_tokens = std::max<qint64>(m_tokens, u.value(QStringLiteral("used")).toInteger());
        const QJsonObject cost = u.value(QStringLiteral("cost")).toObject();
        if (cost.contains(QStringLiteral("amount")))
            m_cost = cost.value(QStringLiteral("amount")).toDouble();
        checkGuardrails();
    }
}

void SessionRunner::onToolCall(const QString &, const agent::acp::ToolCall &call, bool created)
{
    if (m_loading)
        return; // a replayed call: counted and checkpointed when it ran
    using agent::acp::ToolKind;
    if (created) {
        ++m_toolCalls;
        checkGuardrails();
    }
    // An agent on the host that runs a mutating tool of its own, never asking Airlock to read, write
    // or run anything, did it outside the sandbox: say so in the thread.
    const bool changesFiles = call.kind == ToolKind::Edit || call.kind == ToolKind::Delete
        || call.kind == ToolKind::Move || call.kind == ToolKind::Execute;
    const bool finished = call.status == agent::acp::ToolStatus::Completed || call.status == agent::acp::ToolStatus::Failed;
    if (changesFiles && finished && !m_checkpointedCalls.contains(call.id)) {
        m_checkpointedCalls.insert(call.id);
        checkpoint(int(workspace::Cause::ToolCall), call.id);
    }
    const bool mutating = changesFiles || call.kind == ToolKind::Fetch;
    if (m_config.agent.placement != agent::Placement::Host || !mutating)
        return;
    if (created)
        m_routedAtStart.insert(call.id, m_router->routedCount());
    const bool done = call.status == agent::acp::ToolStatus::Completed || call.status == agent::acp::ToolStatus::Failed;
    if (done && m_routedAtStart.contains(call.id)) {
        // A call refused permission never ran, whatever status the agent gives it after.
        const bool refused = call.status == agent::acp::ToolStatus::Failed && m_router->wasRefused(call.id);
        if (m_router->routedCount() == m_routedAtStart.take(call.id) && !refused) {
            // Named by what it ran, as the thread shows it: the command, else the title.
            const RequestedCall requested = readRequestedCall(call, m_config.workspace);
            QJsonObject p{{QStringLiteral("toolCallId"), call.id}, {QStringLiteral("kind"), agent::acp::nameOf(call.kind)},
                          {QStringLiteral("title"), call.title}};
            if (!requested.call.command.isEmpty())
                p.insert(QStringLiteral("command"), requested.call.command);
            record("tool.outside", p);
        }
    }
}

bool SessionRunner::checkGuardrails()
{
    const auto &g = m_config.policy.guardrails;
    if (g.maxToolCalls && m_toolCalls > *g.maxToolCalls)
        trip(QStringLiteral("maxToolCalls"), double(*g.maxToolCalls), m_toolCalls);
    else if (g.maxTokens && m_tokens > *g.maxTokens)
        trip(QStringLiteral("maxTokens"), double(*g.maxTokens), double(m_tokens));
    else if (g.maxCostUsd && m_cost > *g.maxCostUsd)
        trip(QStringLiteral("maxCostUsd"), *g.maxCostUsd, m_cost);
    else if (g.maxWallClockSeconds && m_clock.isValid() && m_clock.elapsed() / 1000 > *g.maxWallClockSeconds)
        trip(QStringLiteral("maxWallClockSeconds"), double(*g.maxWallClockSeconds), double(m_clock.elapsed() / 1000));
    else
        return false;
    return true;
}

void SessionRunner::trip(const QString &which, double limit, double value)
{
    record("guardrail.tripped", {{QStringLiteral("guardrail"), which}, {QStringLiteral("limit"), limit}, {QStringLiteral("value"), value}});
    if (which == QLatin1String("maxIdleSeconds"))
        stop(tr("guardrail %1 reached: the agent was silent for %2 s").arg(which).arg(qint64(value)));
    else
        stop(tr("guardrail %1 reached").arg(which));
}

void SessionRunner::watchSilence()
{
    if (!m_turnRunning || m_state != State::Running) {
        m_nextSilenceReport = kFirstSilenceReport;
        return;
    }
    // Silence counts from the prompt or the agent's last message, whichever is later; a request of
    // the agent's that waits for an answer (a permission, a command) is not silence.
    const qint64 quietMs = std::min(m_client->connection().silentForMs(), m_turnClock.elapsed());
    const qint64 quiet = quietMs / 1000;
    if (quiet < kFirstSilenceReport)
        m_nextSilenceReport = kFirstSilenceReport;
    const std::optional<qint64> limit = m_config.policy.guardrails.maxIdleSeconds;
    if (limit && quietMs >= *limit * 1000) {
        trip(QStringLiteral("maxIdleSeconds"), double(*limit), double(quiet));
        return;
    }
    if (quiet >= m_nextSilenceReport) {
        QJsonObject p{{QStringLiteral("seconds"), quiet}, {QStringLiteral("turn"), m_turn}};
        if (limit)
            p.insert(QStringLiteral("limit"), *limit);
        record("agent.silent", p);
        m_nextSilenceReport = nextSilenceReport(quiet);
    }
}

void SessionRunner::checkpoint(int cause, const QString &toolCallId)
{
    if (!m_checkpoints)
        return;
    workspace::CheckpointRequest req(m_config.id, workspace::Cause(cause));
    req.turn = m_turn;
    req.toolCallId = toolCallId;
    req.workspace = m_config.workspace;
    req.allowEmpty = cause == int(workspace::Cause::Start); // the history starts with the workspace as it was
    ++m_pendingCheckpoints;
    // A sandbox that works on a copy of the workspace (Docker on another machine) brings it back
    // first, so the snapshot holds what the agent did; a copy that fails is said in the history. The
    // others have nothing to bring, and their snapshot is taken at once, as before.
    if (m_sandbox) {
        const QFuture<Result<void>> pulling = m_sandbox->pullWorkspace();
        const auto pulled = [this, req](const Result<void> &r) {
            if (!r)
                record("workspace.copy_failed", QJsonObject{{QStringLiteral("message"), r.error().message}});
            snapshot(req);
        };
        if (pulling.isFinished() && pulling.resultCount() > 0) {
            pulled(pulling.result());
            return;
        }
        airlock::then(pulling, this, pulled);
        return;
    }
    snapshot(req);
}

void SessionRunner::snapshot(const workspace::CheckpointRequest &req)
{
    // A snapshot that fails records checkpoint.failed itself, so the history shows the gap.
    const auto job = m_checkpoints->create(req);
    auto *watcher = new QFutureWatcher<Result<workspace::CheckpointOutcome>>(this);
    connect(watcher, &QFutureWatcherBase::progressValueChanged, this, [this, watcher](int value) {
        Q_EMIT checkpointProgress(value, watcher->progressMaximum(), watcher->progressText());
    });
    connect(watcher, &QFutureWatcherBase::finished, watcher, &QObject::deleteLater);
    watcher->setFuture(job.future());
    airlock::then(job.future(), this, [this](const Result<workspace::CheckpointOutcome> &) {
        if (--m_pendingCheckpoints == 0)
            Q_EMIT checkpointsIdle();
    });
}

} // namespace airlock::session
