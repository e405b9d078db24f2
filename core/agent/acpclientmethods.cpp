// The requests an agent sends to its client: checked against the schema here, served by the handler.
#include "acpclient.h"

#include "acpparse.h"

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcAcp)

namespace airlock::agent {

using namespace acp;

void AcpClient::registerHandlers()
{
    m_rpc->handleNotification(QStringLiteral("session/update"), [this](const QJsonValue &p) { onSessionUpdate(p); });
    m_rpc->handleRequest(QStringLiteral("session/request_permission"),
                         [this](const QJsonValue &p, const RpcResponder &r) { onPermission(p, r); });
    m_rpc->handleRequest(QStringLiteral("fs/read_text_file"),
                         [this](const QJsonValue &p, const RpcResponder &r) { onReadTextFile(p, r); });
    m_rpc->handleRequest(QStringLiteral("fs/write_text_file"),
                         [this](const QJsonValue &p, const RpcResponder &r) { onWriteTextFile(p, r); });
    m_rpc->handleRequest(QStringLiteral("terminal/create"),
                         [this](const QJsonValue &p, const RpcResponder &r) { onCreateTerminal(p, r); });
    for (const char *method : {"terminal/output", "terminal/wait_for_exit", "terminal/kill", "terminal/release"}) {
        const QString name = QString::fromLatin1(method);
        m_rpc->handleRequest(name, [this, name](const QJsonValue &p, const RpcResponder &r) { onTerminal(name, p, r); });
    }
}

// Refuses what cannot be served: a malformed request, a session this client never opened, a method
// without a handler or one the client did not offer in its capabilities.
template<typename Request>
bool AcpClient::admit(const Result<Request> &parsed, const RpcResponder &responder)
{
    const QString &method = responder.method();
    const bool fsRead = method == QLatin1String("fs/read_text_file");
    const bool fsWrite = method == QLatin1String("fs/write_text_file");
    const bool terminal = method.startsWith(QLatin1String("terminal/"));
    const bool offered = (!fsRead || m_options.capabilities.readTextFile)
        && (!fsWrite || m_options.capabilities.writeTextFile) && (!terminal || m_options.capabilities.terminal);
    if (!m_handler || !offered) {
        responder.respondError(rpc::MethodNotFound,
                               QStringLiteral("Method not found: %1 (this client did not offer it)").arg(method));
        Q_EMIT protocolError(Error{ErrorCode::InvalidArgument,
                                   QStringLiteral("the agent called %1, which Airlock did not offer it").arg(method)});
        return false;
    }
    if (!parsed) {
        responder.respondError(rpc::InvalidParams, QStringLiteral("Invalid params: %1").arg(parsed.error().message));
        Q_EMIT protocolError(Error{ErrorCode::InvalidArgument, QStringLiteral("the agent sent a malformed %1 request: %2")
                                                                   .arg(method, parsed.error().message)});
        return false;
    }
    if (!sessionKnown(parsed->sessionId)) {
        responder.respondError(rpc::InvalidParams,
                               QStringLiteral("Invalid params: unknown session %1").arg(parsed->sessionId.left(100)));
        Q_EMIT protocolError(Error{ErrorCode::InvalidArgument, QStringLiteral("the agent sent %1 for session %2, which "
                                                                              "it never opened")
                                                                   .arg(method, parsed->sessionId.left(100))});
        return false;
    }
    return true;
}

void AcpClient::watchCancel(const AcpReplyBase &reply, const RpcResponder &responder)
{
    // Weak: the responder must not keep the reply alive, or a dropped reply would never be answered.
    std::weak_ptr<AcpReplyBase::State> weak = reply.m_state;
    responder.onCancelled([weak] {
        auto state = weak.lock();
        if (!state)
            return;
        state->responder.respondCancelled();
        AcpReplyBase r;
        r.m_state = state;
        r.withdraw();
    });
}

void AcpClient::onPermission(const QJsonValue &params, const RpcResponder &responder)
{
    auto parsed = parsePermissionRequest(params);
    if (!admit(parsed, responder))
        return;
    QStringList offered;
    for (const PermissionOption &o : std::as_const(parsed->options))
        offered.append(o.id);
    AcpReply<PermissionOutcome> reply(responder, [offered](const PermissionOutcome &o) -> QJsonValue {
        if (!o.cancelled && !offered.contains(o.optionId)) {
            qCWarning(lcAcp) << "permission answered with an option the agent did not offer:" << o.optionId;
            return PermissionOutcome::cancel().toJson();
        }
        return o.toJson();
    });
    watchCancel(reply, responder);
    Session &s = sessionFor(parsed->sessionId);
    s.permissions.removeIf([](const std::weak_ptr<AcpReplyBase::State> &w) { return w.expired(); });
    s.permissions.append(reply.m_state);
    const AcpSessionState::Applied applied = s.state.applyPermissionRequest(*parsed);
    const std::optional<ToolCall> changed = applied.toolCall ? std::optional(*applied.toolCall) : std::nullopt;
    QPointer<AcpClient> self(this);
    if (changed)
        Q_EMIT toolCallChanged(parsed->sessionId, *changed, applied.created);
    if (self)
        Q_EMIT permissionRequested(*parsed);
    if (self && m_handler)
        m_handler->requestPermission(*parsed, std::move(reply));
}

void AcpClient::onReadTextFile(const QJsonValue &params, const RpcResponder &responder)
{
    auto parsed = parseReadTextFileRequest(params);
    if (!admit(parsed, responder))
        return;
    AcpReply<QString> reply(responder, [](const QString &text) -> QJsonValue {
        return QJsonObject{{QStringLiteral("content"), text}};
    });
    watchCancel(reply, responder);
    m_handler->readTextFile(*parsed, std::move(reply));
}

void AcpClient::onWriteTextFile(const QJsonValue &params, const RpcResponder &responder)
{
    auto parsed = parseWriteTextFileRequest(params);
    if (!admit(parsed, responder))
        return;
    AcpReply<void> reply(responder);
    watchCancel(reply, responder);
    m_handler->writeTextFile(*parsed, std::move(reply));
}

void AcpClient::onCreateTerminal(const QJsonValue &params, const RpcResponder &responder)
{
    auto parsed = parseCreateTerminalRequest(params);
    if (!admit(parsed, responder))
        return;
    AcpReply<QString> reply(responder, [](const QString &id) -> QJsonValue {
        return QJsonObject{{QStringLiteral("terminalId"), id}};
    });
    watchCancel(reply, responder);
    m_handler->createTerminal(*parsed, std::move(reply));
}

void AcpClient::onTerminal(const QString &method, const QJsonValue &params, const RpcResponder &responder)
{
    auto parsed = parseTerminalRequest(params, method);
    if (!admit(parsed, responder))
        return;
    if (method == QLatin1String("terminal/output")) {
        AcpReply<TerminalOutput> reply(responder, [](const TerminalOutput &o) -> QJsonValue { return o.toJson(); });
        watchCancel(reply, responder);
        m_handler->terminalOutput(*parsed, std::move(reply));
    } else if (method == QLatin1String("terminal/wait_for_exit")) {
        AcpReply<TerminalExitStatus> reply(responder,
                                           [](const TerminalExitStatus &s) -> QJsonValue { return s.toJson(); });
        watchCancel(reply, responder);
        m_handler->waitForTerminalExit(*parsed, std::move(reply));
    } else {
        AcpReply<void> reply(responder);
        watchCancel(reply, responder);
        if (method == QLatin1String("terminal/kill"))
            m_handler->killTerminal(*parsed, std::move(reply));
        else
            m_handler->releaseTerminal(*parsed, std::move(reply));
    }
}

} // namespace airlock::agent
