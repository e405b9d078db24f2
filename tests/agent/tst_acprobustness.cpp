// An agent that misbehaves, over real pipes: garbage on stdout, mistyped and unknown updates, a
// tool call announced twice, a 50 MB message, a crash mid-turn, silence. Each is reported where it
// is an error, and the session either goes on or ends cleanly with what came before kept.
#include "agenttestutil.h"

#include <QFileInfo>
#include <QStandardPaths>
#include <QTimer>

using namespace airlock;
using namespace airlock::agent;
using namespace airlock::agent::acp;
using agenttest::await;
using K = SessionUpdate::Kind;

class TestAcpRobustness : public QObject
{
    Q_OBJECT

    struct Run {
        QTemporaryDir dir;
        QString workspace;
        AcpClient client;
        TestHandler handler;
        agenttest::Recorder seen;
        QString session;

        explicit Run(const QStringList &args, const AcpClient::Options &options = {})
            : workspace(agenttest::copyWorkspace(dir)), handler(workspace), seen(client)
        {
            client.setOptions(options);
            client.setHandler(&handler);
            client.start(agenttest::demoLaunch(workspace, args));
        }
        ~Run()
        {
            if (client.process() && client.process()->isRunning()) {
                QSignalSpy finished(client.process(), &AgentProcess::finished);
                client.stop(1000);
                finished.wait(5000);
            }
        }
        bool open()
        {
            auto init = await(client.initialize());
            auto s = init && *init ? await(client.newSession(workspace)) : std::nullopt;
            if (!s || !*s)
                return false;
            session = (*s)->sessionId;
            return true;
        }
        std::optional<Result<PromptResult>> prompt(int timeoutMs = 30000)
        {
            return await(client.prompt(session, {ContentBlock::fromText(QStringLiteral("Fix it."))}), timeoutMs);
        }
    };

    // Alive and not a zombie waiting to be reaped.
    static bool alive(qint64 pid)
    {
        QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
        if (!stat.open(QIODevice::ReadOnly))
            return false;
        const QByteArray line = stat.readAll();
        const qsizetype close = line.lastIndexOf(')');
        return close > 0 && line.size() > close + 2 && line.at(close + 2) != 'Z';
    }

    static bool completed(const std::optional<Result<PromptResult>> &r)
    {
        return r && *r && (*r)->stopReason == StopReason::EndTurn;
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (agenttest::demoAgentPath().isEmpty())
            QSKIP("airlock-demo-agent was not built (app/airlock-demo-agent is missing from this tree)");
    }

    void garbageIsAnsweredAndSurvived()
    {
        Run run({QStringLiteral("--garbage")});
        QVERIFY(run.open());
        QVERIFY(completed(run.prompt()));
        const QString errors = run.seen.protocolText();
        QVERIFY2(run.seen.protocolErrors.size() >= 9, qPrintable(errors));
        QVERIFY2(errors.contains(QLatin1String("Parse error")), qPrintable(errors));
        QVERIFY(errors.contains(QLatin1String("batches are not supported")));
        QVERIFY(errors.contains(QLatin1String("\"jsonrpc\" must be \"2.0\"")));
        QVERIFY(errors.contains(QLatin1String("never sent (id 9999)")));
        QVERIFY(errors.contains(QLatin1String("demo/no_such_method")));
        QVERIFY(errors.contains(QLatin1String("malformed fs/read_text_file")));
        // The agent got proper JSON-RPC errors back, and the turn went on to the end.
        const QString said = run.seen.agentText();
        QVERIFY2(said.contains(QLatin1String("refused my unknown method: -32601")), qPrintable(said));
        QVERIFY(said.contains(QLatin1String("refused a numeric path: -32602")));
        QVERIFY(said.contains(QLatin1String("All tests pass now.")));
        QVERIFY(run.seen.disconnects.isEmpty());
    }

