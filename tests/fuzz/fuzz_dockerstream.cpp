// The Engine API's streamed bodies: the input (after the control byte of fuzzinput.h) is fed in
// pieces both to a MultiplexDecoder (logs and attach without a TTY) and to a JsonLineSplitter
// (pull and import progress, events), each with a small cap.
//
// Properties: re-encoding the multiplexed frames gives back the bytes they came from; failures are
// sticky; the splitter only ever returns objects.
#include "fuzzinput.h"

#include "docker/streamframes.h"

using namespace airlock;
using namespace airlock::docker;

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    fuzz::initQt();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    MultiplexDecoder frames(4096);
    JsonLineSplitter lines(1024);
    QByteArray stream;
    QByteArray reencoded;
    bool framesFailed = false;
    bool linesFailed = false;
    for (const QByteArrayView piece : fuzz::pieces(data, size)) {
        stream.append(piece);
        frames.feed(piece);
        while (!framesFailed) {
            auto frame = frames.next();
            if (!frame) {
                framesFailed = true;
                AIRLOCK_FUZZ_CHECK(!frames.next().has_value());
                AIRLOCK_FUZZ_CHECK(!frames.finish().has_value());
                break;
            }
            if (!*frame)
                break;
            const StreamFrame &f = **frame;
            AIRLOCK_FUZZ_CHECK(quint8(f.stream) <= 3);
            AIRLOCK_FUZZ_CHECK(f.data.size() <= 4096);
            const quint32 n = quint32(f.data.size());
            reencoded.append(char(f.stream));
            reencoded.append(3, '\0');
            for (int shift = 24; shift >= 0; shift -= 8)
                reencoded.append(char((n >> shift) & 0xff));
            reencoded.append(f.data);
            AIRLOCK_FUZZ_CHECK(stream.startsWith(reencoded));
        }
        if (!framesFailed)
            AIRLOCK_FUZZ_CHECK(frames.bufferedBytes() == stream.size() - reencoded.size());

        lines.feed(piece);
        while (!linesFailed) {
            auto object = lines.next();
            if (!object) {
                linesFailed = true;
                AIRLOCK_FUZZ_CHECK(!lines.next().has_value());
                break;
            }
            if (!*object)
                break;
        }
    }
    if (!framesFailed)
        AIRLOCK_FUZZ_CHECK(frames.finish().has_value() == (stream.size() == reencoded.size()));
    if (!linesFailed) {
        while (true) {
            auto last = lines.finish();
            if (!last || !*last)
                break;
        }
    }
    return 0;
}
