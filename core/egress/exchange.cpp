// ClientConnection, part two: one HTTP exchange (plain or on a TLS route). The request head is
// rewritten, its body is framed by the parser (length-delimited bodies forwarded byte for byte,
// chunked ones re-framed) and the response comes back the same way; nothing after the end of either
// message is ever taken as part of it.
#include "egress/clientconnection.h"

#include "egress/proxyengine.h"
#include "egress/stream.h"

#include <QTimer>

namespace airlock::egress {

void ClientConnection::beginForwarding()
{
    Stream *up = m_upstream;
    if (!up)
        return;
    m_state = State::Exchange;
    const QByteArray head = upstreamRequestHead(m_request.request(), m_target, m_inject);
    up->write(head);
    m_record.bytesUp += head.size();
    m_requestDone = m_request.complete();
    m_keepClient = m_request.request().keepAlive;
    pumpRequest();
    if (m_state == State::Exchange)
        onUpstreamReadableInExchange();
}

qsizetype ClientConnection::forwardRequestBytes(Stream *up, QByteArrayView data)
{
    auto used = m_request.feed(data);
    if (!used) {
        failExchange(used.error().message, used.error().status);
        return -1;
    }
    const QByteArray reframed = m_request.reframes() ? m_request.takeOutput() : QByteArray();
    const QByteArrayView out = m_request.reframes() ? QByteArrayView(reframed) : data.first(*used);
    if (!out.isEmpty()) {
        up->write(out);
        m_record.bytesUp += out.size();
    }
    if (m_request.complete())
        m_requestDone = true;
    return *used;
}

void ClientConnection::pumpRequest()
{
    Stream *up = m_upstream;
    if (m_state != State::Exchange || !up)
        return;
    if (m_requestDone) {
        m_client->setReading(false);
        return;
    }
    const qint64 highWater = m_engine->limits().highWaterBytes;
    if (!m_in.isEmpty()) {
        const qsizetype used = forwardRequestBytes(up, m_in);
        if (used < 0)
            return;
        m_in.remove(0, used);
    }
    while (!m_requestDone && up->pending() < highWater) {
        const qint64 n = m_client->read(m_engine->scratch(), m_engine->scratchSize());
        if (n <= 0)
            break;
        const QByteArrayView chunk(m_engine->scratch(), n);
        const qsizetype used = forwardRequestBytes(up, chunk);
        if (used < 0)
            return;
        if (used < n)
            m_in.append(chunk.sliced(used)); // a pipelined request: kept for after this exchange
    }
    if (!m_requestDone && m_client->atEnd()) {
        failExchange(QStringLiteral("the sandbox closed the connection in the middle of the request body"), 400);
        return;
    }
    m_client->setReading(!m_requestDone && up->pending() < highWater);
}

void ClientConnection::onUpstreamReadableInExchange()
{
    if (m_state != State::Exchange || !m_upstream)
        return;
    if (!m_responseHeadDone && !takeResponseHead())
        return;
    pumpResponse();
}

bool ClientConnection::takeResponseHead()
{
    Stream *up = m_upstream;
    if (!up)
        return false;
    const HeadLimits &limits = m_engine->limits().head;
    while (true) {
        auto scan = m_responseScanner.scan(m_responseBuffer);
        if (!scan) {
            failExchange(scan.error().message, scan.error().status);
            return false;
        }
        if (*scan > 0) {
            const QByteArray head = m_responseBuffer.left(*scan);
            m_responseBuffer.remove(0, *scan);
            m_responseScanner.reset();
            m_response.reset(m_request.request().method == "HEAD");
            if (auto parsed = m_response.parseHead(head); !parsed) {
                failExchange(parsed.error().message, parsed.error().status);
                return false;
            }
            const ResponseHead &r = m_response.response();
            if (r.status < 200) {
                // Interim answers (100 Continue, 103 Early Hints) pass on; the final one follows.
                const QByteArray interim = clientResponseHead(r, true);
                sendToClient(interim);
                m_record.bytesDown += interim.size();
                continue;
            }
            if (m_masker.active()) {
                const QByteArray coding = headerValue(r.headers, "content-encoding").trimmed().toLower();
                if (headerCount(r.headers, "content-encoding") > 1 || (!coding.isEmpty() && coding != "identity")) {
                    failExchange(QStringLiteral("%1 answered with Content-Encoding '%2' on a credential route, "
                                                "where the proxy asks for identity: a compressed body could "
                                                "carry the credential past masking, so it is not passed on")
                                     .arg(m_target.host, QString::fromLatin1(coding.left(40))));
                    return false;
                }
            }
            m_responseHeadDone = true;
            m_record.status = r.status;
            // An HTTP/1.0 client cannot read chunks: it gets the bare body, ended by closing.
            const bool dechunk = m_request.request().minorVersion == 0 && m_response.reframes();
            m_rechunkMasked = m_masker.active() && m_response.reframes() && !dechunk;
            m_response.setDechunk(dechunk || m_rechunkMasked);
            // The upstream connection always closes (we asked it to); only a body that ends at close, or
            // a request still being sent, keeps the sandbox's connection from serving another request.
            m_keepClient = m_keepClient && !r.untilClose && !dechunk && m_requestDone;
            const QByteArray out = clientResponseHead(r, m_keepClient, dechunk);
            sendToClient(out);
            m_record.bytesDown += out.size();
            return true;
        }
        const qint64 room = std::max<qint64>(1, limits.maxHead + 1 - m_responseBuffer.size());
        const qint64 n = up->read(m_engine->scratch(), std::min(room, m_engine->scratchSize()));
        if (n <= 0) {
            if (up->atEnd())
                failExchange(QStringLiteral("%1 closed the connection without answering").arg(m_target.host));
            return false;
        }
        m_responseBuffer.append(m_engine->scratch(), n);
    }
}

bool ClientConnection::forwardResponseBytes(QByteArrayView data)
{
    auto used = m_response.feed(data);
    if (!used) {
        failExchange(used.error().message, used.error().status);
        return false;
    }
    // Bytes after the end of the response are dropped: the server was asked to close.
    const QByteArray reframed = m_response.reframes() ? m_response.takeOutput() : QByteArray();
    const QByteArrayView out = m_response.reframes() ? QByteArrayView(reframed) : data.first(*used);
    if (m_rechunkMasked) {
        sendMaskedChunk(out, m_response.complete());
        return true;
    }
    if (!out.isEmpty()) {
        sendToClient(out);
        m_record.bytesDown += out.size();
    }
    return true;
}

void ClientConnection::sendMaskedChunk(QByteArrayView payload, bool last)
{
    QByteArray masked = m_masker.process(payload);
    if (last)
        masked += m_masker.flush();
    QByteArray out;
    if (!masked.isEmpty())
        out += QByteArray::number(masked.size(), 16) + "\r\n" + masked + "\r\n";
    if (last)
        out += "0\r\n\r\n";
    if (out.isEmpty())
        return;
    m_client->write(out);
    m_record.bytesDown += out.size();
}

void ClientConnection::pumpResponse()
{
    Stream *up = m_upstream;
    if (m_state != State::Exchange || !up || !m_responseHeadDone)
        return;
    const qint64 highWater = m_engine->limits().highWaterBytes;
    if (!m_responseBuffer.isEmpty()) {
        const QByteArray rest = std::exchange(m_responseBuffer, {});
        if (!forwardResponseBytes(rest))
            return;
    }
    while (!m_response.complete() && m_client->pending() < highWater) {
        const qint64 n = up->read(m_engine->scratch(), m_engine->scratchSize());
        if (n <= 0)
            break;
        if (!forwardResponseBytes(QByteArrayView(m_engine->scratch(), n)))
            return;
    }
    if (!m_response.complete() && up->atEnd()) {
        if (auto finished = m_response.finish(); !finished) {
            failExchange(finished.error().message, finished.error().status);
            return;
        }
    }
    if (m_response.complete()) {
        finishExchange();
        return;
    }
    up->setReading(m_client->pending() < highWater);
}

void ClientConnection::sendToClient(QByteArrayView data)
{
    if (m_masker.active())
        m_client->write(m_masker.process(data));
    else
        m_client->write(data);
}

void ClientConnection::resetExchange()
{
    m_request.reset();
    m_response.reset();
    m_responseScanner.reset();
    m_responseBuffer.clear();
    m_requestDone = false;
    m_responseHeadDone = false;
    m_keepClient = false;
    m_inject.clear();
    m_secrets.clear();
    m_masker = Masker();
    m_rechunkMasked = false;
    m_addresses.clear();
    m_addressIndex = 0;
    m_lastConnectError.clear();
    m_decision = Decision{};
    m_rules.reset();
    m_target = Target{};
}

void ClientConnection::finishExchange()
{
    if (m_masker.active())
        m_client->write(m_masker.flush());
    closeRecord();
    dropUpstream();
    const bool keep = m_keepClient && m_requestDone;
    resetExchange();
    if (!keep) {
        closeAfterFlush();
        return;
    }
    m_state = State::Head;
    armTimer(m_in.isEmpty() ? m_engine->limits().idleTimeoutMs : m_engine->limits().headTimeoutMs);
    m_client->setReading(true);
    if (!m_in.isEmpty())
        readHead();
}

void ClientConnection::failExchange(const QString &message, int status)
{
    if (m_record.error.isEmpty())
        m_record.error = message;
    if (!m_responseHeadDone) {
        answerAndClose(status, message);
        return;
    }
    // Part of the response is already on its way: the only honest signal left is cutting it off.
    abort(message);
}

} // namespace airlock::egress
