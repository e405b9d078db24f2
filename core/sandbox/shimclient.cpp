#include "shimclient.h"

#include <QLocalSocket>
#include <QLoggingCategory>
#include <QPointer>
#include <QPromise>
#include <QTimer>

#include <unistd.h>

Q_LOGGING_CATEGORY(lcShim, "airlock.sandbox.shim", QtWarningMsg)

namespace airlock::sandbox {

using wire::FrameType;

namespace {

constexpr qsizetype ReadChunk = 64 * 1024;
constexpr qsizetype StdinChunk = 256 * 1024;
constexpr qsizetype InlineStdinLimit = 256 * 1024;

bool isTerminal(FrameType type)
{
    switch (type) {
    case FrameType::Ok:
    case FrameType::Error:
    case FrameType::Exit:
    case FrameType::HelloOk:
    case FrameType::Pong:
        return true;
    default:
        return false;
    }
}

template<typename T>
void settle(QPromise<Result<T>> &promise, Result<T> value)
{
    promise.addResult(std::move(value));
    promise.finish();
}

// For requests whose only answer is an empty Ok.
bool expectOk(const Frame &frame, std::optional<Result<void>> &out)
{
    if (frame.type != FrameType::Ok)
        return false;
    out = Result<void>();
    return true;
}

} // namespace

ShimClient::ShimClient(QObject *parent)
    : QObject(parent), m_socket(new QLocalSocket(this)), m_negotiationTimer(new QTimer(this)),
      m_tunnels(std::make_unique<ShimTunnels>(
          [this](FrameType type, quint32 id, QByteArrayView body) { sendFrame(type, id, body); }))
{
    m_negotiationTimer->setSingleShot(true);
    connect(m_socket, &QLocalSocket::connected, this, &ShimClient::onConnected);
    connect(m_socket, &QLocalSocket::readyRead, this, &ShimClient::onReadyRead);
    connect(m_socket, &QLocalSocket::disconnected, this, [this] {
        closeWith(Error{ErrorCode::Io, QStringLiteral("the connection to the shim closed")});
    });
    connect(m_socket, &QLocalSocket::errorOccurred, this, [this](QLocalSocket::LocalSocketError) {
        // Errors on an established connection end in disconnected(); only a failed connect is ours.
        if (m_state != State::Connecting)
            return;
        const Error error{ErrorCode::Io, QStringLiteral("cannot connect to the shim at %1: %2")
                                             .arg(m_socketPath, m_socket->errorString())};
        Q_EMIT errorOccurred(error);
        closeWith(error);
    });
    connect(m_negotiationTimer, &QTimer::timeout, this, [this] {
        protocolFailure(Error{ErrorCode::Io, QStringLiteral("the shim at %1 did not answer hello").arg(m_socketPath)});
    });
}

ShimClient::~ShimClient()
{
    m_destroying = true;
    disconnect(m_socket, nullptr, this, nullptr);
    m_tunnels.reset();
    abortAll(Error{ErrorCode::Cancelled, QStringLiteral("the shim client was destroyed")});
}

void ShimClient::connectToShim(const QString &socketPath, int timeoutMs)
{
    disconnectFromShim();
    m_socketPath = socketPath;
    m_decoder.reset();
    m_state = State::Connecting;
    m_negotiationTimer->start(timeoutMs);
    m_socket->connectToServer(socketPath);
}

void ShimClient::useConnection(qintptr fd, const QString &from, int timeoutMs)
{
    disconnectFromShim();
    m_socketPath = from;
    m_decoder.reset();
    m_state = State::Connecting;
    m_negotiationTimer->start(timeoutMs);
    if (!m_socket->setSocketDescriptor(fd)) {
        ::close(int(fd));
        const Error error{ErrorCode::Io, QStringLiteral("cannot use the shim's connection from %1: %2").arg(from, m_socket->errorString())};
        Q_EMIT errorOccurred(error);
        closeWith(error);
        return;
    }
    onConnected(); // already connected: no connected() will come
}

void ShimClient::disconnectFromShim()
{
    closeWith(Error{ErrorCode::Cancelled, QStringLiteral("disconnected from the shim")});
}

void ShimClient::onConnected()
{
    if (m_state != State::Connecting)
        return;
    m_state = State::Negotiating;
    const quint32 id = nextId();
    m_pending.emplace(id, Pending{[this](const Frame &frame) { return onHelloAnswer(frame); }, [](const Error &) {}});
    sendFrame(FrameType::Hello, id,
              encodeHello(wire::MinProtocolVersion, wire::ProtocolVersion, {QLatin1String(wire::TunnelCapability)}));
}

bool ShimClient::onHelloAnswer(const Frame &frame)
{
    if (frame.type == FrameType::Error) {
        const Error error = toError(decodeFailure(frame.body));
        Q_EMIT errorOccurred(error);
        closeWith(error);
        return true;
    }
    if (frame.type != FrameType::HelloOk)
        return false;
    Result<HelloInfo> info = decodeHelloOk(frame.body);
    if (!info) {
        protocolFailure(info.error());
        return true;
    }
    m_info = std::move(*info);
    m_state = State::Ready;
    m_negotiationTimer->stop();
    Q_EMIT ready();
    return true;
}

void ShimClient::onReadyRead()
{
    QPointer<ShimClient> self(this);
    while (m_state != State::Idle && m_socket->bytesAvailable() > 0) {
        const QByteArray chunk = m_socket->read(ReadChunk);
        if (chunk.isEmpty())
            return;
        m_decoder.feed(chunk);
        for (;;) {
            Result<std::optional<Frame>> next = m_decoder.next();
            if (!next) {
                protocolFailure(next.error());
                return;
            }
            if (!next->has_value())
                break;
            handleFrame(**next);
            if (!self || m_state == State::Idle)
                return;
        }
    }
}

void ShimClient::handleFrame(const Frame &frame)
{
    if (isTunnelFrame(frame.type)) {
        // Streams are opened only on a negotiated connection that offered to take them.
        if (m_state != State::Ready) {
            protocolFailure(protocolError(QStringLiteral("a tunnel frame before hello")));
            return;
        }
        if (const Result<void> handled = m_tunnels->handleFrame(frame); !handled)
            protocolFailure(handled.error());
        return;
    }
    if (frame.id == 0) {
        // About the connection as a whole: the shim refuses our stream and is about to close it.
        protocolFailure(frame.type == FrameType::Error ? toError(decodeFailure(frame.body))
                                                       : protocolError(QStringLiteral("a frame without a request id")));
        return;
    }
    auto it = m_pending.find(frame.id);
    if (it == m_pending.end()) {
        protocolFailure(protocolError(QStringLiteral("a %1 frame for request %2, which is not pending")
                                          .arg(frameTypeName(frame.type))
                                          .arg(frame.id)));
        return;
    }
    bool understood = false;
    if (isTerminal(frame.type)) {
        const Pending pending = std::move(it->second);
        m_pending.erase(it);
        understood = pending.onFrame(frame);
    } else {
        // A copy: the handler may start or end requests, which changes m_pending under it.
        const auto handler = it->second.onFrame;
        understood = handler(frame);
    }
    if (!understood) {
        protocolFailure(protocolError(QStringLiteral("an unexpected %1 frame for request %2")
                                          .arg(frameTypeName(frame.type))
                                          .arg(frame.id)));
    }
}

void ShimClient::protocolFailure(const Error &error)
{
    if (m_state == State::Idle)
        return;
    qCWarning(lcShim) << error.message;
    Q_EMIT errorOccurred(error);
    closeWith(error);
}

void ShimClient::closeWith(const Error &error)
{
    if (m_state == State::Idle)
        return;
    const bool wasConnected = m_state != State::Connecting;
    m_state = State::Idle;
    m_negotiationTimer->stop();
    m_socket->abort();
    m_tunnels->closeAll();
    abortAll(error);
    if (wasConnected && !m_destroying)
        Q_EMIT disconnected();
}

void ShimClient::abortAll(const Error &error)
{
    auto pending = std::move(m_pending);
    m_pending.clear();
    for (auto &entry : pending)
        entry.second.onAbort(error);
}

quint32 ShimClient::nextId()
{
    // Below wire::TunnelIdBit: ids with it set are the shim's tunnel streams.
    do {
        m_lastId = (m_lastId + 1) & ~wire::TunnelIdBit;
    } while (m_lastId == 0 || m_pending.contains(m_lastId));
    return m_lastId;
}

void ShimClient::setTunnelTarget(const QString &unixSocketPath)
{
    m_tunnels->setTarget(unixSocketPath);
}

TunnelStats ShimClient::tunnelStats() const
{
    return m_tunnels->stats();
}

bool ShimClient::sendFrame(FrameType type, quint32 id, QByteArrayView body)
{
    const std::optional<QByteArray> frame = encodeFrame(type, id, body);
    if (!frame || m_state == State::Idle)
        return false;
    return m_socket->write(*frame) == frame->size();
}

Error ShimClient::protocolError(const QString &what)
{
    return Error{ErrorCode::Io, QStringLiteral("the shim broke the protocol: ") + what};
}

Error ShimClient::notReady() const
{
    return Error{ErrorCode::Io, QStringLiteral("not connected to a shim")};
}

template<typename T>
QFuture<Result<T>> ShimClient::failedFuture(const Error &error)
{
    QPromise<Result<T>> promise;
    QFuture<Result<T>> future = promise.future();
    promise.start();
    settle(promise, Result<T>(std::unexpected(error)));
    return future;
}

template<typename T>
QFuture<Result<T>> ShimClient::call(FrameType type, const QByteArray &body,
                                    std::function<bool(const Frame &, std::optional<Result<T>> &)> handle)
{
    if (m_state != State::Ready)
        return failedFuture<T>(notReady());
    if (body.size() > static_cast<qsizetype>(wire::MaxBodySize))
        return failedFuture<T>(Error{ErrorCode::InvalidArgument, QStringLiteral("the request does not fit in one frame")});
    auto promise = std::make_shared<QPromise<Result<T>>>();
    QFuture<Result<T>> future = promise->future();
    promise->start();
    const quint32 id = nextId();
    m_pending.emplace(id, Pending{[promise, handle](const Frame &frame) {
                                      std::optional<Result<T>> out;
                                      if (frame.type == FrameType::Error)
                                          out = Result<T>(std::unexpected(toError(decodeFailure(frame.body))));
                                      else if (!handle(frame, out))
                                          return false;
                                      if (out)
                                          settle(*promise, std::move(*out));
                                      return true;
                                  },
                                  [promise](const Error &error) {
                                      settle(*promise, Result<T>(std::unexpected(error)));
                                  }});
    sendFrame(type, id, body);
    return future;
}

// shimclientfiles.cpp uses these without seeing their definitions.
template QFuture<Result<quint64>> ShimClient::failedFuture<quint64>(const Error &);
template QFuture<Result<QByteArray>> ShimClient::call<QByteArray>(
    FrameType, const QByteArray &, std::function<bool(const Frame &, std::optional<Result<QByteArray>> &)>);
template QFuture<Result<DirListing>> ShimClient::call<DirListing>(
    FrameType, const QByteArray &, std::function<bool(const Frame &, std::optional<Result<DirListing>> &)>);
template QFuture<Result<FileStat>> ShimClient::call<FileStat>(
    FrameType, const QByteArray &, std::function<bool(const Frame &, std::optional<Result<FileStat>> &)>);

Result<quint32> ShimClient::exec(const ExecRequest &request)
{
    if (m_state != State::Ready)
        return std::unexpected(notReady());
    if (request.argv.isEmpty() || request.argv.constFirst().isEmpty())
        return fail(ErrorCode::InvalidArgument, QStringLiteral("exec needs a program"));
    ExecRequest onWire = request;
    std::optional<QByteArray> streamed;
    if (request.stdinData && request.stdinData->size() > InlineStdinLimit) {
        streamed = std::move(onWire.stdinData);
        onWire.stdinData.reset();
        onWire.streamStdin = true;
    }
    const QByteArray body = encodeExec(onWire);
    if (body.size() > static_cast<qsizetype>(wire::MaxBodySize))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("argv and env of this exec do not fit in one frame (1 MiB)"));

