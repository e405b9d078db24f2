// ClientConnection, part three: a CONNECT tunnel. Bytes move both ways without being looked at, spliced
// inside the kernel where both ends are plain sockets; an end of stream on one side becomes a
// half-close on the other, and the record is written when both directions have ended.
#include "egress/clientconnection.h"

#include "egress/proxyengine.h"
#include "egress/stream.h"

#include <QTimer>

namespace airlock::egress {

void ClientConnection::beginTunnel()
{
    Stream *up = m_upstream;
    if (!up)
        return;
    m_state = State::Tunnel;
    m_record.status = 200;
    m_client->write("HTTP/1.1 200 Connection established\r\n\r\n");
    if (!m_in.isEmpty()) {
        // A client that sent its TLS hello right behind the CONNECT head.
        up->write(m_in);
        m_record.bytesUp += m_in.size();
        m_in.clear();
    }
    m_upEofPassed = false;
    m_downEofPassed = false;
    m_client->setReading(true);
    up->setReading(true);
    pumpTunnel(true);
    pumpTunnel(false);
}

void ClientConnection::pumpTunnel(bool towardUpstream)
{
    Stream *up = m_upstream;
    if (m_state != State::Tunnel || !up)
        return;
    Stream *from = towardUpstream ? static_cast<Stream *>(m_client) : up;
    Stream *to = towardUpstream ? up : static_cast<Stream *>(m_client);
    qint64 &counter = towardUpstream ? m_record.bytesUp : m_record.bytesDown;
    bool &eofPassed = towardUpstream ? m_upEofPassed : m_downEofPassed;
    const qint64 highWater = m_engine->limits().highWaterBytes;
    auto *fromFd = qobject_cast<FdStream *>(from);
    auto *toFd = qobject_cast<FdStream *>(to);
    while (!eofPassed && to->pending() < highWater) {
        if (m_splice && fromFd && toFd) {
            const qint64 n = toFd->spliceFrom(*fromFd, m_engine->scratchSize());
            if (n > 0) {
                counter += n;
                continue;
            }
            if (n == 0)
                break;
            m_splice = false; // not here: copy through user space instead
        }
        const qint64 n = from->read(m_engine->scratch(), m_engine->scratchSize());
        if (n <= 0)
            break;
        to->write(QByteArrayView(m_engine->scratch(), n));
        counter += n;
    }
    if (!eofPassed && from->atEnd()) {
        to->shutdownWrite();
        eofPassed = true;
    }
    // While earlier writes are still queued on the far side, splicing waits for them (and for that
    // side's flushed()): reading on now would only spin.
    const bool waitingForQueue = m_splice && toFd && !toFd->canSplice();
    from->setReading(!eofPassed && to->pending() < highWater && !waitingForQueue);
    finishTunnelIfDone();
}

void ClientConnection::finishTunnelIfDone()
{
    if (m_state != State::Tunnel || !m_upEofPassed || !m_downEofPassed)
        return;
    const Stream *up = m_upstream;
    if (m_client->pending() > 0 || (up && up->pending() > 0))
        return;
    closeRecord();
    finishClosing();
}

} // namespace airlock::egress
