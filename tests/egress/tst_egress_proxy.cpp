// The proxy end to end on this host: a sandbox's socket in, test servers on 127.0.0.1 out. Names
// resolve through a StaticResolver (there is no DNS here), and every loopback upstream therefore has
// to be named exactly by the policy, which is itself one of the rules under test.
#include "egresstestutil.h"

#include "store/storereader.h"

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

class TestEgressProxy : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void allowedRequest();
    void deniedRequest();
    void decisions_data();
    void decisions();
    void hostPorts();
    void connectTunnel();
    void connectDenied_data();
    void connectDenied();
    void allowedNameOpensWebPortsOnly_data();
    void allowedNameOpensWebPortsOnly();
    void hostHeaderMustNameTarget_data();
    void hostHeaderMustNameTarget();
    void rebindingIsCheckedOnConnectedAddress();

private:
    std::unique_ptr<ProxyFixture> m_fx;
    std::unique_ptr<Upstream> m_up;
};

void TestEgressProxy::init()
{
    m_fx = std::make_unique<ProxyFixture>();
    m_up = std::make_unique<Upstream>();
    QVERIFY(m_up->listen());
    m_fx->resolver->add(QStringLiteral("api.test"), {kLoopback});
    m_fx->resolver->add(QStringLiteral("other.test"), {kLoopback});
}

void TestEgressProxy::cleanup()
{
    m_fx.reset();
    m_up.reset();
}

void TestEgressProxy::allowedRequest()
{
    QVERIFY(m_fx->start(proxyPolicy({QStringLiteral("api.test")})));
    QSignalSpy opened(m_fx->proxy.get(), &EgressProxy::connectionOpened);
    QSignalSpy closed(m_fx->proxy.get(), &EgressProxy::connectionClosed);
    const auto r = request(m_fx->socketPath(),
                           get(url("api.test", m_up->port(), "/hello?x=1"),
                               "Proxy-Authorization: Basic Zm9vOmJhcg==\r\nProxy-Connection: keep-alive\r\nX-Mine: 1\r\n"));
    QVERIFY(r);
    QCOMPARE(r->status, 200);
    QCOMPARE(r->body, QByteArray("hello /hello?x=1"));
    QCOMPARE(m_up->requests.size(), 1);
    const SeenRequest &seen = m_up->requests.first();
    QCOMPARE(seen.target, QByteArray("/hello?x=1"));
    QCOMPARE(seen.header("host"), "api.test:" + QByteArray::number(m_up->port()));
    QCOMPARE(seen.header("connection"), QByteArray("close"));
    QCOMPARE(seen.header("x-mine"), QByteArray("1"));
    QCOMPARE(seen.count("proxy-authorization"), 0);
    QCOMPARE(seen.count("proxy-connection"), 0);

    const QList<EgressRecord> records = m_fx->waitRecords(1);
    QCOMPARE(records.size(), 1);
    const EgressRecord &e = records.first();
    QCOMPARE(e.session, QStringLiteral("s1"));
    QCOMPARE(e.method, QStringLiteral("GET"));
    QCOMPARE(e.host, QStringLiteral("api.test"));
    QCOMPARE(e.port, m_up->port());
    QCOMPARE(e.decision, Verdict::Allow);
    QCOMPARE(e.rule, QStringLiteral("policy allow api.test:*"));
    QCOMPARE(e.route, Route::Http);
    QCOMPARE(e.address, QStringLiteral("127.0.0.1"));
    QCOMPARE(e.status, 200);
    QVERIFY(e.bytesUp > 50);
    QCOMPARE(e.bytesDown, qint64(r->head.size() + r->body.size()));
    QVERIFY(e.durationMs >= 0);
    QTRY_COMPARE(closed.size(), 1);
    QCOMPARE(opened.size(), 1);
    QCOMPARE(opened.first().first().value<EgressRecord>().id, e.id);
    QCOMPARE(closed.first().first().value<EgressRecord>().toJson(), e.toJson());
}

