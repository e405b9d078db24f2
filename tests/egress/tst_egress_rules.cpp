// The egress decision as pure functions: address classes, IP literal spellings, host names, the
// order of rules (deny wins), the address step, runtime rules and the records' JSON.
#include "egress/addressclass.h"
#include "egress/egressrecord.h"
#include "egress/egressrules.h"
#include "egress/sessiontable.h"

#include <QJsonDocument>
#include <QTest>

using namespace airlock;
using namespace airlock::egress;

Q_DECLARE_METATYPE(airlock::egress::AddressClass)
Q_DECLARE_METATYPE(airlock::egress::Verdict)

class TestEgressRules : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void classifyAddress_data();
    void classifyAddress();
    void ipLiteral_data();
    void ipLiteral();
    void normalize_data();
    void normalize();
    void decideName_data();
    void decideName();
    void addressStep_data();
    void addressStep();
    void closedPortSaysSo();
    void runtimeRules();
    void recordRoundTrip();
    void ruleEvents_data();
    void ruleEvents();
};

void TestEgressRules::classifyAddress_data()
{
    QTest::addColumn<QString>("address");
    QTest::addColumn<AddressClass>("expected");
    const auto row = [](const char *a, AddressClass c) { QTest::newRow(a) << QString::fromLatin1(a) << c; };
    row("93.184.216.34", AddressClass::Public);
    row("1.1.1.1", AddressClass::Public);
    row("0.0.0.0", AddressClass::Unspecified);
    row("0.1.2.3", AddressClass::Unspecified);
    row("127.0.0.1", AddressClass::Loopback);
    row("127.255.0.9", AddressClass::Loopback);
    row("10.0.0.5", AddressClass::Private);
    row("172.16.0.1", AddressClass::Private);
    row("172.31.255.255", AddressClass::Private);
    row("172.32.0.1", AddressClass::Public);
    row("192.168.1.1", AddressClass::Private);
    row("169.254.1.1", AddressClass::LinkLocal);
    row("169.254.169.254", AddressClass::Metadata);
    row("169.254.170.2", AddressClass::Metadata);
    row("100.100.100.200", AddressClass::Metadata);
    row("100.64.0.1", AddressClass::SharedCgnat);
    row("100.127.255.254", AddressClass::SharedCgnat);
    row("100.128.0.1", AddressClass::Public);
    row("224.0.0.1", AddressClass::Multicast);
    row("255.255.255.255", AddressClass::Reserved);
    row("240.0.0.1", AddressClass::Reserved);
    row("192.0.2.1", AddressClass::Reserved);
    row("198.18.0.1", AddressClass::Reserved);
    row("::", AddressClass::Unspecified);
    row("::1", AddressClass::Loopback);
    row("::ffff:127.0.0.1", AddressClass::Loopback);
    row("::ffff:10.1.2.3", AddressClass::Private);
    row("::ffff:93.184.216.34", AddressClass::Public);
    row("64:ff9b::a9fe:a9fe", AddressClass::Metadata);       // NAT64 of 169.254.169.254
    row("2002:7f00:1::", AddressClass::Loopback);            // 6to4 of 127.0.0.1
    row("2002:5db8:d822::1", AddressClass::Public);          // 6to4 of 93.184.216.34
    row("::127.0.0.1", AddressClass::Reserved);              // IPv4-compatible
    row("fd00:ec2::254", AddressClass::Metadata);
    row("fc00::1", AddressClass::Private);
    row("fd12:3456::1", AddressClass::Private);
    row("fe80::1", AddressClass::LinkLocal);
    row("fec0::1", AddressClass::Private);
    row("ff02::1", AddressClass::Multicast);
    row("2001:db8::1", AddressClass::Reserved);
    row("2001:0:4136:e378::1", AddressClass::Reserved);      // Teredo
    row("2606:4700:4700::1111", AddressClass::Public);
    row("4000::1", AddressClass::Reserved);
}

void TestEgressRules::classifyAddress()
{
    QFETCH(QString, address);
    QFETCH(AddressClass, expected);
    const QHostAddress a(address);
    QVERIFY2(!a.isNull(), qPrintable(address));
    QCOMPARE(classify(a), expected);
    QVERIFY(!describe(expected).isEmpty());
}

