// The proxy tunnel through the real airlock-shim (--proxy-tunnel): TCP connections to the shim's
// proxy port become streams over the control connection, which ShimClient joins to a unix socket
// standing in for the egress proxy. Both ends are raw sockets, so half-closes and slow readers are
// what they are.

#include "shimharness.h"
#include "tunnelpeers.h"

#include <QSignalSpy>
#include <QTest>
#include <QTimer>

#include <sys/socket.h>

using namespace airlock;
using namespace airlock::sandbox;
using namespace airlock::sandbox::test;

namespace {

QByteArray pattern(qsizetype size, int seed)
{
    QByteArray data(size, Qt::Uninitialized);
    quint32 x = static_cast<quint32>(seed) * 2654435761u + 1;
    for (qsizetype i = 0; i < size; ++i) {
        x = x * 1103515245u + 12345u;
        data[i] = static_cast<char>(x >> 24);
    }
    return data;
}

QByteArray frame(wire::FrameType type, quint32 id, const QByteArray &body = {})
{
    return encodeFrame(type, id, body).value_or(QByteArray());
}

QByteArray rawField(quint16 tag, const QByteArray &value)
{
    QByteArray out;
    out.append(static_cast<char>(tag >> 8)).append(static_cast<char>(tag));
    for (int shift = 24; shift >= 0; shift -= 8)
        out.append(static_cast<char>(value.size() >> shift));
    return out + value;
}

// The next frame on a raw connection, or nothing once it closed or the time is up.
std::optional<Frame> readFrame(QLocalSocket &socket, FrameDecoder &decoder, int timeoutMs = 5000)
{
    std::optional<Frame> got;
    (void)QTest::qWaitFor([&] {
        decoder.feed(socket.readAll());
        Result<std::optional<Frame>> next = decoder.next();
        if (next && next->has_value())
            got = **next;
        return got.has_value() || !next || socket.state() != QLocalSocket::ConnectedState;
    }, timeoutMs);
    return got;
}

// A stand-in shim on a socket pair, for what the real one never sends.
struct FakeShim
{
    QLocalSocket socket;
    FrameDecoder decoder;

    bool start(ShimClient &client)
    {
        int pair[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
            return false;
        client.useConnection(pair[0], QStringLiteral("a fake shim"));
        return socket.setSocketDescriptor(pair[1]);
    }

    std::optional<Frame> next() { return readFrame(socket, decoder); }

    void answerHello(quint32 id)
    {
        TlvWriter ok;
        ok.u32(wire::Tag::Version, 1).bytes(wire::Tag::Name, "fake").bytes(wire::Tag::Capability, "proxy-tunnel");
        socket.write(frame(wire::FrameType::HelloOk, id, ok.data()));
    }
};

// The largest amounts the client's tunnels held on the host, sampled as the event loop turns.
struct Peaks
{
    qint64 towardsProxy = 0;
    qint64 fromProxy = 0;
};

} // namespace

class TestShimTunnel : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<ShimHarness> m_shim;
    std::unique_ptr<ShimClient> m_client;
    std::unique_ptr<TunnelTarget> m_target;
    std::unique_ptr<QSignalSpy> m_failures;
    quint16 m_port = 0;

    QString targetPath() const { return m_shim->dir() + QStringLiteral("/egress.sock"); }

    bool listen(TunnelTarget::Mode mode)
    {
        m_target = std::make_unique<TunnelTarget>(mode);
        return m_target->listen(targetPath());
    }

    std::unique_ptr<RawPeer> dial()
    {
        std::unique_ptr<RawPeer> peer = RawPeer::connectTcp(m_port);
        if (!peer)
            qWarning("cannot connect to the proxy port %u", m_port);
        return peer;
    }

