// The real airlock-shim on the host (no sandbox yet): execs, their process groups, stdin,
// output caps, timeouts, reaping, and what a hostile client can and cannot do to it.

#include "shimharness.h"

#include "docker/shimlistener.h"

#include <QDir>
#include <QFileInfo>
#include <QLocalSocket>
#include <QProcess>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QTest>

#include <csignal>

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

ExecRequest program(const QStringList &argv)
{
    ExecRequest r;
    r.argv = argv;
    r.env = QStringList{QStringLiteral("PATH=/usr/local/bin:/usr/bin:/bin")};
    return r;
}

QByteArray frame(wire::FrameType type, quint32 id, const QByteArray &body = {})
{
    return encodeFrame(type, id, body).value_or(QByteArray());
}

// Reads frames from a raw socket until one arrives or the socket closes.
std::optional<Frame> readFrame(QLocalSocket &socket, FrameDecoder &decoder, int timeoutMs = 5000)
{
    std::optional<Frame> got;
    const bool ended = QTest::qWaitFor([&] {
        decoder.feed(socket.readAll());
        Result<std::optional<Frame>> next = decoder.next();
        if (next && next->has_value())
            got = **next;
        return got.has_value() || !next || socket.state() != QLocalSocket::ConnectedState;
    }, timeoutMs);
    return ended ? got : std::nullopt;
}

} // namespace

class TestShim : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<ShimHarness> m_shim;
    std::unique_ptr<ShimClient> m_client;
    std::unique_ptr<ExecRecorder> m_rec;

    // Runs one exec to its end and returns what it did.
    ExecOutcome run(const ExecRequest &request)
    {
        const Result<quint32> id = m_client->exec(request);
        if (!id || !m_rec->wait(*id))
            return ExecOutcome{};
        return (*m_rec)[*id];
    }

