#include "egress/egressrecord.h"

#include "policy/patterns.h"

#include <QJsonValue>

namespace airlock::egress {

namespace {

// Payload keys, shared by the writer and the reader so the two cannot drift apart.
constexpr auto kId = "id";
constexpr auto kSandbox = "sandbox";
constexpr auto kMethod = "method";
constexpr auto kHost = "host";
constexpr auto kPort = "port";
constexpr auto kRoute = "route";
constexpr auto kDecision = "decision";
constexpr auto kRule = "rule";
constexpr auto kReason = "reason";
constexpr auto kAddress = "address";
constexpr auto kStatus = "status";
constexpr auto kSecret = "secret";
constexpr auto kError = "error";
constexpr auto kBytesUp = "bytesUp";
constexpr auto kBytesDown = "bytesDown";
constexpr auto kStarted = "started";
constexpr auto kDuration = "durationMs";
constexpr auto kVerdict = "verdict";
constexpr auto kPattern = "pattern";
constexpr auto kOrigin = "origin";
constexpr auto kNote = "note";

QString key(const char *k)
{
    return QString::fromLatin1(k);
}

void putIfSet(QJsonObject &o, const char *k, const QString &value)
{
    if (!value.isEmpty())
        o.insert(key(k), value);
}

} // namespace

QString verdictName(Verdict verdict)
{
    return verdict == Verdict::Allow ? QStringLiteral("allow") : QStringLiteral("deny");
}

std::optional<Verdict> parseVerdict(QStringView text)
{
    if (text == u"allow")
        return Verdict::Allow;
    if (text == u"deny")
        return Verdict::Deny;
    return std::nullopt;
}

QString routeName(Route route)
{
    switch (route) {
    case Route::Http:
        return QStringLiteral("http");
    case Route::Connect:
        return QStringLiteral("connect");
    case Route::TlsRoute:
        return QStringLiteral("tls-route");
    }
    return {};
}

std::optional<Route> parseRoute(QStringView text)
{
    for (Route r : {Route::Http, Route::Connect, Route::TlsRoute}) {
        if (text == routeName(r))
            return r;
    }
    return std::nullopt;
}

QJsonObject EgressRecord::toJson() const
{
    QJsonObject o;
    o.insert(key(kId), qint64(id));
    o.insert(key(kMethod), method);
    o.insert(key(kHost), host);
    o.insert(key(kPort), int(port));
    o.insert(key(kRoute), routeName(route));
    o.insert(key(kDecision), verdictName(decision));
    o.insert(key(kRule), rule);
    putIfSet(o, kReason, reason);
    putIfSet(o, kAddress, address);
    o.insert(key(kStatus), status);
    putIfSet(o, kSecret, secret);
    putIfSet(o, kError, error);
    o.insert(key(kBytesUp), bytesUp);
    o.insert(key(kBytesDown), bytesDown);
    o.insert(key(kStarted), started);
    o.insert(key(kDuration), durationMs);
    if (!sandbox.isEmpty())
        o.insert(key(kSandbox), sandbox);
    return o;
}

std::optional<EgressRecord> EgressRecord::fromEvent(const store::Event &event)
{
    if (event.kind != QLatin1String(kinds::Connection))
        return std::nullopt;
    const QJsonObject &o = event.payload;
    const auto decision = parseVerdict(o.value(key(kDecision)).toString());
    const auto route = parseRoute(o.value(key(kRoute)).toString());
    const QString host = o.value(key(kHost)).toString();
    if (!decision || !route || host.isEmpty())
        return std::nullopt;
    EgressRecord r;
    r.id = quint64(o.value(key(kId)).toInteger());
    r.session = event.session;
    r.sandbox = o.value(key(kSandbox)).toString();
    r.method = o.value(key(kMethod)).toString();
    r.host = host;
    r.port = quint16(std::clamp<qint64>(o.value(key(kPort)).toInteger(), 0, 65535));
    r.route = *route;
    r.decision = *decision;
    r.rule = o.value(key(kRule)).toString();
    r.reason = o.value(key(kReason)).toString();
    r.address = o.value(key(kAddress)).toString();
    r.status = int(o.value(key(kStatus)).toInteger());
    r.secret = o.value(key(kSecret)).toString();
    r.error = o.value(key(kError)).toString();
    r.bytesUp = o.value(key(kBytesUp)).toInteger();
    r.bytesDown = o.value(key(kBytesDown)).toInteger();
    r.started = o.value(key(kStarted)).toInteger(event.time);
    r.durationMs = o.value(key(kDuration)).toInteger();
    return r;
}

QJsonObject RuntimeRule::toJson() const
{
    QJsonObject o;
    o.insert(key(kVerdict), verdictName(verdict));
    o.insert(key(kPattern), pattern);
    putIfSet(o, kOrigin, origin);
    putIfSet(o, kNote, note);
    return o;
}

Result<QString> RuntimeRule::normalizePattern(const QString &pattern)
{
    const QString lowered = pattern.trimmed().toLower();
    if (auto problem = policy::checkDomainPattern(lowered))
        return fail(ErrorCode::InvalidArgument, *problem);
    return lowered;
}

Result<RuntimeRule> RuntimeRule::fromEvent(const store::Event &event)
{
    if (event.kind != QLatin1String(kinds::Rule))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("event %1 is a %2, not an egress rule")
                                                    .arg(event.seq)
                                                    .arg(event.kind));
    if (event.session.isEmpty())
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("egress rule event %1 names no session").arg(event.seq));
    const QJsonObject &o = event.payload;
    const auto verdict = parseVerdict(o.value(key(kVerdict)).toString());
    if (!verdict)
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("egress rule event %1: 'verdict' must be allow or deny").arg(event.seq));
    auto pattern = normalizePattern(o.value(key(kPattern)).toString());
    if (!pattern)
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("egress rule event %1: %2").arg(event.seq).arg(pattern.error().message));
    RuntimeRule rule;
    rule.session = event.session;
    rule.verdict = *verdict;
    rule.pattern = *pattern;
    rule.origin = o.value(key(kOrigin)).toString();
    rule.note = o.value(key(kNote)).toString();
    rule.time = event.time;
    return rule;
}

} // namespace airlock::egress
