// The agent catalogue: presets, validation, stored profiles in agent_profiles, availability checks
// with their install hints, the host launch's environment allowlist, and the demo agent's files.
#include "agent/agentcatalogue.h"
#include "agent/agentinstall.h"
#include "store/schema.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>

using namespace airlock;
using namespace airlock::agent;

namespace {

AgentProfile profile(const QString &name, const QString &command, const QStringList &args = {})
{
    AgentProfile p;
    p.name = name;
    p.command = command;
    p.args = args;
    return p;
}

QString makeExecutable(const QString &dir, const QString &name)
{
    const QString path = QDir(dir).filePath(name);
    QFile f(path);
    f.open(QIODevice::WriteOnly);
    f.write("#!/bin/sh\nexit 0\n");
    f.close();
    f.setPermissions(QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
    return path;
}

} // namespace

class TestAgentCatalogue : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;

private Q_SLOTS:
    void presetsAreTheKnownAgents()
    {
        const QList<AgentProfile> presets = presetProfiles();
        QStringList names;
        for (const AgentProfile &p : presets) {
            names.append(p.name);
            QVERIFY(p.builtIn);
            QVERIFY2(validateProfile(p), qPrintable(p.name));
            QVERIFY(!p.installHint.isEmpty());
            QVERIFY(!p.title.isEmpty());
        }
        QCOMPARE(names, (QStringList{"demo", "claude-code", "claude-code-acp", "codex", "gemini", "deepagents"}));
        auto byName = [&](const QString &n) {
            return *std::find_if(presets.begin(), presets.end(), [&](const AgentProfile &p) { return p.name == n; });
        };
        // Only the demo agent, whose every tool goes through Airlock, defaults to the host.
        QCOMPARE(byName(QStringLiteral("demo")).placement, Placement::Host);
        for (const QString &n : {QStringLiteral("claude-code"), QStringLiteral("claude-code-acp"), QStringLiteral("codex"),
                                 QStringLiteral("gemini"), QStringLiteral("deepagents")})
            QCOMPARE(byName(n).placement, Placement::Sandbox);
        // The adapters Airlock installs, pinned; Claude Code's key comes from the proxy, never the host.
        const AgentProfile claude = byName(QStringLiteral("claude-code"));
        QCOMPARE(claude.package.name, QStringLiteral("@zed-industries/claude-agent-acp"));
        QVERIFY(!claude.package.version.isEmpty() && claude.package.version.front().isDigit());
        QCOMPARE(claude.command, claude.package.bin);
        QVERIFY(claude.aliases.contains(QStringLiteral("claude")));
        QCOMPARE(claude.model.secret, QStringLiteral("anthropic"));
        QCOMPARE(claude.model.header, QStringLiteral("x-api-key"));
        QVERIFY(claude.model.endpoint.startsWith(QLatin1String("https://")));
        for (const QString &v : claude.envAllow)
            QVERIFY2(!v.contains(QLatin1String("KEY")) && !v.contains(QLatin1String("TOKEN")), qPrintable(v));
        QCOMPARE(byName(QStringLiteral("codex")).package.name, QStringLiteral("@zed-industries/codex-acp"));
        QCOMPARE(byName(QStringLiteral("gemini")).package.name, QStringLiteral("@google/gemini-cli"));
        QCOMPARE(byName(QStringLiteral("gemini")).args, QStringList{QStringLiteral("--experimental-acp")});
        QCOMPARE(byName(QStringLiteral("deepagents")).command, QStringLiteral("deepagents-acp"));
        QVERIFY(byName(QStringLiteral("gemini")).installHint.contains(QLatin1String("airlockctl agents install gemini")));
        QVERIFY(byName(QStringLiteral("deepagents")).installHint.contains(QLatin1String("pip install deepagents-acp")));
    }