void TestEgressRules::ipLiteral_data()
{
    QTest::addColumn<QString>("host");
    QTest::addColumn<QString>("expected"); // empty: not a literal
    QTest::newRow("dotted") << "127.0.0.1" << "127.0.0.1";
    QTest::newRow("short") << "127.1" << "127.0.0.1";
    QTest::newRow("decimal") << "2130706433" << "127.0.0.1";
    QTest::newRow("hex") << "0x7f000001" << "127.0.0.1";
    QTest::newRow("hex parts") << "0x7f.0.0.1" << "127.0.0.1";
    QTest::newRow("octal") << "0177.0.0.1" << "127.0.0.1";
    QTest::newRow("metadata decimal") << "2852039166" << "169.254.169.254";
    QTest::newRow("ipv6") << "::1" << "::1";
    QTest::newRow("ipv6 mapped") << "::ffff:169.254.169.254" << "::ffff:169.254.169.254";
    QTest::newRow("zone") << "fe80::1%eth0" << "";
    QTest::newRow("name") << "example.com" << "";
    QTest::newRow("hexy name") << "cafe.beef" << "";
    QTest::newRow("too many parts") << "1.2.3.4.5" << "";
    QTest::newRow("overflow") << "256.1.1.1" << "";
    QTest::newRow("empty") << "" << "";
}

void TestEgressRules::ipLiteral()
{
    QFETCH(QString, host);
    QFETCH(QString, expected);
    const auto literal = parseIpLiteral(host);
    if (expected.isEmpty()) {
        QVERIFY2(!literal, qPrintable(host));
        return;
    }
    QVERIFY(literal);
    QCOMPARE(literal->toString(), expected);
}

void TestEgressRules::normalize_data()
{
    QTest::addColumn<QString>("host");
    QTest::addColumn<QString>("expected"); // empty: refused
    QTest::newRow("lowercase") << "API.Example.COM" << "api.example.com";
    QTest::newRow("trailing dot") << "example.com." << "example.com";
    QTest::newRow("underscore") << "_srv.example.com" << "_srv.example.com";
    QTest::newRow("brackets") << "[::1]" << "::1";
    QTest::newRow("odd ipv4 spelling") << "127.1" << "127.0.0.1";
    QTest::newRow("ipv4 trailing dot") << "10.0.0.1." << "10.0.0.1";
    QTest::newRow("empty label") << "a..b" << "";
    QTest::newRow("leading hyphen") << "-a.b" << "";
    QTest::newRow("space") << "a b" << "";
    QTest::newRow("at") << "user@host" << "";
    QTest::newRow("non-ascii") << QString::fromUtf8("bücher.de") << "";
    QTest::newRow("percent") << "a%2eb" << "";
    QTest::newRow("empty") << "" << "";
    QTest::newRow("dot only") << "." << "";
    QTest::newRow("long label") << QString(64, u'a') + QStringLiteral(".com") << "";
    QTest::newRow("bad ipv6") << "[::g]" << "";
}

void TestEgressRules::normalize()
{
    QFETCH(QString, host);
    QFETCH(QString, expected);
    const auto n = normalizeHost(host);
    if (expected.isEmpty()) {
        QVERIFY2(!n, qPrintable(host));
        QVERIFY(!n.error().message.isEmpty());
        return;
    }
    QVERIFY2(n, qPrintable(n ? QString() : n.error().message));
    QCOMPARE(*n, expected);
}