    void wrongTypesAreRefusedOneByOne()
    {
        Run run({QStringLiteral("--wrong-types")});
        QVERIFY(run.open());
        QVERIFY(completed(run.prompt()));
        QCOMPARE(run.seen.rejected.size(), 5);
        QStringList why;
        for (const Error &e : std::as_const(run.seen.rejected))
            why.append(e.message);
        const QString all = why.join(u'\n');
        QVERIFY2(all.contains(QLatin1String("update.title must be a string, not a number")), qPrintable(all));
        QVERIFY(all.contains(QLatin1String("update.entries must be an array")));
        QVERIFY(all.contains(QLatin1String("update.used must be a non-negative integer")));
        QVERIFY(all.contains(QLatin1String("update.content.text must be a string")));
        QVERIFY(all.contains(QLatin1String("sessionId must be a string, not a number")));
        // Optional fields of the wrong type: the update stays, the fields fall back.
        const ToolCall *odd = run.client.session(run.session)->toolCall(QStringLiteral("odd-1"));
        QVERIFY(odd);
        QCOMPARE(odd->status, ToolStatus::Pending);
        QCOMPARE(odd->kind, ToolKind::Other);
        QVERIFY(odd->locations.isEmpty());
        bool warned = false;
        for (const auto &u : run.seen.updates)
            warned = warned || (u.kind == K::ToolCall && u.warnings.size() == 3);
        QVERIFY(warned);
        QVERIFY(!run.client.session(run.session)->toolCall(QStringLiteral("bad-1")));
    }

    void unknownUpdateKindsAreReportedNotFatal()
    {
        Run run({QStringLiteral("--unknown-updates")});
        QVERIFY(run.open());
        QVERIFY(completed(run.prompt()));
        const auto unknown = run.seen.ofKind(K::Unknown);
        QCOMPARE(unknown.size(), 2);
        QCOMPARE(unknown[0].kindName(), QStringLiteral("hologram_projection"));
        QCOMPARE(unknown[0].raw.value(QLatin1String("intensity")).toInt(), 11);
        QCOMPARE(unknown[1].kindName(), QStringLiteral("notice"));
        QCOMPARE(run.client.session(run.session)->unknownUpdates(), 2);
        QVERIFY2(run.seen.protocolErrors.isEmpty(), qPrintable(run.seen.protocolText()));
    }

    void repeatedToolCallUpdatesTheExistingCall()
    {
        Run run({QStringLiteral("--repeat-tool-call")});
        QVERIFY(run.open());
        QVERIFY(completed(run.prompt()));
        QList<std::pair<ToolCall, bool>> first;
        for (const auto &c : run.seen.toolCalls)
            if (c.first.id == QLatin1String("call-1"))
                first.append(c);
        QVERIFY(first.size() >= 3);
        QVERIFY(first[0].second);  // created
        QVERIFY(!first[1].second); // the repeat: an update of the same call
        QCOMPARE(first[1].first.title, QStringLiteral("Read slugify.sh (announced again)"));
        QCOMPARE(first[1].first.status, ToolStatus::InProgress);
        QCOMPARE(first[1].first.locations.size(), 0); // the repeat carried none: replaced, as announced
        const AcpSessionState *state = run.client.session(run.session);
        QCOMPARE(state->toolCalls().size(), 6);
        QCOMPARE(state->toolCall(QStringLiteral("call-1"))->status, ToolStatus::Completed);
    }

    void fiftyMegabyteMessageIsDropped()
    {
        Run run({QStringLiteral("--huge-message"), QStringLiteral("50")});
        QVERIFY(run.open());
        QVERIFY(completed(run.prompt(60000)));
        const QString errors = run.seen.protocolText();
        QVERIFY2(errors.contains(QLatin1String("larger than the 16 MiB limit")), qPrintable(errors));
        for (const auto &u : run.seen.updates)
            QVERIFY(u.kind != K::AgentMessageChunk || std::get<MessageChunk>(u.data).content.text.size() < 1000);
        QVERIFY(run.seen.agentText().contains(QLatin1String("All tests pass now.")));
        QVERIFY(run.client.connection().bufferedBytes() < 1024 * 1024);
    }

