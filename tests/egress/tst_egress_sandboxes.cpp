// The proxy over a sandbox's life: runtime rules (from the API and from the store), policy changes,
// several sessions, removal, limits, many clients at once, garbage, setup errors and upstream failures.
#include "egresstestutil.h"

#include "store/storereader.h"

#include <QFileInfo>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTest>

using namespace airlock;
using namespace airlock::egress;
using namespace airlock::egress::test;

namespace {

QString url(const char *host, quint16 port, const char *path = "/")
{
    return QStringLiteral("http://%1:%2%3").arg(QLatin1String(host)).arg(port).arg(QLatin1String(path));
}

} // namespace

class TestEgressSandboxes : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void runtimeRuleAppliesAtOnce();
    void runtimeRuleFromStore();
    void storedRulesLoadOnAdd();
    void policyChangeAppliesAtOnce();
    void sessionsAreSeparate();
    void removeSandbox();
    void manyAtOnce();
    void limits();
    void timeouts();
    void garbageDoesNotHurt();
    void socketSetupErrors();
    void unknownName();
    void upstreamRefuses();

private:
    std::unique_ptr<ProxyFixture> m_fx;
    std::unique_ptr<Upstream> m_up;
};

void TestEgressSandboxes::init()
{
    m_fx = std::make_unique<ProxyFixture>();
    m_up = std::make_unique<Upstream>();
    QVERIFY(m_up->listen());
    m_fx->resolver->add(QStringLiteral("api.test"), {QHostAddress(QHostAddress::LocalHost)});
}

void TestEgressSandboxes::cleanup()
{
    m_fx.reset();
    m_up.reset();
}

void TestEgressSandboxes::runtimeRuleAppliesAtOnce()
{
    QVERIFY(m_fx->start(proxyPolicy({})));
    const QByteArray req = get(url("api.test", m_up->port()));
    QCOMPARE(request(m_fx->socketPath(), req)->status, 403);
    QSignalSpy added(m_fx->proxy.get(), &EgressProxy::ruleAdded);
    auto rule = m_fx->proxy->addRule(QStringLiteral("s1"), Verdict::Allow, QStringLiteral("API.test:*"), QStringLiteral("gui"));
    QVERIFY(rule);
    QCOMPARE(rule->pattern, QStringLiteral("api.test:*"));
    QCOMPARE(added.size(), 1);
    QCOMPARE(request(m_fx->socketPath(), req)->status, 200); // no restart, no wait
    QCOMPARE(m_fx->waitRecords(2).value(1).rule, QStringLiteral("session allow api.test:*"));

    QVERIFY(m_fx->proxy->addRule(QStringLiteral("s1"), Verdict::Deny, QStringLiteral("api.test")));
    QCOMPARE(request(m_fx->socketPath(), req)->status, 403);
    // A deny of the name closes every port on it and overrides the allow, which stays listed: the two
    // patterns differ since rules name ports.
    QCOMPARE(m_fx->proxy->rules(QStringLiteral("s1")).size(), 2);

    QVERIFY(!m_fx->proxy->addRule(QStringLiteral("s1"), Verdict::Allow, QStringLiteral("bad/pattern")));
    QVERIFY(!m_fx->proxy->addRule(QStringLiteral("nope"), Verdict::Allow, QStringLiteral("api.test")));

    // Both rules are in the store as egress.rule events.
    QVERIFY(m_fx->store->flush());
    auto reader = store::StoreReader::open(m_fx->store->path());
    QVERIFY(reader);
    auto events = reader->events(store::EventQuery{QStringLiteral("s1"), 0, 100, false, {}, 0});
    QVERIFY(events);
    QStringList verdicts;
    for (const store::Event &e : std::as_const(*events)) {
        if (auto r = RuntimeRule::fromEvent(e))
            verdicts << verdictName(r->verdict) + u' ' + r->pattern + u' ' + r->origin;
    }
    QCOMPARE(verdicts, (QStringList{QStringLiteral("allow api.test:* gui"), QStringLiteral("deny api.test api")}));
}

