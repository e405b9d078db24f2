// Requests the agent sends to the client, and the answers to the client's own requests.
#include "acpparse.h"

#include "acpjson.h"

#include <QDir>

namespace airlock::agent::acp {

using json::Fields;

namespace {

Result<QJsonObject> paramsObject(const QJsonValue &params, const QString &method)
{
    if (!params.isObject())
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("%1 params must be an object, not %2").arg(method, json::typeName(params)));
    return params.toObject();
}

// ACP requires absolute paths; a relative one would resolve against whatever the serving side's
// current folder is, which is never what the agent meant.
void requireAbsolute(Fields &f, const QString &key, const QString &path)
{
    if (f.ok() && !QDir::isAbsolutePath(path))
        f.fail(key, QStringLiteral("an absolute path"));
}

void requireNoNul(Fields &f, const QString &key, const QString &value)
{
    if (f.ok() && value.contains(QChar(0)))
        f.fail(key, QStringLiteral("free of NUL characters"));
}

} // namespace

Result<PermissionRequest> parsePermissionRequest(const QJsonValue &params)
{
    const QString method = QStringLiteral("session/request_permission");
    auto o = paramsObject(params, method);
    if (!o)
        return std::unexpected(o.error());
    PermissionRequest r;
    r.raw = *o;
    QStringList warnings;
    Fields f(*o, {}, &warnings);
    r.sessionId = f.nonEmpty(QStringLiteral("sessionId"));
    const QJsonObject toolCall = f.object(QStringLiteral("toolCall"));
    const QJsonArray options = f.array(QStringLiteral("options"));
    if (!f.ok())
        return f.failure();
    auto call = parseToolCallUpdate(toolCall, QStringLiteral("toolCall"), &warnings);
    if (!call)
        return std::unexpected(call.error());
    r.toolCall = std::move(*call);
    for (qsizetype i = 0; i < options.size(); ++i) {
        const QString where = QStringLiteral("options[%1]").arg(i);
        if (!options.at(i).isObject())
            return fail(ErrorCode::InvalidArgument, QStringLiteral("%1 must be an object").arg(where));
        Fields of(options.at(i).toObject(), where, &warnings);
        PermissionOption opt;
        opt.id = of.nonEmpty(QStringLiteral("optionId"));
        opt.name = of.string(QStringLiteral("name"));
        opt.kind = of.requiredEnum(QStringLiteral("kind"), &permissionKindFrom,
                                   QStringLiteral("allow_once, allow_always, reject_once, reject_always"),
                                   PermissionKind::RejectOnce);
        if (!of.ok())
            return of.failure();
        for (const PermissionOption &seen : std::as_const(r.options))
            if (seen.id == opt.id)
                return fail(ErrorCode::InvalidArgument, QStringLiteral("%1.optionId \"%2\" is offered twice")
                                                            .arg(where, opt.id.left(60)));
        r.options.append(opt);
    }
    if (r.options.isEmpty())
        return fail(ErrorCode::InvalidArgument, QStringLiteral("options must offer at least one choice"));
    return r;
}

Result<ReadTextFileRequest> parseReadTextFileRequest(const QJsonValue &params)
{
    auto o = paramsObject(params, QStringLiteral("fs/read_text_file"));
    if (!o)
        return std::unexpected(o.error());
    Fields f(*o, {}, nullptr);
    ReadTextFileRequest r;
    r.sessionId = f.nonEmpty(QStringLiteral("sessionId"));
    r.path = f.nonEmpty(QStringLiteral("path"));
    requireAbsolute(f, QStringLiteral("path"), r.path);
    requireNoNul(f, QStringLiteral("path"), r.path);
    r.line = f.strictOptUInt32(QStringLiteral("line"));
    r.limit = f.strictOptUInt32(QStringLiteral("limit"));
    if (!f.ok())
        return f.failure();
    return r;
}

Result<WriteTextFileRequest> parseWriteTextFileRequest(const QJsonValue &params)
{
    auto o = paramsObject(params, QStringLiteral("fs/write_text_file"));
    if (!o)
        return std::unexpected(o.error());
    Fields f(*o, {}, nullptr);
    WriteTextFileRequest r;
    r.sessionId = f.nonEmpty(QStringLiteral("sessionId"));
    r.path = f.nonEmpty(QStringLiteral("path"));
    requireAbsolute(f, QStringLiteral("path"), r.path);
    requireNoNul(f, QStringLiteral("path"), r.path);
    r.content = f.string(QStringLiteral("content"));
    if (!f.ok())
        return f.failure();
    return r;
}

