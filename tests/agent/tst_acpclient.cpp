// The ACP client against airlock-demo-agent over real pipes: whole turns along the allow and reject
// paths (plan, thoughts, fs reads, terminals running the demo test, permission, the write, usage),
// modes, config options, resource links, authentication, cancellation and session/load replay.
#include "agenttestutil.h"

#include <QProcess>
#include <QStandardPaths>
#include <QUrl>

using namespace airlock;
using namespace airlock::agent;
using namespace airlock::agent::acp;
using agenttest::await;
using K = SessionUpdate::Kind;

class TestAcpClient : public QObject
{
    Q_OBJECT

    struct Run {
        QTemporaryDir dir;
        QString workspace;
        AcpClient client;
        TestHandler handler;
        agenttest::Recorder seen;
        QString session;

        explicit Run(const QStringList &args = {})
            : workspace(agenttest::copyWorkspace(dir)), handler(workspace), seen(client)
        {
            client.setHandler(&handler);
            // What the sandbox's policy would do with the demo's network check: refuse it.
            handler.refuseTerminal = [](const CreateTerminalRequest &r) {
                return r.args.contains(QStringLiteral("tools/check-upstream.sh"))
                    ? QStringLiteral("denied by policy: fetch domain example.com")
                    : QString();
            };
            client.start(agenttest::demoLaunch(workspace, args));
        }
        ~Run()
        {
            client.stop(1000);
            if (client.process() && client.process()->isRunning())
                QSignalSpy(client.process(), &AgentProcess::finished).wait(3000);
        }
        bool open()
        {
            auto init = await(client.initialize());
            if (!init || !*init)
                return false;
            auto s = await(client.newSession(workspace));
            if (!s || !*s)
                return false;
            session = (*s)->sessionId;
            return true;
        }
        Result<PromptResult> prompt(const QList<ContentBlock> &blocks, int timeoutMs = 30000)
        {
            auto r = await(client.prompt(session, blocks), timeoutMs);
            if (!r)
                return fail(ErrorCode::Io, QStringLiteral("the prompt did not finish in time"));
            return *r;
        }
        Result<PromptResult> prompt(const QString &text) { return prompt({ContentBlock::fromText(text)}); }
        bool testsPass() const
        {
            QProcess sh;
            sh.setWorkingDirectory(workspace);
            sh.start(QStringLiteral("sh"), {QStringLiteral("tests/run.sh")});
            return sh.waitForFinished(10000) && sh.exitStatus() == QProcess::NormalExit && sh.exitCode() == 0;
        }
    };

private Q_SLOTS:
    void initTestCase()
    {
        if (agenttest::demoAgentPath().isEmpty())
            QSKIP("airlock-demo-agent was not built (app/airlock-demo-agent is missing from this tree)");
        if (QStandardPaths::findExecutable(QStringLiteral("sh")).isEmpty())
            QSKIP("no sh on PATH to run the demo workspace's tests");
    }

    void initializeNegotiates()
    {
        Run run;
        auto init = await(run.client.initialize());
        QVERIFY(init);
        QVERIFY2(*init, agenttest::why(*init).constData());
        QCOMPARE((*init)->protocolVersion, 1);
        QVERIFY((*init)->capabilities.loadSession);
        QVERIFY((*init)->capabilities.promptEmbeddedContext);
        QCOMPARE((*init)->agentInfo->name, QStringLiteral("airlock-demo-agent"));
        QVERIFY(run.client.agent());
        auto s = await(run.client.newSession(run.workspace));
        QVERIFY(s && *s);
        QCOMPARE((*s)->modes->currentModeId, QStringLiteral("ask"));
        QCOMPARE((*s)->modes->availableModes.size(), 2);
        QCOMPARE((*s)->configOptions.size(), 2);
        // available_commands_update follows the session/new answer.
        QTRY_COMPARE(run.client.session((*s)->sessionId)->availableCommands().size(), 2);
        QCOMPARE(run.client.session((*s)->sessionId)->availableCommands().at(1).inputHint, QStringLiteral("text to repeat"));
    }

