// TLS routes and credential injection, against TLS servers on 127.0.0.1 with a CA this test makes
// with the openssl command. The credential must reach the bound host and nothing else: not another
// host, not a plain-HTTP request, not the sandbox's answer, not the store, not the log.
#include "egresstestutil.h"

#include <QLoggingCategory>
#include <QMutex>
#include <QTest>

using namespace airlock;
using namespace airlock::egress;
using namespace airlock::egress::test;

namespace {

const QByteArray kSecret = "sk-airlock-test-4f1d2c3b9a8e7d6c";
const char kSecretVar[] = "AIRLOCK_EGRESS_TEST_KEY";

QMutex g_logMutex;
QStringList g_log;
QtMessageHandler g_previous = nullptr;

void captureLog(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    {
        QMutexLocker lock(&g_logMutex);
        g_log << message;
    }
    if (g_previous)
        g_previous(type, context, message);
}

policy::Secret apiKey(const QString &host = QStringLiteral("api.test"))
{
    policy::Secret s;
    s.name = QStringLiteral("test-api");
    s.host = host;
    s.header = QStringLiteral("x-api-key");
    s.source = policy::Secret::Source::HostEnv;
    s.ref = QString::fromLatin1(kSecretVar);
    return s;
}

// Echoes the request's headers in the body, as a debugging endpoint would.
QByteArray echo(const SeenRequest &r)
{
    return Upstream::ok("seen:\n" + r.rawHead);
}

} // namespace

class TestEgressTls : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();
    void cleanupTestCase();

    void routeByName();
    void routeByPath();
    void routeByTunnel();
    void routeTunnelRefusesOtherHosts();
    void agentCannotOverride();
    void notForOtherHosts();
    void neverOnPlainHttp();
    void routeStillNeedsAllow();
    void untrustedCertificate();
    void policyNamesTheUpstreamCa();
    void wrongName();
    void missingSecret();
    void unsafeSecret();
    void keychainUnavailable();
    void maskedAcrossChunks_data();
    void maskedAcrossChunks();
    void compressedAnswerRefused();
    void bareTokenMasked();
    void schemeBeforeTheKey();

private:
    std::unique_ptr<ProxyFixture> start(policy::Policy policy, bool trustCa = true);
    QByteArray routeGet(const char *path, const QByteArray &extra = {}) const;

    TestCa m_ca;
    QSslCertificate m_cert;
    QSslKey m_key;
    std::unique_ptr<Upstream> m_tls;
};

void TestEgressTls::initTestCase()
{
    const QString why = m_ca.create();
    if (!why.isEmpty())
        QSKIP(qPrintable(why));
    QString error;
    QVERIFY2(m_ca.issue({QStringLiteral("api.test"), QStringLiteral("other.test")}, &m_cert, &m_key, &error),
             qPrintable(error));
    g_previous = qInstallMessageHandler(captureLog);
    QLoggingCategory::setFilterRules(QStringLiteral("airlock.*=true"));
}

void TestEgressTls::cleanupTestCase()
{
    qInstallMessageHandler(g_previous);
    QMutexLocker lock(&g_logMutex);
    for (const QString &line : std::as_const(g_log))
        QVERIFY2(!line.contains(QString::fromLatin1(kSecret)), "the secret appeared in a log message");
}

void TestEgressTls::init()
{
    qputenv(kSecretVar, kSecret);
    m_tls = std::make_unique<Upstream>();
    QVERIFY(m_tls->listenTls(m_cert, m_key));
    m_tls->respond = echo;
}

void TestEgressTls::cleanup()
{
    m_tls.reset();
    qunsetenv(kSecretVar);
}

std::unique_ptr<ProxyFixture> TestEgressTls::start(policy::Policy policy, bool trustCa)
{
    auto fx = std::make_unique<ProxyFixture>();
    fx->resolver->add(QStringLiteral("api.test"), {QHostAddress(QHostAddress::LocalHost)});
    fx->resolver->add(QStringLiteral("other.test"), {QHostAddress(QHostAddress::LocalHost)});
    ProxyOptions options;
    if (trustCa)
        options.extraCaFile = m_ca.caFile();
    if (!fx->start(policy, options))
        return {};
    return fx;
}

