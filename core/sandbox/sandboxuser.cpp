#include "sandbox/sandboxuser.h"

#include <QFile>
#include <QProcess>
#include <QStandardPaths>

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

namespace airlock::sandbox {

namespace {

QString errnoText(int err)
{
    return QString::fromLocal8Bit(std::strerror(err));
}

QString userName(uid_t uid)
{
    passwd pw{};
    passwd *found = nullptr;
    char buffer[4096];
    if (::getpwuid_r(uid, &pw, buffer, sizeof buffer, &found) == 0 && found)
        return QString::fromLocal8Bit(found->pw_name);
    return {};
}

std::optional<SandboxUser> lookUp(const char *name)
{
    passwd pw{};
    passwd *found = nullptr;
    char buffer[4096];
    if (::getpwnam_r(name, &pw, buffer, sizeof buffer, &found) != 0 || !found)
        return std::nullopt;
    SandboxUser u;
    u.uid = found->pw_uid;
    u.gid = found->pw_gid;
    u.name = QString::fromLocal8Bit(name);
    return u;
}

// A child that sits in a new user namespace until its pipe closes; its namespace gets the mapping.
struct NamespaceHolder
{
    pid_t pid = -1;
    int release = -1;
    ~NamespaceHolder()
    {
        if (release >= 0)
            ::close(release);
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    }
};

bool writeText(const QByteArray &path, const QByteArray &text)
{
    const int fd = ::open(path.constData(), O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    const bool ok = ::write(fd, text.constData(), static_cast<size_t>(text.size())) == text.size();
    ::close(fd);
    return ok;
}

// A user namespace in which 0 stands for user.uid/user.gid: the idmap of the workspace's mount.
Result<int> mappingNamespace(const SandboxUser &user)
{
    int ready[2];
    int hold[2];
    if (::pipe2(ready, O_CLOEXEC) != 0)
        return fail(ErrorCode::Io, QStringLiteral("cannot create a pipe: ") + errnoText(errno));
    if (::pipe2(hold, O_CLOEXEC) != 0) {
        ::close(ready[0]);
        ::close(ready[1]);
        return fail(ErrorCode::Io, QStringLiteral("cannot create a pipe: ") + errnoText(errno));
    }
    NamespaceHolder holder;
    holder.pid = ::fork();
    if (holder.pid == 0) {
        // Only system calls from here on: the parent has threads.
        char c = ::unshare(CLONE_NEWUSER) == 0 ? 1 : 0;
        [[maybe_unused]] ssize_t n = ::write(ready[1], &c, 1);
        n = ::read(hold[0], &c, 1);
        ::_exit(0);
    }
    ::close(ready[1]);
    ::close(hold[0]);
    holder.release = hold[1];
    if (holder.pid < 0) {
        ::close(ready[0]);
        return fail(ErrorCode::Io, QStringLiteral("cannot fork: ") + errnoText(errno));
    }
    char c = 0;
    const ssize_t n = ::read(ready[0], &c, 1);
    ::close(ready[0]);
    if (n != 1 || c != 1)
        return fail(ErrorCode::Io, QStringLiteral("cannot create a user namespace for the workspace's idmapped mount"));
    const QByteArray proc = "/proc/" + QByteArray::number(holder.pid);
    if (!writeText(proc + "/uid_map", "0 " + QByteArray::number(user.uid) + " 1\n")
        || !writeText(proc + "/gid_map", "0 " + QByteArray::number(user.gid) + " 1\n"))
        return fail(ErrorCode::Io, QStringLiteral("cannot map the workspace's owner to %1: %2").arg(user.describe(), errnoText(errno)));
    const QByteArray nsPath = proc + "/ns/user";
    const int fd = ::open(nsPath.constData(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(ErrorCode::Io, QStringLiteral("cannot open the idmap's user namespace: ") + errnoText(errno));
    return fd;
}

} // namespace

QString SandboxUser::describe() const
{
    return name.isEmpty() ? QString::number(uid) : QStringLiteral("%1 (%2)").arg(uid).arg(name);
}

Result<SandboxUser> dedicatedSandboxUser()
{
    // One creation per process; useradd itself takes the lock on /etc/passwd against other processes.
    static std::mutex mutex;
    const std::lock_guard lock(mutex);
    if (auto u = lookUp(kSandboxUserName))
        return *u;
    if (::geteuid() != 0)
        return fail(ErrorCode::NotFound, QStringLiteral("the system user %1 does not exist").arg(QLatin1StringView(kSandboxUserName)));
    QString useradd = QStandardPaths::findExecutable(QStringLiteral("useradd"), {QStringLiteral("/usr/sbin"), QStringLiteral("/sbin")});
    QString output;
    if (!useradd.isEmpty()) {
        QProcess p;
        p.setProcessChannelMode(QProcess::MergedChannels);
        p.start(useradd, {QStringLiteral("--system"), QStringLiteral("--user-group"), QStringLiteral("--no-create-home"),
                          QStringLiteral("--home-dir"), QStringLiteral("/nonexistent"), QStringLiteral("--shell"),
                          QStringLiteral("/usr/sbin/nologin"), QStringLiteral("--comment"),
                          QStringLiteral("Airlock sandboxes started by root"), QString::fromLatin1(kSandboxUserName)});
        p.waitForFinished(30000);
        output = QString::fromLocal8Bit(p.readAll()).trimmed();
    }
    // Another process may have made it meanwhile; either way it exists now or cannot be made.
    if (auto u = lookUp(kSandboxUserName))
        return *u;
    return fail(ErrorCode::Io,
                QStringLiteral("sandboxes started by root run as the system user %1, which does not exist and could not be made%2; "
                               "create it (useradd --system --user-group %1) or start Airlock as a normal user")
                    .arg(QLatin1StringView(kSandboxUserName), output.isEmpty() ? QString() : QStringLiteral(" (") + output + u')'));
}

SandboxUser ownerOf(const struct stat &st)
{
    SandboxUser u;
    u.uid = st.st_uid;
    u.name = userName(st.st_uid);
    // The owner's own group, not the folder's, which may be a shared one.
    passwd pw{};
    passwd *found = nullptr;
    char buffer[4096];
    u.gid = ::getpwuid_r(st.st_uid, &pw, buffer, sizeof buffer, &found) == 0 && found ? found->pw_gid : st.st_gid;
    if (u.gid == 0)
        u.gid = st.st_gid != 0 ? st.st_gid : static_cast<gid_t>(st.st_uid);
    return u;
}

Result<SandboxUser> sandboxUserFor(const QString &workspace, uid_t launcherUid)
{
    if (launcherUid != 0) {
        SandboxUser u;
        u.uid = launcherUid;
        u.gid = ::getegid();
        u.name = userName(launcherUid);
        return u;
    }
    struct stat st{};
    if (::stat(QFile::encodeName(workspace).constData(), &st) != 0)
        return fail(ErrorCode::Io, QStringLiteral("cannot inspect the workspace %1: %2").arg(workspace, errnoText(errno)));
    if (st.st_uid != 0) {
        SandboxUser u = ownerOf(st);
        u.switchUser = true;
        return u;
    }
    Result<SandboxUser> dedicated = dedicatedSandboxUser();
    if (!dedicated)
        return dedicated;
    if (dedicated->uid == 0 || dedicated->gid == 0)
        return fail(ErrorCode::Io, QStringLiteral("the user %1 has uid or gid 0; it must be an unprivileged system user")
                                       .arg(QLatin1StringView(kSandboxUserName)));
    dedicated->switchUser = true;
    dedicated->idmapWorkspace = true;
    return dedicated;
}

Result<void> mountIdmapped(const QString &source, const QString &target, const SandboxUser &user)
{
    Result<int> userns = mappingNamespace(user);
    if (!userns)
        return std::unexpected(userns.error());
    const int tree = static_cast<int>(::open_tree(AT_FDCWD, QFile::encodeName(source).constData(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    if (tree < 0) {
        const int err = errno;
        ::close(*userns);
        return fail(ErrorCode::Io, QStringLiteral("cannot clone the mount of %1 (Linux 5.12 or newer is needed): %2").arg(source, errnoText(err)));
    }
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    attr.userns_fd = static_cast<__u64>(*userns);
    const int set = ::mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof attr);
    const int setErr = errno;
    ::close(*userns);
    if (set != 0) {
        ::close(tree);
        return fail(ErrorCode::Io, QStringLiteral("the file system of %1 cannot give the workspace to %2 through an idmapped mount (%3); "
                                                  "the workspace belongs to root, so the sandbox could not write it: make a normal user "
                                                  "own it (chown), or start Airlock as that user")
                                       .arg(source, user.describe(), errnoText(setErr)));
    }
    const int moved = ::move_mount(tree, "", AT_FDCWD, QFile::encodeName(target).constData(), MOVE_MOUNT_F_EMPTY_PATH);
    const int moveErr = errno;
    ::close(tree);
    if (moved != 0)
        return fail(ErrorCode::Io, QStringLiteral("cannot attach the idmapped workspace at %1: %2").arg(target, errnoText(moveErr)));
    // Private, so it is not copied into other mount namespaces that share the runtime folder's.
    ::mount(nullptr, QFile::encodeName(target).constData(), nullptr, MS_PRIVATE, nullptr);
    return {};
}

bool unmountAndRemove(const QString &target)
{
    const QByteArray native = QFile::encodeName(target);
    // Detach until nothing is mounted there (EINVAL: not a mount point; ENOENT: gone).
    for (int i = 0; i < 8 && ::umount2(native.constData(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0; ++i) {
    }
    // rmdir never removes what is inside: a folder that still shows the workspace stays.
    return ::rmdir(native.constData()) == 0 || errno == ENOENT;
}

} // namespace airlock::sandbox
