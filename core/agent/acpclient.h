#pragma once

#include "acpclienthandler.h"
#include "acpsessionstate.h"
#include "acptypes.h"
#include "agentprocess.h"
#include "jsonrpcconnection.h"

#include <QFuture>
#include <QHash>
#include <QObject>

#include <memory>

namespace airlock::agent {

// The client side of the Agent Client Protocol, version 1, on the thread it lives in.
//
// Calls go out as JSON-RPC requests and come back as futures; session/update notifications come in
// typed (sessionUpdate) and are folded into one AcpSessionState per session; the agent's own requests
// (permission, fs/*, terminal/*) are checked against the schema and handed to an AcpClientHandler.
// Nothing the agent sends can crash the client: a malformed update is reported (updateRejected) and
// the session goes on, a malformed request is answered with a JSON-RPC error.
class AcpClient : public QObject
{
    Q_OBJECT
public:
    struct Options {
        int initializeTimeoutMs = 30'000;
        // authenticate, session/new, session/load, set_mode, set_config_option. session/load replays
        // history first, so its timeout counts silence rather than total time.
        int requestTimeoutMs = 120'000;
        // A turn may run for hours; what is wrong is an agent that says nothing for this long while
        // it is not waiting for us (a pending permission or terminal request stops the clock). 0: none.
        int promptIdleTimeoutMs = 10 * 60'000;
        acp::ClientCapabilities capabilities;
        acp::Implementation clientInfo{QStringLiteral("airlock"), QStringLiteral("Airlock"),
                                       QStringLiteral(AIRLOCK_VERSION)};
    };

    explicit AcpClient(QObject *parent = nullptr);
    ~AcpClient() override;

    void setOptions(const Options &options) { m_options = options; }
    const Options &options() const { return m_options; }
    // Not owned. Without a handler, the agent's requests get method-not-found.
    void setHandler(AcpClientHandler *handler) { m_handler = handler; }
    JsonRpcConnection &connection() { return *m_rpc; }

    // Runs the agent as a local process and speaks ACP on its stdio. For an agent reached another
    // way (a sandboxed exec), feed connection() directly instead.
    void start(const AgentLaunch &launch);
    AgentProcess *process() const { return m_process; }
    // Ends the agent: stdin closed, then SIGTERM, then SIGKILL (see AgentProcess::stop).
    void stop(int graceMs = 2000);
    bool isConnected() const { return m_rpc->isOpen(); }

    QFuture<Result<acp::InitializeResult>> initialize();
    QFuture<Result<void>> authenticate(const QString &methodId);
    QFuture<Result<acp::SessionSetup>> newSession(const QString &cwd, const QJsonArray &mcpServers = {});
    // The agent replays the session's history as session/update notifications before it answers.
    QFuture<Result<acp::SessionSetup>> loadSession(const QString &sessionId, const QString &cwd,
                                                   const QJsonArray &mcpServers = {});
    // One turn. Fails at once if a turn is already running in the session.
    QFuture<Result<acp::PromptResult>> prompt(const QString &sessionId, const QList<acp::ContentBlock> &prompt);
    // Asks the agent to stop the turn; the prompt future then usually ends with StopReason::Cancelled.
    // Pending permission requests of the session are answered "cancelled", as the protocol requires.
    void cancel(const QString &sessionId);
    QFuture<Result<void>> setMode(const QString &sessionId, const QString &modeId);
    // value: a string (a select option's value) or a bool (a boolean option).
    QFuture<Result<QList<acp::ConfigOption>>> setConfigOption(const QString &sessionId, const QString &configId,
                                                              const QJsonValue &value);

    const std::optional<acp::InitializeResult> &agent() const { return m_agent; }
    const AcpSessionState *session(const QString &sessionId) const;
    bool isPrompting(const QString &sessionId) const;

Q_SIGNALS:
    void sessionUpdate(const airlock::agent::acp::SessionUpdate &update);
    // After a tool_call or tool_call_update was folded in: the call as it now stands.
    void toolCallChanged(const QString &sessionId, const airlock::agent::acp::ToolCall &call, bool created);
    // A session/update that could not be read; the session goes on without it.
    void updateRejected(const QString &sessionId, const airlock::Error &error, const QJsonObject &raw);
    // A permission request arrived (emitted before the handler is asked).
    void permissionRequested(const airlock::agent::acp::PermissionRequest &request);
    // Anything else the agent got wrong: garbage on stdout, an oversized line, a malformed request.
    void protocolError(const airlock::Error &error);
    void agentStderr(const QString &line);
    // The connection ended: the agent exited, crashed, or was stopped. Every pending call has failed.
    void disconnected(const airlock::Error &reason);

private:
    struct Session {
        AcpSessionState state;
        bool prompting = false;
        QList<std::weak_ptr<AcpReplyBase::State>> permissions;
    };

    template<typename T>
    QFuture<Result<T>> request(const QString &method, const QJsonObject &params, int timeoutMs, bool idle,
                               std::function<Result<T>(const QJsonValue &)> read,
                               std::function<void(const RpcResult &)> always = {});
    void registerHandlers();
    void onSessionUpdate(const QJsonValue &params);
    bool sessionKnown(const QString &sessionId) const;
    Session &sessionFor(const QString &sessionId);
    template<typename Request>
    bool admit(const Result<Request> &parsed, const RpcResponder &responder);

    void onPermission(const QJsonValue &params, const RpcResponder &responder);
    void onReadTextFile(const QJsonValue &params, const RpcResponder &responder);
    void onWriteTextFile(const QJsonValue &params, const RpcResponder &responder);
    void onCreateTerminal(const QJsonValue &params, const RpcResponder &responder);
    void onTerminal(const QString &method, const QJsonValue &params, const RpcResponder &responder);
    void watchCancel(const AcpReplyBase &reply, const RpcResponder &responder);

    Options m_options;
    JsonRpcConnection *m_rpc;
    AgentProcess *m_process = nullptr;
    AcpClientHandler *m_handler = nullptr;
    std::optional<acp::InitializeResult> m_agent;
    QHash<QString, std::shared_ptr<Session>> m_sessions; // shared: pointers into a state stay valid
    int m_sessionsOpening = 0; // session/new or session/load in flight: updates may precede the answer
};

} // namespace airlock::agent