QByteArray TestEgressTls::routeGet(const char *path, const QByteArray &extra) const
{
    return "GET http://api.test.airlock:" + QByteArray::number(m_tls->port()) + path
           + " HTTP/1.1\r\nHost: api.test.airlock\r\n" + extra + "Connection: close\r\n\r\n";
}

void TestEgressTls::routeByName()
{
    policy::Policy p = proxyPolicy({QStringLiteral("api.test")});
    p.secrets = {apiKey()};
    auto fx = start(p);
    QVERIFY(fx);
    const auto r = request(fx->socketPath(), routeGet("/v1/messages?stream=1"));
    QVERIFY(r);
    QCOMPARE(r->status, 200);
    QCOMPARE(m_tls->requests.size(), 1);
    const SeenRequest &seen = m_tls->requests.first();
    QVERIFY(seen.tls);
    QCOMPARE(seen.target, QByteArray("/v1/messages?stream=1"));
    QCOMPARE(seen.header("x-api-key"), kSecret);
    QCOMPARE(seen.count("x-api-key"), 1);
    QCOMPARE(seen.header("host"), "api.test:" + QByteArray::number(m_tls->port()));
    // The upstream echoed the key back; the sandbox gets it masked, at the same length.
    QVERIFY(!r->body.contains(kSecret));
    QVERIFY(r->body.contains(QByteArray("x-api-key: " + QByteArray(kSecret.size(), '*'))));
    const auto records = fx->waitRecords(1);
    QCOMPARE(records.size(), 1);
    QCOMPARE(records.first().route, Route::TlsRoute);
    QCOMPARE(records.first().host, QStringLiteral("api.test"));
    QCOMPARE(records.first().secret, QStringLiteral("test-api"));
    QCOMPARE(records.first().status, 200);
    QVERIFY(!fx->storeBytes().contains(kSecret));
}

// Node's fetch (undici) sends even http:// URLs through a proxy as CONNECT: a CONNECT to HOST.airlock
// opens the route, and every plain request inside goes to it with the key added, each decided and
// recorded on its own.
void TestEgressTls::routeByTunnel()
{
    policy::Policy p = proxyPolicy({QStringLiteral("api.test")});
    p.secrets = {apiKey()};
    auto fx = start(p);
    QVERIFY(fx);
    const QByteArray authority = "api.test.airlock:" + QByteArray::number(m_tls->port());
    RawClient client;
    QVERIFY(client.connectTo(fx->socketPath()));
    client.send("CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n"
                "POST /v1/messages HTTP/1.1\r\nHost: " + authority + "\r\nx-api-key: placeholder\r\n"
                "Content-Length: 2\r\n\r\n{}"
                "GET /v1/models HTTP/1.1\r\nHost: " + authority + "\r\nConnection: close\r\n\r\n");
    const QByteArray all = client.readAll();
    QVERIFY2(all.startsWith("HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 200"), all.left(300).constData());
    QCOMPARE(all.count("HTTP/1.1 200"), 3);
    QVERIFY(!all.contains(kSecret));
    QCOMPARE(m_tls->requests.size(), 2);
    for (const SeenRequest &seen : std::as_const(m_tls->requests)) {
        QVERIFY(seen.tls);
        QCOMPARE(seen.header("x-api-key"), kSecret);
        QCOMPARE(seen.count("x-api-key"), 1);
    }
    QCOMPARE(m_tls->requests.at(0).target, QByteArray("/v1/messages"));
    QCOMPARE(m_tls->requests.at(1).target, QByteArray("/v1/models"));
    const auto records = fx->waitRecords(2);
    QCOMPARE(records.size(), 2);
    for (const auto &r : records) {
        QCOMPARE(r.route, Route::TlsRoute);
        QCOMPARE(r.secret, QStringLiteral("test-api"));
    }
}

