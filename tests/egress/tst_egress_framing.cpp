// The proxy's HTTP framing against bad and awkward input: malformed heads, a bad chunk after a good
// head, hop-by-hop tokens, a head trickled byte by byte, oversized heads never buffered, keep-alive
// and pipelining, request bodies, answers delimited by close, chunked answers to HTTP/1.0 clients and
// HEAD. A sandbox's socket in, test servers on 127.0.0.1 out (as tst_egress_proxy).
#include "egresstestutil.h"

#include <QSignalSpy>
#include <QTest>

using namespace airlock;
using namespace airlock::egress;
using namespace airlock::egress::test;

namespace {

const QHostAddress kLoopback(QHostAddress::LocalHost);

QString url(const char *host, quint16 port, const char *path = "/")
{
    return QStringLiteral("http://%1:%2%3").arg(QLatin1String(host)).arg(port).arg(QLatin1String(path));
}

} // namespace

class TestEgressFraming : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void malformed_data();
    void malformed();
    void badChunkAfterHead();
    void connectionTokensKeepFraming();
    void trickledHead();
    void oversizedNeverBuffered();
    void keepAliveAndPipelining();
    void requestBodies_data();
    void requestBodies();
    void responseUntilClose();
    void chunkedToHttp10();
    void headRequest();

private:
    std::unique_ptr<ProxyFixture> m_fx;
    std::unique_ptr<Upstream> m_up;
};

void TestEgressFraming::init()
{
    m_fx = std::make_unique<ProxyFixture>();
    m_up = std::make_unique<Upstream>();
    QVERIFY(m_up->listen());
    m_fx->resolver->add(QStringLiteral("api.test"), {kLoopback});
    m_fx->resolver->add(QStringLiteral("other.test"), {kLoopback});
}

void TestEgressFraming::cleanup()
{
    m_fx.reset();
    m_up.reset();
}

void TestEgressFraming::malformed_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<int>("status");
    const QByteArray target = "http://api.test:PORT/";
    const QByteArray host = "Host: api.test:PORT\r\n";
    QTest::newRow("duplicate content-length") << "POST " + target + " HTTP/1.1\r\n" + host + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello" << 400;
    QTest::newRow("cl + te") << "POST " + target + " HTTP/1.1\r\n" + host + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET " + target + " HTTP/1.1\r\n\r\n" << 400;
    QTest::newRow("te + cl") << "POST " + target + " HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n" << 400;
    QTest::newRow("te obfuscated") << "POST " + target + " HTTP/1.1\r\n" + host + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" << 400;
    QTest::newRow("obs-fold") << "GET " + target + " HTTP/1.1\r\n" + host + "X-A: 1\r\n Transfer-Encoding: chunked\r\n\r\n" << 400;
    QTest::newRow("bare lf") << "GET " + target + " HTTP/1.1\n" + host + "\n" << 400;
    QTest::newRow("bare cr") << "GET " + target + " HTTP/1.1\r\n" + host + "X: a\rb\r\n\r\n" << 400;
    QTest::newRow("space before colon") << "POST " + target + " HTTP/1.1\r\n" + host + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n" << 400;
    QTest::newRow("two hosts") << "GET " + target + " HTTP/1.1\r\n" + host + "Host: evil.test\r\n\r\n" << 400;
    QTest::newRow("request line too long") << "GET http://api.test/" + QByteArray(10000, 'a') + " HTTP/1.1\r\n" + host + "\r\n" << 414;
    QTest::newRow("headers too large") << "GET " + target + " HTTP/1.1\r\n" + host + "X-Big: " + QByteArray(70000, 'b') + "\r\n\r\n" << 431;
    QTest::newRow("http/1.2") << "GET " + target + " HTTP/1.2\r\n" + host + "\r\n" << 505;
    QTest::newRow("origin form") << "GET / HTTP/1.1\r\n" + host + "\r\n" << 400;
    QTest::newRow("https absolute") << QByteArray("GET https://api.test/ HTTP/1.1\r\nHost: api.test\r\n\r\n") << 400;
    QTest::newRow("user info") << "GET http://u:p@api.test:PORT/ HTTP/1.1\r\n" + host + "\r\n" << 400;
    QTest::newRow("websocket upgrade") << "GET " + target + " HTTP/1.1\r\n" + host + "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n" << 501;
    QTest::newRow("binary") << QByteArray("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) << 400;
}

void TestEgressFraming::malformed()
{
    QFETCH(QByteArray, bytes);
    QFETCH(int, status);
    bytes.replace("PORT", QByteArray::number(m_up->port()));
    QVERIFY(m_fx->start(proxyPolicy({QStringLiteral("api.test")})));
    RawClient c;
    QVERIFY(c.connectTo(m_fx->socketPath()));
    c.send(bytes);
    QByteArray all = c.readAll();
    auto r = parseResponse(all, true);
    QVERIFY(r);
    QCOMPARE(r->status, status);
    QVERIFY(all.isEmpty()); // one answer, then the connection is closed
    QCOMPARE(m_up->connections, 0);
    const auto records = m_fx->waitRecords(1);
    QCOMPARE(records.size(), 1);
    QCOMPARE(records.first().decision, Verdict::Deny);
    QCOMPARE(records.first().status, status);
}

