#include "acpclienthandler.h"

namespace airlock::agent {

AcpReplyBase::AcpReplyBase(RpcResponder responder) : m_state(std::make_shared<State>())
{
    m_state->responder = std::move(responder);
}

void AcpReplyBase::fail(const Error &error) const
{
    if (m_state && !m_state->cancelled)
        m_state->responder.respondError(RpcError::fromError(error));
}

void AcpReplyBase::onCancelled(std::function<void()> callback) const
{
    if (!m_state)
        return;
    if (m_state->cancelled) {
        callback();
        return;
    }
    m_state->onCancelled = std::move(callback);
}

void AcpReplyBase::withdraw() const
{
    if (!m_state || m_state->cancelled)
        return;
    m_state->cancelled = true;
    if (auto callback = std::move(m_state->onCancelled))
        callback();
}

} // namespace airlock::agent
