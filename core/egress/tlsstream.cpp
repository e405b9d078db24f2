#include "egress/stream.h"

#include <QSslSocket>

namespace airlock::egress {

TlsStream::TlsStream(const QHostAddress &address, quint16 port, const QString &hostName,
                     const QSslConfiguration &config, QObject *parent)
    : Stream(parent), m_socket(new QSslSocket(this))
{
    m_socket->setSslConfiguration(config);
    m_socket->setPeerVerifyName(hostName);
    m_socket->setPeerVerifyMode(QSslSocket::VerifyPeer);
    // Bounded, so a fast server cannot fill memory while the sandbox reads slowly.
    m_socket->setReadBufferSize(256 * 1024);
    QObject::connect(m_socket, &QSslSocket::connected, this, [this] {
        m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        m_socket->startClientEncryption();
    });
    QObject::connect(m_socket, &QSslSocket::encrypted, this, [this] {
        m_encrypted = true;
        Q_EMIT connected();
    });
    QObject::connect(m_socket, &QSslSocket::readyRead, this, [this] {
        if (m_reading)
            Q_EMIT readable();
    });
    QObject::connect(m_socket, &QSslSocket::bytesWritten, this, [this] { Q_EMIT flushed(); });
    QObject::connect(m_socket, &QSslSocket::encryptedBytesWritten, this, [this] { Q_EMIT flushed(); });
    QObject::connect(m_socket, &QSslSocket::disconnected, this, [this] {
        m_eof = true;
        Q_EMIT readable();
    });
    QObject::connect(m_socket, &QSslSocket::sslErrors, this, [this](const QList<QSslError> &errors) {
        QStringList texts;
        for (const QSslError &e : errors)
            texts << e.errorString();
        m_eof = true;
        Q_EMIT failed(QStringLiteral("TLS verification failed: ") + texts.join(QStringLiteral("; ")));
    });
    QObject::connect(m_socket, &QSslSocket::errorOccurred, this, [this](QAbstractSocket::SocketError error) {
        if (error == QAbstractSocket::RemoteHostClosedError && m_encrypted) {
            m_eof = true;
            Q_EMIT readable();
            return;
        }
        if (m_eof)
            return; // sslErrors already reported the reason
        m_eof = true;
        Q_EMIT failed(m_socket->errorString());
    });
    m_socket->connectToHost(address, port);
}

TlsStream::~TlsStream()
{
    m_socket->disconnect(this);
    m_socket->abort();
}

qint64 TlsStream::read(char *data, qint64 max)
{
    const qint64 n = m_socket->read(data, max);
    return n < 0 ? 0 : n;
}

void TlsStream::write(QByteArrayView data)
{
    if (!data.isEmpty())
        m_socket->write(data.data(), data.size());
}

qint64 TlsStream::pending() const
{
    return m_socket->bytesToWrite() + m_socket->encryptedBytesToWrite();
}

void TlsStream::shutdownWrite()
{
    // Qt has no TLS half-close; closing after the queue drains is the nearest.
    m_socket->disconnectFromHost();
}

void TlsStream::setReading(bool on)
{
    m_reading = on;
    if (on && m_socket->bytesAvailable() > 0)
        QMetaObject::invokeMethod(this, [this] { if (m_reading) Q_EMIT readable(); }, Qt::QueuedConnection);
}

bool TlsStream::atEnd() const
{
    return m_eof && m_socket->bytesAvailable() == 0;
}

void TlsStream::close()
{
    m_socket->abort();
}

} // namespace airlock::egress