    const quint32 id = nextId();
    auto state = std::make_shared<ExecState>(ExecState{id, request.outputCap.value_or(wire::DefaultOutputCap)});
    m_pending.emplace(id, Pending{[this, state](const Frame &frame) { return onExecFrame(*state, frame); },
                                  [this, id](const Error &error) {
                                      if (!m_destroying)
                                          Q_EMIT execFailed(id, error);
                                  }});
    sendFrame(FrameType::Exec, id, body);
    if (streamed) {
        writeStdin(id, *streamed);
        if (!request.streamStdin)
            closeStdin(id);
    }
    return id;
}

bool ShimClient::onExecFrame(ExecState &exec, const Frame &frame)
{
    switch (frame.type) {
    case FrameType::ExecStarted: {
        const Result<qint64> pid = decodeExecStarted(frame.body);
        if (!pid)
            protocolFailure(pid.error());
        else
            Q_EMIT execStarted(exec.id, *pid);
        return true;
    }
    case FrameType::Stdout:
    case FrameType::Stderr:
        // The shim promises the cap; a shim that breaks the promise is not believed further.
        exec.received += static_cast<quint64>(frame.body.size());
        if (exec.received > exec.cap)
            protocolFailure(protocolError(QStringLiteral("output beyond the cap")));
        else if (frame.type == FrameType::Stdout)
            Q_EMIT stdoutReceived(exec.id, frame.body);
        else
            Q_EMIT stderrReceived(exec.id, frame.body);
        return true;
    case FrameType::StdoutClosed:
        Q_EMIT stdoutClosed(exec.id);
        return true;
    case FrameType::Exit: {
        const Result<ExitStatus> status = decodeExit(frame.body);
        if (status) {
            Q_EMIT execFinished(exec.id, *status);
        } else {
            Q_EMIT execFailed(exec.id, status.error());
            protocolFailure(status.error());
        }
        return true;
    }
    case FrameType::Error:
        Q_EMIT execFailed(exec.id, toError(decodeFailure(frame.body)));
        return true;
    default:
        return false;
    }
}

