// The Docker client's parsers on their own: HTTP responses (libhttp-parser underneath), the 8-byte
// multiplexed stream frames, JSON-lines progress and DOCKER_HOST. Every input is fed whole and also
// one byte at a time, since a socket may cut anywhere.
#include "docker/dockerendpoint.h"
#include "docker/httpresponseparser.h"
#include "docker/streamframes.h"

#include <QtTest>

using namespace airlock;
using namespace airlock::docker;

namespace {

struct Parsed
{
    QList<HttpResponseHead> heads;
    QList<QByteArray> bodies;
    int completes = 0;
    std::optional<Error> error;
};

// Feeds in pieces of `step` bytes (0: all at once), then signals EOF when `close` is set.
Parsed parse(const QByteArray &input, int step, bool close, HttpLimits limits = {}, bool head = false)
{
    Parsed p;
    HttpResponseParser parser(limits);
    parser.expectNoBody(head);
    QByteArray body;
    parser.onHead = [&](const HttpResponseHead &h) { p.heads << h; };
    parser.onBody = [&](QByteArrayView b) { body.append(b.data(), b.size()); };
    parser.onComplete = [&] {
        ++p.completes;
        p.bodies << body;
        body.clear();
    };
    qsizetype at = 0;
    while (at < input.size() && !p.error) {
        const qsizetype n = step <= 0 ? input.size() : std::min<qsizetype>(step, input.size() - at);
        if (auto r = parser.feed(QByteArrayView(input).sliced(at, n)); !r)
            p.error = r.error();
        at += n;
        // Keep-alive: the connection resets the parser for the next answer.
        if (!p.error && p.completes > 0 && !parser.inMessage() && at < input.size()) {
            parser.reset();
        }
    }
    if (close && !p.error) {
        if (auto r = parser.finish(); !r)
            p.error = r.error();
    }
    return p;
}

QByteArray frame(quint8 stream, const QByteArray &payload)
{
    QByteArray f(8, '\0');
    f[0] = char(stream);
    const quint32 n = quint32(payload.size());
    f[4] = char(n >> 24);
    f[5] = char(n >> 16);
    f[6] = char(n >> 8);
    f[7] = char(n);
    return f + payload;
}

} // namespace

class TestDockerHttp : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void goodResponses_data();
    void goodResponses();
    void badResponses_data();
    void badResponses();
    void keepAliveTwoResponses();
    void headResponseHasNoBody();
    void limits_data();
    void limits();
    void multiplexed_data();
    void multiplexed();
    void multiplexedBad_data();
    void multiplexedBad();
    void jsonLines_data();
    void jsonLines();
    void endpoint_data();
    void endpoint();
};

void TestDockerHttp::goodResponses_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<bool>("close");
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<bool>("chunked");

    QTest::newRow("content-length") << QByteArray("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
                                    << false << 200 << QByteArray("{}") << false;
    QTest::newRow("no content") << QByteArray("HTTP/1.1 204 No Content\r\nApi-Version: 1.41\r\n\r\n") << false << 204 << QByteArray() << false;
    QTest::newRow("chunked") << QByteArray("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                           "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n")
                             << false << 200 << QByteArray("hello, world") << true;
    QTest::newRow("chunked hex, extension, trailer")
        << QByteArray("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "A;name=value\r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\n")
        << false << 200 << QByteArray("0123456789") << true;
    QTest::newRow("body until close") << QByteArray("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nstreamed until the end")
                                      << true << 200 << QByteArray("streamed until the end") << false;
    QTest::newRow("HTTP/1.0") << QByteArray("HTTP/1.0 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found") << false << 404
                              << QByteArray("not found") << false;
    QTest::newRow("binary body") << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n\0\1\2\3", 42) << false << 200
                                 << QByteArray("\0\1\2\3", 4) << false;
    QTest::newRow("error json") << QByteArray("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 24\r\n\r\n{\"message\":\"it broke\"}\n\n")
                                << false << 500 << QByteArray("{\"message\":\"it broke\"}\n\n") << false;
}

void TestDockerHttp::goodResponses()
{
    QFETCH(QByteArray, input);
    QFETCH(bool, close);
    QFETCH(int, status);
    QFETCH(QByteArray, body);
    QFETCH(bool, chunked);
    for (int step : {0, 1, 3, 7}) {
        const Parsed p = parse(input, step, close);
        QVERIFY2(!p.error, qPrintable(QStringLiteral("step %1: %2").arg(step).arg(p.error ? p.error->message : QString())));
        QCOMPARE(p.completes, 1);
        QCOMPARE(p.heads.size(), 1);
        QCOMPARE(p.heads.first().status, status);
        QCOMPARE(p.heads.first().chunked, chunked);
        QCOMPARE(p.bodies.first(), body);
    }
}

void TestDockerHttp::badResponses_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<bool>("close");
    QTest::addColumn<QString>("expect");

    QTest::newRow("not http") << QByteArray("SSH-2.0-OpenSSH_9.2\r\n\r\n") << false << QString();
    QTest::newRow("garbage status") << QByteArray("HTTP/1.1 abc OK\r\n\r\n") << false << QString();
    QTest::newRow("bad chunk size") << QByteArray("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n") << false
                                    << QString();
    QTest::newRow("bad header line") << QByteArray("HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n") << false << QString();
    QTest::newRow("two content lengths") << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")
                                         << false << QString();
    QTest::newRow("truncated in headers") << QByteArray("HTTP/1.1 200 OK\r\nContent-Le") << true << QStringLiteral("closed");
    QTest::newRow("truncated in body") << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc") << true
                                       << QStringLiteral("closed");
    QTest::newRow("truncated in chunk") << QByteArray("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc") << true
                                        << QStringLiteral("closed");
    QTest::newRow("missing last chunk") << QByteArray("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n") << true
                                        << QStringLiteral("closed");
    QTest::newRow("bytes after the response") << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}garbage") << false
                                              << QStringLiteral("after a complete response");
    QTest::newRow("status 999") << QByteArray("HTTP/1.1 999 What\r\nContent-Length: 0\r\n\r\n") << false << QString();
}

