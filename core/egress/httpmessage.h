#pragma once

#include "egress/httphead.h"

#include <memory>
#include <optional>

struct http_parser;

namespace airlock::egress {

struct RequestHead {
    QByteArray method;
    QByteArray target;       // as sent: absolute-form, authority-form (CONNECT) or origin-form
    int minorVersion = 1;    // HTTP/1.minor
    Headers headers;
    bool isConnect = false;
    bool upgrade = false;    // asked to switch protocols (Upgrade), which the proxy does not do
    bool keepAlive = true;   // the client wants the connection kept after this exchange
};

struct ResponseHead {
    QByteArray statusLine;   // without CRLF
    int status = 0;
    Headers headers;
    bool keepAlive = true;
    bool untilClose = false; // no length and not chunked: the body ends when the server closes
};

// Frames one HTTP/1.x message with libhttp-parser: the head (already found by HeadScanner), then the
// body, telling where the message ends so that nothing after it is taken as part of it.
//
// A body with a Content-Length is passed on as the bytes that were read, exactly that many. A chunked
// body is re-framed: the parser's chunks are written out with chunk sizes of our own, extensions and
// trailers dropped. Debian builds libhttp-parser without HTTP_PARSER_STRICT, which lets it accept
// sloppy chunk delimiters; re-framing means the next hop only ever sees the framing this parser
// found, so the two can never disagree about where the message ends.
class HttpMessageParser
{
public:
    enum class Kind { Request, Response };
    explicit HttpMessageParser(Kind kind);
    ~HttpMessageParser();
    HttpMessageParser(const HttpMessageParser &) = delete;
    HttpMessageParser &operator=(const HttpMessageParser &) = delete;

    // Starts a new message. headRequest: the response answers a HEAD and has no body.
    void reset(bool headRequest = false);

    // Parses a complete head and checks what the byte scan cannot: one Host, at most one
    // Content-Length and Transfer-Encoding, never both, only `chunked` as a transfer coding, only
    // HTTP/1.0 and 1.1.
    std::expected<void, HeadFailure> parseHead(QByteArrayView head);
    // Takes bytes after the head and returns how many belong to this message; complete() says
    // whether it has ended. Malformed chunking is a failure.
    std::expected<qsizetype, HeadFailure> feed(QByteArrayView data);
    // Chunked bodies: what to send on for the bytes fed so far (see above). Otherwise the consumed
    // bytes themselves are what to send.
    bool reframes() const { return m_chunked; }
    QByteArray takeOutput();
    // For an HTTP/1.0 recipient, which cannot read chunks: output the bare body instead.
    void setDechunk(bool on) { m_dechunk = on; }
    // The peer closed: ends a body that runs until close, or reports a message cut short.
    std::expected<void, HeadFailure> finish();

    bool complete() const { return m_complete; }
    const RequestHead &request() const { return m_request; }
    const ResponseHead &response() const { return m_response; }

private:
    friend struct ParserCallbacks;
    HeadFailure parserFailure() const;
    std::expected<void, HeadFailure> checkRequest();
    std::expected<void, HeadFailure> checkResponse();

    Kind m_kind;
    std::unique_ptr<http_parser> m_parser;
    bool m_headRequest = false;
    bool m_headersDone = false;
    bool m_complete = false;
    bool m_lastWasValue = false;
    bool m_chunked = false;
    bool m_lastChunk = false;
    bool m_dechunk = false;
    QByteArray m_output;
    QByteArray m_url;
    Headers m_headers;
    RequestHead m_request;
    ResponseHead m_response;
};

} // namespace airlock::egress
