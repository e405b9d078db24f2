#pragma once

#include "error.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QPair>

#include <functional>
#include <memory>
#include <optional>

// HTTP/1.1 responses from the Docker daemon, parsed with libhttp-parser (Debian's libhttp-parser2.9).
// A daemon is trusted more than a sandbox, but a remote DOCKER_HOST or a proxy in front of it is not,
// so sizes are capped and every malformed byte is an Error, never a guess.

namespace airlock::docker {

struct HttpLimits
{
    qsizetype maxHeaderBytes = 64 * 1024; // status line and all header lines together
    int maxHeaders = 128;
    qint64 maxBodyBytes = 64LL * 1024 * 1024; // for bodies the caller buffers; streams are not bounded here
};

struct HttpResponseHead
{
    int status = 0;
    QByteArray reason;
    QList<QPair<QByteArray, QByteArray>> headers; // names as sent; values with surrounding blanks removed
    bool chunked = false;
    std::optional<quint64> contentLength;
    bool keepAlive = false;

    // The first header of that name, compared case-insensitively; empty when absent.
    QByteArray header(QByteArrayView name) const;
};

// Feeds bytes in, reports the head, body pieces and the end of each message through callbacks. One
// response at a time: bytes after a complete response that nobody asked for are an error (Docker
// does not pipeline, so they can only be garbage). After complete() the parser is ready for the
// next response on the same connection.
class HttpResponseParser
{
public:
    explicit HttpResponseParser(HttpLimits limits = {});
    ~HttpResponseParser();
    HttpResponseParser(const HttpResponseParser &) = delete;
    HttpResponseParser &operator=(const HttpResponseParser &) = delete;

    std::function<void(const HttpResponseHead &)> onHead;
    std::function<void(QByteArrayView)> onBody; // decoded: chunk framing removed
    std::function<void()> onComplete;

    // The response to a HEAD request has headers only.
    void expectNoBody(bool noBody) { m_noBody = noBody; }

    Result<void> feed(QByteArrayView bytes);
    // The peer closed the connection: completes a body that runs to the end of the stream, and fails
    // a message cut short.
    Result<void> finish();

    bool inMessage() const { return m_started && !m_complete; }
    bool failed() const { return m_error.has_value(); }
    qint64 bodyBytes() const { return m_bodyBytes; }
    void reset();

private:
    struct Native;
    friend struct Native;

    Result<void> failWith(const QString &message);
    int headerField(const char *at, size_t length);
    int headerValue(const char *at, size_t length);
    int headersComplete();
    int body(const char *at, size_t length);
    int messageComplete();
    int status(const char *at, size_t length);
    void commitHeader();

    HttpLimits m_limits;
    std::unique_ptr<Native> m_native;
    HttpResponseHead m_head;
    QByteArray m_field;
    QByteArray m_value;
    bool m_inValue = false;
    qsizetype m_headerBytes = 0;
    qint64 m_bodyBytes = 0;
    bool m_started = false;
    bool m_complete = false;
    bool m_noBody = false;
    std::optional<Error> m_error;
    QString m_callbackError;
};

} // namespace airlock::docker
