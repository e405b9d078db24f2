#pragma once

#include "agent/acpclienthandler.h"
#include "policy/approvals.h"
#include "sandbox/backend.h"
#include "store/event.h"

#include <QHash>
#include <QObject>
#include <QPointer>
#include <QSet>


namespace airlock::session {

class SessionRunner;
struct RequestedCall;

// Serves the agent's requests for the session: permission requests and every file and terminal
// operation go through the policy's approval rules (allow, ask, deny), and what is allowed runs in
// the sandbox through the shim — never on the host. "Ask" parks the request in the approvals inbox
// until someone answers, here or from another process.
class ToolRouter : public QObject, public agent::AcpClientHandler
{
    Q_OBJECT
public:
    explicit ToolRouter(SessionRunner *runner);

    void requestPermission(const agent::acp::PermissionRequest &request,
                           agent::AcpReply<agent::acp::PermissionOutcome> reply) override;
    void readTextFile(const agent::acp::ReadTextFileRequest &request, agent::AcpReply<QString> reply) override;
    void writeTextFile(const agent::acp::WriteTextFileRequest &request, agent::AcpReply<void> reply) override;
    void createTerminal(const agent::acp::CreateTerminalRequest &request, agent::AcpReply<QString> reply) override;
    void terminalOutput(const agent::acp::TerminalRequest &request, agent::AcpReply<agent::acp::TerminalOutput> reply) override;
    void waitForTerminalExit(const agent::acp::TerminalRequest &request,
                             agent::AcpReply<agent::acp::TerminalExitStatus> reply) override;
    void killTerminal(const agent::acp::TerminalRequest &request, agent::AcpReply<void> reply) override;
    void releaseTerminal(const agent::acp::TerminalRequest &request, agent::AcpReply<void> reply) override;

    // An answer to an open request (from the UI, the CLI or the store).
    bool answer(const QString &request, const QString &optionId, const QString &by);
    void answerFromStore(const QList<store::ApprovalRow> &open);
    // Every open request is cancelled (the turn was cancelled or the session ends).
    void cancelAll();
    bool hasOpenRequests() const { return !m_open.isEmpty(); }
    // Whether the agent used Airlock's fs/terminal methods since the mark (tool-outside detection).
    quint64 routedCount() const { return m_routed; }
    // Whether the agent was refused (or withdrew) permission for this tool call: it never ran.
    bool wasRefused(const QString &toolCallId) const { return m_refusedCalls.contains(toolCallId); }
    void killAllTerminals();

private:
    struct Open {
        QJsonArray options;
        policy::ToolCall call; // what an "always" answer makes a rule for
        bool commandUnknown = false;
        std::function<void(const QString &optionId, const QString &by)> resolve;
        std::function<void()> cancel;
    };
    struct Terminal {
        QPointer<sandbox::SandboxProcess> process;
        QByteArray output;
        quint64 limit = 1 << 20;
        bool truncated = false;
        std::optional<agent::acp::TerminalExitStatus> exit;
        QList<agent::AcpReply<agent::acp::TerminalExitStatus>> waiting;
    };

    // Runs the rules on a call; allowed → go(), denied → refuse(reason), ask → park it as `title`.
    void gate(const RequestedCall &call, const QString &title, const QJsonObject &toolCall,
              std::function<void()> go, std::function<void(const QString &why)> refuse);
    policy::Approvals rules() const;
    static QJsonObject withReading(QJsonObject toolCall, const RequestedCall &call);
public:
    // The rules "always" answers made in this session, newest first (they come before the policy's).
    const QList<policy::ApprovalRule> &sessionRules() const { return m_sessionRules; }
    bool removeSessionRule(int index, const QString &by = QStringLiteral("user"));
    static QJsonObject describeRule(const policy::ApprovalRule &rule);

private:
    QString park(const RequestedCall &call, const QJsonObject &toolCall, const QJsonArray &options,
                 const policy::Decision &decision,
                 std::function<void(const QString &optionId, const QString &by)> resolve, std::function<void()> cancel);
    void decided(const QString &request, const QString &decision, const QString &by, const QString &explanation,
                 const QString &optionId = {}, const QString &optionKind = {});
    QString insideWorkspace(const QString &path, QString *error) const;
    Terminal *terminal(const QString &id);
    // Its command ended (or never ran): remembered, and every wait_for_exit answered.
    void terminalEnded(const QString &id, const agent::acp::TerminalExitStatus &exit, const QString &why);

    SessionRunner *m_runner;
    QHash<QString, Open> m_open;
    QHash<QString, Terminal> m_terminals;
    QList<policy::ApprovalRule> m_sessionRules; // "always" answers, first in line
    QSet<QString> m_refusedCalls;               // tool calls whose permission was denied or cancelled
    int m_nextRequest = 0;
    int m_nextTerminal = 0;
    quint64 m_routed = 0;
};

} // namespace airlock::session
