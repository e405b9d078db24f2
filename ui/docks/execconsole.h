#pragma once

#include "sandbox/backend.h"

#include <QPointer>
#include <QWidget>

class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;

namespace airlock::sandbox {
class SandboxManager;
}

namespace airlock::ui {

// A one-command-at-a-time console into a sandbox: a command line (split like a shell would, no shell
// features), its stdout and stderr streamed into a read-only pane, and how it ended. Ctrl+C or Stop
// kills the running command (its process group, SIGTERM then SIGKILL).
class ExecConsole : public QWidget
{
    Q_OBJECT
public:
    explicit ExecConsole(sandbox::SandboxManager *manager, QWidget *parent = nullptr);
    ~ExecConsole() override;

    // The sandbox commands run in; a command already running goes on until it ends.
    void setSandbox(const QString &id, bool running);
    QString sandboxId() const { return m_sandbox; }
    bool isRunning() const { return m_process != nullptr; }

    QLineEdit *commandLine() const { return m_command; }
    QPlainTextEdit *output() const { return m_output; }

public Q_SLOTS:
    void run();
    void stop();

Q_SIGNALS:
    void commandFinished(const airlock::sandbox::ExitStatus &status);
    void commandFailed(const QString &message);

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    enum class Stream { Input, Out, Err, Note };
    void append(const QString &text, Stream stream);
    void finish(const QString &line, bool ok);
    void updateControls();

    QPointer<sandbox::SandboxManager> m_manager;
    QString m_sandbox;
    bool m_sandboxRunning = false;
    bool m_lineOpen = false; // the pane's last line has no newline yet
    QPointer<sandbox::SandboxProcess> m_process;
    QLineEdit *m_command;
    QPushButton *m_run;
    QPushButton *m_stop;
    QPlainTextEdit *m_output;
    QLabel *m_error;
};

} // namespace airlock::ui
