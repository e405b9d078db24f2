#include "egress/egressrules.h"

#include "policy/patterns.h"

namespace airlock::egress {

namespace {

QString hostPort(const QString &host, quint16 port)
{
    if (host.contains(u':'))
        return u'[' + host + QStringLiteral("]:") + QString::number(port);
    return host + u':' + QString::number(port);
}

bool isWildcard(QStringView pattern)
{
    return policy::domainPatternHost(pattern).contains(u'*');
}

struct Match {
    QString rule;
    bool exact = false;
};

// The first matching pattern, preferring one without wildcards over any with them: an exact rule is
// the stronger statement and the one that lets special addresses through.
std::optional<Match> findAllow(const Rules &rules, const QString &host, quint16 port)
{
    std::optional<Match> wildcard;
    const auto scan = [&](const QStringList &patterns, const QString &prefix) -> std::optional<Match> {
        for (const QString &p : patterns) {
            if (!matchesHost(p, host, port, PortlessPattern::WebPorts))
                continue;
            if (!isWildcard(p))
                return Match{prefix + p, true};
            if (!wildcard)
                wildcard = Match{prefix + p, false};
        }
        return std::nullopt;
    };
    if (auto m = scan(rules.sessionAllow, QStringLiteral("session allow ")))
        return m;
    if (auto m = scan(rules.network.allow, QStringLiteral("policy allow ")))
        return m;
    return wildcard;
}

Decision deny(QString rule, QString reason)
{
    Decision d;
    d.verdict = Verdict::Deny;
    d.rule = std::move(rule);
    d.reason = std::move(reason);
    return d;
}

Decision allow(QString rule, QString reason, bool named)
{
    Decision d;
    d.verdict = Verdict::Allow;
    d.rule = std::move(rule);
    d.reason = std::move(reason);
    d.named = named;
    return d;
}

bool classAllowed(const Rules &rules, AddressClass cls)
{
    return cls == AddressClass::Public || rules.network.allowAddressClasses.contains(className(cls));
}

// Names that reach a cloud provider's instance metadata service from inside that cloud. Refused by
// name as well as by address, since their resolution depends on the host the proxy runs on.
bool isMetadataName(const QString &host)
{
    static const QStringList names{QStringLiteral("metadata.google.internal"), QStringLiteral("metadata.goog"),
                                   QStringLiteral("metadata"), QStringLiteral("instance-data"),
                                   QStringLiteral("instance-data.ec2.internal"),
                                   QStringLiteral("metadata.azure.internal")};
    return names.contains(host);
}

bool validLabelChar(QChar c)
{
    const char16_t u = c.unicode();
    return (u >= u'a' && u <= u'z') || (u >= u'0' && u <= u'9') || u == u'-' || u == u'_';
}

} // namespace

bool matchesHost(QStringView pattern, QStringView host, quint16 port, PortlessPattern portless)
{
    // The port is judged apart rather than handing "host:port" to matchDomain, which cannot tell an
    // IPv6 literal's colons from a port separator.
    if (!policy::patternAdmitsPort(pattern, port, portless == PortlessPattern::WebPorts))
        return false;
    return policy::matchDomain(policy::domainPatternHost(pattern), host);
}

QString className(AddressClass cls)
{
    switch (cls) {
    case AddressClass::Public:
        return {};
    case AddressClass::Unspecified:
        return QStringLiteral("unspecified");
    case AddressClass::Loopback:
        return QStringLiteral("loopback");
    case AddressClass::Private:
        return QStringLiteral("private");
    case AddressClass::LinkLocal:
        return QStringLiteral("link-local");
    case AddressClass::SharedCgnat:
        return QStringLiteral("cgnat");
    case AddressClass::Metadata:
        return QStringLiteral("metadata");
    case AddressClass::Multicast:
        return QStringLiteral("multicast");
    case AddressClass::Reserved:
        return QStringLiteral("reserved");
    }
    return {};
}

Result<QString> normalizeHost(QStringView raw)
{
    QString host = raw.toString().toLower();
    if (host.startsWith(u'[') && host.endsWith(u']'))
        host = host.mid(1, host.size() - 2);
    if (host.isEmpty())
        return fail(ErrorCode::InvalidArgument, QStringLiteral("the request names no host"));
    if (host.contains(u':')) {
        if (auto literal = parseIpLiteral(host))
            return literal->toString();
        return fail(ErrorCode::InvalidArgument, QStringLiteral("'%1' is not a valid IPv6 address").arg(host));
    }
    if (host.endsWith(u'.'))
        host.chop(1);
    // Every spelling of an IPv4 address becomes the dotted quad, so rules see one form.
    if (auto literal = parseIpLiteral(host))
        return literal->toString();
    if (host.isEmpty() || host.size() > 253)
        return fail(ErrorCode::InvalidArgument, QStringLiteral("'%1' is not a valid host name").arg(raw));
    for (const QStringView label : QStringView(host).split(u'.')) {
        if (label.isEmpty() || label.size() > 63 || label.startsWith(u'-') || label.endsWith(u'-')
            || !std::all_of(label.begin(), label.end(), validLabelChar))
            return fail(ErrorCode::InvalidArgument,
                        QStringLiteral("'%1' is not a valid host name").arg(raw.left(300)));
    }
    return host;
}

Decision decide(const Rules &rules, const QString &host, quint16 port)
{
    const QString where = hostPort(host, port);
    const policy::NetworkMode mode = rules.network.mode;
    if (mode == policy::NetworkMode::None)
        return deny(QStringLiteral("network none"),
                    QStringLiteral("%1 refused: the policy's network mode is 'none'").arg(where));

    for (const QString &p : rules.sessionDeny) {
        if (matchesHost(p, host, port))
            return deny(QStringLiteral("session deny ") + p,
                        QStringLiteral("%1 refused: denied for this session by '%2'").arg(where, p));
    }
    for (const QString &p : rules.network.deny) {
        if (matchesHost(p, host, port))
            return deny(QStringLiteral("policy deny ") + p,
                        QStringLiteral("%1 refused: the policy denies '%2'").arg(where, p));
    }

    const std::optional<QHostAddress> literal = parseIpLiteral(host);
    const bool loopbackName = host == u"localhost" || (literal && classify(*literal) == AddressClass::Loopback);
    if (mode == policy::NetworkMode::Proxy && loopbackName && rules.network.hostPorts.contains(int(port))) {
        Decision d = allow(QStringLiteral("policy hostPorts %1").arg(port),
                           QStringLiteral("%1 allowed: port %2 on the host is open to the sandbox").arg(where).arg(port),
                           true);
        d.hostLoopback = true;
        return d;
    }
    if (mode == policy::NetworkMode::Host)
        return allow(QStringLiteral("network host"),
                     QStringLiteral("%1 allowed: the policy's network mode is 'host'").arg(where), true);

    if (isMetadataName(host) && !classAllowed(rules, AddressClass::Metadata))
        return deny(QStringLiteral("metadata name"),
                    QStringLiteral("%1 refused: it names a cloud metadata service, which only "
                                   "network.allowAddressClasses 'metadata' opens")
                        .arg(where));

    const std::optional<Match> match = findAllow(rules, host, port);
    if (!match) {
        // Say so when only the port is wrong: "allowed name, closed port" is the usual surprise.
        const bool otherPort = [&] {
            for (const QStringList *list : {&rules.sessionAllow, &rules.network.allow})
                for (const QString &p : *list)
                    if (policy::matchDomain(policy::domainPatternHost(p), host))
                        return true;
            return false;
        }();
        if (otherPort)
            return deny(QStringLiteral("default deny"),
                        QStringLiteral("%1 refused: the host is allowed on other ports only (a rule "
                                       "without ports opens 443 and 80; name others as host:PORT)")
                            .arg(where));
        return deny(QStringLiteral("default deny"),
                    QStringLiteral("%1 refused: no allow rule matches it").arg(where));
    }
    if (literal && !match->exact) {
        if (!rules.network.allowIpLiterals)
            return deny(QStringLiteral("ip literal"),
                        QStringLiteral("%1 refused: the request names an IP address, and the policy allows "
                                       "those only when a rule names them exactly (network.allowIpLiterals "
                                       "is off)")
                            .arg(where));
        const AddressClass cls = classify(*literal);
        if (!classAllowed(rules, cls))
            return deny(QStringLiteral("address %1 (%2)").arg(literal->toString(), describe(cls)),
                        QStringLiteral("%1 refused: %2 is a %3 address, which only a rule naming it exactly "
                                       "or network.allowAddressClasses '%4' may reach")
                            .arg(where, literal->toString(), describe(cls), className(cls)));
    }
    // Only an IP literal named exactly names the address; a name is checked at the address step.
    return allow(match->rule, QStringLiteral("%1 allowed by '%2'").arg(where, match->rule),
                 match->exact && literal.has_value());
}

Decision checkAddresses(const Decision &nameDecision, const Rules &rules, const QString &host,
                        const QList<QHostAddress> &addresses)
{
    if (!nameDecision.allowed())
        return nameDecision;
    if (addresses.isEmpty())
        return deny(QStringLiteral("no address"), QStringLiteral("%1 has no address").arg(host));
    if (nameDecision.named)
        return nameDecision;
    for (const QHostAddress &a : addresses) {
        const AddressClass cls = classify(a);
        if (classAllowed(rules, cls))
            continue;
        return deny(QStringLiteral("address %1 (%2)").arg(a.toString(), describe(cls)),
                    QStringLiteral("%1 refused: it resolves to %2, a %3 address, which only "
                                   "network.allowAddressClasses '%4' opens")
                        .arg(host, a.toString(), describe(cls), className(cls)));
    }
    return nameDecision;
}

} // namespace airlock::egress