void TestEgressProxy::deniedRequest()
{
    QVERIFY(m_fx->start(proxyPolicy({QStringLiteral("api.test")})));
    const auto r = request(m_fx->socketPath(), get(url("other.test", m_up->port())));
    QVERIFY(r);
    QCOMPARE(r->status, 403);
    QCOMPARE(r->header("x-airlock-egress"), QByteArray("denied; rule=\"default deny\""));
    QVERIFY(r->body.contains(QByteArray("other.test:" + QByteArray::number(m_up->port()) + " refused: no allow rule matches it")));
    QCOMPARE(m_up->connections, 0);
    QCOMPARE(m_fx->resolver->lookups(), 0); // a denied name is never resolved
    const auto records = m_fx->waitRecords(1);
    QCOMPARE(records.size(), 1);
    QCOMPARE(records.first().decision, Verdict::Deny);
    QCOMPARE(records.first().rule, QStringLiteral("default deny"));
    QCOMPARE(records.first().status, 403);
    QCOMPARE(records.first().bytesUp, 0);
    QVERIFY(records.first().address.isEmpty());
}

void TestEgressProxy::decisions_data()
{
    QTest::addColumn<QStringList>("allow");
    QTest::addColumn<QStringList>("deny");
    QTest::addColumn<bool>("ipLiterals");
    QTest::addColumn<QString>("host");     // %1 is the upstream's port
    QTest::addColumn<QStringList>("resolvesTo");
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("rule");
    QTest::addColumn<QStringList>("classes"); // network.allowAddressClasses
    const QStringList none;
    QTest::newRow("exact name to loopback")
        << QStringList{"named.test:*"} << none << false << "named.test" << QStringList{"127.0.0.1"} << 403 << "address 127.0.0.1 (loopback)" << none;
    QTest::newRow("exact name to loopback, class allowed")
        << QStringList{"named.test:*"} << none << false << "named.test" << QStringList{"127.0.0.1"} << 200 << "policy allow named.test:*" << QStringList{"loopback"};
    QTest::newRow("exact name to another loopback address")
        << QStringList{"named.test:%1"} << none << false << "named.test" << QStringList{"127.0.0.53"} << 403 << "address 127.0.0.53 (loopback)" << QStringList{"private"};
    QTest::newRow("exact name, private class does not open loopback")
        << QStringList{"named.test:*"} << none << false << "named.test" << QStringList{"::ffff:127.0.0.1"} << 403 << "address ::ffff:127.0.0.1 (loopback)" << QStringList{"private"};
    QTest::newRow("exact name to metadata")
        << QStringList{"named.test:*"} << none << false << "named.test" << QStringList{"169.254.169.254"} << 403 << "address 169.254.169.254 (cloud metadata)" << QStringList{"loopback", "link-local"};
    QTest::newRow("portless allow, upstream port")
        << QStringList{"named.test"} << none << false << "named.test" << QStringList{"127.0.0.1"} << 403 << "default deny" << QStringList{"loopback"};
    QTest::newRow("portless star, upstream port")
        << QStringList{"*"} << none << false << "named.test" << QStringList{"127.0.0.1"} << 403 << "default deny" << QStringList{"loopback"};
    QTest::newRow("octal ip literal")
        << QStringList{"*:*"} << none << true << "0177.0.0.1" << none << 403 << "address 127.0.0.1 (loopback)" << none;
    QTest::newRow("ip literal by class")
        << QStringList{"*:*"} << none << true << "127.0.0.1" << none << 200 << "policy allow *:*" << QStringList{"loopback"};
    QTest::newRow("nat64 literal")
        << QStringList{"*:*"} << none << true << "[64:ff9b::7f00:1]" << none << 403 << "address 64:ff9b::7f00:1 (loopback)" << QStringList{"private"};
    QTest::newRow("unspecified literal")
        << QStringList{"*:*"} << none << true << "0.0.0.0" << none << 403 << "address 0.0.0.0 (unspecified)" << QStringList{"loopback"};
    QTest::newRow("metadata name")
        << QStringList{"*:*"} << none << false << "metadata.google.internal" << QStringList{"127.0.0.1"} << 403 << "metadata name" << QStringList{"loopback"};
    QTest::newRow("wildcard name to loopback")
        << QStringList{"*.test:*"} << none << false << "rebind.test" << QStringList{"127.0.0.1"} << 403 << "address 127.0.0.1 (loopback)" << none;
    QTest::newRow("star to loopback")
        << QStringList{"*:*"} << none << false << "rebind.test" << QStringList{"127.0.0.1"} << 403 << "address 127.0.0.1 (loopback)" << none;
    QTest::newRow("wildcard to metadata")
        << QStringList{"*.test:*"} << none << false << "meta.test" << QStringList{"169.254.169.254"} << 403 << "address 169.254.169.254 (cloud metadata)" << none;
    QTest::newRow("wildcard to private")
        << QStringList{"*.test:*"} << none << false << "lan.test" << QStringList{"10.1.2.3"} << 403 << "address 10.1.2.3 (private)" << none;
    QTest::newRow("wildcard to cgnat")
        << QStringList{"*.test:*"} << none << false << "cgnat.test" << QStringList{"100.64.1.1"} << 403 << "address 100.64.1.1 (shared (CGNAT))" << none;
    QTest::newRow("wildcard to link-local v6")
        << QStringList{"*.test:*"} << none << false << "ll.test" << QStringList{"fe80::1"} << 403 << "address fe80::1 (link-local)" << none;
    QTest::newRow("public and loopback")
        << QStringList{"*.test:*"} << none << false << "mixed.test" << QStringList{"93.184.216.34", "127.0.0.1"} << 403 << "address 127.0.0.1 (loopback)" << none;
    QTest::newRow("deny wins over exact allow")
        << QStringList{"named.test:*"} << QStringList{"*.test:*"} << false << "named.test" << QStringList{"127.0.0.1"} << 403 << "policy deny *.test:*" << none;
    QTest::newRow("deny wins over wildcard")
        << QStringList{"*.test:*"} << QStringList{"evil.test"} << false << "evil.test" << QStringList{"127.0.0.1"} << 403 << "policy deny evil.test" << none;
    QTest::newRow("deny by port")
        << QStringList{"named.test:*"} << QStringList{"*:%1"} << false << "named.test" << QStringList{"127.0.0.1"} << 403 << "policy deny *:%1" << none;
    QTest::newRow("allow by port")
        << QStringList{"named.test:%1"} << none << false << "named.test" << QStringList{"127.0.0.1"} << 200 << "policy allow named.test:%1" << QStringList{"loopback"};
    QTest::newRow("ip literal")
        << QStringList{"*:*"} << none << false << "127.0.0.1" << none << 403 << "ip literal" << none;
    QTest::newRow("ip literal allowed but loopback")
        << QStringList{"*:*"} << none << true << "127.0.0.1" << none << 403 << "address 127.0.0.1 (loopback)" << none;
    QTest::newRow("decimal ip literal")
        << QStringList{"*:*"} << none << true << "2130706433" << none << 403 << "address 127.0.0.1 (loopback)" << none;
    QTest::newRow("short ip literal")
        << QStringList{"*:*"} << none << false << "127.1" << none << 403 << "ip literal" << none;
    QTest::newRow("hex ip literal")
        << QStringList{"*:*"} << none << true << "0x7f.0.0.1" << none << 403 << "address 127.0.0.1 (loopback)" << none;
    QTest::newRow("ipv6 loopback literal")
        << QStringList{"*:*"} << none << true << "[::1]" << none << 403 << "address ::1 (loopback)" << none;
    QTest::newRow("mapped ipv6 literal")
        << QStringList{"*:*"} << none << true << "[::ffff:127.0.0.1]" << none << 403 << "address ::ffff:127.0.0.1 (loopback)" << none;
    QTest::newRow("metadata literal")
        << QStringList{"*:*"} << none << true << "169.254.169.254" << none << 403 << "address 169.254.169.254 (cloud metadata)" << none;
    QTest::newRow("ip literal named exactly")
        << QStringList{"127.0.0.1:%1"} << none << false << "127.0.0.1" << none << 200 << "policy allow 127.0.0.1:%1" << none;
    QTest::newRow("localhost by wildcard")
        << QStringList{"*:*"} << none << false << "localhost" << QStringList{"127.0.0.1"} << 403 << "address 127.0.0.1 (loopback)" << none;
    QTest::newRow("trailing dot is the same name")
        << QStringList{"*.test:*"} << QStringList{"evil.test"} << false << "EVIL.test." << QStringList{"127.0.0.1"} << 403 << "policy deny evil.test" << none;
}

