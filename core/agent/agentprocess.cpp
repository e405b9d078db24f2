#include "agentprocess.h"

#include "jsonrpcconnection.h"

#include <QFileInfo>
#include <QLoggingCategory>
#include <QProcess>
#include <QTimer>

#include <csignal>
#include <sys/prctl.h>
#include <unistd.h>

Q_LOGGING_CATEGORY(lcAgentProcess, "airlock.agent.process", QtWarningMsg)

namespace airlock::agent {

namespace {
constexpr qsizetype kStderrTail = 8 * 1024;
constexpr qsizetype kStderrLineMax = 4 * 1024;
} // namespace

AgentProcess::AgentProcess(QObject *parent)
    : QObject(parent), m_process(new QProcess(this)), m_termTimer(new QTimer(this)), m_killTimer(new QTimer(this))
{
    m_termTimer->setSingleShot(true);
    m_killTimer->setSingleShot(true);
    m_process->setProcessChannelMode(QProcess::SeparateChannels);
    // Its own group, so stop() reaches what it spawned (npx starts node, node starts tools); and a
    // parent-death signal, so an agent never outlives a crashed Airlock.
    m_process->setChildProcessModifier([] {
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    });
    connect(m_process, &QProcess::readyReadStandardOutput, this, &AgentProcess::onStdout);
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
}

void AgentProcess::start(const AgentLaunch &launch, JsonRpcConnection *connection)
{
    m_connection = connection;
    m_program = launch.program;
    m_done = false;
    connection->setWriter([this](const QByteArray &bytes) { return m_process->write(bytes) == bytes.size(); },
                          [this] { return m_process->bytesToWrite(); });
    m_process->setProgram(launch.program);
    m_process->setArguments(launch.arguments);
    m_process->setProcessEnvironment(launch.environment);
    m_process->setWorkingDirectory(launch.workingDirectory);
    m_process->start(QIODevice::ReadWrite);
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
    const QByteArray bytes = m_process->readAllStandardOutput();
    if (JsonRpcConnection *c = m_connection.data(); c && !bytes.isEmpty())
        c->receive(bytes);
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