void TestEgressSandboxes::runtimeRuleFromStore()
{
    QVERIFY(m_fx->start(proxyPolicy({})));
    const QByteArray req = get(url("api.test", m_up->port()));
    QCOMPARE(request(m_fx->socketPath(), req)->status, 403);
    // Another process (airlockctl) appends to the same database.
    QSignalSpy added(m_fx->proxy.get(), &EgressProxy::ruleAdded);
    {
        auto other = store::EventStore::open(m_fx->store->path());
        QVERIFY(other);
        RuntimeRule r;
        r.verdict = Verdict::Allow;
        r.pattern = QStringLiteral("api.test:*");
        r.origin = QStringLiteral("airlockctl");
        QVERIFY((*other)->append(QStringLiteral("s1"), QString::fromLatin1(kinds::Rule), r.toJson()));
        QVERIFY((*other)->append(QStringLiteral("s2"), QString::fromLatin1(kinds::Rule), r.toJson())); // not served
        QVERIFY((*other)->flush());
    }
    QVERIFY(added.wait(5000));
    QCOMPARE(added.first().first().value<RuntimeRule>().origin, QStringLiteral("airlockctl"));
    QCOMPARE(request(m_fx->socketPath(), req)->status, 200);
}

void TestEgressSandboxes::storedRulesLoadOnAdd()
{
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("ignored: egress rule event 2")));
    {
        auto opened = store::EventStore::open(m_fx->dir.filePath(QStringLiteral("airlock.db")));
        QVERIFY(opened);
        RuntimeRule r;
        r.verdict = Verdict::Allow;
        r.pattern = QStringLiteral("api.test:*");
        QVERIFY((*opened)->append(QStringLiteral("s1"), QString::fromLatin1(kinds::Rule), r.toJson()));
        QVERIFY((*opened)->append(QStringLiteral("s1"), QString::fromLatin1(kinds::Rule), QJsonObject{{QStringLiteral("verdict"), 1}}));
        QVERIFY((*opened)->flush());
    }
    QVERIFY(m_fx->start(proxyPolicy({})));
    // The first connection already sees the rule: loading is queued before the socket is served.
    QCOMPARE(request(m_fx->socketPath(), get(url("api.test", m_up->port())))->status, 200);
}

void TestEgressSandboxes::policyChangeAppliesAtOnce()
{
    QVERIFY(m_fx->start(proxyPolicy({})));
    const QByteArray req = get(url("api.test", m_up->port()));
    QCOMPARE(request(m_fx->socketPath(), req)->status, 403);
    QVERIFY(m_fx->proxy->setPolicy(QStringLiteral("s1"), proxyPolicy({QStringLiteral("api.test")})));
    QCOMPARE(request(m_fx->socketPath(), req)->status, 200);
    auto d = m_fx->proxy->decide(QStringLiteral("s1"), QStringLiteral("API.test"), m_up->port());
    QVERIFY(d && d->allowed());
    QVERIFY(!m_fx->proxy->setPolicy(QStringLiteral("nope"), policy::Policy{}));
}

void TestEgressSandboxes::sessionsAreSeparate()
{
    QVERIFY(m_fx->start(proxyPolicy({QStringLiteral("api.test")})));
    QVERIFY(m_fx->proxy->addSandbox({QStringLiteral("s2"), m_fx->socketPath(QStringLiteral("s2")), proxyPolicy({})}));
    const QByteArray req = get(url("api.test", m_up->port()));
    QCOMPARE(request(m_fx->socketPath(QStringLiteral("s1")), req)->status, 200);
    QCOMPARE(request(m_fx->socketPath(QStringLiteral("s2")), req)->status, 403);
    const auto records = m_fx->waitRecords(2);
    QCOMPARE(records.size(), 2);
    QCOMPARE(records.at(0).session, QStringLiteral("s1"));
    QCOMPARE(records.at(1).session, QStringLiteral("s2"));
    QCOMPARE(m_fx->proxy->sessions().size(), 2);
    QVERIFY(!m_fx->proxy->addSandbox({QStringLiteral("s2"), m_fx->socketPath(QStringLiteral("s3")), proxyPolicy({})}));
}