    void fiftyMegabyteMessageCanEndTheSession()
    {
        AcpClient::Options strict;
        Run run({QStringLiteral("--huge-message"), QStringLiteral("50")}, strict);
        RpcLimits limits;
        limits.closeOnOversize = true;
        run.client.connection().setLimits(limits);
        QVERIFY(run.open());
        auto result = run.prompt(60000);
        QVERIFY(result && !*result);
        QVERIFY2(result->error().message.contains(QLatin1String("16 MiB")), agenttest::why(*result).constData());
        QCOMPARE(run.seen.disconnects.size(), 1);
        QVERIFY(!run.client.isConnected());
        // What came before the breach is kept, and the agent is stopped.
        QVERIFY(!run.seen.ofKind(K::Plan).isEmpty());
        QTRY_VERIFY_WITH_TIMEOUT(!run.client.process()->isRunning(), 10000);
    }

    void crashMidTurnEndsCleanly()
    {
        Run run({QStringLiteral("--crash-mid-turn")});
        QVERIFY(run.open());
        auto result = run.prompt();
        QVERIFY(result && !*result);
        QVERIFY2(result->error().message.contains(QLatin1String("crashed")), agenttest::why(*result).constData());
        QCOMPARE(run.seen.disconnects.size(), 1);
        QVERIFY(run.seen.protocolText().contains(QLatin1String("stopped in the middle of a message")));
        QVERIFY(!run.client.isPrompting(run.session));
        // Everything received before the crash is there.
        QVERIFY(!run.seen.ofKind(K::Plan).isEmpty());
        QCOMPARE(run.client.session(run.session)->toolCall(QStringLiteral("call-1"))->status, ToolStatus::Completed);
        auto after = await(run.client.prompt(run.session, {ContentBlock::fromText(QStringLiteral("again"))}));
        QVERIFY(after && !*after);
    }

    void silentAgentTimesOut_data()
    {
        QTest::addColumn<QString>("stage");
        QTest::newRow("initialize") << QStringLiteral("initialize");
        QTest::newRow("prompt") << QStringLiteral("prompt");
    }

    void silentAgentTimesOut()
    {
        QFETCH(QString, stage);
        AcpClient::Options options;
        // Only the stage under test is short: a slow start (a sanitizer build, a busy machine) must
        // not end the other one early.
        if (stage == QLatin1String("initialize"))
            options.initializeTimeoutMs = 300;
        else
            options.promptIdleTimeoutMs = 300;
        Run run({QStringLiteral("--silence"), stage}, options);
        if (stage == QLatin1String("initialize")) {
            auto init = await(run.client.initialize(), 10000);
            QVERIFY(init && !*init);
            QVERIFY2(init->error().message.contains(QLatin1String("did not answer within 0.3 s")), agenttest::why(*init).constData());
            return;
        }
        QVERIFY(run.open());
        QSignalSpy sent(&run.client, &AcpClient::sessionUpdate);
        auto result = run.prompt(10000);
        QVERIFY(result && !*result);
        QVERIFY2(result->error().message.contains(QLatin1String("silent for 0.3 s")), agenttest::why(*result).constData());
        QVERIFY(!run.client.isPrompting(run.session));
        QVERIFY(run.client.isConnected()); // silence is not a crash: the session may go on
    }

    void waitingForUsIsNotSilence()
    {
        AcpClient::Options options;
        options.promptIdleTimeoutMs = 300;
        Run run({}, options);
        run.handler.answer = TestHandler::Answer::Hold;
        QVERIFY(run.open());
        // A person takes a second to decide: more than three idle periods with the agent waiting on us.
        QObject::connect(&run.client, &AcpClient::permissionRequested, &run.client, [&] {
            QTimer::singleShot(1000, &run.client, [&] {
                run.handler.held.first().ok(TestHandler::choose(run.handler.permissions.first(), PermissionKind::AllowOnce));
            });
        });
        QVERIFY(completed(run.prompt()));
        QVERIFY(run.seen.agentText().contains(QLatin1String("All tests pass now.")));
    }

