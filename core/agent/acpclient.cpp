#include "acpclient.h"

#include "acpparse.h"

#include <QLoggingCategory>
#include <QPromise>

Q_LOGGING_CATEGORY(lcAcp, "airlock.agent.acp", QtWarningMsg)

namespace airlock::agent {

using namespace acp;

AcpClient::AcpClient(QObject *parent) : QObject(parent), m_rpc(new JsonRpcConnection(this))
{
    registerHandlers();
    connect(m_rpc, &JsonRpcConnection::protocolError, this, &AcpClient::protocolError);
    connect(m_rpc, &JsonRpcConnection::closed, this, [this](const Error &reason) {
        for (const auto &s : std::as_const(m_sessions))
            s->prompting = false;
        // Closed on our side (a protocol breach, stop()): an agent left running would talk to no one.
        if (m_process && m_process->isRunning())
            m_process->stop(2000);
        Q_EMIT disconnected(reason);
    });
}

AcpClient::~AcpClient()
{
    // The process (a child) goes down with us; make sure it cannot call into a dying connection.
    if (m_process)
        disconnect(m_process, nullptr, this, nullptr);
}

void AcpClient::start(const AgentLaunch &launch)
{
    if (!m_process) {
        m_process = new AgentProcess(this);
        connect(m_process, &AgentProcess::stderrLine, this, &AcpClient::agentStderr);
    }
    m_process->start(launch, m_rpc);
}

void AcpClient::stop(int graceMs)
{
    if (m_process && m_process->isRunning())
        m_process->stop(graceMs);
    else
        m_rpc->close(Error{ErrorCode::Cancelled, QStringLiteral("the connection to the agent was closed")});
}

template<typename T>
QFuture<Result<T>> AcpClient::request(const QString &method, const QJsonObject &params, int timeoutMs, bool idle,
                                      std::function<Result<T>(const QJsonValue &)> read,
                                      std::function<void(const RpcResult &)> always)
{
    // The callbacks may use `this`: the connection is our child and never calls back once destroyed.
    auto promise = std::make_shared<QPromise<Result<T>>>();
    promise->start();
    QFuture<Result<T>> future = promise->future();
    const QString peer = m_rpc->peerName();
    m_rpc->call(method, params,
                [promise, method, peer, read = std::move(read), always = std::move(always)](const RpcResult &r) {
                    if (always)
                        always(r);
                    if (!r) {
                        promise->addResult(Result<T>(std::unexpected(r.error().toError(method, peer))));
                    } else {
                        Result<T> value = read(*r);
                        if (!value)
                            value = std::unexpected(Error{value.error().code,
                                                          QStringLiteral("%1 answered %2 with something Airlock "
                                                                         "cannot read: %3")
                                                              .arg(peer, method, value.error().message)});
                        promise->addResult(std::move(value));
                    }
                    promise->finish();
                },
                JsonRpcConnection::CallOptions{timeoutMs, idle});
    return future;
}

QFuture<Result<InitializeResult>> AcpClient::initialize()
{
    const QJsonObject params{
        {QStringLiteral("protocolVersion"), ProtocolVersion},
        {QStringLiteral("clientCapabilities"), m_options.capabilities.toJson()},
        {QStringLiteral("clientInfo"), QJsonObject{{QStringLiteral("name"), m_options.clientInfo.name},
                                                   {QStringLiteral("title"), m_options.clientInfo.title},
                                                   {QStringLiteral("version"), m_options.clientInfo.version}}},
    };
    return request<InitializeResult>(
        QStringLiteral("initialize"), params, m_options.initializeTimeoutMs, false,
        [this](const QJsonValue &v) -> Result<InitializeResult> {
            auto r = parseInitializeResult(v);
            if (!r)
                return r;
            // The agent answers with the version it will speak; anything but ours cannot work.
            if (r->protocolVersion != ProtocolVersion)
                return fail(ErrorCode::InvalidArgument,
                            QStringLiteral("the agent speaks ACP version %1; Airlock speaks version %2. Update "
                                           "the agent or Airlock.")
                                .arg(r->protocolVersion)
                                .arg(ProtocolVersion));
            m_agent = *r;
            return r;
        });
}

QFuture<Result<void>> AcpClient::authenticate(const QString &methodId)
{
    return request<void>(QStringLiteral("authenticate"), QJsonObject{{QStringLiteral("methodId"), methodId}},
                         m_options.requestTimeoutMs, false, [](const QJsonValue &) -> Result<void> { return {}; });
}

QFuture<Result<SessionSetup>> AcpClient::newSession(const QString &cwd, const QJsonArray &mcpServers)
{
    ++m_sessionsOpening;
    return request<SessionSetup>(
        QStringLiteral("session/new"), QJsonObject{{QStringLiteral("cwd"), cwd}, {QStringLiteral("mcpServers"), mcpServers}},
        m_options.requestTimeoutMs, false,
        [this](const QJsonValue &v) -> Result<SessionSetup> {
            auto r = parseSessionSetup(v);
            if (r)
                sessionFor(r->sessionId).state.applySetup(*r);
            return r;
        },
        [this](const RpcResult &) { --m_sessionsOpening; });
}

QFuture<Result<SessionSetup>> AcpClient::loadSession(const QString &sessionId, const QString &cwd,
                                                     const QJsonArray &mcpServers)
{
    if (m_agent && !m_agent->capabilities.loadSession) {
        QPromise<Result<SessionSetup>> p;
        p.start();
        p.addResult(Result<SessionSetup>(std::unexpected(Error{
            ErrorCode::InvalidArgument,
            QStringLiteral("this agent cannot load earlier sessions (it does not offer session/load)")})));
        p.finish();
        return p.future();
    }
    // Known from now on: the history replay arrives before the answer.
    sessionFor(sessionId);
    return request<SessionSetup>(
        QStringLiteral("session/load"),
        QJsonObject{{QStringLiteral("sessionId"), sessionId}, {QStringLiteral("cwd"), cwd},
                    {QStringLiteral("mcpServers"), mcpServers}},
        m_options.requestTimeoutMs, true, [this, sessionId](const QJsonValue &v) -> Result<SessionSetup> {
            auto r = parseSessionSetup(v, sessionId);
            if (r)
                sessionFor(sessionId).state.applySetup(*r);
            return r;
        });
}

QFuture<Result<PromptResult>> AcpClient::prompt(const QString &sessionId, const QList<ContentBlock> &prompt)
{
    auto refuse = [](const QString &why) {
        QPromise<Result<PromptResult>> p;
        p.start();
        p.addResult(Result<PromptResult>(std::unexpected(Error{ErrorCode::InvalidArgument, why})));
        p.finish();
        return p.future();
    };
    if (!sessionKnown(sessionId))
        return refuse(QStringLiteral("there is no session %1 with this agent").arg(sessionId));
    Session &s = sessionFor(sessionId);
    if (s.prompting)
        return refuse(QStringLiteral("a turn is already running in session %1; wait for it or cancel it").arg(sessionId));
    if (prompt.isEmpty())
        return refuse(QStringLiteral("a prompt needs some content"));
    QJsonArray blocks;
    for (const ContentBlock &b : prompt)
        blocks.append(b.toJson());
    s.prompting = true;
    return request<PromptResult>(
        QStringLiteral("session/prompt"),
        QJsonObject{{QStringLiteral("sessionId"), sessionId}, {QStringLiteral("prompt"), blocks}},
        m_options.promptIdleTimeoutMs, true, [](const QJsonValue &v) { return parsePromptResult(v); },
        [this, sessionId](const RpcResult &r) {
            if (auto it = m_sessions.constFind(sessionId); it != m_sessions.constEnd())
                (*it)->prompting = false;
            // A silent agent may still be working; ask it to stop the turn we gave up on.
            if (!r && r.error().local && r.error().code == rpc::TimedOut)
                cancel(sessionId);
        });
}

void AcpClient::cancel(const QString &sessionId)
{
    auto it = m_sessions.constFind(sessionId);
    if (it == m_sessions.constEnd())
        return;
    // Withdraw pending permission requests first, so the agent sees "cancelled" before it stops.
    const auto permissions = std::exchange((*it)->permissions, {});
    for (const auto &weak : permissions) {
        auto state = weak.lock();
        if (!state || !state->responder.isPending() || state->cancelled)
            continue;
        state->responder.respond(PermissionOutcome::cancel().toJson());
        AcpReplyBase reply;
        reply.m_state = state;
        reply.withdraw();
    }
    m_rpc->notify(QStringLiteral("session/cancel"), QJsonObject{{QStringLiteral("sessionId"), sessionId}});
}

QFuture<Result<void>> AcpClient::setMode(const QString &sessionId, const QString &modeId)
{
    return request<void>(QStringLiteral("session/set_mode"),
                         QJsonObject{{QStringLiteral("sessionId"), sessionId}, {QStringLiteral("modeId"), modeId}},
                         m_options.requestTimeoutMs, false, [this, sessionId, modeId](const QJsonValue &) -> Result<void> {
                             SessionUpdate u;
                             u.sessionId = sessionId;
                             u.kind = SessionUpdate::Kind::CurrentMode;
                             u.data = CurrentMode{modeId};
                             sessionFor(sessionId).state.apply(u);
                             return {};
                         });
}

QFuture<Result<QList<ConfigOption>>> AcpClient::setConfigOption(const QString &sessionId, const QString &configId,
                                                                const QJsonValue &value)
{
    QJsonObject params{{QStringLiteral("sessionId"), sessionId}, {QStringLiteral("configId"), configId},
                       {QStringLiteral("value"), value}};
    if (value.isBool())
        params.insert(QStringLiteral("type"), QStringLiteral("boolean"));
    return request<QList<ConfigOption>>(
        QStringLiteral("session/set_config_option"), params, m_options.requestTimeoutMs, false,
        [this, sessionId](const QJsonValue &v) -> Result<QList<ConfigOption>> {
            auto r = parseSetConfigOptionResult(v);
            if (r) {
                SessionUpdate u;
                u.sessionId = sessionId;
                u.kind = SessionUpdate::Kind::ConfigOptions;
                u.data = ConfigOptions{*r};
                sessionFor(sessionId).state.apply(u);
            }
            return r;
        });
}

const AcpSessionState *AcpClient::session(const QString &sessionId) const
{
    auto it = m_sessions.constFind(sessionId);
    return it == m_sessions.constEnd() ? nullptr : &(*it)->state;
}

bool AcpClient::isPrompting(const QString &sessionId) const
{
    auto it = m_sessions.constFind(sessionId);
    return it != m_sessions.constEnd() && (*it)->prompting;
}

bool AcpClient::sessionKnown(const QString &sessionId) const
{
    return m_sessions.contains(sessionId);
}

AcpClient::Session &AcpClient::sessionFor(const QString &sessionId)
{
    auto &slot = m_sessions[sessionId];
    if (!slot) {
        slot = std::make_shared<Session>();
        slot->state = AcpSessionState(sessionId);
    }
    return *slot;
}

void AcpClient::onSessionUpdate(const QJsonValue &params)
{
    auto parsed = parseSessionNotification(params);
    const QString sessionId = params.toObject().value(QLatin1String("sessionId")).toString();
    if (!parsed) {
        qCInfo(lcAcp) << "session/update rejected:" << parsed.error().message;
        Q_EMIT updateRejected(sessionId, Error{parsed.error().code, QStringLiteral("the agent sent an update Airlock "
                                                                                   "cannot read: %1")
                                                                        .arg(parsed.error().message)},
                              params.toObject().value(QLatin1String("update")).toObject());
        return;
    }
    // An update may arrive just before the session/new answer that names its session.
    if (!sessionKnown(parsed->sessionId) && m_sessionsOpening == 0) {
        Q_EMIT updateRejected(parsed->sessionId,
                              Error{ErrorCode::NotFound, QStringLiteral("the agent sent an update for session %1, "
                                                                        "which it never opened")
                                                             .arg(parsed->sessionId.left(100))},
                              parsed->raw);
        return;
    }
    Session &s = sessionFor(parsed->sessionId);
    const AcpSessionState::Applied applied = s.state.apply(*parsed);
    // A copy: a slot may feed more updates and move the state's list under a pointer.
    const std::optional<ToolCall> changed = applied.toolCall ? std::optional(*applied.toolCall) : std::nullopt;
    QPointer<AcpClient> self(this);
    Q_EMIT sessionUpdate(*parsed);
    if (self && changed)
        Q_EMIT toolCallChanged(parsed->sessionId, *changed, applied.created);
}

} // namespace airlock::agent
