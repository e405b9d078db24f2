// The answer side of an incoming request: RpcResponder and the state its copies share.
#include "rpcresponderstate.h"

namespace airlock::agent {

RpcResponder::State::~State()
{
    const JsonRpcConnection *c = connection.data();
    if (answered || !c || !c->isOpen())
        return;
    RpcResponder::answer(*this, encodeError(id, RpcError{rpc::InternalError,
                                                         QStringLiteral("Internal error: %1 was dropped "
                                                                        "without an answer")
                                                             .arg(method),
                                                         {}, false}));
}

void RpcResponder::answer(State &state, const QByteArray &bytes)
{
    if (state.answered)
        return;
    state.answered = true;
    JsonRpcConnection *c = state.connection;
    if (!c || !c->isOpen())
        return;
    if (bytes.size() > c->m_limits.maxMessageBytes + 1) {
        c->send(encodeError(state.id, RpcError{rpc::InternalError,
                                               QStringLiteral("Internal error: the answer to %1 would be %2, over "
                                                              "the %3 message limit")
                                                   .arg(state.method, formatBytes(bytes.size()),
                                                        formatBytes(c->m_limits.maxMessageBytes)),
                                               {}, false}));
    } else {
        c->send(bytes);
    }
    c->incomingAnswered(state.key);
}

const QString &RpcResponder::method() const
{
    static const QString none;
    return m_state ? m_state->method : none;
}

RpcId RpcResponder::id() const
{
    return m_state ? m_state->id : RpcId{};
}

bool RpcResponder::isPending() const
{
    if (!m_state || m_state->answered)
        return false;
    const JsonRpcConnection *c = m_state->connection.data();
    return c && c->isOpen();
}

bool RpcResponder::isCancelled() const
{
    return m_state && m_state->cancelled;
}

void RpcResponder::onCancelled(std::function<void()> callback) const
{
    if (!m_state)
        return;
    if (m_state->cancelled && !m_state->answered) {
        callback();
        return;
    }
    m_state->onCancelled = std::move(callback);
}

void RpcResponder::respond(const QJsonValue &result) const
{
    if (m_state && !m_state->answered)
        answer(*m_state, encodeResult(m_state->id, result));
}

void RpcResponder::respondError(const RpcError &error) const
{
    if (m_state && !m_state->answered) {
        RpcError wire = error;
        wire.local = false;
        answer(*m_state, encodeError(m_state->id, wire));
    }
}

void RpcResponder::respondError(int code, const QString &message, const QJsonValue &data) const
{
    respondError(RpcError{code, message, data, false});
}

void RpcResponder::respondCancelled() const
{
    respondError(rpc::RequestCancelled, QStringLiteral("Request cancelled"));
}

} // namespace airlock::agent
