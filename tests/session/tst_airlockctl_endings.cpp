// How an `airlockctl run` ends when it does not end well: killed mid-turn, interrupted (once, then
// again), an agent that closes its output or goes silent, and owners that died; each leaves the store
// saying why, the exit status says how, and no sandbox is left behind. The demo agent and small
// scripted agents in real bubblewrap sandboxes.
#include "sandbox/localbackend.h"
#include "session/sessionowner.h"
#include "store/storereader.h"
#include "runfixture.h"
#include "testutil.h"

#include <QDir>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <sys/stat.h>

using namespace airlock;

class TestAirlockctlEndings : public test::RunFixture
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_db = m_dir.filePath(QStringLiteral("run.db"));
        // As root the sandboxes run as another user, whose bwrap must pass through to the runtime folder.
        ::chmod(QFile::encodeName(m_dir.path()).constData(), 0711);
        // The sandboxes' runtime folder too, so what a killed process leaves is the test's to check.
        qputenv("AIRLOCK_RUNTIME_DIR", QFile::encodeName(m_dir.filePath(QStringLiteral("run"))));
        if (QStandardPaths::findExecutable(QStringLiteral("bwrap")).isEmpty())
            QSKIP("bubblewrap is not installed (apt install bubblewrap), so no session can start");
        // Installed is not enough: the kernel may refuse its namespaces (no user namespaces for
        // this user, a sysctl or an LSM that restricts them).
        if (const auto probe = sandbox::LocalBackend::probeBwrap(); !probe)
            QSKIP(qPrintable(QStringLiteral("bubblewrap cannot create sandboxes here, so no session can start: ") + probe.error().message));
        // The demo agent without its pauses, so the test is quick.
        auto r = ctl({QStringLiteral("agents"), QStringLiteral("add"), QStringLiteral("fast-demo"), QStringLiteral("--placement"),
                      QStringLiteral("host"), QStringLiteral("--"), QStringLiteral(AIRLOCK_DEMO_AGENT_PATH), QStringLiteral("--pace-ms"),
                      QStringLiteral("0")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        r = ctl({QStringLiteral("agents"), QStringLiteral("add"), QStringLiteral("crashing-demo"), QStringLiteral("--placement"),
                 QStringLiteral("host"), QStringLiteral("--"), QStringLiteral(AIRLOCK_DEMO_AGENT_PATH), QStringLiteral("--pace-ms"),
                 QStringLiteral("0"), QStringLiteral("--crash-mid-turn")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        // One that answers nothing once asked for a turn, and one slow enough to be interrupted mid-turn.
        r = ctl({QStringLiteral("agents"), QStringLiteral("add"), QStringLiteral("quiet-demo"), QStringLiteral("--placement"),
                 QStringLiteral("host"), QStringLiteral("--"), QStringLiteral(AIRLOCK_DEMO_AGENT_PATH), QStringLiteral("--silence"),
                 QStringLiteral("prompt")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        r = ctl({QStringLiteral("agents"), QStringLiteral("add"), QStringLiteral("paced-demo"), QStringLiteral("--placement"),
                 QStringLiteral("host"), QStringLiteral("--"), QStringLiteral(AIRLOCK_DEMO_AGENT_PATH), QStringLiteral("--pace-ms"),
                 QStringLiteral("1000")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        // An agent that opens a session, then closes its output when given a turn and lives on.
        const QString script = m_dir.filePath(QStringLiteral("mute-agent.sh"));
        QFile f(script);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("while IFS= read -r line; do\n"
                "  id=$(printf '%s' \"$line\" | sed -n 's/^{\"id\":\\([0-9]*\\),.*/\\1/p')\n"
                "  case \"$line\" in\n"
                "    *'\"method\":\"initialize\"'*) printf '{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"protocolVersion\":1}}\\n' \"$id\" ;;\n"
                "    *'\"method\":\"session/new\"'*) printf '{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"sessionId\":\"m1\"}}\\n' \"$id\" ;;\n"
                "    *'\"method\":\"session/prompt\"'*) exec >&-; exec sleep 600 ;;\n"
                "  esac\n"
                "done\n");
        f.close();
        r = ctl({QStringLiteral("agents"), QStringLiteral("add"), QStringLiteral("mute-agent"), QStringLiteral("--placement"),
                 QStringLiteral("host"), QStringLiteral("--"), QStringLiteral("/bin/sh"), script});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        // The same inside the sandbox, where only the shim sees its output end.
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QString inline_ = QString::fromUtf8(f.readAll());
        f.close();
        r = ctl({QStringLiteral("agents"), QStringLiteral("add"), QStringLiteral("mute-boxed-agent"), QStringLiteral("--placement"),
                 QStringLiteral("sandbox"), QStringLiteral("--"), QStringLiteral("/bin/sh"), QStringLiteral("-c"), inline_});
        QVERIFY2(r.exitCode == 0, r.err.constData());
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

    void interruptCancelsTheTurn_data()
    {
        QTest::addColumn<int>("sig");
        QTest::addColumn<QString>("agent");
        QTest::addColumn<int>("code");
        // The agent ends the cancelled turn itself; a silent one is stopped after the grace period.
        QTest::newRow("SIGINT, agent cancels") << int(SIGINT) << QStringLiteral("paced-demo") << 130;
        QTest::newRow("SIGTERM, agent silent") << int(SIGTERM) << QStringLiteral("quiet-demo") << 143;
    }

    void interruptCancelsTheTurn()
    {
        // Ctrl-C (or SIGTERM) mid-turn: the turn is cancelled, the session ends saying why, the
        // sandbox goes, and the exit status is 128 + the signal.
        QFETCH(int, sig);
        QFETCH(QString, agent);
        QFETCH(int, code);
        QProcess victim;
        QString id;
        QVERIFY2(startRun(victim, {QStringLiteral("--agent"), agent, QStringLiteral("--workspace"), freshWorkspace(), QStringLiteral("Fix it")}, &id),
                 victim.readAllStandardError().constData());
        ::kill(pid_t(victim.processId()), sig);
        QVERIFY(victim.waitForFinished(30000));
        const QByteArray err = victim.readAllStandardError();
        QCOMPARE(victim.exitStatus(), QProcess::NormalExit);
        QVERIFY2(victim.exitCode() == code, err.constData());
        const QString reason = QStringLiteral("interrupted by ") + (sig == SIGINT ? QStringLiteral("SIGINT") : QStringLiteral("SIGTERM"));
        QVERIFY2(err.contains(reason.toUtf8()), err.constData());
        const auto events = sessionEvents(id);
        const auto interrupted = ofKind(events, QStringLiteral("session.interrupted"));
        QCOMPARE(interrupted.size(), 1);
        QCOMPARE(interrupted.first().payload[QStringLiteral("reason")].toString(), reason);
        QCOMPARE(ofKind(events, QStringLiteral("turn.ended")).last().payload[QStringLiteral("stopReason")].toString(), QStringLiteral("cancelled"));
        QCOMPARE(lastState(events)[QStringLiteral("state")].toString(), QStringLiteral("ended"));
        QCOMPARE(lastState(events)[QStringLiteral("reason")].toString(), reason);
        QVERIFY2(sandboxesLeft().isEmpty(), qPrintable(sandboxesLeft().join(u' ')));
    }

    void secondInterruptDoesNotWait()
    {
        // A second Ctrl-C while the first waits for a silent agent: it ends at once, still cleanly.
        QProcess victim;
        QString id;
        QVERIFY2(startRun(victim, {QStringLiteral("--agent"), QStringLiteral("quiet-demo"), QStringLiteral("--workspace"), freshWorkspace(),
                                   QStringLiteral("Fix it")}, &id),
                 victim.readAllStandardError().constData());
        ::kill(pid_t(victim.processId()), SIGINT);
        QByteArray err;
        QVERIFY(QTest::qWaitFor([&] {
            err += victim.readAllStandardError();
            return err.contains("cancelling the turn") || victim.state() == QProcess::NotRunning;
        }, 30000));
        ::kill(pid_t(victim.processId()), SIGINT);
        QVERIFY(victim.waitForFinished(30000));
        err += victim.readAllStandardError();
        QCOMPARE(victim.exitStatus(), QProcess::NormalExit);
        QVERIFY2(victim.exitCode() == 130, err.constData());
        const auto events = sessionEvents(id);
        QCOMPARE(lastState(events)[QStringLiteral("state")].toString(), QStringLiteral("ended"));
        QCOMPARE(lastState(events)[QStringLiteral("reason")].toString(), QStringLiteral("interrupted by SIGINT"));
        QVERIFY2(sandboxesLeft().isEmpty(), qPrintable(sandboxesLeft().join(u' ')));
    }

    void agentClosingItsOutputFailsAtOnce()
    {
        // An agent that closes its stdout but keeps running can say nothing more: the session fails
        // now, not when some timeout runs out.
        const auto r = ctl({QStringLiteral("run"), QStringLiteral("--agent"), QStringLiteral("mute-agent"), QStringLiteral("--workspace"),
                            freshWorkspace(), QStringLiteral("Fix it")}, 60000);
        QVERIFY2(r.exitCode == 1, QByteArray(r.out + r.err).constData());
        QVERIFY2(r.err.contains("closed its output"), r.err.constData());
        const auto events = lastSessionEvents();
        QCOMPARE(lastState(events)[QStringLiteral("state")].toString(), QStringLiteral("failed"));
        QVERIFY(lastState(events)[QStringLiteral("reason")].toString().contains(QLatin1String("closed its output")));
        QVERIFY2(sandboxesLeft().isEmpty(), qPrintable(sandboxesLeft().join(u' ')));
    }

    void agentInTheSandboxClosingItsOutputFailsAtOnce()
    {
        // The shim tells Airlock that the agent's stdout ended; the session fails then, not when the
        // agent's sleep or a guardrail ends.
        QElapsedTimer clock;
        clock.start();
        const auto r = ctl({QStringLiteral("run"), QStringLiteral("--agent"), QStringLiteral("mute-boxed-agent"), QStringLiteral("--workspace"),
                            freshWorkspace(), QStringLiteral("Fix it")}, 60000);
        QVERIFY2(r.exitCode == 1, QByteArray(r.out + r.err).constData());
        QVERIFY2(r.err.contains("closed its output"), r.err.constData());
        QVERIFY2(clock.elapsed() < 50000, "the session waited for the agent's exit");
        const auto events = lastSessionEvents();
        QCOMPARE(lastState(events)[QStringLiteral("state")].toString(), QStringLiteral("failed"));
        QVERIFY(lastState(events)[QStringLiteral("reason")].toString().contains(QLatin1String("closed its output")));
        QVERIFY2(sandboxesLeft().isEmpty(), qPrintable(sandboxesLeft().join(u' ')));
    }

    void silentAgentTripsTheIdleGuardrail()
    {
        // A policy that allows 6 s of silence: the silence is reported as it grows, then the guardrail
        // ends the session (exit status 5).
        QVERIFY2(importPolicy(QStringLiteral("impatient"), {{QStringLiteral("maxIdleSeconds"), 6}}), "policy import failed");
        const auto r = ctl({QStringLiteral("run"), QStringLiteral("--agent"), QStringLiteral("quiet-demo"), QStringLiteral("--policy"),
                            QStringLiteral("impatient"), QStringLiteral("--workspace"), freshWorkspace(), QStringLiteral("Fix it")}, 60000);
        QVERIFY2(r.exitCode == 5, QByteArray(r.out + r.err).constData());
        QVERIFY2(r.out.contains("agent silent for 5 s (limit 6 s)"), r.out.constData());
        const auto events = lastSessionEvents();
        const auto silent = ofKind(events, QStringLiteral("agent.silent"));
        QCOMPARE(silent.size(), 1);
        QCOMPARE(silent.first().payload[QStringLiteral("seconds")].toInteger(), 5);
        const auto tripped = ofKind(events, QStringLiteral("guardrail.tripped"));
        QCOMPARE(tripped.size(), 1);
        QCOMPARE(tripped.first().payload[QStringLiteral("guardrail")].toString(), QStringLiteral("maxIdleSeconds"));
        QCOMPARE(lastState(events)[QStringLiteral("state")].toString(), QStringLiteral("ended"));
        const QString reason = lastState(events)[QStringLiteral("reason")].toString();
        QVERIFY2(reason.contains(QLatin1String("silent for 6 s")), qPrintable(reason));
        QVERIFY2(sandboxesLeft().isEmpty(), qPrintable(sandboxesLeft().join(u' ')));
    }

    void ownerIsTheSameProcess()
    {
        // A pid handed to a later process does not make a dead owner look alive: its start time differs.
        const QJsonObject me = session::currentOwner();
        QVERIFY(session::ownerAlive(me));
        QVERIFY(!me.value(QStringLiteral("start")).toString().isEmpty());
        QJsonObject reused = me;
        reused[QStringLiteral("start")] = QString::number(me.value(QStringLiteral("start")).toString().toULongLong() + 1);
        QVERIFY(!session::ownerAlive(reused));
    }

    void deadOwnersAreNoticedByWhoeverLooks()
    {
        // While a run lives, another process neither adopts its sandbox nor touches its state file.
        QProcess victim;
        QString id;
        QVERIFY2(startRun(victim, {QStringLiteral("--agent"), QStringLiteral("quiet-demo"), QStringLiteral("--workspace"), freshWorkspace(),
                                   QStringLiteral("Fix it")}, &id),
                 victim.readAllStandardError().constData());
        const QStringList boxes = sandboxesLeft();
        QCOMPARE(boxes.size(), 1);
        const QByteArray stateFile = QFile::encodeName(m_dir.filePath(QStringLiteral("run/sandboxes/%1/state.json").arg(boxes.first())));
        struct stat before{};
        QCOMPARE(::stat(stateFile.constData(), &before), 0);
        auto r = ctl({QStringLiteral("sandbox"), QStringLiteral("list"), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY2(!r.out.contains(boxes.first().toUtf8()), r.out.constData());
        struct stat after{};
        QCOMPARE(::stat(stateFile.constData(), &after), 0);
        QCOMPARE(after.st_ino, before.st_ino);
        QCOMPARE(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
        r = ctl({QStringLiteral("db"), QStringLiteral("check"), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY(QJsonDocument::fromJson(r.out).object()[QStringLiteral("orphanedSessions")].toArray().isEmpty());

        // Killed: db check reports the session without changing it; the next command marks it failed.
        victim.kill();
        QVERIFY(victim.waitForFinished());
        r = ctl({QStringLiteral("db"), QStringLiteral("check"), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonArray orphans = QJsonDocument::fromJson(r.out).object()[QStringLiteral("orphanedSessions")].toArray();
        QCOMPARE(orphans.size(), 1);
        QCOMPARE(orphans.first()[QStringLiteral("session")].toString(), id);
        QVERIFY(orphans.first()[QStringLiteral("reason")].toString().contains(QLatin1String("is gone")));
        QCOMPARE(store::StoreReader::open(m_db)->session(id).value()->state, QStringLiteral("running"));

        r = ctl({QStringLiteral("sessions"), QStringLiteral("list"), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        bool listed = false;
        for (const QJsonValue &s : QJsonDocument::fromJson(r.out).array()) {
            if (s[QStringLiteral("id")].toString() == id) {
                listed = true;
                QCOMPARE(s[QStringLiteral("state")].toString(), QStringLiteral("failed"));
            }
        }
        QVERIFY(listed);
        QVERIFY(lastState(sessionEvents(id))[QStringLiteral("reason")].toString().contains(QLatin1String("is gone")));
        // Its sandbox died with it; what it left on the host goes when someone looks for sandboxes.
        r = ctl({QStringLiteral("sandbox"), QStringLiteral("list")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY2(sandboxesLeft().isEmpty(), qPrintable(sandboxesLeft().join(u' ')));
    }
};

QTEST_GUILESS_MAIN(TestAirlockctlEndings)
#include "tst_airlockctl_endings.moc"
