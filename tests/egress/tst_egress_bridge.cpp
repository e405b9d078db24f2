// The path a sandbox's traffic really takes: a TCP connection to the shim's loopback port, bridged
// by airlock-shim to the proxy's unix socket, and from there to a test server. The shim runs on the
// host here (it has --proxy-socket/--proxy-port for that); inside a real bubblewrap sandbox the same
// test needs the local backend. The remote Docker path, the shim on stdin/stdout with the proxy
// tunnelled over that connection to the host, is taken too.
#include "egresstestutil.h"
#include "sandboxtestutil.h"
#include "shimharness.h"

#include <QSignalSpy>
#include <QStandardPaths>
#include <QTcpSocket>
#include <QTest>

#include <unistd.h>

using namespace airlock;
using namespace airlock::egress;
using namespace airlock::egress::test;
using namespace airlock::sandbox;
using namespace airlock::sandbox::test;

namespace {

// Sends raw bytes to 127.0.0.1:port and reads until the other side closes.
QByteArray overTcp(quint16 port, const QByteArray &bytes)
{
    QTcpSocket s;
    s.connectToHost(QHostAddress::LocalHost, port);
    if (!QTest::qWaitFor([&] { return s.state() == QAbstractSocket::ConnectedState; }, 5000))
        return {};
    s.write(bytes);
    QByteArray all;
    (void)QTest::qWaitFor([&] {
        all += s.readAll();
        return s.state() == QAbstractSocket::UnconnectedState;
    }, 10000);
    return all + s.readAll();
}

} // namespace

class TestEgressBridge : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void bridgedRequests();
    void tunnelledRequests();
    void curlThroughShimExec();
    void insideBubblewrap();

private:
    // The policy's answers to the requests a sandbox makes through the proxy port.
    void requestsThrough(quint16 port);

    std::unique_ptr<ProxyFixture> m_fx;
    std::unique_ptr<Upstream> m_up;
    std::unique_ptr<ShimHarness> m_shim;
    std::unique_ptr<ShimClient> m_client;
    quint16 m_port = 0;
};

void TestEgressBridge::init()
{
    m_up = std::make_unique<Upstream>();
    QVERIFY(m_up->listen());
    m_fx = std::make_unique<ProxyFixture>();
    m_fx->resolver->add(QStringLiteral("api.test"), {QHostAddress(QHostAddress::LocalHost)});
    QVERIFY(m_fx->start(proxyPolicy({QStringLiteral("api.test")})));
    m_shim = std::make_unique<ShimHarness>();
    QVERIFY(m_shim->start({QStringLiteral("--proxy-socket"), m_fx->socketPath(), QStringLiteral("--proxy-port"),
                           QStringLiteral("0")}));
    m_client = std::make_unique<ShimClient>();
    QVERIFY(m_shim->connect(*m_client));
    QVERIFY(m_client->shimInfo().capabilities.contains(QStringLiteral("proxy-bridge")));
    m_port = m_client->shimInfo().proxyPort;
    QVERIFY(m_port != 0);
}

void TestEgressBridge::cleanup()
{
    m_client.reset();
    m_shim.reset();
    m_fx.reset();
    m_up.reset();
}

void TestEgressBridge::bridgedRequests()
{
    requestsThrough(m_port);
}

void TestEgressBridge::tunnelledRequests()
{
    StdioShim shim;
    ShimClient client;
    client.setTunnelTarget(m_fx->socketPath());
    QSignalSpy failed(&client, &ShimClient::errorOccurred);
    QVERIFY(shim.start(client, {QStringLiteral("--proxy-tunnel"), QStringLiteral("--proxy-port"), QStringLiteral("0")}));
    QVERIFY(client.shimInfo().capabilities.contains(QStringLiteral("proxy-tunnel")));
    requestsThrough(client.shimInfo().proxyPort);
    QVERIFY(failed.isEmpty());
}