void TestEgressProxy::decisions()
{
    QFETCH(QStringList, allow);
    QFETCH(QStringList, deny);
    QFETCH(bool, ipLiterals);
    QFETCH(QString, host);
    QFETCH(QStringList, resolvesTo);
    QFETCH(int, status);
    QFETCH(QString, rule);
    QFETCH(QStringList, classes);
    const QString port = QString::number(m_up->port());
    for (QString &a : allow)
        a.replace(QStringLiteral("%1"), port);
    for (QString &d : deny)
        d.replace(QStringLiteral("%1"), port);
    rule.replace(QStringLiteral("%1"), port);
    policy::Policy p = proxyPolicy(allow, deny);
    p.network.allow = allow; // the rules under test, as written
    p.network.allowAddressClasses = classes;
    p.network.allowIpLiterals = ipLiterals;
    QList<QHostAddress> addresses;
    for (const QString &a : resolvesTo)
        addresses << QHostAddress(a);
    if (!addresses.isEmpty())
        m_fx->resolver->add(host.toLower().chopped(host.endsWith(u'.') ? 1 : 0), addresses);
    QVERIFY(m_fx->start(p));
    const auto r = request(m_fx->socketPath(), get(QStringLiteral("http://%1:%2/").arg(host, port)));
    QVERIFY(r);
    QCOMPARE(r->status, status);
    QCOMPARE(m_up->requests.size(), status == 200 ? 1 : 0);
    const auto records = m_fx->waitRecords(1);
    QCOMPARE(records.size(), 1);
    QCOMPARE(records.first().rule, rule);
    QCOMPARE(records.first().decision, status == 200 ? Verdict::Allow : Verdict::Deny);
}

