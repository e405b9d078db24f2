// airlockctl's egress commands as a user runs them, and the path from `egress allow` in another
// process to a running proxy's next decision.
#include "egresstestutil.h"
#include "testutil.h"

#include "store/storereader.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSignalSpy>
#include <QTest>

using namespace airlock;
using namespace airlock::egress;
using namespace airlock::egress::test;

class TestEgressCli : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_db;
    std::unique_ptr<store::EventStore> m_store;

    airlock::test::Run ctl(const QStringList &args)
    {
        return airlock::test::run(QStringLiteral(AIRLOCKCTL_PATH), QStringList{QStringLiteral("--db"), m_db} + args);
    }

    void appendRecord(const QString &session, Verdict decision, const QString &host)
    {
        EgressRecord r;
        r.id = 1;
        r.method = QStringLiteral("GET");
        r.host = host;
        r.port = 443;
        r.decision = decision;
        r.rule = decision == Verdict::Allow ? QStringLiteral("policy allow ") + host : QStringLiteral("default deny");
        r.status = decision == Verdict::Allow ? 200 : 403;
        r.bytesUp = 120;
        r.bytesDown = 20480;
        QVERIFY(m_store->append(session, QString::fromLatin1(kinds::Connection), r.toJson()));
        QVERIFY(m_store->flush());
    }