void TestDockerHttp::badResponses()
{
    QFETCH(QByteArray, input);
    QFETCH(bool, close);
    QFETCH(QString, expect);
    for (int step : {0, 1}) {
        const Parsed p = parse(input, step, close);
        // Byte-wise feeding of "bytes after the response" resets between messages like a connection would
        // not: the second message is garbage, which is an error as well.
        QVERIFY2(p.error.has_value(), qPrintable(QStringLiteral("step %1 accepted it").arg(step)));
        QVERIFY(p.error->message.startsWith(QLatin1String("the Docker daemon sent a bad HTTP response")));
        if (step == 0 && !expect.isEmpty())
            QVERIFY2(p.error->message.contains(expect), qPrintable(p.error->message));
    }
}

void TestDockerHttp::keepAliveTwoResponses()
{
    HttpResponseParser parser;
    int completes = 0;
    parser.onComplete = [&] { ++completes; };
    QVERIFY(parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    QCOMPARE(completes, 1);
    QVERIFY(!parser.inMessage());
    parser.reset();
    QVERIFY(parser.feed("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"));
    QCOMPARE(completes, 2);
}

void TestDockerHttp::headResponseHasNoBody()
{
    const Parsed p = parse("HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n", 0, false, {}, true);
    QVERIFY(!p.error);
    QCOMPARE(p.completes, 1);
    QCOMPARE(p.heads.first().contentLength.value_or(0), 500u);
}

void TestDockerHttp::limits_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<QString>("expect");
    QByteArray manyHeaders = "HTTP/1.1 200 OK\r\n";
    for (int i = 0; i < 200; ++i)
        manyHeaders += "X-H" + QByteArray::number(i) + ": v\r\n";
    QTest::newRow("too many headers") << manyHeaders + "\r\n" << QStringLiteral("more than 128 headers");
    QTest::newRow("header too large") << QByteArray("HTTP/1.1 200 OK\r\nX-Big: ") + QByteArray(70 * 1024, 'a') + "\r\n\r\n"
                                      << QStringLiteral("larger than");
    QTest::newRow("status line too long") << QByteArray("HTTP/1.1 200 ") + QByteArray(70 * 1024, 'r') + "\r\n\r\n"
                                          << QStringLiteral("longer than");
}

void TestDockerHttp::limits()
{
    QFETCH(QByteArray, input);
    QFETCH(QString, expect);
    const Parsed p = parse(input, 4096, false);
    QVERIFY(p.error.has_value());
    QVERIFY2(p.error->message.contains(expect), qPrintable(p.error->message));
}

