#pragma once

#include "error.h"
#include "shimprotocol.h"

#include <QObject>
#include <QString>

#include <functional>
#include <memory>
#include <unordered_map>

namespace airlock::sandbox {

// What the tunnels of one connection hold on the host right now.
struct TunnelStats
{
    int streams = 0;
    // From the shim and not yet in the proxy's socket. Never more than wire::TunnelWindow per stream:
    // the shim may send no more than we granted, and we grant only what the socket has taken.
    qint64 towardsProxy = 0;
    // Read from the proxy's socket and not yet sent: bounded by the socket's read buffer.
    qint64 fromProxy = 0;
};

// The host's end of the shim's proxy tunnel (docs/shim-protocol.md, "Proxy tunnel"). Each stream the
// shim opens, for a TCP connection to its proxy port inside the sandbox, is joined to a new
// connection to the target unix socket (the sandbox's egress proxy); bytes flow both ways within the
// credit each side grants, so neither buffers more than a window per stream however slow the other
// end is. Owned by ShimClient, which hands it the tunnel frames of its connection and sends what it
// produces on it.
class ShimTunnels : public QObject
{
    Q_OBJECT
public:
    using SendFrame = std::function<void(wire::FrameType type, quint32 id, QByteArrayView body)>;

    explicit ShimTunnels(SendFrame send, QObject *parent = nullptr);
    ~ShimTunnels() override;

    // Empty: every stream is refused with TunnelClose. Streams already open keep their connection.
    void setTarget(const QString &unixSocketPath) { m_target = unixSocketPath; }
    QString target() const { return m_target; }

    // One tunnel frame from the shim. An error means the shim broke the tunnel rules (credit,
    // unknown streams, malformed bodies) and the connection must end.
    Result<void> handleFrame(const Frame &frame);
    // The connection to the shim ended: every stream's proxy connection is aborted.
    void closeAll();
    TunnelStats stats() const;

private:
    struct Stream;

    Result<void> open(quint32 id, QByteArrayView body);
    Result<void> receiveData(Stream &stream, QByteArrayView data);
    Result<void> receiveCredit(Stream &stream, QByteArrayView body);
    bool openedBefore(quint32 id) const;
    Stream *find(quint32 id);
    void onConnected(quint32 id);
    void onBytesWritten(quint32 id, qint64 bytes);
    void onProxyGone(quint32 id);
    // Proxy -> shim, as far as the shim's credit reaches; then the EOF once all is read.
    void pumpFromProxy(quint32 id);
    // The shim's EOF becomes shutdown(SHUT_WR) on the proxy's socket once its bytes are written.
    void passOnEof(Stream &stream);
    // Both directions are over: the stream goes without another frame.
    void finishIfDone(Stream &stream);
    // Aborts a stream from our side, telling the shim why.
    void abort(quint32 id, const QString &why);
    void drop(quint32 id);

    SendFrame m_send;
    QString m_target;
    std::unordered_map<quint32, std::unique_ptr<Stream>> m_streams;
    // The ids the shim has opened on this connection run from m_firstId to m_lastId (it hands them
    // out in order), which tells a frame for an ended stream from one for a stream that never was.
    quint32 m_firstId = 0;
    quint32 m_lastId = 0;
};

} // namespace airlock::sandbox
