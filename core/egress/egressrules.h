#pragma once

#include "egress/addressclass.h"
#include "egress/egressrecord.h"
#include "error.h"
#include "policy/policy.h"

#include <QHostAddress>
#include <QList>
#include <QStringList>

// The egress decision as a pure function of the rules in force, the host and the port. It runs twice
// for a name: once on the name before anything is resolved, once on the addresses the proxy resolved,
// because a permitted name may point at a place the policy never meant to open.

namespace airlock::egress {

// What a session's connections are judged by: its policy's network section and the runtime rules
// added for it. A value; the proxy swaps whole values, so a decision never sees half an update.
struct Rules {
    policy::Network network;
    QStringList sessionAllow; // runtime allows, checked patterns
    QStringList sessionDeny;  // runtime denies
};

struct Decision {
    Verdict verdict = Verdict::Deny;
    QString rule;            // "policy deny *.example.com", "session allow x.dev", "default deny" …
    QString reason;          // a sentence a person (or the agent) can act on
    // The address itself was named: an IP literal in a rule without wildcards, network.hostPorts or
    // network mode 'host'. Only then may it be special without network.allowAddressClasses saying so;
    // a host *name*, however exactly allowed, is held to the address classes.
    bool named = false;
    // Set for network.hostPorts: connect to the host's own loopback at this port.
    bool hostLoopback = false;

    bool allowed() const { return verdict == Verdict::Allow; }
};

// The host as a decision sees it: lowercase, one trailing dot removed, IPv6 without brackets. Names
// must be valid DNS names (letters, digits, '-', '_' and dots, labels of 1 to 63, at most 253 in all).
Result<QString> normalizeHost(QStringView host);

// The name step. Order: runtime denies, policy denies, network.hostPorts, cloud metadata names,
// runtime and policy allows, else refused; so a deny always wins over an allow. An allow pattern
// without ports opens 443 and 80 only. IP literals are refused unless a rule names them exactly, or
// allowIpLiterals is on and the address is public or of an allowed class.
Decision decide(const Rules &rules, const QString &host, quint16 port);

// The address step for an allowed decision: every resolved address must be public or of a class the
// policy's network.allowAddressClasses lists, unless the address was named (Decision::named). On
// refusal the decision comes back denied with the address in its rule and reason.
Decision checkAddresses(const Decision &nameDecision, const Rules &rules, const QString &host,
                        const QList<QHostAddress> &addresses);

// Which ports a pattern without a port list stands for.
enum class PortlessPattern {
    AnyPort,  // deny rules, secrets: a pattern without ports covers every port
    WebPorts, // allow rules: 443 and 80 only
};

// True when pattern (a checked domain pattern, optionally with ports) matches host and port.
bool matchesHost(QStringView pattern, QStringView host, quint16 port,
                 PortlessPattern portless = PortlessPattern::AnyPort);

// The policy's name for an address class ("loopback", "cgnat" …), as network.allowAddressClasses
// lists it; empty for Public.
QString className(AddressClass cls);

} // namespace airlock::egress