    void fullTurnAllowed()
    {
        Run run;
        QVERIFY(run.open());
        auto result = run.prompt(QStringLiteral("Please fix the failing test."));
        QVERIFY2(result, agenttest::why(result).constData());
        QCOMPARE(result->stopReason, StopReason::EndTurn);
        QVERIFY(result->usage);
        QVERIFY(result->usage->totalTokens > 0);
        QVERIFY(result->usage->thoughtTokens.value_or(0) > 0);

        // Thoughts and messages streamed; a plan that ends complete.
        QVERIFY(run.seen.ofKind(K::AgentThoughtChunk).size() >= 4);
        QVERIFY(run.seen.agentText().contains(QLatin1String("All tests pass now.")));
        const auto plans = run.seen.ofKind(K::Plan);
        QVERIFY(plans.size() >= 5);
        QCOMPARE(std::get<Plan>(plans.first().data).entries.first().status, PlanStatus::InProgress);
        const AcpSessionState *state = run.client.session(run.session);
        QCOMPARE(state->plan().size(), 5);
        for (const PlanEntry &e : state->plan())
            QCOMPARE(e.status, PlanStatus::Completed);
        QCOMPARE(state->title(), QStringLiteral("Fix the failing slugify test"));
        QVERIFY(state->usage());
        QCOMPARE(state->usage()->size, 200000u);
        QVERIFY(state->usage()->cost && state->usage()->cost->currency == QLatin1String("USD"));

        // Every file and terminal operation came through the client, in this order.
        const QString ws = run.workspace;
        const QStringList expected{
            QStringLiteral("fs/read_text_file %1/slugify.sh").arg(ws),
            QStringLiteral("fs/read_text_file %1/tests/cases.txt line=1 limit=50").arg(ws),
            QStringLiteral("terminal/create sh tests/run.sh"),
            QStringLiteral("terminal/wait_for_exit term-1"),
            QStringLiteral("terminal/output term-1"),
            QStringLiteral("terminal/release term-1"),
            QStringLiteral("session/request_permission call-4"),
            QStringLiteral("fs/write_text_file %1/slugify.sh").arg(ws),
            QStringLiteral("terminal/create sh tests/run.sh"),
            QStringLiteral("terminal/wait_for_exit term-2"),
            QStringLiteral("terminal/output term-2"),
            QStringLiteral("terminal/release term-2"),
            QStringLiteral("terminal/create sh tools/check-upstream.sh https://example.com/slugify/VERSION"),
        };
        QCOMPARE(run.handler.log, expected);

        // The permission request offered all four answers for the edit it was about to make.
        QCOMPARE(run.handler.permissions.size(), 1);
        const PermissionRequest &ask = run.handler.permissions.first();
        QCOMPARE(ask.toolCall.kind, std::optional(ToolKind::Edit));
        QCOMPARE(ask.options.size(), 4);
        QCOMPARE(ask.options[3].kind, PermissionKind::RejectAlways);

        // Tool calls: reads, the test runs with their terminals, the edit with its diff, the blocked fetch.
        QCOMPARE(state->toolCalls().size(), 6);
        const ToolCall *edit = state->toolCall(QStringLiteral("call-4"));
        QCOMPARE(edit->status, ToolStatus::Completed);
        QCOMPARE(edit->content.size(), 1);
        QCOMPARE(edit->content[0].type, ToolCallContent::Type::Diff);
        QVERIFY(edit->content[0].newText.contains(QLatin1String("tr 'A-Z' 'a-z'")));
        QVERIFY(edit->content[0].oldText && !edit->content[0].oldText->contains(QLatin1String("tr 'A-Z' 'a-z'")));
        QCOMPARE(edit->locations.first().line, std::optional<quint32>(5));
        const ToolCall *tests = state->toolCall(QStringLiteral("call-3"));
        QCOMPARE(tests->kind, ToolKind::Execute);
        QCOMPARE(tests->content.first().type, ToolCallContent::Type::Terminal);
        QCOMPARE(tests->content.first().terminalId, QStringLiteral("term-1"));
        QCOMPARE(tests->rawOutput.toObject().value(QLatin1String("exitCode")).toInt(), 1);
        QCOMPARE(state->toolCall(QStringLiteral("call-5"))->rawOutput.toObject().value(QLatin1String("exitCode")).toInt(), 0);
        const ToolCall *fetch = state->toolCall(QStringLiteral("call-6"));
        QCOMPARE(fetch->kind, ToolKind::Fetch);
        QCOMPARE(fetch->status, ToolStatus::Failed);
        QVERIFY(fetch->content.first().content.text.contains(QLatin1String("denied by policy")));
        QCOMPARE(state->toolCall(QStringLiteral("call-1"))->kind, ToolKind::Read);

        // And the workspace is fixed for real.
        QVERIFY(run.testsPass());
        QVERIFY(run.seen.rejected.isEmpty());
        QVERIFY2(run.seen.protocolErrors.isEmpty(), qPrintable(run.seen.protocolText()));
    }

