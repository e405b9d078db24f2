#include "acpparse.h"

#include "acpjson.h"

namespace airlock::agent::acp {

using json::Fields;

namespace {

const QString kToolKinds = QStringLiteral("read, edit, delete, move, search, execute, think, fetch, switch_mode, other");
const QString kToolStatuses = QStringLiteral("pending, in_progress, completed, failed");

QString at(const QString &where, qsizetype i)
{
    return QStringLiteral("%1[%2]").arg(where).arg(i);
}

void skipped(QStringList *warnings, const QString &where, const Error &why)
{
    if (warnings)
        warnings->append(QStringLiteral("%1 skipped: %2").arg(where, why.message));
}

Result<ToolCallLocation> parseLocation(const QJsonValue &value, const QString &where, QStringList *warnings)
{
    if (!value.isObject())
        return fail(ErrorCode::InvalidArgument, QStringLiteral("%1 must be an object, not %2").arg(where, json::typeName(value)));
    Fields f(value.toObject(), where, warnings);
    ToolCallLocation l;
    l.path = f.string(QStringLiteral("path"));
    l.line = f.optUInt32(QStringLiteral("line"));
    if (!f.ok())
        return f.failure();
    return l;
}

Result<ToolCallContent> parseToolContent(const QJsonValue &value, const QString &where, QStringList *warnings)
{
    if (!value.isObject())
        return fail(ErrorCode::InvalidArgument, QStringLiteral("%1 must be an object, not %2").arg(where, json::typeName(value)));
    Fields f(value.toObject(), where, warnings);
    const QString type = f.string(QStringLiteral("type"));
    if (!f.ok())
        return f.failure();
    ToolCallContent c;
    if (type == QLatin1String("content")) {
        c.type = ToolCallContent::Type::Content;
        auto block = parseContentBlock(f.object().value(QLatin1String("content")), f.path(QStringLiteral("content")), warnings);
        if (!block)
            return std::unexpected(block.error());
        c.content = std::move(*block);
    } else if (type == QLatin1String("diff")) {
        c.type = ToolCallContent::Type::Diff;
        c.path = f.string(QStringLiteral("path"));
        c.newText = f.string(QStringLiteral("newText"));
        c.oldText = f.optString(QStringLiteral("oldText"));
    } else if (type == QLatin1String("terminal")) {
        c.type = ToolCallContent::Type::Terminal;
        c.terminalId = f.nonEmpty(QStringLiteral("terminalId"));
    } else {
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("%1.type must be content, diff or terminal, not \"%2\"").arg(where, type.left(60)));
    }
    if (!f.ok())
        return f.failure();
    return c;
}

// A list the schema marks "skip invalid items": bad items are dropped with a warning.
template<typename T, typename Parse>
QList<T> parseList(const QJsonArray &array, const QString &where, QStringList *warnings, Parse parse)
{
    QList<T> out;
    out.reserve(array.size());
    for (qsizetype i = 0; i < array.size(); ++i) {
        auto item = parse(array.at(i), at(where, i), warnings);
        if (item)
            out.append(std::move(*item));
        else
            skipped(warnings, at(where, i), item.error());
    }
    return out;
}

Result<PlanEntry> parsePlanEntry(const QJsonValue &value, const QString &where, QStringList *warnings)
{
    if (!value.isObject())
        return fail(ErrorCode::InvalidArgument, QStringLiteral("%1 must be an object, not %2").arg(where, json::typeName(value)));
    Fields f(value.toObject(), where, warnings);
    PlanEntry e;
    e.content = f.string(QStringLiteral("content"));
    e.priority = f.requiredEnum(QStringLiteral("priority"), &planPriorityFrom, QStringLiteral("high, medium, low"),
                                PlanPriority::Medium);
    e.status = f.requiredEnum(QStringLiteral("status"), &planStatusFrom,
                              QStringLiteral("pending, in_progress, completed"), PlanStatus::Pending);
    if (!f.ok())
        return f.failure();
    return e;
}

Result<AvailableCommand> parseCommand(const QJsonValue &value, const QString &where, QStringList *warnings)
{
    if (!value.isObject())
        return fail(ErrorCode::InvalidArgument, QStringLiteral("%1 must be an object, not %2").arg(where, json::typeName(value)));
    Fields f(value.toObject(), where, warnings);
    AvailableCommand c;
    c.name = f.nonEmpty(QStringLiteral("name"));
    c.description = f.string(QStringLiteral("description"));
    const QJsonValue input = f.object().value(QLatin1String("input"));
    if (input.isObject() && input.toObject().value(QLatin1String("hint")).isString())
        c.inputHint = input.toObject().value(QLatin1String("hint")).toString();
    else if (!input.isUndefined() && !input.isNull())
        f.warn(QStringLiteral("input"), QStringLiteral("an object with a string hint"));
    if (!f.ok())
        return f.failure();
    return c;
}

Result<ConfigChoice> parseChoice(const QJsonValue &value, const QString &where, QStringList *warnings)
{
    if (!value.isObject())
        return fail(ErrorCode::InvalidArgument, QStringLiteral("%1 must be an object, not %2").arg(where, json::typeName(value)));
    Fields f(value.toObject(), where, warnings);
    ConfigChoice c;
    c.value = f.string(QStringLiteral("value"));
    c.name = f.string(QStringLiteral("name"));
    c.description = f.optString(QStringLiteral("description")).value_or(QString());
    if (!f.ok())
        return f.failure();
    return c;
}

Result<ConfigOption> parseConfigOption(const QJsonValue &value, const QString &where, QStringList *warnings)
{
    if (!value.isObject())
        return fail(ErrorCode::InvalidArgument, QStringLiteral("%1 must be an object, not %2").arg(where, json::typeName(value)));
    Fields f(value.toObject(), where, warnings);
    ConfigOption o;
    o.id = f.nonEmpty(QStringLiteral("id"));
    o.name = f.string(QStringLiteral("name"));
    o.description = f.optString(QStringLiteral("description")).value_or(QString());
    o.category = f.optString(QStringLiteral("category")).value_or(QString());
    const QString type = f.string(QStringLiteral("type"));
    if (!f.ok())
        return f.failure();
    if (type == QLatin1String("boolean")) {
        o.type = ConfigOption::Type::Boolean;
        o.currentBool = f.boolean(QStringLiteral("currentValue"));
    } else if (type == QLatin1String("select")) {
        o.type = ConfigOption::Type::Select;
        o.currentValue = f.string(QStringLiteral("currentValue"));
        const QJsonArray options = f.array(QStringLiteral("options"));
        for (qsizetype i = 0; f.ok() && i < options.size(); ++i) {
            const QJsonObject item = options.at(i).toObject();
            if (item.contains(QLatin1String("group"))) {
                Fields g(item, at(f.path(QStringLiteral("options")), i), warnings);
                const QString group = g.string(QStringLiteral("group"));
                const QJsonArray inner = g.array(QStringLiteral("options"));
                if (!g.ok()) {
                    skipped(warnings, at(f.path(QStringLiteral("options")), i), g.error());
                    continue;
                }
                for (ConfigChoice c : parseList<ConfigChoice>(inner, g.path(QStringLiteral("options")), warnings, parseChoice)) {
                    c.group = group;
                    o.choices.append(std::move(c));
                }
            } else {
                auto c = parseChoice(options.at(i), at(f.path(QStringLiteral("options")), i), warnings);
                if (c)
                    o.choices.append(std::move(*c));
                else
                    skipped(warnings, at(f.path(QStringLiteral("options")), i), c.error());
            }
        }
    } else {
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("%1.type must be select or boolean, not \"%2\"").arg(where, type.left(60)));
    }
    if (!f.ok())
        return f.failure();
    return o;
}