void TestEgressBridge::requestsThrough(quint16 shimPort)
{
    const QByteArray port = QByteArray::number(m_up->port());
    QByteArray allowed = overTcp(shimPort, "GET http://api.test:" + port + "/via-shim HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n");
    auto r = parseResponse(allowed, true);
    QVERIFY(r);
    QCOMPARE(r->status, 200);
    QCOMPARE(r->body, QByteArray("hello /via-shim"));

    QByteArray denied = overTcp(shimPort, "GET http://elsewhere.test/ HTTP/1.1\r\nHost: elsewhere.test\r\nConnection: close\r\n\r\n");
    r = parseResponse(denied, true);
    QVERIFY(r);
    QCOMPARE(r->status, 403);

    const QByteArray inner = "GET /tunnelled HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n";
    const QByteArray tunnel = overTcp(shimPort, "CONNECT api.test:" + port + " HTTP/1.1\r\nHost: api.test\r\n\r\n" + inner);
    QVERIFY2(tunnel.startsWith("HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 200 OK"), tunnel.constData());
    QVERIFY(tunnel.endsWith("hello /tunnelled"));

    QByteArray smuggled = overTcp(shimPort, "POST http://api.test:" + port + "/ HTTP/1.1\r\nHost: api.test\r\n"
                                          "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    r = parseResponse(smuggled, true);
    QVERIFY(r);
    QCOMPARE(r->status, 400);

    // A refused upload: the proxy answers before reading the body, and the answer still arrives
    // through the bridge (or tunnel) rather than a reset.
    QByteArray upload = overTcp(shimPort, "POST http://elsewhere.test/ HTTP/1.1\r\nHost: elsewhere.test\r\n"
                                        "Content-Length: 2097152\r\n\r\n" + QByteArray(2 * 1024 * 1024, 'u'));
    r = parseResponse(upload, true);
    QVERIFY(r);
    QCOMPARE(r->status, 403);

    const auto records = m_fx->waitRecords(5);
    QCOMPARE(records.size(), 5);
    QCOMPARE(records.at(0).session, QStringLiteral("s1"));
    QCOMPARE(m_up->requests.size(), 2);
}

void TestEgressBridge::curlThroughShimExec()
{
    // A program started by the shim with the proxy variables the session sets, as an agent's tool is.
    const QString curl = QStandardPaths::findExecutable(QStringLiteral("curl"));
    if (curl.isEmpty())
        QSKIP("curl is not installed");
    ExecRecorder rec(m_client.get());
    // curl reads only the lowercase http_proxy (the uppercase one is ignored since httpoxy).
    const QString proxy = QStringLiteral("http_proxy=http://127.0.0.1:%1").arg(m_port);
    ExecRequest req;
    req.argv = {curl, QStringLiteral("-s"), QStringLiteral("-S"), QStringLiteral("-w"), QStringLiteral(" %{http_code}"),
                QStringLiteral("http://api.test:%1/from-curl").arg(m_up->port())};
    req.env = {proxy, QStringLiteral("PATH=/usr/bin:/bin")};
    auto id = m_client->exec(req);
    QVERIFY(id);
    QVERIFY(rec.wait(*id, 20000));
    QVERIFY2(rec[*id].out == "hello /from-curl 200", rec[*id].err.constData());

    ExecRequest denied = req;
    denied.argv.last() = QStringLiteral("http://blocked.test/");
    auto id2 = m_client->exec(denied);
    QVERIFY(id2);
    QVERIFY(rec.wait(*id2, 20000));
    QVERIFY2(rec[*id2].out.endsWith(" 403"), rec[*id2].out.constData());
}

void TestEgressBridge::insideBubblewrap()
{
    // A real bubblewrap sandbox whose policy says "proxy": its processes get the proxy variables,
    // the shim bridges 127.0.0.1:3128 inside to the sandbox's proxy socket, and nothing else leaves.
    AIRLOCK_REQUIRE_BWRAP();
    if (QStandardPaths::findExecutable(QStringLiteral("curl")).isEmpty())
        QSKIP("curl is not installed (apt install curl)");
    sandbox::test::SandboxFixture sfx;
    policy::Policy p = sandbox::test::testPolicy();
    p.network.mode = policy::NetworkMode::Proxy;
    // The upstream is on the host's loopback at a port the kernel picked: the policy says both.
    p.network.allow = {QStringLiteral("api.test:*")};
    p.network.allowAddressClasses = {QStringLiteral("loopback")};
    // A credential for api.test from the host environment, even listed for pass-through: the proxy
    // holds it, the sandbox never does.
    qputenv("BRIDGE_TEST_API_KEY", "sk-bridge-7f3a9c1e");
    p.secrets = {policy::Secret{QStringLiteral("api"), QStringLiteral("api.test"), QStringLiteral("X-Api-Key"),
                                policy::Secret::Source::HostEnv, QStringLiteral("BRIDGE_TEST_API_KEY"), {}}};
    p.environment.passThrough << QStringLiteral("BRIDGE_TEST_API_KEY");
    sandbox::SandboxSpec spec = sfx.spec(p);
    spec.sessionId = QStringLiteral("s2");
    sandbox::Sandbox *box = sfx.start(spec);
    QVERIFY(box);
    // What the session runner does for a proxy-mode sandbox.
    // As root the sandbox runs as another uid, which must be able to connect to the socket.
    egress::SandboxSpec proxied{QStringLiteral("s2"), box->info().controlDir + QStringLiteral("/proxy.sock"), p};
    proxied.socketMode = ::geteuid() == 0 ? 0666 : 0600;
    QVERIFY(m_fx->proxy->addSandbox(proxied));
    const QString port = QString::number(m_up->port());

    auto allowed = sandbox::test::sh(box, QStringLiteral("curl -s -S -w ' %{http_code}' http://api.test:%1/inside").arg(port));
    QVERIFY2(allowed.out == "hello /inside 200", QByteArray(allowed.out + allowed.err).constData());

    auto denied = sandbox::test::sh(box, QStringLiteral("curl -s -w ' %{http_code}' http://blocked.test/"));
    QVERIFY2(denied.out.endsWith(" 403"), denied.out.constData());

    // An IP literal through the proxy (forced: no_proxy lists loopback) is refused: names are decided,
    // addresses are not trusted.
    auto literal = sandbox::test::sh(box, QStringLiteral("env -u no_proxy -u NO_PROXY curl -s -w ' %{http_code}' http://127.0.0.1:%1/literal").arg(port));
    QVERIFY2(literal.out.endsWith(" 403"), literal.out.constData());

    // Bypasses: no proxy variables and straight to the upstream's port; a raw public address; DNS.
    auto direct = sandbox::test::sh(box, QStringLiteral("unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy; "
                                                        "curl -s -m 5 http://127.0.0.1:%1/direct").arg(port));
    QVERIFY2(direct.code() != 0, direct.out.constData());
    auto raw = sandbox::test::sh(box, QStringLiteral("curl -s -m 5 --noproxy '*' http://1.1.1.1/"));
    QVERIFY(raw.code() != 0);
    auto dns = sandbox::test::sh(box, QStringLiteral("getent hosts example.com"));
    QVERIFY2(dns.code() != 0, dns.out.constData());

    // The credential is nowhere inside: not in the environment, any process's environ or command
    // line, nor a file the sandbox can read.
    auto leak = sandbox::test::sh(box, QStringLiteral("env; cat /proc/*/environ /proc/*/cmdline 2>/dev/null | tr '\\0' '\\n'; "
                                                      "grep -rs sk-bridge /tmp /airlock /etc 2>/dev/null; true"));
    QVERIFY(!leak.out.isEmpty());
    QVERIFY2(!leak.out.contains("sk-bridge-7f3a9c1e"), leak.out.constData());
    QVERIFY(!leak.out.contains("BRIDGE_TEST_API_KEY="));

    // Only the allowed request arrived, and every decision was recorded for the sandbox's session.
    QCOMPARE(m_up->requests.size(), 1);
    QCOMPARE(m_up->requests.first().target, QByteArray("/inside"));
    const auto records = m_fx->waitRecords(3);
    QVERIFY(records.size() >= 3);
    for (const EgressRecord &r : records)
        QCOMPARE(r.session, QStringLiteral("s2"));

    m_fx->proxy->removeSandbox(QStringLiteral("s2"));
    QVERIFY(sandbox::test::destroyAndWait(box));
}

QTEST_GUILESS_MAIN(TestEgressBridge)
#include "tst_egress_bridge.moc"
