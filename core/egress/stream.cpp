#include "egress/stream.h"

#include <QSocketNotifier>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace airlock::egress {

namespace {

QString errnoText(int err)
{
    return QString::fromLocal8Bit(std::strerror(err));
}

} // namespace

FdStream::FdStream(int fd, QObject *parent) : FdStream(fd, false, parent) {}

FdStream::FdStream(int fd, bool connecting, QObject *parent) : Stream(parent), m_fd(fd), m_connecting(connecting)
{
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0 && !(flags & O_NONBLOCK))
        ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    m_readNotifier = new QSocketNotifier(qintptr(fd), QSocketNotifier::Read, this);
    m_writeNotifier = new QSocketNotifier(qintptr(fd), QSocketNotifier::Write, this);
    QObject::connect(m_readNotifier, &QSocketNotifier::activated, this, [this] { Q_EMIT readable(); });
    QObject::connect(m_writeNotifier, &QSocketNotifier::activated, this, &FdStream::onWritable);
    updateNotifiers();
}

FdStream::~FdStream()
{
    close();
}

Result<FdStream *> FdStream::connectTo(const QHostAddress &address, quint16 port, QObject *parent)
{
    sockaddr_storage storage{};
    socklen_t length = 0;
    bool isV4 = false;
    const quint32 v4 = address.toIPv4Address(&isV4);
    if (isV4) {
        auto *in = reinterpret_cast<sockaddr_in *>(&storage);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        in->sin_addr.s_addr = htonl(v4);
        length = sizeof(sockaddr_in);
    } else if (address.protocol() == QAbstractSocket::IPv6Protocol) {
        auto *in6 = reinterpret_cast<sockaddr_in6 *>(&storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        const Q_IPV6ADDR bytes = address.toIPv6Address();
        std::memcpy(&in6->sin6_addr, bytes.c, 16);
        length = sizeof(sockaddr_in6);
    } else {
        return fail(ErrorCode::InvalidArgument, QStringLiteral("'%1' is not an address").arg(address.toString()));
    }
    const int fd = ::socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail(ErrorCode::Io, QStringLiteral("cannot create a socket: ") + errnoText(errno));
    // Heads and bodies go out in separate writes; Nagle would hold the second back for an ACK.
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, reinterpret_cast<sockaddr *>(&storage), length) != 0 && errno != EINPROGRESS) {
        const int err = errno;
        ::close(fd);
        return fail(ErrorCode::Io, QStringLiteral("cannot connect to %1 port %2: %3")
                                       .arg(address.toString())
                                       .arg(port)
                                       .arg(errnoText(err)));
    }
    // Even a connect that completed at once reports through the write notifier, so the caller sees
    // connected() from the event loop, never from inside this call.
    return new FdStream(fd, true, parent);
}

void FdStream::updateNotifiers()
{
    if (m_fd < 0)
        return;
    m_readNotifier->setEnabled(m_reading && !m_eof && !m_connecting && !m_failed);
    m_writeNotifier->setEnabled(!m_failed && (m_connecting || pending() > 0));
}

void FdStream::failWith(const QString &what, int err)
{
    if (m_failed)
        return;
    m_failed = true;
    m_eof = true;
    updateNotifiers();
    const QString message = what + QStringLiteral(": ") + errnoText(err);
    // Queued, so a failure found inside read() or write() never re-enters the caller.
    QMetaObject::invokeMethod(this, [this, message] { Q_EMIT failed(message); }, Qt::QueuedConnection);
}

