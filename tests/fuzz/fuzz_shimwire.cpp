// The shim wire protocol, both ends at once: the input (after the control byte of fuzzinput.h) is a
// byte stream fed in pieces to the host's FrameDecoder and to the shim's; every frame body goes to
// every host decoder and to both TLV readers.
//
// Properties: the two decoders split the stream into the same frames and fail at the same point;
// re-encoding the frames gives back the bytes they came from; the two TLV readers agree on every
// field and on when a body is malformed.
#include "fuzzinput.h"

#include "sandbox/shimprotocol.h"
#include "wire.h"

using namespace airlock;
using namespace airlock::sandbox;

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    fuzz::initQt();
    return 0;
}

namespace {

void decodeBody(const Frame &frame)
{
    const QByteArrayView body = frame.body;
    (void)decodeHelloOk(body);
    (void)decodeExecStarted(body);
    (void)decodeExit(body);
    (void)decodeLength(body);
    (void)decodeStat(body);
    QList<DirEntry> entries;
    (void)decodeDirEntries(body, entries);
    (void)decodeListDone(body);
    (void)decodeTunnelCredit(body);
    (void)decodeTunnelClose(body);
    (void)toError(decodeFailure(body));
    (void)frameTypeName(frame.type);
}

// Both readers, asked the same questions in the same order, give the same answers.
void compareTlv(const QByteArray &body)
{
    const TlvReader host(body);
    shim::TlvReader other(std::string_view(body.constData(), std::size_t(body.size())));
    AIRLOCK_FUZZ_CHECK(host.ok() == other.ok());
    // Every tag the protocol uses and a few it does not; a large body only a few, to keep runs fast.
    const quint16 lastTag = body.size() < 4096 ? 70 : 8;
    for (quint16 t = 0; t <= lastTag; ++t) {
        const auto tag = static_cast<wire::Tag>(t);
        const auto hostAll = host.all(tag);
        const auto otherAll = other.all(tag);
        AIRLOCK_FUZZ_CHECK(std::size_t(hostAll.size()) == otherAll.size());
        for (qsizetype i = 0; i < hostAll.size(); ++i)
            AIRLOCK_FUZZ_CHECK(hostAll[i] == QByteArrayView(otherAll[std::size_t(i)].data(), qsizetype(otherAll[std::size_t(i)].size())));
        AIRLOCK_FUZZ_CHECK(host.u8(tag) == other.u8(tag));
        AIRLOCK_FUZZ_CHECK(host.u32(tag) == other.u32(tag));
        AIRLOCK_FUZZ_CHECK(host.u64(tag) == other.u64(tag));
        const auto hostBytes = host.bytes(tag);
        const auto otherBytes = other.bytes(tag);
        AIRLOCK_FUZZ_CHECK(hostBytes.has_value() == otherBytes.has_value());
        if (hostBytes)
            AIRLOCK_FUZZ_CHECK(*hostBytes == QByteArrayView(otherBytes->data(), qsizetype(otherBytes->size())));
        AIRLOCK_FUZZ_CHECK(host.ok() == other.ok());
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    FrameDecoder host;
    shim::FrameDecoder other;
    QByteArray stream;
    QByteArray reencoded;
    for (const QByteArrayView piece : fuzz::pieces(data, size)) {
        stream.append(piece);
        host.feed(piece);
        other.feed(piece.data(), std::size_t(piece.size()));
        while (true) {
            auto frame = host.next();
            shim::Frame otherFrame;
            const auto status = other.next(otherFrame);
            if (!frame) {
                AIRLOCK_FUZZ_CHECK(status == shim::FrameDecoder::Status::Failed);
                AIRLOCK_FUZZ_CHECK(host.failed());
                break;
            }
            if (!*frame) {
                AIRLOCK_FUZZ_CHECK(status == shim::FrameDecoder::Status::NeedMore);
                break;
            }
            AIRLOCK_FUZZ_CHECK(status == shim::FrameDecoder::Status::Ready);
            const Frame &f = **frame;
            AIRLOCK_FUZZ_CHECK(quint8(f.type) == otherFrame.type);
            AIRLOCK_FUZZ_CHECK(f.id == otherFrame.id);
            AIRLOCK_FUZZ_CHECK(f.body == QByteArrayView(otherFrame.body.data(), qsizetype(otherFrame.body.size())));
            const auto encoded = encodeFrame(f.type, f.id, f.body);
            AIRLOCK_FUZZ_CHECK(encoded.has_value());
            reencoded.append(*encoded);
            AIRLOCK_FUZZ_CHECK(stream.startsWith(reencoded));
            decodeBody(f);
            compareTlv(f.body);
        }
        if (host.failed())
            break;
    }
    return 0;
}
