#include "egress/httphead.h"

#include <cstring>

namespace airlock::egress {

namespace {

HeadFailure failure(int status, QString message)
{
    return HeadFailure{status, std::move(message)};
}

bool isFieldValueChar(unsigned char c)
{
    // HTAB, SP, visible ASCII and obs-text; never NUL, CR, LF, other controls or DEL.
    return c == '\t' || c == ' ' || (c >= 0x21 && c <= 0x7e) || c >= 0x80;
}

bool isTargetChar(unsigned char c)
{
    return c >= 0x21 && c <= 0x7e;
}

bool allOf(QByteArrayView bytes, bool (*pred)(unsigned char))
{
    for (const char c : bytes) {
        if (!pred(static_cast<unsigned char>(c)))
            return false;
    }
    return true;
}

bool isDigit(char c)
{
    return c >= '0' && c <= '9';
}

std::optional<HeadFailure> checkRequestLine(QByteArrayView line)
{
    const qsizetype sp1 = line.indexOf(' ');
    const qsizetype sp2 = sp1 < 0 ? -1 : line.indexOf(' ', sp1 + 1);
    if (sp1 <= 0 || sp2 <= sp1 + 1 || line.indexOf(' ', sp2 + 1) >= 0)
        return failure(400, QStringLiteral("the request line must be METHOD SP TARGET SP HTTP/1.1, "
                                           "separated by single spaces"));
    const QByteArrayView method = line.first(sp1);
    const QByteArrayView target = line.sliced(sp1 + 1, sp2 - sp1 - 1);
    const QByteArrayView version = line.sliced(sp2 + 1);
    for (const char c : method) {
        if (!isTokenChar(c))
            return failure(400, QStringLiteral("the request method is not a token"));
    }
    if (!allOf(target, isTargetChar))
        return failure(400, QStringLiteral("the request target contains spaces, controls or non-ASCII bytes"));
    if (version == "HTTP/1.1" || version == "HTTP/1.0")
        return std::nullopt;
    if (version.size() == 8 && version.startsWith("HTTP/") && isDigit(version[5]) && version[6] == '.'
        && isDigit(version[7]))
        return failure(505, QStringLiteral("only HTTP/1.0 and HTTP/1.1 go through this proxy"));
    return failure(400, QStringLiteral("the request line does not end with an HTTP version"));
}

std::optional<HeadFailure> checkStatusLine(QByteArrayView line)
{
    // HTTP/1.x SP 3DIGIT [SP reason]; a missing reason (and its space) is tolerated from servers.
    const bool ok = line.size() >= 12 && line.startsWith("HTTP/1.") && isDigit(line[7]) && line[8] == ' '
                    && isDigit(line[9]) && isDigit(line[10]) && isDigit(line[11])
                    && (line.size() == 12 || line[12] == ' ')
                    && allOf(line.sliced(std::min<qsizetype>(12, line.size())), isFieldValueChar);
    if (!ok)
        return failure(502, QStringLiteral("the upstream server sent a malformed status line"));
    return std::nullopt;
}

std::optional<HeadFailure> checkHeaderLine(QByteArrayView line, int status)
{
    if (line.front() == ' ' || line.front() == '\t')
        return failure(status, QStringLiteral("a header is folded over several lines (obs-fold)"));
    const qsizetype colon = line.indexOf(':');
    if (colon <= 0)
        return failure(status, QStringLiteral("a header line has no name or no colon"));
    for (const char c : line.first(colon)) {
        if (!isTokenChar(c))
            return failure(status, QStringLiteral("a header name contains a space or a character that is "
                                                  "not allowed"));
    }
    if (!allOf(line.sliced(colon + 1), isFieldValueChar))
        return failure(status, QStringLiteral("a header value contains a control character"));
    return std::nullopt;
}

} // namespace

bool plausibleRequestLineStart(QByteArrayView partial)
{
    bool inMethod = true;
    for (qsizetype i = 0; i < partial.size(); ++i) {
        const auto c = static_cast<unsigned char>(partial[i]);
        if (c == '\r' && i == partial.size() - 1)
            return true; // the CRLF may be half-way in
        if (inMethod) {
            if (c == ' ' && i > 0)
                inMethod = false;
            else if (!isTokenChar(char(c)))
                return false;
        } else if (c != ' ' && !isTargetChar(c)) {
            return false;
        }
    }
    return true;
}

bool isTokenChar(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c))
        return true;
    return c != 0 && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

std::optional<HeadFailure> HeadScanner::checkLine(QByteArrayView line, bool first) const
{
    const bool request = m_kind == Kind::Request;
    if (first)
        return request ? checkRequestLine(line) : checkStatusLine(line);
    return checkHeaderLine(line, request ? 400 : 502);
}