void TestEgressRules::decideName_data()
{
    QTest::addColumn<QStringList>("allow");
    QTest::addColumn<QStringList>("deny");
    QTest::addColumn<QStringList>("sessionAllow");
    QTest::addColumn<QStringList>("sessionDeny");
    QTest::addColumn<QString>("host");
    QTest::addColumn<int>("port");
    QTest::addColumn<bool>("allowed");
    QTest::addColumn<QString>("rule");
    QTest::addColumn<bool>("named");
    const QStringList none;
    QTest::newRow("exact") << QStringList{"api.example.com"} << none << none << none << "api.example.com" << 443 << true
                           << "policy allow api.example.com" << false;
    QTest::newRow("no rule") << QStringList{"api.example.com"} << none << none << none << "example.com" << 443 << false
                             << "default deny" << false;
    QTest::newRow("wildcard") << QStringList{"*.example.com"} << none << none << none << "a.b.example.com" << 80 << true
                              << "policy allow *.example.com" << false;
    QTest::newRow("wildcard not apex") << QStringList{"*.example.com"} << none << none << none << "example.com" << 80
                                       << false << "default deny" << false;
    QTest::newRow("suffix trick") << QStringList{"*.example.com"} << none << none << none << "evilexample.com" << 80
                                  << false << "default deny" << false;
    QTest::newRow("port match") << QStringList{"api.example.com:443"} << none << none << none << "api.example.com" << 443
                                << true << "policy allow api.example.com:443" << false;
    QTest::newRow("port mismatch") << QStringList{"api.example.com:443"} << none << none << none << "api.example.com"
                                   << 22 << false << "default deny" << false;
    QTest::newRow("deny wins") << QStringList{"*.example.com"} << QStringList{"evil.example.com"} << none << none
                               << "evil.example.com" << 443 << false << "policy deny evil.example.com" << false;
    QTest::newRow("deny wins over exact") << QStringList{"evil.example.com"} << QStringList{"*.example.com"} << none
                                          << none << "evil.example.com" << 443 << false
                                          << "policy deny *.example.com" << false;
    QTest::newRow("deny port") << QStringList{"*"} << QStringList{"*:22"} << none << none << "git.example.com" << 22
                               << false << "policy deny *:22" << false;
    QTest::newRow("deny other port") << QStringList{"*"} << QStringList{"*:22"} << none << none << "git.example.com"
                                     << 443 << true << "policy allow *" << false;
    QTest::newRow("exact preferred") << QStringList{"*", "api.example.com"} << none << none << none << "api.example.com"
                                     << 443 << true << "policy allow api.example.com" << false;
    QTest::newRow("session allow") << none << none << QStringList{"new.example.com"} << none << "new.example.com" << 443
                                   << true << "session allow new.example.com" << false;
    QTest::newRow("session deny beats policy allow")
        << QStringList{"api.example.com"} << none << none << QStringList{"api.example.com"} << "api.example.com" << 443
        << false << "session deny api.example.com" << false;
    QTest::newRow("policy deny beats session allow")
        << none << QStringList{"evil.example.com"} << QStringList{"evil.example.com"} << none << "evil.example.com"
        << 443 << false << "policy deny evil.example.com" << false;
    QTest::newRow("ip literal refused") << QStringList{"*"} << none << none << none << "93.184.216.34" << 80 << false
                                        << "ip literal" << false;
    QTest::newRow("ipv6 literal refused") << QStringList{"*"} << none << none << none << "2606:4700::1" << 80 << false
                                          << "ip literal" << false;
    QTest::newRow("ip literal named") << QStringList{"127.0.0.1:8080"} << none << none << none << "127.0.0.1" << 8080
                                      << true << "policy allow 127.0.0.1:8080" << true;
    QTest::newRow("localhost refused") << QStringList{"*"} << none << none << none << "localhost" << 80 << true
                                       << "policy allow *" << false; // refused at the address step
    QTest::newRow("localhost named") << QStringList{"localhost:3000"} << none << none << none << "localhost" << 3000
                                     << true << "policy allow localhost:3000" << false;
    // Ports: a pattern without a port list opens 443 and 80, and nothing else.
    QTest::newRow("portless opens 80") << QStringList{"api.example.com"} << none << none << none << "api.example.com"
                                       << 80 << true << "policy allow api.example.com" << false;
    QTest::newRow("portless CONNECT to ssh") << QStringList{"api.example.com"} << none << none << none
                                             << "api.example.com" << 22 << false << "default deny" << false;
    QTest::newRow("portless wildcard other port") << QStringList{"*.example.com"} << none << none << none
                                                  << "a.example.com" << 8080 << false << "default deny" << false;
    QTest::newRow("portless star other port") << QStringList{"*"} << none << none << none << "a.example.com" << 6379
                                              << false << "default deny" << false;
    QTest::newRow("session portless other port") << none << none << QStringList{"new.example.com"} << none
                                                 << "new.example.com" << 25 << false << "default deny" << false;
    QTest::newRow("port list") << QStringList{"*.example.com:443,8443"} << none << none << none << "a.example.com"
                               << 8443 << true << "policy allow *.example.com:443,8443" << false;
    QTest::newRow("port list refuses 80") << QStringList{"*.example.com:443,8443"} << none << none << none
                                          << "a.example.com" << 80 << false << "default deny" << false;
    QTest::newRow("every port") << QStringList{"git.example.com:*"} << none << none << none << "git.example.com" << 22
                                << true << "policy allow git.example.com:*" << false;
    QTest::newRow("every port is exact") << QStringList{"*", "git.example.com:*"} << none << none << none
                                         << "git.example.com" << 443 << true << "policy allow git.example.com:*" << false;
    QTest::newRow("portless deny covers every port") << QStringList{"*:*"} << QStringList{"evil.example.com"} << none
                                                     << none << "evil.example.com" << 2222 << false
                                                     << "policy deny evil.example.com" << false;
    QTest::newRow("literal portless other port") << QStringList{"127.0.0.1"} << none << none << none << "127.0.0.1"
                                                 << 6379 << false << "default deny" << false;
    // Metadata names are refused by name too, whatever they resolve to on the proxy's host.
    QTest::newRow("metadata name") << QStringList{"*"} << none << none << none << "metadata.google.internal" << 80
                                   << false << "metadata name" << false;
    QTest::newRow("metadata name exact") << QStringList{"metadata.google.internal"} << none << none << none
                                         << "METADATA.google.internal." << 80 << false << "metadata name" << false;
}

