#pragma once

#include "acptypes.h"
#include "jsonrpcconnection.h"

#include <functional>
#include <memory>

namespace airlock::agent {

class AcpClient;

// The common part of a typed answer to one request from the agent.
class AcpReplyBase
{
public:
    // Refuses the request; the Error's code becomes the JSON-RPC code (see RpcError::fromError),
    // its message is what the agent reads.
    void fail(const Error &error) const;
    bool isPending() const { return m_state && m_state->responder.isPending() && !m_state->cancelled; }
    bool isCancelled() const { return m_state && m_state->cancelled; }
    // Called once if the request is withdrawn before it was answered: the agent cancelled it, or
    // the turn was cancelled (a permission request is then answered "cancelled" for you).
    void onCancelled(std::function<void()> callback) const;

protected:
    friend class AcpClient;
    struct State {
        RpcResponder responder;
        bool cancelled = false;
        std::function<void()> onCancelled;
    };
    AcpReplyBase() = default;
    explicit AcpReplyBase(RpcResponder responder);
    void withdraw() const; // marks cancelled and tells the handler
    std::shared_ptr<State> m_state;
};

// A typed answer: ok(value) or fail(error), once; later answers are ignored.
template<typename T>
class AcpReply : public AcpReplyBase
{
public:
    using Encoder = std::function<QJsonValue(const T &)>;
    AcpReply() = default;
    AcpReply(RpcResponder responder, Encoder encode) : AcpReplyBase(std::move(responder)), m_encode(std::move(encode)) {}
    void ok(const T &value) const
    {
        if (m_state && !m_state->cancelled)
            m_state->responder.respond(m_encode(value));
    }

private:
    Encoder m_encode;
};

template<>
class AcpReply<void> : public AcpReplyBase
{
public:
    AcpReply() = default;
    explicit AcpReply(RpcResponder responder) : AcpReplyBase(std::move(responder)) {}
    void ok() const
    {
        if (m_state && !m_state->cancelled)
            m_state->responder.respond(QJsonObject{});
    }
};

// Serves the methods an ACP agent calls on its client. Airlock's implementation runs every file and
// terminal operation inside the session's sandbox, through the shim, never on the host; requests
// reach it already checked against the schema (absolute paths, known session, typed fields).
// Each method must answer its reply exactly once, now or later.
class AcpClientHandler
{
public:
    virtual ~AcpClientHandler() = default;

    virtual void requestPermission(const acp::PermissionRequest &request, AcpReply<acp::PermissionOutcome> reply) = 0;
    // Answers the file's text: from `line` (1-based) at most `limit` lines when given.
    virtual void readTextFile(const acp::ReadTextFileRequest &request, AcpReply<QString> reply) = 0;
    virtual void writeTextFile(const acp::WriteTextFileRequest &request, AcpReply<void> reply) = 0;
    // Answers the new terminal's id.
    virtual void createTerminal(const acp::CreateTerminalRequest &request, AcpReply<QString> reply) = 0;
    virtual void terminalOutput(const acp::TerminalRequest &request, AcpReply<acp::TerminalOutput> reply) = 0;
    virtual void waitForTerminalExit(const acp::TerminalRequest &request, AcpReply<acp::TerminalExitStatus> reply) = 0;
    virtual void killTerminal(const acp::TerminalRequest &request, AcpReply<void> reply) = 0;
    virtual void releaseTerminal(const acp::TerminalRequest &request, AcpReply<void> reply) = 0;
};

} // namespace airlock::agent
