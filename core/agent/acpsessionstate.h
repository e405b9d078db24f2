#pragma once

#include "acptypes.h"

#include <QHash>

namespace airlock::agent {

// What is known about one ACP session, folded from its session/update stream: the tool calls by id
// (a tool_call repeated for an id already announced updates that call rather than adding one), the
// latest plan, modes, config options, commands, title and context usage. Message chunks are not
// kept here; they are a stream for the store and the thread view.
class AcpSessionState
{
public:
    struct Applied {
        const acp::ToolCall *toolCall = nullptr; // the call the update touched, if any
        bool created = false;   // a new tool call
        bool repeated = false;  // a tool_call for an id already announced
        bool orphan = false;    // a tool_call_update for an id never announced (a call is made for it)
    };

    explicit AcpSessionState(QString sessionId = {}) : m_sessionId(std::move(sessionId)) {}

    Applied apply(const acp::SessionUpdate &update);
    void applySetup(const acp::SessionSetup &setup);
    // A permission request carries a tool call too; it may be the first the client hears of it.
    Applied applyPermissionRequest(const acp::PermissionRequest &request);

    const QString &sessionId() const { return m_sessionId; }
    const QList<acp::ToolCall> &toolCalls() const { return m_toolCalls; }
    const acp::ToolCall *toolCall(const QString &id) const;
    const QList<acp::PlanEntry> &plan() const { return m_plan; }
    const std::optional<acp::SessionModeState> &modes() const { return m_modes; }
    const QString &currentModeId() const { return m_currentModeId; }
    const QList<acp::ConfigOption> &configOptions() const { return m_configOptions; }
    const QList<acp::AvailableCommand> &availableCommands() const { return m_commands; }
    const QString &title() const { return m_title; }
    const QString &updatedAt() const { return m_updatedAt; }
    const std::optional<acp::ContextUsage> &usage() const { return m_usage; }
    int unknownUpdates() const { return m_unknownUpdates; }

private:
    Applied upsert(const acp::ToolCallUpdate &update, const acp::ToolCall *announced);

    QString m_sessionId;
    QList<acp::ToolCall> m_toolCalls;
    QHash<QString, qsizetype> m_toolCallIndex;
    QList<acp::PlanEntry> m_plan;
    std::optional<acp::SessionModeState> m_modes;
    QString m_currentModeId;
    QList<acp::ConfigOption> m_configOptions;
    QList<acp::AvailableCommand> m_commands;
    QString m_title;
    QString m_updatedAt;
    std::optional<acp::ContextUsage> m_usage;
    int m_unknownUpdates = 0;
};

} // namespace airlock::agent
