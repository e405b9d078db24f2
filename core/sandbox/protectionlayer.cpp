#include "sandbox/protectionlayer.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QProcess>
#include <QStandardPaths>

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace airlock::sandbox {

namespace {

constexpr int kMountTimeoutMs = 15000;

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

Result<void> mountProtectionLayer(const QString &workspace, const QString &mountPoint, const QStringList &additions,
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
        fuseFd = ::open("/dev/fuse", O_RDWR); // no O_CLOEXEC: the layer's process inherits it
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
    // The other user may not be able to reach the workspace by its path (a folder of root's on the
    // way): it gets the folder itself, open, and reaches it through /dev/fd.
    int sourceFd = -1;
    if (runAs) {
        sourceFd = ::open(QFile::encodeName(workspace).constData(), O_PATH | O_DIRECTORY);
        if (sourceFd < 0) {
            const int err = errno;
            closeFuse();
            unmountProtectionLayer(mountPoint);
            return fail(ErrorCode::Io, QStringLiteral("cannot open the workspace %1: %2")
                                           .arg(workspace, QString::fromLocal8Bit(std::strerror(err))));
        }
    }
    args << (runAs ? QStringLiteral("/dev/fd/%1").arg(sourceFd) : workspace)
         << (runAs ? QStringLiteral("/dev/fd/%1").arg(fuseFd) : mountPoint);
    QProcess p;
    p.setProcessChannelMode(QProcess::SeparateChannels);
    if (runAs) {
        const LayerUser user = *runAs;
        // Raw system calls: the child must not signal threads of ours that it does not have.
        p.setChildProcessModifier([user] {
            if (::syscall(SYS_setgroups, 0, nullptr) != 0 || ::syscall(SYS_setresgid, user.gid, user.gid, user.gid) != 0
                || ::syscall(SYS_setresuid, user.uid, user.uid, user.uid) != 0)
                ::_exit(126);
        });
    }
    p.start(program, args);
    const bool finished = p.waitForFinished(kMountTimeoutMs);
    closeFuse(); // the layer holds its own copies
    if (sourceFd >= 0)
        ::close(sourceFd);
    if (!finished) {
        p.kill();
        p.waitForFinished(1000);
        unmountProtectionLayer(mountPoint);
        return fail(ErrorCode::Io, QStringLiteral("the workspace protection layer did not start within %1 s").arg(kMountTimeoutMs / 1000)
                                       + optOut);
    }
    const QByteArray out = p.readAllStandardOutput();
    if (p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0 || !out.startsWith("ready")) {
        const QString why = QString::fromLocal8Bit(p.readAllStandardError()).trimmed();
        unmountProtectionLayer(mountPoint);
        return fail(ErrorCode::Io, QStringLiteral("the workspace protection layer could not mount %1: %2.")
                                       .arg(workspace, why.isEmpty() ? QStringLiteral("exit status %1").arg(p.exitCode()) : why)
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
            if (!fusermount.isEmpty())
                QProcess::execute(fusermount, {QStringLiteral("-u"), QStringLiteral("-z"), mountPoint});
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