// The tunnel is to one route: a request inside that names another host, another route, or a URL, is
// refused; and a route to a host the policy does not allow is not opened at all.
void TestEgressTls::routeTunnelRefusesOtherHosts()
{
    policy::Policy p = proxyPolicy({QStringLiteral("api.test")});
    p.secrets = {apiKey()};
    auto fx = start(p);
    QVERIFY(fx);
    const QByteArray port = QByteArray::number(m_tls->port());
    const QByteArray authority = "api.test.airlock:" + port;
    const QByteArray open = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n";
    for (const QByteArray &inner : {QByteArray("GET / HTTP/1.1\r\nHost: other.test.airlock:" + port + "\r\n\r\n"),
                                    QByteArray("GET http://other.test/ HTTP/1.1\r\nHost: other.test\r\n\r\n"),
                                    QByteArray("GET /airlock/other.test/ HTTP/1.1\r\nHost: " + authority + "\r\n\r\n"),
                                    QByteArray("CONNECT other.test:443 HTTP/1.1\r\nHost: other.test:443\r\n\r\n")}) {
        RawClient client;
        QVERIFY(client.connectTo(fx->socketPath()));
        client.send(open + inner);
        const QByteArray all = client.readAll();
        QVERIFY2(all.startsWith("HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 400"), all.left(300).constData());
    }
    RawClient denied;
    QVERIFY(denied.connectTo(fx->socketPath()));
    const QByteArray other = "other.test.airlock:" + port;
    denied.send("CONNECT " + other + " HTTP/1.1\r\nHost: " + other + "\r\n\r\nGET / HTTP/1.1\r\nHost: " + other + "\r\n\r\n");
    QVERIFY2(denied.readAll().startsWith("HTTP/1.1 403"), "a route to a host the policy does not allow was opened");
    QCOMPARE(m_tls->requests.size(), 0);
}

void TestEgressTls::routeByPath()
{
    policy::Policy p = proxyPolicy({QStringLiteral("api.test")});
    p.secrets = {apiKey()};
    auto fx = start(p);
    QVERIFY(fx);
    // Sent to the proxy itself, as a client that ignores HTTP_PROXY would.
    const QByteArray req = "POST /airlock/api.test:" + QByteArray::number(m_tls->port())
                           + "/v1/x HTTP/1.1\r\nHost: 127.0.0.1:3128\r\nContent-Length: 4\r\nConnection: close\r\n\r\nping";
    const auto r = request(fx->socketPath(), req);
    QVERIFY(r);
    QCOMPARE(r->status, 200);
    QCOMPARE(m_tls->requests.first().target, QByteArray("/v1/x"));
    QCOMPARE(m_tls->requests.first().header("x-api-key"), kSecret);
    QCOMPARE(m_tls->requests.first().body, QByteArray("ping"));
    QVERIFY(!r->body.contains(kSecret));
}

void TestEgressTls::agentCannotOverride()
{
    policy::Policy p = proxyPolicy({QStringLiteral("api.test")});
    p.secrets = {apiKey()};
    auto fx = start(p);
    QVERIFY(fx);
    const auto r = request(fx->socketPath(), routeGet("/", "X-API-Key: agent-chosen\r\nConnection: x-api-key\r\n"));
    QVERIFY(r);
    QCOMPARE(r->status, 200);
    QCOMPARE(m_tls->requests.first().count("x-api-key"), 1);
    QCOMPARE(m_tls->requests.first().header("x-api-key"), kSecret);
}

void TestEgressTls::notForOtherHosts()
{
    policy::Policy p = proxyPolicy({QStringLiteral("api.test"), QStringLiteral("other.test")});
    p.secrets = {apiKey()};
    auto fx = start(p);
    QVERIFY(fx);
    const auto r = request(fx->socketPath(), "GET http://other.test.airlock:" + QByteArray::number(m_tls->port())
                                                 + "/ HTTP/1.1\r\nHost: other.test.airlock\r\nConnection: close\r\n\r\n");
    QVERIFY(r);
    QCOMPARE(r->status, 200);
    QCOMPARE(m_tls->requests.first().count("x-api-key"), 0);
    QVERIFY(fx->waitRecords(1).value(0).secret.isEmpty());
}