Result<SessionMode> parseMode(const QJsonValue &value, const QString &where, QStringList *warnings)
{
    if (!value.isObject())
        return fail(ErrorCode::InvalidArgument, QStringLiteral("%1 must be an object, not %2").arg(where, json::typeName(value)));
    Fields f(value.toObject(), where, warnings);
    SessionMode m;
    m.id = f.nonEmpty(QStringLiteral("id"));
    m.name = f.string(QStringLiteral("name"));
    m.description = f.optString(QStringLiteral("description")).value_or(QString());
    if (!f.ok())
        return f.failure();
    return m;
}

} // namespace

Result<ContentBlock> parseContentBlock(const QJsonValue &value, const QString &where, QStringList *warnings)
{
    if (!value.isObject())
        return fail(ErrorCode::InvalidArgument, QStringLiteral("%1 must be an object, not %2").arg(where, json::typeName(value)));
    Fields f(value.toObject(), where, warnings);
    ContentBlock b;
    b.raw = value.toObject();
    const QString type = f.string(QStringLiteral("type"));
    if (!f.ok())
        return f.failure();
    if (type == QLatin1String("text")) {
        b.type = ContentBlock::Type::Text;
        b.text = f.string(QStringLiteral("text"));
    } else if (type == QLatin1String("image") || type == QLatin1String("audio")) {
        b.type = type == QLatin1String("image") ? ContentBlock::Type::Image : ContentBlock::Type::Audio;
        b.data = f.string(QStringLiteral("data"));
        b.mimeType = f.string(QStringLiteral("mimeType"));
        b.uri = f.optString(QStringLiteral("uri")).value_or(QString());
    } else if (type == QLatin1String("resource_link")) {
        b.type = ContentBlock::Type::ResourceLink;
        b.uri = f.string(QStringLiteral("uri"));
        b.name = f.string(QStringLiteral("name"));
        b.title = f.optString(QStringLiteral("title")).value_or(QString());
        b.description = f.optString(QStringLiteral("description")).value_or(QString());
        b.mimeType = f.optString(QStringLiteral("mimeType")).value_or(QString());
        if (auto size = f.optUInt64(QStringLiteral("size")))
            b.size = qint64(*size);
    } else if (type == QLatin1String("resource")) {
        b.type = ContentBlock::Type::Resource;
        Fields r(f.object(QStringLiteral("resource")), f.path(QStringLiteral("resource")), warnings);
        if (!f.ok())
            return f.failure();
        b.uri = r.string(QStringLiteral("uri"));
        b.mimeType = r.optString(QStringLiteral("mimeType")).value_or(QString());
        if (r.object().contains(QLatin1String("blob")))
            b.data = r.string(QStringLiteral("blob"));
        else
            b.text = r.string(QStringLiteral("text"));
        if (!r.ok())
            return r.failure();
    } else {
        // A block type from a newer protocol: kept and shown as unsupported rather than refused.
        b.type = ContentBlock::Type::Unknown;
        b.unknownType = type.left(100);
        if (warnings)
            warnings->append(QStringLiteral("%1.type \"%2\" is not known to this Airlock").arg(where, b.unknownType));
    }
    if (!f.ok())
        return f.failure();
    return b;
}