void TestEgressSandboxes::removeSandbox()
{
    QVERIFY(m_fx->start(proxyPolicy({QStringLiteral("api.test")})));
    // A connection that is open when the sandbox goes is cut.
    RawClient idle;
    QVERIFY(idle.connectTo(m_fx->socketPath()));
    QVERIFY(QFileInfo::exists(m_fx->socketPath()));
    m_fx->proxy->removeSandbox(QStringLiteral("s1"));
    QVERIFY(idle.waitClosed());
    QTRY_VERIFY(!QFileInfo::exists(m_fx->socketPath()));
    RawClient late;
    QVERIFY(!late.connectTo(m_fx->socketPath(), 200));
    // The same session can be served again, on the same path.
    QVERIFY(m_fx->proxy->addSandbox({QStringLiteral("s1"), m_fx->socketPath(), proxyPolicy({QStringLiteral("api.test")})}));
    QCOMPARE(request(m_fx->socketPath(), get(url("api.test", m_up->port())))->status, 200);
}

void TestEgressSandboxes::manyAtOnce()
{
    QVERIFY(m_fx->start(proxyPolicy({QStringLiteral("api.test")})));
    constexpr int n = 60;
    std::vector<std::unique_ptr<RawClient>> clients;
    for (int i = 0; i < n; ++i) {
        auto c = std::make_unique<RawClient>();
        QVERIFY(c->connectTo(m_fx->socketPath()));
        clients.push_back(std::move(c));
    }
    for (int i = 0; i < n; ++i)
        clients[size_t(i)]->send(get(url("api.test", m_up->port(), "/") + QString::number(i)));
    for (int i = 0; i < n; ++i) {
        const auto r = clients[size_t(i)]->readResponse();
        QVERIFY(r);
        QCOMPARE(r->body, "hello /" + QByteArray::number(i));
    }
    QCOMPARE(m_fx->waitRecords(n).size(), n);
}

void TestEgressSandboxes::limits()
{
    ProxyOptions options;
    options.limits.maxConnectionsPerSandbox = 2;
    QVERIFY(m_fx->start(proxyPolicy({QStringLiteral("api.test")}), options));
    auto first = std::make_unique<RawClient>();
    RawClient second;
    QVERIFY(first->connectTo(m_fx->socketPath()));
    QVERIFY(second.connectTo(m_fx->socketPath()));
    // Both slots are taken: a third connection is turned away at once.
    RawClient third;
    QVERIFY(third.connectTo(m_fx->socketPath()));
    QByteArray busy = third.readAll();
    QCOMPARE(parseResponse(busy, true).value_or(Response{}).status, 503);
    // A slot frees when a sandbox connection goes away.
    first.reset();
    QVERIFY(QTest::qWaitFor([&] {
        const auto r = request(m_fx->socketPath(), get(url("api.test", m_up->port())));
        return r && r->status == 200;
    }, 5000));
}

void TestEgressSandboxes::timeouts()
{
    ProxyOptions options;
    options.limits.headTimeoutMs = 200;
    options.limits.idleTimeoutMs = 200;
    QVERIFY(m_fx->start(proxyPolicy({QStringLiteral("api.test")}), options));
    // An idle connection is closed without an answer; a head that stalls gets 408.
    RawClient idle, stalled;
    QVERIFY(idle.connectTo(m_fx->socketPath()));
    QVERIFY(stalled.connectTo(m_fx->socketPath()));
    stalled.send("GET http://api.test/ HTTP/1.1\r\nHost: api");
    QCOMPARE(idle.readAll(), QByteArray());
    QByteArray slow = stalled.readAll();
    QCOMPARE(parseResponse(slow, true).value_or(Response{}).status, 408);
}