void TestDockerHttp::multiplexed_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<QByteArray>("out");
    QTest::addColumn<QByteArray>("err");
    QTest::newRow("one each") << frame(1, "hello\n") + frame(2, "oops\n") << QByteArray("hello\n") << QByteArray("oops\n");
    QTest::newRow("empty frames") << frame(1, {}) + frame(2, {}) + frame(1, "x") << QByteArray("x") << QByteArray();
    QTest::newRow("binary") << frame(1, QByteArray("\0\xff\n", 3)) << QByteArray("\0\xff\n", 3) << QByteArray();
    QTest::newRow("system stream ignored as output") << frame(3, "daemon says") + frame(1, "a") << QByteArray("a") << QByteArray();
    QByteArray big(100000, 'b');
    QTest::newRow("large") << frame(1, big) << big << QByteArray();
}

void TestDockerHttp::multiplexed()
{
    QFETCH(QByteArray, input);
    QFETCH(QByteArray, out);
    QFETCH(QByteArray, err);
    for (int step : {0, 1, 5, 9}) {
        MultiplexDecoder decoder;
        QByteArray gotOut;
        QByteArray gotErr;
        const auto drain = [&] {
            while (true) {
                auto f = decoder.next();
                QVERIFY(f.has_value());
                if (!*f)
                    return;
                if ((*f)->stream == StreamKind::Stdout)
                    gotOut += (*f)->data;
                else if ((*f)->stream == StreamKind::Stderr)
                    gotErr += (*f)->data;
            }
        };
        for (qsizetype at = 0; at < input.size();) {
            const qsizetype n = step == 0 ? input.size() : std::min<qsizetype>(step, input.size() - at);
            decoder.feed(QByteArrayView(input).sliced(at, n));
            at += n;
            drain();
        }
        QVERIFY(decoder.finish());
        QCOMPARE(gotOut, out);
        QCOMPARE(gotErr, err);
    }
}

void TestDockerHttp::multiplexedBad_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<QString>("expect");
    QTest::newRow("tty output, not frames") << QByteArray("hello world, no header\n") << QStringLiteral("TTY");
    QTest::newRow("stream 7") << frame(7, "x") << QStringLiteral("stream number");
    QTest::newRow("nonzero padding") << QByteArray("\1\0\1\0\0\0\0\1x", 9) << QStringLiteral("three zero bytes");
    QTest::newRow("oversized") << QByteArray("\1\0\0\0\x7f\xff\xff\xff", 8) << QStringLiteral("over the");
    QTest::newRow("truncated payload") << frame(1, "hello").left(10) << QStringLiteral("inside a frame");
    QTest::newRow("truncated header") << QByteArray("\1\0\0", 3) << QStringLiteral("inside a frame");
}

void TestDockerHttp::multiplexedBad()
{
    QFETCH(QByteArray, input);
    QFETCH(QString, expect);
    MultiplexDecoder decoder(1024 * 1024);
    decoder.feed(input);
    std::optional<Error> error;
    while (!error) {
        auto f = decoder.next();
        if (!f)
            error = f.error();
        else if (!*f)
            break;
    }
    if (!error) {
        auto end = decoder.finish();
        QVERIFY(!end);
        error = end.error();
    }
    QVERIFY2(error->message.contains(expect), qPrintable(error->message));
    // A failed decoder stays failed.
    decoder.feed(frame(1, "late"));
    if (!expect.contains(QLatin1String("inside")))
        QVERIFY(!decoder.next());
}

void TestDockerHttp::jsonLines_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<int>("objects");
    QTest::addColumn<bool>("ok");
    QTest::newRow("pull progress") << QByteArray("{\"status\":\"Pulling from library/debian\",\"id\":\"bookworm\"}\r\n"
                                                 "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1,\"total\":9},\"id\":\"a\"}\n"
                                                 "\n{\"status\":\"Digest: sha256:00\"}")
                                   << 3 << true;
    QTest::newRow("import id") << QByteArray("{\"status\":\"sha256:abc\"}\n") << 1 << true;
    QTest::newRow("not json") << QByteArray("{\"status\":\"ok\"}\nthis is not json\n") << 1 << false;
    QTest::newRow("array line") << QByteArray("[1,2]\n") << 0 << false;
    QTest::newRow("overlong line") << QByteArray(2 * 1024 * 1024, 'x') << 0 << false;
}

