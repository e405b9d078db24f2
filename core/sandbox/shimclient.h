#pragma once

#include "error.h"
#include "shimprotocol.h"
#include "shimtunnel.h"

#include <QFuture>
#include <QObject>

#include <functional>
#include <memory>
#include <unordered_map>

class QLocalSocket;
class QTimer;

namespace airlock::sandbox {

// Talks to one airlock-shim over its control socket, on the thread it lives in. Many execs and
// file operations may be in flight at once; each exec is known by the request id exec() returns
// and reports through the exec* signals, while file operations, ping, kill and shutdown complete
// a QFuture. Everything the shim sends is checked: a frame that breaks the protocol ends the
// connection with errorOccurred() rather than being half-believed.
//
// When the connection ends, every pending future finishes with an error and every running exec
// gets execFailed(); the shim itself stops the execs of a client that went away.
//
// It offers the shim the proxy tunnel in its hello, and carries the streams to setTunnelTarget().
class ShimClient : public QObject
{
    Q_OBJECT
public:
    explicit ShimClient(QObject *parent = nullptr);
    ~ShimClient() override;

    // Connects and negotiates the protocol version; ready() or errorOccurred() follows.
    void connectToShim(const QString &socketPath, int timeoutMs = 10000);
    // The same over a connection the shim made to us (a listening backend accepted it); takes the
    // descriptor. `from` names it in errors.
    void useConnection(qintptr fd, const QString &from, int timeoutMs = 10000);
    void disconnectFromShim();
    bool isReady() const { return m_state == State::Ready; }
    // Valid once ready().
    const HelloInfo &shimInfo() const { return m_info; }

    // Starts a process; its output, start, exit or failure arrive as signals carrying the
    // returned id. Large stdinData is streamed after the request rather than inlined.
    Result<quint32> exec(const ExecRequest &request);
    // Streamed stdin of an exec started with streamStdin. Data for an exec that has already ended
    // is dropped by the shim, which is the normal race with its exit.
    void writeStdin(quint32 execId, QByteArrayView data);
    void closeStdin(quint32 execId);
    // signal 0 stops the process group: SIGTERM, then SIGKILL after graceMs (-1: the exec's own).
    // Any other signal is sent to the group as is.
    QFuture<Result<void>> kill(quint32 execId, int signal = 0, int graceMs = -1);

    // Paths are relative to the shim's workspace, or absolute paths inside it.
    QFuture<Result<QByteArray>> readFile(const QString &path, quint64 offset = 0,
                                         std::optional<quint64> maxBytes = std::nullopt);
    // Data larger than one frame goes in several appends, so it is not atomic.
    QFuture<Result<quint64>> writeFile(const QString &path, const QByteArray &data,
                                       const WriteOptions &options = {});
    QFuture<Result<DirListing>> listDir(const QString &path);
    QFuture<Result<FileStat>> stat(const QString &path, bool followLinks = true);
    QFuture<Result<QByteArray>> ping(const QByteArray &payload = {});
    // The shim stops every exec (SIGTERM, SIGKILL after graceMs) and exits.
    QFuture<Result<void>> shutdown(int graceMs = -1);

    // Where the proxy tunnel leads (a shim started with --proxy-tunnel): each TCP connection to the
    // shim's proxy port becomes a connection to this unix socket, the sandbox's egress proxy. May be
    // set or changed at any time; streams already open keep their connection. Without it, or when
    // the socket cannot be reached, the sandboxed program's connection is closed.
    void setTunnelTarget(const QString &unixSocketPath);
    TunnelStats tunnelStats() const;

Q_SIGNALS:
    void ready();
    // Connecting, negotiating or the shim breaking the protocol; the connection is dropped.
    void errorOccurred(const airlock::Error &error);
    void disconnected();

    void execStarted(quint32 id, qint64 pid);
    void stdoutReceived(quint32 id, const QByteArray &chunk);
    // Its stdout ended while it runs on (a shim with the exec.stdout-closed capability says so).
    void stdoutClosed(quint32 id);
    void stderrReceived(quint32 id, const QByteArray &chunk);
    void execFinished(quint32 id, const airlock::sandbox::ExitStatus &status);
    // The exec never ran (no such program, bad cwd, limits) or the connection ended under it.
    void execFailed(quint32 id, const airlock::Error &error);

private:
    // Handles one frame for a pending request; returns false when the frame type makes no
    // sense for it. Terminal frames (Ok, Error, Exit, HelloOk, Pong) are handed over after the
    // request has left m_pending, so a handler may start new requests freely.
    struct Pending
    {
        std::function<bool(const Frame &)> onFrame;
        std::function<void(const Error &)> onAbort;
    };
    struct WriteJob;
    struct ExecState
    {
        quint32 id = 0;
        quint64 cap = 0;
        quint64 received = 0;
    };

    template<typename T>
    QFuture<Result<T>> call(wire::FrameType type, const QByteArray &body,
                            std::function<bool(const Frame &, std::optional<Result<T>> &)> handle);
    template<typename T>
    QFuture<Result<T>> failedFuture(const Error &error);

    enum class State { Idle, Connecting, Negotiating, Ready };

    quint32 nextId();
    bool sendFrame(wire::FrameType type, quint32 id, QByteArrayView body);
    void sendWriteChunk(const std::shared_ptr<WriteJob> &job);
    void onConnected();
    bool onHelloAnswer(const Frame &frame);
    bool onExecFrame(ExecState &exec, const Frame &frame);
    bool onWriteAnswer(const std::shared_ptr<WriteJob> &job, qsizetype chunk, const Frame &frame);
    void onReadyRead();
    void handleFrame(const Frame &frame);
    void protocolFailure(const Error &error);
    static Error protocolError(const QString &what);
    // Ends the connection and fails everything pending with error; safe to call in any state.
    void closeWith(const Error &error);
    void abortAll(const Error &error);
    Error notReady() const;

    QLocalSocket *m_socket = nullptr;
    QTimer *m_negotiationTimer = nullptr;
    std::unique_ptr<ShimTunnels> m_tunnels;
    FrameDecoder m_decoder;
    std::unordered_map<quint32, Pending> m_pending;
    quint32 m_lastId = 0;
    State m_state = State::Idle;
    bool m_destroying = false;
    HelloInfo m_info;
    QString m_socketPath;
};

} // namespace airlock::sandbox