Result<CreateTerminalRequest> parseCreateTerminalRequest(const QJsonValue &params)
{
    auto o = paramsObject(params, QStringLiteral("terminal/create"));
    if (!o)
        return std::unexpected(o.error());
    Fields f(*o, {}, nullptr);
    CreateTerminalRequest r;
    r.sessionId = f.nonEmpty(QStringLiteral("sessionId"));
    r.command = f.nonEmpty(QStringLiteral("command"));
    requireNoNul(f, QStringLiteral("command"), r.command);
    if (o->contains(QLatin1String("args"))) {
        const QJsonArray args = f.array(QStringLiteral("args"));
        for (qsizetype i = 0; f.ok() && i < args.size(); ++i) {
            if (!args.at(i).isString() || args.at(i).toString().contains(QChar(0)))
                return fail(ErrorCode::InvalidArgument, QStringLiteral("args[%1] must be a string without NUL").arg(i));
            r.args.append(args.at(i).toString());
        }
    }
    if (o->contains(QLatin1String("env"))) {
        const QJsonArray env = f.array(QStringLiteral("env"));
        for (qsizetype i = 0; f.ok() && i < env.size(); ++i) {
            const QString where = QStringLiteral("env[%1]").arg(i);
            if (!env.at(i).isObject())
                return fail(ErrorCode::InvalidArgument, QStringLiteral("%1 must be an object").arg(where));
            Fields e(env.at(i).toObject(), where, nullptr);
            EnvVariable v{e.nonEmpty(QStringLiteral("name")), e.string(QStringLiteral("value"))};
            if (e.ok() && (v.name.contains(u'=') || v.name.contains(QChar(0)) || v.value.contains(QChar(0))))
                e.fail(QStringLiteral("name"), QStringLiteral("a variable name without '=' or NUL"));
            if (!e.ok())
                return e.failure();
            r.env.append(v);
        }
    }
    const QJsonValue cwd = o->value(QLatin1String("cwd"));
    if (!cwd.isUndefined() && !cwd.isNull()) {
        r.cwd = f.string(QStringLiteral("cwd"));
        requireAbsolute(f, QStringLiteral("cwd"), r.cwd);
    }
    const QJsonValue limit = o->value(QLatin1String("outputByteLimit"));
    if (!limit.isUndefined() && !limit.isNull())
        r.outputByteLimit = f.uint64(QStringLiteral("outputByteLimit"));
    if (!f.ok())
        return f.failure();
    return r;
}

Result<TerminalRequest> parseTerminalRequest(const QJsonValue &params, const QString &method)
{
    auto o = paramsObject(params, method);
    if (!o)
        return std::unexpected(o.error());
    Fields f(*o, {}, nullptr);
    TerminalRequest r{f.nonEmpty(QStringLiteral("sessionId")), f.nonEmpty(QStringLiteral("terminalId"))};
    if (!f.ok())
        return f.failure();
    return r;
}

Result<InitializeResult> parseInitializeResult(const QJsonValue &result)
{
    if (!result.isObject())
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("the initialize answer must be an object, not %1").arg(json::typeName(result)));
    InitializeResult r;
    r.raw = result.toObject();
    QStringList warnings;
    Fields f(r.raw, {}, &warnings);
    const QJsonValue version = r.raw.value(QLatin1String("protocolVersion"));
    if (!json::isUnsigned(version, 65535))
        f.fail(QStringLiteral("protocolVersion"), QStringLiteral("an integer from 0 to 65535"));
    if (!f.ok())
        return f.failure();
    r.protocolVersion = int(version.toDouble());
    const QJsonObject caps = r.raw.value(QLatin1String("agentCapabilities")).toObject();
    Fields c(caps, QStringLiteral("agentCapabilities"), &warnings);
    r.capabilities.raw = caps;
    r.capabilities.loadSession = c.optBool(QStringLiteral("loadSession"));
    const QJsonObject prompt = caps.value(QLatin1String("promptCapabilities")).toObject();
    Fields p(prompt, QStringLiteral("agentCapabilities.promptCapabilities"), &warnings);
    r.capabilities.promptImage = p.optBool(QStringLiteral("image"));
    r.capabilities.promptAudio = p.optBool(QStringLiteral("audio"));
    r.capabilities.promptEmbeddedContext = p.optBool(QStringLiteral("embeddedContext"));
    const QJsonObject mcp = caps.value(QLatin1String("mcpCapabilities")).toObject();
    Fields m(mcp, QStringLiteral("agentCapabilities.mcpCapabilities"), &warnings);
    r.capabilities.mcpHttp = m.optBool(QStringLiteral("http"));
    r.capabilities.mcpSse = m.optBool(QStringLiteral("sse"));
    if (auto methods = f.optArray(QStringLiteral("authMethods"))) {
        for (const QJsonValue &v : std::as_const(*methods)) {
            Fields a(v.toObject(), QStringLiteral("authMethods[]"), &warnings);
            AuthMethod method{a.string(QStringLiteral("id")), a.string(QStringLiteral("name")),
                              a.optString(QStringLiteral("description")).value_or(QString()),
                              a.optString(QStringLiteral("type")).value_or(QString()), {}};
            for (const QJsonValue &var : v.toObject().value(QLatin1String("vars")).toArray()) {
                const QString name = var.toObject().value(QLatin1String("name")).toString();
                if (!name.isEmpty() && name.size() <= 128)
                    method.vars << name;
            }
            if (a.ok() && !method.id.isEmpty())
                r.authMethods.append(method); // skip-invalid-items, as the schema says
        }
    }
    const QJsonValue info = r.raw.value(QLatin1String("agentInfo"));
    if (info.isObject()) {
        Fields i(info.toObject(), QStringLiteral("agentInfo"), &warnings);
        Implementation impl{i.string(QStringLiteral("name")), i.optString(QStringLiteral("title")).value_or(QString()),
                            i.string(QStringLiteral("version"))};
        if (i.ok())
            r.agentInfo = impl;
    }
    return r;
}

