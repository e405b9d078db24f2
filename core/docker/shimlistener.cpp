#include "docker/shimlistener.h"

#include <QFile>
#include <QSocketNotifier>

#include <algorithm>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace airlock::docker {

ShimListener::ShimListener(QString socketPath, QString shimBinary, QObject *parent)
    : QObject(parent), m_path(std::move(socketPath)), m_shimBinary(std::move(shimBinary))
{
}

ShimListener::~ShimListener()
{
    close();
}

Result<void> ShimListener::listen(bool trustFirst)
{
    close();
    m_trustFirst = trustFirst;
    const QByteArray path = QFile::encodeName(m_path);
    sockaddr_un addr{};
    if (path.size() >= qsizetype(sizeof addr.sun_path))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("the control socket path %1 is too long").arg(m_path));
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.constData(), size_t(path.size()) + 1);
    ::unlink(path.constData()); // one left by an earlier run of this container
    m_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    // The container's user is often not ours, and connecting needs write permission on the socket;
    // the folders above it are private to us, so only the container gets this far.
    const mode_t old = ::umask(0);
    const bool ok = m_fd >= 0 && ::bind(m_fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0 && ::listen(m_fd, 8) == 0;
    const int err = errno;
    ::umask(old);
    if (!ok) {
        close();
        return fail(ErrorCode::Io, QStringLiteral("cannot listen on %1: %2").arg(m_path, QString::fromLocal8Bit(std::strerror(err))));
    }
    ::chmod(path.constData(), 0666);
    m_notifier = new QSocketNotifier(qintptr(m_fd), QSocketNotifier::Read, this);
    connect(m_notifier, &QSocketNotifier::activated, this, &ShimListener::acceptOne);
    return {};
}

void ShimListener::close()
{
    if (m_notifier) {
        m_notifier->setEnabled(false);
        m_notifier->deleteLater();
        m_notifier = nullptr;
    }
    if (m_fd >= 0) {
        ::close(m_fd);
        m_fd = -1;
        ::unlink(QFile::encodeName(m_path).constData());
    }
}

void ShimListener::acceptOne()
{
    while (m_fd >= 0) {
        const int fd = ::accept4(m_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        ucred cred{};
        socklen_t len = sizeof cred;
        bool unknown = false;
        QString why = ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid > 0
            ? checkPeer(cred.pid, &unknown)
            : QStringLiteral("its process cannot be told");
        if (unknown && m_trustFirst)
            why.clear();
        if (!why.isEmpty()) {
            ::close(fd);
            Q_EMIT refused(QStringLiteral("refused a connection to %1: %2").arg(m_path, why));
            continue;
        }
        close(); // the shim's is the only connection
        Q_EMIT connected(qintptr(fd));
        return;
    }
}

QString ShimListener::checkPeer(qint64 pid, bool *unknown) const
{
    struct stat peer{};
    struct stat shim{};
    if (::stat(QFile::encodeName(m_shimBinary).constData(), &shim) != 0 || ::stat(QByteArray("/proc/" + QByteArray::number(pid) + "/exe").constData(), &peer) != 0) {
        *unknown = true;
        return QStringLiteral("process %1 cannot be checked (%2)").arg(pid).arg(QString::fromLocal8Bit(std::strerror(errno)));
    }
    if (peer.st_dev != shim.st_dev || peer.st_ino != shim.st_ino) {
        if (isGofer(pid))
            return {};
        return QStringLiteral("process %1 is not running the shim").arg(pid);
    }
    return {};
}

void ShimListener::acceptGofer(const QString &runtimeBinary, const QString &containerId)
{
    m_goferBinary = runtimeBinary;
    m_containerId = containerId;
}

// Everything in a gVisor container reaches host sockets through its gofer, so this says only that the
// connection came from this container; as for the shim's own check, the first one is taken, and the
// shim is the container's first process.
bool ShimListener::isGofer(qint64 pid) const
{
    if (m_goferBinary.isEmpty() || m_containerId.size() < 12)
        return false;
    const QByteArray proc = "/proc/" + QByteArray::number(pid);
    struct stat peer{};
    struct stat runtime{};
    if (::stat(QFile::encodeName(m_goferBinary).constData(), &runtime) != 0 || ::stat(QByteArray(proc + "/exe").constData(), &peer) != 0
        || peer.st_dev != runtime.st_dev || peer.st_ino != runtime.st_ino)
        return false;
    QFile cmdline(QString::fromLatin1(QByteArray(proc + "/cmdline")));
    if (!cmdline.open(QIODevice::ReadOnly))
        return false;
    const QList<QByteArray> args = cmdline.read(64 * 1024).split('\0');
    if (args.isEmpty() || args.first() != "runsc-gofer")
        return false;
    const QByteArray id = m_containerId.toLatin1();
    return std::any_of(args.begin(), args.end(), [&](const QByteArray &a) { return a.contains(id); });
}

} // namespace airlock::docker
