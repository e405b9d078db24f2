// The egress proxy's HTTP/1.x framing: the input (after the control byte of fuzzinput.h) is what a
// sandbox sends as a request, or with bit 7 of the control byte what a server sends as a response
// (bit 6: the answer to a HEAD request). The HeadScanner finds the head as the pieces arrive, an
// HttpMessageParser parses it and frames the body that follows, as the proxy does.
//
// Properties, the ones request smuggling would break: a parser that re-frames a chunked body and one
// that de-chunks it agree on where the message ends; the re-framed chunks, read again by a fresh
// parser, end exactly where they end and carry exactly the de-chunked bytes; a body with a length is
// passed on unchanged and never beyond its end.
#include "fuzzinput.h"

#include "egress/httpmessage.h"

using namespace airlock;
using namespace airlock::egress;

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    fuzz::initQt();
    return 0;
}

namespace {

using Kind = HttpMessageParser::Kind;

// What the proxy sends on for the bytes fed: the parser's own output when it re-frames, otherwise
// the bytes it consumed. -1 on failure.
qsizetype forward(HttpMessageParser &parser, QByteArrayView data, QByteArray &out)
{
    auto used = parser.feed(data);
    if (!used)
        return -1;
    AIRLOCK_FUZZ_CHECK(*used >= 0 && *used <= data.size());
    if (parser.reframes())
        out += parser.takeOutput();
    else
        out += data.first(*used);
    return *used;
}

// Reads re-framed chunks as the next hop would and checks they carry `body` and end where they end.
void rereadChunks(Kind kind, const QByteArray &chunks, const QByteArray &body)
{
    HttpMessageParser next(kind);
    const QByteArray head = kind == Kind::Request
                                ? QByteArray("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
                                : QByteArray("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    AIRLOCK_FUZZ_CHECK(next.parseHead(head).has_value());
    next.setDechunk(true);
    QByteArray dechunked;
    AIRLOCK_FUZZ_CHECK(forward(next, chunks, dechunked) == chunks.size());
    AIRLOCK_FUZZ_CHECK(next.complete());
    AIRLOCK_FUZZ_CHECK(dechunked == body);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    if (size == 0)
        return 0;
    const Kind kind = data[0] & 0x80 ? Kind::Response : Kind::Request;
    const bool headRequest = data[0] & 0x40;
    HeadLimits limits;
    limits.maxStartLine = 512;
    limits.maxHead = 4096;
    limits.maxHeaders = 16;
    HeadScanner scanner(kind == Kind::Request ? HeadScanner::Kind::Request : HeadScanner::Kind::Response, limits);

    const QList<QByteArrayView> pieces = fuzz::pieces(data, size);
    QByteArray buffer;
    qsizetype next = 0;
    qsizetype headLength = 0;
    while (next < pieces.size() && headLength == 0) {
        buffer.append(pieces[next++]);
        auto scanned = scanner.scan(buffer);
        if (!scanned)
            return 0;
        AIRLOCK_FUZZ_CHECK(*scanned <= buffer.size());
        AIRLOCK_FUZZ_CHECK(*scanned <= limits.maxHead);
        headLength = *scanned;
        if (headLength == 0)
            AIRLOCK_FUZZ_CHECK(buffer.size() <= limits.maxHead);
    }
    if (headLength == 0)
        return 0;
    const QByteArray head = buffer.left(headLength);
    AIRLOCK_FUZZ_CHECK(head.endsWith("\r\n\r\n"));

    // Two parsers of the same message: one re-frames chunks, the other de-chunks them.
    HttpMessageParser reframing(kind);
    HttpMessageParser dechunking(kind);
    reframing.reset(headRequest);
    dechunking.reset(headRequest);
    const auto parsed = reframing.parseHead(head);
    AIRLOCK_FUZZ_CHECK(dechunking.parseHead(head).has_value() == parsed.has_value());
    if (!parsed)
        return 0;
    (void)connectionTokens(kind == Kind::Request ? reframing.request().headers : reframing.response().headers);
    dechunking.setDechunk(true);
    AIRLOCK_FUZZ_CHECK(reframing.reframes() == dechunking.reframes());

    QList<QByteArray> body;
    body.append(buffer.mid(headLength));
    for (; next < pieces.size(); ++next)
        body.append(pieces[next].toByteArray());

    QByteArray framed;
    QByteArray bare;
    qsizetype consumed = 0;
    for (const QByteArray &piece : body) {
        if (reframing.complete())
            break;
        const qsizetype a = forward(reframing, piece, framed);
        const qsizetype b = forward(dechunking, piece, bare);
        AIRLOCK_FUZZ_CHECK(a == b);
        AIRLOCK_FUZZ_CHECK(reframing.complete() == dechunking.complete());
        if (a < 0)
            return 0;
        consumed += a;
        if (!reframing.complete())
            AIRLOCK_FUZZ_CHECK(a == piece.size());
    }
    if (!reframing.complete()) {
        const bool finishedA = reframing.finish().has_value();
        AIRLOCK_FUZZ_CHECK(dechunking.finish().has_value() == finishedA);
        if (!finishedA)
            return 0;
    }
    if (reframing.reframes() && !framed.isEmpty()) {
        rereadChunks(kind, framed, bare);
    } else if (reframing.reframes()) {
        AIRLOCK_FUZZ_CHECK(bare.isEmpty()); // a message without a body (HEAD, 204, 304, CONNECT)
    } else {
        AIRLOCK_FUZZ_CHECK(framed == bare);
        AIRLOCK_FUZZ_CHECK(framed.size() == consumed);
        const Headers &headers = kind == Kind::Request ? reframing.request().headers : reframing.response().headers;
        bool lengthOk = false;
        const qulonglong length = headerValue(headers, "content-length").toULongLong(&lengthOk);
        if (lengthOk)
            AIRLOCK_FUZZ_CHECK(qulonglong(consumed) <= length);
    }
    return 0;
}
