// The client's side of the agent's requests and of the agent's answers, in memory: requests are
// checked before a handler sees them (session, params, capabilities), handler answers and failures
// map to the right JSON-RPC errors, cancellation reaches the handler, and malformed answers to the
// client's own calls become clear errors.
#include "agenttestutil.h"

#include <QJsonDocument>

using namespace airlock;
using namespace airlock::agent;
using namespace airlock::agent::acp;
using agenttest::await;

namespace {

// Serves the agent's requests from a script; what it does is set per test.
struct ScriptHandler : AcpClientHandler {
    std::function<void(const ReadTextFileRequest &, AcpReply<QString>)> read;
    std::function<void(const PermissionRequest &, AcpReply<PermissionOutcome>)> permission;
    int calls = 0;

    void requestPermission(const PermissionRequest &r, AcpReply<PermissionOutcome> reply) override
    {
        ++calls;
        if (permission)
            permission(r, reply);
    }
    void readTextFile(const ReadTextFileRequest &r, AcpReply<QString> reply) override
    {
        ++calls;
        if (read)
            read(r, reply);
    }
    void writeTextFile(const WriteTextFileRequest &, AcpReply<void> reply) override
    {
        ++calls;
        reply.ok();
    }
    void createTerminal(const CreateTerminalRequest &, AcpReply<QString> reply) override
    {
        ++calls;
        reply.ok(QStringLiteral("t1"));
    }
    void terminalOutput(const TerminalRequest &, AcpReply<TerminalOutput> reply) override
    {
        ++calls;
        reply.ok(TerminalOutput{QStringLiteral("out"), false, std::nullopt});
    }
    void waitForTerminalExit(const TerminalRequest &, AcpReply<TerminalExitStatus> reply) override
    {
        ++calls;
        reply.ok(TerminalExitStatus{0, {}});
    }
    void killTerminal(const TerminalRequest &, AcpReply<void> reply) override
    {
        ++calls;
        reply.ok();
    }
    void releaseTerminal(const TerminalRequest &, AcpReply<void> reply) override
    {
        ++calls;
        reply.ok();
    }
};

// A client whose agent is the test: what the client writes is captured, what the agent says is fed.
struct Peer {
    AcpClient client;
    ScriptHandler handler;
    agenttest::Recorder seen{client};
    QList<QJsonObject> out;

    Peer()
    {
        client.setHandler(&handler);
        client.connection().setWriter([this](const QByteArray &bytes) {
            for (const QByteArray &line : bytes.split('\n'))
                if (!line.isEmpty())
                    out.append(QJsonDocument::fromJson(line).object());
            return true;
        });
    }
    void agentSays(const QJsonObject &o) { client.connection().receive(QByteArray(QJsonDocument(o).toJson(QJsonDocument::Compact) + '\n')); }
    void answer(const QJsonValue &result)
    {
        agentSays(QJsonObject{{QStringLiteral("jsonrpc"), QStringLiteral("2.0")}, {QStringLiteral("id"), out.last().value(QLatin1String("id"))},
                              {QStringLiteral("result"), result}});
    }
    void request(int id, const QString &method, const QJsonObject &params)
    {
        agentSays(QJsonObject{{QStringLiteral("jsonrpc"), QStringLiteral("2.0")}, {QStringLiteral("id"), id},
                              {QStringLiteral("method"), method}, {QStringLiteral("params"), params}});
    }
    QJsonObject reply() const { return out.last(); }
    int errorCode() const { return reply().value(QLatin1String("error")).toObject().value(QLatin1String("code")).toInt(); }
    void openSession(const QString &id = QStringLiteral("s1"))
    {
        auto f = client.newSession(QStringLiteral("/w"));
        answer(QJsonObject{{QStringLiteral("sessionId"), id}});
        Q_ASSERT(f.isFinished() && f.result().has_value());
    }
};

QJsonObject readParams(const QString &session, const QString &path)
{
    return QJsonObject{{QStringLiteral("sessionId"), session}, {QStringLiteral("path"), path}};
}

} // namespace

