#include "shimharness.h"

#include <QDir>
#include <QFileInfo>
#include <QSignalSpy>

#include <sys/socket.h>
#include <unistd.h>

namespace airlock::sandbox::test {

ExecRecorder::ExecRecorder(ShimClient *client)
{
    QObject::connect(client, &ShimClient::execStarted, this, [this](quint32 id, qint64 pid) { m_results[id].pid = pid; });
    QObject::connect(client, &ShimClient::stdoutReceived, this,
                     [this](quint32 id, const QByteArray &chunk) { m_results[id].out += chunk; });
    QObject::connect(client, &ShimClient::stderrReceived, this,
                     [this](quint32 id, const QByteArray &chunk) { m_results[id].err += chunk; });
    QObject::connect(client, &ShimClient::execFinished, this,
                     [this](quint32 id, const ExitStatus &status) { m_results[id].status = status; });
    QObject::connect(client, &ShimClient::execFailed, this,
                     [this](quint32 id, const Error &error) { m_results[id].error = error; });
}

const ExecOutcome &ExecRecorder::operator[](quint32 id) const
{
    static const ExecOutcome none;
    const auto it = m_results.constFind(id);
    return it == m_results.cend() ? none : *it;
}

bool ExecRecorder::wait(quint32 id, int timeoutMs)
{
    return QTest::qWaitFor([this, id] { return (*this)[id].done(); }, timeoutMs);
}

bool ExecRecorder::waitForOutput(quint32 id, QByteArrayView needle, int timeoutMs)
{
    return QTest::qWaitFor([this, id, needle] { return (*this)[id].out.contains(needle) || (*this)[id].done(); },
                           timeoutMs)
           && (*this)[id].out.contains(needle);
}

ShimHarness::ShimHarness()
{
    QDir(m_dir.path()).mkpath(QStringLiteral("ws"));
    m_process.setProcessChannelMode(QProcess::ForwardedErrorChannel);
}

ShimHarness::~ShimHarness()
{
    stop();
}

bool ShimHarness::start(const QStringList &extraArgs)
{
    if (!m_dir.isValid())
        return false;
    QStringList args{QStringLiteral("--control"), socketPath(), QStringLiteral("--workspace"), workspace()};
    args += extraArgs;
    m_process.start(QStringLiteral(AIRLOCK_SHIM_PATH), args);
    if (!m_process.waitForStarted(5000))
        return false;
    // The shim renames its socket into place once it listens, so existing means accepting.
    const QString path = socketPath();
    return QTest::qWaitFor([&path, this] {
        return QFileInfo::exists(path) || m_process.state() == QProcess::NotRunning;
    }, 5000) && QFileInfo::exists(path);
}

bool ShimHarness::connect(ShimClient &client)
{
    QSignalSpy ready(&client, &ShimClient::ready);
    client.connectToShim(socketPath());
    return ready.wait(5000);
}

void ShimHarness::stop()
{
    if (m_process.state() == QProcess::NotRunning)
        return;
    m_process.terminate();
    if (!m_process.waitForFinished(5000)) {
        m_process.kill();
        m_process.waitForFinished(2000);
    }
}

StdioShim::StdioShim()
{
    QDir(m_dir.path()).mkpath(QStringLiteral("ws"));
    m_process.setProcessChannelMode(QProcess::ForwardedErrorChannel);
}

StdioShim::~StdioShim()
{
    stop();
}

bool StdioShim::start(ShimClient &client, const QStringList &extraArgs)
{
    int pair[2];
    if (!m_dir.isValid() || ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
        return false;
    m_relay = std::make_unique<QLocalSocket>();
    if (!m_relay->setSocketDescriptor(pair[1])) {
        ::close(pair[0]);
        ::close(pair[1]);
        return false;
    }
    // Both ways as they come, as the attach stream's demultiplexer would.
    QObject::connect(&m_process, &QProcess::readyReadStandardOutput, m_relay.get(),
                     [this] { m_relay->write(m_process.readAllStandardOutput()); });
    QObject::connect(m_relay.get(), &QLocalSocket::readyRead, &m_process,
                     [this] { m_process.write(m_relay->readAll()); });
    QObject::connect(m_relay.get(), &QLocalSocket::disconnected, &m_process, [this] { closeStdin(); });

    QStringList args{QStringLiteral("--stdio"), QStringLiteral("--workspace"), workspace()};
    m_process.start(QStringLiteral(AIRLOCK_SHIM_PATH), args + extraArgs);
    if (!m_process.waitForStarted(5000))
        return false;
    QSignalSpy ready(&client, &ShimClient::ready);
    client.useConnection(pair[0], QStringLiteral("the shim's stdio"));
    return ready.wait(5000);
}

void StdioShim::closeStdin()
{
    if (m_process.state() == QProcess::Running)
        m_process.closeWriteChannel();
}

void StdioShim::stop()
{
    if (m_process.state() != QProcess::NotRunning) {
        m_process.terminate();
        if (!m_process.waitForFinished(5000)) {
            m_process.kill();
            m_process.waitForFinished(2000);
        }
    }
    if (m_relay)
        m_relay->disconnect();
    m_relay.reset();
}

bool inProcessTable(qint64 pid)
{
    return QFileInfo::exists(QStringLiteral("/proc/%1").arg(pid));
}

int zombieChildren(qint64 parent)
{
    int count = 0;
    const QStringList pids = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &pid : pids) {
        QFile file(QStringLiteral("/proc/%1/stat").arg(pid));
        if (!file.open(QIODevice::ReadOnly))
            continue;
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
        const QByteArray stat = file.readAll();
        const qsizetype close = stat.lastIndexOf(')');
        if (close < 0)
            continue;
        const QList<QByteArray> fields = stat.mid(close + 2).split(' ');
        if (fields.size() >= 2 && fields[0] == "Z" && fields[1].toLongLong() == parent)
            ++count;
    }
    return count;
}

} // namespace airlock::sandbox::test