    // Samples the client's tunnel buffers until the returned timer goes.
    std::unique_ptr<QTimer> sample(Peaks &peaks)
    {
        auto timer = std::make_unique<QTimer>();
        QObject::connect(timer.get(), &QTimer::timeout, timer.get(), [this, &peaks] {
            const TunnelStats stats = m_client->tunnelStats();
            peaks.towardsProxy = std::max(peaks.towardsProxy, stats.towardsProxy);
            peaks.fromProxy = std::max(peaks.fromProxy, stats.fromProxy);
        });
        timer->start(1);
        return timer;
    }

private Q_SLOTS:
    void init()
    {
        m_shim = std::make_unique<ShimHarness>();
        QVERIFY(m_shim->start({QStringLiteral("--proxy-tunnel"), QStringLiteral("--proxy-port"), QStringLiteral("0")}));
        m_client = std::make_unique<ShimClient>();
        m_failures = std::make_unique<QSignalSpy>(m_client.get(), &ShimClient::errorOccurred);
        QVERIFY(m_shim->connect(*m_client));
        m_port = m_client->shimInfo().proxyPort;
        QVERIFY(m_port > 0);
        m_client->setTunnelTarget(targetPath());
    }

    void cleanup()
    {
        // No test may have broken the protocol on the way.
        if (m_failures)
            QVERIFY2(m_failures->isEmpty(), m_failures->isEmpty() ? "" : qPrintable(m_failures->first().first().value<Error>().message));
        if (m_client && m_client->isReady())
            await(m_client->shutdown(0));
        m_failures.reset();
        m_client.reset();
        m_target.reset();
        m_shim.reset();
    }

    void helloOffersTheTunnel()
    {
        const HelloInfo &info = m_client->shimInfo();
        QVERIFY(info.capabilities.contains(u"proxy-tunnel"));
        QVERIFY(!info.capabilities.contains(u"proxy-bridge"));
    }

    // The sandboxed client sends its request and ends its side; the answer still comes back, then
    // the end of the proxy's side, and the stream is gone from both ends.
    void halfCloseCarriesTheReply()
    {
        QVERIFY(listen(TunnelTarget::Mode::Respond));
        std::unique_ptr<RawPeer> tcp = dial();
        QVERIFY(tcp);
        tcp->write("hello shim");
        tcp->shutdownWrite();
        QTRY_VERIFY_WITH_TIMEOUT(tcp->closed(), 10000);
        QVERIFY(tcp->eof);
        QCOMPARE(tcp->received, QByteArray("10 bytes: hello shim"));
        tcp.reset();
        QTRY_COMPARE_WITH_TIMEOUT(m_client->tunnelStats().streams, 0, 5000);
    }

    // Several MB each way through an echo, first with the proxy not reading and then with the
    // sandboxed client not reading: everything arrives in order, and the host never holds more
    // than a window of it, however far behind either end is.
    void largeTransferKeepsOrderAndWindow()
    {
        QVERIFY(listen(TunnelTarget::Mode::Echo));
        m_target->setReading(false);
        Peaks peaks;
        const std::unique_ptr<QTimer> sampler = sample(peaks);
        std::unique_ptr<RawPeer> tcp = dial();
        QVERIFY(tcp);
        tcp->setReading(false);
        const QByteArray payload = pattern(12 * 1024 * 1024, 1);
        tcp->write(payload);

        // The proxy does not read: the shim's credit runs out with the host holding nearly a window.
        QTRY_VERIFY_WITH_TIMEOUT(m_client->tunnelStats().towardsProxy >= qint64(wire::TunnelWindow * 3 / 4), 10000);
        QVERIFY(tcp->queued() > 0); // ... and the sender is held back, not buffered for
        m_target->setReading(true);

        // Now the sandboxed client does not read: the echo backs up to the proxy, not into memory.
        QTRY_VERIFY_WITH_TIMEOUT(tcp->queued() == 0, 20000);
        QTRY_VERIFY_WITH_TIMEOUT(m_target->peers().size() == 1 && m_target->peers().first()->queued() > 0, 10000);
        tcp->setReading(true);
        QTRY_VERIFY_WITH_TIMEOUT(tcp->received.size() >= payload.size() || tcp->closed(), 30000);
        QVERIFY(tcp->received == payload);

        QVERIFY2(peaks.towardsProxy <= qint64(wire::TunnelWindow), qPrintable(QString::number(peaks.towardsProxy)));
        QVERIFY2(peaks.fromProxy <= qint64(wire::TunnelWindow), qPrintable(QString::number(peaks.fromProxy)));
        QVERIFY(peaks.towardsProxy > 0);

        // Ending the client's side ends the echo's, and the stream.
        tcp->shutdownWrite();
        QTRY_VERIFY_WITH_TIMEOUT(tcp->eof, 10000);
        tcp.reset();
        QTRY_COMPARE_WITH_TIMEOUT(m_client->tunnelStats().streams, 0, 5000);
    }

