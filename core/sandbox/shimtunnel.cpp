#include "shimtunnel.h"

#include <QLocalSocket>
#include <QLoggingCategory>

#include <sys/socket.h>

Q_LOGGING_CATEGORY(lcTunnel, "airlock.sandbox.shim.tunnel", QtWarningMsg)

namespace airlock::sandbox {

using wire::FrameType;

namespace {

constexpr qint64 ReadChunk = 64 * 1024;
// The proxy's socket buffers at most this much that the shim has no credit for yet; past it Qt
// stops reading, and the proxy feels the backpressure.
constexpr qint64 ProxyReadBuffer = 64 * 1024;
// Credit goes back in pieces of at least this much, or whenever the socket has taken everything.
constexpr quint64 GrantThreshold = wire::TunnelWindow / 4;
// A well-behaved shim opens no more (its own limit); more are refused rather than served.
constexpr std::size_t MaxStreams = 256;
constexpr quint32 IdMask = ~wire::TunnelIdBit;

QString streamName(quint32 id)
{
    return QStringLiteral("tunnel stream 0x%1").arg(id, 8, 16, QLatin1Char('0'));
}

Error tunnelError(const QString &what)
{
    return Error{ErrorCode::Io, QStringLiteral("the shim broke the tunnel protocol: ") + what};
}

} // namespace

struct ShimTunnels::Stream
{
    quint32 id = 0;
    QLocalSocket *socket = nullptr;
    QByteArray early;                           // from the shim before the proxy answered
    bool connected = false;
    quint64 sendCredit = wire::TunnelWindow;    // what we may still send the shim
    quint64 recvCredit = wire::TunnelWindow;    // what the shim may still send us
    quint64 written = 0;                        // taken by the proxy's socket, not yet granted back
    bool peerEof = false;                       // the shim sent TunnelEof ...
    bool shut = false;                          // ... and it reached the proxy as shutdown(SHUT_WR)
    bool proxyGone = false;                     // the proxy closed its side
    bool sentEof = false;                       // ... and everything it said has gone to the shim
};

ShimTunnels::ShimTunnels(SendFrame send, QObject *parent) : QObject(parent), m_send(std::move(send)) {}

ShimTunnels::~ShimTunnels()
{
    closeAll();
}

Result<void> ShimTunnels::handleFrame(const Frame &frame)
{
    const quint32 id = frame.id;
    if (frame.type == FrameType::TunnelOpen)
        return open(id, frame.body);
    if (frame.type == FrameType::TunnelEof && !frame.body.isEmpty())
        return std::unexpected(tunnelError(QStringLiteral("an eof with a body on %1").arg(streamName(id))));
    if (frame.type == FrameType::TunnelClose) {
        const Result<QString> why = decodeTunnelClose(frame.body);
        if (!why)
            return std::unexpected(why.error());
        qCDebug(lcTunnel) << "the shim closed" << streamName(id) << *why;
    }
    Stream *stream = find(id);
    if (!stream) {
        // A stream we ended while this frame was on its way is the normal race; one the shim
        // never opened is not. (A malformed credit is malformed either way.)
        if (!openedBefore(id))
            return std::unexpected(tunnelError(QStringLiteral("a %1 frame for %2, which was never opened")
                                                   .arg(frameTypeName(frame.type), streamName(id))));
        if (frame.type == FrameType::TunnelCredit) {
            if (const Result<quint64> grant = decodeTunnelCredit(frame.body); !grant)
                return std::unexpected(grant.error());
        }
        return {};
    }
    switch (frame.type) {
    case FrameType::TunnelData:
        return receiveData(*stream, frame.body);
    case FrameType::TunnelEof:
        if (stream->peerEof)
            return std::unexpected(tunnelError(QStringLiteral("a second eof on %1").arg(streamName(id))));
        stream->peerEof = true;
        passOnEof(*stream);
        return {};
    case FrameType::TunnelClose:
        drop(id);
        return {};
    case FrameType::TunnelCredit:
        return receiveCredit(*stream, frame.body);
    default:
        return std::unexpected(tunnelError(QStringLiteral("%1 is no tunnel frame").arg(frameTypeName(frame.type))));
    }
}

Result<void> ShimTunnels::open(quint32 id, QByteArrayView body)
{
    if (!(id & wire::TunnelIdBit))
        return std::unexpected(tunnelError(QStringLiteral("stream id %1 lacks the tunnel bit").arg(id)));
    if (find(id))
        return std::unexpected(tunnelError(QStringLiteral("%1 was opened twice").arg(streamName(id))));
    if (const TlvReader tlv(body); !tlv.ok())
        return std::unexpected(tunnelError(QStringLiteral("a malformed open of %1: %2").arg(streamName(id), tlv.errorString())));
    if (m_firstId == 0)
        m_firstId = id;
    m_lastId = id;
    if (m_target.isEmpty()) {
        m_send(FrameType::TunnelClose, id, encodeTunnelClose(QStringLiteral("the host has no tunnel target")));
        return {};
    }
    if (m_streams.size() >= MaxStreams) {
        m_send(FrameType::TunnelClose, id, encodeTunnelClose(QStringLiteral("too many tunnel streams")));
        return {};
    }
    auto stream = std::make_unique<Stream>();
    stream->id = id;
    stream->socket = new QLocalSocket(this);
    QLocalSocket *socket = stream->socket;
    socket->setReadBufferSize(ProxyReadBuffer);
    // Every handler looks its stream up by id: it may have gone while the signal was queued.
    connect(socket, &QLocalSocket::connected, this, [this, id] { onConnected(id); });
    connect(socket, &QLocalSocket::readyRead, this, [this, id] { pumpFromProxy(id); });
    connect(socket, &QLocalSocket::bytesWritten, this, [this, id](qint64 bytes) { onBytesWritten(id, bytes); });
    connect(socket, &QLocalSocket::disconnected, this, [this, id] { onProxyGone(id); });
    connect(socket, &QLocalSocket::errorOccurred, this, [this, id, socket](QLocalSocket::LocalSocketError error) {
        // The proxy closing is an "error" too; disconnected() handles it, after the bytes it sent.
        const Stream *s = find(id);
        if (!s || error == QLocalSocket::PeerClosedError)
            return;
        abort(id, s->connected ? QStringLiteral("the proxy connection failed: %1").arg(socket->errorString())
                               : QStringLiteral("cannot reach the proxy at %1: %2").arg(m_target, socket->errorString()));
    });
    m_streams.emplace(id, std::move(stream));
    // A local connect completes or fails at once, usually inside this call.
    socket->connectToServer(m_target);
    return {};
}

Result<void> ShimTunnels::receiveData(Stream &stream, QByteArrayView data)
{
    const quint32 id = stream.id;
    if (stream.peerEof)
        return std::unexpected(tunnelError(QStringLiteral("data after eof on %1").arg(streamName(id))));
    if (static_cast<quint64>(data.size()) > stream.recvCredit) {
        return std::unexpected(tunnelError(QStringLiteral("%1 bytes on %2 exceed its credit of %3")
                                               .arg(data.size())
                                               .arg(streamName(id))
                                               .arg(stream.recvCredit)));
    }
    stream.recvCredit -= static_cast<quint64>(data.size());
    if (stream.proxyGone) {
        // What the sandbox still sends has nowhere to go, as a write to a closed socket would fail.
        abort(id, QStringLiteral("the proxy closed the connection"));
        return {};
    }
    if (stream.socket->state() == QLocalSocket::ConnectedState)
        stream.socket->write(data.data(), data.size());
    else
        stream.early.append(data);
    return {};
}

Result<void> ShimTunnels::receiveCredit(Stream &stream, QByteArrayView body)
{
    const Result<quint64> grant = decodeTunnelCredit(body);
    if (!grant)
        return std::unexpected(grant.error());
    // A shim that counts right never grants more than we have sent it, so its credit never passes
    // the window; more would let it make us read without bound.
    if (*grant > wire::TunnelWindow - stream.sendCredit)
        return std::unexpected(tunnelError(QStringLiteral("credit beyond the window on %1").arg(streamName(stream.id))));
    stream.sendCredit += *grant;
    pumpFromProxy(stream.id);
    return {};
}

bool ShimTunnels::openedBefore(quint32 id) const
{
    if (!(id & wire::TunnelIdBit) || m_firstId == 0)
        return false;
    return ((id - m_firstId) & IdMask) <= ((m_lastId - m_firstId) & IdMask);
}

ShimTunnels::Stream *ShimTunnels::find(quint32 id)
{
    const auto it = m_streams.find(id);
    return it == m_streams.end() ? nullptr : it->second.get();
}

void ShimTunnels::onConnected(quint32 id)
{
    Stream *s = find(id);
    if (!s)
        return;
    s->connected = true;
    if (!s->early.isEmpty()) {
        s->socket->write(s->early);
        s->early.clear();
    }
    passOnEof(*s);
}

void ShimTunnels::onBytesWritten(quint32 id, qint64 bytes)
{
    Stream *s = find(id);
    if (!s)
        return;
    s->written += static_cast<quint64>(bytes);
    // After its EOF the shim sends nothing more, so it needs no more credit.
    if (!s->peerEof && s->written > 0 && (s->written >= GrantThreshold || s->socket->bytesToWrite() == 0)) {
        m_send(FrameType::TunnelCredit, id, encodeTunnelCredit(s->written));
        s->recvCredit += s->written;
        s->written = 0;
    }
    passOnEof(*s);
}

void ShimTunnels::onProxyGone(quint32 id)
{
    Stream *s = find(id);
    if (!s)
        return;
    s->proxyGone = true;
    pumpFromProxy(id); // what it said before closing still goes out, then the EOF
}

void ShimTunnels::pumpFromProxy(quint32 id)
{
    Stream *s = find(id);
    if (!s)
        return;
    while (s->sendCredit > 0 && s->socket->bytesAvailable() > 0) {
        const QByteArray chunk = s->socket->read(static_cast<qint64>(std::min<quint64>(s->sendCredit, ReadChunk)));
        if (chunk.isEmpty())
            break;
        s->sendCredit -= static_cast<quint64>(chunk.size());
        m_send(FrameType::TunnelData, id, chunk);
    }
    if (s->proxyGone && !s->sentEof && s->socket->bytesAvailable() == 0) {
        s->sentEof = true;
        m_send(FrameType::TunnelEof, id, {});
    }
    finishIfDone(*s);
}

void ShimTunnels::passOnEof(Stream &s)
{
    if (s.peerEof && !s.shut && !s.proxyGone && s.early.isEmpty() && s.socket->state() == QLocalSocket::ConnectedState
        && s.socket->bytesToWrite() == 0) {
        // QLocalSocket has no half-close of its own; the descriptor does. Reading goes on.
        ::shutdown(static_cast<int>(s.socket->socketDescriptor()), SHUT_WR);
        s.shut = true;
    }
    finishIfDone(s);
}

void ShimTunnels::finishIfDone(Stream &s)
{
    if (s.sentEof && s.peerEof && (s.shut || s.proxyGone))
        drop(s.id);
}

void ShimTunnels::abort(quint32 id, const QString &why)
{
    qCInfo(lcTunnel) << "ending" << streamName(id) << why;
    m_send(FrameType::TunnelClose, id, encodeTunnelClose(why));
    drop(id);
}

void ShimTunnels::drop(quint32 id)
{
    const auto it = m_streams.find(id);
    if (it == m_streams.end())
        return;
    QLocalSocket *socket = it->second->socket;
    m_streams.erase(it);
    // Later: this may run inside one of the socket's own signals.
    socket->disconnect(this);
    socket->abort();
    socket->deleteLater();
}

void ShimTunnels::closeAll()
{
    auto streams = std::move(m_streams);
    m_streams.clear();
    for (auto &entry : streams) {
        entry.second->socket->disconnect(this);
        entry.second->socket->abort();
        entry.second->socket->deleteLater();
    }
    m_firstId = 0;
    m_lastId = 0;
}

TunnelStats ShimTunnels::stats() const
{
    TunnelStats stats;
    stats.streams = static_cast<int>(m_streams.size());
    for (const auto &entry : m_streams) {
        stats.towardsProxy += entry.second->early.size() + entry.second->socket->bytesToWrite();
        stats.fromProxy += entry.second->socket->bytesAvailable();
    }
    return stats;
}

} // namespace airlock::sandbox