std::expected<qsizetype, HeadFailure> HeadScanner::scan(QByteArrayView buffered)
{
    const bool request = m_kind == Kind::Request;
    const int tooLong = request ? 431 : 502;
    while (true) {
        const bool first = m_lineStart == 0;
        // memchr is not for an empty buffer, whose data() may be null (the first scan of a connection).
        const auto *nl = m_lineStart < buffered.size()
                             ? static_cast<const char *>(std::memchr(buffered.data() + m_lineStart, '\n',
                                                                     size_t(buffered.size() - m_lineStart)))
                             : nullptr;
        if (!nl) {
            // A request line can be judged while it arrives: a TLS hello or other binary sent to the
            // proxy is refused at once instead of waiting out the head timeout.
            if (first && request && !plausibleRequestLineStart(buffered))
                return std::unexpected(failure(400, QStringLiteral("this is not an HTTP request (to reach an https:// "
                                                                   "URL, send CONNECT first)")));
            if (first && buffered.size() > m_limits.maxStartLine)
                return std::unexpected(failure(request ? 414 : 502, QStringLiteral("the %1 line is longer than "
                                                                                   "%2 bytes")
                                                                        .arg(request ? u"request" : u"status")
                                                                        .arg(m_limits.maxStartLine)));
            if (buffered.size() > m_limits.maxHead)
                return std::unexpected(failure(tooLong, QStringLiteral("the headers are larger than %1 bytes")
                                                            .arg(m_limits.maxHead)));
            return 0;
        }
        const qsizetype end = nl - buffered.data() + 1; // one past the LF
        const qsizetype length = end - m_lineStart;
        if (first && length > m_limits.maxStartLine)
            return std::unexpected(failure(request ? 414 : 502, QStringLiteral("the %1 line is longer than %2 "
                                                                               "bytes")
                                                                    .arg(request ? u"request" : u"status")
                                                                    .arg(m_limits.maxStartLine)));
        if (end > m_limits.maxHead)
            return std::unexpected(failure(tooLong, QStringLiteral("the headers are larger than %1 bytes")
                                                        .arg(m_limits.maxHead)));
        if (length < 2 || buffered[end - 2] != '\r')
            return std::unexpected(failure(request ? 400 : 502,
                                           QStringLiteral("a line ends with a bare LF instead of CRLF")));
        const QByteArrayView content = buffered.sliced(m_lineStart, length - 2);
        if (content.contains('\r'))
            return std::unexpected(failure(request ? 400 : 502, QStringLiteral("a line contains a bare CR")));
        if (content.isEmpty()) {
            if (first)
                return std::unexpected(failure(request ? 400 : 502, QStringLiteral("the message starts with "
                                                                                   "an empty line")));
            return end;
        }
        if (auto problem = checkLine(content, first))
            return std::unexpected(*problem);
        if (!first && ++m_headers > m_limits.maxHeaders)
            return std::unexpected(failure(tooLong, QStringLiteral("more than %1 header lines")
                                                        .arg(m_limits.maxHeaders)));
        m_lineStart = end;
    }
}

void HeadScanner::reset()
{
    m_lineStart = 0;
    m_headers = 0;
}

bool sameName(QByteArrayView a, QByteArrayView b)
{
    return a.compare(b, Qt::CaseInsensitive) == 0;
}

QByteArray headerValue(const Headers &headers, QByteArrayView name)
{
    for (const Header &h : headers) {
        if (sameName(h.name, name))
            return h.value;
    }
    return {};
}

int headerCount(const Headers &headers, QByteArrayView name)
{
    return int(std::count_if(headers.cbegin(), headers.cend(), [&](const Header &h) { return sameName(h.name, name); }));
}

QList<QByteArray> connectionTokens(const Headers &headers)
{
    QList<QByteArray> tokens;
    for (const Header &h : headers) {
        if (!sameName(h.name, "connection"))
            continue;
        for (const QByteArray &t : h.value.split(',')) {
            const QByteArray token = t.trimmed().toLower();
            if (!token.isEmpty())
                tokens << token;
        }
    }
    return tokens;
}

bool isHopByHop(QByteArrayView name, const QList<QByteArray> &tokens)
{
    static const char *const fixed[] = {"connection", "proxy-connection", "keep-alive", "proxy-authorization",
                                        "proxy-authenticate", "te", "upgrade"};
    for (const char *f : fixed) {
        if (sameName(name, f))
            return true;
    }
    // A Connection header may not strip the headers that frame the message or name its host: doing
    // so would make the next hop read the body differently from us.
    if (sameName(name, "content-length") || sameName(name, "transfer-encoding") || sameName(name, "host"))
        return false;
    const QByteArray lowered = name.toByteArray().toLower();
    return tokens.contains(lowered);
}

QByteArray reasonPhrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 414: return "URI Too Long";
    case 421: return "Misdirected Request";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
    }
}

QByteArray proxyResponse(int status, const QString &message, const QByteArray &extraHeaders)
{
    const QByteArray body = "Airlock egress proxy: " + message.toUtf8() + '\n';
    QByteArray out = "HTTP/1.1 " + QByteArray::number(status) + ' ' + reasonPhrase(status) + "\r\n";
    out += "Content-Type: text/plain; charset=utf-8\r\n";
    out += "Content-Length: " + QByteArray::number(body.size()) + "\r\n";
    out += "Connection: close\r\n";
    out += extraHeaders;
    out += "\r\n";
    out += body;
    return out;
}

} // namespace airlock::egress
