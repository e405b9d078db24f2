// The Docker daemon's HTTP responses: the input (after the control byte of fuzzinput.h) is what the
// daemon sends on one connection, fed in pieces to an HttpResponseParser with small limits. Bit 7
// of the control byte makes it the answer to a HEAD request. After each complete response the
// parser is reset for the next one, as the connection does.
//
// Properties: a failure is sticky; a complete response with a Content-Length delivered exactly
// that many body bytes; the body bytes reported equal those delivered.
#include "fuzzinput.h"

#include "docker/httpresponseparser.h"

using namespace airlock;
using namespace airlock::docker;

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    fuzz::initQt();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    HttpLimits limits;
    limits.maxHeaderBytes = 2048;
    limits.maxHeaders = 16;
    HttpResponseParser parser(limits);
    const bool headRequest = size > 0 && (data[0] & 0x80);
    parser.expectNoBody(headRequest);

    std::optional<HttpResponseHead> head;
    qint64 delivered = 0;
    bool complete = false;
    parser.onHead = [&](const HttpResponseHead &h) {
        AIRLOCK_FUZZ_CHECK(!head.has_value());
        head = h;
        (void)h.header("Content-Type");
    };
    parser.onBody = [&](QByteArrayView body) {
        AIRLOCK_FUZZ_CHECK(head.has_value() && !complete);
        delivered += body.size();
    };
    parser.onComplete = [&] {
        AIRLOCK_FUZZ_CHECK(head.has_value());
        complete = true;
    };

    auto checkComplete = [&] {
        AIRLOCK_FUZZ_CHECK(parser.bodyBytes() == delivered);
        if (!headRequest && head->contentLength && !head->chunked && head->status >= 200 && head->status != 204
            && head->status != 304)
            AIRLOCK_FUZZ_CHECK(quint64(delivered) == *head->contentLength);
        if (headRequest)
            AIRLOCK_FUZZ_CHECK(delivered == 0);
        parser.reset();
        parser.expectNoBody(headRequest);
        head.reset();
        delivered = 0;
        complete = false;
    };

    for (const QByteArrayView piece : fuzz::pieces(data, size)) {
        const auto fed = parser.feed(piece);
        if (!fed) {
            AIRLOCK_FUZZ_CHECK(parser.failed());
            AIRLOCK_FUZZ_CHECK(!parser.feed("HTTP/1.1 200 OK\r\n\r\n").has_value());
            return 0;
        }
        if (complete)
            checkComplete();
    }
    if (parser.finish() && complete)
        checkComplete();
    return 0;
}