    void fullTurnRejected()
    {
        Run run;
        run.handler.answer = TestHandler::Answer::RejectOnce;
        QVERIFY(run.open());
        const QByteArray before = agenttest::fileBytes(run.workspace + QStringLiteral("/slugify.sh"));
        auto result = run.prompt(QStringLiteral("Fix it."));
        QVERIFY2(result, agenttest::why(result).constData());
        QCOMPARE(result->stopReason, StopReason::EndTurn);
        QCOMPARE(agenttest::fileBytes(run.workspace + QStringLiteral("/slugify.sh")), before);
        QVERIFY(!run.handler.log.join(u'\n').contains(QLatin1String("fs/write_text_file")));
        const ToolCall *edit = run.client.session(run.session)->toolCall(QStringLiteral("call-4"));
        QCOMPARE(edit->status, ToolStatus::Failed);
        QVERIFY(edit->rawOutput.toObject().value(QLatin1String("rejected")).toBool());
        QVERIFY(run.seen.agentText().contains(QLatin1String("won't change slugify.sh")));
        QVERIFY(!run.testsPass());

        // "Never" is remembered: the next turn does not even ask.
        run.handler.answer = TestHandler::Answer::RejectAlways;
        QVERIFY(run.prompt(QStringLiteral("Again.")));
        QCOMPARE(run.handler.permissions.size(), 2);
        QVERIFY(run.prompt(QStringLiteral("And again.")));
        QCOMPARE(run.handler.permissions.size(), 2);
        QVERIFY(run.seen.agentText().contains(QLatin1String("never to edit")));
    }

    void autoModeEditsWithoutAsking()
    {
        Run run;
        QVERIFY(run.open());
        auto mode = await(run.client.setMode(run.session, QStringLiteral("auto")));
        QVERIFY(mode && *mode);
        QCOMPARE(run.client.session(run.session)->currentModeId(), QStringLiteral("auto"));
        QTRY_COMPARE(run.seen.ofKind(K::CurrentMode).size(), 1);
        auto bad = await(run.client.setMode(run.session, QStringLiteral("yolo")));
        QVERIFY(bad && !*bad);
        QCOMPARE(bad->error().code, ErrorCode::InvalidArgument);
        QVERIFY(bad->error().message.contains(QLatin1String("session/set_mode")));
        auto result = run.prompt(QStringLiteral("Fix it."));
        QVERIFY(result && result->stopReason == StopReason::EndTurn);
        QVERIFY(run.handler.permissions.isEmpty());
        QVERIFY(run.testsPass());
    }

    void configOptionsChangeTheTurn()
    {
        Run run;
        QVERIFY(run.open());
        auto terse = await(run.client.setConfigOption(run.session, QStringLiteral("verbosity"), QStringLiteral("terse")));
        QVERIFY(terse && *terse);
        QCOMPARE((*terse)->first().currentValue, QStringLiteral("terse"));
        auto noFetch = await(run.client.setConfigOption(run.session, QStringLiteral("upstream_check"), false));
        QVERIFY(noFetch && *noFetch);
        QCOMPARE((*noFetch)->at(1).type, ConfigOption::Type::Boolean);
        QVERIFY(!(*noFetch)->at(1).currentBool);
        QTRY_COMPARE(run.seen.ofKind(K::ConfigOptions).size(), 2);
        QVERIFY(!run.client.session(run.session)->configOptions().at(1).currentBool);
        auto wrong = await(run.client.setConfigOption(run.session, QStringLiteral("verbosity"), true));
        QVERIFY(wrong && !*wrong);
        auto result = run.prompt(QStringLiteral("Fix it."));
        QVERIFY(result && result->stopReason == StopReason::EndTurn);
        QVERIFY(run.seen.agentText().contains(QLatin1String("Looking at the project.")));
        QVERIFY(!run.handler.log.join(u'\n').contains(QLatin1String("check-upstream")));
        QCOMPARE(run.client.session(run.session)->toolCalls().size(), 5);
    }

    void resourceLinksAreFollowed()
    {
        Run run;
        QVERIFY(run.open());
        const QString readme = run.workspace + QStringLiteral("/README.md");
        auto result = run.prompt({ContentBlock::fromText(QStringLiteral("Look at this first:")),
                                  ContentBlock::fromResourceLink(QUrl::fromLocalFile(readme).toString(), QStringLiteral("README.md"),
                                                                 QStringLiteral("text/markdown"))});
        QVERIFY(result && result->stopReason == StopReason::EndTurn);
        QCOMPARE(run.handler.log.first(), QStringLiteral("fs/read_text_file %1 line=1 limit=20").arg(readme));
        QVERIFY(run.seen.agentText().contains(QLatin1String("You pointed me at README.md; it starts with: # slugify")));
    }

