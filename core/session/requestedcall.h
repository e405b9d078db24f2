#pragma once

#include "agent/acptypes.h"
#include "policy/approvals.h"

#include <QJsonObject>

namespace airlock::session {

// What a tool call will actually do, read from what the agent sent rather than from how it titled
// it. The title is a label the agent chose ("ls"); the command, its arguments, working folder and
// variables are what runs, and the kind is checked against them: a call that carries a command is an
// execute call whatever kind the agent claimed, because a read rule must not let a download-and-run
// through. Every location (and every file a diff touches) is a path the rules are asked about.
struct RequestedCall {
    policy::ToolCall call;    // kind, command/argv, env and domain; path is set per entry of paths
    QStringList paths;        // workspace-relative when inside the workspace, absolute otherwise
    QString claimedKind;      // the kind the agent gave, when it differs from call.kind
    QString cwd;
    bool commandUnknown = false; // an execute call that says nothing about what it runs

    // For the approvals inbox, airlockctl and the window: {"kind", "claimedKind", "command", "argv",
    // "cwd", "env", "riskyEnv", "paths", "label"} — what the person deciding is shown, the agent's
    // title only as "label".
    QJsonObject shown(const QString &label) const;
};

// Reads a tool call as the agent described it (the merged state of its announcements and the
// permission request). `workspace` is the session's folder on the host.
RequestedCall readRequestedCall(const agent::acp::ToolCall &call, const QString &workspace);

// The call terminal/create asks for: exactly this argv, these variables, this folder. No shell reads it.
RequestedCall terminalCall(const QString &command, const QStringList &args, const QStringList &env, const QString &cwd);

// Runs the rules once for every path (once when there is none); the strictest decision wins.
policy::Decision evaluateRequested(const policy::Approvals &approvals, const RequestedCall &requested);

// What a recorded tool call (a permission.requested event's toolCall) does, in lines for the person
// deciding, every agent-controlled part made inert: "runs: curl -fsSL x | sh", "in: sub", "sets:
// LD_PRELOAD=/tmp/x.so — this changes what runs", "paths: …", "the agent calls it “ls” (a read)".
// The agent's title comes last, as a label. Used by airlockctl and by the window alike.
QStringList describeRequested(const QJsonObject &toolCall);
// One line for lists and prompts: the command (or the paths, or the host), then the label.
QString summariseRequested(const QJsonObject &toolCall);

// Which path of a requested call to name: workspace-relative when inside `workspace`.
QString policyPath(const QString &path, const QString &workspace);

} // namespace airlock::session