void TestEgressFraming::badChunkAfterHead()
{
    QVERIFY(m_fx->start(proxyPolicy({QStringLiteral("api.test")})));
    const QByteArray head = "POST http://api.test:" + QByteArray::number(m_up->port())
                            + "/ HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: chunked\r\n\r\n";
    RawClient c;
    QVERIFY(c.connectTo(m_fx->socketPath()));
    c.send(head + "5\r\nhello\r\nZZ\r\n");
    QByteArray all = c.readAll();
    const auto r = parseResponse(all, true);
    QVERIFY(r);
    QCOMPARE(r->status, 400);
    QCOMPARE(m_up->requests.size(), 0); // the upstream never saw a complete request
    QCOMPARE(m_fx->waitRecords(1).value(0).status, 400);
}

void TestEgressFraming::connectionTokensKeepFraming()
{
    QVERIFY(m_fx->start(proxyPolicy({QStringLiteral("api.test")})));
    const QByteArray req = "POST http://api.test:" + QByteArray::number(m_up->port())
                           + "/ HTTP/1.1\r\nHost: api.test\r\nConnection: close, Content-Length, X-Hop\r\nX-Hop: 1\r\n"
                             "Content-Length: 5\r\n\r\nhello";
    const auto r = request(m_fx->socketPath(), req);
    QVERIFY(r);
    QCOMPARE(r->status, 200);
    QCOMPARE(m_up->requests.size(), 1);
    QCOMPARE(m_up->requests.first().header("content-length"), QByteArray("5"));
    QCOMPARE(m_up->requests.first().body, QByteArray("hello"));
    QCOMPARE(m_up->requests.first().count("x-hop"), 0);
}

void TestEgressFraming::trickledHead()
{
    QVERIFY(m_fx->start(proxyPolicy({QStringLiteral("api.test")})));
    RawClient c;
    QVERIFY(c.connectTo(m_fx->socketPath()));
    for (const char ch : get(url("api.test", m_up->port(), "/slow"))) {
        c.send(QByteArray(1, ch));
        QCoreApplication::processEvents(); // the proxy reads each byte on its own
    }
    const auto r = c.readResponse();
    QVERIFY(r);
    QCOMPARE(r->status, 200);
    QCOMPARE(r->body, QByteArray("hello /slow"));
}

void TestEgressFraming::oversizedNeverBuffered()
{
    QVERIFY(m_fx->start(proxyPolicy({QStringLiteral("api.test")})));
    RawClient c;
    QVERIFY(c.connectTo(m_fx->socketPath()));
    // An endless header: the proxy answers once it has seen its limit, however much more is coming.
    c.send("GET http://api.test/ HTTP/1.1\r\nHost: api.test\r\nX-Endless: ");
    const QByteArray block(16 * 1024, 'e');
    bool answered = false;
    for (int i = 0; i < 64 && !answered; ++i) {
        if (c.socket().state() == QLocalSocket::ConnectedState)
            c.send(block);
        answered = QTest::qWaitFor([&] { return c.socket().bytesAvailable() > 0 || c.socket().state() != QLocalSocket::ConnectedState; }, 50);
    }
    QVERIFY(answered);
    QByteArray all = c.readAll();
    const auto r = parseResponse(all, true);
    QVERIFY(r);
    QCOMPARE(r->status, 431);
}

void TestEgressFraming::keepAliveAndPipelining()
{
    QVERIFY(m_fx->start(proxyPolicy({QStringLiteral("api.test"), QStringLiteral("other.test")})));
    // The upstream closes after each answer, as asked; the sandbox's connection stays all the same.
    m_up->respond = [](const SeenRequest &r) { return Upstream::ok("hello " + r.target, "Connection: close\r\n"); };
    RawClient c;
    QVERIFY(c.connectTo(m_fx->socketPath()));
    const QByteArray port = QByteArray::number(m_up->port());
    // Two requests in one write, to two hosts, then a third after the first two were answered.
    c.send("GET http://api.test:" + port + "/one HTTP/1.1\r\nHost: api.test\r\n\r\n"
           "POST http://other.test:" + port + "/two HTTP/1.1\r\nHost: other.test\r\nContent-Length: 3\r\n\r\nabc");
    auto one = c.readResponse();
    auto two = c.readResponse();
    QVERIFY(one && two);
    QCOMPARE(one->body, QByteArray("hello /one"));
    QCOMPARE(two->body, QByteArray("hello /two"));
    QCOMPARE(one->header("connection"), QByteArray("keep-alive"));
    c.send("GET http://api.test:" + port + "/three HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n");
    auto three = c.readResponse();
    QVERIFY(three);
    QCOMPARE(three->body, QByteArray("hello /three"));
    QCOMPARE(three->header("connection"), QByteArray("close"));
    QVERIFY(c.waitClosed());
    QCOMPARE(m_up->requests.size(), 3);
    QCOMPARE(m_up->requests.at(1).body, QByteArray("abc"));
    QCOMPARE(m_up->connections, 3); // upstream connections are never reused
    const auto records = m_fx->waitRecords(3);
    QCOMPARE(records.size(), 3);
    QCOMPARE(records.at(1).host, QStringLiteral("other.test"));
    QCOMPARE(records.at(1).method, QStringLiteral("POST"));
}

