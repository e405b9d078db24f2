#include "sandbox/protectionlayer.h"

#include "sandbox/spawned.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QProcessEnvironment>
#include <QStandardPaths>

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace airlock::sandbox {

namespace {

constexpr int kMountTimeoutMs = 15000;
constexpr int kFuseTarget = 3;   // the launcher's descriptors, when root mounted for it
constexpr int kSourceTarget = 4;

// A mount point differs from its parent in device (a FUSE mount whose process died still does; its
// stat then fails with ENOTCONN, which counts as mounted too).
bool isMounted(const QString &path)
{
    struct stat self, parent;
    if (::lstat(QFile::encodeName(path).constData(), &self) != 0)
        // EACCES: a layer served for another user without allow_other refuses even root.
        return errno == ENOTCONN || errno == EIO || errno == EACCES;
    if (::lstat(QFile::encodeName(QFileInfo(path).absolutePath()).constData(), &parent) != 0)
        return true;
    return self.st_dev != parent.st_dev;
}

bool userAllowOther()
{
    QFile conf(QStringLiteral("/etc/fuse.conf"));
    if (!conf.open(QIODevice::ReadOnly))
        return false;
    while (!conf.atEnd()) {
        const QByteArray line = conf.readLine().trimmed();
        if (line == "user_allow_other")
            return true;
    }
    return false;
}

} // namespace

QString protectfsPath()
{
    const QString forced = qEnvironmentVariable("AIRLOCK_PROTECTFS");
    if (!forced.isEmpty())
        return forced;
    const QString dir = QCoreApplication::instance()
                            ? QCoreApplication::applicationDirPath()
                            : QFileInfo(QFile::symLinkTarget(QStringLiteral("/proc/self/exe"))).absolutePath();
    const QStringList candidates{
        dir + QStringLiteral("/airlock-protectfs"),
        dir + QStringLiteral("/../libexec/airlock/airlock-protectfs"),
        dir + QStringLiteral("/../lib/airlock/airlock-protectfs"),
        dir + QStringLiteral("/../airlock-protectfs/airlock-protectfs"),
        dir + QStringLiteral("/../../app/airlock-protectfs/airlock-protectfs"),
        QStringLiteral("/usr/libexec/airlock/airlock-protectfs"),
    };
    for (const QString &c : candidates) {
        const QFileInfo info(c);
        if (info.isFile() && info.isExecutable())
            return QDir::cleanPath(info.absoluteFilePath());
    }
    return {};
}

QString protectionMountPoint(const QString &sandboxDir)
{
    return sandboxDir + QStringLiteral("/workspace");
}

QString dockerProtectionMountPoint(const QString &controlDir)
{
    return controlDir + QStringLiteral(".workspace");
}

Result<PendingLayer> startProtectionLayer(const QString &workspace, const QString &mountPoint, const QStringList &additions,
                                          bool forOthers, std::optional<LayerUser> runAs)
{
    if (runAs && ::geteuid() != 0)
        runAs.reset(); // only root serves for another user

    const QString optOut = QStringLiteral(" To run without it anyway, set filesystem.protectionLayer to false in the "
                                          "policy (the linter names the risk).");
    const QString program = protectfsPath();
    if (program.isEmpty())
        return fail(ErrorCode::NotFound, QStringLiteral("the workspace protection layer (airlock-protectfs) was not found; "
                                                        "reinstall Airlock or set AIRLOCK_PROTECTFS.")
                                             + optOut);
    if (::access("/dev/fuse", R_OK | W_OK) != 0)
        return fail(ErrorCode::NotFound, QStringLiteral("the workspace protection layer needs FUSE, and /dev/fuse cannot be "
                                                        "opened (%1); install fuse3 and load the fuse module (modprobe fuse).")
                                             .arg(QString::fromLocal8Bit(std::strerror(errno)))
                                             + optOut);
    if (::geteuid() != 0 && QStandardPaths::findExecutable(QStringLiteral("fusermount3")).isEmpty())
        return fail(ErrorCode::NotFound, QStringLiteral("the workspace protection layer needs fusermount3 to mount as a user; "
                                                        "install fuse3.")
                                             + optOut);
    // Root may always let others in: as itself, or in the mount it makes for another user (below).
    const bool allowOther = ::geteuid() == 0 || userAllowOther();
    if (forOthers && !allowOther)
        return fail(ErrorCode::InvalidArgument, QStringLiteral("the Docker daemon must read the workspace through the protection "
                                                               "layer, which a user may only allow with a line user_allow_other "
                                                               "in /etc/fuse.conf; add it (as root).")
                                                    + optOut);
    if (!QDir().mkpath(mountPoint))
        return fail(ErrorCode::Io, QStringLiteral("cannot create %1").arg(mountPoint));
    // Served as another user: we mount, as root, and hand the layer the open /dev/fuse (libfuse takes
    // a mount point of /dev/fd/N as that), so it needs neither /dev/fuse's permissions nor fusermount3.
    int fuseFd = -1;
    const auto closeFuse = [&fuseFd] {
        if (fuseFd >= 0)
            ::close(fuseFd);
        fuseFd = -1;
    };
    if (runAs) {
        fuseFd = ::open("/dev/fuse", O_RDWR | O_CLOEXEC); // handed to the layer by number (spawnProcess)
        struct stat root{};
        if (fuseFd < 0 || ::stat(QFile::encodeName(mountPoint).constData(), &root) != 0) {
            const int err = errno;
            closeFuse();
            return fail(ErrorCode::Io, QStringLiteral("cannot open /dev/fuse for the workspace protection layer: %1")
                                           .arg(QString::fromLocal8Bit(std::strerror(err)))
                                           + optOut);
        }
        QByteArray options = QByteArrayLiteral("fd=") + QByteArray::number(fuseFd) + QByteArrayLiteral(",rootmode=")
            + QByteArray::number(root.st_mode & S_IFMT, 8) + QByteArrayLiteral(",user_id=") + QByteArray::number(runAs->uid)
            + QByteArrayLiteral(",group_id=") + QByteArray::number(runAs->gid) + QByteArrayLiteral(",default_permissions");
        if (forOthers)
            options += QByteArrayLiteral(",allow_other");
        if (::mount("airlock-protect", QFile::encodeName(mountPoint).constData(), "fuse.airlock", MS_NOSUID | MS_NODEV,
                    options.constData())
            != 0) {
            const int err = errno;
            closeFuse();
            return fail(ErrorCode::Io, QStringLiteral("cannot mount the workspace protection layer on %1: %2")
                                           .arg(mountPoint, QString::fromLocal8Bit(std::strerror(err)))
                                           + optOut);
        }
    }
    QStringList args{QStringLiteral("--daemon")};
    // As root the sandbox may run as another user; a user's own sandboxes run as that user and need
    // no allow_other, which only /etc/fuse.conf's user_allow_other would grant.
    if (allowOther && (forOthers || !runAs))
        args << QStringLiteral("--allow-other");
    for (const QString &a : additions)
        args << QStringLiteral("--protect") << a;
    SpawnRequest request;
    request.program = program;
    // The other user may not be able to reach the workspace by its path (a folder of root's on the
    // way): it gets the folder itself, open, and reaches it through /dev/fd.
    int sourceFd = -1;
    if (runAs) {
        sourceFd = ::open(QFile::encodeName(workspace).constData(), O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (sourceFd < 0) {
            const int err = errno;
            closeFuse();
            unmountProtectionLayer(mountPoint);
            return fail(ErrorCode::Io, QStringLiteral("cannot open the workspace %1: %2")
                                           .arg(workspace, QString::fromLocal8Bit(std::strerror(err))));
        }
        request.descriptors = {{fuseFd, kFuseTarget}, {sourceFd, kSourceTarget}};
        request.user = SpawnRequest::User{runAs->uid, runAs->gid};
        args << QStringLiteral("/dev/fd/%1").arg(kSourceTarget) << QStringLiteral("/dev/fd/%1").arg(kFuseTarget);
    } else {
        args << workspace << mountPoint;
    }
    request.arguments = args;
    const QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const QString &name : env.keys())
        request.environment.insert(name, env.value(name));
    int output[2];
    if (::pipe2(output, O_CLOEXEC) != 0) {
        const int err = errno;
        closeFuse();
        if (sourceFd >= 0)
            ::close(sourceFd);
        unmountProtectionLayer(mountPoint);
        return fail(ErrorCode::Io, QStringLiteral("cannot create a pipe: ") + QString::fromLocal8Bit(std::strerror(err)));
    }
    request.outputFd = output[1];
    // Started like bwrap (a vfork, not a fork of this whole process).
    Result<Spawned> spawned = spawnProcess(request);
    ::close(output[1]);
    closeFuse(); // the layer holds its own copies
    if (sourceFd >= 0)
        ::close(sourceFd);
    if (!spawned) {
        ::close(output[0]);
        unmountProtectionLayer(mountPoint);
        return fail(ErrorCode::Io, QStringLiteral("the workspace protection layer could not start: %1.").arg(spawned.error().message)
                                       + optOut);
    }
    PendingLayer pending;
    pending.m_pid = spawned->pid();
    pending.m_pidfd = spawned->takePidfd();
    pending.m_outputFd = output[0];
    pending.m_mountedAhead = runAs.has_value();
    pending.m_workspace = workspace;
    pending.m_mountPoint = mountPoint;
    return pending;
}

Result<void> mountProtectionLayer(const QString &workspace, const QString &mountPoint, const QStringList &additions,
                                  bool forOthers, std::optional<LayerUser> runAs)
{
    Result<PendingLayer> pending = startProtectionLayer(workspace, mountPoint, additions, forOthers, runAs);
    if (!pending)
        return std::unexpected(pending.error());
    return pending->finish(kMountTimeoutMs);
}

PendingLayer::PendingLayer(PendingLayer &&other) noexcept
    : m_pid(std::exchange(other.m_pid, -1)), m_pidfd(std::exchange(other.m_pidfd, -1)),
      m_outputFd(std::exchange(other.m_outputFd, -1)), m_mountedAhead(other.m_mountedAhead),
      m_workspace(std::move(other.m_workspace)), m_mountPoint(std::move(other.m_mountPoint))
{
}

PendingLayer &PendingLayer::operator=(PendingLayer &&other) noexcept
{
    if (this != &other) {
        abandon();
        m_pid = std::exchange(other.m_pid, -1);
        m_pidfd = std::exchange(other.m_pidfd, -1);
        m_outputFd = std::exchange(other.m_outputFd, -1);
        m_mountedAhead = other.m_mountedAhead;
        m_workspace = std::move(other.m_workspace);
        m_mountPoint = std::move(other.m_mountPoint);
    }
    return *this;
}

PendingLayer::~PendingLayer()
{
    abandon();
}

void PendingLayer::abandon()
{
    // Nobody asks any more (its sandbox is gone): the launcher is ended and reaped, at once rather
    // than after a hung mount's timeout, and the layer is left to whoever unmounts the mount point.
    if (m_pid <= 0)
        return;
    ::kill(m_pid, SIGKILL);
    ::waitpid(std::exchange(m_pid, -1), nullptr, 0);
    ::close(std::exchange(m_pidfd, -1));
    ::close(std::exchange(m_outputFd, -1));
}

Result<void> PendingLayer::finish(int timeoutMs)
{
    if (m_pid <= 0)
        return {};
    const QString optOut = QStringLiteral(" To run without it anyway, set filesystem.protectionLayer to false in the "
                                          "policy (the linter names the risk).");
    pollfd pfd{m_pidfd, POLLIN, 0};
    int ready = 0;
    do {
        ready = ::poll(&pfd, 1, timeoutMs);
    } while (ready < 0 && errno == EINTR);
    QByteArray out;
    char buffer[4096];
    const auto drain = [&] {
        for (;;) {
            const ssize_t n = ::read(m_outputFd, buffer, sizeof buffer);
            if (n > 0 && out.size() < 65536) {
                out.append(buffer, n);
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            break;
        }
    };
    ::fcntl(m_outputFd, F_SETFL, ::fcntl(m_outputFd, F_GETFL) | O_NONBLOCK);
    const pid_t pid = std::exchange(m_pid, -1);
    int status = 0;
    if (ready <= 0)
        ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    drain();
    ::close(std::exchange(m_pidfd, -1));
    ::close(std::exchange(m_outputFd, -1));
    if (ready <= 0) {
        unmountProtectionLayer(m_mountPoint);
        return fail(ErrorCode::Io, QStringLiteral("the workspace protection layer did not start within %1 s").arg(timeoutMs / 1000.0)
                                       + optOut);
    }
    // Its errors go to the same pipe as its word that it serves.
    const qsizetype word = out.indexOf("ready\n");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || word < 0) {
        const QString why = QString::fromLocal8Bit(out.left(word < 0 ? out.size() : word)).trimmed();
        unmountProtectionLayer(m_mountPoint);
        return fail(ErrorCode::Io, QStringLiteral("the workspace protection layer could not mount %1: %2.")
                                       .arg(m_workspace, why.isEmpty() ? QStringLiteral("exit status %1").arg(WIFEXITED(status) ? WEXITSTATUS(status) : -1) : why)
                                       + optOut);
    }
    return {};
}

bool unmountProtectionLayer(const QString &mountPoint)
{
    const QByteArray path = QFile::encodeName(mountPoint);
    if (isMounted(mountPoint)) {
        // Detached: a process still inside (a shell's cwd) must not keep the workspace exposed.
        if (::umount2(path.constData(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0) {
            const QString fusermount = QStandardPaths::findExecutable(QStringLiteral("fusermount3"));
            if (!fusermount.isEmpty()) {
                // A user's layer: only the set-user-ID helper may unmount it. Started like every
                // other child (a vfork), since a fork of this process is what would cost here.
                SpawnRequest request;
                request.program = fusermount;
                request.arguments = {QStringLiteral("-u"), QStringLiteral("-z"), mountPoint};
                request.environment = {{QStringLiteral("PATH"), QStringLiteral("/usr/bin:/bin")}};
                if (Result<Spawned> helper = spawnProcess(request))
                    ::waitpid(helper->pid(), nullptr, 0);
            }
        }
        if (isMounted(mountPoint))
            return false;
    }
    ::rmdir(path.constData());
    return true;
}

bool removeSandboxDir(const QString &dir)
{
    if (!unmountProtectionLayer(protectionMountPoint(dir)))
        return false;
    return QDir(dir).removeRecursively();
}

} // namespace airlock::sandbox
