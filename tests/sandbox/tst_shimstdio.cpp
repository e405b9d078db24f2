// The real airlock-shim in --stdio mode, as the remote Docker backend runs it: its stdin and stdout
// are pipes, relayed to the ShimClient through a socket pair as the attach stream would be.

#include "shimharness.h"

#include <QFile>
#include <QSignalSpy>
#include <QTest>

using namespace airlock;
using namespace airlock::sandbox;
using namespace airlock::sandbox::test;

namespace {

ExecRequest shell(const QString &script)
{
    ExecRequest r;
    r.argv = QStringList{QStringLiteral("/bin/sh"), QStringLiteral("-c"), script};
    r.env = QStringList{QStringLiteral("PATH=/usr/local/bin:/usr/bin:/bin")};
    return r;
}

QByteArray frame(wire::FrameType type, quint32 id, const QByteArray &body = {})
{
    return encodeFrame(type, id, body).value_or(QByteArray());
}

// The next frame on a raw shim's stdout, or nothing once it closed or the time is up.
std::optional<Frame> readFrame(QProcess &shim, FrameDecoder &decoder, int timeoutMs = 5000)
{
    std::optional<Frame> got;
    (void)QTest::qWaitFor([&] {
        decoder.feed(shim.readAllStandardOutput());
        Result<std::optional<Frame>> next = decoder.next();
        if (next && next->has_value())
            got = **next;
        return got.has_value() || !next || shim.state() == QProcess::NotRunning;
    }, timeoutMs);
    return got;
}

} // namespace

