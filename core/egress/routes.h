#pragma once

#include "egress/egressrecord.h"
#include "egress/httpmessage.h"

// Where a request goes, and the heads the proxy writes on each side.
//
// Three spellings reach a TLS route, on which the proxy adds the policy's credentials for the host
// and speaks TLS upstream (see README.md):
//   through the proxy:  GET http://api.example.com.airlock[:PORT]/v1/x   → https://api.example.com[:PORT]/v1/x
//   tunnelled to it:    CONNECT api.example.com.airlock:PORT, then plain GET /v1/x inside (clients that
//                       tunnel every proxied URL, such as Node's fetch)  → https://api.example.com:PORT/v1/x
//   to the proxy:       GET /airlock/api.example.com[:PORT]/v1/x          → https://api.example.com[:PORT]/v1/x
// PORT defaults to 443.

namespace airlock::egress {

inline constexpr char kRouteSuffix[] = ".airlock";
inline constexpr char kRoutePathPrefix[] = "/airlock/";

struct Target {
    Route route = Route::Http;
    QString host;        // normalised
    quint16 port = 0;
    QByteArray path;     // origin-form sent upstream (at least "/"); empty for CONNECT
    // CONNECT HOST.airlock:PORT: no upstream connection; the proxy answers 200 and the plain requests
    // that follow on the connection go to this route.
    bool opensRoute = false;
};

// Reads the request target: CONNECT host:port, absolute-form http:// URLs, and the two TLS-route
// spellings. Anything else (https:// URLs, user info, asterisk-form, other origin-form paths) is refused
// with a message that says what to send instead.
// `tunnel` is the route an earlier CONNECT HOST.airlock opened on this connection: then only
// origin-form requests naming it in Host are taken.
std::expected<Target, HeadFailure> requestTarget(const RequestHead &head, const Target *tunnel = nullptr);

// The head sent upstream: origin-form, Host from the target, hop-by-hop headers dropped,
// `Connection: close` (upstream connections are not reused), and `inject` replacing any header the
// client sent under the same names.
QByteArray upstreamRequestHead(const RequestHead &head, const Target &target, const Headers &inject);

// The response head passed to the sandbox: the status line as received, hop-by-hop headers dropped, and
// a Connection header saying whether the proxy keeps the client connection.
// dropChunked: the body goes out without its chunks (to an HTTP/1.0 client), so Transfer-Encoding
// goes too and the end of the body is the end of the connection.
QByteArray clientResponseHead(const ResponseHead &head, bool keepAlive, bool dropChunked = false);

} // namespace airlock::egress
