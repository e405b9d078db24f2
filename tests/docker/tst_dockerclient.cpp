// DockerClient against a scripted daemon on a unix socket: version negotiation, keep-alive and retry,
// error messages a user can act on, streaming progress and logs, timeouts and hostile answers.
#include "docker/dockerclient.h"
#include "docker/dockererrors.h"

#include <QLocalServer>
#include <QLocalSocket>
#include <QTemporaryDir>
#include <QtTest>

#include <unistd.h>

using namespace airlock;
using namespace airlock::docker;

namespace {

template<typename T>
Result<T> await(const QFuture<Result<T>> &future, int timeoutMs = 10000)
{
    if (!QTest::qWaitFor([&future] { return future.isFinished(); }, timeoutMs))
        return fail(ErrorCode::Io, QStringLiteral("test timed out"));
    return future.result();
}

QByteArray response(int status, const QByteArray &body, const QByteArray &extra = {})
{
    return "HTTP/1.1 " + QByteArray::number(status) + " X\r\nContent-Type: application/json\r\n" + extra
        + "Content-Length: " + QByteArray::number(body.size()) + "\r\n\r\n" + body;
}

QByteArray chunked(const QList<QByteArray> &pieces)
{
    QByteArray out = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (const QByteArray &p : pieces)
        out += QByteArray::number(p.size(), 16) + "\r\n" + p + "\r\n";
    return out + "0\r\n\r\n";
}

QByteArray frame(quint8 stream, const QByteArray &payload)
{
    QByteArray f(8, '\0');
    f[0] = char(stream);
    f[7] = char(payload.size()); // tests keep payloads under 256 bytes
    return f + payload;
}

// A daemon that answers each request with whatever the handler returns; an empty answer means silence.
class FakeDaemon : public QObject
{
public:
    explicit FakeDaemon(const QString &path)
    {
        m_server.listen(path);
        connect(&m_server, &QLocalServer::newConnection, this, [this] {
            while (QLocalSocket *s = m_server.nextPendingConnection()) {
                ++connections;
                connect(s, &QLocalSocket::readyRead, this, [this, s] { serve(s); });
            }
        });
    }

    std::function<QByteArray(const QByteArray &method, const QByteArray &path, const QByteArray &body)> handler;
    bool closeAfterEach = false;
    int connections = 0;
    QList<QByteArray> paths;

private:
    void serve(QLocalSocket *s)
    {
        QByteArray &buffer = m_buffers[s];
        buffer += s->readAll();
        while (true) {
            const qsizetype end = buffer.indexOf("\r\n\r\n");
            if (end < 0)
                return;
            const QByteArray head = buffer.left(end);
            qsizetype length = 0;
            for (const QByteArray &line : head.split('\n')) {
                if (line.toLower().startsWith("content-length:"))
                    length = line.mid(15).trimmed().toLongLong();
            }
            if (buffer.size() < end + 4 + length)
                return;
            const QByteArray body = buffer.mid(end + 4, length);
            buffer.remove(0, end + 4 + length);
            const QList<QByteArray> first = head.left(head.indexOf('\r')).split(' ');
            paths << first.value(1);
            const QByteArray answer = handler ? handler(first.value(0), first.value(1), body) : QByteArray();
            if (answer.isEmpty())
                continue;
            s->write(answer);
            s->flush();
            if (closeAfterEach)
                s->disconnectFromServer();
        }
    }

    QLocalServer m_server;
    QHash<QLocalSocket *, QByteArray> m_buffers;
};

QByteArray pingAnswer(const QByteArray &version)
{
    return response(200, "OK", "API-Version: " + version + "\r\nOSType: linux\r\n");
}

} // namespace

class TestDockerClient : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void init();
    void negotiation_data();
    void negotiation();
    void keepAliveReusesOneConnection();
    void retriesWhenTheDaemonClosedAnIdleConnection();
    void chunkedJson();
    void apiErrors_data();
    void apiErrors();
    void unreachable_data();
    void unreachable();
    void permissionDeniedForRealWhenNotRoot();
    void importStreamsProgress();
    void pullErrorInTheStream();
    void logsAreDemultiplexed();
    void timeout();
    void oversizedAnswer();
    void garbageAnswer();
    void contextGoneMeansNoCallback();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    QString socket() const { return m_dir->filePath(QStringLiteral("docker.sock")); }
    DockerEndpoint endpoint() const
    {
        DockerEndpoint e;
        e.socketPath = socket();
        return e;
    }
};

