#pragma once

#include "egress/egressrecord.h"
#include "egress/egressrules.h"
#include "egress/proxyengine.h"
#include "egress/resolver.h"
#include "egress/secrets.h"
#include "error.h"
#include "policy/policy.h"

#include <QObject>
#include <QThread>

#include <memory>

namespace airlock::store {
class EventStore;
}

namespace airlock::egress {

class SessionTable;

// How an EgressProxy is set up.
struct ProxyOptions {
    // Where egress.connection and egress.rule events go, and whose file is watched for rules added
    // by other processes. May be null: then only the signals report.
    store::EventStore *store = nullptr;
    std::shared_ptr<Resolver> resolver;      // default: SystemResolver (getaddrinfo)
    std::shared_ptr<SecretProvider> secrets; // default: SystemSecretProvider (env, keychain)
    QString extraCaFile;                     // PEM; trusted upstream in addition to the system's
    ProxyLimits limits;
    int ruleWatchIntervalMs = 250;           // 0: do not watch the store
};

// One sandbox the proxy serves.
struct SandboxSpec {
    QString session;         // the session it belongs to; empty for a sandbox of its own
    QString socketPath;      // created here; an existing stale socket is replaced
    policy::Policy policy;   // its network section and secrets are what count
    int socketMode = 0600;   // the sandbox must be able to connect: widen for other uids
    QString sandbox = {};    // its id, carried by its records

    // What names it in the proxy's other calls (removeSandbox, setPolicy, addRule …): the session,
    // or the sandbox's id when there is none.
    QString key() const { return session.isEmpty() ? sandbox : session; }
};

// The egress proxy, as the rest of Airlock sees it. One instance serves every sandbox: each gets its
// own unix socket (which the shim bridges to a loopback port inside the sandbox), and the socket a
// connection arrives on is what names its session, so a sandbox cannot speak for another.
//
// The proxy runs on a thread of its own; this object lives on the caller's thread and every method
// returns at once without waiting for that thread. Signals are delivered on this object's thread.
//
// Rule changes apply to the next connection, never to one already decided:
//  - setPolicy() after the policy editor saved ("allow always");
//  - addRule() for "allow for this session" (also written to the store as an egress.rule event);
//  - egress.rule events other processes append to the store (`airlockctl egress allow`), picked up
//    within Options::ruleWatchIntervalMs.
class EgressProxy : public QObject
{
    Q_OBJECT
public:
    using Options = ProxyOptions;
    using Sandbox = SandboxSpec;

    explicit EgressProxy(Options options = Options(), QObject *parent = nullptr);
    ~EgressProxy() override; // closes every socket and connection, then stops the thread

    // Listens on the sandbox's socket before returning, so the path exists once this succeeds.
    Result<void> addSandbox(const Sandbox &sandbox);
    // Closes the socket (removing its file) and cuts the sandbox's open connections. The calls below
    // take the same key (SandboxSpec::key()); runtime rules of a sandbox outside a session are kept
    // in memory only, since no session stores them.
    void removeSandbox(const QString &session);
    Result<void> setPolicy(const QString &session, const policy::Policy &policy);
    // Allows or denies a domain pattern (`host`, `*.suffix`, optional `:port`) for one session. A later
    // rule for the same pattern replaces the earlier one; between patterns deny wins, and a deny in the
    // policy is never overridden (edit the policy for that).
    Result<RuntimeRule> addRule(const QString &session, Verdict verdict, const QString &pattern,
                                const QString &origin = QStringLiteral("api"), const QString &note = {});
    QList<RuntimeRule> rules(const QString &session) const;
    // The name step of a decision as it would be made now (no resolution), for explanations.
    Result<Decision> decide(const QString &session, const QString &host, quint16 port) const;
    QStringList sessions() const;

Q_SIGNALS:
    // A decision was made: allowed (the upstream connection is being made) or denied.
    void connectionOpened(const airlock::egress::EgressRecord &record);
    // The exchange is over; the record is final and is what the egress.connection event holds.
    void connectionClosed(const airlock::egress::EgressRecord &record);
    // A runtime rule came into force, from addRule() or from the store.
    void ruleAdded(const airlock::egress::RuntimeRule &rule);
    void failed(const airlock::Error &error);

private:
    store::EventStore *m_store;
    std::shared_ptr<SessionTable> m_table;
    QThread m_thread;
    ProxyEngine *m_engine = nullptr;
};

} // namespace airlock::egress
