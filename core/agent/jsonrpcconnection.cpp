#include "jsonrpcconnection.h"

#include "rpcresponderstate.h"

#include <QIODevice>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QTimer>

Q_LOGGING_CATEGORY(lcRpc, "airlock.agent.rpc", QtWarningMsg)

namespace airlock::agent {

namespace {
constexpr qsizetype kReadChunk = 256 * 1024;
} // namespace

JsonRpcConnection::JsonRpcConnection(QObject *parent) : QObject(parent)
{
    m_lastActivity.start();
}

JsonRpcConnection::~JsonRpcConnection()
{
    // Handlers must not run against a half-destroyed object; they learn nothing more.
    m_closed = true;
    for (auto &[id, call] : m_calls)
        delete call.timer;
    m_calls.clear();
}

void JsonRpcConnection::setDevice(QIODevice *device)
{
    if (m_device)
        disconnect(m_device, nullptr, this, nullptr);
    m_device = device;
    if (!device)
        return;
    m_writer = [this](const QByteArray &bytes) {
        QIODevice *d = m_device.data();
        return d && d->write(bytes) == bytes.size();
    };
    m_backlog = [this]() -> qint64 {
        QIODevice *d = m_device.data();
        return d ? d->bytesToWrite() : 0;
    };
    connect(device, &QIODevice::readyRead, this, &JsonRpcConnection::onReadyRead);
    connect(device, &QIODevice::readChannelFinished, this, [this] {
        onReadyRead();
        finishInput(Error{ErrorCode::Io, QStringLiteral("%1 closed the connection").arg(m_peer)});
    });
    if (device->bytesAvailable() > 0)
        QTimer::singleShot(0, this, &JsonRpcConnection::onReadyRead);
}

void JsonRpcConnection::setWriter(Writer writer, std::function<qint64()> backlog)
{
    m_writer = std::move(writer);
    m_backlog = std::move(backlog);
}

void JsonRpcConnection::onReadyRead()
{
    QPointer<JsonRpcConnection> self(this);
    while (self && m_device && !m_closed && m_device->bytesAvailable() > 0) {
        const QByteArray chunk = m_device->read(kReadChunk);
        if (chunk.isEmpty())
            break;
        receive(chunk);
    }
}

void JsonRpcConnection::receive(QByteArrayView data)
{
    QPointer<JsonRpcConnection> self(this);
    const qsizetype cap = m_limits.maxMessageBytes;
    while (!data.isEmpty() && self && !m_closed) {
        const qsizetype nl = data.indexOf('\n');
        if (m_discarding) {
            if (nl < 0) {
                m_discardedBytes += data.size();
                return;
            }
            m_discardedBytes += nl;
            qCInfo(lcRpc) << "dropped an oversized message of" << m_discardedBytes << "bytes";
            m_discarding = false;
            m_discardedBytes = 0;
            data = data.sliced(nl + 1);
            continue;
        }
        const QByteArrayView piece = nl < 0 ? data : data.first(nl);
        if (m_buffer.size() + piece.size() > cap) {
            const qsizetype seen = m_buffer.size() + piece.size();
            m_buffer = QByteArray(); // give the memory back, not just the length
            reportOversize(seen);
            if (!self || m_closed)
                return;
            if (nl < 0) {
                m_discarding = true;
                m_discardedBytes = seen;
                return;
            }
            data = data.sliced(nl + 1);
            continue;
        }
        if (nl < 0) {
            m_buffer.append(piece);
            return;
        }
        if (m_buffer.isEmpty()) {
            handleLine(piece);
        } else {
            m_buffer.append(piece);
            const QByteArray line = std::exchange(m_buffer, QByteArray());
            handleLine(line);
        }
        data = data.sliced(nl + 1);
    }
}

void JsonRpcConnection::finishInput(const Error &reason)
{
    if (m_closed)
        return;
    QPointer<JsonRpcConnection> self(this);
    if (!m_buffer.isEmpty()) {
        // A last line without its newline is still a message if it parses; otherwise the peer
        // stopped in the middle of one (a crash, typically).
        const QByteArray line = std::exchange(m_buffer, QByteArray());
        auto parsed = parseRpcMessage(line);
        if (parsed) {
            ++m_received;
            handleMessage(std::move(*parsed));
        } else {
            ++m_rejected;
            Q_EMIT protocolError(protocolErrorFor(QStringLiteral("%1 stopped in the middle of a message (%2 "
                                                                 "received)")
                                                      .arg(m_peer, formatBytes(line.size()))));
        }
        if (!self)
            return;
    }
    m_discarding = false;
    close(reason.message.isEmpty() ? Error{ErrorCode::Io, QStringLiteral("%1 closed the connection").arg(m_peer)}
                                   : reason);
}

void JsonRpcConnection::close(const Error &reason)
{
    if (m_closed)
        return;
    m_closed = true;
    m_closeReason = reason;
    m_buffer = QByteArray();
    QPointer<JsonRpcConnection> self(this);
    auto calls = std::exchange(m_calls, {});
    for (auto &[id, call] : calls) {
        delete call.timer;
        call.timer = nullptr;
    }
    for (auto &[id, call] : calls) {
        if (call.handler)
            call.handler(std::unexpected(RpcError{rpc::ConnectionClosed, reason.message, {}, true}));
        if (!self)
            return;
    }
    // Incoming requests can no longer be answered; their responders see a closed connection.
    m_incoming.clear();
    Q_EMIT closed(reason);
}

qint64 JsonRpcConnection::call(const QString &method, const QJsonValue &params, ResponseHandler handler,
                               CallOptions options)
{
    auto failNow = [&](const QString &why) -> qint64 {
        if (handler)
            handler(std::unexpected(RpcError{rpc::SendFailed, why, {}, true}));
        return 0;
    };
    if (m_closed)
        return failNow(m_closeReason.message.isEmpty() ? QStringLiteral("the connection is closed")
                                                       : m_closeReason.message);
    const qint64 id = m_nextId++;
    const QByteArray bytes = encodeRequest(id, method, params);
    if (bytes.size() > m_limits.maxMessageBytes + 1)
        return failNow(QStringLiteral("the request is %1, over the %2 message limit")
                           .arg(formatBytes(bytes.size()), formatBytes(m_limits.maxMessageBytes)));
    Call c{std::move(handler), method, nullptr, options};
    if (options.timeoutMs > 0) {
        c.timer = new QTimer(this);
        c.timer->setSingleShot(true);
        c.timer->setInterval(options.timeoutMs);
        connect(c.timer, &QTimer::timeout, this, [this, id] { onCallTimeout(id); });
        if (!options.idleTimeout || pendingIncoming() == 0)
            c.timer->start();
    }
    m_calls.emplace(id, std::move(c));
    if (!send(bytes)) {
        if (auto it = m_calls.find(id); it != m_calls.end()) {
            delete it->second.timer;
            handler = std::move(it->second.handler);
            m_calls.erase(it);
        }
        return failNow(QStringLiteral("%1 is not reading its input").arg(m_peer));
    }
    return id;
}

bool JsonRpcConnection::notify(const QString &method, const QJsonValue &params)
{
    if (m_closed)
        return false;
    const QByteArray bytes = encodeNotification(method, params);
    if (bytes.size() > m_limits.maxMessageBytes + 1) {
        qCWarning(lcRpc) << "not sending" << method << "of" << bytes.size() << "bytes: over the limit";
        return false;
    }
    return send(bytes);
}

bool JsonRpcConnection::cancelCall(qint64 id)
{
    if (m_calls.find(id) == m_calls.end())
        return false;
    return notify(QString::fromLatin1(rpc::CancelRequestMethod), QJsonObject{{QStringLiteral("requestId"), double(id)}});
}

void JsonRpcConnection::handleRequest(const QString &method, RequestHandler handler)
{
    m_requestHandlers.insert(method, std::move(handler));
}

void JsonRpcConnection::handleNotification(const QString &method, NotificationHandler handler)
{
    m_notificationHandlers.insert(method, std::move(handler));
}

int JsonRpcConnection::pendingIncoming() const
{
    return int(m_incoming.size());
}

bool JsonRpcConnection::send(const QByteArray &bytes)
{
    if (m_closed || !m_writer)
        return false;
    if (m_backlog && m_backlog() > m_limits.maxWriteBacklog) {
        qCWarning(lcRpc) << m_peer << "is not reading its input; a message was not sent";
        return false;
    }
    return m_writer(bytes);
}

void JsonRpcConnection::handleLine(QByteArrayView line)
{
    if (line.endsWith('\r'))
        line.chop(1);
    if (line.trimmed().isEmpty())
        return; // blank lines carry nothing and harm nothing
    auto parsed = parseRpcMessage(line);
    if (!parsed) {
        reject(QStringLiteral("%1 sent a message Airlock cannot read").arg(m_peer), parsed.error());
        return;
    }
    ++m_received;
    peerActive();
    handleMessage(std::move(*parsed));
}

void JsonRpcConnection::reject(const QString &what, const RpcParseFailure &failure)
{
    ++m_rejected;
    if (failure.answerable)
        send(encodeError(failure.id, failure.error));
    Q_EMIT protocolError(protocolErrorFor(QStringLiteral("%1: %2").arg(what, failure.error.message)));
}

void JsonRpcConnection::reportOversize(qsizetype atLeast)
{
    ++m_rejected;
    const QString limit = formatBytes(m_limits.maxMessageBytes);
    send(encodeError(RpcId{}, RpcError{rpc::InvalidRequest,
                                       QStringLiteral("Invalid request: a message over the %1 limit was dropped")
                                           .arg(limit),
                                       {}, false}));
    const Error e = protocolErrorFor(
        QStringLiteral("%1 sent a message larger than the %2 limit (%3 so far); it was dropped")
            .arg(m_peer, limit, formatBytes(atLeast)));
    QPointer<JsonRpcConnection> self(this);
    Q_EMIT protocolError(e);
    if (self && m_limits.closeOnOversize)
        close(e);
}

Error JsonRpcConnection::protocolErrorFor(const QString &what) const
{
    return Error{ErrorCode::Io, what};
}

void JsonRpcConnection::handleMessage(RpcMessage &&m)
{
    switch (m.type) {
    case RpcMessage::Type::Response:
        handleResponse(std::move(m));
        return;
    case RpcMessage::Type::Request:
        handleRequestMessage(std::move(m));
        return;
    case RpcMessage::Type::Notification:
        break;
    }
    if (m.method == QLatin1String(rpc::CancelRequestMethod)) {
        handleCancelRequest(m.params);
        return;
    }
    auto it = m_notificationHandlers.constFind(m.method);
    if (it == m_notificationHandlers.constEnd()) {
        // Notifications are never answered; "$/" and "_" ones are optional by convention.
        qCDebug(lcRpc) << "ignoring notification" << m.method;
        return;
    }
    const NotificationHandler handler = it.value(); // the handler may replace itself
    handler(m.params);
}

void JsonRpcConnection::handleResponse(RpcMessage &&m)
{
    const qint64 *id = std::get_if<qint64>(&m.id.value);
    if (m.id.isNull() && m.error) {
        // The peer could not read something we sent; there is no call to fail.
        Q_EMIT protocolError(protocolErrorFor(QStringLiteral("%1 could not read a message from Airlock: %2")
                                                  .arg(m_peer, m.error->message)));
        return;
    }
    if (!id || m_calls.find(*id) == m_calls.end()) {
        if (id && *id > 0 && *id < m_nextId) {
            qCDebug(lcRpc) << "late answer to call" << *id << "ignored";
            return; // the call timed out or was answered twice; not worth an alarm
        }
        ++m_rejected;
        Q_EMIT protocolError(protocolErrorFor(QStringLiteral("%1 answered a request Airlock never sent (id %2)")
                                                  .arg(m_peer, m.id.key())));
        return;
    }
    if (m.error)
        finishCall(*id, std::unexpected(*m.error));
    else
        finishCall(*id, m.result);
}

void JsonRpcConnection::finishCall(qint64 id, const RpcResult &result)
{
    auto it = m_calls.find(id);
    if (it == m_calls.end())
        return;
    Call c = std::move(it->second);
    m_calls.erase(it);
    delete c.timer;
    if (c.handler)
        c.handler(result);
}

void JsonRpcConnection::onCallTimeout(qint64 id)
{
    auto it = m_calls.find(id);
    if (it == m_calls.end())
        return;
    Call &c = it->second;
    if (c.options.idleTimeout) {
        const qint64 quiet = m_lastActivity.elapsed();
        if (quiet < c.options.timeoutMs) {
            c.timer->start(int(c.options.timeoutMs - quiet));
            return;
        }
    }
    const int ms = c.options.timeoutMs;
    cancelCall(id);
    const QString how = c.options.idleTimeout ? QStringLiteral("has been silent for") : QStringLiteral("did not answer within");
    finishCall(id, std::unexpected(RpcError{rpc::TimedOut,
                                            QStringLiteral("%1 %2 %3 s").arg(m_peer, how).arg(ms / 1000.0),
                                            {}, true}));
}

void JsonRpcConnection::peerActive()
{
    m_lastActivity.restart();
}

void JsonRpcConnection::setIdleTimersRunning(bool running)
{
    m_lastActivity.restart();
    for (auto &[id, c] : m_calls) {
        if (!c.timer || !c.options.idleTimeout)
            continue;
        if (running)
            c.timer->start(c.options.timeoutMs);
        else
            c.timer->stop();
    }
}

void JsonRpcConnection::handleRequestMessage(RpcMessage &&m)
{
    const QString key = m.id.key();
    auto fail = [&](int code, const QString &message) {
        ++m_rejected;
        send(encodeError(m.id, RpcError{code, message, {}, false}));
    };
    if (m_incoming.contains(key)) {
        fail(rpc::InvalidRequest, QStringLiteral("Invalid request: id %1 is still in use by an earlier request").arg(key));
        Q_EMIT protocolError(protocolErrorFor(QStringLiteral("%1 reused the id %2 of a request still in progress")
                                                  .arg(m_peer, key)));
        return;
    }
    auto it = m_requestHandlers.constFind(m.method);
    if (it == m_requestHandlers.constEnd()) {
        fail(rpc::MethodNotFound, QStringLiteral("Method not found: %1").arg(m.method));
        Q_EMIT protocolError(protocolErrorFor(QStringLiteral("%1 called %2, which Airlock does not offer")
                                                  .arg(m_peer, m.method.left(200))));
        return;
    }
    if (pendingIncoming() >= m_limits.maxPendingIncoming) {
        fail(rpc::InternalError, QStringLiteral("Internal error: too many requests in progress (limit %1)")
                                     .arg(m_limits.maxPendingIncoming));
        Q_EMIT protocolError(protocolErrorFor(QStringLiteral("%1 has more than %2 requests in progress; %3 was refused")
                                                  .arg(m_peer).arg(m_limits.maxPendingIncoming).arg(m.method)));
        return;
    }
    auto state = std::make_shared<RpcResponder::State>();
    state->connection = this;
    state->id = m.id;
    state->key = key;
    state->method = m.method;
    const bool firstPending = m_incoming.isEmpty();
    m_incoming.insert(key, state);
    if (firstPending)
        setIdleTimersRunning(false); // the peer is waiting for us now, its silence means nothing
    const RequestHandler handler = it.value();
    handler(m.params, RpcResponder(std::move(state)));
}

void JsonRpcConnection::incomingAnswered(const QString &key)
{
    if (m_incoming.remove(key) && m_incoming.isEmpty() && !m_closed)
        setIdleTimersRunning(true);
}

void JsonRpcConnection::handleCancelRequest(const QJsonValue &params)
{
    bool ok = false;
    const RpcId id = RpcId::fromJson(params.toObject().value(QLatin1String("requestId")), &ok);
    if (!ok || id.isNull())
        return; // a notification cannot be answered, and a bad cancel harms nothing
    auto it = m_incoming.constFind(id.key());
    if (it == m_incoming.constEnd())
        return; // already answered: the normal race
    auto state = it.value().lock();
    if (!state || state->answered || state->cancelled)
        return;
    state->cancelled = true;
    if (auto callback = std::move(state->onCancelled))
        callback();
}

} // namespace airlock::agent