void ShimClient::writeStdin(quint32 execId, QByteArrayView data)
{
    for (qsizetype offset = 0; offset < data.size(); offset += StdinChunk)
        sendFrame(FrameType::StdinData, execId, data.sliced(offset, std::min(StdinChunk, data.size() - offset)));
}

void ShimClient::closeStdin(quint32 execId)
{
    sendFrame(FrameType::StdinClose, execId, {});
}

QFuture<Result<void>> ShimClient::kill(quint32 execId, int signal, int graceMs)
{
    return call<void>(FrameType::Kill, encodeKill(execId, signal, graceMs), expectOk);
}

QFuture<Result<QByteArray>> ShimClient::ping(const QByteArray &payload)
{
    return call<QByteArray>(FrameType::Ping, payload,
                            [payload](const Frame &frame, std::optional<Result<QByteArray>> &out) {
                                if (frame.type != FrameType::Pong)
                                    return false;
                                if (frame.body != payload)
                                    out = Result<QByteArray>(std::unexpected(protocolError(QStringLiteral("ping echo differs"))));
                                else
                                    out = frame.body;
                                return true;
                            });
}

QFuture<Result<void>> ShimClient::shutdown(int graceMs)
{
    return call<void>(FrameType::Shutdown, encodeShutdown(graceMs), expectOk);
}

} // namespace airlock::sandbox