private Q_SLOTS:
    void init()
    {
        m_shim = std::make_unique<ShimHarness>();
        QVERIFY(m_shim->start());
        m_client = std::make_unique<ShimClient>();
        m_rec = std::make_unique<ExecRecorder>(m_client.get());
        QVERIFY(m_shim->connect(*m_client));
    }

    void cleanup()
    {
        if (m_client && m_client->isReady())
            await(m_client->shutdown(0));
        m_rec.reset();
        m_client.reset();
        m_shim.reset();
    }

    // --connect, as in a Docker sandbox: the backend listens, the shim comes to it, and comes back after
    // the connection drops. Only a process running the shim binary is taken.
    void connectModeReachesAListeningBackend()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("shim.sock"));
        docker::ShimListener listener(path, QStringLiteral(AIRLOCK_SHIM_PATH));
        QVERIFY(listener.listen(false));
        QSignalSpy connected(&listener, &docker::ShimListener::connected);
        QSignalSpy refused(&listener, &docker::ShimListener::refused);

        QLocalSocket impostor; // this test process is not the shim
        impostor.connectToServer(path);
        QVERIFY(refused.wait(5000));
        QVERIFY(refused.first().first().toString().contains(u"not running the shim"));
        QVERIFY(connected.isEmpty());

        QProcess shim;
        shim.start(QStringLiteral(AIRLOCK_SHIM_PATH), {QStringLiteral("--connect"), path, QStringLiteral("--workspace"), dir.path()});
        for (int round = 0; round < 2; ++round) {
            QVERIFY(connected.wait(5000));
            QVERIFY(!QFileInfo::exists(path)); // one connection, then the socket goes
            ShimClient client;
            ExecRecorder rec(&client);
            QSignalSpy ready(&client, &ShimClient::ready);
            client.useConnection(connected.takeFirst().first().value<qintptr>(), path);
            QVERIFY(ready.wait(5000));
            QCOMPARE(client.shimInfo().shimPid, shim.processId());
            const Result<quint32> id = client.exec(program({QStringLiteral("/bin/echo"), QStringLiteral("round %1").arg(round)}));
            QVERIFY(id && rec.wait(*id));
            QCOMPARE(rec[*id].out, QStringLiteral("round %1\n").arg(round).toUtf8());
            client.disconnectFromShim(); // Airlock goes away; on its return it listens again
            QVERIFY(listener.listen(false));
        }
        listener.close();
        shim.terminate();
        QVERIFY(shim.waitForFinished(5000));
    }

    void helloAndPing()
    {
        const HelloInfo &info = m_client->shimInfo();
        QCOMPARE(info.version, wire::ProtocolVersion);
        QVERIFY(info.shimName.startsWith(u"airlock-shim"));
        QVERIFY(info.capabilities.contains(u"exec"));
        QVERIFY(info.capabilities.contains(u"fs.read"));
        QCOMPARE(info.shimPid, m_shim->process().processId());
        QCOMPARE(info.workspace, m_shim->workspace());
        QCOMPARE(info.proxyPort, quint16(0));
        const Result<QByteArray> pong = await(m_client->ping("are you there"));
        QVERIFY(pong);
        QCOMPARE(*pong, QByteArray("are you there"));
    }

    void echo()
    {
        const ExecOutcome r = run(program({QStringLiteral("echo"), QStringLiteral("hello"), QStringLiteral("world")}));
        QVERIFY(r.status);
        QVERIFY(r.pid > 0);
        QCOMPARE(r.out, QByteArray("hello world\n"));
        QCOMPARE(r.status->exitCode, 0);
        QVERIFY(!r.status->timedOut && !r.status->outputTruncated && !r.status->killed);
    }

    void stdinStderrAndExitCode()
    {
        ExecRequest request = shell(QStringLiteral("cat; echo oops >&2; exit 3"));
        request.stdinData = QByteArray("abc\0def", 7);
        const ExecOutcome r = run(request);
        QVERIFY(r.status);
        QCOMPARE(r.out, QByteArray("abc\0def", 7));
        QCOMPARE(r.err, QByteArray("oops\n"));
        QCOMPARE(r.status->exitCode, 3);
    }

    void envAndCwdAreTheRequests()
    {
        QDir(m_shim->workspace()).mkpath(QStringLiteral("sub"));
        ExecRequest request = shell(QStringLiteral("echo \"$FOO ${HOME:-nohome}\"; pwd"));
        request.env << QStringLiteral("FOO=bar");
        request.cwd = QStringLiteral("sub");
        const ExecOutcome r = run(request);
        QVERIFY(r.status);
        QCOMPARE(r.out, QByteArray("bar nohome\n") + m_shim->workspace().toUtf8() + "/sub\n");
    }

    void streamingStdin()
    {
        ExecRequest request = program({QStringLiteral("cat")});
        request.streamStdin = true;
        const Result<quint32> id = m_client->exec(request);
        QVERIFY(id);
        m_client->writeStdin(*id, "first\n");
        // The echo arrives while stdin is still open: the stream is live, not buffered to the end.
        QVERIFY(m_rec->waitForOutput(*id, "first\n"));
        QVERIFY(!(*m_rec)[*id].done());
        m_client->writeStdin(*id, "second\n");
        m_client->closeStdin(*id);
        QVERIFY(m_rec->wait(*id));
        QCOMPARE((*m_rec)[*id].out, QByteArray("first\nsecond\n"));
        QCOMPARE((*m_rec)[*id].status->exitCode, 0);
    }

    void largeStdinIsStreamed()
    {
        ExecRequest request = program({QStringLiteral("wc"), QStringLiteral("-c")});
        request.stdinData = QByteArray(3'000'000, 'x');
        const ExecOutcome r = run(request);
        QVERIFY(r.status);
        QCOMPARE(r.out.trimmed(), QByteArray("3000000"));
    }

    void outputCapIsHonoured()
    {
        // A writer that never stops by itself: past the cap the shim stops it and says so.
        ExecRequest capped = program({QStringLiteral("cat"), QStringLiteral("/dev/zero")});
        capped.outputCap = 100'000;
        capped.timeoutMs = 60'000; // only so that a shim that lets it run fails instead of hanging
        const ExecOutcome r = run(capped);
        QVERIFY(r.status);
        QCOMPARE(r.out.size(), 100'000);
        QVERIFY(r.status->outputTruncated);
        QVERIFY(r.status->outputCapStopped);
        QVERIFY(!r.status->timedOut);
        QCOMPARE(r.status->signal.value_or(0), SIGTERM);
        QVERIFY(r.status->outputBytes >= 100'000);

        // Under the default cap everything arrives, through the shim's backpressure.
        const ExecOutcome all = run(program({QStringLiteral("head"), QStringLiteral("-c"), QStringLiteral("3000000"),
                                             QStringLiteral("/dev/urandom")}));
        QVERIFY(all.status);
        QCOMPARE(all.out.size(), 3'000'000);
        QVERIFY(!all.status->outputTruncated);
    }

    void timeoutKillsTheWholeGroup()
    {
        ExecRequest request = shell(QStringLiteral("sleep 30 & echo $!; wait"));
        request.timeoutMs = 300;
        const ExecOutcome r = run(request);
        QVERIFY(r.status);
        QVERIFY(r.status->timedOut);
        QCOMPARE(r.status->signal, SIGTERM);
        const qint64 grandchild = r.out.trimmed().toLongLong();
        QVERIFY(grandchild > 0);
        QTRY_VERIFY_WITH_TIMEOUT(!inProcessTable(grandchild), 5000);
    }

    void stopEscalatesToSigkill()
    {
        // The ignored SIGTERM is inherited through exec, so only SIGKILL ends the sleep.
        const Result<quint32> id = m_client->exec(shell(QStringLiteral("trap '' TERM; echo ready; exec sleep 30")));
        QVERIFY(id);
        QVERIFY(m_rec->waitForOutput(*id, "ready"));
        QVERIFY(await(m_client->kill(*id, 0, 200)));
        QVERIFY(m_rec->wait(*id));
        const ExitStatus status = *(*m_rec)[*id].status;
        QCOMPARE(status.signal, SIGKILL);
        QVERIFY(status.killed);
        QVERIFY(!status.timedOut);
    }

    void killWithSignal()
    {
        // No need to wait for the start: the shim answers exec only once execve has happened.
        const Result<quint32> id = m_client->exec(program({QStringLiteral("sleep"), QStringLiteral("30")}));
        QVERIFY(id);
        QVERIFY(await(m_client->kill(*id, SIGINT)));
        QVERIFY(m_rec->wait(*id));
        QCOMPARE((*m_rec)[*id].status->signal, SIGINT);

        const Result<void> unknown = await(m_client->kill(4242));
        QVERIFY(!unknown);
        QCOMPARE(unknown.error().code, ErrorCode::NotFound);
    }

    void spawnFailures()
    {
        const ExecOutcome missing = run(program({QStringLiteral("no-such-program-for-airlock")}));
        QVERIFY(missing.error);
        QCOMPARE(missing.error->code, ErrorCode::NotFound);
        QVERIFY(missing.error->message.contains(u"no-such-program-for-airlock"));

        ExecRequest badCwd = program({QStringLiteral("true")});
        badCwd.cwd = QStringLiteral("/no/such/dir");
        const ExecOutcome r = run(badCwd);
        QVERIFY(r.error);
        QVERIFY(r.error->message.contains(u"/no/such/dir"));

        ExecRequest badEnv = program({QStringLiteral("true")});
        badEnv.env << QStringLiteral("NOEQUALS");
        QVERIFY(run(badEnv).error);
    }

    void concurrentExecs()
    {
        // A cat that waits on stdin stays running while the others start and finish around it.
        ExecRequest blocker = program({QStringLiteral("cat")});
        blocker.streamStdin = true;
        const Result<quint32> held = m_client->exec(blocker);
        QVERIFY(held);
        QList<quint32> ids;
        for (int i = 0; i < 12; ++i) {
            const Result<quint32> id = m_client->exec(shell(QStringLiteral("echo $0")));
            QVERIFY(id);
            ids << *id;
        }
        for (int i = 0; i < ids.size(); ++i) {
            QVERIFY(m_rec->wait(ids[i]));
            QCOMPARE((*m_rec)[ids[i]].out, QByteArray("/bin/sh\n"));
        }
        QVERIFY(!(*m_rec)[*held].done());
        m_client->writeStdin(*held, "done");
        m_client->closeStdin(*held);
        QVERIFY(m_rec->wait(*held));
        QCOMPARE((*m_rec)[*held].out, QByteArray("done"));
    }

    void reapsOrphansAndChildren()
    {
        // The subshell outlives sh and is reparented to the shim, which must reap it.
        const ExecOutcome r = run(shell(QStringLiteral("(sleep 0.2; exit 0) & echo $!")));
        QVERIFY(r.status);
        const qint64 orphan = r.out.trimmed().toLongLong();
        QVERIFY(orphan > 0);
        QTRY_VERIFY_WITH_TIMEOUT(!inProcessTable(orphan), 5000);
        for (int i = 0; i < 5; ++i)
            QVERIFY(run(program({QStringLiteral("true")})).status);
        QTRY_COMPARE_WITH_TIMEOUT(zombieChildren(m_shim->process().processId()), 0, 5000);
    }

    void disconnectStopsTheClientsExecs()
    {
        ShimClient other;
        ExecRecorder rec(&other);
        QVERIFY(m_shim->connect(other));
        const Result<quint32> id = other.exec(program({QStringLiteral("sleep"), QStringLiteral("30")}));
        QVERIFY(id);
        QTRY_VERIFY_WITH_TIMEOUT(rec[*id].pid > 0, 5000);
        const qint64 pid = rec[*id].pid;
        QSignalSpy gone(&other, &ShimClient::disconnected);
        other.disconnectFromShim();
        QCOMPARE(gone.size(), 1);
        QVERIFY(rec[*id].error);
        QTRY_VERIFY_WITH_TIMEOUT(!inProcessTable(pid), 5000);
        QVERIFY(await(m_client->ping()));
    }

    void garbageDoesNotKillTheShim()
    {
        // Unknown frame type: an error answer, and the connection stays usable.
        QLocalSocket raw;
        raw.connectToServer(m_shim->socketPath());
        QVERIFY(raw.waitForConnected(5000));
        FrameDecoder decoder;
        raw.write(frame(static_cast<wire::FrameType>(0x77), 5));
        std::optional<Frame> answer = readFrame(raw, decoder);
        QVERIFY(answer);
        QCOMPARE(answer->type, wire::FrameType::Error);
        QCOMPARE(answer->id, 5u);
        QCOMPARE(decodeFailure(answer->body).code, wire::ShimError::UnknownType);

        // Requests before hello are refused, but ping works.
        raw.write(frame(wire::FrameType::Stat, 6, encodeStat(QStringLiteral("x"), true)));
        answer = readFrame(raw, decoder);
        QVERIFY(answer);
        QCOMPARE(decodeFailure(answer->body).code, wire::ShimError::NotNegotiated);

        // A body that is not TLV: malformed, answered on id 0, and this client alone is closed.
        raw.write(frame(wire::FrameType::Hello, 7, QByteArray("\x00\x01\x00\x00\x00\x09zz", 8)));
        answer = readFrame(raw, decoder);
        QVERIFY(answer);
        QCOMPARE(answer->id, 0u);
        QCOMPARE(decodeFailure(answer->body).code, wire::ShimError::Malformed);
        QTRY_VERIFY_WITH_TIMEOUT(raw.state() != QLocalSocket::ConnectedState, 5000);

        // An oversized length closes that connection too.
        QLocalSocket huge;
        huge.connectToServer(m_shim->socketPath());
        QVERIFY(huge.waitForConnected(5000));
        huge.write(QByteArray("\x7f\xff\xff\xff\x01", 5));
        QTRY_VERIFY_WITH_TIMEOUT(huge.state() != QLocalSocket::ConnectedState, 5000);

        // Random bytes and random well-framed requests, from a fixed seed. Exec, write and
        // shutdown are left out: random argv could run something, and shutdown ends the test.
        QRandomGenerator rng(0x5eed);
        for (int round = 0; round < 20; ++round) {
            QLocalSocket fuzz;
            fuzz.connectToServer(m_shim->socketPath());
            QVERIFY(fuzz.waitForConnected(5000));
            QByteArray bytes;
            if (round % 2 == 0)
                bytes += frame(wire::FrameType::Hello, 1, encodeHello());
            for (int i = 0; i < 30; ++i) {
                QByteArray body(rng.bounded(200), Qt::Uninitialized);
                for (char &c : body)
                    c = static_cast<char>(rng.bounded(256));
                auto type = static_cast<wire::FrameType>(rng.bounded(256));
                if (type == wire::FrameType::Exec || type == wire::FrameType::WriteFile
                    || type == wire::FrameType::Shutdown)
                    type = wire::FrameType::Stat;
                bytes += (round % 5 == 4) ? body : frame(type, rng.generate(), body);
            }
            fuzz.write(bytes);
            fuzz.waitForBytesWritten(2000);
            fuzz.abort();
        }
        QCOMPARE(m_shim->process().state(), QProcess::Running);
        QVERIFY(await(m_client->ping("still here")));
        QVERIFY(run(program({QStringLiteral("true")})).status);
    }

    void versionMismatchIsRefused()
    {
        QLocalSocket raw;
        raw.connectToServer(m_shim->socketPath());
        QVERIFY(raw.waitForConnected(5000));
        raw.write(frame(wire::FrameType::Hello, 1, encodeHello(90, 99)));
        FrameDecoder decoder;
        const std::optional<Frame> answer = readFrame(raw, decoder);
        QVERIFY(answer);
        QCOMPARE(decodeFailure(answer->body).code, wire::ShimError::VersionMismatch);
        QTRY_VERIFY_WITH_TIMEOUT(raw.state() != QLocalSocket::ConnectedState, 5000);
    }

    void shutdownStopsEverything()
    {
        const Result<quint32> id = m_client->exec(shell(QStringLiteral("trap '' TERM; echo ready; exec sleep 30")));
        QVERIFY(id);
        QVERIFY(m_rec->waitForOutput(*id, "ready"));
        QSignalSpy finished(&m_shim->process(), &QProcess::finished);
        QVERIFY(await(m_client->shutdown(100)));
        QVERIFY(m_rec->wait(*id));
        QVERIFY((*m_rec)[*id].status);
        QVERIFY((*m_rec)[*id].status->killed);
        QCOMPARE((*m_rec)[*id].status->signal, SIGKILL);
        QVERIFY(finished.size() > 0 || finished.wait(5000));
        QCOMPARE(m_shim->process().exitCode(), 0);
        QVERIFY(!QFileInfo::exists(m_shim->socketPath()));
    }
};

QTEST_GUILESS_MAIN(TestShim)
#include "tst_shim.moc"