Result<ToolCall> parseToolCall(const QJsonObject &object, const QString &where, QStringList *warnings)
{
    Fields f(object, where, warnings);
    ToolCall c;
    c.id = f.nonEmpty(QStringLiteral("toolCallId"));
    c.title = f.string(QStringLiteral("title"));
    if (!f.ok())
        return f.failure();
    c.kind = f.optEnum(QStringLiteral("kind"), &toolKindFrom, kToolKinds).value_or(ToolKind::Other);
    c.status = f.optEnum(QStringLiteral("status"), &toolStatusFrom, kToolStatuses).value_or(ToolStatus::Pending);
    if (auto content = f.optArray(QStringLiteral("content")))
        c.content = parseList<ToolCallContent>(*content, f.path(QStringLiteral("content")), warnings, parseToolContent);
    if (auto locations = f.optArray(QStringLiteral("locations")))
        c.locations = parseList<ToolCallLocation>(*locations, f.path(QStringLiteral("locations")), warnings, parseLocation);
    c.rawInput = object.value(QLatin1String("rawInput"));
    c.rawOutput = object.value(QLatin1String("rawOutput"));
    return c;
}

Result<ToolCallUpdate> parseToolCallUpdate(const QJsonObject &object, const QString &where, QStringList *warnings)
{
    Fields f(object, where, warnings);
    ToolCallUpdate u;
    u.id = f.nonEmpty(QStringLiteral("toolCallId"));
    if (!f.ok())
        return f.failure();
    u.title = f.optString(QStringLiteral("title"));
    u.kind = f.optEnum(QStringLiteral("kind"), &toolKindFrom, kToolKinds);
    u.status = f.optEnum(QStringLiteral("status"), &toolStatusFrom, kToolStatuses);
    if (auto content = f.optArray(QStringLiteral("content")))
        u.content = parseList<ToolCallContent>(*content, f.path(QStringLiteral("content")), warnings, parseToolContent);
    if (auto locations = f.optArray(QStringLiteral("locations")))
        u.locations = parseList<ToolCallLocation>(*locations, f.path(QStringLiteral("locations")), warnings, parseLocation);
    if (object.contains(QLatin1String("rawInput")))
        u.rawInput = object.value(QLatin1String("rawInput"));
    if (object.contains(QLatin1String("rawOutput")))
        u.rawOutput = object.value(QLatin1String("rawOutput"));
    return u;
}

QList<ConfigOption> parseConfigOptions(const QJsonValue &value, const QString &where, QStringList *warnings)
{
    if (value.isUndefined() || value.isNull())
        return {};
    if (!value.isArray()) {
        if (warnings)
            warnings->append(QStringLiteral("%1 ignored: expected an array, got %2").arg(where, json::typeName(value)));
        return {};
    }
    return parseList<ConfigOption>(value.toArray(), where, warnings, parseConfigOption);
}

std::optional<SessionModeState> parseModeState(const QJsonValue &value, const QString &where, QStringList *warnings)
{
    if (value.isUndefined() || value.isNull())
        return std::nullopt;
    if (!value.isObject()) {
        if (warnings)
            warnings->append(QStringLiteral("%1 ignored: expected an object, got %2").arg(where, json::typeName(value)));
        return std::nullopt;
    }
    Fields f(value.toObject(), where, warnings);
    SessionModeState s;
    s.currentModeId = f.string(QStringLiteral("currentModeId"));
    if (auto modes = f.optArray(QStringLiteral("availableModes")))
        s.availableModes = parseList<SessionMode>(*modes, f.path(QStringLiteral("availableModes")), warnings, parseMode);
    if (!f.ok()) {
        if (warnings)
            warnings->append(QStringLiteral("%1 ignored: %2").arg(where, f.error().message));
        return std::nullopt;
    }
    return s;
}

