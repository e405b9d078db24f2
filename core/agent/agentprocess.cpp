#include "agentprocess.h"

#include "jsonrpcconnection.h"

#include <QFileInfo>
#include <QLoggingCategory>
#include <QProcess>
#include <QSocketNotifier>
#include <QTimer>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

Q_LOGGING_CATEGORY(lcAgentProcess, "airlock.agent.process", QtWarningMsg)

namespace airlock::agent {

namespace {
constexpr qsizetype kStderrTail = 8 * 1024;
constexpr qsizetype kStderrLineMax = 4 * 1024;
// An agent that exits closes its output a moment before its exit is seen; this tells the two apart.
constexpr int kExitAfterEofMs = 300;
} // namespace

AgentProcess::AgentProcess(QObject *parent)
    : QObject(parent), m_process(new QProcess(this)), m_termTimer(new QTimer(this)), m_killTimer(new QTimer(this)),
      m_eofTimer(new QTimer(this))
{
    m_termTimer->setSingleShot(true);
    m_killTimer->setSingleShot(true);
    m_eofTimer->setSingleShot(true);
    m_eofTimer->setInterval(kExitAfterEofMs);
    m_process->setProcessChannelMode(QProcess::SeparateChannels);
    connect(m_process, &QProcess::readyReadStandardError, this, &AgentProcess::onStderr);
    connect(m_process, &QProcess::started, this, [this] {
        m_pid = m_process->processId();
        Q_EMIT started();
    });
    connect(m_process, &QProcess::finished, this,
            [this](int code, QProcess::ExitStatus status) { onFinished(code, int(status)); });
    connect(m_process, &QProcess::errorOccurred, this, [this](QProcess::ProcessError e) { onError(int(e)); });
    connect(m_termTimer, &QTimer::timeout, this, [this] { signalGroup(SIGTERM); });
    connect(m_killTimer, &QTimer::timeout, this, [this] { signalGroup(SIGKILL); });
    connect(m_eofTimer, &QTimer::timeout, this, [this] {
        if (m_done || m_process->state() == QProcess::NotRunning)
            return;
        const QString name = QFileInfo(m_program).fileName();
        QString what = QStringLiteral("the agent %1 closed its output but is still running; it can say nothing more").arg(name);
        if (const QString tail = stderrTail(); !tail.isEmpty())
            what += QStringLiteral("; its last words: ") + tail.right(600).simplified();
        qCInfo(lcAgentProcess) << what;
        if (JsonRpcConnection *c = m_connection.data())
            c->finishInput(Error{ErrorCode::Io, what}); // the client then stops the process
    });
}

AgentProcess::~AgentProcess()
{
    if (JsonRpcConnection *c = m_connection.data())
        c->setWriter({}); // its writer points at us
    m_connection = nullptr;
    disconnect(m_process, nullptr, this, nullptr);
    if (m_process->state() != QProcess::NotRunning) {
        signalGroup(SIGKILL);
        m_process->waitForFinished(2000);
    }
    closeStdout();
}

void AgentProcess::closeStdout()
{
    delete m_stdoutNotifier;
    m_stdoutNotifier = nullptr;
    if (m_stdoutFd >= 0)
        ::close(m_stdoutFd);
    m_stdoutFd = -1;
}

void AgentProcess::start(const AgentLaunch &launch, JsonRpcConnection *connection)
{
    m_connection = connection;
    m_program = launch.program;
    m_done = false;
    m_eofTimer->stop();
    closeStdout();
    connection->setWriter([this](const QByteArray &bytes) { return m_process->write(bytes) == bytes.size(); },
                          [this] { return m_process->bytesToWrite(); });
    int pipe[2] = {-1, -1};
    if (::pipe2(pipe, O_CLOEXEC) != 0) {
        m_done = true;
        const Error reason{ErrorCode::Io, QStringLiteral("cannot start the agent %1: no pipe for its output (%2)")
                                              .arg(m_program, QString::fromLocal8Bit(std::strerror(errno)))};
        connection->close(reason);
        Q_EMIT finished(reason);
        return;
    }
    ::fcntl(pipe[0], F_SETFL, ::fcntl(pipe[0], F_GETFL) | O_NONBLOCK);
    m_stdoutFd = pipe[0];
    const int writeEnd = pipe[1];
    m_stdoutNotifier = new QSocketNotifier(m_stdoutFd, QSocketNotifier::Read, this);
    connect(m_stdoutNotifier, &QSocketNotifier::activated, this, &AgentProcess::onStdout);
    // QProcess gives the child /dev/null for stdout; the modifier puts our pipe there instead (dup2
    // clears close-on-exec on the copy only). Its own group, so stop() reaches what it spawned (npx
    // starts node, node starts tools); and a parent-death signal, so an agent never outlives a
    // crashed Airlock.
    m_process->setStandardOutputFile(QProcess::nullDevice());
    m_process->setChildProcessModifier([writeEnd] {
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        ::dup2(writeEnd, STDOUT_FILENO);
    });
    m_process->setProgram(launch.program);
    m_process->setArguments(launch.arguments);
    m_process->setProcessEnvironment(launch.environment);
    m_process->setWorkingDirectory(launch.workingDirectory);
    m_process->start(QIODevice::ReadWrite);
    ::close(writeEnd); // the child has its copy; ours would keep the pipe from ever ending
}

void AgentProcess::stop(int graceMs)
{
    if (m_process->state() == QProcess::NotRunning || m_stopping)
        return;
    m_stopping = true;
    m_process->closeWriteChannel(); // a well-behaved agent exits when its input ends
    m_termTimer->start(std::max(0, graceMs / 2));
    m_killTimer->start(std::max(1, graceMs));
}

bool AgentProcess::isRunning() const
{
    return m_process->state() != QProcess::NotRunning;
}

qint64 AgentProcess::processId() const
{
    return m_pid;
}

QString AgentProcess::stderrTail() const
{
    return QString::fromUtf8(m_stderrTail).trimmed();
}

void AgentProcess::signalGroup(int signal)
{
    if (m_pid <= 0 || m_process->state() == QProcess::NotRunning)
        return;
    // The group first; if setpgid failed in the child, the process itself.
    if (::kill(-pid_t(m_pid), signal) != 0)
        ::kill(pid_t(m_pid), signal);
}

void AgentProcess::onStdout()
{
    if (m_stdoutFd < 0)
        return;
    QPointer<AgentProcess> self(this);
    char buffer[64 * 1024];
    for (;;) {
        const ssize_t n = ::read(m_stdoutFd, buffer, sizeof buffer);
        if (n > 0) {
            if (JsonRpcConnection *c = m_connection.data())
                c->receive(QByteArrayView(buffer, n));
            if (!self || m_stdoutFd < 0)
                return;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        break; // the end of its output (or an error reading it, which ends it as surely)
    }
    outputEnded();
}

void AgentProcess::outputEnded()
{
    closeStdout();
    if (!m_done && m_process->state() != QProcess::NotRunning)
        m_eofTimer->start();
}

void AgentProcess::onStderr()
{
    const QByteArray bytes = m_process->readAllStandardError();
    m_stderrTail.append(bytes);
    if (m_stderrTail.size() > kStderrTail)
        m_stderrTail.remove(0, m_stderrTail.size() - kStderrTail);
    for (char c : bytes) {
        if (c == '\n') {
            Q_EMIT stderrLine(QString::fromUtf8(std::exchange(m_stderrLine, QByteArray())));
        } else if (m_stderrLine.size() < kStderrLineMax) {
            m_stderrLine.append(c);
        }
    }
}

Error AgentProcess::describeEnd(int exitCode, bool crashed) const
{
    const QString name = QFileInfo(m_program).fileName();
    QString what;
    if (crashed)
        what = m_stopping ? QStringLiteral("the agent %1 was stopped").arg(name)
                          : QStringLiteral("the agent %1 crashed").arg(name);
    else
        what = QStringLiteral("the agent %1 exited with status %2").arg(name).arg(exitCode);
    const QString tail = stderrTail();
    if (!tail.isEmpty())
        what += QStringLiteral("; its last words: ") + tail.right(600).simplified();
    return Error{m_stopping ? ErrorCode::Cancelled : ErrorCode::Io, what};
}

void AgentProcess::onFinished(int exitCode, int exitStatus)
{
    if (m_done)
        return;
    m_done = true;
    m_termTimer->stop();
    m_killTimer->stop();
    m_eofTimer->stop();
    onStdout(); // what it wrote before it went
    onStderr();
    if (!m_stderrLine.isEmpty())
        Q_EMIT stderrLine(QString::fromUtf8(std::exchange(m_stderrLine, QByteArray())));
    const Error reason = describeEnd(exitCode, exitStatus == QProcess::CrashExit);
    qCInfo(lcAgentProcess) << reason.message;
    if (JsonRpcConnection *c = m_connection.data())
        c->finishInput(reason);
    m_stopping = false;
    Q_EMIT finished(reason);
}

void AgentProcess::onError(int error)
{
    if (error != QProcess::FailedToStart || m_done)
        return;
    m_done = true;
    const Error reason{ErrorCode::NotFound, QStringLiteral("cannot start the agent %1: %2")
                                                .arg(m_program, m_process->errorString())};
    if (JsonRpcConnection *c = m_connection.data())
        c->close(reason);
    Q_EMIT finished(reason);
}

} // namespace airlock::agent
