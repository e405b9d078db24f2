#pragma once

#include "error.h"

#include <QObject>
#include <QPointer>
#include <QProcessEnvironment>
#include <QStringList>

class QProcess;
class QSocketNotifier;
class QTimer;

namespace airlock::agent {

class JsonRpcConnection;

// How to start an agent process: exactly this program, arguments, environment and folder.
struct AgentLaunch {
    QString program;
    QStringList arguments;
    QProcessEnvironment environment; // used as given: nothing of Airlock's own environment leaks in
    QString workingDirectory;
};

// An agent running as a local process with ACP on its stdin and stdout. Its stdout feeds a
// JsonRpcConnection as it arrives (so nothing is buffered beyond the connection's cap), its stderr is
// kept as a short tail for error messages and passed on line by line. The process gets its own
// process group, which stop() signals as a whole, and dies with Airlock.
//
// Its stdout is a pipe of our own rather than QProcess's, because QProcess says nothing when a
// channel ends before the process does: an agent that closes its output but keeps running would
// otherwise be waited on until some timeout. Its end closes the connection at once.
class AgentProcess : public QObject
{
    Q_OBJECT
public:
    explicit AgentProcess(QObject *parent = nullptr);
    ~AgentProcess() override; // kills what is still running

    // started() or finished() follows. The connection writes to this process until it ends; when
    // either goes first the other is left safe.
    void start(const AgentLaunch &launch, JsonRpcConnection *connection);
    // Closes the agent's stdin, then SIGTERM to its group after graceMs / 2, SIGKILL after graceMs.
    void stop(int graceMs = 2000);
    bool isRunning() const;
    qint64 processId() const;
    // The last few KiB the agent wrote to stderr.
    QString stderrTail() const;
    const QString &program() const { return m_program; }

Q_SIGNALS:
    void started();
    // Carries how it ended (exit code, signal, or failure to start) with the stderr tail.
    void finished(const airlock::Error &reason);
    void stderrLine(const QString &line);

private:
    void onStdout();
    void outputEnded();
    void closeStdout();
    void onStderr();
    void onFinished(int exitCode, int exitStatus);
    void onError(int error);
    void signalGroup(int signal);
    Error describeEnd(int exitCode, bool crashed) const;

    QProcess *m_process = nullptr;
    QTimer *m_termTimer = nullptr;
    QTimer *m_killTimer = nullptr;
    QTimer *m_eofTimer = nullptr; // the output ended: give the process a moment to exit on its own
    QSocketNotifier *m_stdoutNotifier = nullptr;
    int m_stdoutFd = -1;
    QPointer<JsonRpcConnection> m_connection;
    QString m_program;
    QByteArray m_stderrTail;
    QByteArray m_stderrLine;
    qint64 m_pid = 0;
    bool m_done = false;
    bool m_stopping = false;
};

} // namespace airlock::agent