Result<SessionUpdate> parseSessionNotification(const QJsonValue &params)
{
    if (!params.isObject())
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("session/update params must be an object, not %1").arg(json::typeName(params)));
    SessionUpdate u;
    Fields top(params.toObject(), {}, &u.warnings);
    u.sessionId = top.nonEmpty(QStringLiteral("sessionId"));
    u.raw = top.object(QStringLiteral("update"));
    if (!top.ok())
        return top.failure();
    Fields f(u.raw, QStringLiteral("update"), &u.warnings);
    const QString kindName = f.nonEmpty(QStringLiteral("sessionUpdate"));
    if (!f.ok())
        return f.failure();
    const auto kind = updateKindFrom(kindName);
    if (!kind) {
        u.kind = SessionUpdate::Kind::Unknown;
        u.data = UnknownUpdate{kindName.left(100)};
        return u;
    }
    u.kind = *kind;
    QStringList *w = &u.warnings;
    switch (*kind) {
    case SessionUpdate::Kind::UserMessageChunk:
    case SessionUpdate::Kind::AgentMessageChunk:
    case SessionUpdate::Kind::AgentThoughtChunk: {
        auto block = parseContentBlock(u.raw.value(QLatin1String("content")), QStringLiteral("update.content"), w);
        if (!block)
            return std::unexpected(block.error());
        u.data = MessageChunk{std::move(*block), f.optString(QStringLiteral("messageId")).value_or(QString())};
        break;
    }
    case SessionUpdate::Kind::ToolCall: {
        auto call = parseToolCall(u.raw, QStringLiteral("update"), w);
        if (!call)
            return std::unexpected(call.error());
        u.data = std::move(*call);
        break;
    }
    case SessionUpdate::Kind::ToolCallUpdate: {
        auto update = parseToolCallUpdate(u.raw, QStringLiteral("update"), w);
        if (!update)
            return std::unexpected(update.error());
        u.data = std::move(*update);
        break;
    }
    case SessionUpdate::Kind::Plan: {
        const QJsonArray entries = f.array(QStringLiteral("entries"));
        if (!f.ok())
            return f.failure();
        u.data = Plan{parseList<PlanEntry>(entries, QStringLiteral("update.entries"), w, parsePlanEntry)};
        break;
    }
    case SessionUpdate::Kind::AvailableCommands: {
        const QJsonArray commands = f.array(QStringLiteral("availableCommands"));
        if (!f.ok())
            return f.failure();
        u.data = AvailableCommands{parseList<AvailableCommand>(commands, QStringLiteral("update.availableCommands"), w, parseCommand)};
        break;
    }
    case SessionUpdate::Kind::CurrentMode: {
        const QString mode = f.nonEmpty(QStringLiteral("currentModeId"));
        if (!f.ok())
            return f.failure();
        u.data = CurrentMode{mode};
        break;
    }
    case SessionUpdate::Kind::ConfigOptions: {
        const QJsonArray options = f.array(QStringLiteral("configOptions"));
        if (!f.ok())
            return f.failure();
        u.data = ConfigOptions{parseConfigOptions(options, QStringLiteral("update.configOptions"), w)};
        break;
    }
    case SessionUpdate::Kind::SessionInfo:
        u.data = SessionInfo{f.nullableString(QStringLiteral("title")), f.nullableString(QStringLiteral("updatedAt"))};
        break;
    case SessionUpdate::Kind::Usage: {
        ContextUsage usage;
        usage.used = f.uint64(QStringLiteral("used"));
        usage.size = f.uint64(QStringLiteral("size"));
        if (!f.ok())
            return f.failure();
        const QJsonValue cost = u.raw.value(QLatin1String("cost"));
        if (cost.isObject()) {
            Fields c(cost.toObject(), QStringLiteral("update.cost"), w);
            const QJsonValue amount = cost.toObject().value(QLatin1String("amount"));
            const QString currency = c.string(QStringLiteral("currency"));
            if (amount.isDouble() && c.ok())
                usage.cost = Cost{amount.toDouble(), currency};
            else
                w->append(QStringLiteral("update.cost ignored: expected a number amount and a string currency"));
        } else if (!cost.isUndefined() && !cost.isNull()) {
            f.warn(QStringLiteral("cost"), QStringLiteral("an object"));
        }
        u.data = usage;
        break;
    }
    case SessionUpdate::Kind::Unknown:
        break;
    }
    return u;
}

} // namespace airlock::agent::acp