void TestEgressRules::decideName()
{
    QFETCH(QStringList, allow);
    QFETCH(QStringList, deny);
    QFETCH(QStringList, sessionAllow);
    QFETCH(QStringList, sessionDeny);
    QFETCH(QString, host);
    QFETCH(int, port);
    QFETCH(bool, allowed);
    QFETCH(QString, rule);
    QFETCH(bool, named);
    Rules rules;
    rules.network.allow = allow;
    rules.network.deny = deny;
    rules.sessionAllow = sessionAllow;
    rules.sessionDeny = sessionDeny;
    const auto normalized = normalizeHost(host);
    QVERIFY(normalized);
    const Decision d = decide(rules, *normalized, quint16(port));
    QCOMPARE(d.allowed(), allowed);
    QCOMPARE(d.rule, rule);
    QCOMPARE(d.named, named);
    QVERIFY(d.reason.contains(*normalized));
}

void TestEgressRules::closedPortSaysSo()
{
    Rules rules;
    rules.network.allow = {QStringLiteral("api.example.com")};
    const Decision d = decide(rules, QStringLiteral("api.example.com"), 22);
    QVERIFY(!d.allowed());
    QVERIFY2(d.reason.contains(QLatin1String("other ports")), qPrintable(d.reason));
    rules.network.allowAddressClasses = {QStringLiteral("metadata")};
    QVERIFY(!decide(rules, QStringLiteral("metadata.google.internal"), 80).allowed()); // still needs an allow
    rules.network.allow << QStringLiteral("metadata.google.internal");
    QVERIFY(decide(rules, QStringLiteral("metadata.google.internal"), 80).allowed());
}