    // What the proxy says before it closes reaches the sandbox in full, even when it is more than
    // the window and the proxy is gone long before the client has read it.
    void proxyClosingAfterALongAnswer()
    {
        QVERIFY(listen(TunnelTarget::Mode::Respond));
        std::unique_ptr<RawPeer> tcp = dial();
        QVERIFY(tcp);
        const QByteArray request = pattern(3 * 1024 * 1024, 2);
        tcp->write(request);
        tcp->shutdownWrite();
        QTRY_VERIFY_WITH_TIMEOUT(tcp->closed(), 20000);
        QVERIFY(tcp->eof);
        QCOMPARE(tcp->received.size(), request.size() + qsizetype(sizeof("3145728 bytes: ") - 1));
        QVERIFY(tcp->received.endsWith(request));
    }

    void unreachableTargetClosesTheConnection()
    {
        m_client->setTunnelTarget(m_shim->dir() + QStringLiteral("/nobody-listens.sock"));
        std::unique_ptr<RawPeer> tcp = dial();
        QVERIFY(tcp);
        tcp->write("GET / HTTP/1.0\r\n\r\n");
        QTRY_VERIFY_WITH_TIMEOUT(tcp->closed(), 5000);
        QVERIFY(tcp->received.isEmpty());
        QCOMPARE(m_client->tunnelStats().streams, 0);

        // Without a target at all, the same.
        m_client->setTunnelTarget(QString());
        std::unique_ptr<RawPeer> again = dial();
        QVERIFY(again);
        QTRY_VERIFY_WITH_TIMEOUT(again->closed(), 5000);
        QVERIFY(await(m_client->ping()));
    }

    void noTunnelClientNoConnection()
    {
        // A client that does not offer tunnels (an older host) never gets one.
        m_client->disconnectFromShim();
        QLocalSocket old;
        old.connectToServer(m_shim->socketPath());
        QVERIFY(old.waitForConnected(5000));
        FrameDecoder decoder;
        old.write(frame(wire::FrameType::Hello, 1, encodeHello()));
        QCOMPARE(readFrame(old, decoder).value_or(Frame{}).type, wire::FrameType::HelloOk);
        std::unique_ptr<RawPeer> tcp = dial();
        QVERIFY(tcp);
        QTRY_VERIFY_WITH_TIMEOUT(tcp->closed(), 5000);
        // Nothing came to it: the next frame is the answer to its ping.
        old.write(frame(wire::FrameType::Ping, 2, "after"));
        QCOMPARE(readFrame(old, decoder).value_or(Frame{}).type, wire::FrameType::Pong);
    }

