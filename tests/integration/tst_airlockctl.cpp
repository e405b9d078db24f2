// airlockctl as a user or a script runs it: exit statuses, one-line errors, JSON output, --follow.
#include "store/eventstore.h"
#include "testutil.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

using namespace airlock;

class TestAirlockctl : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_db;

    test::Run ctl(QStringList args, int timeoutMs = 30000)
    {
        return test::run(QStringLiteral(AIRLOCKCTL_PATH), QStringList{QStringLiteral("--db"), m_db} + args, timeoutMs);
    }

private Q_SLOTS:
    void initTestCase() { m_db = m_dir.filePath(QStringLiteral("cli.db")); }

    void emptyStoreListsNothing()
    {
        auto r = ctl({QStringLiteral("sessions"), QStringLiteral("list"), QStringLiteral("--json")});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(QJsonDocument::fromJson(r.out).array().size(), 0);
        r = ctl({QStringLiteral("sessions"), QStringLiteral("list")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains("No sessions"));
    }

    void appendListAndTail()
    {
        for (const auto &[id, title] : {std::pair{"s1", "Fix flaky test"}, std::pair{"s2", "Upgrade deps"}}) {
            auto r = ctl({QStringLiteral("events"), QStringLiteral("append"), QStringLiteral("--kind"),
                          QStringLiteral("session.created"), QStringLiteral("--session"), QString::fromLatin1(id),
                          QStringLiteral("--payload"),
                          QStringLiteral("{\"title\":\"%1\",\"policy\":\"standard\"}").arg(QString::fromLatin1(title))});
            QVERIFY2(r.exitCode == 0, r.err.constData());
        }
        auto r = ctl({QStringLiteral("sessions"), QStringLiteral("list"), QStringLiteral("--json")});
        QCOMPARE(r.exitCode, 0);
        const QJsonArray sessions = QJsonDocument::fromJson(r.out).array();
        QCOMPARE(sessions.size(), 2);
        QCOMPARE(sessions.at(0)[QStringLiteral("id")].toString(), QStringLiteral("s1"));
        QCOMPARE(sessions.at(1)[QStringLiteral("title")].toString(), QStringLiteral("Upgrade deps"));
        QCOMPARE(sessions.at(1)[QStringLiteral("state")].toString(), QStringLiteral("created"));

        r = ctl({QStringLiteral("sessions"), QStringLiteral("list")});
        QVERIFY(r.out.contains("Fix flaky test"));
        QVERIFY(r.out.startsWith("ID"));

        r = ctl({QStringLiteral("events"), QStringLiteral("tail"), QStringLiteral("--session"), QStringLiteral("s2"),
                 QStringLiteral("--json")});
        QCOMPARE(r.exitCode, 0);
        const QList<QByteArray> lines = r.out.trimmed().split('\n');
        QCOMPARE(lines.size(), 1);
        const QJsonObject e = QJsonDocument::fromJson(lines.first()).object();
        QCOMPARE(e[QStringLiteral("seq")].toInt(), 2);
        QCOMPARE(e[QStringLiteral("kind")].toString(), QStringLiteral("session.created"));
        QCOMPARE(e[QStringLiteral("payload")][QStringLiteral("title")].toString(), QStringLiteral("Upgrade deps"));

        r = ctl({QStringLiteral("events"), QStringLiteral("tail"), QStringLiteral("-n"), QStringLiteral("1")});
        QCOMPARE(r.out.trimmed().split('\n').size(), 1);
        QVERIFY(r.out.contains("s2"));
    }

    void followSeesOtherProcesses()
    {
        QProcess follow;
        follow.start(QStringLiteral(AIRLOCKCTL_PATH), {QStringLiteral("--db"), m_db, QStringLiteral("events"),
                                                       QStringLiteral("tail"), QStringLiteral("--follow"),
                                                       QStringLiteral("--json"), QStringLiteral("-n"), QStringLiteral("1")});
        QVERIFY(follow.waitForStarted());
        QByteArray got;
        auto waitForLines = [&](int n) {
            while (got.count('\n') < n) {
                if (!follow.waitForReadyRead(20000))
                    return false;
                got += follow.readAllStandardOutput();
            }
            return true;
        };
        // The backlog line says the follower is reading; only then does the other process append.
        QVERIFY2(waitForLines(1), follow.readAllStandardError().constData());
        auto r = ctl({QStringLiteral("events"), QStringLiteral("append"), QStringLiteral("--kind"),
                      QStringLiteral("session.state"), QStringLiteral("--session"), QStringLiteral("s1"),
                      QStringLiteral("--payload"), QStringLiteral("{\"state\":\"running\"}")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(waitForLines(2), follow.readAllStandardError().constData());
        const QList<QByteArray> lines = got.split('\n');
        const QJsonObject e = QJsonDocument::fromJson(lines.at(1)).object();
        QCOMPARE(e[QStringLiteral("kind")].toString(), QStringLiteral("session.state"));
        QCOMPARE(e[QStringLiteral("session")].toString(), QStringLiteral("s1"));
        QCOMPARE(e[QStringLiteral("seq")].toInt(), QJsonDocument::fromJson(lines.at(0)).object()[QStringLiteral("seq")].toInt() + 1);
        follow.terminate(); // SIGTERM ends --follow cleanly
        QVERIFY(follow.waitForFinished(10000));
        QCOMPARE(follow.exitStatus(), QProcess::NormalExit);
        QCOMPARE(follow.exitCode(), 0);
    }

    void dbCheck()
    {
        auto r = ctl({QStringLiteral("db"), QStringLiteral("check"), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonObject report = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(report[QStringLiteral("ok")].toBool(), true);
        QCOMPARE(report[QStringLiteral("journalMode")].toString(), QStringLiteral("wal"));
        QVERIFY(report[QStringLiteral("seqContiguous")].toBool());
        QCOMPARE(report[QStringLiteral("path")].toString(), m_db);
        r = ctl({QStringLiteral("db"), QStringLiteral("check")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains("integrity  ok"));
    }

    // ladder measure/show on the bare host only (the rungs themselves are tst_ladder's): a wrong rung is a
    // usage error, nothing measured says so, and what was measured is kept.
    void ladder()
    {
        auto r = ctl({QStringLiteral("ladder"), QStringLiteral("show")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains("nothing measured yet"), r.err.constData());
        r = ctl({QStringLiteral("ladder"), QStringLiteral("measure"), QStringLiteral("--rungs"), QStringLiteral("host,vm")});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains("unknown rung \"vm\""), r.err.constData());
        r = ctl({QStringLiteral("ladder"), QStringLiteral("measure"), QStringLiteral("--rungs"), QStringLiteral("host"),
                 QStringLiteral("--quick"), QStringLiteral("--json")},
                120000);
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonObject measured = QJsonDocument::fromJson(r.out).object();
        const QJsonArray rungs = measured[QStringLiteral("rungs")].toArray();
        QCOMPARE(rungs.size(), 1);
        QCOMPARE(rungs.at(0)[QStringLiteral("rung")].toString(), QStringLiteral("host"));
        QCOMPARE(rungs.at(0)[QStringLiteral("medianMs")].toObject().size(), 4);
        r = ctl({QStringLiteral("ladder"), QStringLiteral("show"), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QCOMPARE(QJsonDocument::fromJson(r.out).object(), measured);
        r = ctl({QStringLiteral("ladder"), QStringLiteral("show")});
        QVERIFY2(r.out.contains("cold start") && r.out.contains("bare host"), r.out.constData());
    }

    void environmentSelectsDatabase()
    {
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("AIRLOCK_DB"), m_db);
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(AIRLOCKCTL_PATH), {QStringLiteral("db"), QStringLiteral("path")});
        QVERIFY(p.waitForFinished());
        QCOMPARE(p.readAllStandardOutput().trimmed(), m_db.toUtf8());
    }

    void errors_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<int>("status");
        QTest::addColumn<QString>("message");
        QTest::newRow("no command") << QStringList{} << 2 << "no command given";
        QTest::newRow("unknown command") << QStringList{"frobnicate", "now"} << 2 << "unknown command";
        QTest::newRow("unknown option") << QStringList{"sessions", "list", "--bogus"} << 2 << "Unknown option";
        QTest::newRow("bad kind") << QStringList{"events", "append", "--kind", "Bad Kind"} << 2 << "not an event kind";
        QTest::newRow("missing kind") << QStringList{"events", "append"} << 2 << "needs --kind";
        QTest::newRow("payload not json") << QStringList{"events", "append", "--kind", "a.b", "--payload", "{nope"} << 2
                                          << "not valid JSON";
        QTest::newRow("payload not object") << QStringList{"events", "append", "--kind", "a.b", "--payload", "[1]"} << 2
                                            << "must be a JSON object";
        QTest::newRow("bad line count") << QStringList{"events", "tail", "-n", "many"} << 2 << "-n takes a number";
        QTest::newRow("bad session id") << QStringList{"events", "tail", "--session", "../x"} << 2 << "not a session id";
    }

    void errors()
    {
        QFETCH(QStringList, args);
        QFETCH(int, status);
        QFETCH(QString, message);
        auto r = ctl(args);
        QCOMPARE(r.exitCode, status);
        const QList<QByteArray> errLines = r.err.trimmed().split('\n');
        QVERIFY2(errLines.last().startsWith("airlockctl: "), r.err.constData());
        QVERIFY2(errLines.last().contains(message.toUtf8()), r.err.constData());
    }

    void badDatabaseFile()
    {
        const QString garbage = m_dir.filePath(QStringLiteral("notes.txt"));
        QFile f(garbage);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("shopping list\n");
        f.close();
        const QByteArray before = test::fileHash(garbage);
        for (const QStringList &cmd : {QStringList{"sessions", "list"}, QStringList{"db", "check"},
                                       QStringList{"events", "append", "--kind", "a.b"}}) {
            auto r = test::run(QStringLiteral(AIRLOCKCTL_PATH), QStringList{QStringLiteral("--db"), garbage} + cmd);
            QCOMPARE(r.exitCode, 1);
            QCOMPARE(r.err.count('\n'), 1); // one line
            QVERIFY(r.err.contains(garbage.toUtf8()));
            QVERIFY(r.err.contains("not an Airlock database"));
        }
        QCOMPARE(test::fileHash(garbage), before);
    }
};

QTEST_GUILESS_MAIN(TestAirlockctl)
#include "tst_airlockctl.moc"
