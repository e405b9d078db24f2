#pragma once

#include "error.h"
#include "store/event.h"

#include <QJsonObject>
#include <QMetaType>
#include <QString>

#include <optional>

namespace airlock::egress {

// Event kinds the egress proxy writes and reads.
namespace kinds {
inline constexpr auto Connection = "egress.connection"; // one per request or tunnel, when it ends
inline constexpr auto Rule = "egress.rule";             // a runtime allow or deny for one session
} // namespace kinds

enum class Verdict { Allow, Deny };

QString verdictName(Verdict verdict); // "allow", "deny"
std::optional<Verdict> parseVerdict(QStringView text);

// How a request left the proxy.
enum class Route {
    Http,      // absolute-form request forwarded as plain HTTP
    Connect,   // CONNECT tunnel: the proxy sees host and port, never the bytes
    TlsRoute,  // a `.airlock` name or `/airlock/` path: plain HTTP in, TLS out, credentials added
};

QString routeName(Route route); // "http", "connect", "tls-route"
std::optional<Route> parseRoute(QStringView text);

// One exchange through the proxy: what was asked, what was decided and why, and what flowed. The
// same value is the payload of an egress.connection event (the session is the event's own) and the
// argument of EgressProxy's signals. It never carries a credential's value, only its name.
struct EgressRecord {
    quint64 id = 0;          // unique within one proxy's lifetime; links opened and closed signals
    QString session;         // empty for a sandbox outside any session
    QString sandbox;         // the sandbox it came from, when known
    QString method;          // GET, POST … or CONNECT
    QString host;            // as the sandbox named it, normalised (lowercase, no trailing dot)
    quint16 port = 0;
    Route route = Route::Http;
    Verdict decision = Verdict::Deny;
    QString rule;            // what decided, e.g. "policy allow *.example.com" or "default deny"
    QString reason;          // one sentence for people and for the agent
    QString address;         // the address connected to; empty when refused before resolution
    int status = 0;          // HTTP status the sandbox received (200 for an established tunnel)
    QString secret;          // name of the credential added on a TLS route, never its value
    QString error;           // why the upstream part failed, when it did
    qint64 bytesUp = 0;      // sandbox → upstream, as sent upstream (headers included)
    qint64 bytesDown = 0;    // upstream → sandbox, as delivered (headers included)
    qint64 started = 0;      // ms since the Unix epoch, UTC
    qint64 durationMs = 0;

    QJsonObject toJson() const;
    // Reads an egress.connection event back; nothing for other kinds or a payload that is not one.
    static std::optional<EgressRecord> fromEvent(const store::Event &event);
};

// A runtime rule: "allow for this session" from the GUI, or `airlockctl egress allow|deny`.
struct RuntimeRule {
    QString session;
    Verdict verdict = Verdict::Allow;
    QString pattern;         // a domain pattern, as in the policy's network lists
    QString origin;          // who added it: "gui", "airlockctl", "api"
    QString note;
    qint64 time = 0;         // ms since the Unix epoch; from the event when read back

    QJsonObject toJson() const;
    // Checks the payload of an egress.rule event strictly; the message says what is wrong.
    static Result<RuntimeRule> fromEvent(const store::Event &event);
    // A pattern a runtime rule may carry: a valid domain pattern, lowercased first.
    static Result<QString> normalizePattern(const QString &pattern);
};

} // namespace airlock::egress

Q_DECLARE_METATYPE(airlock::egress::EgressRecord)
Q_DECLARE_METATYPE(airlock::egress::RuntimeRule)