    void manyStreamsAtOnce()
    {
        QVERIFY(listen(TunnelTarget::Mode::Http));
        std::vector<std::unique_ptr<RawPeer>> clients;
        for (int i = 0; i < 120; ++i) {
            clients.push_back(dial());
            QVERIFY(clients.back());
            clients.back()->write("GET /item/" + QByteArray::number(i) + " HTTP/1.0\r\nHost: example.test\r\n\r\n");
        }
        for (int i = 0; i < 120; ++i) {
            RawPeer &c = *clients[std::size_t(i)];
            QTRY_VERIFY_WITH_TIMEOUT(c.closed(), 20000);
            QVERIFY2(c.received.startsWith("HTTP/1.0 200 OK\r\n"), c.received.constData());
            QVERIFY(c.received.endsWith(QByteArray("you asked for GET /item/" + QByteArray::number(i) + " HTTP/1.0\n")));
        }
        QCOMPARE(m_target->accepted(), 120);
        clients.clear();
        QTRY_COMPARE_WITH_TIMEOUT(m_client->tunnelStats().streams, 0, 5000);
    }

    void streamsEndWithTheirClient()
    {
        QVERIFY(listen(TunnelTarget::Mode::Echo));
        std::unique_ptr<RawPeer> tcp = dial();
        QVERIFY(tcp);
        tcp->write("ping");
        QTRY_COMPARE_WITH_TIMEOUT(tcp->received, QByteArray("ping"), 5000);
        QCOMPARE(m_client->tunnelStats().streams, 1);
        m_client->disconnectFromShim();
        QCOMPARE(m_client->tunnelStats().streams, 0);
        QTRY_VERIFY_WITH_TIMEOUT(tcp->closed(), 5000);
        QTRY_VERIFY_WITH_TIMEOUT(m_target->peers().first()->closed(), 5000);
    }

    // A client that breaks the tunnel rules is dropped with a reason, its streams with it; the shim
    // and its other clients carry on.
    void brokenRulesDropTheClient_data()
    {
        QTest::addColumn<int>("rule");
        QTest::addColumn<QString>("says");
        QTest::newRow("data for a stream never opened") << 0 << QStringLiteral("never opened");
        QTest::newRow("data beyond the credit") << 1 << QStringLiteral("exceed its credit");
        QTest::newRow("data after eof") << 2 << QStringLiteral("data after eof");
        QTest::newRow("a second eof") << 3 << QStringLiteral("second tunnel eof");
        QTest::newRow("eof with a body") << 4 << QStringLiteral("carries no body");
        QTest::newRow("credit beyond the window") << 5 << QStringLiteral("beyond the window");
        QTest::newRow("credit without a length") << 6 << QStringLiteral("non-zero Length");
        QTest::newRow("credit of the wrong width") << 7 << QStringLiteral("wrong width");
        QTest::newRow("truncated close") << 8 << QStringLiteral("truncated");
        QTest::newRow("open from a client") << 9 << QStringLiteral("opened by the shim");
        QTest::newRow("oversized frame") << 10 << QStringLiteral("maximum frame size");
    }

