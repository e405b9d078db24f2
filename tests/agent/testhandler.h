#pragma once

#include "agent/acpclienthandler.h"

#include <QHash>
#include <QProcess>
#include <QStringList>

#include <functional>
#include <memory>

// An AcpClientHandler for tests: serves files and terminals on the host, confined to one workspace
// folder (Airlock's real handler runs them in the sandbox through the shim), answers permission
// requests as told, and records every request.
class TestHandler : public QObject, public airlock::agent::AcpClientHandler
{
    Q_OBJECT
public:
    enum class Answer { AllowOnce, AllowAlways, RejectOnce, RejectAlways, Hold };

    explicit TestHandler(QString root, QObject *parent = nullptr);
    ~TestHandler() override;

    Answer answer = Answer::AllowOnce;
    // Per-session answers override `answer` (for several sessions on one agent).
    QHash<QString, Answer> answerFor;
    // A terminal/create this returns an error for is refused, as a policy would refuse it.
    std::function<QString(const airlock::agent::acp::CreateTerminalRequest &)> refuseTerminal;

    QStringList log; // "fs/read_text_file /abs/path", "terminal/create sh tests/run.sh" …
    QList<airlock::agent::acp::PermissionRequest> permissions;
    QList<airlock::agent::AcpReply<airlock::agent::acp::PermissionOutcome>> held; // Answer::Hold
    int withdrawn = 0; // held permission requests withdrawn by a cancel

    void requestPermission(const airlock::agent::acp::PermissionRequest &request,
                           airlock::agent::AcpReply<airlock::agent::acp::PermissionOutcome> reply) override;
    void readTextFile(const airlock::agent::acp::ReadTextFileRequest &request,
                      airlock::agent::AcpReply<QString> reply) override;
    void writeTextFile(const airlock::agent::acp::WriteTextFileRequest &request,
                       airlock::agent::AcpReply<void> reply) override;
    void createTerminal(const airlock::agent::acp::CreateTerminalRequest &request,
                        airlock::agent::AcpReply<QString> reply) override;
    void terminalOutput(const airlock::agent::acp::TerminalRequest &request,
                        airlock::agent::AcpReply<airlock::agent::acp::TerminalOutput> reply) override;
    void waitForTerminalExit(const airlock::agent::acp::TerminalRequest &request,
                             airlock::agent::AcpReply<airlock::agent::acp::TerminalExitStatus> reply) override;
    void killTerminal(const airlock::agent::acp::TerminalRequest &request, airlock::agent::AcpReply<void> reply) override;
    void releaseTerminal(const airlock::agent::acp::TerminalRequest &request, airlock::agent::AcpReply<void> reply) override;

    // Chooses the option of the given kind, as a person clicking it would.
    static airlock::agent::acp::PermissionOutcome choose(const airlock::agent::acp::PermissionRequest &request,
                                                         airlock::agent::acp::PermissionKind kind);

private:
    struct Terminal {
        QProcess *process = nullptr;
        QByteArray output;
        bool truncated = false;
        quint64 limit = 0;
        std::optional<airlock::agent::acp::TerminalExitStatus> exit;
        QList<airlock::agent::AcpReply<airlock::agent::acp::TerminalExitStatus>> waiters;
    };
    // The path if it is inside the workspace, or an error naming it.
    airlock::Result<QString> confine(const QString &path) const;
    Terminal *terminal(const airlock::agent::acp::TerminalRequest &request, const airlock::agent::AcpReplyBase &reply);

    QString m_root;
    QHash<QString, std::shared_ptr<Terminal>> m_terminals;
    int m_nextTerminal = 1;
};
