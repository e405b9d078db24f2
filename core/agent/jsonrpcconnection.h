#pragma once

#include "jsonrpc.h"

#include <QHash>
#include <QObject>
#include <QElapsedTimer>
#include <QPointer>

#include <functional>
#include <memory>
#include <unordered_map>

class QIODevice;
class QTimer;

namespace airlock::agent {

class JsonRpcConnection;

// The answer to one request the peer sent. Copies share one state; the first respond*() wins and
// the rest are ignored, as are answers after the connection closed. If every copy is dropped without
// an answer, the peer gets an internal error, so a forgotten request never hangs the peer.
class RpcResponder
{
public:
    RpcResponder() = default;

    const QString &method() const;
    RpcId id() const;
    bool isPending() const;   // not answered yet and the connection is open
    bool isCancelled() const; // the peer sent $/cancel_request for it
    // Called once, when the peer cancels; the handler should then answer (respondCancelled()).
    void onCancelled(std::function<void()> callback) const;

    void respond(const QJsonValue &result) const;
    void respondError(const RpcError &error) const;
    void respondError(int code, const QString &message, const QJsonValue &data = {}) const;
    void respondCancelled() const;

private:
    friend class JsonRpcConnection;
    struct State;
    explicit RpcResponder(std::shared_ptr<State> state) : m_state(std::move(state)) {}
    static void answer(State &state, const QByteArray &bytes);
    std::shared_ptr<State> m_state;
};

struct RpcLimits {
    qsizetype maxMessageBytes = 16 * 1024 * 1024; // one line, either direction
    int maxPendingIncoming = 256;                 // requests from the peer awaiting our answer
    qsizetype maxWriteBacklog = 64 * 1024 * 1024; // bytes written but not yet taken by the peer
    bool closeOnOversize = false;                 // drop the line (default) or end the connection
};
struct RpcCallOptions {
    int timeoutMs = 0;          // 0: wait as long as the connection lives
    // The timeout counts silence rather than total time: any message from the peer restarts it,
    // and it stands still while the peer waits for our answer to one of its requests.
    bool idleTimeout = false;
};

// JSON-RPC 2.0 over a byte stream of newline-delimited messages, on the thread it lives in.
//
// Each side numbers its own requests, so the peer's request 1 and ours never meet: outgoing calls
// are matched by our integer ids, incoming requests are keyed by the peer's id as given.
//
// Everything the peer sends is judged before it is believed: a line that is not JSON gets a parse
// error, a malformed message an invalid-request error, an unknown method method-not-found, a line
// longer than the size cap is dropped as it streams in (never buffered past the cap) and reported.
// None of these end the connection; protocolError() reports each one.
class JsonRpcConnection : public QObject
{
    Q_OBJECT
public:
    using Limits = RpcLimits;
    using CallOptions = RpcCallOptions;
    using ResponseHandler = std::function<void(const RpcResult &)>;
    using RequestHandler = std::function<void(const QJsonValue &params, const RpcResponder &responder)>;
    using NotificationHandler = std::function<void(const QJsonValue &params)>;

    explicit JsonRpcConnection(QObject *parent = nullptr);
    ~JsonRpcConnection() override;

    void setLimits(const Limits &limits) { m_limits = limits; }
    const Limits &limits() const { return m_limits; }
    // How messages name the other side: "the agent" by default.
    void setPeerName(const QString &name) { m_peer = name; }
    const QString &peerName() const { return m_peer; }

    // Transport. Either a device (read on readyRead, written with write(); not owned), or bytes fed
    // with receive() and a writer for ours (for pipes owned elsewhere, such as a sandboxed exec).
    void setDevice(QIODevice *device);
    using Writer = std::function<bool(const QByteArray &bytes)>;
    void setWriter(Writer writer, std::function<qint64()> backlog = {});
    void receive(QByteArrayView bytes);
    // The peer closed its side: a last unterminated line is still read, then the connection closes.
    void finishInput(const Error &reason = {ErrorCode::Io, {}});
    // Fails every pending call with reason and answers nothing more. Idempotent.
    void close(const Error &reason);
    bool isOpen() const { return !m_closed; }
    const Error &closeReason() const { return m_closeReason; }

    // Returns the id, or 0 when the call could not be sent (the handler has then been called with
    // the reason, synchronously).
    qint64 call(const QString &method, const QJsonValue &params, ResponseHandler handler,
                CallOptions options = {});
    bool notify(const QString &method, const QJsonValue &params = {});
    // Tells the peer to stop working on a call ($/cancel_request). The call stays pending: the peer
    // answers it, usually with a RequestCancelled error.
    bool cancelCall(qint64 id);
    int pendingCalls() const { return int(m_calls.size()); }

    void handleRequest(const QString &method, RequestHandler handler);
    void handleNotification(const QString &method, NotificationHandler handler);
    int pendingIncoming() const;
    // How long the peer has said nothing while we owe it no answer: 0 while one of its requests
    // waits for ours, else the time since its last message (or since the last answer we gave it).
    qint64 silentForMs() const { return m_incoming.isEmpty() ? m_lastActivity.elapsed() : 0; }

    // Bytes held for a line that has not ended yet; never more than maxMessageBytes.
    qsizetype bufferedBytes() const { return m_buffer.size(); }
    quint64 messagesReceived() const { return m_received; }
    quint64 messagesRejected() const { return m_rejected; }

Q_SIGNALS:
    // Something the peer sent broke the protocol; the connection goes on unless closed() follows.
    void protocolError(const airlock::Error &error);
    void closed(const airlock::Error &reason);

private:
    friend class RpcResponder;
    struct Call {
        ResponseHandler handler;
        QString method;
        QTimer *timer = nullptr;
        CallOptions options;
    };

    void onReadyRead();
    void handleLine(QByteArrayView line);
    void handleMessage(RpcMessage &&message);
    void handleResponse(RpcMessage &&message);
    void handleRequestMessage(RpcMessage &&message);
    void handleCancelRequest(const QJsonValue &params);
    void reportOversize(qsizetype atLeast);
    void reject(const QString &what, const RpcParseFailure &failure);
    bool send(const QByteArray &bytes);
    void finishCall(qint64 id, const RpcResult &result);
    void onCallTimeout(qint64 id);
    void peerActive();
    void setIdleTimersRunning(bool running);
    void incomingAnswered(const QString &key);
    Error protocolErrorFor(const QString &what) const;

    Limits m_limits;
    QString m_peer = QStringLiteral("the agent");
    QPointer<QIODevice> m_device;
    Writer m_writer;
    std::function<qint64()> m_backlog;

    QByteArray m_buffer;
    bool m_discarding = false; // inside a line that broke the size cap
    qsizetype m_discardedBytes = 0;
    bool m_closed = false;
    Error m_closeReason;

    qint64 m_nextId = 1;
    std::unordered_map<qint64, Call> m_calls;
    QHash<QString, RequestHandler> m_requestHandlers;
    QHash<QString, NotificationHandler> m_notificationHandlers;
    QHash<QString, std::weak_ptr<RpcResponder::State>> m_incoming;

    QElapsedTimer m_lastActivity;
    quint64 m_received = 0;
    quint64 m_rejected = 0;
};

} // namespace airlock::agent