    void brokenRulesDropTheClient()
    {
        QFETCH(int, rule);
        QFETCH(QString, says);
        QVERIFY(listen(TunnelTarget::Mode::Echo));
        m_client->disconnectFromShim(); // the raw client below is to be the one that takes streams
        QLocalSocket raw;
        raw.connectToServer(m_shim->socketPath());
        QVERIFY(raw.waitForConnected(5000));
        FrameDecoder decoder;
        raw.write(frame(wire::FrameType::Hello, 1, encodeHello(1, 1, {QStringLiteral("proxy-tunnel")})));
        QCOMPARE(readFrame(raw, decoder).value_or(Frame{}).type, wire::FrameType::HelloOk);
        std::unique_ptr<RawPeer> tcp = dial();
        QVERIFY(tcp);
        const std::optional<Frame> opened = readFrame(raw, decoder);
        QVERIFY(opened && opened->type == wire::FrameType::TunnelOpen);
        const quint32 id = opened->id;
        QVERIFY(id & wire::TunnelIdBit);

        using T = wire::FrameType;
        const QList<QByteArray> bad{
            frame(T::TunnelData, id + 1000, "x"),
            frame(T::TunnelData, id, QByteArray(qsizetype(wire::TunnelWindow) + 1, 'x')),
            frame(T::TunnelEof, id) + frame(T::TunnelData, id, "x"),
            frame(T::TunnelEof, id) + frame(T::TunnelEof, id),
            frame(T::TunnelEof, id, "x"),
            frame(T::TunnelCredit, id, encodeTunnelCredit(1)),
            frame(T::TunnelCredit, id),
            frame(T::TunnelCredit, id, rawField(quint16(wire::Tag::Length), "abc")),
            frame(T::TunnelClose, id, QByteArray("\x00\x42\x00", 3)),
            frame(T::TunnelOpen, id + 1),
            QByteArray("\x7f\xff\xff\xff\x31", 5),
        };
        raw.write(bad[rule]);
        std::optional<Frame> error = readFrame(raw, decoder);
        while (error && error->type != wire::FrameType::Error)
            error = readFrame(raw, decoder); // the credit for what the echo took may come first
        QVERIFY(error);
        QCOMPARE(error->id, 0u);
        const ShimFailure failure = decodeFailure(error->body);
        QCOMPARE(failure.code, wire::ShimError::Malformed);
        QVERIFY2(failure.message.contains(says), qPrintable(failure.message));
        QTRY_VERIFY_WITH_TIMEOUT(raw.state() != QLocalSocket::ConnectedState, 5000);
        QTRY_VERIFY_WITH_TIMEOUT(tcp->closed(), 5000);

        ShimClient next;
        QVERIFY(m_shim->connect(next));
        QVERIFY(await(next.ping()));
        await(next.shutdown(0));
    }

    // Frames for a stream that has ended may have crossed its end on the wire: they are ignored.
    void framesForAnEndedStreamAreIgnored()
    {
        m_client->disconnectFromShim();
        QLocalSocket raw;
        raw.connectToServer(m_shim->socketPath());
        QVERIFY(raw.waitForConnected(5000));
        FrameDecoder decoder;
        raw.write(frame(wire::FrameType::Hello, 1, encodeHello(1, 1, {QStringLiteral("proxy-tunnel")})));
        QCOMPARE(readFrame(raw, decoder).value_or(Frame{}).type, wire::FrameType::HelloOk);
        std::unique_ptr<RawPeer> tcp = dial();
        QVERIFY(tcp);
        const std::optional<Frame> opened = readFrame(raw, decoder);
        QVERIFY(opened && opened->type == wire::FrameType::TunnelOpen);
        raw.write(frame(wire::FrameType::TunnelClose, opened->id, encodeTunnelClose(QStringLiteral("no proxy here"))));
        QTRY_VERIFY_WITH_TIMEOUT(tcp->closed(), 5000);
        raw.write(frame(wire::FrameType::TunnelData, opened->id, "late") + frame(wire::FrameType::TunnelEof, opened->id)
                  + frame(wire::FrameType::TunnelCredit, opened->id, encodeTunnelCredit(4))
                  + frame(wire::FrameType::Ping, 9, "fine"));
        const std::optional<Frame> pong = readFrame(raw, decoder);
        QVERIFY(pong);
        QCOMPARE(pong->type, wire::FrameType::Pong);
        QCOMPARE(pong->body, QByteArray("fine"));
    }

    // The host believes nothing a shim says about tunnels without checking it: a shim that breaks the
    // rules loses the connection, and the reason says what it did.
    void lyingShimIsRefused_data()
    {
        QTest::addColumn<int>("rule");
        QTest::addColumn<QString>("says");
        QTest::newRow("open without the tunnel bit") << 0 << QStringLiteral("lacks the tunnel bit");
        QTest::newRow("opened twice") << 1 << QStringLiteral("opened twice");
        QTest::newRow("data for a stream never opened") << 2 << QStringLiteral("never opened");
        QTest::newRow("data beyond the credit") << 3 << QStringLiteral("exceed its credit");
        QTest::newRow("credit beyond the window") << 4 << QStringLiteral("beyond the window");
        QTest::newRow("malformed credit") << 5 << QStringLiteral("malformed tunnel credit");
        QTest::newRow("eof with a body") << 6 << QStringLiteral("eof with a body");
        QTest::newRow("data after eof") << 7 << QStringLiteral("data after eof");
        QTest::newRow("a tunnel frame before hello") << 8 << QStringLiteral("before hello");
    }

