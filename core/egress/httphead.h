#pragma once

#include <QByteArray>
#include <QList>
#include <QString>

#include <expected>

// Message heads as they cross the proxy: found and checked byte by byte before libhttp-parser sees
// them, because that parser is lenient where a proxy must not be (bare LF, obs-fold, whitespace
// before the colon, HTTP/0.9). A head that two parsers could read differently is refused, never
// repaired: that is what request smuggling lives on.

namespace airlock::egress {

struct HeadLimits {
    qsizetype maxStartLine = 8 * 1024; // request line or status line, CRLF included
    qsizetype maxHead = 64 * 1024;     // start line, headers and the blank line
    int maxHeaders = 100;
};

// Why a head was refused: the HTTP status to answer with and a message for the answer's body.
struct HeadFailure {
    int status = 400;
    QString message;
};

struct Header {
    QByteArray name;
    QByteArray value; // without surrounding whitespace
};
using Headers = QList<Header>;

// Finds the end of one head in a buffer that grows at the end between calls. Each byte is looked at
// once, so a peer trickling a head byte by byte costs linear time.
class HeadScanner
{
public:
    enum class Kind { Request, Response };
    HeadScanner(Kind kind, HeadLimits limits = {}) : m_kind(kind), m_limits(limits) {}

    // The length of the complete head (blank line included), 0 while more bytes are needed, or why
    // the head is refused. The buffer must start at the head's first byte.
    std::expected<qsizetype, HeadFailure> scan(QByteArrayView buffered);
    void reset();

private:
    std::optional<HeadFailure> checkLine(QByteArrayView line, bool first) const;

    Kind m_kind;
    HeadLimits m_limits;
    qsizetype m_lineStart = 0;
    int m_headers = 0;
};

bool isTokenChar(char c);
// Could these bytes begin a request line? A method token, then visible ASCII and spaces.
bool plausibleRequestLineStart(QByteArrayView partial);
// Header lookup is case-insensitive, as header names are.
bool sameName(QByteArrayView a, QByteArrayView b);
QByteArray headerValue(const Headers &headers, QByteArrayView name);
int headerCount(const Headers &headers, QByteArrayView name);
// The lowercase tokens of every Connection header: the headers they name are hop-by-hop too.
QList<QByteArray> connectionTokens(const Headers &headers);
// Connection, Keep-Alive, Proxy-*, TE, Upgrade, Trailer-less hop-by-hop set, and those listed in
// Connection; they describe one hop and are never forwarded.
bool isHopByHop(QByteArrayView name, const QList<QByteArray> &tokens);

// A complete answer from the proxy itself (errors and refusals): text/plain, always closing.
QByteArray proxyResponse(int status, const QString &message, const QByteArray &extraHeaders = {});
QByteArray reasonPhrase(int status);

} // namespace airlock::egress