class TestAcpRequests : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initializeSendsCapabilitiesAndChecksTheVersion()
    {
        Peer p;
        auto f = p.client.initialize();
        const QJsonObject sent = p.reply();
        QCOMPARE(sent.value(QLatin1String("method")).toString(), QStringLiteral("initialize"));
        const QJsonObject params = sent.value(QLatin1String("params")).toObject();
        QCOMPARE(params.value(QLatin1String("protocolVersion")).toInt(), 1);
        const QJsonObject caps = params.value(QLatin1String("clientCapabilities")).toObject();
        QVERIFY(caps.value(QLatin1String("fs")).toObject().value(QLatin1String("readTextFile")).toBool());
        QVERIFY(caps.value(QLatin1String("fs")).toObject().value(QLatin1String("writeTextFile")).toBool());
        QVERIFY(caps.value(QLatin1String("terminal")).toBool());
        QCOMPARE(params.value(QLatin1String("clientInfo")).toObject().value(QLatin1String("name")).toString(), QStringLiteral("airlock"));
        p.answer(QJsonObject{{QStringLiteral("protocolVersion"), 2}});
        QVERIFY(f.isFinished() && !f.result());
        QVERIFY2(f.result().error().message.contains(QLatin1String("speaks ACP version 2")), qPrintable(f.result().error().message));
    }

    void malformedAnswersBecomeClearErrors()
    {
        Peer p;
        auto prompt = [&] {
            return p.client.prompt(QStringLiteral("s1"), {ContentBlock::fromText(QStringLiteral("x"))});
        };
        auto s = p.client.newSession(QStringLiteral("/w"));
        p.answer(QJsonObject{{QStringLiteral("modes"), QJsonValue()}});
        QVERIFY(!s.result());
        QVERIFY2(s.result().error().message.contains(QLatin1String("sessionId")), qPrintable(s.result().error().message));
        p.openSession();
        auto f = prompt();
        QCOMPARE(p.reply().value(QLatin1String("method")).toString(), QStringLiteral("session/prompt"));
        QCOMPARE(p.reply().value(QLatin1String("params")).toObject().value(QLatin1String("prompt")).toArray().first().toObject().value(QLatin1String("type")).toString(), QStringLiteral("text"));
        p.answer(QJsonObject{{QStringLiteral("stopReason"), QStringLiteral("tired")}});
        QVERIFY(!f.result());
        QVERIFY2(f.result().error().message.contains(QLatin1String("cannot read")) && f.result().error().message.contains(QLatin1String("stopReason")),
                 qPrintable(f.result().error().message));
        QVERIFY(!p.client.isPrompting(QStringLiteral("s1")));
        f = prompt();
        p.answer(QStringLiteral("done"));
        QVERIFY(!f.result());
        f = prompt();
        p.agentSays(QJsonObject{{QStringLiteral("jsonrpc"), QStringLiteral("2.0")}, {QStringLiteral("id"), p.reply().value(QLatin1String("id"))},
                                {QStringLiteral("error"), QJsonObject{{QStringLiteral("code"), -32603}, {QStringLiteral("message"), QStringLiteral("model overloaded")}}}});
        QVERIFY(!f.result());
        QVERIFY(f.result().error().message.contains(QLatin1String("model overloaded")));
        QCOMPARE(f.result().error().code, ErrorCode::Io);
    }

    void loadIsRefusedWhenNotOffered()
    {
        Peer p;
        p.client.initialize();
        p.answer(QJsonObject{{QStringLiteral("protocolVersion"), 1}, {QStringLiteral("agentCapabilities"), QJsonObject{{QStringLiteral("loadSession"), false}}}});
        const int sent = int(p.out.size());
        auto f = p.client.loadSession(QStringLiteral("old"), QStringLiteral("/w"));
        QVERIFY(f.isFinished() && !f.result());
        QVERIFY(f.result().error().message.contains(QLatin1String("cannot load")));
        QCOMPARE(p.out.size(), sent);
    }

    void requestsAreCheckedBeforeTheHandler_data()
    {
        QTest::addColumn<QString>("method");
        QTest::addColumn<QJsonObject>("params");
        QTest::addColumn<int>("code");
        QTest::newRow("unknown session") << "fs/read_text_file" << readParams(QStringLiteral("nope"), QStringLiteral("/w/a")) << rpc::InvalidParams;
        QTest::newRow("relative path") << "fs/read_text_file" << readParams(QStringLiteral("s1"), QStringLiteral("a")) << rpc::InvalidParams;
        QTest::newRow("no path") << "fs/write_text_file" << QJsonObject{{QStringLiteral("sessionId"), QStringLiteral("s1")}} << rpc::InvalidParams;
        QTest::newRow("bad permission") << "session/request_permission" << QJsonObject{{QStringLiteral("sessionId"), QStringLiteral("s1")}} << rpc::InvalidParams;
        QTest::newRow("terminal without command") << "terminal/create" << QJsonObject{{QStringLiteral("sessionId"), QStringLiteral("s1")}} << rpc::InvalidParams;
        QTest::newRow("unknown client method") << "fs/delete_file" << readParams(QStringLiteral("s1"), QStringLiteral("/w/a")) << rpc::MethodNotFound;
        QTest::newRow("agent method sent to the client") << "session/prompt" << QJsonObject{{QStringLiteral("sessionId"), QStringLiteral("s1")}} << rpc::MethodNotFound;
    }

    void requestsAreCheckedBeforeTheHandler()
    {
        QFETCH(QString, method);
        QFETCH(QJsonObject, params);
        QFETCH(int, code);
        Peer p;
        p.openSession();
        p.request(50, method, params);
        QCOMPARE(p.reply().value(QLatin1String("id")).toInt(), 50);
        QCOMPARE(p.errorCode(), code);
        QCOMPARE(p.handler.calls, 0);
        QCOMPARE(p.seen.protocolErrors.size(), 1);
    }

    void capabilitiesNotOfferedAreNotServed()
    {
        Peer p;
        AcpClient::Options o;
        o.capabilities.terminal = false;
        o.capabilities.writeTextFile = false;
        p.client.setOptions(o);
        p.openSession();
        p.request(1, QStringLiteral("terminal/create"), QJsonObject{{QStringLiteral("sessionId"), QStringLiteral("s1")}, {QStringLiteral("command"), QStringLiteral("ls")}});
        QCOMPARE(p.errorCode(), rpc::MethodNotFound);
        p.request(2, QStringLiteral("fs/write_text_file"), QJsonObject{{QStringLiteral("sessionId"), QStringLiteral("s1")}, {QStringLiteral("path"), QStringLiteral("/w/a")}, {QStringLiteral("content"), QString()}});
        QCOMPARE(p.errorCode(), rpc::MethodNotFound);
        p.request(3, QStringLiteral("fs/read_text_file"), readParams(QStringLiteral("s1"), QStringLiteral("/w/a")));
        QCOMPARE(p.handler.calls, 1); // still offered
        p.client.setHandler(nullptr);
        p.request(4, QStringLiteral("fs/read_text_file"), readParams(QStringLiteral("s1"), QStringLiteral("/w/a")));
        QCOMPARE(p.errorCode(), rpc::MethodNotFound);
    }

    void handlerAnswersMapToJsonRpc_data()
    {
        QTest::addColumn<int>("errorCode"); // an ErrorCode, or -1 for success
        QTest::addColumn<int>("rpcCode");
        QTest::newRow("ok") << -1 << 0;
        QTest::newRow("not found") << int(ErrorCode::NotFound) << rpc::ResourceNotFound;
        QTest::newRow("refused") << int(ErrorCode::InvalidArgument) << rpc::InvalidParams;
        QTest::newRow("io") << int(ErrorCode::Io) << rpc::InternalError;
        QTest::newRow("cancelled") << int(ErrorCode::Cancelled) << rpc::RequestCancelled;
    }

    void handlerAnswersMapToJsonRpc()
    {
        QFETCH(int, errorCode);
        QFETCH(int, rpcCode);
        Peer p;
        p.openSession();
        p.handler.read = [&](const ReadTextFileRequest &, AcpReply<QString> reply) {
            if (errorCode < 0)
                reply.ok(QStringLiteral("text"));
            else
                reply.fail(Error{ErrorCode(errorCode), QStringLiteral("because")});
            reply.ok(QStringLiteral("second answers are ignored"));
        };
        const int before = int(p.out.size());
        p.request(9, QStringLiteral("fs/read_text_file"), readParams(QStringLiteral("s1"), QStringLiteral("/w/a")));
        QCOMPARE(p.out.size(), before + 1);
        if (errorCode < 0) {
            QCOMPARE(p.reply().value(QLatin1String("result")).toObject().value(QLatin1String("content")).toString(), QStringLiteral("text"));
        } else {
            QCOMPARE(p.errorCode(), rpcCode);
            QCOMPARE(p.reply().value(QLatin1String("error")).toObject().value(QLatin1String("message")).toString(), QStringLiteral("because"));
        }
    }

    void everyClientMethodReachesTheHandler()
    {
        Peer p;
        p.openSession();
        const QJsonObject term{{QStringLiteral("sessionId"), QStringLiteral("s1")}, {QStringLiteral("terminalId"), QStringLiteral("t1")}};
        p.request(1, QStringLiteral("terminal/create"), QJsonObject{{QStringLiteral("sessionId"), QStringLiteral("s1")}, {QStringLiteral("command"), QStringLiteral("ls")}});
        QCOMPARE(p.reply().value(QLatin1String("result")).toObject().value(QLatin1String("terminalId")).toString(), QStringLiteral("t1"));
        p.request(2, QStringLiteral("terminal/output"), term);
        QCOMPARE(p.reply().value(QLatin1String("result")).toObject().value(QLatin1String("output")).toString(), QStringLiteral("out"));
        QVERIFY(!p.reply().value(QLatin1String("result")).toObject().value(QLatin1String("truncated")).toBool());
        p.request(3, QStringLiteral("terminal/wait_for_exit"), term);
        QCOMPARE(p.reply().value(QLatin1String("result")).toObject().value(QLatin1String("exitCode")).toInt(), 0);
        p.request(4, QStringLiteral("terminal/kill"), term);
        QVERIFY(p.reply().value(QLatin1String("result")).isObject());
        p.request(5, QStringLiteral("terminal/release"), term);
        p.request(6, QStringLiteral("fs/write_text_file"), QJsonObject{{QStringLiteral("sessionId"), QStringLiteral("s1")}, {QStringLiteral("path"), QStringLiteral("/w/a")}, {QStringLiteral("content"), QStringLiteral("x")}});
        QCOMPARE(p.handler.calls, 6);
        QVERIFY(p.seen.protocolErrors.isEmpty());
    }

    void droppedAndCancelledRequests()
    {
        Peer p;
        p.openSession();
        // A handler that forgets the request: the agent still hears back.
        p.handler.read = [](const ReadTextFileRequest &, AcpReply<QString>) {};
        p.request(1, QStringLiteral("fs/read_text_file"), readParams(QStringLiteral("s1"), QStringLiteral("/w/a")));
        QCOMPARE(p.errorCode(), rpc::InternalError);

        // The agent cancels a request in progress: it is answered, and the handler told.
        AcpReply<QString> kept;
        bool told = false;
        p.handler.read = [&](const ReadTextFileRequest &, AcpReply<QString> reply) {
            kept = reply;
            reply.onCancelled([&] { told = true; });
        };
        p.request(2, QStringLiteral("fs/read_text_file"), readParams(QStringLiteral("s1"), QStringLiteral("/w/b")));
        QVERIFY(kept.isPending());
        p.agentSays(QJsonObject{{QStringLiteral("jsonrpc"), QStringLiteral("2.0")}, {QStringLiteral("method"), QStringLiteral("$/cancel_request")},
                                {QStringLiteral("params"), QJsonObject{{QStringLiteral("requestId"), 2}}}});
        QVERIFY(told);
        QVERIFY(kept.isCancelled());
        QCOMPARE(p.reply().value(QLatin1String("id")).toInt(), 2);
        QCOMPARE(p.errorCode(), rpc::RequestCancelled);
        const int count = int(p.out.size());
        kept.ok(QStringLiteral("too late"));
        QCOMPARE(p.out.size(), count);
    }

    void permissionAnswersMustBeOffered()
    {
        Peer p;
        p.openSession();
        p.handler.permission = [](const PermissionRequest &, AcpReply<PermissionOutcome> reply) {
            reply.ok(PermissionOutcome::select(QStringLiteral("made-up")));
        };
        const QJsonObject ask{{QStringLiteral("sessionId"), QStringLiteral("s1")},
                              {QStringLiteral("toolCall"), QJsonObject{{QStringLiteral("toolCallId"), QStringLiteral("c1")}, {QStringLiteral("title"), QStringLiteral("rm -rf /")}, {QStringLiteral("kind"), QStringLiteral("execute")}}},
                              {QStringLiteral("options"), QJsonArray{QJsonObject{{QStringLiteral("optionId"), QStringLiteral("yes")}, {QStringLiteral("name"), QStringLiteral("Yes")}, {QStringLiteral("kind"), QStringLiteral("allow_once")}}}}};
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("did not offer")));
        p.request(1, QStringLiteral("session/request_permission"), ask);
        QCOMPARE(p.reply().value(QLatin1String("result")).toObject().value(QLatin1String("outcome")).toObject().value(QLatin1String("outcome")).toString(),
                 QStringLiteral("cancelled"));
        // The permission's tool call is known from then on, even though no update announced it.
        QCOMPARE(p.client.session(QStringLiteral("s1"))->toolCall(QStringLiteral("c1"))->kind, ToolKind::Execute);
    }

    void updatesForSessionsNeverOpened()
    {
        Peer p;
        const QJsonObject update{{QStringLiteral("sessionUpdate"), QStringLiteral("agent_message_chunk")},
                                 {QStringLiteral("content"), QJsonObject{{QStringLiteral("type"), QStringLiteral("text")}, {QStringLiteral("text"), QStringLiteral("hi")}}}};
        auto note = [&](const QString &session) {
            p.agentSays(QJsonObject{{QStringLiteral("jsonrpc"), QStringLiteral("2.0")}, {QStringLiteral("method"), QStringLiteral("session/update")},
                                    {QStringLiteral("params"), QJsonObject{{QStringLiteral("sessionId"), session}, {QStringLiteral("update"), update}}}});
        };
        note(QStringLiteral("ghost"));
        QCOMPARE(p.seen.rejected.size(), 1);
        QCOMPARE(p.seen.rejected.first().code, ErrorCode::NotFound);
        // While session/new is on its way, an update may precede the answer that names the session.
        auto f = p.client.newSession(QStringLiteral("/w"));
        note(QStringLiteral("early"));
        QCOMPARE(p.seen.updates.size(), 1);
        p.answer(QJsonObject{{QStringLiteral("sessionId"), QStringLiteral("early")}});
        QVERIFY(f.result());
        note(QStringLiteral("ghost"));
        QCOMPARE(p.seen.rejected.size(), 2);
    }

    void disconnectFailsWhatIsPending()
    {
        Peer p;
        p.openSession();
        auto f = p.client.prompt(QStringLiteral("s1"), {ContentBlock::fromText(QStringLiteral("x"))});
        QVERIFY(p.client.isPrompting(QStringLiteral("s1")));
        p.client.connection().finishInput(Error{ErrorCode::Io, QStringLiteral("the agent exited with status 1")});
        QVERIFY(f.isFinished() && !f.result());
        QVERIFY(f.result().error().message.contains(QLatin1String("exited with status 1")));
        QCOMPARE(p.seen.disconnects.size(), 1);
        QVERIFY(!p.client.isPrompting(QStringLiteral("s1")));
        QVERIFY(!p.client.isConnected());
        auto late = p.client.setMode(QStringLiteral("s1"), QStringLiteral("ask"));
        QVERIFY(late.isFinished() && !late.result());
    }
};

QTEST_GUILESS_MAIN(TestAcpRequests)
#include "tst_acprequests.moc"
