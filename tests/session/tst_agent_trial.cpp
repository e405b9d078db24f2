// What a trial with the real Claude Code adapters found wrong in the client side of a session, played
// by the scripted demo agent so each stays fixed: a shell line given to terminal/create, a command that
// cannot start, a permission request that names no kind, a refused call reported as "ran outside", an
// agent's stderr nobody saw, and a transcript that named calls by id.
#include "runfixture.h"
#include "sandbox/localbackend.h"

#include <QElapsedTimer>
#include <QStandardPaths>

using namespace airlock;

namespace {
QJsonObject request(const char *method, const QJsonObject &params)
{
    return {{QStringLiteral("request"), QString::fromUtf8(method)}, {QStringLiteral("params"), params}};
}
QJsonObject update(const QJsonObject &u)
{
    return {{QStringLiteral("update"), u}};
}
QJsonObject toolCall(const char *id, const char *kind, const char *title, const QJsonObject &rawInput, const char *status = "pending")
{
    QJsonObject u{{QStringLiteral("sessionUpdate"), QStringLiteral("tool_call")}, {QStringLiteral("toolCallId"), QString::fromUtf8(id)},
                  {QStringLiteral("title"), QString::fromUtf8(title)}, {QStringLiteral("status"), QString::fromUtf8(status)}};
    if (kind)
        u.insert(QStringLiteral("kind"), QString::fromUtf8(kind));
    if (!rawInput.isEmpty())
        u.insert(QStringLiteral("rawInput"), rawInput);
    return u;
}
QJsonObject toolUpdate(const char *id, const QJsonObject &fields)
{
    QJsonObject u = fields;
    u.insert(QStringLiteral("sessionUpdate"), QStringLiteral("tool_call_update"));
    u.insert(QStringLiteral("toolCallId"), QString::fromUtf8(id));
    return u;
}
QJsonObject terminalRequest(const char *method)
{
    return request(method, {{QStringLiteral("terminalId"), QStringLiteral("@TERMINAL@")}});
}
} // namespace

