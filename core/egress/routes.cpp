#include "egress/routes.h"

#include "egress/egressrules.h"

#include <http_parser.h>

namespace airlock::egress {

namespace {

std::unexpected<HeadFailure> refuse(int status, QString message)
{
    return std::unexpected(HeadFailure{status, std::move(message)});
}

QByteArrayView field(const QByteArray &url, const http_parser_url &u, int which)
{
    if (!(u.field_set & (1 << which)))
        return {};
    return QByteArrayView(url).sliced(u.field_data[which].off, u.field_data[which].len);
}

std::expected<quint16, HeadFailure> parsePort(QByteArrayView text, quint16 fallback)
{
    if (text.isEmpty())
        return fallback;
    bool ok = false;
    const uint port = text.toUInt(&ok);
    if (!ok || port < 1 || port > 65535 || text.size() > 5)
        return refuse(400, QStringLiteral("'%1' is not a port").arg(QString::fromLatin1(text.first(std::min<qsizetype>(16, text.size())))));
    return quint16(port);
}

std::expected<QString, HeadFailure> hostOf(QByteArrayView raw)
{
    auto host = normalizeHost(QString::fromLatin1(raw));
    if (!host)
        return refuse(400, host.error().message);
    return *host;
}

// A Host header that names another host than the request target is refused: the proxy decides on
// the target and writes the upstream's Host from it, but a client (or a log, or a person reading the
// egress record) that believed the Host header would be misled about where the request went. Names
// are compared normalised; the port is not, since the proxy never forwards this header.
std::expected<void, HeadFailure> checkHostHeader(const RequestHead &head, const QString &host)
{
    const QByteArray value = headerValue(head.headers, "host");
    if (value.isEmpty() && headerCount(head.headers, "host") == 0)
        return {};
    QByteArrayView hostPart = value;
    QByteArrayView portPart;
    const qsizetype close = value.lastIndexOf(']');
    const qsizetype colon = value.lastIndexOf(':');
    if (colon >= 0 && colon > close && (value.startsWith('[') || value.indexOf(':') == colon)) {
        hostPart = QByteArrayView(value).first(colon);
        portPart = QByteArrayView(value).sliced(colon + 1);
    }
    const auto named = normalizeHost(QString::fromLatin1(hostPart));
    const auto namedPort = parsePort(portPart, 1);
    if (!named || !namedPort || *named != host)
        return refuse(400, QStringLiteral("the Host header '%1' does not name the request target's host %2; "
                                          "send them the same")
                               .arg(QString::fromLatin1(value.left(100)), host));
    return {};
}

// "/airlock/HOST[:PORT]/rest" → https://HOST:PORT/rest
std::expected<Target, HeadFailure> pathRoute(QByteArrayView target)
{
    QByteArrayView rest = target.sliced(qsizetype(std::strlen(kRoutePathPrefix)));
    qsizetype end = 0;
    while (end < rest.size() && rest[end] != '/' && rest[end] != '?')
        ++end;
    const QByteArrayView authority = rest.first(end);
    QByteArrayView path = rest.sliced(end);
    if (authority.isEmpty())
        return refuse(400, QStringLiteral("a route path is /airlock/HOST/…; the host is missing"));
    QByteArrayView hostPart = authority;
    QByteArrayView portPart;
    if (const qsizetype colon = authority.lastIndexOf(':'); colon >= 0 && !authority.startsWith('[')) {
        hostPart = authority.first(colon);
        portPart = authority.sliced(colon + 1);
    }
    auto host = hostOf(hostPart);
    if (!host)
        return std::unexpected(host.error());
    auto port = parsePort(portPart, 443);
    if (!port)
        return std::unexpected(port.error());
    Target t;
    t.route = Route::TlsRoute;
    t.host = *host;
    t.port = *port;
    t.path = path.isEmpty() ? QByteArray("/") : path.startsWith('?') ? "/" + path.toByteArray() : path.toByteArray();
    return t;
}

} // namespace

std::expected<Target, HeadFailure> requestTarget(const RequestHead &head, const Target *tunnel)
{
    const QByteArray &url = head.target;
    if (tunnel) {
        // Inside a route tunnel the client speaks to the route's host as if it were the server.
        if (head.isConnect || !url.startsWith('/') || url.startsWith(kRoutePathPrefix))
            return refuse(400, QStringLiteral("inside a tunnel to %1%2 send plain requests (GET /path)")
                                   .arg(tunnel->host, QLatin1String(kRouteSuffix)));
        if (auto same = checkHostHeader(head, tunnel->host + QLatin1String(kRouteSuffix)); !same)
            return std::unexpected(same.error());
        return Target{Route::TlsRoute, tunnel->host, tunnel->port, url, false};
    }
    if (head.isConnect) {
        http_parser_url u;
        http_parser_url_init(&u);
        if (http_parser_parse_url(url.constData(), size_t(url.size()), 1, &u) != 0)
            return refuse(400, QStringLiteral("CONNECT takes host:port"));
        auto host = hostOf(field(url, u, UF_HOST));
        if (!host)
            return std::unexpected(host.error());
        auto port = parsePort(field(url, u, UF_PORT), 0);
        if (!port)
            return std::unexpected(port.error());
        if (*port == 0)
            return refuse(400, QStringLiteral("CONNECT takes host:port; the port is missing"));
        if (auto same = checkHostHeader(head, *host); !same)
            return std::unexpected(same.error());
        if (host->endsWith(QLatin1String(kRouteSuffix)) && host->size() > qsizetype(std::strlen(kRouteSuffix))) {
            auto upstream = hostOf(host->chopped(qsizetype(std::strlen(kRouteSuffix))).toLatin1());
            if (!upstream)
                return std::unexpected(upstream.error());
            return Target{Route::TlsRoute, *upstream, *port, {}, true};
        }
        return Target{Route::Connect, *host, *port, {}, false};
    }
    if (url.startsWith(kRoutePathPrefix))
        return pathRoute(url);
    if (url.startsWith('/') || url == "*")
        return refuse(400, QStringLiteral("this is a forward proxy: send absolute-form requests (GET "
                                          "http://host/path) or CONNECT host:port; for a TLS route with "
                                          "credentials use http://HOST.airlock/ through the proxy or "
                                          "/airlock/HOST/ on it"));
    http_parser_url u;
    http_parser_url_init(&u);
    if (http_parser_parse_url(url.constData(), size_t(url.size()), 0, &u) != 0 || !(u.field_set & (1 << UF_SCHEMA))
        || !(u.field_set & (1 << UF_HOST)))
        return refuse(400, QStringLiteral("the request target is not an absolute http:// URL"));
    const QByteArrayView scheme = field(url, u, UF_SCHEMA);
    if (sameName(scheme, "https"))
        return refuse(400, QStringLiteral("send https:// through CONNECT; the proxy does not see inside TLS"));
    if (!sameName(scheme, "http"))
        return refuse(400, QStringLiteral("only http:// URLs and CONNECT go through this proxy"));
    if (u.field_set & (1 << UF_USERINFO))
        return refuse(400, QStringLiteral("user info in the URL is refused; credentials come from the "
                                          "policy's secrets"));
    auto host = hostOf(field(url, u, UF_HOST));
    if (!host)
        return std::unexpected(host.error());
    QByteArray path = field(url, u, UF_PATH).toByteArray();
    if (path.isEmpty())
        path = "/";
    if (u.field_set & (1 << UF_QUERY))
        path += '?' + field(url, u, UF_QUERY).toByteArray();

    // The Host header names the URL's host (for a route, HOST.airlock).
    if (auto same = checkHostHeader(head, *host); !same)
        return std::unexpected(same.error());

    Target t;
    t.path = path;
    if (host->endsWith(QLatin1String(kRouteSuffix)) && host->size() > qsizetype(std::strlen(kRouteSuffix))) {
        auto upstream = hostOf(host->chopped(qsizetype(std::strlen(kRouteSuffix))).toLatin1());
        if (!upstream)
            return std::unexpected(upstream.error());
        auto port = parsePort(field(url, u, UF_PORT), 443);
        if (!port)
            return std::unexpected(port.error());
        t.route = Route::TlsRoute;
        t.host = *upstream;
        t.port = *port;
        return t;
    }
    auto port = parsePort(field(url, u, UF_PORT), 80);
    if (!port)
        return std::unexpected(port.error());
    t.route = Route::Http;
    t.host = *host;
    t.port = *port;
    return t;
}

QByteArray upstreamRequestHead(const RequestHead &head, const Target &target, const Headers &inject)
{
    const QList<QByteArray> tokens = connectionTokens(head.headers);
    QByteArray out;
    out.reserve(1024);
    out += head.method + ' ' + target.path + " HTTP/1.1\r\n";
    QByteArray host = target.host.toLatin1();
    if (target.host.contains(u':'))
        host = '[' + host + ']';
    const quint16 defaultPort = target.route == Route::TlsRoute ? 443 : 80;
    if (target.port != defaultPort)
        host += ':' + QByteArray::number(target.port);
    out += "Host: " + host + "\r\n";
    for (const Header &h : head.headers) {
        if (sameName(h.name, "host") || isHopByHop(h.name, tokens))
            continue;
        const bool replaced = std::any_of(inject.cbegin(), inject.cend(),
                                          [&](const Header &i) { return sameName(i.name, h.name); });
        if (!replaced)
            out += h.name + ": " + h.value + "\r\n";
    }
    for (const Header &h : inject)
        out += h.name + ": " + h.value + "\r\n";
    out += "Connection: close\r\n\r\n";
    return out;
}

QByteArray clientResponseHead(const ResponseHead &head, bool keepAlive, bool dropChunked)
{
    const QList<QByteArray> tokens = connectionTokens(head.headers);
    QByteArray out;
    out.reserve(1024);
    out += head.statusLine + "\r\n";
    for (const Header &h : head.headers) {
        if (dropChunked && sameName(h.name, "transfer-encoding"))
            continue;
        if (!isHopByHop(h.name, tokens))
            out += h.name + ": " + h.value + "\r\n";
    }
    out += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
    return out;
}

} // namespace airlock::egress
