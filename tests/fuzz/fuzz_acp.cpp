// The ACP readers: each line of the input is read as JSON and given to every reader of the agent's
// messages (updates, requests, answers and the values inside them); the session updates and
// permission requests that are accepted are folded into one AcpSessionState, as a client does.
//
// Property: the state's index of tool calls finds every call it holds.
#include "fuzzinput.h"

#include "agent/acpparse.h"
#include "agent/acpsessionstate.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonValue>

using namespace airlock;
using namespace airlock::agent;
using namespace airlock::agent::acp;

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    fuzz::initQt();
    return 0;
}

namespace {

void readEverything(const QJsonValue &v, AcpSessionState &state)
{
    if (auto u = parseSessionNotification(v)) {
        (void)u->kindName();
        state.apply(*u);
    }
    if (auto r = parsePermissionRequest(v))
        state.applyPermissionRequest(*r);
    (void)parseReadTextFileRequest(v);
    (void)parseWriteTextFileRequest(v);
    (void)parseCreateTerminalRequest(v);
    for (const char *method : {"terminal/output", "terminal/wait_for_exit", "terminal/kill", "terminal/release"})
        (void)parseTerminalRequest(v, QString::fromLatin1(method));
    (void)parseInitializeResult(v);
    if (auto s = parseSessionSetup(v))
        state.applySetup(*s);
    (void)parseSessionSetup(v, QStringLiteral("s1"));
    (void)parsePromptResult(v);
    (void)parseSetConfigOptionResult(v);

    QStringList warnings;
    const QString where = QStringLiteral("fuzz");
    (void)parseContentBlock(v, where, &warnings);
    (void)parseConfigOptions(v, where, &warnings);
    (void)parseModeState(v, where, &warnings);
    const QJsonObject o = v.toObject();
    (void)parseToolCall(o, where, &warnings);
    (void)parseToolCallUpdate(o, where, &warnings);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    AcpSessionState state(QStringLiteral("s1"));
    const QByteArrayView input(reinterpret_cast<const char *>(data), qsizetype(size));
    qsizetype start = 0;
    while (start <= input.size()) {
        qsizetype end = input.indexOf('\n', start);
        if (end < 0)
            end = input.size();
        const QByteArray line = input.sliced(start, end - start).toByteArray();
        start = end + 1;
        QJsonParseError error;
        const QJsonDocument doc = QJsonDocument::fromJson(line, &error);
        if (error.error != QJsonParseError::NoError)
            continue;
        readEverything(doc.isObject() ? QJsonValue(doc.object()) : QJsonValue(doc.array()), state);
    }
    for (const ToolCall &call : state.toolCalls()) {
        const ToolCall *found = state.toolCall(call.id);
        AIRLOCK_FUZZ_CHECK(found && found->id == call.id);
    }
    return 0;
}