class TestShimStdio : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void servesOneClientOverPipes()
    {
        StdioShim shim;
        ShimClient client;
        ExecRecorder rec(&client);
        QVERIFY(shim.start(client));
        const HelloInfo &info = client.shimInfo();
        QCOMPARE(info.shimPid, shim.process().processId());
        QCOMPARE(info.workspace, shim.workspace());
        QVERIFY(info.capabilities.contains(u"exec"));

        const Result<quint32> id = client.exec(shell(QStringLiteral("echo out; echo err >&2; exit 4")));
        QVERIFY(id && rec.wait(*id));
        QCOMPARE(rec[*id].out, QByteArray("out\n"));
        QCOMPARE(rec[*id].err, QByteArray("err\n"));
        QCOMPARE(rec[*id].status->exitCode, 4);

        QByteArray data(2'000'000, Qt::Uninitialized);
        for (qsizetype i = 0; i < data.size(); ++i)
            data[i] = static_cast<char>((i * 7) % 253);
        QCOMPARE(await(client.writeFile(QStringLiteral("sub/blob"), data, WriteOptions{.makeParents = true})).value_or(0),
                 quint64(data.size()));
        QVERIFY(await(client.readFile(QStringLiteral("sub/blob"))).value_or(QByteArray()) == data);
        QCOMPARE(await(client.ping("still")).value_or(QByteArray()), QByteArray("still"));
    }

    // The stream carries frames and nothing else: what a process writes to the shim's own fd 1 goes
    // to its stderr, its fd 0 is empty, and an exec inherits neither (only its own 0, 1 and 2).
    void onlyFramesReachStdout()
    {
        StdioShim shim;
        ShimClient client;
        ExecRecorder rec(&client);
        QVERIFY(shim.start(client));
        QSignalSpy failed(&client, &ShimClient::errorOccurred);
        const Result<quint32> id = client.exec(shell(QStringLiteral(
            "echo 'not a frame (to the shim fd 1, which is its stderr)' > /proc/$PPID/fd/1; "
            "wc -c < /proc/$PPID/fd/0; ls /proc/self/fd")));
        QVERIFY(id && rec.wait(*id));
        QCOMPARE(rec[*id].status->exitCode, 0);
        // ls itself holds fd 3, the directory it lists.
        QCOMPARE(rec[*id].out, QByteArray("0\n0\n1\n2\n3\n"));
        QVERIFY(await(client.ping()));
        QVERIFY(failed.isEmpty());
    }

    // EOF on stdin: the backend is gone and cannot come back, so the execs are stopped (SIGTERM, as
    // for any client that went away) and the shim exits.
    void eofOnStdinStopsExecsAndExits()
    {
        StdioShim shim;
        ShimClient client;
        ExecRecorder rec(&client);
        QVERIFY(shim.start(client));
        const QString marker = shim.dir() + QStringLiteral("/stopped");
        const Result<quint32> id = client.exec(shell(
            QStringLiteral("trap 'echo term > %1; exit 0' TERM; sleep 30 & echo $!; wait").arg(marker)));
        QVERIFY(id);
        QTRY_VERIFY_WITH_TIMEOUT(rec[*id].out.endsWith('\n'), 5000);
        const qint64 sleeper = rec[*id].out.trimmed().toLongLong();
        QVERIFY(sleeper > 0);

        QSignalSpy finished(&shim.process(), &QProcess::finished);
        shim.closeStdin();
        QVERIFY(finished.wait(10000));
        QCOMPARE(shim.process().exitStatus(), QProcess::NormalExit);
        QCOMPARE(shim.process().exitCode(), 0);
        QFile stopped(marker);
        QVERIFY(stopped.open(QIODevice::ReadOnly));
        QCOMPARE(stopped.readAll(), QByteArray("term\n"));
        QTRY_VERIFY_WITH_TIMEOUT(!inProcessTable(sleeper), 5000);
    }

    void clientDisconnectEndsTheShim()
    {
        StdioShim shim;
        ShimClient client;
        QVERIFY(shim.start(client));
        QSignalSpy finished(&shim.process(), &QProcess::finished);
        client.disconnectFromShim(); // the relay closes stdin, as the backend's attach would end
        QVERIFY(finished.wait(10000));
        QCOMPARE(shim.process().exitCode(), 0);
    }

    void shutdownRequestWorks()
    {
        StdioShim shim;
        ShimClient client;
        QVERIFY(shim.start(client));
        QSignalSpy finished(&shim.process(), &QProcess::finished);
        QVERIFY(await(client.shutdown(0)));
        QVERIFY(finished.size() > 0 || finished.wait(10000));
        QCOMPARE(shim.process().exitCode(), 0);
    }

    void badArguments_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::newRow("stdio and a control socket") << QStringList{QStringLiteral("--stdio"), QStringLiteral("--control"), QStringLiteral("/tmp/x.sock")};
        QTest::newRow("stdio and connect") << QStringList{QStringLiteral("--stdio"), QStringLiteral("--connect"), QStringLiteral("/tmp/x.sock")};
        QTest::newRow("tunnel and proxy socket") << QStringList{QStringLiteral("--stdio"), QStringLiteral("--proxy-tunnel"),
                                                                QStringLiteral("--proxy-socket"), QStringLiteral("/tmp/p.sock")};
    }

    void badArguments()
    {
        QFETCH(QStringList, args);
        QProcess shim;
        shim.start(QStringLiteral(AIRLOCK_SHIM_PATH), args);
        QVERIFY(shim.waitForFinished(5000));
        QCOMPARE(shim.exitCode(), 2);
        QVERIFY(shim.readAllStandardOutput().isEmpty());
    }

    // A broken protocol drops the client, and in stdio mode that ends the shim, cleanly.
    void protocolErrorEndsTheShim_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QByteArray>("bad");
        QTest::addColumn<QString>("says");
        QTest::newRow("a malformed body") << QStringList{} << frame(wire::FrameType::Stat, 2, QByteArray("\x00\x30\x00", 3))
                                          << QStringLiteral("truncated field header");
        QTest::newRow("data for a tunnel never opened")
            << QStringList{QStringLiteral("--proxy-tunnel"), QStringLiteral("--proxy-port"), QStringLiteral("0")}
            << frame(wire::FrameType::TunnelData, 0x80000007, "never opened") << QStringLiteral("never opened");
    }

    void protocolErrorEndsTheShim()
    {
        QFETCH(QStringList, args);
        QFETCH(QByteArray, bad);
        QFETCH(QString, says);
        QProcess shim;
        shim.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        shim.start(QStringLiteral(AIRLOCK_SHIM_PATH), QStringList{QStringLiteral("--stdio")} + args);
        QVERIFY(shim.waitForStarted(5000));
        FrameDecoder decoder;
        shim.write(frame(wire::FrameType::Hello, 1, encodeHello(1, 1, {QStringLiteral("proxy-tunnel")})));
        std::optional<Frame> answer = readFrame(shim, decoder);
        QVERIFY(answer && answer->type == wire::FrameType::HelloOk);

        shim.write(bad);
        answer = readFrame(shim, decoder);
        QVERIFY(answer);
        QCOMPARE(answer->type, wire::FrameType::Error);
        QCOMPARE(answer->id, 0u);
        const ShimFailure failure = decodeFailure(answer->body);
        QCOMPARE(failure.code, wire::ShimError::Malformed);
        QVERIFY2(failure.message.contains(says), qPrintable(failure.message));
        QVERIFY(shim.state() == QProcess::NotRunning || shim.waitForFinished(5000));
        QCOMPARE(shim.exitStatus(), QProcess::NormalExit);
        QCOMPARE(shim.exitCode(), 0);
    }
};

QTEST_GUILESS_MAIN(TestShimStdio)
#include "tst_shimstdio.moc"
