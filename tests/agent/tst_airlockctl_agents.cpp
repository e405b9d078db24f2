// airlockctl agents list|add|remove|install and secrets set|list|rm, run as a separate process the way
// a user or a script runs it.
#include "testutil.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

using namespace airlock;

class TestAirlockctlAgents : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_db;

    test::Run ctl(const QStringList &args)
    {
        return test::run(QStringLiteral(AIRLOCKCTL_PATH), QStringList{QStringLiteral("--db"), m_db} + args);
    }
    QJsonObject listed(const QString &name)
    {
        const auto r = ctl({QStringLiteral("agents"), QStringLiteral("list"), QStringLiteral("--json")});
        const QJsonArray all = QJsonDocument::fromJson(r.out).array();
        for (const QJsonValue &v : all)
            if (v[QStringLiteral("name")].toString() == name)
                return v.toObject();
        return {};
    }

private Q_SLOTS:
    void initTestCase()
    {
        m_db = m_dir.filePath(QStringLiteral("agents.db"));
        qputenv("AIRLOCK_AGENTS_DIR", QFile::encodeName(m_dir.filePath(QStringLiteral("agents"))));
        qputenv("AIRLOCK_SECRETS_DIR", QFile::encodeName(m_dir.filePath(QStringLiteral("secrets"))));
        qputenv("AIRLOCK_SECRETS_KEYCHAIN", "0");
    }

    void installSaysWhatItCannotInstall()
    {
        auto r = ctl({QStringLiteral("agents"), QStringLiteral("install"), QStringLiteral("demo")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains("not installed by Airlock"), r.err.constData());
        r = ctl({QStringLiteral("agents"), QStringLiteral("install"), QStringLiteral("nope")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains("no agent named 'nope'"), r.err.constData());
        r = ctl({QStringLiteral("agents"), QStringLiteral("install")});
        QCOMPARE(r.exitCode, 2);
        // Without npm on PATH: the hint, and nothing half-installed left behind.
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("PATH"), m_dir.path());
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(AIRLOCKCTL_PATH), {QStringLiteral("--db"), m_db, QStringLiteral("agents"), QStringLiteral("install"),
                                                  QStringLiteral("claude")});
        QVERIFY(p.waitForFinished(30000));
        QCOMPARE(p.exitCode(), 1);
        QVERIFY2(p.readAllStandardError().contains("npm was not found"), "no hint about npm");
        QVERIFY(QDir(m_dir.filePath(QStringLiteral("agents"))).entryList(QDir::Dirs | QDir::NoDotAndDotDot).isEmpty());
    }

    // Values only from stdin, never echoed or listed; the file store is private to the user.
    void secretsKeepValuesOutOfSight()
    {
        const QByteArray value = "sk-test-secret-value-9f1c";
        QProcess p;
        p.start(QStringLiteral(AIRLOCKCTL_PATH), {QStringLiteral("--db"), m_db, QStringLiteral("secrets"), QStringLiteral("set"),
                                                  QStringLiteral("anthropic")});
        p.write(value + "\n");
        p.closeWriteChannel();
        QVERIFY(p.waitForFinished(30000));
        const QByteArray said = p.readAllStandardOutput() + p.readAllStandardError();
        QVERIFY2(p.exitCode() == 0, said.constData());
        QVERIFY(!said.contains(value));
        QVERIFY2(said.contains("readable by this user only"), said.constData());
        const QString file = m_dir.filePath(QStringLiteral("secrets/anthropic"));
        QCOMPARE(QFile(file).permissions() & (QFile::ReadGroup | QFile::ReadOther | QFile::WriteGroup | QFile::WriteOther),
                 QFile::Permissions());

        auto r = ctl({QStringLiteral("secrets"), QStringLiteral("list"), QStringLiteral("--json")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(!r.out.contains(value));
        const QJsonArray listed = QJsonDocument::fromJson(r.out).object()[QStringLiteral("secrets")].toArray();
        QCOMPARE(listed.size(), 1);
        QCOMPARE(listed.first()[QStringLiteral("name")].toString(), QStringLiteral("anthropic"));
        QCOMPARE(listed.first()[QStringLiteral("place")].toString(), QStringLiteral("file"));

        // Bad names, an empty value, a value on the command line: refused.
        r = ctl({QStringLiteral("secrets"), QStringLiteral("set"), QStringLiteral("../x")});
        QCOMPARE(r.exitCode, 2);
        r = ctl({QStringLiteral("secrets"), QStringLiteral("set"), QStringLiteral("a"), QStringLiteral("sk-on-the-command-line")});
        QCOMPARE(r.exitCode, 2);
        QProcess empty;
        empty.start(QStringLiteral(AIRLOCKCTL_PATH), {QStringLiteral("--db"), m_db, QStringLiteral("secrets"), QStringLiteral("set"),
                                                      QStringLiteral("empty")});
        empty.closeWriteChannel();
        QVERIFY(empty.waitForFinished(30000));
        QCOMPARE(empty.exitCode(), 2);
        QVERIFY(empty.readAllStandardError().contains("no value given"));

        r = ctl({QStringLiteral("secrets"), QStringLiteral("rm"), QStringLiteral("anthropic")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(!QFile::exists(file));
        r = ctl({QStringLiteral("secrets"), QStringLiteral("rm"), QStringLiteral("anthropic")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY(r.err.contains("no secret named anthropic"));
    }

    void modelEndpointIsKeptPerAgent()
    {
        auto r = ctl({QStringLiteral("agents"), QStringLiteral("model"), QStringLiteral("claude"), QStringLiteral("--json")});
        QCOMPARE(r.exitCode, 0);
        QJsonObject o = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(o[QStringLiteral("endpoint")].toString(), QStringLiteral("https://api.anthropic.com"));
        QVERIFY(o[QStringLiteral("default")].toBool());
        r = ctl({QStringLiteral("agents"), QStringLiteral("model"), QStringLiteral("claude"), QStringLiteral("--endpoint"),
                 QStringLiteral("http://gw.corp")});
        QVERIFY(r.exitCode != 0);
        QVERIFY2(r.err.contains("https://"), r.err.constData());
        r = ctl({QStringLiteral("agents"), QStringLiteral("model"), QStringLiteral("claude"), QStringLiteral("--endpoint"),
                 QStringLiteral("https://gw.corp:8443/v1")});
        QCOMPARE(r.exitCode, 0);
        r = ctl({QStringLiteral("agents"), QStringLiteral("model"), QStringLiteral("claude-code"), QStringLiteral("--json")});
        o = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(o[QStringLiteral("endpoint")].toString(), QStringLiteral("https://gw.corp:8443/v1"));
        QVERIFY(!o[QStringLiteral("default")].toBool());
        r = ctl({QStringLiteral("agents"), QStringLiteral("model"), QStringLiteral("claude"), QStringLiteral("--reset")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.contains("(the vendor's)"), r.out.constData());
        r = ctl({QStringLiteral("agents"), QStringLiteral("model"), QStringLiteral("demo")});
        QVERIFY(r.exitCode != 0);
    }

    void presetsOnAFreshMachine()
    {
        auto r = ctl({QStringLiteral("agents"), QStringLiteral("list"), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonArray all = QJsonDocument::fromJson(r.out).array();
        QStringList names;
        for (const QJsonValue &v : all) {
            names << v[QStringLiteral("name")].toString();
            QVERIFY(v[QStringLiteral("builtIn")].toBool());
            QVERIFY(v[QStringLiteral("available")].isBool());
            // Missing means a hint; present means a program.
            QVERIFY(v[QStringLiteral("available")].toBool() ? v[QStringLiteral("program")].isString()
                                                          : !v[QStringLiteral("installHint")].toString().isEmpty());
        }
        QCOMPARE(names, (QStringList{"demo", "claude-code", "claude-code-acp", "codex", "gemini", "deepagents"}));
        QCOMPARE(all.at(0)[QStringLiteral("placement")].toString(), QStringLiteral("host"));
        QCOMPARE(all.at(1)[QStringLiteral("placement")].toString(), QStringLiteral("sandbox"));
        QCOMPARE(all.at(4)[QStringLiteral("args")].toArray(), QJsonArray{QStringLiteral("--experimental-acp")});

        r = ctl({QStringLiteral("agents"), QStringLiteral("list")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.startsWith("NAME"));
        QVERIFY(r.out.contains("claude-code"));
    }

    void addTakesTheCommandAfterDashes()
    {
        auto r = ctl({QStringLiteral("agents"), QStringLiteral("add"), QStringLiteral("mine"), QStringLiteral("--placement"),
                      QStringLiteral("host"), QStringLiteral("--env"), QStringLiteral("MY_KEY"), QStringLiteral("--env"),
                      QStringLiteral("OTEL_*"), QStringLiteral("--policy"), QStringLiteral("standard"), QStringLiteral("--"),
                      QStringLiteral("/bin/sh"), QStringLiteral("--json"), QStringLiteral("-c"), QStringLiteral("two words"),
                      QStringLiteral("--"), QStringLiteral("--placement")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY(r.out.contains("saved agent mine"));
        QVERIFY(r.err.contains("unconfined")); // the host placement's warning
        const QJsonObject mine = listed(QStringLiteral("mine"));
        QCOMPARE(mine[QStringLiteral("command")].toString(), QStringLiteral("/bin/sh"));
        // Everything after the first -- is the agent's, options and later dashes included.
        QCOMPARE(mine[QStringLiteral("args")].toArray(),
                 (QJsonArray{QStringLiteral("--json"), QStringLiteral("-c"), QStringLiteral("two words"), QStringLiteral("--"),
                             QStringLiteral("--placement")}));
        QCOMPARE(mine[QStringLiteral("placement")].toString(), QStringLiteral("host"));
        QCOMPARE(mine[QStringLiteral("envAllow")].toArray(), (QJsonArray{QStringLiteral("MY_KEY"), QStringLiteral("OTEL_*")}));
        QCOMPARE(mine[QStringLiteral("defaultPolicy")].toString(), QStringLiteral("standard"));
        QVERIFY(mine[QStringLiteral("available")].toBool());
        QVERIFY(!mine[QStringLiteral("builtIn")].toBool());

        r = ctl({QStringLiteral("agents"), QStringLiteral("add"), QStringLiteral("mine"), QStringLiteral("--"), QStringLiteral("/bin/true")});
        QCOMPARE(r.exitCode, 2);
        QVERIFY(r.err.contains("already stored"));
        r = ctl({QStringLiteral("agents"), QStringLiteral("add"), QStringLiteral("mine"), QStringLiteral("--replace"), QStringLiteral("--"),
                 QStringLiteral("/bin/true")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QCOMPARE(listed(QStringLiteral("mine"))[QStringLiteral("placement")].toString(), QStringLiteral("sandbox"));
    }

    void addWithoutDashesAndMissingPrograms()
    {
        auto r = ctl({QStringLiteral("agents"), QStringLiteral("add"), QStringLiteral("later"), QStringLiteral("not-installed-agent")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY2(r.err.contains("not-installed-agent was not found on PATH"), r.err.constData());
        QVERIFY(!listed(QStringLiteral("later"))[QStringLiteral("available")].toBool());
        r = ctl({QStringLiteral("agents"), QStringLiteral("list")});
        QVERIFY(r.out.contains("later"));
        QVERIFY(r.out.contains("missing"));
        QVERIFY(r.out.contains("install: install not-installed-agent"));
    }

    void badCommandLines_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QString>("says");
        QTest::newRow("no name") << QStringList{"agents", "add"} << 2 << "needs a name";
        QTest::newRow("no command") << QStringList{"agents", "add", "x", "--"} << 2 << "needs the command";
        QTest::newRow("name only") << QStringList{"agents", "add", "x"} << 2 << "needs the command";
        QTest::newRow("command before dashes") << QStringList{"agents", "add", "x", "foo", "--", "bar"} << 2 << "after --";
        QTest::newRow("bad placement") << QStringList{"agents", "add", "x", "--placement", "cloud", "--", "a"} << 2 << "sandbox or host";
        QTest::newRow("bad name") << QStringList{"agents", "add", "no good", "--", "a"} << 2 << "not an agent name";
        QTest::newRow("bad variable") << QStringList{"agents", "add", "x", "--env", "A-B", "--", "a"} << 2 << "environment variable";
        QTest::newRow("unknown option") << QStringList{"agents", "add", "x", "--frobnicate", "--", "a"} << 2 << "frobnicate";
        QTest::newRow("remove nothing") << QStringList{"agents", "remove", "nobody"} << 1 << "no stored agent";
        QTest::newRow("remove a preset") << QStringList{"agents", "remove", "codex"} << 1 << "built-in preset";
        QTest::newRow("unknown verb") << QStringList{"agents", "launch"} << 2 << "unknown command";
    }

    void badCommandLines()
    {
        QFETCH(QStringList, args);
        QFETCH(int, exitCode);
        QFETCH(QString, says);
        const auto r = ctl(args);
        QCOMPARE(r.exitCode, exitCode);
        QVERIFY2(QString::fromUtf8(r.err).contains(says), r.err.constData());
    }

    void removeAndHelp()
    {
        QVERIFY(ctl({QStringLiteral("agents"), QStringLiteral("add"), QStringLiteral("gone"), QStringLiteral("--"), QStringLiteral("/bin/true")}).exitCode == 0);
        auto r = ctl({QStringLiteral("agents"), QStringLiteral("remove"), QStringLiteral("gone")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY(listed(QStringLiteral("gone")).isEmpty());
        r = test::run(QStringLiteral(AIRLOCKCTL_PATH), {QStringLiteral("--help")});
        QVERIFY(r.out.contains("agents add NAME"));
        r = ctl({QStringLiteral("agents"), QStringLiteral("add"), QStringLiteral("--help")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains("--placement"));
    }
};

QTEST_GUILESS_MAIN(TestAirlockctlAgents)
#include "tst_airlockctl_agents.moc"
