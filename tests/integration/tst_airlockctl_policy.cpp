// airlockctl policy …: presets and saved versions, lint, compile, check, import and export.
#include "testutil.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

using namespace airlock;

class TestAirlockctlPolicy : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_db;

    test::Run ctl(const QStringList &args)
    {
        return test::run(QStringLiteral(AIRLOCKCTL_PATH), QStringList{QStringLiteral("--db"), m_db} + args);
    }
    QString writeFile(const QString &name, const QByteArray &text)
    {
        const QString path = m_dir.filePath(name);
        QFile f(path);
        f.open(QIODevice::WriteOnly);
        f.write(text);
        return path;
    }

private Q_SLOTS:
    void initTestCase() { m_db = m_dir.filePath(QStringLiteral("policy.db")); }

    void presetsOnTheLadder()
    {
        auto r = ctl({QStringLiteral("policy"), QStringLiteral("list"), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonArray list = QJsonDocument::fromJson(r.out).array();
        QStringList names;
        for (const auto &v : list)
            names << v[QStringLiteral("name")].toString();
        QCOMPARE(names, (QStringList{"open", "standard", "hardened", "gvisor"}));
        QVERIFY(list.at(0)[QStringLiteral("builtIn")].toBool());
    }

    void lintExitsOneOnCritical()
    {
        auto r = ctl({QStringLiteral("policy"), QStringLiteral("lint"), QStringLiteral("open"), QStringLiteral("--json")});
        QCOMPARE(r.exitCode, 1);
        const QJsonArray findings = QJsonDocument::fromJson(r.out).array();
        QVERIFY(!findings.isEmpty());
        bool hostNetwork = false;
        for (const auto &f : findings)
            hostNetwork = hostNetwork || f[QStringLiteral("path")].toString() == QStringLiteral("network.mode");
        QVERIFY(hostNetwork);
    }

    void compileShowsWhatRuns()
    {
        auto r = ctl({QStringLiteral("policy"), QStringLiteral("compile"), QStringLiteral("standard"),
                      QStringLiteral("--workspace"), m_dir.path(), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonObject bwrap = QJsonDocument::fromJson(r.out).object();
        const QStringList args = bwrap[QStringLiteral("arguments")].toVariant().toStringList();
        QVERIFY(args.contains(QStringLiteral("--die-with-parent")));
        QVERIFY(args.contains(m_dir.path()));
        r = ctl({QStringLiteral("policy"), QStringLiteral("compile"), QStringLiteral("hardened"), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonObject docker = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(docker[QStringLiteral("HostConfig")][QStringLiteral("NetworkMode")].toString(), QStringLiteral("none"));
        r = ctl({QStringLiteral("policy"), QStringLiteral("compile"), QStringLiteral("hardened")});
        QVERIFY(r.out.startsWith("docker run"));
    }

    void checkExplainsTheDecision()
    {
        auto r = ctl({QStringLiteral("policy"), QStringLiteral("check"), QStringLiteral("hardened"), QStringLiteral("--kind"),
                      QStringLiteral("read"), QStringLiteral("--path"), QStringLiteral("src/main.cpp"), QStringLiteral("--json")});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(QJsonDocument::fromJson(r.out).object()[QStringLiteral("decision")].toString(), QStringLiteral("allow"));
        r = ctl({QStringLiteral("policy"), QStringLiteral("check"), QStringLiteral("hardened"), QStringLiteral("--kind"), QStringLiteral("fetch"),
                 QStringLiteral("--domain"), QStringLiteral("evil.example")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY(r.out.startsWith("deny: denied by rule"));
        r = ctl({QStringLiteral("policy"), QStringLiteral("check"), QStringLiteral("hardened"), QStringLiteral("--kind"), QStringLiteral("teleport")});
        QCOMPARE(r.exitCode, 2);
    }

    void importVersionsAndExport()
    {
        auto r = ctl({QStringLiteral("policy"), QStringLiteral("show"), QStringLiteral("standard")});
        QCOMPARE(r.exitCode, 0);
        const QString file = writeFile(QStringLiteral("team.json"), r.out);
        r = ctl({QStringLiteral("policy"), QStringLiteral("import"), file, QStringLiteral("--note"), QStringLiteral("first")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QCOMPARE(r.out.trimmed(), QByteArray("saved team version 1"));
        r = ctl({QStringLiteral("policy"), QStringLiteral("import"), file});
        QCOMPARE(r.out.trimmed(), QByteArray("saved team version 1")); // unchanged: no new version

        QByteArray changed = QByteArray(r.out);
        auto shown = ctl({QStringLiteral("policy"), QStringLiteral("show"), QStringLiteral("team")});
        changed = shown.out;
        changed.replace("\"allowIpLiterals\": false", "\"allowIpLiterals\": true");
        QVERIFY(changed != shown.out);
        r = ctl({QStringLiteral("policy"), QStringLiteral("import"), writeFile(QStringLiteral("team2.json"), changed),
                 QStringLiteral("--name"), QStringLiteral("team")});
        QCOMPARE(r.out.trimmed(), QByteArray("saved team version 2"));

        const QString out = m_dir.filePath(QStringLiteral("exported.json"));
        r = ctl({QStringLiteral("policy"), QStringLiteral("export"), QStringLiteral("team"), QStringLiteral("--version"),
                 QStringLiteral("1"), QStringLiteral("-o"), out});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(test::fileHash(out), test::fileHash(file)); // exact round trip through the store
    }

    void importRefusesBadDocuments()
    {
        const QString bad = writeFile(QStringLiteral("bad.json"),
                                      "{\"schemaVersion\":1,\"network\":{\"allow\":[\"*.\"]},\"bogus\":1}");
        auto r = ctl({QStringLiteral("policy"), QStringLiteral("import"), bad});
        QCOMPARE(r.exitCode, 1);
        QVERIFY(r.err.contains("network.allow[0]: '*.' is not a domain pattern"));
        QVERIFY(r.err.contains("bogus"));
        QVERIFY(r.err.trimmed().split('\n').last().startsWith("airlockctl: "));
        r = ctl({QStringLiteral("policy"), QStringLiteral("show"), QStringLiteral("bad")});
        QCOMPARE(r.exitCode, 1); // nothing was saved
        r = ctl({QStringLiteral("policy"), QStringLiteral("show"), QStringLiteral("nosuch")});
        QVERIFY(r.err.contains("no policy named 'nosuch'"));
    }
};

QTEST_GUILESS_MAIN(TestAirlockctlPolicy)
#include "tst_airlockctl_policy.moc"