void TestEgressSandboxes::garbageDoesNotHurt()
{
    QVERIFY(m_fx->start(proxyPolicy({QStringLiteral("api.test")})));
    auto *rng = QRandomGenerator::global();
    for (int i = 0; i < 40; ++i) {
        QByteArray junk(qsizetype(1 + rng->bounded(3000)), Qt::Uninitialized);
        for (char &c : junk)
            c = char(rng->bounded(256));
        if (i % 4 == 0)
            junk.prepend("GET http://api.test/ HTTP/1.1\r\n");
        RawClient c;
        QVERIFY(c.connectTo(m_fx->socketPath()));
        c.send(junk);
        c.socket().disconnectFromServer(); // sometimes before the proxy answers
    }
    QCOMPARE(request(m_fx->socketPath(), get(url("api.test", m_up->port())))->status, 200);
}

void TestEgressSandboxes::socketSetupErrors()
{
    QVERIFY(m_fx->start(proxyPolicy({})));
    EgressProxy &proxy = *m_fx->proxy;
    auto r = proxy.addSandbox({QStringLiteral("long"), m_fx->dir.filePath(QString(120, u'x')), proxyPolicy({})});
    QVERIFY(!r);
    QVERIFY(r.error().message.contains(QStringLiteral("too long")));
    QFile plain(m_fx->dir.filePath(QStringLiteral("plain")));
    QVERIFY(plain.open(QIODevice::WriteOnly));
    plain.close();
    r = proxy.addSandbox({QStringLiteral("plain"), plain.fileName(), proxyPolicy({})});
    QVERIFY(!r);
    QVERIFY(r.error().message.contains(QStringLiteral("not a socket")));
    QVERIFY(QFileInfo::exists(plain.fileName()));
    r = proxy.addSandbox({QStringLiteral("live"), m_fx->socketPath(), proxyPolicy({})});
    QVERIFY(!r); // s1's socket is being served
    r = proxy.addSandbox({QStringLiteral("bad id!"), m_fx->socketPath(QStringLiteral("x")), proxyPolicy({})});
    QVERIFY(!r);
    policy::Policy badSecret = proxyPolicy({});
    badSecret.secrets.append({QStringLiteral("k"), QStringLiteral("api.test"), QStringLiteral("Bad Header"),
                              policy::Secret::Source::HostEnv, QStringLiteral("X"), {}});
    r = proxy.addSandbox({QStringLiteral("s9"), m_fx->socketPath(QStringLiteral("s9")), badSecret});
    QVERIFY(!r);
    // The socket gets the mode asked for.
    QVERIFY(proxy.addSandbox({QStringLiteral("s8"), m_fx->socketPath(QStringLiteral("s8")), proxyPolicy({}), 0660}));
    QCOMPARE(QFileInfo(m_fx->socketPath(QStringLiteral("s8"))).permissions() & (QFile::ReadOther | QFile::WriteOther | QFile::WriteGroup),
             QFile::WriteGroup);
}

void TestEgressSandboxes::upstreamRefuses()
{
    // A port nothing listens on: take one from a server that then goes away.
    quint16 port = 0;
    {
        QTcpServer s;
        QVERIFY(s.listen(QHostAddress::LocalHost, 0));
        port = s.serverPort();
    }
    QVERIFY(m_fx->start(proxyPolicy({QStringLiteral("api.test")})));
    const auto r = request(m_fx->socketPath(), get(url("api.test", port)));
    QVERIFY(r);
    QCOMPARE(r->status, 502);
    QVERIFY(r->body.contains("cannot connect to api.test port"));
    const auto records = m_fx->waitRecords(1);
    QCOMPARE(records.first().decision, Verdict::Allow);
    QCOMPARE(records.first().status, 502);
    QVERIFY(records.first().error.contains(QStringLiteral("refused")));
}

void TestEgressSandboxes::unknownName()
{
    QVERIFY(m_fx->start(proxyPolicy({QStringLiteral("*.test")})));
    const auto r = request(m_fx->socketPath(), get(url("nowhere.test", 80)));
    QVERIFY(r);
    QCOMPARE(r->status, 502);
    QVERIFY(r->body.contains("cannot resolve nowhere.test"));
}

QTEST_GUILESS_MAIN(TestEgressSandboxes)
#include "tst_egress_sandboxes.moc"
