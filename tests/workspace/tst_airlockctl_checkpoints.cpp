// airlockctl checkpoints … and session-io …, as a user or a script runs them.
#include "workspacetestutil.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

using namespace airlock;
using airlock::test::put;

class TestAirlockctlCheckpoints : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_db;
    QString m_ws;

    test::Run ctl(const QStringList &args)
    {
        return test::run(QStringLiteral(AIRLOCKCTL_PATH), QStringList{QStringLiteral("--db"), m_db} + args);
    }

    QJsonValue json(const test::Run &r)
    {
        const QJsonDocument d = QJsonDocument::fromJson(r.out);
        return d.isArray() ? QJsonValue(d.array()) : QJsonValue(d.object());
    }

private Q_SLOTS:
    void initTestCase()
    {
        m_db = m_dir.filePath(QStringLiteral("cli.db"));
        m_ws = m_dir.filePath(QStringLiteral("ws"));
        QVERIFY(QDir().mkpath(m_ws));
        auto r = ctl({QStringLiteral("events"), QStringLiteral("append"), QStringLiteral("--kind"), QStringLiteral("session.created"),
                      QStringLiteral("--session"), QStringLiteral("s1"), QStringLiteral("--payload"),
                      QStringLiteral("{\"title\":\"CLI\",\"workspace\":\"%1\"}").arg(m_ws)});
        QVERIFY2(r.exitCode == 0, r.err.constData());
    }

    void createListDiffRewindFork()
    {
        QVERIFY(put(m_ws + QStringLiteral("/a.txt"), "one\n"));
        auto r = ctl({QStringLiteral("checkpoints"), QStringLiteral("create"), QStringLiteral("--session"), QStringLiteral("s1"),
                      QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonObject first = json(r).toObject();
        QVERIFY(first[QStringLiteral("created")].toBool());
        const QString c1 = first[QStringLiteral("commit")].toString();
        QCOMPARE(c1.size(), 40);

        r = ctl({QStringLiteral("checkpoints"), QStringLiteral("create"), QStringLiteral("--session"), QStringLiteral("s1")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.startsWith(QByteArray("no changes since checkpoint " + c1.left(8).toLatin1())), r.out.constData());

        QVERIFY(put(m_ws + QStringLiteral("/a.txt"), "one\ntwo\n"));
        r = ctl({QStringLiteral("checkpoints"), QStringLiteral("create"), QStringLiteral("--session"), QStringLiteral("s1"),
                 QStringLiteral("--label"), QStringLiteral("second")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.contains("1 file +1 -0"), r.out.constData());

        r = ctl({QStringLiteral("checkpoints"), QStringLiteral("list"), QStringLiteral("--session"), QStringLiteral("s1"), QStringLiteral("--json")});
        QCOMPARE(r.exitCode, 0);
        const QJsonArray list = json(r).toArray();
        QCOMPARE(list.size(), 2);
        QCOMPARE(list.at(0)[QStringLiteral("commit")].toString(), c1);
        QCOMPARE(list.at(1)[QStringLiteral("parentNode")][QStringLiteral("commit")].toString(), c1);
        QCOMPARE(list.at(1)[QStringLiteral("label")].toString(), QStringLiteral("second"));
        const QString c2 = list.at(1)[QStringLiteral("commit")].toString();

        r = ctl({QStringLiteral("checkpoints"), QStringLiteral("list"), QStringLiteral("--session"), QStringLiteral("s1")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains(QByteArray("* " + c1.left(8).toLatin1())));
        QVERIFY(r.out.contains("on demand"));

        r = ctl({QStringLiteral("checkpoints"), QStringLiteral("diff"), QStringLiteral("--session"), QStringLiteral("s1"), c2.left(8)});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains("diff --git a/a.txt b/a.txt"));
        QVERIFY(r.out.contains("\n+two\n"));
        r = ctl({QStringLiteral("checkpoints"), QStringLiteral("diff"), QStringLiteral("--session"), QStringLiteral("s1"), QStringLiteral("latest"),
                 QStringLiteral("--stat")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.contains("M  +1 -0"), r.out.constData());
        r = ctl({QStringLiteral("checkpoints"), QStringLiteral("diff"), QStringLiteral("--session"), QStringLiteral("s1"), c1.left(8),
                 QStringLiteral("--against"), c2.left(8), QStringLiteral("--json")});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(json(r).toObject()[QStringLiteral("linesRemoved")].toInt(), 1);

        r = ctl({QStringLiteral("checkpoints"), QStringLiteral("rewind"), QStringLiteral("--session"), QStringLiteral("s1"), c1.left(8),
                 QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QCOMPARE(json(r).toObject()[QStringLiteral("safety")].toString(), c2);
        QCOMPARE(test::slurp(m_ws + QStringLiteral("/a.txt")), QByteArray("one\n"));

        const QString into = m_dir.filePath(QStringLiteral("forked"));
        r = ctl({QStringLiteral("checkpoints"), QStringLiteral("fork"), QStringLiteral("--session"), QStringLiteral("s1"), c2.left(8),
                 QStringLiteral("--into"), into, QStringLiteral("--as"), QStringLiteral("s2")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY(r.out.contains(QByteArray("as s2 in " + into.toUtf8())));
        QCOMPARE(test::slurp(into + QStringLiteral("/a.txt")), QByteArray("one\ntwo\n"));
        r = ctl({QStringLiteral("sessions"), QStringLiteral("list"), QStringLiteral("--json")});
        QCOMPARE(json(r).toArray().at(1)[QStringLiteral("parent")].toString(), QStringLiteral("s1"));
        r = ctl({QStringLiteral("checkpoints"), QStringLiteral("list"), QStringLiteral("--session"), QStringLiteral("s2")});
        QVERIFY2(r.out.contains("[s1]"), r.out.constData());
        QVERIFY(r.out.contains("forked from s1"));
    }

    void usageErrors_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<int>("status");
        QTest::addColumn<QByteArray>("needle");
        const QString s = QStringLiteral("--session");
        QTest::newRow("no session") << QStringList{QStringLiteral("checkpoints"), QStringLiteral("list")} << 2 << QByteArray("needs --session");
        QTest::newRow("unknown session") << QStringList{QStringLiteral("checkpoints"), QStringLiteral("list"), s, QStringLiteral("zz")} << 1
                                         << QByteArray("no session zz");
        QTest::newRow("no checkpoint") << QStringList{QStringLiteral("checkpoints"), QStringLiteral("rewind"), s, QStringLiteral("s1")} << 2
                                       << QByteArray("needs one checkpoint");
        QTest::newRow("bad checkpoint") << QStringList{QStringLiteral("checkpoints"), QStringLiteral("diff"), s, QStringLiteral("s1"), QStringLiteral("xyz!")}
                                        << 2 << QByteArray("is not a checkpoint");
        QTest::newRow("fork needs a place") << QStringList{QStringLiteral("checkpoints"), QStringLiteral("fork"), s, QStringLiteral("s1"), QStringLiteral("latest")}
                                            << 2 << QByteArray("--into DIR or --in-place");
        QTest::newRow("unknown verb") << QStringList{QStringLiteral("checkpoints"), QStringLiteral("explode")} << 2 << QByteArray("unknown command");
        QTest::newRow("import missing file") << QStringList{QStringLiteral("session-io"), QStringLiteral("import"), QStringLiteral("/nonexistent.json")} << 1
                                             << QByteArray("cannot read");
        QTest::newRow("export without session") << QStringList{QStringLiteral("session-io"), QStringLiteral("export")} << 2 << QByteArray("needs --session");
    }

    void usageErrors()
    {
        QFETCH(QStringList, args);
        QFETCH(int, status);
        QFETCH(QByteArray, needle);
        const auto r = ctl(args);
        QCOMPARE(r.exitCode, status);
        // The error is one line, last (an unknown command prints the usage before it).
        const QByteArray last = r.err.trimmed().split('\n').last();
        QVERIFY2(last.startsWith("airlockctl: ") && last.contains(needle), r.err.constData());
    }

    void exportAndImport()
    {
        const QString file = m_dir.filePath(QStringLiteral("s1.json"));
        auto r = ctl({QStringLiteral("session-io"), QStringLiteral("export"), QStringLiteral("--session"), QStringLiteral("s1"),
                      QStringLiteral("-o"), file});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QCOMPARE(QJsonDocument::fromJson(test::slurp(file)).object()[QStringLiteral("format")].toString(), QStringLiteral("airlock-session"));
        r = ctl({QStringLiteral("session-io"), QStringLiteral("export"), QStringLiteral("--session"), QStringLiteral("s1"), QStringLiteral("--markdown")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.startsWith("# CLI\n"));
        QVERIFY(r.out.contains("```diff"));

        r = ctl({QStringLiteral("session-io"), QStringLiteral("import"), file, QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QCOMPARE(json(r).toObject()[QStringLiteral("session")].toString(), QStringLiteral("s1-imported"));
        QVERIFY(json(r).toObject()[QStringLiteral("renamed")].toBool());

        QVERIFY(put(m_dir.filePath(QStringLiteral("bad.json")), "{\"format\":\"airlock-session\",\"version\":1,"));
        r = ctl({QStringLiteral("session-io"), QStringLiteral("import"), m_dir.filePath(QStringLiteral("bad.json"))});
        QCOMPARE(r.exitCode, 2);
        QVERIFY(r.err.contains("Nothing was imported"));
    }
};

QTEST_GUILESS_MAIN(TestAirlockctlCheckpoints)
#include "tst_airlockctl_checkpoints.moc"
