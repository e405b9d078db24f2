#pragma once

#include "sandbox/shimclient.h"

#include <QHash>
#include <QLocalSocket>
#include <QObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

namespace airlock::sandbox::test {

// Runs the event loop until the future is done, never blocking it; a timeout becomes an Error.
template<typename T>
Result<T> await(const QFuture<Result<T>> &future, int timeoutMs = 10000)
{
    if (!QTest::qWaitFor([&future] { return future.isFinished(); }, timeoutMs))
        return std::unexpected(Error{ErrorCode::Io, QStringLiteral("timed out waiting for the shim")});
    return future.result();
}

struct ExecOutcome
{
    QByteArray out;
    QByteArray err;
    qint64 pid = 0;
    std::optional<ExitStatus> status;
    std::optional<Error> error;

    bool done() const { return status.has_value() || error.has_value(); }
};

// Collects every exec's output and end from a client, keyed by request id.
class ExecRecorder : public QObject
{
public:
    explicit ExecRecorder(ShimClient *client);

    const ExecOutcome &operator[](quint32 id) const;
    bool wait(quint32 id, int timeoutMs = 10000);
    bool waitForOutput(quint32 id, QByteArrayView needle, int timeoutMs = 10000);

private:
    QHash<quint32, ExecOutcome> m_results;
};

// One airlock-shim process on the host in a temporary folder of its own: the control socket at
// dir/control.sock and the workspace at dir/ws.
class ShimHarness
{
public:
    ShimHarness();
    ~ShimHarness();

    bool start(const QStringList &extraArgs = {});
    bool connect(ShimClient &client);
    void stop();

    QString dir() const { return m_dir.path(); }
    QString workspace() const { return m_dir.filePath(QStringLiteral("ws")); }
    QString socketPath() const { return m_dir.filePath(QStringLiteral("control.sock")); }
    QProcess &process() { return m_process; }

private:
    QTemporaryDir m_dir;
    QProcess m_process;
};

// An airlock-shim in --stdio mode in a temporary folder (workspace dir/ws), its stdin and stdout
// pipes relayed to a socket pair whose other end a ShimClient takes with useConnection(), as the
// remote Docker backend does with the container's attach stream. The client ending its connection
// closes the shim's stdin.
class StdioShim
{
public:
    StdioShim();
    ~StdioShim();

    // Starts the shim and connects the client; true once it is ready.
    bool start(ShimClient &client, const QStringList &extraArgs = {});
    // EOF on the shim's stdin: the backend is gone.
    void closeStdin();
    void stop();

    QString dir() const { return m_dir.path(); }
    QString workspace() const { return m_dir.filePath(QStringLiteral("ws")); }
    QProcess &process() { return m_process; }

private:
    QTemporaryDir m_dir;
    QProcess m_process;
    std::unique_ptr<QLocalSocket> m_relay;
};

// Still in the process table, alive or as an unreaped zombie.
bool inProcessTable(qint64 pid);
// Zombies whose parent is `parent`, i.e. children it has not reaped.
int zombieChildren(qint64 parent);

} // namespace airlock::sandbox::test