private Q_SLOTS:
    void initTestCase()
    {
        m_db = m_dir.filePath(QStringLiteral("cli.db"));
        auto opened = store::EventStore::open(m_db);
        QVERIFY(opened);
        m_store = std::move(*opened);
        for (const char *id : {"s1", "s2"})
            QVERIFY(m_store->append(QString::fromLatin1(id), QStringLiteral("session.created"), {}));
        QVERIFY(m_store->flush());
    }

    void allowAndDenyRecordRules()
    {
        auto r = ctl({QStringLiteral("egress"), QStringLiteral("allow"), QStringLiteral("API.Example.com:443"),
                      QStringLiteral("--session"), QStringLiteral("s1"), QStringLiteral("--note"), QStringLiteral("docs")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY(r.out.contains("allow api.example.com:443 for session s1"));
        r = ctl({QStringLiteral("egress"), QStringLiteral("deny"), QStringLiteral("*.evil.example"), QStringLiteral("--session"),
                 QStringLiteral("s1")});
        QVERIFY2(r.exitCode == 0, r.err.constData());

        auto reader = store::StoreReader::open(m_db);
        QVERIFY(reader);
        auto events = reader->events(store::EventQuery{QStringLiteral("s1"), 0, 100, false, {}, 0});
        QVERIFY(events);
        QList<RuntimeRule> rules;
        for (const store::Event &e : std::as_const(*events)) {
            if (auto rule = RuntimeRule::fromEvent(e))
                rules << *rule;
        }
        QCOMPARE(rules.size(), 2);
        QCOMPARE(rules.at(0).verdict, Verdict::Allow);
        QCOMPARE(rules.at(0).pattern, QStringLiteral("api.example.com:443"));
        QCOMPARE(rules.at(0).origin, QStringLiteral("airlockctl"));
        QCOMPARE(rules.at(0).note, QStringLiteral("docs"));
        QCOMPARE(rules.at(1).verdict, Verdict::Deny);
    }

    void ruleErrors_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QByteArray>("message");
        QTest::newRow("no session") << QStringList{"allow", "a.example"} << 2 << QByteArray("needs --session");
        QTest::newRow("no host") << QStringList{"allow", "--session", "s1"} << 2 << QByteArray("needs one HOST");
        QTest::newRow("bad pattern") << QStringList{"deny", "a.example/x", "--session", "s1"} << 2 << QByteArray("not a domain pattern");
        QTest::newRow("bad port") << QStringList{"deny", "a.example:99999", "--session", "s1"} << 2 << QByteArray("port");
        QTest::newRow("unknown session") << QStringList{"allow", "a.example", "--session", "nope"} << 1 << QByteArray("no session nope");
        QTest::newRow("bad session id") << QStringList{"allow", "a.example", "--session", "a b"} << 2 << QByteArray("not a session id");
        QTest::newRow("unknown verb") << QStringList{"permit", "a.example"} << 2 << QByteArray("unknown command");
    }

    void ruleErrors()
    {
        QFETCH(QStringList, args);
        QFETCH(int, exitCode);
        QFETCH(QByteArray, message);
        const auto r = ctl(QStringList{QStringLiteral("egress")} + args);
        QCOMPARE(r.exitCode, exitCode);
        QVERIFY2(r.err.contains(message), r.err.constData());
        if (!message.startsWith("unknown"))
            QCOMPARE(r.err.count('\n'), 1); // one line (an unknown verb also gets the usage)
    }

    void tailPrintsOnlyEgress()
    {
        appendRecord(QStringLiteral("s1"), Verdict::Allow, QStringLiteral("api.example.com"));
        appendRecord(QStringLiteral("s2"), Verdict::Deny, QStringLiteral("evil.example"));
        QVERIFY(m_store->append(QStringLiteral("s1"), QStringLiteral("session.state"), {{QStringLiteral("state"), QStringLiteral("running")}}));
        QVERIFY(m_store->flush());

        auto r = ctl({QStringLiteral("egress"), QStringLiteral("tail"), QStringLiteral("--no-follow"), QStringLiteral("--json")});
        QCOMPARE(r.exitCode, 0);
        const QList<QByteArray> lines = r.out.trimmed().split('\n');
        QCOMPARE(lines.size(), 4); // two rules, two connections; never the session.state
        for (const QByteArray &line : lines) {
            const QJsonObject o = QJsonDocument::fromJson(line).object();
            QVERIFY(o.value(QStringLiteral("kind")).toString().startsWith(QStringLiteral("egress.")));
        }
        r = ctl({QStringLiteral("egress"), QStringLiteral("tail"), QStringLiteral("--no-follow"), QStringLiteral("--session"),
                 QStringLiteral("s2")});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.out.count('\n'), 1);
        QVERIFY(r.out.contains("s2  DENY   GET evil.example:443  403"));
        QVERIFY(r.out.contains("default deny"));
        r = ctl({QStringLiteral("egress"), QStringLiteral("tail"), QStringLiteral("--no-follow"), QStringLiteral("-n"),
                 QStringLiteral("1")});
        QCOMPARE(r.out.count('\n'), 1);
        QVERIFY(r.out.contains("evil.example"));
    }

    void tailFollows()
    {
        QProcess p;
        p.start(QStringLiteral(AIRLOCKCTL_PATH), {QStringLiteral("--db"), m_db, QStringLiteral("egress"), QStringLiteral("tail"),
                                                  QStringLiteral("--session"), QStringLiteral("s1"), QStringLiteral("-n"),
                                                  QStringLiteral("1"), QStringLiteral("--json")});
        QVERIFY(p.waitForStarted());
        QByteArray out;
        // The backlog is printed after the follow point is taken: once it is out, nothing is missed.
        QVERIFY(QTest::qWaitFor([&] {
            out += p.readAllStandardOutput();
            return out.contains("api.example.com");
        }, 10000));
        appendRecord(QStringLiteral("s2"), Verdict::Allow, QStringLiteral("not-this-session.example"));
        appendRecord(QStringLiteral("s1"), Verdict::Allow, QStringLiteral("followed.example"));
        QVERIFY(QTest::qWaitFor([&] {
            out += p.readAllStandardOutput();
            return out.contains("followed.example");
        }, 10000));
        QVERIFY(!out.contains("not-this-session"));
        p.terminate();
        QVERIFY(p.waitForFinished(5000));
        QCOMPARE(p.exitCode(), 0);
    }

    void runningProxyPicksUpCliRule()
    {
        Upstream up;
        QVERIFY(up.listen());
        ProxyFixture fx;
        fx.session = QStringLiteral("s2");
        fx.resolver->add(QStringLiteral("api.test"), {QHostAddress(QHostAddress::LocalHost)});
        // The fixture's store is a second writer on the CLI's database.
        QVERIFY(fx.dir.isValid());
        auto opened = store::EventStore::open(m_db);
        QVERIFY(opened);
        fx.store = std::move(*opened);
        ProxyOptions options;
        options.store = fx.store.get();
        options.resolver = fx.resolver;
        fx.proxy = std::make_unique<EgressProxy>(options);
        QVERIFY(fx.proxy->addSandbox({QStringLiteral("s2"), fx.socketPath(QStringLiteral("s2")), proxyPolicy({})}));
        const QByteArray req = get(QStringLiteral("http://api.test:%1/").arg(up.port()));
        QCOMPARE(request(fx.socketPath(QStringLiteral("s2")), req)->status, 403);

        QSignalSpy added(fx.proxy.get(), &EgressProxy::ruleAdded);
        const auto r = ctl({QStringLiteral("egress"), QStringLiteral("allow"), QStringLiteral("api.test:*"),
                            QStringLiteral("--session"), QStringLiteral("s2")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY(added.wait(5000));
        QCOMPARE(request(fx.socketPath(QStringLiteral("s2")), req)->status, 200);
    }
};

QTEST_GUILESS_MAIN(TestEgressCli)
#include "tst_egress_cli.moc"