    void agentsThatCannotStartOrDieEarly()
    {
        {
            AcpClient client;
            agenttest::Recorder seen(client);
            AgentLaunch launch;
            launch.program = QStringLiteral("/nonexistent/agent");
            client.start(launch);
            auto init = await(client.initialize());
            QVERIFY(init && !*init);
            QTRY_COMPARE(seen.disconnects.size(), 1);
            QVERIFY2(seen.disconnects.first().message.contains(QLatin1String("cannot start")), qPrintable(seen.disconnects.first().message));
        }
        const QString sh = QStandardPaths::findExecutable(QStringLiteral("sh"));
        if (sh.isEmpty())
            QSKIP("no sh to play a dying agent");
        AcpClient client;
        agenttest::Recorder seen(client);
        AgentLaunch launch;
        launch.program = sh;
        launch.arguments = {QStringLiteral("-c"), QStringLiteral("echo 'no API key found' >&2; exit 3")};
        client.start(launch);
        auto init = await(client.initialize());
        QVERIFY(init && !*init);
        QVERIFY2(init->error().message.contains(QLatin1String("exited with status 3")), agenttest::why(*init).constData());
        QVERIFY(init->error().message.contains(QLatin1String("no API key found")));
        QCOMPARE(seen.stderrLines, QStringList{QStringLiteral("no API key found")});
    }

    void closedOutputEndsTheConnection()
    {
        // An agent that closes its stdout but lives on can never answer: the connection closes at
        // once (well inside the 30 s initialize timeout) and the process is stopped.
        const QString sh = QStandardPaths::findExecutable(QStringLiteral("sh"));
        if (sh.isEmpty())
            QSKIP("no sh to play a mute agent");
        AcpClient client;
        agenttest::Recorder seen(client);
        AgentLaunch launch;
        launch.program = sh;
        launch.arguments = {QStringLiteral("-c"), QStringLiteral("echo 'going quiet' >&2; exec >&-; exec sleep 600")};
        client.start(launch);
        QSignalSpy finished(client.process(), &AgentProcess::finished);
        auto init = await(client.initialize(), 10000);
        QVERIFY2(init, "initialize was still waiting after 10 s");
        QVERIFY(!*init);
        QVERIFY2(init->error().message.contains(QLatin1String("closed its output")), agenttest::why(*init).constData());
        QVERIFY(init->error().message.contains(QLatin1String("going quiet")));
        QTRY_COMPARE(seen.disconnects.size(), 1);
        QVERIFY(finished.wait(10000) || !finished.isEmpty());
        QVERIFY(!client.process()->isRunning());
    }

    void stopEndsTheWholeProcessGroup()
    {
        const QString sh = QStandardPaths::findExecutable(QStringLiteral("sh"));
        if (sh.isEmpty())
            QSKIP("no sh to play an agent with children");
        QTemporaryDir dir;
        const QString pidFile = dir.filePath(QStringLiteral("child.pid"));
        AcpClient client;
        AgentLaunch launch;
        launch.program = sh;
        // An agent that ignores the end of its input and has a child of its own, as npx → node does.
        launch.arguments = {QStringLiteral("-c"), QStringLiteral("sleep 600 & echo $! > \"$0\"; wait"), pidFile};
        client.start(launch);
        QTRY_VERIFY_WITH_TIMEOUT(QFileInfo(pidFile).size() > 0, 10000);
        QFile f(pidFile);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const qint64 child = f.readAll().trimmed().toLongLong();
        QVERIFY(child > 0 && alive(child));
        QSignalSpy finished(client.process(), &AgentProcess::finished);
        client.stop(400);
        QVERIFY(finished.wait(10000));
        const Error reason = finished.first().first().value<Error>();
        QCOMPARE(reason.code, ErrorCode::Cancelled);
        QVERIFY2(reason.message.contains(QLatin1String("was stopped")), qPrintable(reason.message));
        QTRY_VERIFY_WITH_TIMEOUT(!alive(child), 10000);
    }
};

QTEST_GUILESS_MAIN(TestAcpRobustness)
#include "tst_acprobustness.moc"
