// The real Claude Code, isolated as a user gets it from the presets: `airlockctl agents install`, a key
// in the secret store, `airlockctl run --agent claude`. Both of Zed's adapters from npm (installed into
// <build>/agents-cache on first run, reused after) run in a real bubblewrap sandbox against the
// project's fake Anthropic Messages API (tests/helpers/fake-anthropic) over TLS with a test CA, which
// plays scripted tool_use turns. Checked: the shell ran inside; the real key reached the upstream and
// is nowhere inside the sandbox, in the workspace or in the store; a rule allowed, a rule denied (and
// that denial is not "ran outside"); an edit was checkpointed and a rewind takes the workspace back.
// Without node, npm's registry, openssl or bubblewrap, it says "skipped" and why.
#include "../docker/dockertestutil.h"
#include "policy/codec.h"
#include "policy/presets.h"
#include "sandbox/localbackend.h"
#include "claudefixture.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRandomGenerator>
#include <QScopeGuard>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

#include <sys/stat.h>

using namespace airlock;
using test::readAll;
using test::storeBytes;

class TestClaudeCode : public test::ClaudeFixture
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        prepareClaude();
    }

    void cleanupTestCase()
    {
        stopFake();
    }

    void isolatedWithTheKeyOutside_data()
    {
        QTest::addColumn<QString>("agent");
        QTest::newRow("claude-agent-acp") << QStringLiteral("claude");
        QTest::newRow("claude-code-acp") << QStringLiteral("claude-code-acp");
    }
    void isolatedWithTheKeyOutside()
    {
        QFETCH(QString, agent);
        const auto installed = ctl({QStringLiteral("agents"), QStringLiteral("install"), agent}, 400000);
        if (installed.exitCode != 0)
            QSKIP(qPrintable(QStringLiteral("the adapter could not be installed from npm (is the registry reachable?): ")
                             + QString::fromUtf8(installed.err.right(600))));
        const QString ws = m_dir.filePath(QStringLiteral("ws-") + agent);
        QVERIFY(QDir().mkpath(ws));
        ::chmod(QFile::encodeName(ws).constData(), 0777); // the sandbox's user writes here as root runs the test
        QFile readme(ws + QStringLiteral("/README.md"));
        QVERIFY(readme.open(QIODevice::WriteOnly));
        readme.write("# A project\n");
        readme.close();

        const QString look = QStringLiteral(
            "hostname > where.txt; cat /proc/1/comm >> where.txt; "
            "(env; for f in /proc/[0-9]*/environ; do tr '\\000' '\\n' < $f; echo; done) > seen-env.txt 2>/dev/null; "
            "(ls -la ~ /tmp; cat ~/.claude.json ~/.claude/*.json 2>/dev/null) > seen-home.txt 2>&1; true");
        // claude-code-acp's own Bash tool (mcp__acp__Bash, run through Airlock's terminal) requires a timeout.
        const QJsonObject bash{{QStringLiteral("command"), look}, {QStringLiteral("description"), QStringLiteral("look around")},
                               {QStringLiteral("timeout"), 60000}};
        const QJsonObject rm{{QStringLiteral("command"), QStringLiteral("rm -rf where.txt")},
                             {QStringLiteral("description"), QStringLiteral("clean up")}, {QStringLiteral("timeout"), 60000}};
        const QJsonObject write{{QStringLiteral("file_path"), QString(ws + QStringLiteral("/notes.md"))},
                                {QStringLiteral("content"), QStringLiteral("written by the agent\n")}};
        QVERIFY(startFake({QJsonObject{{QStringLiteral("tool"), QJsonObject{{QStringLiteral("name"), QStringLiteral("Bash")},
                                                                            {QStringLiteral("input"), bash}}}},
                           QJsonObject{{QStringLiteral("tool"), QJsonObject{{QStringLiteral("name"), QStringLiteral("Write")},
                                                                            {QStringLiteral("input"), write}}}},
                           QJsonObject{{QStringLiteral("tool"), QJsonObject{{QStringLiteral("name"), QStringLiteral("Bash")},
                                                                            {QStringLiteral("input"), rm}}}},
                           QJsonObject{{QStringLiteral("text"), QStringLiteral("All done.")}}}));

        const auto r = ctl({QStringLiteral("run"), QStringLiteral("--agent"), agent, QStringLiteral("--workspace"), ws,
                            QStringLiteral("--model-endpoint"), QStringLiteral("https://localhost:%1").arg(m_port),
                            QStringLiteral("--upstream-ca"), m_ca, QStringLiteral("--approve"), QStringLiteral("execute"),
                            QStringLiteral("--deny"), QStringLiteral("execute:rm *"), QStringLiteral("--approve"), QStringLiteral("edit"),
                            QStringLiteral("Look around, clean up, take notes")});
        QVERIFY2(r.exitCode == 0, QByteArray(r.out + "\n" + r.err).constData());
        // claude-agent-acp tells the model of the denial and goes on; claude-code-acp ends the turn there.
        if (agent == QLatin1String("claude"))
            QVERIFY2(r.out.contains("agent: All done."), r.out.constData());
        QVERIFY2(r.out.contains("deny by rule"), r.out.constData());

        // The shell ran in the sandbox: its host name, and the shim as pid 1.
        const QList<QByteArray> where = readAll(ws + QStringLiteral("/where.txt")).split('\n');
        QVERIFY2(where.size() >= 2, "where.txt was not written: the shell did not run");
        QCOMPARE(where.at(0), QByteArray("airlock"));
        QCOMPARE(where.at(1), QByteArray("shim"));
        // The denied rm never ran, and the Write landed.
        QCOMPARE(readAll(ws + QStringLiteral("/notes.md")), QByteArray("written by the agent\n"));

        // The key: at the upstream on every model request, nowhere inside, nowhere stored.
        const auto requests = upstreamRequests();
        int keyed = 0;
        for (const QJsonObject &req : requests) {
            const QJsonObject headers = req[QStringLiteral("headers")].toObject();
            if (!req[QStringLiteral("url")].toString().startsWith(QLatin1String("/v1/messages")))
                continue;
            QCOMPARE(headers[QStringLiteral("x-api-key")].toString().toUtf8(), m_key);
            ++keyed;
        }
        QVERIFY2(keyed >= 3, qPrintable(QString::number(keyed)));
        const QByteArray env = readAll(ws + QStringLiteral("/seen-env.txt"));
        QVERIFY2(env.contains("ANTHROPIC_API_KEY=sk-ant-airlock-placeholder"), env.left(2000).constData());
        QVERIFY2(!env.contains(m_key), "the real key was in a process environment inside the sandbox");
        QVERIFY(!readAll(ws + QStringLiteral("/seen-home.txt")).contains(m_key));
        QDir wsDir(ws);
        for (const QString &name : wsDir.entryList(QDir::Files | QDir::Hidden))
            QVERIFY2(!readAll(wsDir.filePath(name)).contains(m_key), qPrintable(name));
        QVERIFY2(!storeBytes(m_db).contains(m_key), "the real key is in the store");
        QVERIFY(!r.out.contains(m_key) && !r.err.contains(m_key));

        // Decided by rule: the look allowed, the rm denied, the write allowed; nothing "ran outside".
        QString id;
        const auto events = lastSessionEvents(&id);
        QStringList decisions;
        for (const auto &e : events) {
            if (e.kind == QLatin1String("permission.decided"))
                decisions << e.payload[QStringLiteral("decision")].toString() + u'/' + e.payload[QStringLiteral("by")].toString();
            QVERIFY2(e.kind != QLatin1String("tool.outside"), "a call was flagged as run outside the sandbox");
        }
        QVERIFY2(decisions.contains(QStringLiteral("deny/rule")), qPrintable(decisions.join(u',')));
        QVERIFY2(decisions.count(QStringLiteral("allow/rule")) >= 1, qPrintable(decisions.join(u',')));

        // Checkpoints were taken; rewinding to the first takes the agent's files away.
        const auto listed = ctl({QStringLiteral("checkpoints"), QStringLiteral("list"), QStringLiteral("--session"), id,
                                 QStringLiteral("--json")});
        QVERIFY2(listed.exitCode == 0, listed.err.constData());
        const QJsonArray checkpoints = QJsonDocument::fromJson(listed.out).array();
        QVERIFY2(checkpoints.size() >= 3, listed.out.constData());
        const QString first = checkpoints.first()[QStringLiteral("commit")].toString();
        const auto rewound = ctl({QStringLiteral("checkpoints"), QStringLiteral("rewind"), QStringLiteral("--session"), id, first});
        QVERIFY2(rewound.exitCode == 0, rewound.err.constData());
        QVERIFY(!QFile::exists(ws + QStringLiteral("/notes.md")));
        QVERIFY(!QFile::exists(ws + QStringLiteral("/where.txt")));
        QCOMPARE(readAll(ws + QStringLiteral("/README.md")), QByteArray("# A project\n"));
    }

    // A Docker daemon that may be on another machine (DOCKER_HOST over TCP with TLS; here a second
    // dockerd on a loopback port that the test starts with its own certificates): the session runs on
    // copies in volumes, the agent's install folder is copied too, the model is reached through the
    // shim's proxy tunnel, and what the agent wrote comes back to the workspace.
    void sessionOnARemoteDaemon()
    {
        if (const auto why = docker::test::dockerUnavailable())
            QSKIP(qPrintable(*why));
        const auto installed = ctl({QStringLiteral("agents"), QStringLiteral("install"), QStringLiteral("claude")}, 400000);
        if (installed.exitCode != 0)
            QSKIP(qPrintable(QStringLiteral("the adapter could not be installed from npm (is the registry reachable?): ")
                             + QString::fromUtf8(installed.err.right(600))));
        const QString script = QStringLiteral(AIRLOCK_SOURCE_DIR "/tests/docker/second-dockerd.sh");
        const QString daemonDir = m_dir.filePath(QStringLiteral("second-daemon"));
        QProcess start;
        start.start(QStringLiteral("bash"), {script, QStringLiteral("start"), daemonDir});
        QVERIFY(start.waitForFinished(90000));
        if (start.exitCode() == 77)
            QSKIP(start.readAllStandardError().trimmed().constData());
        QVERIFY2(start.exitCode() == 0, start.readAllStandardError().constData());
        const QByteArray port = start.readAllStandardOutput().trimmed();
        const auto stop = qScopeGuard([&] { QProcess::execute(QStringLiteral("bash"), {script, QStringLiteral("stop"), daemonDir}); });

        // Hardened, with a workspace the agent may write.
        policy::Policy rw = *policy::findPreset(u"hardened");
        rw.filesystem.workspace = policy::Access::ReadWrite;
        const QString policyFile = m_dir.filePath(QStringLiteral("hardened-rw.json"));
        QFile pf(policyFile);
        QVERIFY(pf.open(QIODevice::WriteOnly));
        pf.write(policy::serializePolicy(rw));
        pf.close();
        const auto imported = ctl({QStringLiteral("policy"), QStringLiteral("import"), policyFile});
        QVERIFY2(imported.exitCode == 0, imported.err.constData());

        const QString ws = m_dir.filePath(QStringLiteral("remote-ws"));
        QVERIFY(QDir().mkpath(ws));
        QFile readme(ws + QStringLiteral("/README.md"));
        QVERIFY(readme.open(QIODevice::WriteOnly));
        readme.write("# A project\n");
        readme.close();
        const QJsonObject bash{{QStringLiteral("command"), QStringLiteral("hostname > where.txt; cat README.md >> where.txt")},
                               {QStringLiteral("description"), QStringLiteral("look around")}, {QStringLiteral("timeout"), 60000}};
        QVERIFY(startFake({QJsonObject{{QStringLiteral("tool"), QJsonObject{{QStringLiteral("name"), QStringLiteral("Bash")},
                                                                            {QStringLiteral("input"), bash}}}},
                           QJsonObject{{QStringLiteral("text"), QStringLiteral("All done.")}}}));
        qputenv("DOCKER_HOST", "tcp://127.0.0.1:" + port);
        qputenv("DOCKER_TLS_VERIFY", "1");
        qputenv("DOCKER_CERT_PATH", QFile::encodeName(daemonDir + QStringLiteral("/client")));
        const auto unset = qScopeGuard([] {
            qunsetenv("DOCKER_HOST");
            qunsetenv("DOCKER_TLS_VERIFY");
            qunsetenv("DOCKER_CERT_PATH");
        });
        const auto r = ctl({QStringLiteral("run"), QStringLiteral("--agent"), QStringLiteral("claude"), QStringLiteral("--policy"),
                            QStringLiteral("hardened-rw"), QStringLiteral("--workspace"), ws, QStringLiteral("--model-endpoint"),
                            QStringLiteral("https://localhost:%1").arg(m_port), QStringLiteral("--upstream-ca"), m_ca,
                            QStringLiteral("--approve"), QStringLiteral("execute"), QStringLiteral("Look around")}, 600000);
        QVERIFY2(r.exitCode == 0, QByteArray(r.out + "\n" + r.err).constData());
        // The command ran in the container on the second daemon, and its file came back.
        QCOMPARE(readAll(ws + QStringLiteral("/where.txt")), QByteArray("airlock\n# A project\n"));
        int keyed = 0;
        for (const QJsonObject &req : upstreamRequests())
            keyed += req[QStringLiteral("url")].toString().startsWith(QLatin1String("/v1/messages")) ? 1 : 0;
        QVERIFY2(keyed >= 2, "the model was not reached through the tunnel");
        QString id;
        bool copied = false;
        for (const auto &e : lastSessionEvents(&id))
            copied = copied || e.kind == QLatin1String("sandbox.workspace_copied");
        QVERIFY2(copied, "no copy of the workspace came back");
        // Checkpoints hold what the agent did on the other machine.
        const auto listed = ctl({QStringLiteral("checkpoints"), QStringLiteral("list"), QStringLiteral("--session"), id,
                                 QStringLiteral("--json")});
        QVERIFY2(listed.exitCode == 0, listed.err.constData());
        QVERIFY2(listed.out.contains("where.txt"), listed.out.constData());
    }

    // The tool results the agent sent back to the model, in order.
    QStringList toolResults()
    {
        QStringList out;
        for (const QJsonObject &req : upstreamRequests()) {
            for (const QJsonValue &c : req[QStringLiteral("lastUser")].toObject()[QStringLiteral("content")].toArray()) {
                const QJsonObject block = c.toObject();
                if (block[QStringLiteral("type")].toString() != QLatin1String("tool_result"))
                    continue;
                const QJsonValue content = block[QStringLiteral("content")];
                QString text = content.isString() ? content.toString() : QString();
                for (const QJsonValue &part : content.toArray())
                    text += part.toObject()[QStringLiteral("text")].toString();
                if (!out.contains(text) || text.isEmpty())
                    out << (block[QStringLiteral("is_error")].toBool() ? QStringLiteral("ERROR: ") : QString()) + text;
            }
        }
        return out;
    }

    // The same from the Hardened preset: Docker, no network but the model's route, a read-only
    // workspace, uid 1000; the agent image built from this host's files when missing.
    void isolatedInDocker_data()
    {
        QTest::addColumn<QString>("agent");
        QTest::newRow("claude-agent-acp") << QStringLiteral("claude");
        QTest::newRow("claude-code-acp") << QStringLiteral("claude-code-acp");
    }
    void isolatedInDocker()
    {
        QFETCH(QString, agent);
        if (const auto why = docker::test::dockerUnavailable())
            QSKIP(qPrintable(*why));
        const auto installed = ctl({QStringLiteral("agents"), QStringLiteral("install"), agent}, 400000);
        if (installed.exitCode != 0)
            QSKIP(qPrintable(QStringLiteral("the adapter could not be installed from npm (is the registry reachable?): ")
                             + QString::fromUtf8(installed.err.right(600))));
        const QString ws = m_dir.filePath(QStringLiteral("docker-ws-") + agent);
        QVERIFY(QDir().mkpath(ws));
        QFile readme(ws + QStringLiteral("/README.md"));
        QVERIFY(readme.open(QIODevice::WriteOnly));
        readme.write("# A project\n");
        readme.close();
        const QString look = QStringLiteral(
            "hostname; cat /proc/1/comm; id -u; echo HOME=$HOME; ls -ld $HOME | cut -c1-10; "
            "for f in /proc/[0-9]*/environ; do tr '\\000' '\\n' < $f; echo; done 2>/dev/null | grep -c . ; "
            "(env; for f in /proc/[0-9]*/environ; do tr '\\000' '\\n' < $f; done) 2>/dev/null | grep ANTHROPIC_API_KEY | sort -u");
        const QJsonObject bash{{QStringLiteral("command"), look}, {QStringLiteral("description"), QStringLiteral("look around")},
                               {QStringLiteral("timeout"), 60000}};
        const QJsonObject rm{{QStringLiteral("command"), QStringLiteral("rm -rf README.md")},
                             {QStringLiteral("description"), QStringLiteral("clean up")}, {QStringLiteral("timeout"), 60000}};
        QVERIFY(startFake({QJsonObject{{QStringLiteral("tool"), QJsonObject{{QStringLiteral("name"), QStringLiteral("Bash")},
                                                                            {QStringLiteral("input"), bash}}}},
                           QJsonObject{{QStringLiteral("tool"), QJsonObject{{QStringLiteral("name"), QStringLiteral("Bash")},
                                                                            {QStringLiteral("input"), rm}}}},
                           QJsonObject{{QStringLiteral("text"), QStringLiteral("All done.")}}}));
        const auto r = ctl({QStringLiteral("run"), QStringLiteral("--agent"), agent, QStringLiteral("--policy"), QStringLiteral("hardened"),
                            QStringLiteral("--workspace"), ws, QStringLiteral("--model-endpoint"), QStringLiteral("https://localhost:%1").arg(m_port),
                            QStringLiteral("--upstream-ca"), m_ca, QStringLiteral("--approve"), QStringLiteral("execute"),
                            QStringLiteral("--deny"), QStringLiteral("execute:rm *"), QStringLiteral("Look around, then clean up")});
        QVERIFY2(r.exitCode == 0, QByteArray(r.out + "\n" + r.err).constData());
        QVERIFY2(r.err.contains("runs airlock-agent:latest"), r.err.constData());
        QVERIFY2(r.err.contains("nothing else"), r.err.constData());
        QVERIFY2(r.out.contains("deny by rule"), r.out.constData());

        const QStringList results = toolResults();
        QVERIFY2(!results.isEmpty(), "no tool result reached the model");
        // claude-code-acp puts "Exited with code 0.Final output:" before the command's own output.
        QStringList lines = results.constFirst().split(u'\n');
        while (!lines.isEmpty() && lines.constFirst() != QLatin1String("airlock"))
            lines.removeFirst();
        // In the container: its host name, Docker's init as pid 1, the policy's user, a home of its own.
        QVERIFY2(lines.size() >= 6, qPrintable(results.constFirst()));
        QCOMPARE(lines.at(0), QStringLiteral("airlock"));
        QCOMPARE(lines.at(1), QStringLiteral("docker-init"));
        QCOMPARE(lines.at(2), QStringLiteral("1000"));
        QCOMPARE(lines.at(3), QStringLiteral("HOME=/home/agent"));
        QVERIFY2(lines.at(4).startsWith(u'd'), qPrintable(results.constFirst()));
        QVERIFY2(lines.at(5).toInt() > 5, "the agent could not read the processes' environments");
        // Every process holds the placeholder; the real key is in none of them.
        QVERIFY2(results.constFirst().contains(QStringLiteral("ANTHROPIC_API_KEY=sk-ant-airlock-placeholder")), qPrintable(results.constFirst()));
        QVERIFY2(!results.join(u'\n').toUtf8().contains(m_key), "the real key was seen inside the container");
        int keyed = 0;
        for (const QJsonObject &req : upstreamRequests()) {
            if (!req[QStringLiteral("url")].toString().startsWith(QLatin1String("/v1/messages")))
                continue;
            QCOMPARE(req[QStringLiteral("headers")].toObject()[QStringLiteral("x-api-key")].toString().toUtf8(), m_key);
            ++keyed;
        }
        QVERIFY2(keyed >= 2, qPrintable(QString::number(keyed)));
        QVERIFY2(!storeBytes(m_db).contains(m_key), "the real key is in the store");
        QVERIFY(!r.out.contains(m_key) && !r.err.contains(m_key));
        // The denied rm never ran, and the read-only workspace is as it was.
        QCOMPARE(readAll(ws + QStringLiteral("/README.md")), QByteArray("# A project\n"));
        QCOMPARE(QDir(ws).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden), QStringList{QStringLiteral("README.md")});
        QString id;
        for (const auto &e : lastSessionEvents(&id))
            QVERIFY2(e.kind != QLatin1String("tool.outside"), "a call was flagged as run outside the sandbox");
    }

    // The other agents of the presets: installed, started in the sandbox, initialized and given a
    // session (no model is called until a prompt, which is where the test stops).
    void otherAgentsOpenASessionInTheSandbox_data()
    {
        QTest::addColumn<QString>("agent");
        QTest::addColumn<QString>("secret");
        QTest::newRow("gemini") << QStringLiteral("gemini") << QStringLiteral("gemini");
        QTest::newRow("codex") << QStringLiteral("codex") << QStringLiteral("openai");
    }
    void otherAgentsOpenASessionInTheSandbox()
    {
        QFETCH(QString, agent);
        QFETCH(QString, secret);
        const auto installed = ctl({QStringLiteral("agents"), QStringLiteral("install"), agent}, 400000);
        if (installed.exitCode != 0)
            QSKIP(qPrintable(QStringLiteral("%1 could not be installed from npm (is the registry reachable?): %2")
                                 .arg(agent, QString::fromUtf8(installed.err.right(400)))));
        if (!secret.isEmpty()) {
            const auto set = ctl({QStringLiteral("secrets"), QStringLiteral("set"), secret}, 30000, "AIzaFakeKeyForTheTest0123456789abcdefgh\n");
            QVERIFY2(set.exitCode == 0, set.err.constData());
        }
        const QString ws = m_dir.filePath(QStringLiteral("ws-") + agent);
        QVERIFY(QDir().mkpath(ws));
        ::chmod(QFile::encodeName(ws).constData(), 0777);
        QProcess run;
        run.start(QStringLiteral(AIRLOCKCTL_PATH), {QStringLiteral("--db"), m_db, QStringLiteral("run"), QStringLiteral("--agent"), agent,
                                                    QStringLiteral("--workspace"), ws, QStringLiteral("hi")});
        QByteArray out, err;
        const bool opened = QTest::qWaitFor([&] {
            out += run.readAllStandardOutput();
            err += run.readAllStandardError();
            return out.contains("you: hi") || run.state() == QProcess::NotRunning;
        }, 120000);
        if (run.state() != QProcess::NotRunning) {
            run.terminate(); // SIGTERM: the turn is cancelled, the sandbox goes
            QVERIFY(run.waitForFinished(30000));
        }
        out += run.readAllStandardOutput();
        err += run.readAllStandardError();
        QVERIFY(opened);
        QVERIFY2(out.contains("you: hi"), QByteArray(out + "\n" + err).constData());
        QString id;
        const auto events = lastSessionEvents(&id);
        const bool acpSession = std::any_of(events.begin(), events.end(), [](const store::Event &e) { return e.kind == QLatin1String("agent.session"); });
        QVERIFY(acpSession);
        // Codex signs in with the env_var method the placeholder key satisfies; nothing failed on the way.
        for (const auto &e : events)
            QVERIFY2(e.kind != QLatin1String("agent.error"), qPrintable(e.payload.value(QStringLiteral("message")).toString()));
    }

    // What a user sees when the model endpoint misbehaves: a clear failure, the session ended, the
    // key in no message.
    void upstreamErrorsEndCleanly_data()
    {
        QTest::addColumn<QJsonObject>("step");
        // (An HTTP error or a stream cut short is retried by Claude Code itself for about three minutes
        // before it gives up, saying so at the turn's end: too slow for the suite. The fake upstream
        // plays both by hand: {"status": 401} and {"cut": true}.)
        QTest::newRow("garbage") << QJsonObject{{QStringLiteral("garbage"), true}};
    }
    void upstreamErrorsEndCleanly()
    {
        QFETCH(QJsonObject, step);
        const auto installed = ctl({QStringLiteral("agents"), QStringLiteral("install"), QStringLiteral("claude")}, 400000);
        if (installed.exitCode != 0)
            QSKIP("the adapter could not be installed from npm (is the registry reachable?)");
        QJsonArray turns;
        for (int i = 0; i < 12; ++i) // the agent retries; every try gets the same
            turns.append(step);
        QVERIFY(startFake(turns));
        const QString ws = m_dir.filePath(QStringLiteral("ws-bad-") + QString::fromLatin1(QTest::currentDataTag()));
        QVERIFY(QDir().mkpath(ws));
        ::chmod(QFile::encodeName(ws).constData(), 0777);
        const auto r = ctl({QStringLiteral("run"), QStringLiteral("--agent"), QStringLiteral("claude"), QStringLiteral("--workspace"), ws,
                            QStringLiteral("--model-endpoint"), QStringLiteral("https://localhost:%1").arg(m_port),
                            QStringLiteral("--upstream-ca"), m_ca, QStringLiteral("hello")},
                           240000);
        QVERIFY2(r.exitCode != -1, "airlockctl run did not end");
        QVERIFY(!r.out.contains(m_key) && !r.err.contains(m_key));
        QVERIFY(!storeBytes(m_db).contains(m_key));
        QString id;
        const auto events = lastSessionEvents(&id);
        QString state;
        for (const auto &e : events)
            if (e.kind == QLatin1String("session.state"))
                state = e.payload[QStringLiteral("state")].toString();
        QVERIFY2(state == QLatin1String("ended") || state == QLatin1String("failed"), qPrintable(state));
        QVERIFY2(r.out.contains("— turn ended") || r.err.contains("airlockctl:"), r.out.constData());
    }

    // Claude Code retries a failing model API for minutes before it says anything; the session says
    // what fails as it happens (from the proxy's keyed route), with what to do, and never the key.
    void modelFailuresAreSaidLive_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QByteArray>("said");
        QTest::newRow("401") << QStringLiteral("401") << QByteArray("refused the key (HTTP 401): store the right one with airlockctl secrets set anthropic");
        QTest::newRow("429") << QStringLiteral("429") << QByteArray("is rate-limiting this key (HTTP 429); the agent retries");
        QTest::newRow("500") << QStringLiteral("500") << QByteArray("failed (HTTP 500); the agent retries");
        QTest::newRow("down") << QStringLiteral("down") << QByteArray("cannot reach the model API at localhost");
        // Listed, but its value gone (a keychain locked or wiped after it was stored): nothing goes out.
        QTest::newRow("key gone") << QStringLiteral("200") << QByteArray("the key for the model API at localhost is not available, "
                                                                         "so no request went out");
    }
    void modelFailuresAreSaidLive()
    {
        QFETCH(QString, kind);
        QFETCH(QByteArray, said);
        const auto installed = ctl({QStringLiteral("agents"), QStringLiteral("install"), QStringLiteral("claude")}, 400000);
        if (installed.exitCode != 0)
            QSKIP("the adapter could not be installed from npm (is the registry reachable?)");
        int port = 0;
        if (kind == QLatin1String("down")) {
            QTcpServer closed; // a port nothing listens on once this is gone
            QVERIFY(closed.listen(QHostAddress::LocalHost));
            port = closed.serverPort();
        } else {
            QJsonArray turns;
            for (int i = 0; i < 20; ++i)
                turns.append(QJsonObject{{QStringLiteral("status"), kind.toInt()}});
            QVERIFY(startFake(turns));
            port = m_port;
        }
        const QString ws = m_dir.filePath(QStringLiteral("ws-model-") + kind);
        QVERIFY(QDir().mkpath(ws));
        ::chmod(QFile::encodeName(ws).constData(), 0777);
        QProcess run;
        if (QLatin1String(QTest::currentDataTag()) == QLatin1String("key gone")) {
            const QString secrets = m_dir.filePath(QStringLiteral("secrets-key-gone"));
            QVERIFY(QDir().mkpath(secrets));
            QFile index(secrets + QStringLiteral("/index.json"));
            QVERIFY(index.open(QIODevice::WriteOnly));
            index.write(R"({"secrets": [{"name": "anthropic", "place": "keychain", "updated": 0}]})");
            index.close();
            QVERIFY(index.setPermissions(QFile::ReadOwner | QFile::WriteOwner));
            QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
            env.insert(QStringLiteral("AIRLOCK_SECRETS_DIR"), secrets);
            run.setProcessEnvironment(env);
        }
        run.start(QStringLiteral(AIRLOCKCTL_PATH), {QStringLiteral("--db"), m_db, QStringLiteral("run"), QStringLiteral("--agent"),
                                                    QStringLiteral("claude"), QStringLiteral("--workspace"), ws,
                                                    QStringLiteral("--model-endpoint"), QStringLiteral("https://localhost:%1").arg(port),
                                                    QStringLiteral("--upstream-ca"), m_ca, QStringLiteral("hi")});
        QByteArray out, err;
        const bool told = QTest::qWaitFor([&] {
            out += run.readAllStandardOutput();
            err += run.readAllStandardError();
            return out.contains(said) || run.state() == QProcess::NotRunning;
        }, 120000);
        if (run.state() != QProcess::NotRunning) {
            run.terminate();
            QVERIFY(run.waitForFinished(30000));
        }
        out += run.readAllStandardOutput();
        err += run.readAllStandardError();
        QVERIFY2(told && out.contains(said), QByteArray(out + "\n" + err).constData());
        QVERIFY(!out.contains(m_key) && !err.contains(m_key));
        QVERIFY(!storeBytes(m_db).contains(m_key));
        QString id;
        const auto events = lastSessionEvents(&id);
        QVERIFY(std::any_of(events.begin(), events.end(), [](const store::Event &e) { return e.kind == QLatin1String("model.failed"); }));
    }
};

QTEST_GUILESS_MAIN(TestClaudeCode)
#include "tst_claude_code.moc"
