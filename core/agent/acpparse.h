#pragma once

#include "acptypes.h"
#include "error.h"

// Readers from ACP JSON to the typed values, following the schema's own rules: a required field
// that is missing or of the wrong type refuses the message (InvalidArgument, naming the field);
// an optional field of the wrong type falls back to its default and is noted in `warnings`; an
// invalid item in a list the schema marks skippable is skipped and noted.
namespace airlock::agent::acp {

Result<ContentBlock> parseContentBlock(const QJsonValue &value, const QString &where, QStringList *warnings);
Result<ToolCall> parseToolCall(const QJsonObject &object, const QString &where, QStringList *warnings);
Result<ToolCallUpdate> parseToolCallUpdate(const QJsonObject &object, const QString &where, QStringList *warnings);
QList<ConfigOption> parseConfigOptions(const QJsonValue &value, const QString &where, QStringList *warnings);
std::optional<SessionModeState> parseModeState(const QJsonValue &value, const QString &where, QStringList *warnings);

// session/update params: {sessionId, update}. An unknown update kind is not an error: it comes back
// as Kind::Unknown with its raw JSON.
Result<SessionUpdate> parseSessionNotification(const QJsonValue &params);

// Requests the agent sends to the client.
Result<PermissionRequest> parsePermissionRequest(const QJsonValue &params);
Result<ReadTextFileRequest> parseReadTextFileRequest(const QJsonValue &params);
Result<WriteTextFileRequest> parseWriteTextFileRequest(const QJsonValue &params);
Result<CreateTerminalRequest> parseCreateTerminalRequest(const QJsonValue &params);
Result<TerminalRequest> parseTerminalRequest(const QJsonValue &params, const QString &method);

// Answers to the client's requests.
Result<InitializeResult> parseInitializeResult(const QJsonValue &result);
// session/new carries the session id; session/load does not (pass the id it was loaded with).
Result<SessionSetup> parseSessionSetup(const QJsonValue &result, const QString &knownSessionId = {});
Result<PromptResult> parsePromptResult(const QJsonValue &result);
Result<QList<ConfigOption>> parseSetConfigOptionResult(const QJsonValue &result);

} // namespace airlock::agent::acp