void TestEgressTls::neverOnPlainHttp()
{
    // The same bound host over plain HTTP (a TLS server reads it as garbage): no credential goes out.
    Upstream plain;
    QVERIFY(plain.listen());
    plain.respond = echo;
    policy::Policy p = proxyPolicy({QStringLiteral("api.test")});
    p.secrets = {apiKey()};
    auto fx = start(p);
    QVERIFY(fx);
    const auto r = request(fx->socketPath(), get(QStringLiteral("http://api.test:%1/").arg(plain.port())));
    QVERIFY(r);
    QCOMPARE(r->status, 200);
    QCOMPARE(plain.requests.first().count("x-api-key"), 0);
}

void TestEgressTls::routeStillNeedsAllow()
{
    policy::Policy p = proxyPolicy({});
    p.secrets = {apiKey()};
    auto fx = start(p);
    QVERIFY(fx);
    const auto r = request(fx->socketPath(), routeGet("/"));
    QVERIFY(r);
    QCOMPARE(r->status, 403);
    QCOMPARE(m_tls->connections, 0);
}

void TestEgressTls::untrustedCertificate()
{
    policy::Policy p = proxyPolicy({QStringLiteral("api.test")});
    p.secrets = {apiKey()};
    auto fx = start(p, false); // only the system's CAs: the test CA is not among them
    QVERIFY(fx);
    const auto r = request(fx->socketPath(), routeGet("/"));
    QVERIFY(r);
    QCOMPARE(r->status, 502);
    QVERIFY(r->body.contains("TLS verification failed"));
    QCOMPARE(m_tls->requests.size(), 0); // nothing, let alone the key, was sent
    QVERIFY(fx->waitRecords(1).value(0).error.contains(QStringLiteral("TLS")));
}

// The CA comes from the sandbox's policy (network.upstreamCaFile), not the proxy's options: one
// session may trust a test or gateway CA while another one served by the same proxy does not.
void TestEgressTls::policyNamesTheUpstreamCa()
{
    policy::Policy trusting = proxyPolicy({QStringLiteral("api.test")});
    trusting.secrets = {apiKey()};
    trusting.network.upstreamCaFile = m_ca.caFile();
    auto fx = start(trusting, false);
    QVERIFY(fx);
    auto r = request(fx->socketPath(), routeGet("/"));
    QVERIFY(r);
    QCOMPARE(r->status, 200);
    QCOMPARE(m_tls->requests.size(), 1);
    QCOMPARE(m_tls->requests.first().header("x-api-key"), kSecret);

    // The same proxy, another session whose policy names no CA: verification fails, nothing is sent.
    policy::Policy plain = trusting;
    plain.network.upstreamCaFile.clear();
    const QString other = fx->socketPath(QStringLiteral("s2"));
    QVERIFY(fx->proxy->addSandbox(SandboxSpec{QStringLiteral("s2"), other, plain}));
    r = request(other, routeGet("/"));
    QVERIFY(r);
    QCOMPARE(r->status, 502);
    QCOMPARE(m_tls->requests.size(), 1);
}

void TestEgressTls::wrongName()
{
    Upstream elsewhere;
    QSslCertificate cert;
    QSslKey key;
    QString error;
    QVERIFY2(m_ca.issue({QStringLiteral("not-api.test")}, &cert, &key, &error), qPrintable(error));
    QVERIFY(elsewhere.listenTls(cert, key));
    policy::Policy p = proxyPolicy({QStringLiteral("api.test")});
    p.secrets = {apiKey()};
    auto fx = start(p);
    QVERIFY(fx);
    const auto r = request(fx->socketPath(), "GET http://api.test.airlock:" + QByteArray::number(elsewhere.port())
                                                 + "/ HTTP/1.1\r\nHost: api.test.airlock\r\nConnection: close\r\n\r\n");
    QVERIFY(r);
    QCOMPARE(r->status, 502);
    QCOMPARE(elsewhere.requests.size(), 0);
}