Result<SessionSetup> parseSessionSetup(const QJsonValue &result, const QString &knownSessionId)
{
    // session/load may answer null: nothing beyond the replayed history.
    if (!knownSessionId.isEmpty() && (result.isNull() || result.isUndefined()))
        return SessionSetup{knownSessionId, std::nullopt, {}, {}};
    if (!result.isObject())
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("the session answer must be an object, not %1").arg(json::typeName(result)));
    SessionSetup s;
    s.raw = result.toObject();
    QStringList warnings;
    Fields f(s.raw, {}, &warnings);
    s.sessionId = knownSessionId.isEmpty() ? f.nonEmpty(QStringLiteral("sessionId")) : knownSessionId;
    if (!f.ok())
        return f.failure();
    s.modes = parseModeState(s.raw.value(QLatin1String("modes")), QStringLiteral("modes"), &warnings);
    s.configOptions = parseConfigOptions(s.raw.value(QLatin1String("configOptions")), QStringLiteral("configOptions"),
                                         &warnings);
    return s;
}

Result<PromptResult> parsePromptResult(const QJsonValue &result)
{
    if (!result.isObject())
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("the session/prompt answer must be an object, not %1").arg(json::typeName(result)));
    PromptResult r;
    r.raw = result.toObject();
    QStringList warnings;
    Fields f(r.raw, {}, &warnings);
    r.stopReason = f.requiredEnum(QStringLiteral("stopReason"), &stopReasonFrom,
                                  QStringLiteral("end_turn, max_tokens, max_turn_requests, refusal, cancelled"),
                                  StopReason::EndTurn);
    if (!f.ok())
        return f.failure();
    const QJsonValue usage = r.raw.value(QLatin1String("usage"));
    if (usage.isObject()) {
        Fields u(usage.toObject(), QStringLiteral("usage"), &warnings);
        TurnUsage t;
        t.totalTokens = u.uint64(QStringLiteral("totalTokens"));
        t.inputTokens = u.uint64(QStringLiteral("inputTokens"));
        t.outputTokens = u.uint64(QStringLiteral("outputTokens"));
        t.thoughtTokens = u.optUInt64(QStringLiteral("thoughtTokens"));
        t.cachedReadTokens = u.optUInt64(QStringLiteral("cachedReadTokens"));
        t.cachedWriteTokens = u.optUInt64(QStringLiteral("cachedWriteTokens"));
        if (u.ok())
            r.usage = t; // the schema defaults a malformed usage to none rather than refusing the turn
    }
    return r;
}

Result<QList<ConfigOption>> parseSetConfigOptionResult(const QJsonValue &result)
{
    if (!result.isObject())
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("the session/set_config_option answer must be an object, not %1")
                        .arg(json::typeName(result)));
    const QJsonValue options = result.toObject().value(QLatin1String("configOptions"));
    if (!options.isArray())
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("configOptions must be an array, not %1").arg(json::typeName(options)));
    QStringList warnings;
    return parseConfigOptions(options, QStringLiteral("configOptions"), &warnings);
}

} // namespace airlock::agent::acp
