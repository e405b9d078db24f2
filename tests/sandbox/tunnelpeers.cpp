#include "tunnelpeers.h"

#include <QSocketNotifier>
#include <QVariant>

#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace airlock::sandbox::test {

RawPeer::RawPeer(int fd, QObject *parent) : QObject(parent), m_fd(fd)
{
    ::fcntl(m_fd, F_SETFL, ::fcntl(m_fd, F_GETFL) | O_NONBLOCK);
    m_read = new QSocketNotifier(m_fd, QSocketNotifier::Read, this);
    m_write = new QSocketNotifier(m_fd, QSocketNotifier::Write, this);
    m_write->setEnabled(false);
    connect(m_read, &QSocketNotifier::activated, this, &RawPeer::onReadable);
    connect(m_write, &QSocketNotifier::activated, this, &RawPeer::onWritable);
}

RawPeer::~RawPeer()
{
    delete m_read;
    delete m_write;
    if (m_fd >= 0)
        ::close(m_fd);
}

std::unique_ptr<RawPeer> RawPeer::connectTcp(quint16 port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return nullptr;
    // Small buffers, so a stalled tunnel shows at the sender instead of vanishing into the kernel.
    const int buffer = 64 * 1024;
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // On loopback this completes at once or is in progress; either way writes queue until it is up.
    if (::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
        ::close(fd);
        return nullptr;
    }
    return std::make_unique<RawPeer>(fd);
}

void RawPeer::write(const QByteArray &data)
{
    if (failed || m_fd < 0)
        return;
    m_out += data;
    onWritable();
}

void RawPeer::shutdownWrite()
{
    if (m_fd < 0)
        return;
    m_shutdownPending = true;
    onWritable();
}

void RawPeer::closeWhenWritten()
{
    m_closePending = true;
    shutdownWrite();
}

void RawPeer::setReading(bool on)
{
    m_reading = on;
    if (m_read && !closed() && m_fd >= 0)
        m_read->setEnabled(on);
}

void RawPeer::onReadable()
{
    char buffer[64 * 1024];
    const ssize_t n = ::read(m_fd, buffer, sizeof buffer);
    if (n > 0) {
        received.append(buffer, n);
        Q_EMIT dataArrived();
    } else if (n == 0) {
        finish(false);
    } else if (errno != EAGAIN && errno != EINTR) {
        finish(true);
    }
}

void RawPeer::onWritable()
{
    while (!m_out.isEmpty() && !failed) {
        const ssize_t n = ::send(m_fd, m_out.constData(), static_cast<size_t>(m_out.size()), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == ENOTCONN) // ENOTCONN: the connect is still in progress
                break;
            if (errno != EINTR)
                finish(true);
            continue;
        }
        m_out.remove(0, n);
    }
    if (m_out.isEmpty() && m_shutdownPending && !failed) {
        ::shutdown(m_fd, SHUT_WR);
        m_shutdownPending = false;
        if (m_closePending) {
            // Later: this may run inside one of their own signals.
            m_read->setEnabled(false);
            m_write->setEnabled(false);
            m_read->deleteLater();
            m_write->deleteLater();
            m_read = m_write = nullptr;
            ::close(m_fd);
            m_fd = -1;
            return;
        }
    }
    m_write->setEnabled(!m_out.isEmpty() && !failed);
}

void RawPeer::finish(bool error)
{
    if (error)
        failed = true;
    else
        eof = true;
    if (m_read)
        m_read->setEnabled(false);
    if (error && m_write)
        m_write->setEnabled(false);
    Q_EMIT ended();
}

TunnelTarget::TunnelTarget(Mode mode, QObject *parent) : QLocalServer(parent), m_mode(mode) {}

void TunnelTarget::setReading(bool on)
{
    m_reading = on;
    for (RawPeer *peer : std::as_const(m_peers))
        peer->setReading(on);
}

void TunnelTarget::incomingConnection(quintptr socketDescriptor)
{
    ++m_accepted;
    auto *peer = new RawPeer(static_cast<int>(socketDescriptor), this);
    m_peers.append(peer);
    peer->setReading(m_reading);
    switch (m_mode) {
    case Mode::Echo:
        connect(peer, &RawPeer::dataArrived, peer, [peer] {
            peer->write(peer->received);
            peer->received.clear();
        });
        connect(peer, &RawPeer::ended, peer, [peer] { peer->shutdownWrite(); });
        break;
    case Mode::Respond:
        connect(peer, &RawPeer::ended, peer, [peer] {
            peer->write(QByteArray::number(peer->received.size()) + " bytes: " + peer->received);
            peer->closeWhenWritten();
        });
        break;
    case Mode::Http:
        connect(peer, &RawPeer::dataArrived, peer, [peer] {
            const qsizetype end = peer->received.indexOf("\r\n\r\n");
            if (end < 0 || peer->property("answered").toBool())
                return;
            peer->setProperty("answered", true);
            const QByteArray requestLine = peer->received.left(peer->received.indexOf("\r\n"));
            const QByteArray body = "you asked for " + requestLine + "\n";
            peer->write("HTTP/1.0 200 OK\r\nContent-Length: " + QByteArray::number(body.size()) + "\r\n\r\n" + body);
            peer->closeWhenWritten();
        });
        break;
    }
}

} // namespace airlock::sandbox::test