void TestEgressTls::missingSecret()
{
    qunsetenv(kSecretVar);
    policy::Policy p = proxyPolicy({QStringLiteral("api.test")});
    p.secrets = {apiKey()};
    auto fx = start(p);
    QVERIFY(fx);
    const auto r = request(fx->socketPath(), routeGet("/"));
    QVERIFY(r);
    QCOMPARE(r->status, 502);
    QVERIFY(r->body.contains(kSecretVar));
    QCOMPARE(m_tls->connections, 0);
}

void TestEgressTls::unsafeSecret()
{
    qputenv(kSecretVar, "sk-abc\r\nX-Injected: 1");
    policy::Policy p = proxyPolicy({QStringLiteral("api.test")});
    p.secrets = {apiKey()};
    auto fx = start(p);
    QVERIFY(fx);
    const auto r = request(fx->socketPath(), routeGet("/"));
    QVERIFY(r);
    QCOMPARE(r->status, 502);
    QVERIFY(r->body.contains("line break"));
    QCOMPARE(m_tls->connections, 0);
}

void TestEgressTls::keychainUnavailable()
{
    // No session bus here (CI has none): the keychain read fails, and says so, instead of hanging.
    const QByteArray bus = qgetenv("DBUS_SESSION_BUS_ADDRESS");
    qputenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/airlock-test-bus");
    policy::Policy p = proxyPolicy({QStringLiteral("api.test")});
    policy::Secret s = apiKey();
    s.source = policy::Secret::Source::Keychain;
    s.ref = QStringLiteral("airlock-egress-test-item");
    p.secrets = {s};
    ProxyLimits limits;
    limits.connectTimeoutMs = 8000;
    auto fx = std::make_unique<ProxyFixture>();
    fx->resolver->add(QStringLiteral("api.test"), {QHostAddress(QHostAddress::LocalHost)});
    ProxyOptions options;
    options.limits = limits;
    options.extraCaFile = m_ca.caFile();
    QVERIFY(fx->start(p, options));
    const auto r = request(fx->socketPath(), routeGet("/"), 20000);
    if (bus.isEmpty())
        qunsetenv("DBUS_SESSION_BUS_ADDRESS");
    else
        qputenv("DBUS_SESSION_BUS_ADDRESS", bus);
    QVERIFY(r);
    QVERIFY2(r->status == 502 || r->status == 504, r->head.constData());
    QCOMPARE(m_tls->connections, 0);
}

// A hostile upstream splits the echoed key across chunks, so that the chunk framing the proxy used to
// write between the pieces hid it from the masker.
void TestEgressTls::maskedAcrossChunks_data()
{
    QTest::addColumn<QList<int>>("cuts"); // chunk boundaries inside "key=<secret>;"
    QTest::newRow("in two") << QList<int>{14};
    QTest::newRow("one byte each") << [] {
        QList<int> all;
        for (int i = 1; i < 40; ++i)
            all << i;
        return all;
    }();
    QTest::newRow("at the edges") << QList<int>{4, 5, 36};
}

void TestEgressTls::maskedAcrossChunks()
{
    QFETCH(QList<int>, cuts);
    m_tls->respond = [cuts](const SeenRequest &r) -> QByteArray {
        const QByteArray text = "key=" + r.header("x-api-key") + ";";
        QByteArray body;
        int from = 0;
        for (int cut : cuts + QList<int>{int(text.size())}) {
            if (cut <= from || cut > text.size())
                continue;
            body += QByteArray::number(cut - from, 16) + ";ext=1\r\n" + text.mid(from, cut - from) + "\r\n";
            from = cut;
        }
        return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body + "0\r\n\r\n";
    };
    policy::Policy p = proxyPolicy({QStringLiteral("api.test")});
    p.secrets = {apiKey()};
    auto fx = start(p);
    QVERIFY(fx);
    RawClient c;
    QVERIFY(c.connectTo(fx->socketPath()));
    c.send(routeGet("/"));
    const QByteArray raw = c.readAll();
    QVERIFY2(raw.startsWith("HTTP/1.1 200"), raw.left(200).constData());
    QVERIFY2(!raw.contains(kSecret), "the key reached the sandbox");
    // Nor can the pieces be put back together from the chunks the sandbox reads.
    QByteArray buffer = raw;
    const auto response = parseResponse(buffer, true);
    QVERIFY(response);
    QCOMPARE(response->body, "key=" + QByteArray(kSecret.size(), '*') + ";");
}

