// airlockctl sessions rm and airlockctl gc as a user or a script runs them: what is shown before,
// what goes, what stays, and what is refused.
#include "testutil.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

using namespace airlock;

class TestAirlockctlRetention : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_db;
    QString m_data; // XDG_DATA_HOME of the airlockctl runs: Airlock's workspace copies go below it

    test::Run ctl(const QStringList &args)
    {
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("XDG_DATA_HOME"), m_data);
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(AIRLOCKCTL_PATH), QStringList{QStringLiteral("--db"), m_db} + args);
        p.closeWriteChannel();
        test::Run r;
        if (!p.waitForFinished(30000)) {
            p.kill();
            p.waitForFinished();
            return r;
        }
        r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
        r.out = p.readAllStandardOutput();
        r.err = p.readAllStandardError();
        return r;
    }

    void create(const QString &id, const QString &workspace, const QJsonObject &owner = {})
    {
        QJsonObject payload{{QStringLiteral("title"), QStringLiteral("Session %1").arg(id)}, {QStringLiteral("workspace"), workspace}};
        if (!owner.isEmpty())
            payload.insert(QStringLiteral("owner"), owner);
        const auto r = ctl({QStringLiteral("events"), QStringLiteral("append"), QStringLiteral("--session"), id, QStringLiteral("--kind"),
                            QStringLiteral("session.created"), QStringLiteral("--payload"),
                            QString::fromUtf8(QJsonDocument(payload).toJson(QJsonDocument::Compact))});
        QVERIFY2(r.exitCode == 0, r.err.constData());
    }

    // A folder with some bytes in it, as a checkpoint history or a workspace copy would be.
    static void fill(const QString &dir, int bytes)
    {
        QVERIFY(QDir().mkpath(dir));
        QFile f(dir + QStringLiteral("/data"));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray(bytes, 'x'));
    }

    QString shadow(const QString &id) const { return m_dir.filePath(QStringLiteral("shadow/%1.git").arg(id)); }
    QString copy(const QString &name) const { return m_data + QStringLiteral("/airlock/workspaces/") + name; }

    QStringList sessionIds()
    {
        QStringList ids;
        const auto r = ctl({QStringLiteral("sessions"), QStringLiteral("list"), QStringLiteral("--json")});
        for (const QJsonValue &s : QJsonDocument::fromJson(r.out).array())
            ids << s[QStringLiteral("id")].toString();
        return ids;
    }