void TestDockerClient::init()
{
    qunsetenv("DOCKER_API_VERSION");
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestDockerClient::negotiation_data()
{
    QTest::addColumn<QByteArray>("offered");
    QTest::addColumn<QString>("used"); // empty: refused
    QTest::newRow("newer daemon") << QByteArray("1.47") << QStringLiteral("1.41");
    QTest::newRow("same") << QByteArray("1.41") << QStringLiteral("1.41");
    QTest::newRow("older daemon") << QByteArray("1.30") << QStringLiteral("1.30");
    QTest::newRow("too old") << QByteArray("1.12") << QString();
}

void TestDockerClient::negotiation()
{
    QFETCH(QByteArray, offered);
    QFETCH(QString, used);
    FakeDaemon daemon(socket());
    daemon.handler = [&](const QByteArray &, const QByteArray &path, const QByteArray &) -> QByteArray {
        if (path == "/_ping")
            return pingAnswer(offered);
        return response(200, "{\"Version\":\"20.10.24\"}");
    };
    DockerClient client(endpoint());
    auto version = await(client.version());
    if (used.isEmpty()) {
        QVERIFY(!version);
        QVERIFY2(version.error().message.contains(QLatin1String("needs 1.25")), qPrintable(version.error().message));
        return;
    }
    QVERIFY2(version.has_value(), qPrintable(version ? QString() : version.error().message));
    QCOMPARE(version->value(u"Version").toString(), QStringLiteral("20.10.24"));
    QCOMPARE(client.apiVersion(), used);
    QCOMPARE(daemon.paths, (QList<QByteArray>{"/_ping", "/v" + used.toLatin1() + "/version"}));
}

void TestDockerClient::keepAliveReusesOneConnection()
{
    FakeDaemon daemon(socket());
    daemon.handler = [](const QByteArray &, const QByteArray &path, const QByteArray &) {
        return path == "/_ping" ? pingAnswer("1.41") : response(200, "[]");
    };
    DockerClient client(endpoint());
    for (int i = 0; i < 5; ++i)
        QVERIFY(await(client.listImages()).has_value());
    QCOMPARE(daemon.connections, 1);
    QCOMPARE(daemon.paths.size(), 6);
}

void TestDockerClient::retriesWhenTheDaemonClosedAnIdleConnection()
{
    FakeDaemon daemon(socket());
    daemon.closeAfterEach = true; // keep-alive promised, then broken
    daemon.handler = [](const QByteArray &, const QByteArray &path, const QByteArray &) {
        return path == "/_ping" ? pingAnswer("1.41") : response(200, "[]");
    };
    DockerClient client(endpoint());
    for (int i = 0; i < 3; ++i) {
        auto images = await(client.listImages());
        QVERIFY2(images.has_value(), qPrintable(images ? QString() : images.error().message));
    }
    QVERIFY(daemon.connections >= 3);
}

void TestDockerClient::chunkedJson()
{
    FakeDaemon daemon(socket());
    daemon.handler = [](const QByteArray &, const QByteArray &path, const QByteArray &) {
        if (path == "/_ping")
            return pingAnswer("1.41");
        return chunked({"[{\"Id\":\"abc\",\"Names\":[\"/airlock-sb-1\"],", "\"State\":\"running\",\"Labels\":{\"airlock.sandbox\":\"sb-1\"}}]"});
    };
    DockerClient client(endpoint());
    auto list = await(client.listContainers({{QStringLiteral("label"), {QStringLiteral("airlock.sandbox")}}}));
    QVERIFY(list.has_value());
    QCOMPARE(list->size(), 1);
    QCOMPARE(list->first().toObject().value(u"Id").toString(), QStringLiteral("abc"));
    // The filter went out as URL-encoded JSON.
    QVERIFY(daemon.paths.last().contains("filters=%7B%22label%22%3A%5B%22airlock.sandbox%22%5D%7D"));
}

void TestDockerClient::apiErrors_data()
{
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("expect");
    QTest::newRow("image missing") << 404 << QByteArray("{\"message\":\"No such image: debian:bookworm-slim\"}")
                                   << int(ErrorCode::NotFound) << QStringLiteral("airlockctl image build-base");
    QTest::newRow("conflict") << 409 << QByteArray("{\"message\":\"Conflict. The container name is already in use\"}")
                              << int(ErrorCode::InvalidArgument) << QStringLiteral("already in use");
    QTest::newRow("server error, text body") << 500 << QByteArray("runtime exploded") << int(ErrorCode::Io)
                                             << QStringLiteral("runtime exploded");
    QTest::newRow("empty body") << 503 << QByteArray() << int(ErrorCode::Io) << QStringLiteral("HTTP 503");
}

void TestDockerClient::apiErrors()
{
    QFETCH(int, status);
    QFETCH(QByteArray, body);
    QFETCH(int, code);
    QFETCH(QString, expect);
    FakeDaemon daemon(socket());
    daemon.handler = [&](const QByteArray &, const QByteArray &path, const QByteArray &) {
        return path == "/_ping" ? pingAnswer("1.41") : response(status, body);
    };
    DockerClient client(endpoint());
    auto created = await(client.createContainer(QJsonObject{{QStringLiteral("Image"), QStringLiteral("debian:bookworm-slim")}},
                                                QStringLiteral("airlock-sb-x")));
    QVERIFY(!created);
    QCOMPARE(int(created.error().code), code);
    QVERIFY2(created.error().message.contains(expect), qPrintable(created.error().message));
}

void TestDockerClient::unreachable_data()
{
    QTest::addColumn<QString>("what");
    QTest::addColumn<QString>("expect");
    QTest::newRow("no socket") << QStringLiteral("missing")
                               << (dockerInstalled() ? QStringLiteral("is not running (nothing at") : QStringLiteral("not installed"));
    QTest::newRow("nobody behind the file") << QStringLiteral("file") << QStringLiteral("nobody answers");
    QTest::newRow("tcp refused") << QStringLiteral("tcp") << QStringLiteral("connection refused");
}

void TestDockerClient::unreachable()
{
    QFETCH(QString, what);
    QFETCH(QString, expect);
    DockerEndpoint e = endpoint();
    if (what == QLatin1String("file")) {
        QFile f(socket());
        QVERIFY(f.open(QIODevice::WriteOnly));
    } else if (what == QLatin1String("tcp")) {
        e = *DockerEndpoint::parse(QStringLiteral("tcp://127.0.0.1:1"));
    }
    DockerClient client(e);
    auto ping = await(client.ping());
    QVERIFY(!ping);
    QCOMPARE(ping.error().code, ErrorCode::Io);
    QVERIFY2(ping.error().message.contains(expect), qPrintable(ping.error().message));
}

void TestDockerClient::permissionDeniedForRealWhenNotRoot()
{
    const Error mapped = unixSocketError(socket(), QLocalSocket::SocketAccessError, {});
    QVERIFY(mapped.message.contains(QLatin1String("usermod -aG docker")));
    if (::geteuid() == 0)
        QSKIP("root may connect to any socket, so a mode-000 socket cannot be refused here; the message mapping is checked above");
    FakeDaemon daemon(socket());
    QVERIFY(QFile::setPermissions(socket(), {}));
    DockerClient client(endpoint());
    auto ping = await(client.ping());
    QVERIFY(!ping);
    QVERIFY2(ping.error().message.contains(QLatin1String("permission denied")), qPrintable(ping.error().message));
}

void TestDockerClient::importStreamsProgress()
{
    FakeDaemon daemon(socket());
    QByteArray received;
    daemon.handler = [&](const QByteArray &, const QByteArray &path, const QByteArray &body) {
        if (path == "/_ping")
            return pingAnswer("1.41");
        received = body;
        return chunked({"{\"status\":\"Importing\",\"progressDetail\":{\"current\":5,\"total\":10}}\r\n{\"sta",
                        "tus\":\"sha256:0123456789abcdef\"}\r\n"});
    };
    DockerClient client(endpoint());
    QList<ProgressLine> lines;
    auto id = await(client.importImage("TARBYTES", QStringLiteral("airlock-base"), QStringLiteral("latest"),
                                       {QStringLiteral("ENV PATH=/bin")}, [&](const ProgressLine &l) { lines << l; }));
    QVERIFY2(id.has_value(), qPrintable(id ? QString() : id.error().message));
    QCOMPARE(*id, QStringLiteral("sha256:0123456789abcdef"));
    QCOMPARE(lines.size(), 2);
    QCOMPARE(lines.first().total, 10);
    QCOMPARE(received, QByteArray("TARBYTES"));
    QVERIFY(daemon.paths.last().contains("fromSrc=-&repo=airlock-base&tag=latest&changes=ENV%20PATH%3D%2Fbin"));
}

void TestDockerClient::pullErrorInTheStream()
{
    FakeDaemon daemon(socket());
    daemon.handler = [&](const QByteArray &, const QByteArray &path, const QByteArray &) {
        if (path == "/_ping")
            return pingAnswer("1.41");
        return chunked({"{\"status\":\"Pulling from library/debian\"}\n",
                        "{\"errorDetail\":{\"message\":\"Get https://registry-1.docker.io/v2/: dial tcp: lookup failed\"},"
                        "\"error\":\"Get https://registry-1.docker.io/v2/: dial tcp\"}\n"});
    };
    DockerClient client(endpoint());
    auto pulled = await(client.pullImage(QStringLiteral("debian:bookworm-slim")));
    QVERIFY(!pulled);
    QVERIFY2(pulled.error().message.contains(QLatin1String("could not pull debian:bookworm-slim: Get https")),
             qPrintable(pulled.error().message));
    QVERIFY(daemon.paths.last().endsWith("fromImage=debian&tag=bookworm-slim"));
}

void TestDockerClient::logsAreDemultiplexed()
{
    FakeDaemon daemon(socket());
    daemon.handler = [&](const QByteArray &, const QByteArray &path, const QByteArray &) {
        if (path == "/_ping")
            return pingAnswer("1.41");
        const QByteArray frames = frame(2, "airlock-shim: cannot bind\n") + frame(1, "out\n");
        return chunked({frames.left(5), frames.mid(5)});
    };
    DockerClient client(endpoint());
    auto logs = await(client.containerLogs(QStringLiteral("abc")));
    QVERIFY(logs.has_value());
    QCOMPARE(logs->err, QByteArray("airlock-shim: cannot bind\n"));
    QCOMPARE(logs->out, QByteArray("out\n"));
}

void TestDockerClient::timeout()
{
    FakeDaemon daemon(socket());
    daemon.handler = [](const QByteArray &, const QByteArray &path, const QByteArray &) {
        return path == "/_ping" ? pingAnswer("1.41") : QByteArray(); // silence
    };
    DockerClient client(endpoint());
    HttpRequest r;
    r.path = "/containers/json";
    r.timeoutMs = 200;
    std::optional<Result<HttpResponse>> result;
    client.send(r, this, {{}, {}, [&](const Result<HttpResponse> &res) { result = res; }});
    QTRY_VERIFY_WITH_TIMEOUT(result.has_value(), 5000);
    QVERIFY(!*result);
    QVERIFY2(result->error().message.contains(QLatin1String("did not answer")), qPrintable(result->error().message));
}

void TestDockerClient::oversizedAnswer()
{
    FakeDaemon daemon(socket());
    daemon.handler = [](const QByteArray &, const QByteArray &path, const QByteArray &) -> QByteArray {
        if (path == "/_ping")
            return pingAnswer("1.41");
        return "HTTP/1.1 200 OK\r\nContent-Length: 900000000\r\n\r\n[";
    };
    DockerClient client(endpoint());
    auto list = await(client.listImages());
    QVERIFY(!list);
    QVERIFY2(list.error().message.contains(QLatin1String("refusing to buffer")), qPrintable(list.error().message));
}

void TestDockerClient::garbageAnswer()
{
    FakeDaemon daemon(socket());
    daemon.handler = [](const QByteArray &, const QByteArray &, const QByteArray &) -> QByteArray {
        return "220 smtp.example ESMTP ready\r\n\r\n";
    };
    DockerClient client(endpoint());
    auto ping = await(client.ping());
    QVERIFY(!ping);
    QVERIFY2(ping.error().message.contains(QLatin1String("bad HTTP response")), qPrintable(ping.error().message));
}

void TestDockerClient::contextGoneMeansNoCallback()
{
    FakeDaemon daemon(socket());
    daemon.handler = [](const QByteArray &, const QByteArray &path, const QByteArray &) {
        return path == "/_ping" ? pingAnswer("1.41") : response(200, "[]");
    };
    DockerClient client(endpoint());
    bool called = false;
    auto *context = new QObject;
    HttpRequest r;
    r.path = "/images/json";
    client.send(r, context, {{}, {}, [&](const Result<HttpResponse> &) { called = true; }});
    delete context;
    // A second call on the same client completes, so the first had its answer too.
    QVERIFY(await(client.listImages()).has_value());
    QVERIFY(!called);
}

QTEST_GUILESS_MAIN(TestDockerClient)
#include "tst_dockerclient.moc"