void TestDockerHttp::jsonLines()
{
    QFETCH(QByteArray, input);
    QFETCH(int, objects);
    QFETCH(bool, ok);
    for (int step : {0, 1, 13}) {
        if (step == 1 && input.size() > 100000)
            continue;
        JsonLineSplitter lines;
        int count = 0;
        bool failed = false;
        const auto drain = [&](bool end) {
            while (!failed) {
                auto line = end ? lines.finish() : lines.next();
                if (!line) {
                    failed = true;
                    return;
                }
                if (!*line)
                    return;
                ++count;
                if (end)
                    return;
            }
        };
        for (qsizetype at = 0; at < input.size() && !failed;) {
            const qsizetype n = step == 0 ? input.size() : std::min<qsizetype>(step, input.size() - at);
            lines.feed(QByteArrayView(input).sliced(at, n));
            at += n;
            drain(false);
        }
        drain(true);
        QCOMPARE(count, objects);
        QCOMPARE(!failed, ok);
    }
}

void TestDockerHttp::endpoint_data()
{
    QTest::addColumn<QString>("host");
    QTest::addColumn<bool>("tls");
    QTest::addColumn<QString>("display"); // empty: an error
    QTest::newRow("default") << QString() << false << QStringLiteral("unix:///var/run/docker.sock");
    QTest::newRow("unix") << QStringLiteral("unix:///run/user/1000/podman/podman.sock") << false
                          << QStringLiteral("unix:///run/user/1000/podman/podman.sock");
    QTest::newRow("bare path") << QStringLiteral("/tmp/d.sock") << false << QStringLiteral("unix:///tmp/d.sock");
    QTest::newRow("tcp default port") << QStringLiteral("tcp://10.0.0.5") << false << QStringLiteral("tcp://10.0.0.5:2375");
    QTest::newRow("tcp tls default port") << QStringLiteral("tcp://docker.example") << true
                                          << QStringLiteral("tcp://docker.example:2376 (tls)");
    QTest::newRow("tcp port") << QStringLiteral("tcp://127.0.0.1:12375") << false << QStringLiteral("tcp://127.0.0.1:12375");
    QTest::newRow("ipv6") << QStringLiteral("tcp://[::1]:2375") << false << QStringLiteral("tcp://::1:2375");
    QTest::newRow("relative unix") << QStringLiteral("unix://docker.sock") << false << QString();
    QTest::newRow("ssh") << QStringLiteral("ssh://me@host") << false << QStringLiteral("ssh://me@host");
    QTest::newRow("ssh port") << QStringLiteral("ssh://host:2222") << false << QStringLiteral("ssh://host:2222");
    QTest::newRow("ssh option as host") << QStringLiteral("ssh://-oProxyCommand=x") << false << QString();
    QTest::newRow("ssh option as user") << QStringLiteral("ssh://-oProxyCommand=x@host") << false << QString();
    QTest::newRow("ssh with path") << QStringLiteral("ssh://host/var/run/docker.sock") << false << QString();
    QTest::newRow("npipe") << QStringLiteral("npipe:////./pipe/docker_engine") << false << QString();
    QTest::newRow("http") << QStringLiteral("http://host:2375") << false << QString();
    QTest::newRow("tcp with path") << QStringLiteral("tcp://host:2375/v1.41") << false << QString();
    QTest::newRow("tcp no host") << QStringLiteral("tcp://:2375") << false << QString();
}

void TestDockerHttp::endpoint()
{
    QFETCH(QString, host);
    QFETCH(bool, tls);
    QFETCH(QString, display);
    QProcessEnvironment env;
    if (!host.isEmpty())
        env.insert(QStringLiteral("DOCKER_HOST"), host);
    if (tls)
        env.insert(QStringLiteral("DOCKER_TLS_VERIFY"), QStringLiteral("1"));
    const auto e = DockerEndpoint::fromEnvironment(env);
    if (display.isEmpty()) {
        QVERIFY(!e);
        QVERIFY2(e.error().message.startsWith(QLatin1String("DOCKER_HOST=")), qPrintable(e.error().message));
        return;
    }
    QVERIFY2(e.has_value(), qPrintable(e ? QString() : e.error().message));
    QCOMPARE(e->display(), display);
    QCOMPARE(e->tls, tls);
    if (e->kind == DockerEndpoint::Kind::Ssh) {
        // The host comes after "--", so nothing in DOCKER_HOST can be taken for an ssh option.
        const QStringList args = e->sshArguments();
        QCOMPARE(args.mid(args.indexOf(QStringLiteral("--"))),
                 (QStringList{QStringLiteral("--"), e->host, QStringLiteral("docker"), QStringLiteral("system"), QStringLiteral("dial-stdio")}));
        QVERIFY(args.contains(QStringLiteral("BatchMode=yes")));
    }
}

QTEST_GUILESS_MAIN(TestDockerHttp)
#include "tst_dockerhttp.moc"
