#include "egress/sessiontable.h"

namespace airlock::egress {

void SessionTable::rebuild(SessionState &state)
{
    state.rules.sessionAllow.clear();
    state.rules.sessionDeny.clear();
    for (const RuntimeRule &r : std::as_const(state.runtime))
        (r.verdict == Verdict::Allow ? state.rules.sessionAllow : state.rules.sessionDeny).append(r.pattern);
}

void SessionTable::setPolicy(const QString &session, const policy::Policy &policy)
{
    QMutexLocker lock(&m_mutex);
    auto next = std::make_shared<SessionState>();
    if (const auto it = m_sessions.constFind(session); it != m_sessions.cend())
        *next = **it; // runtime rules outlive a policy change
    next->session = session;
    next->rules.network = policy.network;
    next->secrets = policy.secrets;
    next->upstreamCaFile = policy.network.upstreamCaFile;
    rebuild(*next);
    m_sessions.insert(session, std::move(next));
}

void SessionTable::setOrigin(const QString &session, bool isSession, const QString &sandbox)
{
    QMutexLocker lock(&m_mutex);
    const auto it = m_sessions.constFind(session);
    if (it == m_sessions.cend())
        return;
    auto next = std::make_shared<SessionState>(**it);
    next->isSession = isSession;
    next->sandbox = sandbox;
    m_sessions.insert(session, std::move(next));
}

bool SessionTable::contains(const QString &session) const
{
    QMutexLocker lock(&m_mutex);
    return m_sessions.contains(session);
}

bool SessionTable::addRule(const RuntimeRule &rule)
{
    QMutexLocker lock(&m_mutex);
    const auto it = m_sessions.constFind(rule.session);
    if (it == m_sessions.cend())
        return false;
    auto next = std::make_shared<SessionState>(**it);
    const auto same = std::find_if(next->runtime.begin(), next->runtime.end(),
                                   [&](const RuntimeRule &r) { return r.pattern == rule.pattern; });
    if (same != next->runtime.end()) {
        if (same->verdict == rule.verdict)
            return false;
        next->runtime.erase(same);
    }
    next->runtime.append(rule);
    rebuild(*next);
    m_sessions.insert(rule.session, std::move(next));
    return true;
}

void SessionTable::remove(const QString &session)
{
    QMutexLocker lock(&m_mutex);
    m_sessions.remove(session);
}

std::shared_ptr<const SessionState> SessionTable::get(const QString &session) const
{
    QMutexLocker lock(&m_mutex);
    return m_sessions.value(session);
}

QStringList SessionTable::sessions() const
{
    QMutexLocker lock(&m_mutex);
    return m_sessions.keys();
}

} // namespace airlock::egress
