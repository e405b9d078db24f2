// ACP messages other than session/update: the requests an agent sends to the client (permission,
// fs/*, terminal/*) and the answers to the client's own requests, well-formed and not.
#include "agent/acpparse.h"

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

} // namespace

class TestAcpMessages : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void agentRequests_data()
    {
        QTest::addColumn<QString>("method");
        QTest::addColumn<QByteArray>("params");
        QTest::addColumn<QString>("error"); // empty: accepted
        QTest::newRow("permission") << "session/request_permission" << QByteArray(R"({"sessionId":"s","toolCall":{"toolCallId":"c","title":"Edit","kind":"edit"},"options":[{"optionId":"a","name":"Allow","kind":"allow_once"},{"optionId":"r","name":"Reject","kind":"reject_once"}]})") << "";
        QTest::newRow("permission, no options") << "session/request_permission" << QByteArray(R"({"sessionId":"s","toolCall":{"toolCallId":"c"},"options":[]})") << "at least one";
        QTest::newRow("permission, same option twice") << "session/request_permission" << QByteArray(R"({"sessionId":"s","toolCall":{"toolCallId":"c"},"options":[{"optionId":"a","name":"A","kind":"allow_once"},{"optionId":"a","name":"B","kind":"reject_once"}]})") << "twice";
        QTest::newRow("permission, bad kind") << "session/request_permission" << QByteArray(R"({"sessionId":"s","toolCall":{"toolCallId":"c"},"options":[{"optionId":"a","name":"A","kind":"maybe"}]})") << "options[0].kind";
        QTest::newRow("permission, no tool call") << "session/request_permission" << QByteArray(R"({"sessionId":"s","options":[{"optionId":"a","name":"A","kind":"allow_once"}]})") << "toolCall";
        QTest::newRow("read") << "fs/read_text_file" << QByteArray(R"({"sessionId":"s","path":"/w/a","line":2,"limit":10})") << "";
        QTest::newRow("read, relative path") << "fs/read_text_file" << QByteArray(R"({"sessionId":"s","path":"a.txt"})") << "absolute";
        QTest::newRow("read, path a number") << "fs/read_text_file" << QByteArray(R"({"sessionId":"s","path":42})") << "path";
        QTest::newRow("read, negative line") << "fs/read_text_file" << QByteArray(R"({"sessionId":"s","path":"/a","line":-1})") << "line";
        QTest::newRow("read, limit a string") << "fs/read_text_file" << QByteArray(R"({"sessionId":"s","path":"/a","limit":"10"})") << "limit";
        QTest::newRow("read, no session") << "fs/read_text_file" << QByteArray(R"({"path":"/a"})") << "sessionId";
        QTest::newRow("write") << "fs/write_text_file" << QByteArray(R"({"sessionId":"s","path":"/w/a","content":""})") << "";
        QTest::newRow("write, no content") << "fs/write_text_file" << QByteArray(R"({"sessionId":"s","path":"/w/a"})") << "content";
        QTest::newRow("write, relative") << "fs/write_text_file" << QByteArray(R"({"sessionId":"s","path":"../a","content":"x"})") << "absolute";
        QTest::newRow("terminal") << "terminal/create" << QByteArray(R"({"sessionId":"s","command":"sh","args":["-c","true"],"env":[{"name":"A","value":"1"}],"cwd":"/w","outputByteLimit":100})") << "";
        QTest::newRow("terminal, null cwd") << "terminal/create" << QByteArray(R"({"sessionId":"s","command":"ls","cwd":null})") << "";
        QTest::newRow("terminal, no command") << "terminal/create" << QByteArray(R"({"sessionId":"s","args":[]})") << "command";
        QTest::newRow("terminal, numeric arg") << "terminal/create" << QByteArray(R"({"sessionId":"s","command":"ls","args":["-l",3]})") << "args[1]";
        QTest::newRow("terminal, env not a list") << "terminal/create" << QByteArray(R"({"sessionId":"s","command":"ls","env":{"A":"1"}})") << "env";
        QTest::newRow("terminal, env name with =") << "terminal/create" << QByteArray(R"({"sessionId":"s","command":"ls","env":[{"name":"A=B","value":"1"}]})") << "name";
        QTest::newRow("terminal, relative cwd") << "terminal/create" << QByteArray(R"({"sessionId":"s","command":"ls","cwd":"sub"})") << "absolute";
        QTest::newRow("terminal, negative limit") << "terminal/create" << QByteArray(R"({"sessionId":"s","command":"ls","outputByteLimit":-5})") << "outputByteLimit";
        QTest::newRow("output") << "terminal/output" << QByteArray(R"({"sessionId":"s","terminalId":"t"})") << "";
        QTest::newRow("output, no terminal") << "terminal/output" << QByteArray(R"({"sessionId":"s"})") << "terminalId";
        QTest::newRow("kill, numeric terminal") << "terminal/kill" << QByteArray(R"({"sessionId":"s","terminalId":1})") << "terminalId";
        QTest::newRow("params not an object") << "terminal/release" << QByteArray(R"([])") << "params";
    }

    void agentRequests()
    {
        QFETCH(QString, method);
        QFETCH(QByteArray, params);
        QFETCH(QString, error);
        const QJsonDocument doc = QJsonDocument::fromJson(params);
        const QJsonValue p = doc.isArray() ? QJsonValue(doc.array()) : QJsonValue(doc.object());
        std::optional<Error> failure;
        auto check = [&](const auto &r) {
            if (!r)
                failure = r.error();
        };
        if (method == QLatin1String("session/request_permission"))
            check(parsePermissionRequest(p));
        else if (method == QLatin1String("fs/read_text_file"))
            check(parseReadTextFileRequest(p));
        else if (method == QLatin1String("fs/write_text_file"))
            check(parseWriteTextFileRequest(p));
        else if (method == QLatin1String("terminal/create"))
            check(parseCreateTerminalRequest(p));
        else
            check(parseTerminalRequest(p, method));
        if (error.isEmpty()) {
            QVERIFY2(!failure, failure ? qPrintable(failure->message) : "");
        } else {
            QVERIFY(failure);
            QCOMPARE(failure->code, ErrorCode::InvalidArgument);
            QVERIFY2(failure->message.contains(error), qPrintable(failure->message));
        }
    }

    void requestValues()
    {
        auto read = parseReadTextFileRequest(obj(R"({"sessionId":"s","path":"/w/a","line":2,"limit":10})"));
        QVERIFY(read);
        QCOMPARE(read->line, std::optional<quint32>(2));
        QCOMPARE(read->limit, std::optional<quint32>(10));
        auto term = parseCreateTerminalRequest(obj(R"({"sessionId":"s","command":"sh","args":["-c","true"],"env":[{"name":"A","value":"1"}],"outputByteLimit":100})"));
        QVERIFY(term);
        QCOMPARE(term->args, (QStringList{"-c", "true"}));
        QCOMPARE(term->env.size(), 1);
        QCOMPARE(term->env[0].value, QStringLiteral("1"));
        QCOMPARE(term->outputByteLimit, std::optional<quint64>(100));
        QVERIFY(term->cwd.isEmpty());
        auto perm = parsePermissionRequest(obj(R"({"sessionId":"s","toolCall":{"toolCallId":"c","title":"Edit","kind":"edit"},"options":[{"optionId":"a","name":"Allow","kind":"allow_always"}]})"));
        QVERIFY(perm);
        QCOMPARE(perm->toolCall.id, QStringLiteral("c"));
        QCOMPARE(perm->toolCall.kind, std::optional(ToolKind::Edit));
        QCOMPARE(perm->options[0].kind, PermissionKind::AllowAlways);
        const QJsonObject j2 = obj(R"({"outcome":{"outcome":"selected","optionId":"a"}})");
        QCOMPARE(PermissionOutcome::select(QStringLiteral("a")).toJson(), j2);
        const QJsonObject j3 = obj(R"({"outcome":{"outcome":"cancelled"}})");
        QCOMPARE(PermissionOutcome::cancel().toJson(), j3);
        const QJsonObject j102 = obj(R"({"output":"o","truncated":true,"exitStatus":{"exitCode":0,"signal":null}})");
        const TerminalOutput output{QStringLiteral("o"), true, TerminalExitStatus{0, {}}};
        QCOMPARE(output.toJson(),
                 j102);
    }

    void answersToTheClient()
    {
        auto init = parseInitializeResult(obj(R"({"protocolVersion":1,"agentCapabilities":{"loadSession":true,
            "promptCapabilities":{"image":true,"embeddedContext":"yes"},"mcpCapabilities":{"http":true}},
            "authMethods":[{"id":"key","name":"API key"},{"name":"no id"},
                           {"type":"env_var","id":"openai-api-key","name":"Use OPENAI_API_KEY","vars":[{"name":"OPENAI_API_KEY"},{"x":1},"bad"]}],
            "agentInfo":{"name":"a","version":"1"}})"));
        QVERIFY(init);
        QCOMPARE(init->protocolVersion, 1);
        QVERIFY(init->capabilities.loadSession);
        QVERIFY(init->capabilities.promptImage);
        QVERIFY(!init->capabilities.promptEmbeddedContext); // mistyped: the default
        QVERIFY(init->capabilities.mcpHttp);
        QCOMPARE(init->authMethods.size(), 2);
        QVERIFY(init->authMethods.first().type.isEmpty() && init->authMethods.first().vars.isEmpty());
        QCOMPARE(init->authMethods.last().type, QStringLiteral("env_var"));
        QCOMPARE(init->authMethods.last().vars, QStringList{QStringLiteral("OPENAI_API_KEY")}); // malformed entries dropped
        QCOMPARE(init->agentInfo->name, QStringLiteral("a"));
        const QJsonObject j4 = obj(R"({"agentCapabilities":{}})");
        QVERIFY(!parseInitializeResult(j4));
        const QJsonObject j5 = obj(R"({"protocolVersion":"1"})");
        QVERIFY(!parseInitializeResult(j5));
        const QJsonObject j6 = obj(R"({"protocolVersion":70000})");
        QVERIFY(!parseInitializeResult(j6));
        QVERIFY(!parseInitializeResult(QJsonValue(QStringLiteral("ok"))));
        auto bare = parseInitializeResult(obj(R"({"protocolVersion":1})"));
        QVERIFY(bare && !bare->capabilities.loadSession && bare->authMethods.isEmpty());

        auto setup = parseSessionSetup(obj(R"({"sessionId":"abc","modes":{"currentModeId":"ask","availableModes":[{"id":"ask","name":"Ask"},{"id":"code","name":"Code"}]},
            "configOptions":[{"id":"m","name":"M","type":"boolean","currentValue":false}]})"));
        QVERIFY(setup);
        QCOMPARE(setup->sessionId, QStringLiteral("abc"));
        QCOMPARE(setup->modes->availableModes.size(), 2);
        QCOMPARE(setup->configOptions.size(), 1);
        const QJsonObject j7 = obj(R"({"modes":null})");
        QVERIFY(!parseSessionSetup(j7));
        auto loaded = parseSessionSetup(QJsonValue(QJsonValue::Null), QStringLiteral("old"));
        QVERIFY(loaded && loaded->sessionId == QStringLiteral("old"));
        auto badModes = parseSessionSetup(obj(R"({"sessionId":"x","modes":{"availableModes":[]}})"));
        const QJsonObject j103 = obj(R"({"stopReason":"max_tokens","usage":{"totalTokens":10,"inputTokens":6,"outputTokens":4,"thoughtTokens":2}})");
        QVERIFY(badModes && !badModes->modes); // malformed optional: dropped, not fatal

        auto prompt = parsePromptResult(j103);
        QVERIFY(prompt);
        QCOMPARE(prompt->stopReason, StopReason::MaxTokens);
        QCOMPARE(prompt->usage->totalTokens, 10u);
        QCOMPARE(prompt->usage->thoughtTokens, std::optional<quint64>(2));
        const QJsonObject j8 = obj(R"({"stopReason":"tired"})");
        QVERIFY(!parsePromptResult(j8));
        const QJsonObject j9 = obj(R"({})");
        QVERIFY(!parsePromptResult(j9));
        auto noUsage = parsePromptResult(obj(R"({"stopReason":"refusal","usage":{"totalTokens":"lots"}})"));
        QVERIFY(noUsage && !noUsage->usage);

        auto options = parseSetConfigOptionResult(obj(R"({"configOptions":[{"id":"a","name":"A","type":"boolean","currentValue":true}]})"));
        QVERIFY(options && options->size() == 1);
        const QJsonObject j10 = obj(R"({})");
        QVERIFY(!parseSetConfigOptionResult(j10));
    }
};

QTEST_GUILESS_MAIN(TestAcpMessages)
#include "tst_acpmessages.moc"
