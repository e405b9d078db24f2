#include "acpsessionstate.h"

namespace airlock::agent {

using namespace acp;

const ToolCall *AcpSessionState::toolCall(const QString &id) const
{
    auto it = m_toolCallIndex.constFind(id);
    return it == m_toolCallIndex.constEnd() ? nullptr : &m_toolCalls.at(*it);
}

AcpSessionState::Applied AcpSessionState::upsert(const ToolCallUpdate &update, const ToolCall *announced)
{
    Applied a;
    auto it = m_toolCallIndex.constFind(update.id);
    if (it == m_toolCallIndex.constEnd()) {
        ToolCall call;
        call.id = update.id;
        if (announced)
            call = *announced;
        else
            a.orphan = true;
        update.applyTo(call);
        if (call.title.isEmpty())
            call.title = QStringLiteral("Tool call %1").arg(call.id);
        m_toolCallIndex.insert(call.id, m_toolCalls.size());
        m_toolCalls.append(std::move(call));
        a.created = true;
        a.toolCall = &m_toolCalls.last();
        return a;
    }
    ToolCall &call = m_toolCalls[*it];
    a.repeated = announced != nullptr;
    update.applyTo(call);
    a.toolCall = &call;
    return a;
}

AcpSessionState::Applied AcpSessionState::apply(const SessionUpdate &u)
{
    switch (u.kind) {
    case SessionUpdate::Kind::ToolCall: {
        const ToolCall &call = std::get<ToolCall>(u.data);
        // A repeated announcement replaces every field it carries, as a full update would.
        ToolCallUpdate asUpdate;
        asUpdate.id = call.id;
        asUpdate.title = call.title;
        asUpdate.kind = call.kind;
        asUpdate.status = call.status;
        asUpdate.content = call.content;
        asUpdate.locations = call.locations;
        if (!call.rawInput.isUndefined())
            asUpdate.rawInput = call.rawInput;
        if (!call.rawOutput.isUndefined())
            asUpdate.rawOutput = call.rawOutput;
        return upsert(asUpdate, &call);
    }
    case SessionUpdate::Kind::ToolCallUpdate:
        return upsert(std::get<ToolCallUpdate>(u.data), nullptr);
    case SessionUpdate::Kind::Plan:
        m_plan = std::get<Plan>(u.data).entries; // each plan is complete: it replaces the last
        break;
    case SessionUpdate::Kind::AvailableCommands:
        m_commands = std::get<AvailableCommands>(u.data).commands;
        break;
    case SessionUpdate::Kind::CurrentMode:
        m_currentModeId = std::get<CurrentMode>(u.data).modeId;
        if (m_modes)
            m_modes->currentModeId = m_currentModeId;
        break;
    case SessionUpdate::Kind::ConfigOptions:
        m_configOptions = std::get<ConfigOptions>(u.data).options;
        break;
    case SessionUpdate::Kind::SessionInfo: {
        const SessionInfo &info = std::get<SessionInfo>(u.data);
        if (info.title)
            m_title = *info.title;
        if (info.updatedAt)
            m_updatedAt = *info.updatedAt;
        break;
    }
    case SessionUpdate::Kind::Usage:
        m_usage = std::get<ContextUsage>(u.data);
        break;
    case SessionUpdate::Kind::Unknown:
        ++m_unknownUpdates;
        break;
    case SessionUpdate::Kind::UserMessageChunk:
    case SessionUpdate::Kind::AgentMessageChunk:
    case SessionUpdate::Kind::AgentThoughtChunk:
        break;
    }
    return {};
}

void AcpSessionState::applySetup(const SessionSetup &setup)
{
    if (setup.modes) {
        m_modes = setup.modes;
        m_currentModeId = setup.modes->currentModeId;
    }
    if (!setup.configOptions.isEmpty())
        m_configOptions = setup.configOptions;
}

AcpSessionState::Applied AcpSessionState::applyPermissionRequest(const PermissionRequest &request)
{
    Applied a = upsert(request.toolCall, nullptr);
    a.orphan = false; // asking before announcing is allowed
    return a;
}

} // namespace airlock::agent