void TestEgressProxy::hostPorts()
{
    policy::Policy p = proxyPolicy({});
    p.network.hostPorts = {int(m_up->port())};
    QVERIFY(m_fx->start(p));
    auto r = request(m_fx->socketPath(), get(url("localhost", m_up->port())));
    QVERIFY(r);
    QCOMPARE(r->status, 200);
    r = request(m_fx->socketPath(), get(url("127.0.0.1", m_up->port())));
    QVERIFY(r);
    QCOMPARE(r->status, 200);
    QCOMPARE(m_fx->resolver->lookups(), 0); // localhost is the host's loopback, never looked up
    r = request(m_fx->socketPath(), get(url("localhost", quint16(m_up->port() == 1 ? 2 : 1))));
    QVERIFY(r);
    QCOMPARE(r->status, 403);
    const auto records = m_fx->waitRecords(3);
    QCOMPARE(records.first().rule, QStringLiteral("policy hostPorts %1").arg(m_up->port()));
}

void TestEgressProxy::connectTunnel()
{
    QVERIFY(m_fx->start(proxyPolicy({QStringLiteral("api.test:%1").arg(m_up->port())})));
    RawClient c;
    QVERIFY(c.connectTo(m_fx->socketPath()));
    const QByteArray inner = "GET /inside HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n";
    // The first bytes of the tunnel may follow the CONNECT head in the same write.
    c.send("CONNECT api.test:" + QByteArray::number(m_up->port()) + " HTTP/1.1\r\nHost: api.test\r\n\r\n" + inner);
    const QByteArray all = c.readAll();
    QVERIFY2(all.startsWith("HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 200 OK\r\n"), all.constData());
    QVERIFY(all.endsWith("hello /inside"));
    QCOMPARE(m_up->requests.size(), 1);
    QCOMPARE(m_up->requests.first().rawHead, inner); // bytes in a tunnel pass untouched
    const auto records = m_fx->waitRecords(1);
    QCOMPARE(records.first().method, QStringLiteral("CONNECT"));
    QCOMPARE(records.first().route, Route::Connect);
    QCOMPARE(records.first().status, 200);
    QCOMPARE(records.first().bytesUp, qint64(inner.size()));
    QCOMPARE(records.first().bytesDown, qint64(all.size()) - 39);
}

