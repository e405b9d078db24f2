// The host's decoder of the shim wire protocol, fed well-formed, malformed, truncated, oversized
// and random input: it must answer with frames or errors, never crash, and never hold more than
// one frame's worth of bytes.

#include "sandbox/shimprotocol.h"

#include <QRandomGenerator>
#include <QTest>

using namespace airlock;
using namespace airlock::sandbox;

namespace {

QByteArray frame(wire::FrameType type, quint32 id, const QByteArray &body = {})
{
    return encodeFrame(type, id, body).value_or(QByteArray());
}

QByteArray be32(quint32 v)
{
    QByteArray out;
    for (int shift = 24; shift >= 0; shift -= 8)
        out.append(static_cast<char>(v >> shift));
    return out;
}

QByteArray rawField(quint16 tag, const QByteArray &value)
{
    QByteArray out;
    out.append(static_cast<char>(tag >> 8)).append(static_cast<char>(tag));
    return out + be32(static_cast<quint32>(value.size())) + value;
}

QByteArray randomBytes(QRandomGenerator &rng, int size)
{
    QByteArray out(size, Qt::Uninitialized);
    for (char &c : out)
        c = static_cast<char>(rng.bounded(256));
    return out;
}

// Every decoder of a body; used by the fuzz loops, which only care that nothing crashes.
void decodeAll(QByteArrayView body)
{
    QList<DirEntry> entries;
    (void)decodeHelloOk(body);
    (void)decodeExecStarted(body);
    (void)decodeExit(body);
    (void)decodeLength(body);
    (void)decodeStat(body);
    (void)decodeDirEntries(body, entries);
    (void)decodeListDone(body);
    (void)decodeTunnelCredit(body);
    (void)decodeTunnelClose(body);
    (void)decodeFailure(body);
}

} // namespace