// The upstream compresses its echo, where the masker could not see the key: the proxy asks for an
// identity body and refuses a compressed one rather than pass it on.
void TestEgressTls::compressedAnswerRefused()
{
    m_tls->respond = [](const SeenRequest &r) {
        return Upstream::ok(qCompress(r.rawHead), "Content-Encoding: deflate\r\n");
    };
    policy::Policy p = proxyPolicy({QStringLiteral("api.test")});
    p.secrets = {apiKey()};
    auto fx = start(p);
    QVERIFY(fx);
    const auto r = request(fx->socketPath(), routeGet("/", "Accept-Encoding: gzip, deflate, br\r\n"));
    QVERIFY(r);
    QCOMPARE(r->status, 502);
    QVERIFY(r->body.contains("Content-Encoding"));
    QCOMPARE(m_tls->requests.size(), 1);
    QCOMPARE(m_tls->requests.first().header("accept-encoding"), QByteArray("identity"));
    QCOMPARE(m_tls->requests.first().count("accept-encoding"), 1);
    QVERIFY(!fx->storeBytes().contains(kSecret));
}

// "Authorization: Bearer <key>": an upstream that quotes only the key is masked too.
void TestEgressTls::bareTokenMasked()
{
    qputenv(kSecretVar, "Bearer " + kSecret);
    m_tls->respond = [](const SeenRequest &) {
        return Upstream::ok(R"({"error":"invalid api key: )" + kSecret + R"("})");
    };
    policy::Policy p = proxyPolicy({QStringLiteral("api.test")});
    policy::Secret s = apiKey();
    s.header = QStringLiteral("Authorization");
    p.secrets = {s};
    auto fx = start(p);
    QVERIFY(fx);
    const auto r = request(fx->socketPath(), routeGet("/"));
    QVERIFY(r);
    QCOMPARE(r->status, 200);
    QCOMPARE(m_tls->requests.first().header("authorization"), "Bearer " + kSecret);
    QVERIFY2(!r->body.contains(kSecret), r->body.constData());
}

// A secret with a scheme (an OpenAI key: "Authorization: Bearer <key>"): the stored value is the key
// alone, the header carries both, and the key echoed back alone is masked.
void TestEgressTls::schemeBeforeTheKey()
{
    m_tls->respond = [](const SeenRequest &) {
        return Upstream::ok(R"({"error":"invalid api key: )" + kSecret + R"("})");
    };
    policy::Policy p = proxyPolicy({QStringLiteral("api.test")});
    policy::Secret s = apiKey();
    s.header = QStringLiteral("Authorization");
    s.scheme = QStringLiteral("Bearer");
    p.secrets = {s};
    auto fx = start(p);
    QVERIFY(fx);
    const auto r = request(fx->socketPath(), routeGet("/v1/models", "Authorization: Bearer sk-airlock-placeholder\r\n"));
    QVERIFY(r);
    QCOMPARE(r->status, 200);
    QCOMPARE(m_tls->requests.first().header("authorization"), "Bearer " + kSecret);
    QCOMPARE(m_tls->requests.first().count("authorization"), 1);
    QVERIFY2(!r->body.contains(kSecret), r->body.constData());
}

QTEST_GUILESS_MAIN(TestEgressTls)
#include "tst_egress_tls.moc"