void TestEgressProxy::connectDenied_data()
{
    QTest::addColumn<QStringList>("allow");
    QTest::addColumn<QStringList>("deny");
    QTest::addColumn<QByteArray>("target");
    QTest::addColumn<QString>("rule");
    QTest::newRow("other port") << QStringList{"api.test:443"} << QStringList{} << QByteArray("api.test:22") << "default deny";
    QTest::newRow("denied port") << QStringList{"*.test"} << QStringList{"*:22"} << QByteArray("api.test:22") << "policy deny *:22";
    QTest::newRow("ip literal") << QStringList{"*"} << QStringList{} << QByteArray("127.0.0.1:22") << "ip literal";
    QTest::newRow("metadata") << QStringList{"*"} << QStringList{} << QByteArray("169.254.169.254:80") << "ip literal";
}

void TestEgressProxy::connectDenied()
{
    QFETCH(QStringList, allow);
    QFETCH(QStringList, deny);
    QFETCH(QByteArray, target);
    QFETCH(QString, rule);
    QVERIFY(m_fx->start(proxyPolicy(allow, deny)));
    const auto r = request(m_fx->socketPath(), "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n");
    QVERIFY(r);
    QCOMPARE(r->status, 403);
    QCOMPARE(m_fx->waitRecords(1).value(0).rule, rule);
}

// A hostile agent under `allow: ["api.test"]` tries the other services on that host: ssh through
// CONNECT, a database or admin port over plain HTTP. A rule without ports opens 443 and 80 only.
void TestEgressProxy::allowedNameOpensWebPortsOnly_data()
{
    QTest::addColumn<QByteArray>("request"); // PORT is the upstream's port
    QTest::addColumn<QStringList>("allow");
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("rule");
    const QStringList portless{"api.test"};
    const auto get = [](const char *path) -> QByteArray {
        return "GET http://api.test:PORT" + QByteArray(path) + " HTTP/1.1\r\nHost: api.test:PORT\r\nConnection: close\r\n\r\n";
    };
    QTest::newRow("CONNECT ssh") << QByteArray("CONNECT api.test:22 HTTP/1.1\r\nHost: api.test:22\r\n\r\n")
                                 << portless << 403 << "default deny";
    QTest::newRow("CONNECT upstream port") << QByteArray("CONNECT api.test:PORT HTTP/1.1\r\nHost: api.test:PORT\r\n\r\n")
                                           << portless << 403 << "default deny";
    QTest::newRow("http upstream port") << get("/admin") << portless << 403 << "default deny";
    QTest::newRow("wildcard, http upstream port") << get("/") << QStringList{"*.test"} << 403 << "default deny";
    QTest::newRow("named port opens it") << get("/") << QStringList{"api.test:PORT"} << 200
                                         << "policy allow api.test:PORT";
    QTest::newRow("port list opens it") << get("/") << QStringList{"api.test:443,PORT"} << 200
                                        << "policy allow api.test:443,PORT";
    QTest::newRow("port list, CONNECT other") << QByteArray("CONNECT api.test:22 HTTP/1.1\r\nHost: api.test:22\r\n\r\n")
                                              << QStringList{"api.test:443,PORT"} << 403 << "default deny";
}

void TestEgressProxy::allowedNameOpensWebPortsOnly()
{
    QFETCH(QByteArray, request);
    QFETCH(QStringList, allow);
    QFETCH(int, status);
    QFETCH(QString, rule);
    const QByteArray port = QByteArray::number(m_up->port());
    request.replace("PORT", port);
    rule.replace(QStringLiteral("PORT"), QString::fromLatin1(port));
    for (QString &a : allow)
        a.replace(QStringLiteral("PORT"), QString::fromLatin1(port));
    policy::Policy p = proxyPolicy({});
    p.network.allow = allow;
    QVERIFY(m_fx->start(p));
    const auto r = egress::test::request(m_fx->socketPath(), request);
    QVERIFY(r);
    QCOMPARE(r->status, status);
    QCOMPARE(m_up->connections, status == 200 ? 1 : 0);
    const auto records = m_fx->waitRecords(1);
    QCOMPARE(records.value(0).rule, rule);
    if (status == 403 && !request.contains(":22"))
        QVERIFY2(r->body.contains("other ports"), r->body.constData());
}