class TestAgentTrial : public test::RunFixture
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_db = m_dir.filePath(QStringLiteral("trial.db"));
        prepareFolders();
        if (QStandardPaths::findExecutable(QStringLiteral("bwrap")).isEmpty())
            QSKIP("bubblewrap is not installed (apt install bubblewrap), so no session can start");
        if (const auto probe = sandbox::LocalBackend::probeBwrap(); !probe)
            QSKIP(qPrintable(QStringLiteral("bubblewrap cannot create sandboxes here, so no session can start: ") + probe.error().message));
    }

    // claude-code-acp sends its Bash command as one shell string with no args; it runs through sh -c,
    // decided on as a shell line (so an allow rule for one command does not let a chain through).
    void shellLineRunsThroughSh()
    {
        addScriptedAgent(QStringLiteral("shell-line"),
                         {request("terminal/create", {{QStringLiteral("command"), QStringLiteral("echo hi > out.txt && echo made")}}),
                          terminalRequest("terminal/wait_for_exit"), terminalRequest("terminal/output")});
        QString ws = freshWorkspace();
        auto r = ctl({QStringLiteral("run"), QStringLiteral("--agent"), QStringLiteral("shell-line"), QStringLiteral("--workspace"), ws,
                      QStringLiteral("--approve"), QStringLiteral("execute"), QStringLiteral("x")});
        QVERIFY2(r.exitCode == 0, QByteArray(r.out + r.err).constData());
        QStringList seen = answersSeenByAgent(lastSessionEvents());
        QCOMPARE(seen.size(), 3);
        QVERIFY2(seen.at(0).startsWith(QLatin1String("RESULT terminal/create")), qPrintable(seen.join(u'\n')));
        QVERIFY2(seen.at(1).contains(QLatin1String("\"exitCode\":0")), qPrintable(seen.at(1)));
        QVERIFY2(seen.at(2).contains(QLatin1String("made")), qPrintable(seen.at(2)));
        QFile out(ws + QStringLiteral("/out.txt"));
        QVERIFY(out.open(QIODevice::ReadOnly));
        QCOMPARE(out.readAll(), QByteArray("hi\n"));

        // Read as a shell reads it: `echo *` allows one echo, never a chain that goes on to more.
        addScriptedAgent(QStringLiteral("shell-chain"),
                         {request("terminal/create", {{QStringLiteral("command"), QStringLiteral("echo one")}}),
                          request("terminal/create", {{QStringLiteral("command"), QStringLiteral("echo one; touch chained.txt")}})});
        ws = freshWorkspace();
        r = ctl({QStringLiteral("run"), QStringLiteral("--agent"), QStringLiteral("shell-chain"), QStringLiteral("--workspace"), ws,
                 QStringLiteral("--approve"), QStringLiteral("execute:echo *"), QStringLiteral("x")});
        QVERIFY2(r.exitCode == 0, QByteArray(r.out + r.err).constData());
        seen = answersSeenByAgent(lastSessionEvents());
        QCOMPARE(seen.size(), 2);
        QVERIFY2(seen.at(0).startsWith(QLatin1String("RESULT terminal/create")), qPrintable(seen.join(u'\n')));
        QVERIFY2(seen.at(1).startsWith(QLatin1String("ERROR terminal/create")), qPrintable(seen.join(u'\n')));
        QVERIFY(!QFile::exists(ws + QStringLiteral("/chained.txt")));
    }

    // A program that cannot start ends wait_for_exit at once, with the reason in the output; before,
    // the wait hung until the agent's own timeout.
    void commandThatCannotStartEndsTheWait()
    {
        addScriptedAgent(QStringLiteral("missing-program"),
                         {request("terminal/create", {{QStringLiteral("command"), QStringLiteral("/no/such/program")},
                                                      {QStringLiteral("args"), QJsonArray{QStringLiteral("x")}}}),
                          terminalRequest("terminal/wait_for_exit"), terminalRequest("terminal/output")});
        QElapsedTimer clock;
        clock.start();
        const auto r = ctl({QStringLiteral("run"), QStringLiteral("--agent"), QStringLiteral("missing-program"), QStringLiteral("--workspace"),
                            freshWorkspace(), QStringLiteral("--approve"), QStringLiteral("execute"), QStringLiteral("x")});
        QVERIFY2(r.exitCode == 0, QByteArray(r.out + r.err).constData());
        const QStringList seen = answersSeenByAgent(lastSessionEvents());
        QCOMPARE(seen.size(), 3);
        QVERIFY2(seen.at(1).startsWith(QLatin1String("RESULT terminal/wait_for_exit")) && seen.at(1).contains(QLatin1String("127")),
                 qPrintable(seen.join(u'\n')));
        QVERIFY2(seen.at(2).contains(QLatin1String("could not run")) || seen.at(2).contains(QLatin1String("not found"))
                     || seen.at(2).contains(QLatin1String("No such file")),
                 qPrintable(seen.at(2)));
        QVERIFY2(clock.elapsed() < 60000, "the wait lasted until a timeout");
    }

    // claude-code-acp's permission requests carry no kind: the kind of the call it announced counts,
    // so a rule by kind answers it.
    void permissionWithoutKindTakesTheCallsKind()
    {
        const QJsonObject edit{{QStringLiteral("file_path"), QStringLiteral("@WORKSPACE@/notes.txt")},
                               {QStringLiteral("old_string"), QStringLiteral("a")}, {QStringLiteral("new_string"), QStringLiteral("b")}};
        addScriptedAgent(QStringLiteral("kindless"),
                         {update(toolCall("e1", "edit", "Edit notes.txt", edit)),
                          permissionStep({{QStringLiteral("toolCallId"), QStringLiteral("e1")}, {QStringLiteral("rawInput"), edit},
                                          {QStringLiteral("title"), QStringLiteral("Edit")}},
                                         plainOptions())});
        const auto r = ctl({QStringLiteral("run"), QStringLiteral("--agent"), QStringLiteral("kindless"), QStringLiteral("--workspace"),
                            freshWorkspace(), QStringLiteral("--approve"), QStringLiteral("edit"), QStringLiteral("x")});
        QVERIFY2(r.exitCode == 0, QByteArray(r.out + r.err).constData());
        const auto decided = ofKind(lastSessionEvents(), QStringLiteral("permission.decided"));
        QCOMPARE(decided.size(), 1);
        QCOMPARE(decided.first().payload[QStringLiteral("decision")].toString(), QStringLiteral("allow"));
        QCOMPARE(decided.first().payload[QStringLiteral("by")].toString(), QStringLiteral("rule"));
    }

    // A call the user refused never ran, so it is not "ran outside the sandbox"; one that ran without
    // Airlock is, named by its command — and the transcript names calls by command, not by id.
    void refusedCallIsNotOutsideAndNoticesNameTheCommand()
    {
        const QJsonObject rm{{QStringLiteral("command"), QStringLiteral("rm -rf build")}};
        const QJsonObject make{{QStringLiteral("command"), QStringLiteral("make all")}};
        addScriptedAgent(QStringLiteral("own-tools"),
                         {update(toolCall("b1", "execute", "Terminal", {})),
                          update(toolUpdate("b1", {{QStringLiteral("rawInput"), rm}, {QStringLiteral("title"), QStringLiteral("rm -rf build")}})),
                          permissionStep({{QStringLiteral("toolCallId"), QStringLiteral("b1")}}, plainOptions()),
                          update(toolUpdate("b1", {{QStringLiteral("status"), QStringLiteral("failed")}})),
                          update(toolCall("b2", "execute", "Terminal", {})),
                          update(toolUpdate("b2", {{QStringLiteral("rawInput"), make}, {QStringLiteral("status"), QStringLiteral("in_progress")}})),
                          update(toolUpdate("b2", {{QStringLiteral("status"), QStringLiteral("completed")}}))});
        const auto r = ctl({QStringLiteral("run"), QStringLiteral("--agent"), QStringLiteral("own-tools"), QStringLiteral("--workspace"),
                            freshWorkspace(), QStringLiteral("--deny"), QStringLiteral("execute:rm *"), QStringLiteral("x")});
        QVERIFY2(r.exitCode == 0, QByteArray(r.out + r.err).constData());
        const auto outside = ofKind(lastSessionEvents(), QStringLiteral("tool.outside"));
        QCOMPARE(outside.size(), 1);
        QCOMPARE(outside.first().payload[QStringLiteral("toolCallId")].toString(), QStringLiteral("b2"));
        QCOMPARE(outside.first().payload[QStringLiteral("command")].toString(), QStringLiteral("make all"));
        QVERIFY2(r.out.contains("ran outside the sandbox: [execute] make all"), r.out.constData());
        QVERIFY2(r.out.contains("$ rm -rf build") || r.out.contains("▶ [execute] rm -rf build"), r.out.constData());
        QVERIFY2(r.out.contains("✓ make all"), r.out.constData());
        QVERIFY2(!r.out.contains("✓ b2"), r.out.constData());
    }

    // What an agent writes to stderr is stored (capped) and shown when it fails.
    void agentStderrIsKeptAndShownOnFailure_data()
    {
        QTest::addColumn<QString>("placement");
        QTest::newRow("host") << QStringLiteral("host");
        QTest::newRow("sandbox") << QStringLiteral("sandbox");
    }
    void agentStderrIsKeptAndShownOnFailure()
    {
        QFETCH(QString, placement);
        const QString name = QStringLiteral("noisy-") + placement;
        // Answers initialize, then fails session/new with a bare "Internal error" as Claude Code did,
        // having said why on stderr (and a flood after it that must not all be stored).
        const QString script = QStringLiteral(
            "while IFS= read -r line; do\n"
            "  id=$(printf '%s' \"$line\" | sed -n 's/^{\"id\":\\([0-9]*\\),.*/\\1/p')\n"
            "  case \"$line\" in\n"
            "    *'\"method\":\"initialize\"'*) printf '{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"protocolVersion\":1}}\\n' \"$id\" ;;\n"
            "    *'\"method\":\"session/new\"'*)\n"
            "      i=0; while [ $i -lt 3000 ]; do echo \"flood line $i ......................................................................................\" >&2; i=$((i+1)); done\n"
            "      echo 'EACCES: permission denied, mkdir /home/agent/.claude' >&2\n"
            "      printf '{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":-32603,\"message\":\"Internal error\"}}\\n' \"$id\" ;;\n"
            "  esac\n"
            "done\n");
        auto added = ctl({QStringLiteral("agents"), QStringLiteral("add"), name, QStringLiteral("--placement"), placement,
                          QStringLiteral("--"), QStringLiteral("/bin/sh"), QStringLiteral("-c"), script});
        QVERIFY2(added.exitCode == 0, added.err.constData());
        const auto r = ctl({QStringLiteral("run"), QStringLiteral("--agent"), name, QStringLiteral("--workspace"), freshWorkspace(),
                            QStringLiteral("x")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains("EACCES: permission denied, mkdir /home/agent/.claude"), r.err.constData());
        const auto logged = ofKind(lastSessionEvents(), QStringLiteral("agent.log"));
        QVERIFY2(logged.size() > 100, qPrintable(QString::number(logged.size())));
        qint64 bytes = 0;
        for (const auto &e : logged)
            bytes += e.payload[QStringLiteral("line")].toString().size();
        QVERIFY2(bytes < 300 * 1024, qPrintable(QString::number(bytes)));
        QVERIFY(logged.last().payload[QStringLiteral("truncated")].toBool());
    }

    // `airlockctl exec` reads no shell: a quoted shell line is refused with how to run it.
    void execExplainsAShellLine()
    {
        const auto r = ctl({QStringLiteral("exec"), QStringLiteral("--workspace"), freshWorkspace(), QStringLiteral("--"),
                            QStringLiteral("echo hi > x")});
        QVERIFY(r.exitCode != 0);
        QVERIFY2(r.err.contains("sh -c 'echo hi > x'"), r.err.constData());
    }
};

QTEST_GUILESS_MAIN(TestAgentTrial)
#include "tst_agent_trial.moc"