class TestShimProtocol : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void frameRoundTripByteByByte()
    {
        const QByteArray wireBytes = frame(wire::FrameType::Stdout, 0xdeadbeef, "some output\n");
        QCOMPARE(wireBytes.size(), qsizetype(wire::HeaderSize) + 12);
        FrameDecoder decoder;
        for (qsizetype i = 0; i + 1 < wireBytes.size(); ++i) {
            decoder.feed(wireBytes.mid(i, 1));
            const auto next = decoder.next();
            QVERIFY(next);
            QVERIFY(!next->has_value());
        }
        decoder.feed(wireBytes.right(1));
        const auto next = decoder.next();
        QVERIFY(next && next->has_value());
        QCOMPARE((*next)->type, wire::FrameType::Stdout);
        QCOMPARE((*next)->id, 0xdeadbeefu);
        QCOMPARE((*next)->body, QByteArray("some output\n"));
        QCOMPARE(decoder.bufferedBytes(), 0);
    }

    void manyFramesInOneFeed()
    {
        QByteArray stream;
        for (quint32 i = 1; i <= 50; ++i)
            stream += frame(wire::FrameType::Ok, i, QByteArray(static_cast<int>(i), 'x'));
        stream += frame(wire::FrameType::Ok, 51).left(7); // and the start of one more
        FrameDecoder decoder;
        decoder.feed(stream);
        for (quint32 i = 1; i <= 50; ++i) {
            const auto next = decoder.next();
            QVERIFY(next && next->has_value());
            QCOMPARE((*next)->id, i);
            QCOMPARE((*next)->body.size(), qsizetype(i));
        }
        const auto partial = decoder.next();
        QVERIFY(partial && !partial->has_value());
        QCOMPARE(decoder.bufferedBytes(), 7);
    }

    void emptyBodyAndLargestFrame()
    {
        FrameDecoder decoder;
        decoder.feed(frame(wire::FrameType::Pong, 1));
        QCOMPARE(decoder.next().value()->body.size(), 0);
        const QByteArray largest(static_cast<qsizetype>(wire::MaxBodySize), 'y');
        decoder.feed(frame(wire::FrameType::FileData, 2, largest));
        QCOMPARE(decoder.next().value()->body.size(), largest.size());
        QVERIFY(!encodeFrame(wire::FrameType::FileData, 3, QByteArray(largest + 'z')));
    }

    void badLengthsFailAtOnce_data()
    {
        QTest::addColumn<quint32>("length");
        QTest::newRow("zero") << 0u;
        QTest::newRow("shorter than the header") << 4u;
        QTest::newRow("one past the maximum") << wire::MaxFrameLength + 1;
        QTest::newRow("all ones") << 0xffffffffu;
    }

    void badLengthsFailAtOnce()
    {
        QFETCH(quint32, length);
        FrameDecoder decoder;
        decoder.feed(be32(length)); // the length alone is enough to know
        const auto next = decoder.next();
        QVERIFY(!next);
        QVERIFY(!next.error().message.isEmpty());
        QVERIFY(decoder.failed());
        // Sticky, and nothing more is buffered.
        decoder.feed(frame(wire::FrameType::Ok, 1));
        QVERIFY(!decoder.next());
        QCOMPARE(decoder.bufferedBytes(), 0);
        decoder.reset();
        decoder.feed(frame(wire::FrameType::Ok, 1));
        QVERIFY(decoder.next().value().has_value());
    }

    void smallerLimitIsEnforced()
    {
        FrameDecoder decoder(64);
        decoder.feed(frame(wire::FrameType::Ok, 1, QByteArray(59, 'a')));
        QVERIFY(decoder.next().value().has_value());
        decoder.feed(frame(wire::FrameType::Ok, 2, QByteArray(60, 'a')));
        QVERIFY(!decoder.next());
    }

    void tlvRoundTrip()
    {
        TlvWriter w;
        w.u8(wire::Tag::InheritEnv, 1)
            .u32(wire::Tag::Version, 0x01020304)
            .i32(wire::Tag::ExitCode, -5)
            .u64(wire::Tag::Size, 0x0102030405060708ull)
            .i64(wire::Tag::MtimeNs, -42)
            .bytes(wire::Tag::Data, QByteArray("a\0b", 3))
            .string(wire::Tag::Name, u"grüße")
            .string(wire::Tag::Argv, u"one")
            .string(wire::Tag::Argv, u"two");
        const QByteArray body = w.data();
        const TlvReader r(body);
        QVERIFY(r.ok());
        QCOMPARE(r.u8(wire::Tag::InheritEnv), quint8(1));
        QCOMPARE(r.u32(wire::Tag::Version), 0x01020304u);
        QCOMPARE(r.i32(wire::Tag::ExitCode), -5);
        QCOMPARE(r.u64(wire::Tag::Size), 0x0102030405060708ull);
        QCOMPARE(r.i64(wire::Tag::MtimeNs), qint64(-42));
        QCOMPARE(r.bytes(wire::Tag::Data), QByteArray("a\0b", 3));
        QCOMPARE(r.string(wire::Tag::Name), QStringLiteral("grüße"));
        QCOMPARE(r.all(wire::Tag::Argv), (QList<QByteArray>{"one", "two"}));
        QVERIFY(!r.has(wire::Tag::Cwd));
        QVERIFY(r.ok());
    }

    void tlvMalformed_data()
    {
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<bool>("parses"); // structure fine, but reading Version must fail
        QTest::newRow("truncated header") << QByteArray("\x00\x03\x00", 3) << false;
        QTest::newRow("value past the end") << rawField(3, "abc").left(8) << false;
        QTest::newRow("length near 4 GiB") << (QByteArray("\x00\x03", 2) + be32(0xfffffff0u) + "x") << false;
        QTest::newRow("u32 of 3 bytes") << rawField(3, "abc") << true;
        QTest::newRow("u32 of 8 bytes") << rawField(3, "abcdefgh") << true;
        QTest::newRow("repeated single field") << (rawField(3, "abcd") + rawField(3, "abcd")) << true;
    }

    void tlvMalformed()
    {
        QFETCH(QByteArray, body);
        QFETCH(bool, parses);
        const TlvReader r(body);
        QCOMPARE(r.ok(), parses);
        QVERIFY(!r.u32(wire::Tag::Version));
        QVERIFY(!r.ok());
        QVERIFY(!r.errorString().isEmpty());
    }

    void tlvUnknownTagsAreSkipped()
    {
        const QByteArray body = rawField(999, "future") + rawField(3, be32(1)) + rawField(0xffff, {});
        const TlvReader r(body);
        QCOMPARE(r.u32(wire::Tag::Version), 1u);
        QVERIFY(r.ok());
    }

    void tlvFieldCountIsCapped()
    {
        QByteArray body;
        for (std::size_t i = 0; i <= wire::MaxTlvFields; ++i)
            body += rawField(999, {});
        QVERIFY(!TlvReader(body).ok());
    }

    void execRequestEncoding()
    {
        ExecRequest req;
        req.argv = QStringList{QStringLiteral("ls"), QStringLiteral("-l")};
        req.env = QStringList{QStringLiteral("A=1")};
        req.cwd = QStringLiteral("src");
        req.stdinData = QByteArray("in");
        req.timeoutMs = 1500;
        req.outputCap = 10;
        req.killGraceMs = 20;
        const QByteArray body = encodeExec(req);
        const TlvReader r(body);
        QCOMPARE(r.all(wire::Tag::Argv), (QList<QByteArray>{"ls", "-l"}));
        QCOMPARE(r.all(wire::Tag::Env), (QList<QByteArray>{"A=1"}));
        QCOMPARE(r.bytes(wire::Tag::Cwd), QByteArray("src"));
        QCOMPARE(r.bytes(wire::Tag::Stdin), QByteArray("in"));
        QCOMPARE(r.u64(wire::Tag::TimeoutMs), quint64(1500));
        QCOMPARE(r.u64(wire::Tag::OutputCap), quint64(10));
        QCOMPARE(r.u32(wire::Tag::KillGraceMs), 20u);
        QVERIFY(!r.has(wire::Tag::StdinStream));
        QVERIFY(!r.has(wire::Tag::InheritEnv));
    }

    void decodeExitStatus()
    {
        TlvWriter exited;
        exited.i32(wire::Tag::ExitCode, 3).u32(wire::Tag::Flags, wire::ExitFlag::TimedOut | wire::ExitFlag::OutputTruncated);
        const Result<ExitStatus> a = decodeExit(exited.data());
        QVERIFY(a);
        QCOMPARE(a->exitCode, 3);
        QVERIFY(!a->signal && a->timedOut && a->outputTruncated && !a->killed);

        TlvWriter signalled;
        signalled.u32(wire::Tag::Signal, 9).u32(wire::Tag::Flags, wire::ExitFlag::Killed);
        const Result<ExitStatus> b = decodeExit(signalled.data());
        QVERIFY(b && b->signal == 9 && b->killed && !b->exitCode);

        TlvWriter both;
        both.i32(wire::Tag::ExitCode, 0).u32(wire::Tag::Signal, 9);
        QVERIFY(!decodeExit(both.data()));
        QVERIFY(!decodeExit({}));
        TlvWriter badSignal;
        badSignal.u32(wire::Tag::Signal, 1000);
        QVERIFY(!decodeExit(badSignal.data()));
    }

    void decodeHelloAnswers()
    {
        TlvWriter good;
        good.u32(wire::Tag::Version, 1).bytes(wire::Tag::Name, "airlock-shim 1").bytes(wire::Tag::Capability, "exec")
            .u32(wire::Tag::ProxyPort, 3128).u32(wire::Tag::Pid, 7);
        const Result<HelloInfo> info = decodeHelloOk(good.data());
        QVERIFY(info);
        QCOMPARE(info->capabilities, QStringList{QStringLiteral("exec")});
        QCOMPARE(info->proxyPort, quint16(3128));
        QCOMPARE(info->shimPid, qint64(7));

        TlvWriter future;
        future.u32(wire::Tag::Version, 99);
        QVERIFY(!decodeHelloOk(future.data()));
        QVERIFY(!decodeHelloOk({}));
        TlvWriter badPort;
        badPort.u32(wire::Tag::Version, 1).u32(wire::Tag::ProxyPort, 70000);
        QVERIFY(!decodeHelloOk(badPort.data()));
    }

    void decodeDirEntryNames_data()
    {
        QTest::addColumn<QByteArray>("name");
        QTest::addColumn<bool>("accepted");
        QTest::newRow("plain") << QByteArray("file.txt") << true;
        QTest::newRow("empty") << QByteArray() << false;
        QTest::newRow("dot") << QByteArray(".") << false;
        QTest::newRow("dotdot") << QByteArray("..") << false;
        QTest::newRow("slash") << QByteArray("a/b") << false;
    }

    void decodeDirEntryNames()
    {
        QFETCH(QByteArray, name);
        QFETCH(bool, accepted);
        TlvWriter entry;
        entry.bytes(wire::Tag::EntryName, name).u8(wire::Tag::FileType, 1).u64(wire::Tag::Size, 5);
        TlvWriter batch;
        batch.bytes(wire::Tag::Entry, entry.data());
        QList<DirEntry> entries;
        QCOMPARE(decodeDirEntries(batch.data(), entries).has_value(), accepted);
        QCOMPARE(entries.size(), accepted ? 1 : 0);
    }

    void tunnelBodies()
    {
        QCOMPARE(decodeTunnelCredit(encodeTunnelCredit(65536)).value_or(0), quint64(65536));
        QVERIFY(!decodeTunnelCredit(encodeTunnelCredit(0)));
        QVERIFY(!decodeTunnelCredit({}));
        QVERIFY(!decodeTunnelCredit(rawField(quint16(wire::Tag::Length), "abc")));
        QCOMPARE(decodeTunnelClose(encodeTunnelClose(QStringLiteral("proxy gone"))).value_or(QString()),
                 QStringLiteral("proxy gone"));
        QCOMPARE(decodeTunnelClose({}).value_or(QStringLiteral("?")), QString());
        QVERIFY(!decodeTunnelClose(QByteArray("\x00\x42\x00", 3)));

        for (auto type : {wire::FrameType::TunnelOpen, wire::FrameType::TunnelData, wire::FrameType::TunnelEof,
                          wire::FrameType::TunnelClose, wire::FrameType::TunnelCredit}) {
            QVERIFY(isTunnelFrame(type));
            QVERIFY(frameTypeName(type).startsWith(u"tunnel-"));
        }
        QVERIFY(!isTunnelFrame(wire::FrameType::Stdout));

        // A hello offers capabilities only when asked to; an old shim skips them.
        QVERIFY(TlvReader(encodeHello()).all(wire::Tag::Capability).isEmpty());
        const QByteArray offering = encodeHello(1, 1, {QString::fromLatin1(wire::TunnelCapability)});
        QCOMPARE(TlvReader(offering).all(wire::Tag::Capability), QList<QByteArray>{"proxy-tunnel"});
    }

    void decodeFailures()
    {
        TlvWriter w;
        w.u32(wire::Tag::ErrorCode, static_cast<quint32>(wire::ShimError::PathEscape))
            .u32(wire::Tag::Errno, 18)
            .bytes(wire::Tag::Message, "../x: the path leads outside the workspace");
        const ShimFailure f = decodeFailure(w.data());
        QCOMPARE(f.code, wire::ShimError::PathEscape);
        QCOMPARE(f.sysErrno, 18);
        QCOMPARE(toError(f).code, ErrorCode::InvalidArgument);
        QVERIFY(toError(f).message.contains(u"outside the workspace"));

        const ShimFailure garbled = decodeFailure("\x01\x02\x03");
        QCOMPARE(garbled.code, wire::ShimError::Malformed);
        QVERIFY(!garbled.message.isEmpty());
        TlvWriter longMessage;
        longMessage.u32(wire::Tag::ErrorCode, 12).bytes(wire::Tag::Message, QByteArray(100000, 'm'));
        QCOMPARE(decodeFailure(longMessage.data()).message.size(), 4096);
    }

    // Random bytes in random chunk sizes: errors are fine, crashes and unbounded buffering are not.
    void fuzzRandomStreams()
    {
        QRandomGenerator rng(20240611);
        int frames = 0;
        int failures = 0;
        for (int round = 0; round < 2000; ++round) {
            FrameDecoder decoder;
            QByteArray stream = randomBytes(rng, static_cast<int>(rng.bounded(4096)));
            // Half the rounds start with a plausible length so bodies reach the decoders.
            if (round % 2 == 0)
                stream.prepend(be32(5 + rng.bounded(300)));
            qsizetype pos = 0;
            while (pos < stream.size()) {
                const qsizetype chunk = std::min<qsizetype>(1 + rng.bounded(700), stream.size() - pos);
                decoder.feed(QByteArrayView(stream).sliced(pos, chunk));
                pos += chunk;
                for (;;) {
                    const auto next = decoder.next();
                    if (!next) {
                        ++failures;
                        break;
                    }
                    if (!next->has_value())
                        break;
                    ++frames;
                    decodeAll((*next)->body);
                }
                QVERIFY(decoder.bufferedBytes() <= qsizetype(wire::MaxFrameLength) + 4 + 700);
                if (decoder.failed())
                    break;
            }
        }
        QVERIFY(frames > 0);
        QVERIFY(failures > 0);
    }

    // Valid bodies with bytes flipped, cut short or extended: every decoder copes.
    void fuzzMutatedBodies()
    {
        TlvWriter exit;
        exit.i32(wire::Tag::ExitCode, 0).u32(wire::Tag::Flags, 0).u64(wire::Tag::DurationMs, 5);
        TlvWriter entry;
        entry.bytes(wire::Tag::EntryName, "x").u8(wire::Tag::FileType, 1).i64(wire::Tag::MtimeNs, 1);
        TlvWriter entries;
        entries.bytes(wire::Tag::Entry, entry.data()).bytes(wire::Tag::Entry, entry.data());
        TlvWriter hello;
        hello.u32(wire::Tag::Version, 1).bytes(wire::Tag::Capability, "exec").u32(wire::Tag::MaxFrame, 1 << 20);
        const QList<QByteArray> seeds{exit.data(), entries.data(), hello.data(), encodeExec(ExecRequest{})};
        QRandomGenerator rng(7);
        for (int round = 0; round < 5000; ++round) {
            QByteArray body = seeds[round % seeds.size()];
            const int flips = 1 + static_cast<int>(rng.bounded(4));
            for (int i = 0; i < flips && !body.isEmpty(); ++i)
                body[rng.bounded(static_cast<int>(body.size()))] = static_cast<char>(rng.bounded(256));
            if (rng.bounded(4) == 0)
                body.truncate(rng.bounded(static_cast<int>(body.size()) + 1));
            if (rng.bounded(4) == 0)
                body += randomBytes(rng, static_cast<int>(rng.bounded(16)));
            decodeAll(body);
            (void)TlvReader(body).all(wire::Tag::Entry);
        }
    }
};

QTEST_GUILESS_MAIN(TestShimProtocol)
#include "tst_shimprotocol.moc"