// The proxy decides on the request target; a Host header that names somewhere else is refused, in
// absolute form and on CONNECT alike. Spelling differences of the same name are not a mismatch.
void TestEgressProxy::hostHeaderMustNameTarget_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<int>("status");
    const QByteArray target = "http://api.test:PORT/";
    QTest::newRow("absolute, other host") << "GET " + target + " HTTP/1.1\r\nHost: other.test:PORT\r\nConnection: close\r\n\r\n" << 400;
    QTest::newRow("absolute, metadata host") << "GET " + target + " HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n\r\n" << 400;
    QTest::newRow("absolute, garbage host") << "GET " + target + " HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n" << 400;
    QTest::newRow("absolute, same host other case") << "GET " + target + " HTTP/1.1\r\nHost: API.test.:PORT\r\nConnection: close\r\n\r\n" << 200;
    QTest::newRow("absolute, same host no port") << "GET " + target + " HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n" << 200;
    QTest::newRow("http/1.0 without host") << "GET " + target + " HTTP/1.0\r\n\r\n" << 200;
    QTest::newRow("connect, other host") << QByteArray("CONNECT api.test:PORT HTTP/1.1\r\nHost: other.test:PORT\r\n\r\n") << 400;
    QTest::newRow("connect, ipv6 loopback host") << QByteArray("CONNECT api.test:PORT HTTP/1.1\r\nHost: [::1]:PORT\r\n\r\n") << 400;
    QTest::newRow("connect, same host") << QByteArray("CONNECT api.test:PORT HTTP/1.1\r\nHost: api.test:PORT\r\n\r\n"
                                                      "GET / HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n") << 200;
    // Names outside plain ASCII labels never reach a decision: an unconverted IDN, a percent-escape.
    QTest::newRow("percent-escaped host") << QByteArray("GET http://%61pi.test:PORT/ HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n") << 400;
    QTest::newRow("punycode is another name") << QByteArray("GET http://xn--pi-7ld.test:PORT/ HTTP/1.1\r\nHost: xn--pi-7ld.test:PORT\r\nConnection: close\r\n\r\n") << 403;
}

void TestEgressProxy::hostHeaderMustNameTarget()
{
    QFETCH(QByteArray, request);
    QFETCH(int, status);
    request.replace("PORT", QByteArray::number(m_up->port()));
    m_fx->resolver->add(QStringLiteral("xn--pi-7ld.test"), {kLoopback});
    QVERIFY(m_fx->start(proxyPolicy({QStringLiteral("api.test")})));
    RawClient c;
    QVERIFY(c.connectTo(m_fx->socketPath()));
    c.send(request);
    if (status == 200 && request.startsWith("CONNECT")) {
        const QByteArray all = c.readAll(); // the tunnel's inner request closes it
        QVERIFY2(all.startsWith("HTTP/1.1 200 Connection established"), all.constData());
    } else {
        const auto r = c.readResponse();
        QVERIFY(r);
        QCOMPARE(r->status, status);
    }
    QCOMPARE(m_up->requests.size(), status == 200 ? 1 : 0);
}

// DNS rebinding: the name answers a public address first and loopback after. The proxy resolves once
// and connects to what it checked, so a later answer never matters; and an exact rule for the name no
// longer lets a loopback answer through.
void TestEgressProxy::rebindingIsCheckedOnConnectedAddress()
{
    policy::Policy p = proxyPolicy({});
    p.network.allow = {QStringLiteral("rebind.test:%1").arg(m_up->port())};
    p.network.allowAddressClasses.clear(); // the name is allowed exactly, loopback is not
    m_fx->resolver->add(QStringLiteral("rebind.test"), {kLoopback});
    QVERIFY(m_fx->start(p));
    const auto r = request(m_fx->socketPath(), get(url("rebind.test", m_up->port())));
    QVERIFY(r);
    QCOMPARE(r->status, 403);
    QCOMPARE(m_up->connections, 0);
    QCOMPARE(m_fx->waitRecords(1).value(0).rule, QStringLiteral("address 127.0.0.1 (loopback)"));
    QCOMPARE(m_fx->resolver->lookups(), 1);
}

QTEST_GUILESS_MAIN(TestEgressProxy)
#include "tst_egress_proxy.moc"
