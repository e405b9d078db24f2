#include "docker/httpconnection.h"

#include "docker/dockerclient.h"
#include "docker/dockererrors.h"

#include <QDir>
#include <QFile>
#include <QLocalSocket>
#include <QProcess>
#include <QSslConfiguration>
#include <QSslKey>
#include <QSslSocket>
#include <QTimer>

namespace airlock::docker {

HttpConnection::HttpConnection(const DockerEndpoint &endpoint, QObject *parent)
    : QObject(parent), m_endpoint(endpoint), m_connectTimer(new QTimer(this))
{
    m_connectTimer->setSingleShot(true);
    if (m_endpoint.kind == DockerEndpoint::Kind::Unix) {
        m_local = new QLocalSocket(this);
        m_device = m_local;
        connect(m_local, &QLocalSocket::connected, this, &HttpConnection::onConnected);
        connect(m_local, &QLocalSocket::readyRead, this, &HttpConnection::onReadyRead);
        connect(m_local, &QLocalSocket::disconnected, this, &HttpConnection::onClosed);
        connect(m_local, &QLocalSocket::errorOccurred, this, [this](QLocalSocket::LocalSocketError error) {
            if (error == QLocalSocket::PeerClosedError)
                return; // disconnected() follows and settles it
            onSocketError(unixSocketError(m_endpoint.socketPath, error, m_local->errorString()));
        });
        connect(m_connectTimer, &QTimer::timeout, this, [this] {
            onSocketError(unixSocketError(m_endpoint.socketPath, QLocalSocket::SocketTimeoutError, {}));
        });
    } else if (m_endpoint.kind == DockerEndpoint::Kind::Ssh) {
        m_ssh = new QProcess(this);
        m_device = m_ssh;
        m_ssh->setProgram(QStringLiteral("ssh"));
        m_ssh->setArguments(m_endpoint.sshArguments());
        m_ssh->setReadChannel(QProcess::StandardOutput);
        connect(m_ssh, &QProcess::started, this, &HttpConnection::onConnected);
        connect(m_ssh, &QProcess::readyReadStandardOutput, this, &HttpConnection::onReadyRead);
        connect(m_ssh, &QProcess::readyReadStandardError, this, [this] {
            m_sshErrors = QByteArray(m_sshErrors + m_ssh->readAllStandardError()).right(2048);
        });
        connect(m_ssh, &QProcess::finished, this, [this] {
            if (!m_received && m_busy) {
                const QString said = QString::fromLocal8Bit(m_sshErrors).trimmed();
                onSocketError(Error{ErrorCode::Io, QStringLiteral("cannot reach the Docker daemon at %1: ssh ended%2")
                                                       .arg(m_endpoint.display(), said.isEmpty() ? QString() : QStringLiteral(": ") + said)});
                return;
            }
            onClosed();
        });
        connect(m_ssh, &QProcess::errorOccurred, this, [this](QProcess::ProcessError error) {
            if (error == QProcess::FailedToStart)
                onSocketError(Error{ErrorCode::NotFound, QStringLiteral("cannot reach the Docker daemon at %1: ssh could not be started "
                                                                        "(install openssh-client)").arg(m_endpoint.display())});
        });
        connect(m_connectTimer, &QTimer::timeout, this, [this] {
            onSocketError(Error{ErrorCode::Io, QStringLiteral("cannot reach the Docker daemon at %1: ssh did not start within %2 ms")
                                                   .arg(m_endpoint.display()).arg(m_connectTimer->interval())});
        });
    } else {
        m_tcp = new QSslSocket(this);
        m_device = m_tcp;
        if (m_endpoint.tls) {
            setupTls();
            connect(m_tcp, &QSslSocket::encrypted, this, &HttpConnection::onConnected);
        } else {
            connect(m_tcp, &QSslSocket::connected, this, &HttpConnection::onConnected);
        }
        connect(m_tcp, &QSslSocket::readyRead, this, &HttpConnection::onReadyRead);
        connect(m_tcp, &QSslSocket::disconnected, this, &HttpConnection::onClosed);
        connect(m_tcp, &QSslSocket::errorOccurred, this, [this](QAbstractSocket::SocketError error) {
            if (error == QAbstractSocket::RemoteHostClosedError)
                return;
            onSocketError(tcpSocketError(m_endpoint, error, m_tcp->errorString()));
        });
        connect(m_connectTimer, &QTimer::timeout, this, [this] {
            onSocketError(tcpSocketError(m_endpoint, QAbstractSocket::SocketTimeoutError,
                                         QStringLiteral("no connection within %1 ms").arg(m_connectTimer->interval())));
        });
    }

    m_parser.onHead = [this](const HttpResponseHead &head) {
        m_head = head;
        if (!onData && head.contentLength && qint64(*head.contentLength) > m_maxBody)
            m_bodyOverflow = true;
        if (onHead)
            onHead(head);
    };
    m_parser.onBody = [this](QByteArrayView bytes) {
        if (onData) {
            onData(bytes);
            return;
        }
        if (m_body.size() + bytes.size() > m_maxBody) {
            m_bodyOverflow = true;
            return;
        }
        m_body.append(bytes.data(), bytes.size());
    };
    m_parser.onComplete = [this] { m_complete = true; };
}

HttpConnection::~HttpConnection()
{
    if (m_ssh && m_ssh->state() != QProcess::NotRunning) {
        const QSignalBlocker quiet(m_ssh);
        m_ssh->kill();
        m_ssh->waitForFinished(1000);
    }
}

void HttpConnection::setupTls()
{
    QSslConfiguration config = QSslConfiguration::defaultConfiguration();
    const QDir certs(m_endpoint.certPath);
    const QList<QSslCertificate> ca = QSslCertificate::fromPath(certs.filePath(QStringLiteral("ca.pem")));
    if (!ca.isEmpty())
        config.setCaCertificates(ca);
    const QList<QSslCertificate> mine = QSslCertificate::fromPath(certs.filePath(QStringLiteral("cert.pem")));
    if (!mine.isEmpty())
        config.setLocalCertificate(mine.first());
    QFile keyFile(certs.filePath(QStringLiteral("key.pem")));
    if (keyFile.open(QIODevice::ReadOnly)) {
        const QByteArray pem = keyFile.readAll();
        QSslKey key(pem, QSsl::Rsa);
        if (key.isNull())
            key = QSslKey(pem, QSsl::Ec);
        if (!key.isNull())
            config.setPrivateKey(key);
    }
    config.setPeerVerifyMode(m_endpoint.verifyPeer ? QSslSocket::VerifyPeer : QSslSocket::VerifyNone);
    m_tcp->setSslConfiguration(config);
    m_tcp->setPeerVerifyName(m_endpoint.host);
}

bool HttpConnection::isConnected() const
{
    if (m_local)
        return m_local->state() == QLocalSocket::ConnectedState;
    if (m_ssh)
        return m_ssh->state() == QProcess::Running;
    return m_tcp->state() == QAbstractSocket::ConnectedState && (!m_endpoint.tls || m_tcp->isEncrypted());
}

void HttpConnection::start(const QByteArray &requestBytes, bool headRequest, qint64 maxBody, int connectTimeoutMs)
{
    m_busy = true;
    m_received = false;
    m_bodyOverflow = false;
    m_complete = false;
    m_head = {};
    m_body.clear();
    m_maxBody = maxBody;
    m_upgraded = false;
    m_headSeen = false;
    m_headBuffer.clear();
    m_parser.reset();
    m_parser.expectNoBody(headRequest);
    if (isConnected()) {
        m_device->write(requestBytes);
        return;
    }
    m_pendingWrite = requestBytes;
    m_connectTimer->start(connectTimeoutMs);
    if (m_local) {
        if (m_local->state() == QLocalSocket::UnconnectedState)
            m_local->connectToServer(m_endpoint.socketPath);
    } else if (m_ssh) {
        if (m_ssh->state() == QProcess::NotRunning) {
            m_sshErrors.clear();
            m_ssh->start();
        }
    } else if (m_tcp->state() == QAbstractSocket::UnconnectedState) {
        if (m_endpoint.tls) {
            if (!QSslSocket::supportsSsl()) {
                const Error e{ErrorCode::Io, QStringLiteral("DOCKER_HOST asks for TLS, but this Qt has no TLS backend")};
                QTimer::singleShot(0, this, [this, e] { onSocketError(e); });
                return;
            }
            m_tcp->connectToHostEncrypted(m_endpoint.host, m_endpoint.port);
        } else {
            m_tcp->connectToHost(m_endpoint.host, m_endpoint.port);
        }
    }
}

void HttpConnection::onConnected()
{
    m_connectTimer->stop();
    if (!m_busy || m_pendingWrite.isEmpty())
        return;
    m_device->write(std::exchange(m_pendingWrite, {}));
}

void HttpConnection::writeRaw(QByteArrayView bytes)
{
    if (m_upgraded && isConnected())
        m_device->write(bytes.data(), bytes.size());
}

bool HttpConnection::takeUpgradeHead(QByteArray &bytes)
{
    constexpr qsizetype kMaxHead = 64 * 1024;
    m_headBuffer += bytes;
    bytes.clear();
    const qsizetype end = m_headBuffer.indexOf("\r\n\r\n");
    if (end < 0) {
        if (m_headBuffer.size() > kMaxHead)
            complete(fail(ErrorCode::Io, QStringLiteral("the Docker daemon's answer to an attach has a head over %1 bytes").arg(kMaxHead)), false);
        return true;
    }
    m_headSeen = true;
    m_received = true;
    const QByteArray head = m_headBuffer.left(end + 4);
    QByteArray rest = m_headBuffer.mid(end + 4);
    m_headBuffer.clear();
    if (const Result<void> fed = m_parser.feed(head); !fed) {
        complete(std::unexpected(fed.error()), false);
        return true;
    }
    if (m_head.status == 101) {
        m_upgraded = true;
        if (onUpgraded)
            onUpgraded(rest);
        return true;
    }
    bytes = rest; // an ordinary answer (an error): its body follows
    return false;
}

void HttpConnection::onReadyRead()
{
    QByteArray bytes = m_device->readAll();
    if (bytes.isEmpty())
        return;
    if (m_busy && m_upgraded) {
        if (onData)
            onData(bytes);
        return;
    }
    if (m_busy && onUpgraded && !m_headSeen) {
        if (takeUpgradeHead(bytes) || !m_busy)
            return;
        // not an upgrade: the rest (maybe nothing yet) is the answer's body
    }
    if (!m_busy) {
        // Nobody asked: a daemon that talks out of turn cannot be trusted with the next request.
        abort();
        if (onIdleClosed)
            onIdleClosed();
        return;
    }
    m_received = true;
    const Result<void> fed = m_parser.feed(bytes);
    if (!m_busy)
        return; // a callback aborted the exchange
    if (!fed) {
        complete(std::unexpected(fed.error()), false);
        return;
    }
    if (m_bodyOverflow) {
        complete(fail(ErrorCode::Io, QStringLiteral("the Docker daemon's answer is larger than %1; refusing to buffer it")
                                         .arg(formatBytes(m_maxBody))),
                 false);
        return;
    }
    if (m_complete)
        complete(HttpResponse{m_head, std::exchange(m_body, {})}, m_head.keepAlive);
}

void HttpConnection::onClosed()
{
    m_connectTimer->stop();
    if (!m_busy) {
        if (onIdleClosed)
            onIdleClosed();
        return;
    }
    // Everything still buffered belongs to the answer.
    if (m_device->bytesAvailable() > 0)
        onReadyRead();
    if (!m_busy)
        return;
    if (m_upgraded) {
        complete(HttpResponse{m_head, {}}, false);
        return;
    }
    const Result<void> finished = m_parser.finish();
    if (finished && m_complete) {
        complete(HttpResponse{m_head, std::exchange(m_body, {})}, false);
        return;
    }
    complete(fail(ErrorCode::Io, m_received ? finished.error().message
                                            : QStringLiteral("the Docker daemon closed the connection without answering")),
             false);
}

void HttpConnection::onSocketError(const Error &error)
{
    m_connectTimer->stop();
    if (!m_busy)
        return;
    complete(std::unexpected(error), false);
}

void HttpConnection::complete(const Result<HttpResponse> &result, bool reusable)
{
    m_busy = false;
    ++m_exchanges;
    const Outcome outcome{reusable && isConnected(), !m_received};
    if (!outcome.reusable)
        abort();
    if (auto done = onDone)
        done(result, outcome);
}

void HttpConnection::abort()
{
    m_busy = false;
    m_connectTimer->stop();
    m_pendingWrite.clear();
    // Quietly: whoever aborts already knows, and a disconnected() now would report it twice.
    if (m_local) {
        const QSignalBlocker quiet(m_local);
        m_local->abort();
    } else if (m_ssh) {
        const QSignalBlocker quiet(m_ssh);
        if (m_ssh->state() != QProcess::NotRunning) {
            m_ssh->kill();
            m_ssh->waitForFinished(1000);
        }
    } else {
        const QSignalBlocker quiet(m_tcp);
        m_tcp->abort();
    }
}

} // namespace airlock::docker
