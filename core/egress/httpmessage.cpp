#include "egress/httpmessage.h"

#include <http_parser.h>

namespace airlock::egress {

namespace {

HeadFailure failure(int status, QString message)
{
    return HeadFailure{status, std::move(message)};
}

} // namespace

// libhttp-parser calls back with pieces of the URL, names and values; they are joined here.
struct ParserCallbacks {
    static HttpMessageParser *self(http_parser *p) { return static_cast<HttpMessageParser *>(p->data); }

    static int onUrl(http_parser *p, const char *at, size_t n)
    {
        self(p)->m_url.append(at, qsizetype(n));
        return 0;
    }
    static int onField(http_parser *p, const char *at, size_t n)
    {
        HttpMessageParser *s = self(p);
        if (s->m_headersDone)
            return 0; // trailers are dropped, never collected
        if (s->m_headers.isEmpty() || s->m_lastWasValue)
            s->m_headers.append(Header{});
        s->m_headers.last().name.append(at, qsizetype(n));
        s->m_lastWasValue = false;
        return 0;
    }
    static int onValue(http_parser *p, const char *at, size_t n)
    {
        HttpMessageParser *s = self(p);
        if (s->m_headersDone)
            return 0;
        if (s->m_headers.isEmpty())
            return 1;
        s->m_headers.last().value.append(at, qsizetype(n));
        s->m_lastWasValue = true;
        return 0;
    }
    static int onHeadersComplete(http_parser *p)
    {
        HttpMessageParser *s = self(p);
        s->m_headersDone = true;
        s->m_chunked = (p->flags & F_CHUNKED) != 0;
        if (s->m_kind != HttpMessageParser::Kind::Response)
            return 0;
        // 1 tells a response parser that there is no body: the answer to HEAD, and 1xx, 204 and 304
        // whatever their Content-Length says.
        const unsigned status = p->status_code;
        return s->m_headRequest || status < 200 || status == 204 || status == 304 ? 1 : 0;
    }
    static int onChunkHeader(http_parser *p)
    {
        HttpMessageParser *s = self(p);
        s->m_lastChunk = p->content_length == 0;
        if (!s->m_lastChunk && !s->m_dechunk)
            s->m_output += QByteArray::number(qulonglong(p->content_length), 16) + "\r\n";
        return 0;
    }
    static int onBody(http_parser *p, const char *at, size_t n)
    {
        HttpMessageParser *s = self(p);
        if (s->m_chunked)
            s->m_output.append(at, qsizetype(n));
        return 0;
    }
    static int onChunkComplete(http_parser *p)
    {
        HttpMessageParser *s = self(p);
        if (!s->m_dechunk)
            s->m_output += s->m_lastChunk ? QByteArrayLiteral("0\r\n\r\n") : QByteArrayLiteral("\r\n");
        return 0;
    }
    static int onMessageComplete(http_parser *p)
    {
        self(p)->m_complete = true;
        // Pausing makes http_parser_execute return right after this message's last byte.
        http_parser_pause(p, 1);
        return 0;
    }
    static const http_parser_settings &settings()
    {
        static const http_parser_settings s = [] {
            http_parser_settings st;
            http_parser_settings_init(&st);
            st.on_url = onUrl;
            st.on_header_field = onField;
            st.on_header_value = onValue;
            st.on_headers_complete = onHeadersComplete;
            st.on_message_complete = onMessageComplete;
            st.on_chunk_header = onChunkHeader;
            st.on_body = onBody;
            st.on_chunk_complete = onChunkComplete;
            return st;
        }();
        return s;
    }
};

HttpMessageParser::HttpMessageParser(Kind kind) : m_kind(kind), m_parser(std::make_unique<http_parser>())
{
    reset();
}

HttpMessageParser::~HttpMessageParser() = default;

void HttpMessageParser::reset(bool headRequest)
{
    http_parser_init(m_parser.get(), m_kind == Kind::Request ? HTTP_REQUEST : HTTP_RESPONSE);
    m_parser->data = this;
    m_headRequest = headRequest;
    m_headersDone = false;
    m_complete = false;
    m_lastWasValue = false;
    m_chunked = false;
    m_lastChunk = false;
    m_dechunk = false;
    m_output.clear();
    m_url.clear();
    m_headers.clear();
    m_request = {};
    m_response = {};
}

HeadFailure HttpMessageParser::parserFailure() const
{
    const auto err = http_errno(m_parser->http_errno);
    const int status = m_kind == Kind::Request ? 400 : 502;
    const QString who = m_kind == Kind::Request ? QStringLiteral("the request") : QStringLiteral("the upstream response");
    return failure(status, QStringLiteral("%1 is malformed (%2)").arg(who, QString::fromLatin1(http_errno_description(err))));
}

std::expected<void, HeadFailure> HttpMessageParser::parseHead(QByteArrayView head)
{
    const size_t n = http_parser_execute(m_parser.get(), &ParserCallbacks::settings(), head.data(), size_t(head.size()));
    const auto err = http_errno(m_parser->http_errno);
    if (err == HPE_PAUSED)
        http_parser_pause(m_parser.get(), 0);
    else if (err != HPE_OK)
        return std::unexpected(parserFailure());
    if (!m_headersDone || n != size_t(head.size()))
        return std::unexpected(parserFailure());
    for (Header &h : m_headers)
        h.value = h.value.trimmed();
    if (m_kind == Kind::Response)
        m_response.statusLine = head.first(std::max<qsizetype>(0, head.indexOf("\r\n"))).toByteArray();
    return m_kind == Kind::Request ? checkRequest() : checkResponse();
}

std::expected<void, HeadFailure> HttpMessageParser::checkRequest()
{
    RequestHead &r = m_request;
    r.method = http_method_str(http_method(m_parser->method));
    r.target = m_url;
    r.minorVersion = m_parser->http_minor;
    r.headers = m_headers;
    r.isConnect = m_parser->method == HTTP_CONNECT;
    r.upgrade = m_parser->upgrade && !r.isConnect;
    r.keepAlive = http_should_keep_alive(m_parser.get()) != 0;
    if (m_parser->http_major != 1 || m_parser->http_minor > 1)
        return std::unexpected(failure(505, QStringLiteral("only HTTP/1.0 and HTTP/1.1 go through this proxy")));
    const int hosts = headerCount(r.headers, "host");
    if (hosts > 1)
        return std::unexpected(failure(400, QStringLiteral("the request has more than one Host header")));
    if (hosts == 0 && r.minorVersion == 1)
        return std::unexpected(failure(400, QStringLiteral("an HTTP/1.1 request needs a Host header")));
    if (headerCount(r.headers, "content-length") > 1)
        return std::unexpected(failure(400, QStringLiteral("the request has more than one Content-Length header")));
    const int codings = headerCount(r.headers, "transfer-encoding");
    if (codings > 0) {
        if (codings > 1)
            return std::unexpected(failure(400, QStringLiteral("the request has more than one Transfer-Encoding "
                                                               "header")));
        if (r.minorVersion == 0)
            return std::unexpected(failure(400, QStringLiteral("HTTP/1.0 has no Transfer-Encoding")));
        if (headerCount(r.headers, "content-length") > 0)
            return std::unexpected(failure(400, QStringLiteral("the request has both Content-Length and "
                                                               "Transfer-Encoding")));
        if (!sameName(headerValue(r.headers, "transfer-encoding"), "chunked"))
            return std::unexpected(failure(501, QStringLiteral("the only transfer coding the proxy takes is "
                                                               "'chunked'")));
    }
    if (r.isConnect && (m_parser->flags & (F_CHUNKED | F_CONTENTLENGTH)) && m_parser->content_length > 0)
        return std::unexpected(failure(400, QStringLiteral("a CONNECT request has no body")));
    // A CONNECT or an upgrade ends the HTTP part of the stream; there is nothing more to frame.
    if (m_parser->upgrade)
        m_complete = true;
    return {};
}

std::expected<void, HeadFailure> HttpMessageParser::checkResponse()
{
    ResponseHead &r = m_response;
    r.status = m_parser->status_code;
    r.headers = m_headers;
    r.keepAlive = http_should_keep_alive(m_parser.get()) != 0;
    if (r.status < 100 || r.status > 599)
        return std::unexpected(failure(502, QStringLiteral("the upstream server sent status %1").arg(r.status)));
    if (r.status == 101 || m_parser->upgrade)
        return std::unexpected(failure(502, QStringLiteral("the upstream server switched protocols unasked")));
    if (headerCount(r.headers, "content-length") > 1 || headerCount(r.headers, "transfer-encoding") > 1)
        return std::unexpected(failure(502, QStringLiteral("the upstream response frames its body twice")));
    const bool framed = m_chunked || (m_parser->flags & F_CONTENTLENGTH) != 0;
    const bool bodiless = m_headRequest || r.status < 200 || r.status == 204 || r.status == 304;
    r.untilClose = !framed && !bodiless;
    if (r.untilClose)
        r.keepAlive = false;
    return {};
}

std::expected<qsizetype, HeadFailure> HttpMessageParser::feed(QByteArrayView data)
{
    if (m_complete || data.isEmpty())
        return 0;
    const size_t n = http_parser_execute(m_parser.get(), &ParserCallbacks::settings(), data.data(), size_t(data.size()));
    const auto err = http_errno(m_parser->http_errno);
    if (err == HPE_PAUSED)
        http_parser_pause(m_parser.get(), 0);
    else if (err != HPE_OK)
        return std::unexpected(parserFailure());
    return qsizetype(n);
}

QByteArray HttpMessageParser::takeOutput()
{
    return std::exchange(m_output, {});
}

std::expected<void, HeadFailure> HttpMessageParser::finish()
{
    if (m_complete)
        return {};
    if (m_kind == Kind::Response && m_headersDone && m_response.untilClose) {
        // A zero-length execute tells the parser the stream ended, which completes such a body.
        http_parser_execute(m_parser.get(), &ParserCallbacks::settings(), nullptr, 0);
        if (http_errno(m_parser->http_errno) == HPE_PAUSED)
            http_parser_pause(m_parser.get(), 0);
        m_complete = true;
        return {};
    }
    const QString who = m_kind == Kind::Request ? QStringLiteral("the request") : QStringLiteral("the upstream response");
    return std::unexpected(failure(m_kind == Kind::Request ? 400 : 502, QStringLiteral("%1 ended before its body was "
                                                                                       "complete")
                                                                            .arg(who)));
}

} // namespace airlock::egress