void TestEgressRules::addressStep_data()
{
    QTest::addColumn<QString>("allow");
    QTest::addColumn<QString>("host");
    QTest::addColumn<QStringList>("addresses");
    QTest::addColumn<bool>("allowed");
    QTest::addColumn<QString>("rule");
    QTest::addColumn<QStringList>("classes");
    QTest::newRow("public") << "*.example.com" << "a.example.com" << QStringList{"93.184.216.34"} << true
                            << "policy allow *.example.com" << QStringList{};
    QTest::newRow("resolves to loopback") << "*.example.com" << "a.example.com" << QStringList{"127.0.0.1"} << false
                                          << "address 127.0.0.1 (loopback)" << QStringList{};
    QTest::newRow("resolves to metadata") << "*.example.com" << "a.example.com" << QStringList{"169.254.169.254"}
                                          << false << "address 169.254.169.254 (cloud metadata)" << QStringList{};
    QTest::newRow("one bad among good") << "*.example.com" << "a.example.com"
                                        << QStringList{"93.184.216.34", "10.0.0.7"} << false
                                        << "address 10.0.0.7 (private)" << QStringList{};
    QTest::newRow("mapped loopback") << "*.example.com" << "a.example.com" << QStringList{"::ffff:127.0.0.1"} << false
                                     << "address ::ffff:127.0.0.1 (loopback)" << QStringList{};
    // An exactly allowed name is held to the address classes like any other.
    QTest::newRow("exact name private") << "intranet.example.com" << "intranet.example.com" << QStringList{"10.0.0.7"}
                                        << false << "address 10.0.0.7 (private)" << QStringList{};
    QTest::newRow("exact name private allowed") << "intranet.example.com" << "intranet.example.com"
                                                << QStringList{"10.0.0.7"} << true
                                                << "policy allow intranet.example.com" << QStringList{"private"};
    QTest::newRow("exact name loopback") << "localhost:443" << "localhost" << QStringList{"127.0.0.1", "::1"} << false
                                         << "address 127.0.0.1 (loopback)" << QStringList{};
    QTest::newRow("other class does not open") << "db.example.com" << "db.example.com" << QStringList{"127.0.0.2"}
                                               << false << "address 127.0.0.2 (loopback)" << QStringList{"private"};
    QTest::newRow("metadata behind exact name") << "meta.example.com" << "meta.example.com"
                                                << QStringList{"169.254.169.254"} << false
                                                << "address 169.254.169.254 (cloud metadata)"
                                                << QStringList{"link-local"};
    QTest::newRow("aws v6 metadata") << "*.example.com" << "a.example.com" << QStringList{"fd00:ec2::254"} << false
                                     << "address fd00:ec2::254 (cloud metadata)" << QStringList{"private"};
    QTest::newRow("nat64 loopback") << "a.example.com" << "a.example.com" << QStringList{"64:ff9b::7f00:1"} << false
                                    << "address 64:ff9b::7f00:1 (loopback)" << QStringList{};
    QTest::newRow("cgnat") << "a.example.com" << "a.example.com" << QStringList{"100.64.1.1"} << false
                           << "address 100.64.1.1 (shared (CGNAT))" << QStringList{};
    QTest::newRow("cgnat allowed") << "a.example.com" << "a.example.com" << QStringList{"100.64.1.1"} << true
                                   << "policy allow a.example.com" << QStringList{"cgnat"};
    QTest::newRow("unspecified") << "a.example.com" << "a.example.com" << QStringList{"0.0.0.0"} << false
                                 << "address 0.0.0.0 (unspecified)" << QStringList{"loopback"};
    QTest::newRow("multicast v6") << "a.example.com" << "a.example.com" << QStringList{"ff02::1"} << false
                                  << "address ff02::1 (multicast)" << QStringList{};
    QTest::newRow("no address") << "*.example.com" << "a.example.com" << QStringList{} << false << "no address" << QStringList{};
}

void TestEgressRules::addressStep()
{
    QFETCH(QString, allow);
    QFETCH(QString, host);
    QFETCH(QStringList, addresses);
    QFETCH(bool, allowed);
    QFETCH(QString, rule);
    QFETCH(QStringList, classes);
    Rules rules;
    rules.network.allow = {allow};
    rules.network.allowAddressClasses = classes;
    const Decision name = decide(rules, host, 443);
    QVERIFY(name.allowed());
    QList<QHostAddress> list;
    for (const QString &a : addresses)
        list << QHostAddress(a);
    const Decision d = checkAddresses(name, rules, host, list);
    QCOMPARE(d.allowed(), allowed);
    QCOMPARE(d.rule, rule);
}

void TestEgressRules::runtimeRules()
{
    SessionTable table;
    RuntimeRule r;
    r.session = QStringLiteral("s1");
    r.pattern = QStringLiteral("x.example.com");
    r.verdict = Verdict::Allow;
    QVERIFY(!table.addRule(r)); // unknown session
    table.setPolicy(QStringLiteral("s1"), policy::Policy{});
    QVERIFY(table.addRule(r));
    QVERIFY(!table.addRule(r)); // nothing changed
    auto state = table.get(QStringLiteral("s1"));
    QCOMPARE(state->rules.sessionAllow, QStringList{QStringLiteral("x.example.com")});
    QVERIFY(decide(state->rules, QStringLiteral("x.example.com"), 443).allowed());

    // A later verdict for the same pattern replaces the earlier one.
    r.verdict = Verdict::Deny;
    QVERIFY(table.addRule(r));
    state = table.get(QStringLiteral("s1"));
    QVERIFY(state->rules.sessionAllow.isEmpty());
    QCOMPARE(state->rules.sessionDeny, QStringList{QStringLiteral("x.example.com")});
    QCOMPARE(state->runtime.size(), 1);

    // Runtime rules survive a policy change; the old snapshot is untouched.
    policy::Policy p;
    p.network.allow = {QStringLiteral("*.example.com")};
    table.setPolicy(QStringLiteral("s1"), p);
    const auto next = table.get(QStringLiteral("s1"));
    QCOMPARE(next->runtime.size(), 1);
    QVERIFY(!decide(next->rules, QStringLiteral("x.example.com"), 443).allowed());
    QVERIFY(decide(next->rules, QStringLiteral("y.example.com"), 443).allowed());
    QVERIFY(state->rules.network.allow.isEmpty());
    table.remove(QStringLiteral("s1"));
    QVERIFY(!table.get(QStringLiteral("s1")));
}

