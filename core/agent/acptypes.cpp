#include "acptypes.h"

#include <array>
#include <utility>

namespace airlock::agent::acp {

namespace {

template<typename E, size_t N>
QString nameIn(const std::array<std::pair<E, const char *>, N> &table, E v)
{
    for (const auto &[e, name] : table)
        if (e == v)
            return QString::fromLatin1(name);
    return {};
}

template<typename E, size_t N>
std::optional<E> valueIn(const std::array<std::pair<E, const char *>, N> &table, const QString &s)
{
    for (const auto &[e, name] : table)
        if (s == QLatin1String(name))
            return e;
    return std::nullopt;
}

constexpr std::array kToolKinds{
    std::pair{ToolKind::Read, "read"},       std::pair{ToolKind::Edit, "edit"},
    std::pair{ToolKind::Delete, "delete"},   std::pair{ToolKind::Move, "move"},
    std::pair{ToolKind::Search, "search"},   std::pair{ToolKind::Execute, "execute"},
    std::pair{ToolKind::Think, "think"},     std::pair{ToolKind::Fetch, "fetch"},
    std::pair{ToolKind::SwitchMode, "switch_mode"}, std::pair{ToolKind::Other, "other"},
};
constexpr std::array kToolStatuses{
    std::pair{ToolStatus::Pending, "pending"}, std::pair{ToolStatus::InProgress, "in_progress"},
    std::pair{ToolStatus::Completed, "completed"}, std::pair{ToolStatus::Failed, "failed"},
};
constexpr std::array kPlanPriorities{
    std::pair{PlanPriority::High, "high"}, std::pair{PlanPriority::Medium, "medium"},
    std::pair{PlanPriority::Low, "low"},
};
constexpr std::array kPlanStatuses{
    std::pair{PlanStatus::Pending, "pending"}, std::pair{PlanStatus::InProgress, "in_progress"},
    std::pair{PlanStatus::Completed, "completed"},
};
constexpr std::array kStopReasons{
    std::pair{StopReason::EndTurn, "end_turn"}, std::pair{StopReason::MaxTokens, "max_tokens"},
    std::pair{StopReason::MaxTurnRequests, "max_turn_requests"}, std::pair{StopReason::Refusal, "refusal"},
    std::pair{StopReason::Cancelled, "cancelled"},
};
constexpr std::array kPermissionKinds{
    std::pair{PermissionKind::AllowOnce, "allow_once"}, std::pair{PermissionKind::AllowAlways, "allow_always"},
    std::pair{PermissionKind::RejectOnce, "reject_once"}, std::pair{PermissionKind::RejectAlways, "reject_always"},
};
constexpr std::array kUpdateKinds{
    std::pair{SessionUpdate::Kind::UserMessageChunk, "user_message_chunk"},
    std::pair{SessionUpdate::Kind::AgentMessageChunk, "agent_message_chunk"},
    std::pair{SessionUpdate::Kind::AgentThoughtChunk, "agent_thought_chunk"},
    std::pair{SessionUpdate::Kind::ToolCall, "tool_call"},
    std::pair{SessionUpdate::Kind::ToolCallUpdate, "tool_call_update"},
    std::pair{SessionUpdate::Kind::Plan, "plan"},
    std::pair{SessionUpdate::Kind::AvailableCommands, "available_commands_update"},
    std::pair{SessionUpdate::Kind::CurrentMode, "current_mode_update"},
    std::pair{SessionUpdate::Kind::ConfigOptions, "config_option_update"},
    std::pair{SessionUpdate::Kind::SessionInfo, "session_info_update"},
    std::pair{SessionUpdate::Kind::Usage, "usage_update"},
};

} // namespace

QString nameOf(ToolKind v) { return nameIn(kToolKinds, v); }
QString nameOf(ToolStatus v) { return nameIn(kToolStatuses, v); }
QString nameOf(PlanPriority v) { return nameIn(kPlanPriorities, v); }
QString nameOf(PlanStatus v) { return nameIn(kPlanStatuses, v); }
QString nameOf(StopReason v) { return nameIn(kStopReasons, v); }
QString nameOf(PermissionKind v) { return nameIn(kPermissionKinds, v); }
std::optional<ToolKind> toolKindFrom(const QString &s) { return valueIn(kToolKinds, s); }
std::optional<ToolStatus> toolStatusFrom(const QString &s) { return valueIn(kToolStatuses, s); }
std::optional<PlanPriority> planPriorityFrom(const QString &s) { return valueIn(kPlanPriorities, s); }
std::optional<PlanStatus> planStatusFrom(const QString &s) { return valueIn(kPlanStatuses, s); }
std::optional<StopReason> stopReasonFrom(const QString &s) { return valueIn(kStopReasons, s); }
std::optional<PermissionKind> permissionKindFrom(const QString &s) { return valueIn(kPermissionKinds, s); }

std::optional<SessionUpdate::Kind> updateKindFrom(const QString &s)
{
    return valueIn(kUpdateKinds, s);
}

QString SessionUpdate::kindName() const
{
    if (kind == Kind::Unknown)
        return std::get<UnknownUpdate>(data).kind;
    return nameIn(kUpdateKinds, kind);
}

ContentBlock ContentBlock::fromText(const QString &text)
{
    ContentBlock b;
    b.type = Type::Text;
    b.text = text;
    return b;
}

ContentBlock ContentBlock::fromResourceLink(const QString &uri, const QString &name, const QString &mimeType)
{
    ContentBlock b;
    b.type = Type::ResourceLink;
    b.uri = uri;
    b.name = name;
    b.mimeType = mimeType;
    return b;
}

QJsonObject ContentBlock::toJson() const
{
    if (!raw.isEmpty())
        return raw;
    QJsonObject o;
    auto put = [&o](const char *key, const QString &value) {
        if (!value.isEmpty())
            o.insert(QLatin1String(key), value);
    };
    switch (type) {
    case Type::Text:
        o.insert(QStringLiteral("type"), QStringLiteral("text"));
        o.insert(QStringLiteral("text"), text);
        break;
    case Type::Image:
    case Type::Audio:
        o.insert(QStringLiteral("type"), type == Type::Image ? QStringLiteral("image") : QStringLiteral("audio"));
        o.insert(QStringLiteral("data"), data);
        o.insert(QStringLiteral("mimeType"), mimeType);
        put("uri", uri);
        break;
    case Type::ResourceLink:
        o.insert(QStringLiteral("type"), QStringLiteral("resource_link"));
        o.insert(QStringLiteral("uri"), uri);
        o.insert(QStringLiteral("name"), name);
        put("mimeType", mimeType);
        put("title", title);
        put("description", description);
        if (size)
            o.insert(QStringLiteral("size"), double(*size));
        break;
    case Type::Resource: {
        QJsonObject r{{QStringLiteral("uri"), uri}};
        if (!mimeType.isEmpty())
            r.insert(QStringLiteral("mimeType"), mimeType);
        if (!data.isEmpty())
            r.insert(QStringLiteral("blob"), data);
        else
            r.insert(QStringLiteral("text"), text);
        o.insert(QStringLiteral("type"), QStringLiteral("resource"));
        o.insert(QStringLiteral("resource"), r);
        break;
    }
    case Type::Unknown:
        o.insert(QStringLiteral("type"), unknownType);
        break;
    }
    return o;
}

QString ContentBlock::displayText() const
{
    switch (type) {
    case Type::Text: return text;
    case Type::Image: return QStringLiteral("[image %1]").arg(mimeType);
    case Type::Audio: return QStringLiteral("[audio %1]").arg(mimeType);
    case Type::ResourceLink: return QStringLiteral("[%1](%2)").arg(title.isEmpty() ? name : title, uri);
    case Type::Resource: return data.isEmpty() ? text : QStringLiteral("[resource %1]").arg(uri);
    case Type::Unknown: return QStringLiteral("[unsupported content: %1]").arg(unknownType);
    }
    return {};
}

void ToolCallUpdate::applyTo(ToolCall &call) const
{
    if (title)
        call.title = *title;
    if (kind)
        call.kind = *kind;
    if (status)
        call.status = *status;
    if (content)
        call.content = *content;
    if (locations)
        call.locations = *locations;
    if (rawInput)
        call.rawInput = *rawInput;
    if (rawOutput)
        call.rawOutput = *rawOutput;
}

QJsonObject PermissionOutcome::toJson() const
{
    if (cancelled)
        return QJsonObject{{QStringLiteral("outcome"), QJsonObject{{QStringLiteral("outcome"), QStringLiteral("cancelled")}}}};
    return QJsonObject{{QStringLiteral("outcome"), QJsonObject{{QStringLiteral("outcome"), QStringLiteral("selected")},
                                                               {QStringLiteral("optionId"), optionId}}}};
}

QJsonObject TerminalExitStatus::toJson() const
{
    return QJsonObject{{QStringLiteral("exitCode"), exitCode ? QJsonValue(double(*exitCode)) : QJsonValue()},
                       {QStringLiteral("signal"), signal.isEmpty() ? QJsonValue() : QJsonValue(signal)}};
}

QJsonObject TerminalOutput::toJson() const
{
    QJsonObject o{{QStringLiteral("output"), output}, {QStringLiteral("truncated"), truncated}};
    if (exitStatus)
        o.insert(QStringLiteral("exitStatus"), exitStatus->toJson());
    return o;
}

QJsonObject ClientCapabilities::toJson() const
{
    return QJsonObject{{QStringLiteral("fs"), QJsonObject{{QStringLiteral("readTextFile"), readTextFile},
                                                          {QStringLiteral("writeTextFile"), writeTextFile}}},
                       {QStringLiteral("terminal"), terminal}};
}

} // namespace airlock::agent::acp