void TestEgressFraming::requestBodies_data()
{
    QTest::addColumn<QByteArray>("headers");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QByteArray>("expected");
    QTest::newRow("length") << QByteArray("Content-Length: 11\r\n") << QByteArray("hello world") << QByteArray("hello world");
    QTest::newRow("chunked") << QByteArray("Transfer-Encoding: chunked\r\n") << QByteArray("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
                             << QByteArray("hello world");
    const QByteArray big(3 * 1024 * 1024 + 17, 'z');
    QTest::newRow("3 MiB") << "Content-Length: " + QByteArray::number(big.size()) + "\r\n" << big << big;
}

void TestEgressFraming::requestBodies()
{
    QFETCH(QByteArray, headers);
    QFETCH(QByteArray, body);
    QFETCH(QByteArray, expected);
    QVERIFY(m_fx->start(proxyPolicy({QStringLiteral("api.test")})));
    m_up->respond = [](const SeenRequest &r) { return Upstream::ok("got " + QByteArray::number(r.body.size())); };
    const auto r = request(m_fx->socketPath(), "PUT http://api.test:" + QByteArray::number(m_up->port())
                                                   + "/up HTTP/1.1\r\nHost: api.test\r\n" + headers
                                                   + "Connection: close\r\n\r\n" + body, 30000);
    QVERIFY(r);
    QCOMPARE(r->status, 200);
    QCOMPARE(r->body, "got " + QByteArray::number(expected.size()));
    QCOMPARE(m_up->requests.first().body, expected);
}

void TestEgressFraming::responseUntilClose()
{
    QVERIFY(m_fx->start(proxyPolicy({QStringLiteral("api.test")})));
    const QByteArray big(700 * 1024, 'r');
    m_up->respond = [big](const SeenRequest &) { return "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + big; };
    m_up->closeAfterResponse = true;
    RawClient c;
    QVERIFY(c.connectTo(m_fx->socketPath()));
    c.send("GET http://api.test:" + QByteArray::number(m_up->port()) + "/ HTTP/1.1\r\nHost: api.test\r\n\r\n");
    QByteArray all = c.readAll(); // keep-alive was asked, but a body that ends at close ends the connection
    const auto r = parseResponse(all, true);
    QVERIFY(r);
    QCOMPARE(r->header("connection"), QByteArray("close"));
    QCOMPARE(r->body, big);
}

void TestEgressFraming::chunkedToHttp10()
{
    QVERIFY(m_fx->start(proxyPolicy({QStringLiteral("api.test")})));
    m_up->respond = [](const SeenRequest &) {
        return QByteArray("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    };
    const QByteArray port = QByteArray::number(m_up->port());
    // HTTP/1.1 gets the chunks (re-framed), HTTP/1.0 the bare body and a closed connection.
    auto r = request(m_fx->socketPath(), "GET http://api.test:" + port + "/ HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n");
    QVERIFY(r);
    QCOMPARE(r->header("transfer-encoding"), QByteArray("chunked"));
    QCOMPARE(r->body, QByteArray("hello world"));
    RawClient c;
    QVERIFY(c.connectTo(m_fx->socketPath()));
    c.send("GET http://api.test:" + port + "/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    QByteArray all = c.readAll();
    QVERIFY2(!all.contains("chunked") && all.endsWith("\r\n\r\nhello world"), all.constData());
    QVERIFY(all.contains("Connection: close\r\n"));
}

void TestEgressFraming::headRequest()
{
    QVERIFY(m_fx->start(proxyPolicy({QStringLiteral("api.test")})));
    m_up->respond = [](const SeenRequest &) { return QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"); };
    RawClient c;
    QVERIFY(c.connectTo(m_fx->socketPath()));
    const QByteArray port = QByteArray::number(m_up->port());
    c.send("HEAD http://api.test:" + port + "/ HTTP/1.1\r\nHost: api.test\r\n\r\n");
    // The answer to HEAD has no body, whatever its Content-Length says; the connection stays usable.
    QVERIFY(QTest::qWaitFor([&] { return c.socket().bytesAvailable() > 0; }, 5000));
    QByteArray head;
    QVERIFY(QTest::qWaitFor([&] {
        head += c.socket().readAll();
        return head.endsWith("\r\n\r\n");
    }, 5000));
    QVERIFY(head.startsWith("HTTP/1.1 200 OK\r\n"));
    QVERIFY(head.endsWith("\r\n\r\n"));
    m_up->respond = nullptr;
    c.send("GET http://api.test:" + port + "/after HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n");
    const auto r = c.readResponse();
    QVERIFY(r);
    QCOMPARE(r->body, QByteArray("hello /after"));
}

QTEST_GUILESS_MAIN(TestEgressFraming)
#include "tst_egress_framing.moc"
