#include "docker/httpresponseparser.h"

#include <http_parser.h>

namespace airlock::docker {

QByteArray HttpResponseHead::header(QByteArrayView name) const
{
    for (const auto &[key, value] : headers) {
        if (key.compare(name, Qt::CaseInsensitive) == 0)
            return value;
    }
    return {};
}

// The C parser and its callback table; the callbacks find the C++ object through parser.data.
struct HttpResponseParser::Native
{
    http_parser parser{};
    http_parser_settings settings{};

    static HttpResponseParser *self(http_parser *p) { return static_cast<HttpResponseParser *>(p->data); }
};

HttpResponseParser::HttpResponseParser(HttpLimits limits) : m_limits(limits), m_native(std::make_unique<Native>())
{
    http_parser_settings &s = m_native->settings;
    http_parser_settings_init(&s);
    s.on_status = [](http_parser *p, const char *at, size_t n) { return Native::self(p)->status(at, n); };
    s.on_header_field = [](http_parser *p, const char *at, size_t n) { return Native::self(p)->headerField(at, n); };
    s.on_header_value = [](http_parser *p, const char *at, size_t n) { return Native::self(p)->headerValue(at, n); };
    s.on_headers_complete = [](http_parser *p) { return Native::self(p)->headersComplete(); };
    s.on_body = [](http_parser *p, const char *at, size_t n) { return Native::self(p)->body(at, n); };
    s.on_message_complete = [](http_parser *p) { return Native::self(p)->messageComplete(); };
    reset();
}

HttpResponseParser::~HttpResponseParser() = default;

void HttpResponseParser::reset()
{
    http_parser_init(&m_native->parser, HTTP_RESPONSE);
    m_native->parser.data = this;
    m_head = {};
    m_field.clear();
    m_value.clear();
    m_inValue = false;
    m_headerBytes = 0;
    m_bodyBytes = 0;
    m_started = false;
    m_complete = false;
    m_error.reset();
    m_callbackError.clear();
}

Result<void> HttpResponseParser::failWith(const QString &message)
{
    m_error = Error{ErrorCode::Io, QStringLiteral("the Docker daemon sent a bad HTTP response: ") + message};
    return std::unexpected(*m_error);
}

int HttpResponseParser::status(const char *at, size_t length)
{
    m_headerBytes += qsizetype(length);
    if (m_headerBytes > m_limits.maxHeaderBytes) {
        m_callbackError = QStringLiteral("the status line is longer than %1 bytes").arg(m_limits.maxHeaderBytes);
        return 1;
    }
    m_head.reason.append(at, qsizetype(length));
    return 0;
}

void HttpResponseParser::commitHeader()
{
    if (!m_field.isEmpty())
        m_head.headers.append({m_field, m_value.trimmed()});
    m_field.clear();
    m_value.clear();
    m_inValue = false;
}

int HttpResponseParser::headerField(const char *at, size_t length)
{
    if (m_inValue)
        commitHeader();
    m_headerBytes += qsizetype(length);
    if (m_headerBytes > m_limits.maxHeaderBytes) {
        m_callbackError = QStringLiteral("its headers are larger than %1 bytes").arg(m_limits.maxHeaderBytes);
        return 1;
    }
    if (m_field.isEmpty() && m_head.headers.size() >= m_limits.maxHeaders) {
        m_callbackError = QStringLiteral("it has more than %1 headers").arg(m_limits.maxHeaders);
        return 1;
    }
    m_field.append(at, qsizetype(length));
    return 0;
}

int HttpResponseParser::headerValue(const char *at, size_t length)
{
    m_inValue = true;
    m_headerBytes += qsizetype(length);
    if (m_headerBytes > m_limits.maxHeaderBytes) {
        m_callbackError = QStringLiteral("its headers are larger than %1 bytes").arg(m_limits.maxHeaderBytes);
        return 1;
    }
    m_value.append(at, qsizetype(length));
    return 0;
}

int HttpResponseParser::headersComplete()
{
    commitHeader();
    const http_parser &p = m_native->parser;
    m_head.status = int(p.status_code);
    m_head.chunked = (p.flags & F_CHUNKED) != 0;
    if (p.content_length != ULLONG_MAX && !m_head.chunked)
        m_head.contentLength = p.content_length;
    m_head.keepAlive = http_should_keep_alive(&p) != 0;
    m_head.reason = m_head.reason.trimmed();
    if (m_head.status < 100 || m_head.status > 599) {
        m_callbackError = QStringLiteral("status %1 is not an HTTP status").arg(m_head.status);
        return -1; // 1 and 2 mean "no body" and "upgrade" to http_parser; anything else is an error
    }
    if (onHead)
        onHead(m_head);
    // 1 tells the C parser there is no body, which HEAD answers need.
    return m_noBody ? 1 : 0;
}

int HttpResponseParser::body(const char *at, size_t length)
{
    m_bodyBytes += qint64(length);
    if (onBody)
        onBody(QByteArrayView(at, qsizetype(length)));
    return 0;
}

int HttpResponseParser::messageComplete()
{
    m_complete = true;
    if (onComplete)
        onComplete();
    // Stop here, so bytes after the message are seen and judged by feed().
    http_parser_pause(&m_native->parser, 1);
    return 0;
}

Result<void> HttpResponseParser::feed(QByteArrayView bytes)
{
    if (m_error)
        return std::unexpected(*m_error);
    if (bytes.isEmpty())
        return {};
    if (m_complete)
        return failWith(QStringLiteral("%1 bytes arrived after a complete response").arg(bytes.size()));
    m_started = true;
    const size_t parsed = http_parser_execute(&m_native->parser, &m_native->settings, bytes.data(), size_t(bytes.size()));
    const auto err = HTTP_PARSER_ERRNO(&m_native->parser);
    if (err == HPE_PAUSED) {
        if (parsed < size_t(bytes.size())) {
            // http_parser counts the byte on which it paused as parsed; anything beyond is extra.
            const QByteArrayView rest = bytes.sliced(qsizetype(parsed));
            if (!rest.trimmed().isEmpty())
                return failWith(QStringLiteral("%1 bytes arrived after a complete response").arg(rest.size()));
        }
        return {};
    }
    if (err != HPE_OK) {
        if (!m_callbackError.isEmpty())
            return failWith(m_callbackError);
        return failWith(QString::fromLatin1(http_errno_description(err)));
    }
    if (parsed != size_t(bytes.size()))
        return failWith(QStringLiteral("the parser stopped after %1 of %2 bytes").arg(parsed).arg(bytes.size()));
    return {};
}

Result<void> HttpResponseParser::finish()
{
    if (m_error)
        return std::unexpected(*m_error);
    if (!m_started || m_complete)
        return {};
    // Zero bytes tell the C parser the stream ended: it completes an until-close body, or fails.
    http_parser_execute(&m_native->parser, &m_native->settings, nullptr, 0);
    const auto err = HTTP_PARSER_ERRNO(&m_native->parser);
    if (m_complete)
        return {};
    if (err != HPE_OK && err != HPE_PAUSED)
        return failWith(QStringLiteral("the connection closed in the middle of a response (%1)")
                            .arg(QString::fromLatin1(http_errno_description(err))));
    return failWith(QStringLiteral("the connection closed in the middle of a response"));
}

} // namespace airlock::docker