    void echoTurnAndPromptRules()
    {
        Run run;
        QVERIFY(run.open());
        auto busy = run.client.prompt(run.session, {ContentBlock::fromText(QStringLiteral("Fix it."))});
        // One turn at a time per session.
        auto second = await(run.client.prompt(run.session, {ContentBlock::fromText(QStringLiteral("/echo no"))}));
        QVERIFY(second && !*second);
        QVERIFY(second->error().message.contains(QLatin1String("already running")));
        QVERIFY(await(busy));
        auto echo = run.prompt(QStringLiteral("/echo hello there"));
        QVERIFY(echo && echo->stopReason == StopReason::EndTurn);
        QVERIFY(run.seen.agentText().endsWith(QLatin1String("hello there")));
        auto empty = await(run.client.prompt(run.session, {}));
        QVERIFY(empty && !*empty);
        auto nowhere = await(run.client.prompt(QStringLiteral("no-such-session"), {ContentBlock::fromText(QStringLiteral("x"))}));
        QVERIFY(nowhere && !*nowhere);
    }

    void authenticationGate()
    {
        Run run({QStringLiteral("--require-auth")});
        auto init = await(run.client.initialize());
        QVERIFY(init && *init);
        QCOMPARE((*init)->authMethods.size(), 1);
        QCOMPARE((*init)->authMethods.first().id, QStringLiteral("demo-token"));
        auto refused = await(run.client.newSession(run.workspace));
        QVERIFY(refused && !*refused);
        QVERIFY2(refused->error().message.contains(QLatin1String("sign in")), qPrintable(refused->error().message));
        QVERIFY(refused->error().message.contains(QLatin1String("-32000")));
        auto wrong = await(run.client.authenticate(QStringLiteral("password")));
        QVERIFY(wrong && !*wrong);
        QCOMPARE(wrong->error().code, ErrorCode::InvalidArgument);
        auto ok = await(run.client.authenticate(QStringLiteral("demo-token")));
        QVERIFY(ok && *ok);
        auto s = await(run.client.newSession(run.workspace));
        QVERIFY(s && *s);
    }

    void cancelWithdrawsThePermissionRequest()
    {
        Run run;
        run.handler.answer = TestHandler::Answer::Hold;
        QVERIFY(run.open());
        QSignalSpy asked(&run.client, &AcpClient::permissionRequested);
        auto turn = run.client.prompt(run.session, {ContentBlock::fromText(QStringLiteral("Fix it."))});
        QVERIFY(asked.wait(20000));
        QVERIFY(run.client.isPrompting(run.session));
        run.client.cancel(run.session);
        QCOMPARE(run.handler.withdrawn, 1);
        QVERIFY(!run.handler.held.first().isPending());
        auto result = await(turn);
        QVERIFY(result && *result);
        QCOMPARE((*result)->stopReason, StopReason::Cancelled);
        QVERIFY(!run.client.isPrompting(run.session));
        QCOMPARE(run.client.session(run.session)->toolCall(QStringLiteral("call-4"))->status, ToolStatus::Failed);
        // An answer after the fact changes nothing.
        run.handler.held.first().ok(PermissionOutcome::select(QStringLiteral("allow-once")));
        QVERIFY(!run.testsPass());
    }

    void loadReplaysHistory()
    {
        QTemporaryDir state;
        QString sessionId;
        QString workspace;
        int liveUpdates = 0;
        {
            Run first({QStringLiteral("--state-dir"), state.path()});
            QVERIFY(first.open());
            sessionId = first.session;
            workspace = first.workspace;
            QVERIFY(first.prompt(QStringLiteral("/echo remember me")));
            liveUpdates = int(first.seen.updates.size());
        }
        // A new agent process, as after a restart of Airlock.
        Run second({QStringLiteral("--state-dir"), state.path()});
        QVERIFY(await(second.client.initialize()));
        auto loaded = await(second.client.loadSession(sessionId, workspace));
        QVERIFY(loaded);
        QVERIFY2(*loaded, agenttest::why(*loaded).constData());
        QCOMPARE((*loaded)->sessionId, sessionId);
        QCOMPARE((*loaded)->modes->currentModeId, QStringLiteral("ask"));
        // Everything arrived before the answer: the user's prompt, then what the agent said.
        QCOMPARE(second.seen.updates.size(), liveUpdates + 1);
        const auto users = second.seen.ofKind(K::UserMessageChunk);
        QCOMPARE(users.size(), 1);
        QCOMPARE(std::get<MessageChunk>(users.first().data).content.text, QStringLiteral("/echo remember me"));
        QCOMPARE(second.seen.agentText(sessionId), QStringLiteral("remember me"));
        QCOMPARE(second.client.session(sessionId)->availableCommands().size(), 2);
        // And the session goes on.
        second.session = sessionId;
        QVERIFY(second.prompt(QStringLiteral("/echo and more")));

        auto missing = await(second.client.loadSession(QStringLiteral("demo-999"), workspace));
        QVERIFY(missing && !*missing);
        QCOMPARE(missing->error().code, ErrorCode::NotFound);
    }
};

QTEST_GUILESS_MAIN(TestAcpClient)
#include "tst_acpclient.moc"