    void validation_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("command");
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QStringList>("env");
        QTest::addColumn<QString>("policy");
        QTest::addColumn<QString>("error"); // empty: valid
        const QStringList none;
        QTest::newRow("fine") << "my-agent_1.0" << "my-agent" << QStringList{"--acp"} << QStringList{"API_KEY", "LANGSMITH_*"} << "standard" << "";
        QTest::newRow("empty name") << "" << "x" << none << none << "" << "agent name";
        QTest::newRow("space in name") << "my agent" << "x" << none << none << "" << "agent name";
        QTest::newRow("path as name") << "../x" << "x" << none << none << "" << "agent name";
        QTest::newRow("long name") << QString(200, u'a') << "x" << none << none << "" << "agent name";
        QTest::newRow("no command") << "a" << "  " << none << none << "" << "needs a command";
        QTest::newRow("NUL in argument") << "a" << "x" << QStringList{QStringLiteral("a") + QChar(0)} << none << "" << "NUL";
        QTest::newRow("dash in variable") << "a" << "x" << none << QStringList{"MY-VAR"} << "" << "environment variable";
        QTest::newRow("digit first") << "a" << "x" << none << QStringList{"1VAR"} << "" << "environment variable";
        QTest::newRow("everything") << "a" << "x" << none << QStringList{"*"} << "" << "environment variable";
        QTest::newRow("star inside") << "a" << "x" << none << QStringList{"A*B"} << "" << "environment variable";
        QTest::newRow("bad policy") << "a" << "x" << none << none << "no/such" << "policy name";
    }

    void validation()
    {
        QFETCH(QString, name);
        QFETCH(QString, command);
        QFETCH(QStringList, args);
        QFETCH(QStringList, env);
        QFETCH(QString, policy);
        QFETCH(QString, error);
        AgentProfile p = profile(name, command, args);
        p.envAllow = env;
        p.defaultPolicy = policy;
        auto r = validateProfile(p);
        QCOMPARE(bool(r), error.isEmpty());
        if (!r) {
            QCOMPARE(r.error().code, ErrorCode::InvalidArgument);
            QVERIFY2(r.error().message.contains(error), qPrintable(r.error().message));
        }
    }

    void storedProfiles()
    {
        const QString db = m_dir.filePath(QStringLiteral("catalogue.db"));
        {
            auto c = AgentCatalogue::open(db);
            QVERIFY(c);
            auto all = c->list();
            QVERIFY(all);
            QCOMPARE(all->size(), 6); // a fresh database lists the presets

            AgentProfile mine = profile(QStringLiteral("mine"), QStringLiteral("my-agent"), {QStringLiteral("--acp"), QStringLiteral("two words")});
            mine.envAllow = {QStringLiteral("MY_KEY")};
            mine.placement = Placement::Host;
            mine.defaultPolicy = QStringLiteral("hardened");
            QVERIFY(c->save(mine));
            auto again = c->save(mine);
            QVERIFY(!again);
            QVERIFY(again.error().message.contains(QLatin1String("already stored")));
            QVERIFY(!c->save(profile(QStringLiteral("bad name"), QStringLiteral("x"))));

            // A stored profile named like a preset takes its place in the list.
            QVERIFY(c->save(profile(QStringLiteral("gemini"), QStringLiteral("/opt/gemini/bin/gemini"), {QStringLiteral("--experimental-acp")})));
        }
        auto c = AgentCatalogue::open(db); // as another process would
        QVERIFY(c);
        auto all = c->list();
        QVERIFY(all);
        QStringList names;
        for (const AgentProfile &p : *all)
            names.append(p.name);
        QCOMPARE(names, (QStringList{"demo", "claude-code", "claude-code-acp", "codex", "gemini", "deepagents", "mine"}));
        const AgentProfile gemini = all->at(4);
        QVERIFY(!gemini.builtIn);
        QCOMPARE(gemini.command, QStringLiteral("/opt/gemini/bin/gemini"));

        auto found = c->find(QStringLiteral("mine"));
        QVERIFY(found && *found);
        const AgentProfile mine = **found;
        QCOMPARE(mine.command, QStringLiteral("my-agent"));
        QCOMPARE(mine.args, (QStringList{"--acp", "two words"}));
        QCOMPARE(mine.envAllow, QStringList{QStringLiteral("MY_KEY")});
        QCOMPARE(mine.placement, Placement::Host);
        QCOMPARE(mine.defaultPolicy, QStringLiteral("hardened"));
        QVERIFY(mine.created > 0 && mine.updated == mine.created);

        AgentProfile changed = mine;
        changed.args = {QStringLiteral("--stdio")};
        changed.defaultPolicy.clear();
        QTRY_VERIFY(QDateTime::currentMSecsSinceEpoch() > mine.created); // so `updated` can move
        QVERIFY(c->save(changed, true));
        auto after = c->find(QStringLiteral("mine"));
        QCOMPARE((*after)->args, QStringList{QStringLiteral("--stdio")});
        QVERIFY((*after)->defaultPolicy.isEmpty());
        QCOMPARE((*after)->created, mine.created);
        QVERIFY((*after)->updated > mine.updated);

        auto none = c->find(QStringLiteral("nobody"));
        QVERIFY(none && !*none);
        QCOMPARE(c->remove(QStringLiteral("mine")).value_or(false), true);
        QCOMPARE(c->remove(QStringLiteral("mine")).value_or(true), false);
        QCOMPARE(c->remove(QStringLiteral("gemini")).value_or(false), true);
        QCOMPARE(c->remove(QStringLiteral("gemini")).value_or(true), false); // the preset is back, and stays
        auto restored = c->find(QStringLiteral("gemini"));
        QVERIFY((*restored)->builtIn);
    }

    void oddStoredRowsAreReadSafely()
    {
        // Rows written by another tool or an older Airlock: JSON that is valid but not a list of strings.
        const QString db = m_dir.filePath(QStringLiteral("odd.db"));
        {
            auto conn = store::openDatabase(db);
            QVERIFY(conn);
            QVERIFY(conn->exec("INSERT INTO agent_profiles(name, command, args, env_allow, placement, created, updated) "
                               "VALUES ('odd', 'x', '{\"a\":1}', '[1, \"OK_VAR\", null]', 'host', 1, 1)"));
            QVERIFY(!conn->exec("INSERT INTO agent_profiles(name, command, args, placement, created, updated) "
                                "VALUES ('bad', 'x', 'not json', 'host', 1, 1)"));
            QVERIFY(!conn->exec("INSERT INTO agent_profiles(name, command, placement, created, updated) "
                                "VALUES ('where', 'x', 'moon', 1, 1)"));
        }
        auto c = AgentCatalogue::open(db);
        QVERIFY(c);
        auto odd = c->find(QStringLiteral("odd"));
        QVERIFY(odd && *odd);
        QVERIFY((*odd)->args.isEmpty());
        QCOMPARE((*odd)->envAllow, QStringList{QStringLiteral("OK_VAR")});
        QCOMPARE((*odd)->placement, Placement::Host);
    }

    void unreadableDatabaseIsAClearError()
    {
        const QString path = m_dir.filePath(QStringLiteral("not-a-db"));
        QFile f(path);
        f.open(QIODevice::WriteOnly);
        f.write(QByteArray(4096, 'x'));
        f.close();
        auto c = AgentCatalogue::open(path);
        QVERIFY(!c);
        QCOMPARE(c.error().code, ErrorCode::NotADatabase);
    }

    void availability()
    {
        QTemporaryDir bin;
        const QString gemini = makeExecutable(bin.path(), QStringLiteral("gemini"));
        QProcessEnvironment env;
        env.insert(QStringLiteral("PATH"), bin.path());
        AgentProfile p = profile(QStringLiteral("gemini"), QStringLiteral("gemini"), {QStringLiteral("--experimental-acp")});
        p.installHint = QStringLiteral("npm install -g @google/gemini-cli");
        Availability a = checkAvailability(p, env);
        QVERIFY(a.available);
        QCOMPARE(a.program, gemini);
        QVERIFY(a.installHint.isEmpty());
        // In the sandbox the program must be visible: a home-made install is not.
        QVERIFY2(a.detail.contains(QLatin1String("outside the system folders")), qPrintable(a.detail));
        p.placement = Placement::Host;
        QVERIFY(!checkAvailability(p, env).detail.contains(QLatin1String("outside")));

        env.insert(QStringLiteral("PATH"), m_dir.path());
        a = checkAvailability(p, env);
        QVERIFY(!a.available);
        QVERIFY(a.program.isEmpty());
        QVERIFY2(a.detail.contains(QLatin1String("gemini was not found on PATH")), qPrintable(a.detail));
        QCOMPARE(a.installHint, QStringLiteral("npm install -g @google/gemini-cli"));

        // A custom command without a hint gets a generic one; a full path is checked as given.
        a = checkAvailability(profile(QStringLiteral("x"), QStringLiteral("/nonexistent/agent")), env);
        QVERIFY(!a.available);
        QVERIFY(a.installHint.contains(QLatin1String("full path")));
        a = checkAvailability(profile(QStringLiteral("x"), gemini), env);
        QVERIFY(a.available);

        // A preset Airlock installs: found in its install folder (which sessions mount), not on PATH;
        // before it is installed, the hint says how.
        QTemporaryDir agents;
        qputenv("AIRLOCK_AGENTS_DIR", QFile::encodeName(agents.path()));
        const AgentProfile claude = [] {
            for (const AgentProfile &preset : presetProfiles())
                if (preset.name == QLatin1String("claude-code"))
                    return preset;
            return AgentProfile{};
        }();
        a = checkAvailability(claude, env);
        QVERIFY(!a.available);
        QVERIFY2(a.installHint.contains(QLatin1String("airlockctl agents install claude")), qPrintable(a.installHint));
        const QString binDir = installDir(claude.package) + QStringLiteral("/node_modules/.bin");
        QVERIFY(QDir().mkpath(binDir));
        const QString installed = makeExecutable(binDir, claude.package.bin);
        QCOMPARE(installedProgram(claude.package), installed);
        a = checkAvailability(claude, env);
        QCOMPARE(a.program, installed);
        QVERIFY2(!a.detail.contains(QLatin1String("outside")), qPrintable(a.detail));
        // It runs on node from the system folders; where there is none, it is not ready and says why.
        QVERIFY2(a.available || a.detail.contains(QLatin1String("node")), qPrintable(a.detail));
        qunsetenv("AIRLOCK_AGENTS_DIR");
    }

    void hostLaunchPassesOnlyTheAllowlist()
    {
        QTemporaryDir bin;
        const QString program = makeExecutable(bin.path(), QStringLiteral("deepagents-acp"));
        QProcessEnvironment host;
        host.insert(QStringLiteral("PATH"), bin.path());
        host.insert(QStringLiteral("HOME"), QStringLiteral("/home/me"));
        host.insert(QStringLiteral("LANG"), QStringLiteral("C.UTF-8"));
        host.insert(QStringLiteral("ANTHROPIC_API_KEY"), QStringLiteral("sk-1"));
        host.insert(QStringLiteral("LANGSMITH_PROJECT"), QStringLiteral("p"));
        host.insert(QStringLiteral("AWS_SECRET_ACCESS_KEY"), QStringLiteral("do not leak"));
        host.insert(QStringLiteral("GITHUB_TOKEN"), QStringLiteral("nor this"));
        const auto presets = presetProfiles();
        const AgentProfile deep = *std::find_if(presets.begin(), presets.end(), [](const AgentProfile &p) { return p.name == QLatin1String("deepagents"); });
        auto launch = hostLaunch(deep, m_dir.path(), host);
        QVERIFY2(launch, launch ? "" : qPrintable(launch.error().message));
        QCOMPARE(launch->program, program);
        QCOMPARE(launch->workingDirectory, m_dir.path());
        QStringList keys = launch->environment.keys();
        keys.sort();
        QCOMPARE(keys, (QStringList{"ANTHROPIC_API_KEY", "HOME", "LANG", "LANGSMITH_PROJECT", "PATH"}));

        host.insert(QStringLiteral("PATH"), m_dir.path());
        auto missing = hostLaunch(deep, m_dir.path(), host);
        QVERIFY(!missing);
        QCOMPARE(missing.error().code, ErrorCode::NotFound);
        QVERIFY(missing.error().message.contains(QLatin1String("pip install deepagents-acp")));
    }

    void demoAgentAndWorkspace()
    {
        QTemporaryDir bin;
        const QString fake = makeExecutable(bin.path(), QStringLiteral("airlock-demo-agent"));
        qputenv("AIRLOCK_DEMO_AGENT", fake.toUtf8());
        QCOMPARE(locateDemoAgent(), QFileInfo(fake).canonicalFilePath());
        const auto presets = presetProfiles();
        QVERIFY(checkAvailability(presets.first()).available);
        QCOMPARE(checkAvailability(presets.first()).program, QFileInfo(fake).canonicalFilePath());

        // The workspace is found next to the agent (as the build tree lays it out) or by variable.
        qunsetenv("AIRLOCK_DEMO_WORKSPACE");
        QVERIFY(locateDemoWorkspace().isEmpty() || !locateDemoWorkspace().startsWith(bin.path()));
        QVERIFY(QDir(bin.path()).mkpath(QStringLiteral("demo-workspace")));
        QCOMPARE(locateDemoWorkspace(), QFileInfo(bin.filePath(QStringLiteral("demo-workspace"))).canonicalFilePath());
        qputenv("AIRLOCK_DEMO_WORKSPACE", QByteArray(AIRLOCK_TEST_SOURCE_DIR "/resources/demo-workspace"));
        QCOMPARE(locateDemoWorkspace(), QFileInfo(QStringLiteral(AIRLOCK_TEST_SOURCE_DIR "/resources/demo-workspace")).canonicalFilePath());

        const QString target = m_dir.filePath(QStringLiteral("demo-copy"));
        auto copied = copyDemoWorkspace(target);
        QVERIFY2(copied, copied ? "" : qPrintable(copied.error().message));
        for (const char *file : {"slugify.sh", "tests/run.sh", "tests/cases.txt", "tools/check-upstream.sh", "README.md"}) {
            const QFileInfo fi(QDir(target).filePath(QString::fromLatin1(file)));
            QVERIFY2(fi.isFile(), file);
            QVERIFY(fi.isWritable());
        }
        auto twice = copyDemoWorkspace(target);
        QVERIFY(!twice);
        QVERIFY(twice.error().message.contains(QLatin1String("not empty")));

#ifdef AIRLOCK_DEMO_AGENT_PATH
        // The real build puts the workspace beside the binary.
        qunsetenv("AIRLOCK_DEMO_WORKSPACE");
        qputenv("AIRLOCK_DEMO_AGENT", QByteArray(AIRLOCK_DEMO_AGENT_PATH));
        QCOMPARE(locateDemoWorkspace(), QFileInfo(QFileInfo(QStringLiteral(AIRLOCK_DEMO_AGENT_PATH)).absolutePath() + QStringLiteral("/demo-workspace")).canonicalFilePath());
#endif
        qunsetenv("AIRLOCK_DEMO_AGENT");
        qunsetenv("AIRLOCK_DEMO_WORKSPACE");
    }
};

QTEST_GUILESS_MAIN(TestAgentCatalogue)
#include "tst_agentcatalogue.moc"
