// ACP values from JSON: every session/update variant with malformed, mistyped, truncated and
// oversized input; and the per-session state that folds the updates (a repeated tool_call updates
// the call it names). The agent's requests and the answers to the client's are in tst_acpmessages.
#include "agent/acpparse.h"
#include "agent/acpsessionstate.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>

using namespace airlock;
using namespace airlock::agent;
using namespace airlock::agent::acp;

namespace {

QJsonObject obj(const char *text)
{
    QJsonParseError e;
    const QJsonDocument d = QJsonDocument::fromJson(QByteArray(text), &e);
    if (e.error != QJsonParseError::NoError)
        qFatal("bad test JSON: %s in %s", qPrintable(e.errorString()), text);
    return d.object();
}

QJsonObject notif(const char *update)
{
    return QJsonObject{{QStringLiteral("sessionId"), QStringLiteral("s1")}, {QStringLiteral("update"), obj(update)}};
}

} // namespace

class TestAcpParse : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void everyUpdateKind_data()
    {
        QTest::addColumn<QByteArray>("update");
        QTest::addColumn<int>("kind");
        QTest::addColumn<QString>("name");
        using K = SessionUpdate::Kind;
        QTest::newRow("user chunk") << QByteArray(R"({"sessionUpdate":"user_message_chunk","content":{"type":"text","text":"hi"}})") << int(K::UserMessageChunk) << "user_message_chunk";
        QTest::newRow("agent chunk") << QByteArray(R"({"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"hi"},"messageId":"m1"})") << int(K::AgentMessageChunk) << "agent_message_chunk";
        QTest::newRow("thought chunk") << QByteArray(R"({"sessionUpdate":"agent_thought_chunk","content":{"type":"text","text":"hmm"}})") << int(K::AgentThoughtChunk) << "agent_thought_chunk";
        QTest::newRow("tool call") << QByteArray(R"({"sessionUpdate":"tool_call","toolCallId":"c1","title":"Read"})") << int(K::ToolCall) << "tool_call";
        QTest::newRow("tool call update") << QByteArray(R"({"sessionUpdate":"tool_call_update","toolCallId":"c1"})") << int(K::ToolCallUpdate) << "tool_call_update";
        QTest::newRow("plan") << QByteArray(R"({"sessionUpdate":"plan","entries":[]})") << int(K::Plan) << "plan";
        QTest::newRow("commands") << QByteArray(R"({"sessionUpdate":"available_commands_update","availableCommands":[]})") << int(K::AvailableCommands) << "available_commands_update";
        QTest::newRow("mode") << QByteArray(R"({"sessionUpdate":"current_mode_update","currentModeId":"ask"})") << int(K::CurrentMode) << "current_mode_update";
        QTest::newRow("config") << QByteArray(R"({"sessionUpdate":"config_option_update","configOptions":[]})") << int(K::ConfigOptions) << "config_option_update";
        QTest::newRow("info") << QByteArray(R"({"sessionUpdate":"session_info_update","title":"T"})") << int(K::SessionInfo) << "session_info_update";
        QTest::newRow("usage") << QByteArray(R"({"sessionUpdate":"usage_update","used":1,"size":2})") << int(K::Usage) << "usage_update";
        QTest::newRow("unknown") << QByteArray(R"({"sessionUpdate":"hologram","x":1})") << int(K::Unknown) << "hologram";
        QTest::newRow("newer protocol") << QByteArray(R"({"sessionUpdate":"plan_update","planId":"p"})") << int(K::Unknown) << "plan_update";
    }

    void everyUpdateKind()
    {
        QFETCH(QByteArray, update);
        QFETCH(int, kind);
        QFETCH(QString, name);
        auto u = parseSessionNotification(notif(update.constData()));
        QVERIFY2(u, u ? "" : qPrintable(u.error().message));
        QCOMPARE(int(u->kind), kind);
        QCOMPARE(u->kindName(), name);
        QCOMPARE(u->sessionId, QStringLiteral("s1"));
        QCOMPARE(u->raw, obj(update.constData()));
        QVERIFY2(u->warnings.isEmpty(), qPrintable(u->warnings.join(u'\n')));
    }

    void contentBlocks_data()
    {
        QTest::addColumn<QByteArray>("block");
        QTest::addColumn<int>("type");
        QTest::addColumn<QString>("display");
        using T = ContentBlock::Type;
        QTest::newRow("text") << QByteArray(R"({"type":"text","text":"hello","annotations":{"priority":1}})") << int(T::Text) << "hello";
        QTest::newRow("image") << QByteArray(R"({"type":"image","data":"AAAA","mimeType":"image/png"})") << int(T::Image) << "[image image/png]";
        QTest::newRow("audio") << QByteArray(R"({"type":"audio","data":"AAAA","mimeType":"audio/wav"})") << int(T::Audio) << "[audio audio/wav]";
        QTest::newRow("link") << QByteArray(R"({"type":"resource_link","uri":"file:\/\/\/w/a.txt","name":"a.txt","size":12,"mimeType":"text/plain"})") << int(T::ResourceLink) << "[a.txt](file:///w/a.txt)";
        QTest::newRow("resource text") << QByteArray(R"({"type":"resource","resource":{"uri":"file:\/\/\/w/a","text":"body"}})") << int(T::Resource) << "body";
        QTest::newRow("resource blob") << QByteArray(R"({"type":"resource","resource":{"uri":"file:\/\/\/w/b","blob":"AAAA","mimeType":"x/y"}})") << int(T::Resource) << "[resource file:///w/b]";
        QTest::newRow("unknown type") << QByteArray(R"({"type":"video","src":"x"})") << int(T::Unknown) << "[unsupported content: video]";
    }

    void contentBlocks()
    {
        QFETCH(QByteArray, block);
        QFETCH(int, type);
        QFETCH(QString, display);
        QStringList warnings;
        auto b = parseContentBlock(obj(block.constData()), QStringLiteral("content"), &warnings);
        QVERIFY2(b, b ? "" : qPrintable(b.error().message));
        QCOMPARE(int(b->type), type);
        QCOMPARE(b->displayText(), display);
        QCOMPARE(b->toJson(), obj(block.constData())); // as sent, for the store
        if (type == int(ContentBlock::Type::ResourceLink))
            QCOMPARE(b->size, std::optional<qint64>(12));
        QCOMPARE(warnings.isEmpty(), type != int(ContentBlock::Type::Unknown));
    }

    void builtBlocksSerialise()
    {
        const QJsonObject j1 = obj(R"({"type":"text","text":"hi"})");
        QCOMPARE(ContentBlock::fromText(QStringLiteral("hi")).toJson(), j1);
        const QJsonObject j101 = obj(R"({"type":"resource_link","uri":"file:\/\/\/a","name":"a","mimeType":"text/plain"})");
        QCOMPARE(ContentBlock::fromResourceLink(QStringLiteral("file:///a"), QStringLiteral("a"), QStringLiteral("text/plain")).toJson(),
                 j101);
    }

    void toolCallWithEveryContent()
    {
        auto u = parseSessionNotification(notif(R"({"sessionUpdate":"tool_call","toolCallId":"c1","title":"Edit a.txt",
            "kind":"edit","status":"in_progress",
            "content":[{"type":"content","content":{"type":"text","text":"note"}},
                       {"type":"diff","path":"/w/a.txt","oldText":"old","newText":"new"},
                       {"type":"diff","path":"/w/new.txt","newText":"fresh"},
                       {"type":"terminal","terminalId":"t1"}],
            "locations":[{"path":"/w/a.txt","line":3},{"path":"/w/b.txt"}],
            "rawInput":{"path":"/w/a.txt"},"rawOutput":"done"})"));
        QVERIFY2(u, u ? "" : qPrintable(u.error().message));
        const ToolCall &c = std::get<ToolCall>(u->data);
        QCOMPARE(c.id, QStringLiteral("c1"));
        QCOMPARE(c.kind, ToolKind::Edit);
        QCOMPARE(c.status, ToolStatus::InProgress);
        QCOMPARE(c.content.size(), 4);
        QCOMPARE(c.content[0].type, ToolCallContent::Type::Content);
        QCOMPARE(c.content[0].content.text, QStringLiteral("note"));
        QCOMPARE(c.content[1].type, ToolCallContent::Type::Diff);
        QCOMPARE(c.content[1].oldText, std::optional<QString>(QStringLiteral("old")));
        QCOMPARE(c.content[1].newText, QStringLiteral("new"));
        QVERIFY(!c.content[2].oldText); // a new file
        QCOMPARE(c.content[3].type, ToolCallContent::Type::Terminal);
        QCOMPARE(c.content[3].terminalId, QStringLiteral("t1"));
        QCOMPARE(c.locations.size(), 2);
        QCOMPARE(c.locations[0].line, std::optional<quint32>(3));
        QVERIFY(!c.locations[1].line);
        QCOMPARE(c.rawInput.toObject().value(QLatin1String("path")).toString(), QStringLiteral("/w/a.txt"));
        QCOMPARE(c.rawOutput.toString(), QStringLiteral("done"));
    }

    void toolCallUpdateChangesOnlyWhatItCarries()
    {
        auto u = parseSessionNotification(notif(R"({"sessionUpdate":"tool_call_update","toolCallId":"c1","status":"failed",
                                                   "content":null,"title":null})"));
        QVERIFY(u);
        const ToolCallUpdate &up = std::get<ToolCallUpdate>(u->data);
        QCOMPARE(up.status, std::optional(ToolStatus::Failed));
        QVERIFY(!up.title && !up.kind && !up.content && !up.locations && !up.rawInput && !up.rawOutput);
        ToolCall call{QStringLiteral("c1"), QStringLiteral("Run"), ToolKind::Execute, ToolStatus::InProgress, {}, {}, {}, {}};
        up.applyTo(call);
        QCOMPARE(call.title, QStringLiteral("Run"));
        QCOMPARE(call.kind, ToolKind::Execute);
        QCOMPARE(call.status, ToolStatus::Failed);
    }

    void planCommandsModesConfigInfoUsage()
    {
        auto plan = parseSessionNotification(notif(R"({"sessionUpdate":"plan","entries":[
            {"content":"Read","priority":"high","status":"completed"},
            {"content":"Fix","priority":"medium","status":"in_progress"},
            {"content":"Ship","priority":"low","status":"pending"}]})"));
        QVERIFY(plan);
        const auto &entries = std::get<Plan>(plan->data).entries;
        QCOMPARE(entries.size(), 3);
        QCOMPARE(entries[0].status, PlanStatus::Completed);
        QCOMPARE(entries[1].priority, PlanPriority::Medium);
        QCOMPARE(entries[2].status, PlanStatus::Pending);

        auto commands = parseSessionNotification(notif(R"({"sessionUpdate":"available_commands_update","availableCommands":[
            {"name":"web","description":"Search the web","input":{"hint":"query"}},{"name":"test","description":"Run tests"}]})"));
        QVERIFY(commands);
        const auto &cmds = std::get<AvailableCommands>(commands->data).commands;
        QCOMPARE(cmds.size(), 2);
        QCOMPARE(cmds[0].inputHint, QStringLiteral("query"));
        QVERIFY(cmds[1].inputHint.isEmpty());

        auto config = parseSessionNotification(notif(R"({"sessionUpdate":"config_option_update","configOptions":[
            {"id":"model","name":"Model","type":"select","currentValue":"fast","category":"model",
             "options":[{"group":"g1","name":"Group","options":[{"value":"fast","name":"Fast"},{"value":"smart","name":"Smart"}]}]},
            {"id":"mode","name":"Mode","type":"select","currentValue":"a","options":[{"value":"a","name":"A","description":"first"}]},
            {"id":"web","name":"Web","type":"boolean","currentValue":true}]})"));
        QVERIFY(config);
        const auto &opts = std::get<ConfigOptions>(config->data).options;
        QCOMPARE(opts.size(), 3);
        QCOMPARE(opts[0].choices.size(), 2);
        QCOMPARE(opts[0].choices[1].group, QStringLiteral("g1"));
        QCOMPARE(opts[0].category, QStringLiteral("model"));
        QCOMPARE(opts[1].choices[0].description, QStringLiteral("first"));
        QCOMPARE(opts[2].type, ConfigOption::Type::Boolean);
        QVERIFY(opts[2].currentBool);

        auto info = parseSessionNotification(notif(R"({"sessionUpdate":"session_info_update","title":null,"updatedAt":"2025-01-01T00:00:00Z"})"));
        QVERIFY(info);
        const SessionInfo &si = std::get<SessionInfo>(info->data);
        QCOMPARE(si.title, std::optional<QString>(QString())); // cleared
        QCOMPARE(si.updatedAt, std::optional<QString>(QStringLiteral("2025-01-01T00:00:00Z")));
        auto untouched = parseSessionNotification(notif(R"({"sessionUpdate":"session_info_update"})"));
        QVERIFY(untouched && !std::get<SessionInfo>(untouched->data).title);

        auto usage = parseSessionNotification(notif(R"({"sessionUpdate":"usage_update","used":1200,"size":200000,"cost":{"amount":0.25,"currency":"USD"}})"));
        QVERIFY(usage);
        const ContextUsage &cu = std::get<ContextUsage>(usage->data);
        QCOMPARE(cu.used, 1200u);
        QCOMPARE(cu.size, 200000u);
        QVERIFY(cu.cost);
        QCOMPARE(cu.cost->amount, 0.25);
        QCOMPARE(cu.cost->currency, QStringLiteral("USD"));
    }

    void malformedUpdatesAreRefused_data()
    {
        QTest::addColumn<QByteArray>("params");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("params not an object") << QByteArray(R"([1,2])") << "params";
        QTest::newRow("no session") << QByteArray(R"({"update":{"sessionUpdate":"plan","entries":[]}})") << "sessionId";
        QTest::newRow("numeric session") << QByteArray(R"({"sessionId":5,"update":{"sessionUpdate":"plan","entries":[]}})") << "sessionId";
        QTest::newRow("no update") << QByteArray(R"({"sessionId":"s"})") << "update";
        QTest::newRow("update not object") << QByteArray(R"({"sessionId":"s","update":"plan"})") << "update";
        QTest::newRow("no discriminator") << QByteArray(R"({"sessionId":"s","update":{"entries":[]}})") << "sessionUpdate";
        QTest::newRow("numeric discriminator") << QByteArray(R"({"sessionId":"s","update":{"sessionUpdate":3}})") << "sessionUpdate";
        QTest::newRow("chunk without content") << QByteArray(R"({"sessionId":"s","update":{"sessionUpdate":"agent_message_chunk"}})") << "update.content";
        QTest::newRow("chunk text a number") << QByteArray(R"({"sessionId":"s","update":{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":7}}})") << "update.content.text";
        QTest::newRow("chunk content typeless") << QByteArray(R"({"sessionId":"s","update":{"sessionUpdate":"agent_message_chunk","content":{"text":"x"}}})") << "update.content.type";
        QTest::newRow("image without data") << QByteArray(R"({"sessionId":"s","update":{"sessionUpdate":"agent_message_chunk","content":{"type":"image","mimeType":"x"}}})") << "data";
        QTest::newRow("tool call without title") << QByteArray(R"({"sessionId":"s","update":{"sessionUpdate":"tool_call","toolCallId":"c"}})") << "update.title";
        QTest::newRow("tool call title a number") << QByteArray(R"({"sessionId":"s","update":{"sessionUpdate":"tool_call","toolCallId":"c","title":42}})") << "update.title";
        QTest::newRow("tool call empty id") << QByteArray(R"({"sessionId":"s","update":{"sessionUpdate":"tool_call","toolCallId":"","title":"t"}})") << "toolCallId";
        QTest::newRow("update without id") << QByteArray(R"({"sessionId":"s","update":{"sessionUpdate":"tool_call_update","status":"completed"}})") << "toolCallId";
        QTest::newRow("plan entries not a list") << QByteArray(R"({"sessionId":"s","update":{"sessionUpdate":"plan","entries":"all of it"}})") << "update.entries";
        QTest::newRow("commands missing") << QByteArray(R"({"sessionId":"s","update":{"sessionUpdate":"available_commands_update"}})") << "availableCommands";
        QTest::newRow("mode missing") << QByteArray(R"({"sessionId":"s","update":{"sessionUpdate":"current_mode_update"}})") << "currentModeId";
        QTest::newRow("config not a list") << QByteArray(R"({"sessionId":"s","update":{"sessionUpdate":"config_option_update","configOptions":{}}})") << "configOptions";
        QTest::newRow("usage used a string") << QByteArray(R"({"sessionId":"s","update":{"sessionUpdate":"usage_update","used":"many","size":1}})") << "update.used";
        QTest::newRow("usage negative") << QByteArray(R"({"sessionId":"s","update":{"sessionUpdate":"usage_update","used":-1,"size":1}})") << "update.used";
        QTest::newRow("usage fractional") << QByteArray(R"({"sessionId":"s","update":{"sessionUpdate":"usage_update","used":1.5,"size":1}})") << "update.used";
        QTest::newRow("usage without size") << QByteArray(R"({"sessionId":"s","update":{"sessionUpdate":"usage_update","used":1}})") << "update.size";
    }

    void malformedUpdatesAreRefused()
    {
        QFETCH(QByteArray, params);
        QFETCH(QString, mentions);
        const QJsonDocument doc = QJsonDocument::fromJson(params);
        const QJsonValue value = doc.isArray() ? QJsonValue(doc.array()) : QJsonValue(doc.object());
        auto u = parseSessionNotification(value);
        QVERIFY(!u);
        QCOMPARE(u.error().code, ErrorCode::InvalidArgument);
        QVERIFY2(u.error().message.contains(mentions), qPrintable(u.error().message));
    }

    void optionalFieldsFallBackWithAWarning_data()
    {
        QTest::addColumn<QByteArray>("update");
        QTest::addColumn<QString>("warning");
        QTest::newRow("status a number") << QByteArray(R"({"sessionUpdate":"tool_call","toolCallId":"c","title":"t","status":5})") << "update.status";
        QTest::newRow("unknown kind") << QByteArray(R"({"sessionUpdate":"tool_call","toolCallId":"c","title":"t","kind":"teleport"})") << "update.kind";
        QTest::newRow("locations a string") << QByteArray(R"({"sessionUpdate":"tool_call","toolCallId":"c","title":"t","locations":"here"})") << "update.locations";
        QTest::newRow("bad location skipped") << QByteArray(R"({"sessionUpdate":"tool_call","toolCallId":"c","title":"t","locations":[{"line":1},{"path":"/a"}]})") << "update.locations[0]";
        QTest::newRow("negative line") << QByteArray(R"({"sessionUpdate":"tool_call","toolCallId":"c","title":"t","locations":[{"path":"/a","line":-4}]})") << "line";
        QTest::newRow("bad content item skipped") << QByteArray(R"({"sessionUpdate":"tool_call_update","toolCallId":"c","content":[{"type":"diff","path":"/a"},{"type":"terminal","terminalId":"t"}]})") << "update.content[0]";
        QTest::newRow("unknown content kind") << QByteArray(R"({"sessionUpdate":"tool_call_update","toolCallId":"c","content":[{"type":"hologram"}]})") << "update.content[0]";
        QTest::newRow("title a number in update") << QByteArray(R"({"sessionUpdate":"tool_call_update","toolCallId":"c","title":9})") << "update.title";
        QTest::newRow("bad plan entry") << QByteArray(R"({"sessionUpdate":"plan","entries":[{"content":"a","priority":"urgent","status":"pending"},{"content":"b","priority":"low","status":"pending"}]})") << "update.entries[0]";
        QTest::newRow("bad command") << QByteArray(R"({"sessionUpdate":"available_commands_update","availableCommands":[{"name":"x"},{"name":"y","description":"ok"}]})") << "availableCommands[0]";
        QTest::newRow("bad config option") << QByteArray(R"({"sessionUpdate":"config_option_update","configOptions":[{"id":"x","name":"X","type":"slider"}]})") << "configOptions[0]";
        QTest::newRow("session title a number") << QByteArray(R"({"sessionUpdate":"session_info_update","title":5})") << "update.title";
        QTest::newRow("cost a string") << QByteArray(R"({"sessionUpdate":"usage_update","used":1,"size":2,"cost":"cheap"})") << "update.cost";
        QTest::newRow("cost without currency") << QByteArray(R"({"sessionUpdate":"usage_update","used":1,"size":2,"cost":{"amount":1}})") << "update.cost";
        QTest::newRow("message id a number") << QByteArray(R"({"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"x"},"messageId":4})") << "update.messageId";
    }

    void optionalFieldsFallBackWithAWarning()
    {
        QFETCH(QByteArray, update);
        QFETCH(QString, warning);
        auto u = parseSessionNotification(notif(update.constData()));
        QVERIFY2(u, u ? "" : qPrintable(u.error().message));
        QVERIFY2(u->warnings.join(u'\n').contains(warning), qPrintable(u->warnings.join(u'\n')));
        if (u->kind == SessionUpdate::Kind::ToolCall) {
            const ToolCall &c = std::get<ToolCall>(u->data);
            QCOMPARE(c.title, QStringLiteral("t"));
            if (warning == QLatin1String("update.status"))
                QCOMPARE(c.status, ToolStatus::Pending);
            if (warning == QLatin1String("update.kind"))
                QCOMPARE(c.kind, ToolKind::Other);
        }
    }

    void bigInputIsReadWhole()
    {
        // Oversized for a chat message, legal for the parser: 20 MB of text and 100,000 plan entries.
        const QString big(20 * 1000 * 1000, u'x');
        QJsonObject update{{QStringLiteral("sessionUpdate"), QStringLiteral("agent_message_chunk")},
                           {QStringLiteral("content"), QJsonObject{{QStringLiteral("type"), QStringLiteral("text")}, {QStringLiteral("text"), big}}}};
        auto u = parseSessionNotification(QJsonObject{{QStringLiteral("sessionId"), QStringLiteral("s")}, {QStringLiteral("update"), update}});
        QVERIFY(u);
        QCOMPARE(std::get<MessageChunk>(u->data).content.text.size(), big.size());

        QJsonArray entries;
        for (int i = 0; i < 100000; ++i)
            entries.append(QJsonObject{{QStringLiteral("content"), QString::number(i)}, {QStringLiteral("priority"), QStringLiteral("low")},
                                       {QStringLiteral("status"), QStringLiteral("pending")}});
        QElapsedTimer t;
        t.start();
        auto plan = parseSessionNotification(QJsonObject{{QStringLiteral("sessionId"), QStringLiteral("s")},
                                                         {QStringLiteral("update"), QJsonObject{{QStringLiteral("sessionUpdate"), QStringLiteral("plan")},
                                                                                                {QStringLiteral("entries"), entries}}}});
        QVERIFY(plan);
        QCOMPARE(std::get<Plan>(plan->data).entries.size(), 100000);
        QVERIFY2(t.elapsed() < 5000, qPrintable(QString::number(t.elapsed())));
    }

    void sessionStateFoldsUpdates()
    {
        AcpSessionState state(QStringLiteral("s1"));
        auto apply = [&](const char *update) {
            auto u = parseSessionNotification(notif(update));
            if (!u)
                qFatal("%s", qPrintable(u.error().message));
            return state.apply(*u);
        };
        auto a = apply(R"({"sessionUpdate":"tool_call","toolCallId":"c1","title":"Read a","kind":"read","status":"pending","locations":[{"path":"/a"}]})");
        QVERIFY(a.created && !a.repeated);
        a = apply(R"({"sessionUpdate":"tool_call_update","toolCallId":"c1","status":"in_progress"})");
        QVERIFY(!a.created);
        QCOMPARE(a.toolCall->status, ToolStatus::InProgress);
        QCOMPARE(a.toolCall->locations.size(), 1); // untouched by the update
        // The same id announced again updates the existing call; it does not add one.
        a = apply(R"({"sessionUpdate":"tool_call","toolCallId":"c1","title":"Read a, again","kind":"read","status":"completed"})");
        QVERIFY(!a.created && a.repeated);
        QCOMPARE(state.toolCalls().size(), 1);
        QCOMPARE(state.toolCall(QStringLiteral("c1"))->title, QStringLiteral("Read a, again"));
        QCOMPARE(state.toolCall(QStringLiteral("c1"))->status, ToolStatus::Completed);
        // An update for a call never announced makes one, marked as such.
        a = apply(R"({"sessionUpdate":"tool_call_update","toolCallId":"ghost","status":"failed"})");
        QVERIFY(a.created && a.orphan);
        QCOMPARE(state.toolCall(QStringLiteral("ghost"))->title, QStringLiteral("Tool call ghost"));
        QCOMPARE(state.toolCalls().size(), 2);

        apply(R"({"sessionUpdate":"plan","entries":[{"content":"a","priority":"high","status":"pending"},{"content":"b","priority":"high","status":"pending"}]})");
        apply(R"({"sessionUpdate":"plan","entries":[{"content":"a","priority":"high","status":"completed"}]})");
        QCOMPARE(state.plan().size(), 1); // a plan replaces the last one
        apply(R"({"sessionUpdate":"current_mode_update","currentModeId":"code"})");
        QCOMPARE(state.currentModeId(), QStringLiteral("code"));
        apply(R"({"sessionUpdate":"session_info_update","title":"Hello"})");
        apply(R"({"sessionUpdate":"session_info_update","updatedAt":"now"})");
        QCOMPARE(state.title(), QStringLiteral("Hello"));
        apply(R"({"sessionUpdate":"usage_update","used":5,"size":10})");
        QCOMPARE(state.usage()->used, 5u);
        apply(R"({"sessionUpdate":"available_commands_update","availableCommands":[{"name":"x","description":"y"}]})");
        QCOMPARE(state.availableCommands().size(), 1);
        apply(R"({"sessionUpdate":"config_option_update","configOptions":[{"id":"b","name":"B","type":"boolean","currentValue":true}]})");
        QCOMPARE(state.configOptions().size(), 1);
        apply(R"({"sessionUpdate":"whatever"})");
        QCOMPARE(state.unknownUpdates(), 1);

        PermissionRequest request;
        request.sessionId = QStringLiteral("s1");
        request.toolCall.id = QStringLiteral("c9");
        request.toolCall.title = QStringLiteral("Edit");
        a = state.applyPermissionRequest(request);
        QVERIFY(a.created && !a.orphan);
        QCOMPARE(state.toolCalls().size(), 3);
    }
};

QTEST_GUILESS_MAIN(TestAcpParse)
#include "tst_acpparse.moc"
