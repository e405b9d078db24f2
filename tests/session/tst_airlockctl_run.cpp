// `airlockctl run`, as a user or a script runs it: the demo agent fixes the demo workspace's failing
// test in a real bubblewrap sandbox; approvals come from rule flags or are refused without a
// terminal; the exit status says how the turn ended; the store holds the whole story afterwards.
#include "store/storereader.h"
#include "testutil.h"

#include <QDir>
#include <QDirIterator>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

using namespace airlock;

namespace {
bool copyTree(const QString &from, const QString &to)
{
    QDir().mkpath(to);
    QDirIterator it(from, QDir::Files | QDir::Dirs | QDir::NoDotAndDotDot | QDir::Hidden, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString path = it.next();
        const QString target = to + u'/' + QDir(from).relativeFilePath(path);
        if (it.fileInfo().isDir()) {
            QDir().mkpath(target);
        } else if (!QFile::copy(path, target)) {
            return false;
        } else {
            QFile::setPermissions(target, QFile(path).permissions());
        }
    }
    return true;
}
} // namespace

class TestAirlockctlRun : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_db;
    int m_workspaces = 0;

    test::Run ctl(const QStringList &args, int timeoutMs = 120000)
    {
        return test::run(QStringLiteral(AIRLOCKCTL_PATH), QStringList{QStringLiteral("--db"), m_db} + args, timeoutMs);
    }
    QString freshWorkspace()
    {
        const QString ws = m_dir.filePath(QStringLiteral("ws%1").arg(++m_workspaces));
        if (!copyTree(QStringLiteral(AIRLOCK_TEST_SOURCE_DIR "/resources/demo-workspace"), ws))
            return {};
        return ws;
    }
    // The newest session's events, from the store as another reader sees it.
    QList<store::Event> lastSessionEvents(QString *id = nullptr)
    {
        auto reader = store::StoreReader::open(m_db);
        if (!reader)
            return {};
        auto sessions = reader->sessions();
        if (!sessions || sessions->isEmpty())
            return {};
        const auto newest = std::max_element(sessions->begin(), sessions->end(),
                                             [](const auto &a, const auto &b) { return a.firstSeq < b.firstSeq; });
        if (id)
            *id = newest->id;
        store::EventQuery q;
        q.session = newest->id;
        q.limit = 100000;
        auto events = reader->events(q);
        return events ? *events : QList<store::Event>{};
    }
    static QList<store::Event> ofKind(const QList<store::Event> &all, const QString &kind)
    {
        QList<store::Event> out;
        for (const auto &e : all)
            if (e.kind == kind)
                out << e;
        return out;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_db = m_dir.filePath(QStringLiteral("run.db"));
        // The sandboxes' runtime folder too, so what a killed process leaves is the test's to check.
        qputenv("AIRLOCK_RUNTIME_DIR", QFile::encodeName(m_dir.filePath(QStringLiteral("run"))));
        if (QStandardPaths::findExecutable(QStringLiteral("bwrap")).isEmpty())
            QSKIP("bubblewrap is not installed (apt install bubblewrap), so no session can start");
        // The demo agent without its pauses, so the test is quick.
        auto r = ctl({QStringLiteral("agents"), QStringLiteral("add"), QStringLiteral("fast-demo"), QStringLiteral("--placement"),
                      QStringLiteral("host"), QStringLiteral("--"), QStringLiteral(AIRLOCK_DEMO_AGENT_PATH), QStringLiteral("--pace-ms"),
                      QStringLiteral("0")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        r = ctl({QStringLiteral("agents"), QStringLiteral("add"), QStringLiteral("crashing-demo"), QStringLiteral("--placement"),
                 QStringLiteral("host"), QStringLiteral("--"), QStringLiteral(AIRLOCK_DEMO_AGENT_PATH), QStringLiteral("--pace-ms"),
                 QStringLiteral("0"), QStringLiteral("--crash-mid-turn")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
    }

    void approvedByRulesFixesTheTest()
    {
        const QString ws = freshWorkspace();
        QVERIFY(!ws.isEmpty());
        const auto r = ctl({QStringLiteral("run"), QStringLiteral("--agent"), QStringLiteral("fast-demo"), QStringLiteral("--workspace"), ws,
                            QStringLiteral("--approve"), QStringLiteral("execute"), QStringLiteral("--approve"), QStringLiteral("edit"),
                            QStringLiteral("Fix the failing test")});
        QVERIFY2(r.exitCode == 0, QByteArray(r.out + r.err).constData());
        QVERIFY2(r.out.contains("you: Fix the failing test"), r.out.constData());
        QVERIFY2(r.out.contains("— turn ended: end_turn"), r.out.constData());
        QVERIFY2(r.out.contains("All tests pass now."), r.out.constData());
        // Placement is said before the session starts: this agent runs on the host.
        QVERIFY2(r.err.contains("warning: fast-demo runs on the host"), r.err.constData());

        // The fix is in the workspace, made inside the sandbox, and the tests pass on the host too.
        const auto tests = test::run(QStringLiteral("sh"), {ws + QStringLiteral("/tests/run.sh")});
        QVERIFY2(tests.exitCode == 0, QByteArray(tests.out + tests.err).constData());

        QString id;
        const auto events = lastSessionEvents(&id);
        QVERIFY(!events.isEmpty());
        QCOMPARE(ofKind(events, QStringLiteral("turn.ended")).size(), 1);
        QCOMPARE(ofKind(events, QStringLiteral("turn.ended")).first().payload[QStringLiteral("stopReason")].toString(), QStringLiteral("end_turn"));
        // Every edit and command was decided by the flag's rule, which is named.
        const auto decided = ofKind(events, QStringLiteral("permission.decided"));
        QVERIFY(!decided.isEmpty());
        for (const auto &d : decided) {
            QCOMPARE(d.payload[QStringLiteral("decision")].toString(), QStringLiteral("allow"));
            QCOMPARE(d.payload[QStringLiteral("by")].toString(), QStringLiteral("rule"));
        }
        // Checkpoints: the workspace as it was, then after the edit.
        const auto checkpoints = ofKind(events, QStringLiteral("checkpoint.created"));
        QVERIFY2(checkpoints.size() >= 2, QByteArray::number(checkpoints.size()));
        QCOMPARE(checkpoints.first().payload[QStringLiteral("cause")].toString(), QStringLiteral("start"));
        bool afterEdit = false;
        for (const auto &c : checkpoints)
            afterEdit |= c.payload[QStringLiteral("cause")].toString() == QLatin1String("tool")
                && c.payload[QStringLiteral("files")].toArray().first()[QStringLiteral("path")].toString() == QLatin1String("slugify.sh");
        QVERIFY(afterEdit);
        const auto states = ofKind(events, QStringLiteral("session.state"));
        QCOMPARE(states.last().payload[QStringLiteral("state")].toString(), QStringLiteral("ended"));
        // The fetch of the last step never left: the Standard preset allows no host.
        bool fetchFailed = false;
        for (const auto &e : ofKind(events, QStringLiteral("agent.update"))) {
            const QJsonObject u = e.payload[QStringLiteral("update")].toObject();
            if (u[QStringLiteral("sessionUpdate")].toString() == QLatin1String("tool_call_update")
                && u[QStringLiteral("toolCallId")].toString() == QLatin1String("call-6"))
                fetchFailed |= u[QStringLiteral("status")].toString() == QLatin1String("failed");
        }
        QVERIFY(fetchFailed);
        // It went to the session's egress proxy, which refused it and recorded the decision.
        const auto egress = ofKind(events, QStringLiteral("egress.connection"));
        QVERIFY(!egress.isEmpty());
        QCOMPARE(egress.first().payload[QStringLiteral("host")].toString(), QStringLiteral("example.com"));
        QCOMPARE(egress.first().payload[QStringLiteral("decision")].toString(), QStringLiteral("deny"));

        // The history is there for airlockctl too.
        const auto list = ctl({QStringLiteral("checkpoints"), QStringLiteral("list"), QStringLiteral("--session"), id});
        QVERIFY2(list.exitCode == 0, list.err.constData());
        QVERIFY2(list.out.contains("session start"), list.out.constData());
    }

    void withoutATerminalAskIsRefused()
    {
        const QString ws = freshWorkspace();
        const QByteArray before = test::fileHash(ws + QStringLiteral("/slugify.sh"));
        const auto r = ctl({QStringLiteral("run"), QStringLiteral("--agent"), QStringLiteral("fast-demo"), QStringLiteral("--workspace"), ws,
                            QStringLiteral("Fix the failing test")});
        QVERIFY2(r.exitCode == 0, QByteArray(r.out + r.err).constData());
        QVERIFY2(r.err.contains("no terminal to ask; pass --approve"), r.err.constData());
        const auto events = lastSessionEvents();
        const auto decided = ofKind(events, QStringLiteral("permission.decided"));
        QVERIFY(!decided.isEmpty());
        QCOMPARE(decided.first().payload[QStringLiteral("decision")].toString(), QStringLiteral("deny"));
        QVERIFY(!ofKind(events, QStringLiteral("permission.requested")).isEmpty());
        QCOMPARE(test::fileHash(ws + QStringLiteral("/slugify.sh")), before); // nothing was edited
    }

    void denyRuleRefusesWithoutAsking()
    {
        const QString ws = freshWorkspace();
        const QByteArray before = test::fileHash(ws + QStringLiteral("/slugify.sh"));
        const auto r = ctl({QStringLiteral("run"), QStringLiteral("--agent"), QStringLiteral("fast-demo"), QStringLiteral("--workspace"), ws,
                            QStringLiteral("--approve"), QStringLiteral("execute"), QStringLiteral("--deny"), QStringLiteral("edit"),
                            QStringLiteral("--json"), QStringLiteral("Fix the failing test")});
        QVERIFY2(r.exitCode == 0, QByteArray(r.out + r.err).constData());
        QVERIFY(!r.err.contains("no terminal"));
        // --json: one event per line, each a JSON object with a kind.
        const QList<QByteArray> lines = r.out.trimmed().split('\n');
        QVERIFY(lines.size() > 10);
        bool deniedEdit = false;
        for (const QByteArray &line : lines) {
            QJsonParseError error;
            const QJsonObject o = QJsonDocument::fromJson(line, &error).object();
            QVERIFY2(error.error == QJsonParseError::NoError, line.constData());
            QVERIFY(!o[QStringLiteral("kind")].toString().isEmpty());
            if (o[QStringLiteral("kind")].toString() == QLatin1String("permission.decided"))
                deniedEdit |= o[QStringLiteral("payload")][QStringLiteral("decision")].toString() == QLatin1String("deny")
                    && o[QStringLiteral("payload")][QStringLiteral("by")].toString() == QLatin1String("rule");
        }
        QVERIFY(deniedEdit);
        QCOMPARE(test::fileHash(ws + QStringLiteral("/slugify.sh")), before);
    }

    void protectedNameIsNotWrittenEvenWhenAllowed()
    {
        // fs/write_text_file to a protected name is refused before any rule is asked: here the policy adds
        // slugify.sh to the protected names and --approve edit allows every edit.
        const auto shown = ctl({QStringLiteral("policy"), QStringLiteral("export"), QStringLiteral("standard")});
        QVERIFY2(shown.exitCode == 0, shown.err.constData());
        QJsonObject doc = QJsonDocument::fromJson(shown.out).object();
        QJsonObject fs = doc[QStringLiteral("filesystem")].toObject();
        QJsonArray names = fs[QStringLiteral("protectedPaths")].toArray();
        names.append(QStringLiteral("slugify.sh"));
        fs[QStringLiteral("protectedPaths")] = names;
        doc[QStringLiteral("filesystem")] = fs;
        const QString file = m_dir.filePath(QStringLiteral("guarded.json"));
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QJsonDocument(doc).toJson());
        f.close();
        auto r = ctl({QStringLiteral("policy"), QStringLiteral("import"), file, QStringLiteral("--name"), QStringLiteral("guarded")});
        QVERIFY2(r.exitCode == 0, r.err.constData());

        const QString ws = freshWorkspace();
        const QByteArray before = test::fileHash(ws + QStringLiteral("/slugify.sh"));
        r = ctl({QStringLiteral("run"), QStringLiteral("--agent"), QStringLiteral("fast-demo"), QStringLiteral("--policy"),
                 QStringLiteral("guarded"), QStringLiteral("--workspace"), ws, QStringLiteral("--approve"), QStringLiteral("execute"),
                 QStringLiteral("--approve"), QStringLiteral("edit"), QStringLiteral("Fix it")});
        QVERIFY2(r.out.contains("Writing the fix failed:") && r.out.contains("is protected (slugify.sh)"),
                 QByteArray(r.out + r.err).constData());
        QCOMPARE(test::fileHash(ws + QStringLiteral("/slugify.sh")), before);
    }

    void guardrailStopsTheSession()
    {
        // A policy allowing two tool calls: the third trips the guardrail, exit status 5.
        const auto shown = ctl({QStringLiteral("policy"), QStringLiteral("export"), QStringLiteral("standard")});
        QVERIFY2(shown.exitCode == 0, shown.err.constData());
        QJsonObject doc = QJsonDocument::fromJson(shown.out).object();
        QJsonObject guardrails = doc[QStringLiteral("guardrails")].toObject();
        guardrails[QStringLiteral("maxToolCalls")] = 2;
        doc[QStringLiteral("guardrails")] = guardrails;
        const QString file = m_dir.filePath(QStringLiteral("tight.json"));
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QJsonDocument(doc).toJson());
        f.close();
        auto r = ctl({QStringLiteral("policy"), QStringLiteral("import"), file, QStringLiteral("--name"), QStringLiteral("tight")});
        QVERIFY2(r.exitCode == 0, r.err.constData());

        r = ctl({QStringLiteral("run"), QStringLiteral("--agent"), QStringLiteral("fast-demo"), QStringLiteral("--policy"), QStringLiteral("tight"),
                 QStringLiteral("--workspace"), freshWorkspace(), QStringLiteral("--approve"), QStringLiteral("execute"), QStringLiteral("Fix it")});
        QVERIFY2(r.exitCode == 5, QByteArray(r.out + r.err).constData());
        const auto events = lastSessionEvents();
        const auto tripped = ofKind(events, QStringLiteral("guardrail.tripped"));
        QCOMPARE(tripped.size(), 1);
        QCOMPARE(tripped.first().payload[QStringLiteral("guardrail")].toString(), QStringLiteral("maxToolCalls"));
        QCOMPARE(ofKind(events, QStringLiteral("session.state")).last().payload[QStringLiteral("state")].toString(), QStringLiteral("ended"));
    }

    void agentCrashFailsCleanly()
    {
        const auto r = ctl({QStringLiteral("run"), QStringLiteral("--agent"), QStringLiteral("crashing-demo"), QStringLiteral("--workspace"),
                            freshWorkspace(), QStringLiteral("Fix it")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains("the agent went away"), r.err.constData());
        const auto events = lastSessionEvents();
        // What came before the crash is kept, and the session says it failed.
        QVERIFY(!ofKind(events, QStringLiteral("agent.update")).isEmpty());
        QCOMPARE(ofKind(events, QStringLiteral("session.state")).last().payload[QStringLiteral("state")].toString(), QStringLiteral("failed"));
        QCOMPARE(ofKind(events, QStringLiteral("turn.ended")).last().payload[QStringLiteral("stopReason")].toString(), QStringLiteral("error"));
    }

    void clearErrors()
    {
        auto r = ctl({QStringLiteral("run"), QStringLiteral("--agent"), QStringLiteral("fast-demo"), QStringLiteral("--workspace"),
                      m_dir.filePath(QStringLiteral("missing")), QStringLiteral("x")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains("is not an existing folder"), r.err.constData());
        r = ctl({QStringLiteral("run"), QStringLiteral("--agent"), QStringLiteral("nobody"), QStringLiteral("x")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains("no agent named 'nobody'"), r.err.constData());
        r = ctl({QStringLiteral("run"), QStringLiteral("--agent"), QStringLiteral("fast-demo")});
        QCOMPARE(r.exitCode, 2);
        r = ctl({QStringLiteral("run"), QStringLiteral("--approve"), QStringLiteral("teleport"), QStringLiteral("x")});
        QVERIFY(r.exitCode != 0);
        QVERIFY2(r.err.contains("names no tool kind"), r.err.constData());
    }

    void forkContinuesTheConversation()
    {
        // A finished session, forked at its first checkpoint into a new folder, then run again: the
        // fork's workspace is the unfixed project, and its agent is given the parent's conversation.
        const QString ws = freshWorkspace();
        auto r = ctl({QStringLiteral("run"), QStringLiteral("--agent"), QStringLiteral("fast-demo"), QStringLiteral("--workspace"), ws,
                      QStringLiteral("--approve"), QStringLiteral("execute"), QStringLiteral("--approve"), QStringLiteral("edit"),
                      QStringLiteral("Fix the failing test")});
        QVERIFY2(r.exitCode == 0, QByteArray(r.out + r.err).constData());
        QString parent;
        (void)lastSessionEvents(&parent);
        r = ctl({QStringLiteral("checkpoints"), QStringLiteral("list"), QStringLiteral("--session"), parent, QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonArray history = QJsonDocument::fromJson(r.out).array();
        QVERIFY(!history.isEmpty());
        const QJsonObject start = history.first().toObject();
        QCOMPARE(start[QStringLiteral("cause")].toString(), QStringLiteral("start"));

        const QString folder = m_dir.filePath(QStringLiteral("fork-ws"));
        r = ctl({QStringLiteral("checkpoints"), QStringLiteral("fork"), QStringLiteral("--session"), parent,
                 start[QStringLiteral("commit")].toString().left(12), QStringLiteral("--into"), folder, QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QString fork = QJsonDocument::fromJson(r.out).object()[QStringLiteral("session")].toString();
        QVERIFY(!fork.isEmpty());
        QVERIFY(test::run(QStringLiteral("sh"), {folder + QStringLiteral("/tests/run.sh")}).exitCode != 0); // unfixed again

        r = ctl({QStringLiteral("run"), QStringLiteral("--session"), fork, QStringLiteral("--approve"), QStringLiteral("execute"),
                 QStringLiteral("--approve"), QStringLiteral("edit"), QStringLiteral("Fix the failing test")});
        QVERIFY2(r.exitCode == 0, QByteArray(r.out + r.err).constData());
        QCOMPARE(test::run(QStringLiteral("sh"), {folder + QStringLiteral("/tests/run.sh")}).exitCode, 0);
        QCOMPARE(test::run(QStringLiteral("sh"), {ws + QStringLiteral("/tests/run.sh")}).exitCode, 0); // the parent's stays fixed

        auto reader = store::StoreReader::open(m_db);
        QVERIFY(reader);
        auto row = reader->session(fork);
        QVERIFY(row && *row);
        QCOMPARE((*row)->parent, parent);
        QCOMPARE((*row)->workspace, folder);
        store::EventQuery q;
        q.session = fork;
        q.limit = 100000;
        const auto turns = ofKind(reader->events(q).value(), QStringLiteral("turn.started"));
        QCOMPARE(turns.size(), 1);
        const QJsonObject context = turns.first().payload[QStringLiteral("context")].toObject();
        QCOMPARE(context[QStringLiteral("session")].toString(), parent);
        QVERIFY(context[QStringLiteral("chars")].toInt() > 100);

        // A live session cannot be continued from elsewhere; an unknown one is named.
        r = ctl({QStringLiteral("run"), QStringLiteral("--session"), QStringLiteral("nope"), QStringLiteral("x")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains("no session nope"), r.err.constData());
    }

    void resumeWithSessionLoad()
    {
        // An agent that keeps its sessions (the demo agent with a state folder) offers session/load:
        // running an ended session again reopens the agent's own session instead of sending a
        // transcript, and the replayed history is not stored twice.
        const QString state = m_dir.filePath(QStringLiteral("agent-state"));
        auto r = ctl({QStringLiteral("agents"), QStringLiteral("add"), QStringLiteral("keeping-demo"), QStringLiteral("--placement"),
                      QStringLiteral("host"), QStringLiteral("--"), QStringLiteral(AIRLOCK_DEMO_AGENT_PATH), QStringLiteral("--pace-ms"),
                      QStringLiteral("0"), QStringLiteral("--state-dir"), state});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        r = ctl({QStringLiteral("run"), QStringLiteral("--agent"), QStringLiteral("keeping-demo"), QStringLiteral("--workspace"),
                 freshWorkspace(), QStringLiteral("--approve"), QStringLiteral("execute"), QStringLiteral("--approve"),
                 QStringLiteral("edit"), QStringLiteral("Fix the failing test")});
        QVERIFY2(r.exitCode == 0, QByteArray(r.out + r.err).constData());
        QString id;
        const int updatesBefore = int(ofKind(lastSessionEvents(&id), QStringLiteral("agent.update")).size());

        r = ctl({QStringLiteral("run"), QStringLiteral("--session"), id, QStringLiteral("--approve"), QStringLiteral("execute"),
                 QStringLiteral("--approve"), QStringLiteral("edit"), QStringLiteral("Check it once more")});
        QVERIFY2(r.exitCode == 0, QByteArray(r.out + r.err).constData());
        auto reader = store::StoreReader::open(m_db);
        store::EventQuery q;
        q.session = id;
        q.limit = 100000;
        const QList<store::Event> events = reader->events(q).value();
        const auto opened = ofKind(events, QStringLiteral("agent.session"));
        QCOMPARE(opened.size(), 2);
        QVERIFY(opened.first().payload[QStringLiteral("loadable")].toBool());
        QVERIFY(opened.last().payload[QStringLiteral("loaded")].toBool());
        QCOMPARE(opened.last().payload[QStringLiteral("acpSession")], opened.first().payload[QStringLiteral("acpSession")]);
        const auto turns = ofKind(events, QStringLiteral("turn.started"));
        QCOMPARE(turns.size(), 2);
        QVERIFY(!turns.last().payload.contains(QStringLiteral("context"))); // the agent had its own history
        // Only the second turn's updates were added, not a replay of the first.
        const int updatesAfter = int(ofKind(events, QStringLiteral("agent.update")).size());
        QVERIFY2(updatesAfter - updatesBefore < updatesBefore, qPrintable(QStringLiteral("%1 then %2").arg(updatesBefore).arg(updatesAfter)));
    }

    void killedSessionIsMarkedFailed()
    {
        // airlockctl killed mid-turn (its agent never answers the prompt) leaves its session "running" in the store; the next process
        // that starts sessions sees its owner is gone and marks it failed, saying why.
        auto r = ctl({QStringLiteral("agents"), QStringLiteral("add"), QStringLiteral("silent-demo"), QStringLiteral("--placement"),
                      QStringLiteral("host"), QStringLiteral("--"), QStringLiteral(AIRLOCK_DEMO_AGENT_PATH), QStringLiteral("--silence"),
                      QStringLiteral("prompt")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QString before;
        (void)lastSessionEvents(&before);
        QProcess victim;
        victim.start(QStringLiteral(AIRLOCKCTL_PATH), {QStringLiteral("--db"), m_db, QStringLiteral("run"), QStringLiteral("--agent"),
                                                       QStringLiteral("silent-demo"), QStringLiteral("--workspace"), freshWorkspace(),
                                                       QStringLiteral("--approve"), QStringLiteral("execute"), QStringLiteral("Fix it")});
        QVERIFY(victim.waitForStarted());
        QString id;
        // Until the victim's transcript shows its turn has started (its own output, not the store).
        QByteArray transcript;
        const bool started = QTest::qWaitFor([&] {
            transcript += victim.readAllStandardOutput();
            return transcript.contains("you: Fix it");
        }, 30000);
        QVERIFY2(started, qPrintable(victim.readAllStandardError()));
        QVERIFY(!ofKind(lastSessionEvents(&id), QStringLiteral("turn.started")).isEmpty());
        QVERIFY(id != before);
        victim.kill();
        QVERIFY(victim.waitForFinished());
        auto reader = store::StoreReader::open(m_db);
        QCOMPARE(reader->session(id).value()->state, QStringLiteral("running"));

        r = ctl({QStringLiteral("run"), QStringLiteral("--agent"), QStringLiteral("fast-demo"), QStringLiteral("--workspace"),
                 freshWorkspace(), QStringLiteral("--approve"), QStringLiteral("execute"), QStringLiteral("--approve"),
                 QStringLiteral("edit"), QStringLiteral("Fix it")});
        QVERIFY2(r.exitCode == 0, QByteArray(r.out + r.err).constData());
        // The victim's sandbox died with it (its bwrap had --die-with-parent); what it left on the host,
        // its runtime folder and cgroups, went when the next run started.
        const QStringList left = QDir(m_dir.filePath(QStringLiteral("run/sandboxes"))).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
        QVERIFY2(left.isEmpty(), qPrintable(left.join(u' ')));
        reader = store::StoreReader::open(m_db);
        QCOMPARE(reader->session(id).value()->state, QStringLiteral("failed"));
        store::EventQuery q;
        q.session = id;
        q.kind = QStringLiteral("session.state");
        q.newest = true;
        q.limit = 1;
        const QString reason = reader->events(q).value().first().payload[QStringLiteral("reason")].toString();
        QVERIFY2(reason.contains(QLatin1String("is gone")), qPrintable(reason));
    }
};

QTEST_GUILESS_MAIN(TestAirlockctlRun)
#include "tst_airlockctl_run.moc"