qint64 FdStream::read(char *data, qint64 max)
{
    if (m_fd < 0 || m_eof || m_connecting)
        return 0;
    while (true) {
        const ssize_t n = ::read(m_fd, data, size_t(max));
        if (n > 0)
            return n;
        if (n == 0) {
            m_eof = true;
            updateNotifiers();
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            failWith(QStringLiteral("read failed"), errno);
        return 0;
    }
}

void FdStream::write(QByteArrayView data)
{
    if (m_fd < 0 || m_failed || data.isEmpty())
        return;
    qsizetype done = 0;
    if (!m_connecting && pending() == 0) {
        while (done < data.size()) {
            const ssize_t n = ::send(m_fd, data.data() + done, size_t(data.size() - done), MSG_NOSIGNAL);
            if (n > 0) {
                done += n;
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                failWith(QStringLiteral("write failed"), errno);
                return;
            }
            break;
        }
    }
    if (done < data.size()) {
        if (m_outOffset > 0 && m_outOffset == m_out.size()) {
            m_out.clear();
            m_outOffset = 0;
        }
        m_out.append(data.sliced(done));
        updateNotifiers();
    }
}

void FdStream::flush()
{
    while (m_out.size() - m_outOffset > 0) {
        const ssize_t n = ::send(m_fd, m_out.constData() + m_outOffset, size_t(m_out.size() - m_outOffset), MSG_NOSIGNAL);
        if (n > 0) {
            m_outOffset += n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            failWith(QStringLiteral("write failed"), errno);
            return;
        }
        break;
    }
    if (m_out.size() == m_outOffset)
        flushPipe(); // spliced bytes come after everything written before them
    if (pending() == 0) {
        m_out.clear();
        m_outOffset = 0;
        if (m_shutdownPending && !m_writeShut) {
            ::shutdown(m_fd, SHUT_WR);
            m_writeShut = true;
        }
    } else if (m_outOffset > (1 << 20)) {
        m_out.remove(0, m_outOffset);
        m_outOffset = 0;
    }
}

void FdStream::flushPipe()
{
    while (m_pipeBytes > 0 && !m_failed) {
        const ssize_t n = ::splice(m_pipe[0], nullptr, m_fd, nullptr, size_t(m_pipeBytes),
                                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0) {
            m_pipeBytes -= n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            failWith(QStringLiteral("write failed"), errno);
        break;
    }
}

qint64 FdStream::spliceFrom(FdStream &source, qint64 max)
{
    if (m_spliceBroken || m_fd < 0 || source.m_fd < 0 || m_connecting || m_failed)
        return -1;
    if (source.m_eof || source.m_connecting)
        return 0;
    if (m_pipe[0] < 0) {
        if (::pipe2(m_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
            m_spliceBroken = true;
            return -1;
        }
        // A bigger pipe means fewer trips through the event loop; the default is 64 KiB.
        const int size = ::fcntl(m_pipe[1], F_SETPIPE_SZ, 1 << 20);
        m_pipeCapacity = size > 0 ? size : 65536;
    }
    // Bytes queued by write() go out first; splicing waits until they have.
    if (m_out.size() > m_outOffset)
        return 0;
    const qint64 room = std::min(max, m_pipeCapacity - m_pipeBytes);
    if (room <= 0)
        return 0;
    const ssize_t n = ::splice(source.m_fd, nullptr, m_pipe[1], nullptr, size_t(room), SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n == 0) {
        source.m_eof = true;
        source.updateNotifiers();
        return 0;
    }
    if (n < 0) {
        if (errno == EINVAL || errno == ENOSYS) {
            m_spliceBroken = true; // not a kind of descriptor splice supports: fall back
            return m_pipeBytes > 0 ? 0 : -1;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            source.failWith(QStringLiteral("read failed"), errno);
        return 0;
    }
    m_pipeBytes += n;
    flushPipe();
    updateNotifiers();
    return n;
}

void FdStream::onWritable()
{
    if (m_connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        if (::getsockopt(m_fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            err = errno;
        if (err != 0) {
            failWith(QStringLiteral("connect failed"), err);
            return;
        }
        m_connecting = false;
        updateNotifiers();
        Q_EMIT connected();
        if (m_fd < 0 || m_failed)
            return;
    }
    const qint64 before = pending();
    flush();
    updateNotifiers();
    if (pending() < before)
        Q_EMIT flushed();
}

void FdStream::shutdownWrite()
{
    if (m_fd < 0 || m_writeShut)
        return;
    m_shutdownPending = true;
    if (!m_connecting && pending() == 0) {
        ::shutdown(m_fd, SHUT_WR);
        m_writeShut = true;
    }
}

void FdStream::setReading(bool on)
{
    if (m_reading == on)
        return;
    m_reading = on;
    updateNotifiers();
}

void FdStream::close()
{
    for (int &end : m_pipe) {
        if (end >= 0)
            ::close(end);
        end = -1;
    }
    m_pipeBytes = 0;
    if (m_fd < 0)
        return;
    // Notifiers go first: a notifier on a closed (and perhaps reused) descriptor would misfire.
    m_readNotifier->setEnabled(false);
    m_writeNotifier->setEnabled(false);
    ::close(m_fd);
    m_fd = -1;
    m_eof = true;
}

} // namespace airlock::egress