void TestEgressRules::recordRoundTrip()
{
    EgressRecord r;
    r.id = 7;
    r.session = QStringLiteral("s1");
    r.method = QStringLiteral("CONNECT");
    r.host = QStringLiteral("api.example.com");
    r.port = 443;
    r.route = Route::Connect;
    r.decision = Verdict::Allow;
    r.rule = QStringLiteral("policy allow api.example.com");
    r.reason = QStringLiteral("allowed");
    r.address = QStringLiteral("93.184.216.34");
    r.status = 200;
    r.secret = QStringLiteral("anthropic");
    r.bytesUp = 123;
    r.bytesDown = 4567;
    r.started = 1700000000000;
    r.durationMs = 42;
    store::Event e;
    e.session = r.session;
    e.kind = QString::fromLatin1(kinds::Connection);
    e.payload = r.toJson();
    e.time = r.started;
    const auto back = EgressRecord::fromEvent(e);
    QVERIFY(back);
    QCOMPARE(back->toJson(), r.toJson());
    QCOMPARE(back->session, r.session);
    e.kind = QStringLiteral("session.state");
    QVERIFY(!EgressRecord::fromEvent(e));
    e.kind = QString::fromLatin1(kinds::Connection);
    e.payload.remove(QStringLiteral("decision"));
    QVERIFY(!EgressRecord::fromEvent(e));
}

void TestEgressRules::ruleEvents_data()
{
    QTest::addColumn<QString>("session");
    QTest::addColumn<QByteArray>("payload");
    QTest::addColumn<bool>("valid");
    QTest::newRow("allow") << "s1" << QByteArray(R"({"verdict":"allow","pattern":"API.example.com:443"})") << true;
    QTest::newRow("deny wildcard") << "s1" << QByteArray(R"({"verdict":"deny","pattern":"*.example.com"})") << true;
    QTest::newRow("no session") << "" << QByteArray(R"({"verdict":"allow","pattern":"a.com"})") << false;
    QTest::newRow("bad verdict") << "s1" << QByteArray(R"({"verdict":"ask","pattern":"a.com"})") << false;
    QTest::newRow("bad pattern") << "s1" << QByteArray(R"({"verdict":"allow","pattern":"a.com/x"})") << false;
    QTest::newRow("bad port") << "s1" << QByteArray(R"({"verdict":"allow","pattern":"a.com:0"})") << false;
    QTest::newRow("pattern not string") << "s1" << QByteArray(R"({"verdict":"allow","pattern":5})") << false;
    QTest::newRow("empty") << "s1" << QByteArray("{}") << false;
}

void TestEgressRules::ruleEvents()
{
    QFETCH(QString, session);
    QFETCH(QByteArray, payload);
    QFETCH(bool, valid);
    store::Event e;
    e.seq = 3;
    e.session = session;
    e.kind = QString::fromLatin1(kinds::Rule);
    e.payload = QJsonDocument::fromJson(payload).object();
    const auto rule = RuntimeRule::fromEvent(e);
    QCOMPARE(rule.has_value(), valid);
    if (valid) {
        QCOMPARE(rule->pattern, rule->pattern.toLower());
        QCOMPARE(RuntimeRule::fromEvent(store::Event{1, session, e.kind, rule->toJson(), 0})->pattern, rule->pattern);
    } else {
        QVERIFY(!rule.error().message.isEmpty());
    }
}

QTEST_GUILESS_MAIN(TestEgressRules)
#include "tst_egress_rules.moc"