    void lyingShimIsRefused()
    {
        QFETCH(int, rule);
        QFETCH(QString, says);
        QVERIFY(listen(TunnelTarget::Mode::Echo));
        m_target->setReading(false); // streams stay open while the shim misbehaves on them
        ShimClient client;
        client.setTunnelTarget(targetPath());
        QSignalSpy failed(&client, &ShimClient::errorOccurred);
        FakeShim shim;
        QVERIFY(shim.start(client));
        const std::optional<Frame> hello = shim.next();
        QVERIFY(hello && hello->type == wire::FrameType::Hello);
        QVERIFY(TlvReader(hello->body).all(wire::Tag::Capability).contains("proxy-tunnel"));

        using T = wire::FrameType;
        const quint32 id = wire::TunnelIdBit | 3;
        const QByteArray open = frame(T::TunnelOpen, id);
        const QList<QByteArray> bad{
            frame(T::TunnelOpen, 3),
            open + open,
            frame(T::TunnelData, id, "x"),
            open + frame(T::TunnelData, id, QByteArray(qsizetype(wire::TunnelWindow) + 1, 'x')),
            open + frame(T::TunnelCredit, id, encodeTunnelCredit(1)),
            open + frame(T::TunnelCredit, id, rawField(quint16(wire::Tag::Length), "abc")),
            open + frame(T::TunnelEof, id, "x"),
            open + frame(T::TunnelEof, id) + frame(T::TunnelData, id, "x"),
            open,
        };
        if (rule != 8)
            shim.answerHello(hello->id);
        QTRY_VERIFY_WITH_TIMEOUT(client.isReady() || rule == 8, 5000);
        shim.socket.write(bad[rule]);
        QTRY_VERIFY_WITH_TIMEOUT(!failed.isEmpty(), 5000);
        const Error error = failed.first().first().value<Error>();
        QVERIFY2(error.message.contains(says), qPrintable(error.message));
        QVERIFY(!client.isReady());
        QCOMPARE(client.tunnelStats().streams, 0);
    }

    // Without a target, or when it cannot be reached, the host refuses the stream; frames the shim
    // sent for it meanwhile are of an ended stream, not an offence.
    void hostRefusesStreamsItCannotCarry()
    {
        ShimClient client;
        QSignalSpy failed(&client, &ShimClient::errorOccurred);
        FakeShim shim;
        QVERIFY(shim.start(client));
        const std::optional<Frame> hello = shim.next();
        QVERIFY(hello);
        shim.answerHello(hello->id);
        QTRY_VERIFY_WITH_TIMEOUT(client.isReady(), 5000);

        const quint32 id = wire::TunnelIdBit | 7;
        shim.socket.write(frame(wire::FrameType::TunnelOpen, id) + frame(wire::FrameType::TunnelData, id, "early"));
        std::optional<Frame> refused = shim.next();
        QVERIFY(refused);
        QCOMPARE(refused->type, wire::FrameType::TunnelClose);
        QCOMPARE(refused->id, id);
        QVERIFY(decodeTunnelClose(refused->body).value().contains(u"no tunnel target"));

        client.setTunnelTarget(m_shim->dir() + QStringLiteral("/nobody-listens.sock"));
        shim.socket.write(frame(wire::FrameType::TunnelOpen, id + 1));
        refused = shim.next();
        QVERIFY(refused && refused->type == wire::FrameType::TunnelClose && refused->id == id + 1);
        QVERIFY(decodeTunnelClose(refused->body).value().contains(u"cannot reach the proxy"));
        QVERIFY(client.isReady());
        QVERIFY(failed.isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestShimTunnel)
#include "tst_shimtunnel.moc"