private Q_SLOTS:
    void initTestCase()
    {
        m_db = m_dir.filePath(QStringLiteral("cli.db"));
        m_data = m_dir.filePath(QStringLiteral("xdg-data"));
    }

    void rmShowsAsksAndRemoves()
    {
        const QString mine = m_dir.filePath(QStringLiteral("my-project"));
        fill(mine, 100);
        create(QStringLiteral("demo1"), copy(QStringLiteral("demo-1")));
        create(QStringLiteral("own1"), mine);
        fill(shadow(QStringLiteral("demo1")), 40000);
        fill(copy(QStringLiteral("demo-1")), 20000);

        // Without --yes and without a terminal to ask on, it shows what would go and removes nothing.
        auto r = ctl({QStringLiteral("sessions"), QStringLiteral("rm"), QStringLiteral("demo1")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.out.contains(shadow(QStringLiteral("demo1")).toUtf8()), r.out.constData());
        QVERIFY2(r.out.contains(copy(QStringLiteral("demo-1")).toUtf8()), r.out.constData());
        QVERIFY2(r.out.contains("KiB"), r.out.constData());
        QVERIFY2(r.err.contains("--yes"), r.err.constData());
        QVERIFY(QFileInfo::exists(shadow(QStringLiteral("demo1"))));
        QVERIFY(sessionIds().contains(QStringLiteral("demo1")));

        r = ctl({QStringLiteral("sessions"), QStringLiteral("rm"), QStringLiteral("demo1"), QStringLiteral("--yes")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY2(r.out.contains("Deleted session demo1"), r.out.constData());
        QVERIFY(!QFileInfo::exists(shadow(QStringLiteral("demo1"))));
        QVERIFY(!QFileInfo::exists(copy(QStringLiteral("demo-1"))));
        QCOMPARE(sessionIds(), QStringList{QStringLiteral("own1")});

        // The user's own folder is named as staying, and stays.
        r = ctl({QStringLiteral("sessions"), QStringLiteral("rm"), QStringLiteral("own1"), QStringLiteral("--yes"), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonObject o = QJsonDocument::fromJson(r.out).object();
        QVERIFY(o[QStringLiteral("deleted")].toBool());
        QCOMPARE(o[QStringLiteral("keptWorkspace")][QStringLiteral("path")].toString(), mine);
        QVERIFY(QFileInfo::exists(mine + QStringLiteral("/data")));

        // The log is complete but for the deleted sessions, and says so.
        r = ctl({QStringLiteral("db"), QStringLiteral("check"), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, r.out.constData());
        const QJsonObject check = QJsonDocument::fromJson(r.out).object();
        QVERIFY(check[QStringLiteral("ok")].toBool());
        QCOMPARE(check[QStringLiteral("deletedSessions")].toInt(), 2);
    }

    void rmRefuses_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<int>("exit");
        QTest::addColumn<QString>("message");
        QTest::newRow("no id") << QStringList{} << 2 << "needs the id";
        QTest::newRow("bad id") << QStringList{QStringLiteral("a b")} << 2 << "not a session id";
        QTest::newRow("unknown") << QStringList{QStringLiteral("nosuch"), QStringLiteral("--yes")} << 1 << "no session nosuch";
        QTest::newRow("owner lives") << QStringList{QStringLiteral("theirs"), QStringLiteral("--yes")} << 1 << "still running";
    }

    void rmRefuses()
    {
        QFETCH(QStringList, args);
        QFETCH(int, exit);
        QFETCH(QString, message);
        if (!sessionIds().contains(QStringLiteral("theirs"))) {
            QFile boot(QStringLiteral("/proc/sys/kernel/random/boot_id"));
            QVERIFY(boot.open(QIODevice::ReadOnly));
            // pid 1 is always alive: a session it owns is running somewhere.
            create(QStringLiteral("theirs"), m_dir.path(),
                   {{QStringLiteral("pid"), 1}, {QStringLiteral("boot"), QString::fromLatin1(boot.readAll().trimmed())},
                    {QStringLiteral("program"), QStringLiteral("airlock")}});
        }
        const auto r = ctl(QStringList{QStringLiteral("sessions"), QStringLiteral("rm")} + args);
        QCOMPARE(r.exitCode, exit);
        QVERIFY2(r.err.contains(message.toUtf8()), r.err.constData());
        QVERIFY(r.err.endsWith('\n') && r.err.count('\n') == 1);
        QVERIFY(sessionIds().contains(QStringLiteral("theirs")));
    }

    void gcDryRunThenRemoves()
    {
        for (const char *id : {"g1", "g2", "g3"}) {
            create(QString::fromLatin1(id), copy(QStringLiteral("demo-%1").arg(QString::fromLatin1(id))));
            fill(copy(QStringLiteral("demo-%1").arg(QString::fromLatin1(id))), 10000);
        }
        // Nothing set: nothing goes.
        auto r = ctl({QStringLiteral("gc"), QStringLiteral("--dry-run"), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QCOMPARE(QJsonDocument::fromJson(r.out).object()[QStringLiteral("remove")].toArray().size(), 0);

        // A dry run with a limit lists, with sizes, and neither removes nor saves.
        r = ctl({QStringLiteral("gc"), QStringLiteral("--dry-run"), QStringLiteral("--keep-sessions"), QStringLiteral("2"), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QJsonObject plan = QJsonDocument::fromJson(r.out).object();
        QStringList going;
        for (const QJsonValue &s : plan[QStringLiteral("remove")].toArray()) {
            going << s[QStringLiteral("id")].toString();
            QVERIFY(s[QStringLiteral("totalBytes")].toInteger() > 0);
        }
        QCOMPARE(going, QStringList{QStringLiteral("g1")});
        QStringList kept;
        for (const QJsonValue &s : plan[QStringLiteral("kept")].toArray())
            kept << s[QStringLiteral("id")].toString();
        QCOMPARE(kept, QStringList{QStringLiteral("theirs")}); // past the count, but its process lives
        QVERIFY(QFileInfo::exists(copy(QStringLiteral("demo-g1"))));
        r = ctl({QStringLiteral("gc"), QStringLiteral("--show"), QStringLiteral("--json")});
        QCOMPARE(QJsonDocument::fromJson(r.out).object()[QStringLiteral("keepSessions")].toInt(), 0);

        r = ctl({QStringLiteral("gc"), QStringLiteral("--dry-run"), QStringLiteral("--keep-sessions"), QStringLiteral("2")});
        QVERIFY2(r.out.contains("Would remove 1 session"), r.out.constData());
        QVERIFY2(r.out.contains(copy(QStringLiteral("demo-g1")).toUtf8()), r.out.constData());

        // For real: the policy is saved and applied.
        r = ctl({QStringLiteral("gc"), QStringLiteral("--keep-sessions"), QStringLiteral("2")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY2(r.out.contains("Removed 1 session"), r.out.constData());
        QVERIFY(!QFileInfo::exists(copy(QStringLiteral("demo-g1"))));
        QVERIFY(QFileInfo::exists(copy(QStringLiteral("demo-g2"))));
        QCOMPARE(sessionIds(), (QStringList{QStringLiteral("theirs"), QStringLiteral("g2"), QStringLiteral("g3")}));
        r = ctl({QStringLiteral("gc"), QStringLiteral("--show")});
        QVERIFY2(r.out.contains("keep the 2 newest sessions"), r.out.constData());
        // Again: the stored policy is used, and nothing is left to do.
        r = ctl({QStringLiteral("gc")});
        QVERIFY2(r.exitCode == 0 && r.out.contains("Nothing to remove"), r.out.constData());
    }

    void gcRejectsBadNumbers()
    {
        for (const QString &bad : {QStringLiteral("-1"), QStringLiteral("ten"), QStringLiteral("99999999")}) {
            const auto r = ctl({QStringLiteral("gc"), QStringLiteral("--keep-days"), bad});
            QCOMPARE(r.exitCode, 2);
            QVERIFY2(r.err.contains("--keep-days takes a number"), r.err.constData());
        }
    }
};

QTEST_GUILESS_MAIN(TestAirlockctlRetention)
#include "tst_airlockctl_retention.moc"
