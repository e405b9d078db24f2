#pragma once

#include "egress/egressrecord.h"
#include "egress/egressrules.h"
#include "policy/policy.h"

#include <QHash>
#include <QMutex>

#include <memory>

namespace airlock::egress {

// What the proxy knows about one sandbox's session when a connection arrives.
struct SessionState {
    QString session;                // the key: the session's id, or the sandbox's outside a session
    bool isSession = true;          // false: the key is a sandbox's id, and no session holds its records
    QString sandbox;                // the sandbox's id, when known
    Rules rules;                    // the policy's network section plus the runtime rules
    QList<policy::Secret> secrets;
    QString upstreamCaFile;         // trusted with the system store on this session's TLS routes
    QList<RuntimeRule> runtime;     // one per pattern, the latest verdict for it
};

// The rules in force for every session the proxy serves, shared between the API's thread and the
// proxy's. Readers take an immutable snapshot per request; writers replace it whole. So a change
// applies to the next connection at once and never to half of a decision.
class SessionTable
{
public:
    void setPolicy(const QString &session, const policy::Policy &policy);
    // Whose the key is: a session's (its records go to the session) or a lone sandbox's.
    void setOrigin(const QString &session, bool isSession, const QString &sandbox);
    bool contains(const QString &session) const;
    // Adds or replaces the rule for its pattern; false when the session is unknown or nothing changed.
    bool addRule(const RuntimeRule &rule);
    void remove(const QString &session);
    std::shared_ptr<const SessionState> get(const QString &session) const;
    QStringList sessions() const;

private:
    static void rebuild(SessionState &state);

    mutable QMutex m_mutex;
    QHash<QString, std::shared_ptr<const SessionState>> m_sessions;
};

} // namespace airlock::egress
