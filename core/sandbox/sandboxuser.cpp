#include "sandbox/sandboxuser.h"

#include <QFile>
#include <QProcess>
#include <QStandardPaths>

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
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

bool writeText(const QByteArray &path, const QByteArray &text)
{
    const int fd = ::open(path.constData(), O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    const bool ok = ::write(fd, text.constData(), static_cast<size_t>(text.size())) == text.size();
    ::close(fd);
    return ok;
}

// The namespace holder's whole life: wait to be killed. Raw system calls only: it shares this
// process's memory and runs on a stack of its own.
int holdNamespace(void *)
{
    for (;;)
        ::syscall(SYS_ppoll, nullptr, 0, nullptr, nullptr, 0);
    return 0;
}

// A user namespace in which 0 stands for user.uid/user.gid: the idmap of the workspace's mount. Made
// once per mapping and process and kept: every sandbox of that user can use the same one.
//
// A process must live in the namespace while its maps are written. It is cloned with CLONE_VM, as
// posix_spawn does, because a fork copies this process's page tables, which in a large process on a
// virtual machine costs milliseconds; the holder is made in the namespace (CLONE_NEWUSER), so no
// handshake is needed before the maps are written.
Result<int> mappingNamespace(const SandboxUser &user)
{
    static std::mutex mutex;
    static std::map<std::pair<uid_t, gid_t>, int> made;
    const std::lock_guard lock(mutex);
    const auto key = std::pair{user.uid, user.gid};
    if (const auto it = made.find(key); it != made.end())
        return it->second;

    constexpr size_t kStackSize = 64 * 1024;
    void *stack = ::mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        return fail(ErrorCode::Io, QStringLiteral("cannot allocate a stack: ") + errnoText(errno));
    }
    // Every signal blocked around the clone: a handler of ours must never run on the holder's stack.
    sigset_t all, old;
    sigfillset(&all);
    ::pthread_sigmask(SIG_BLOCK, &all, &old);
    const pid_t pid = ::clone(holdNamespace, static_cast<char *>(stack) + kStackSize, CLONE_VM | CLONE_NEWUSER | SIGCHLD, nullptr);
    const int cloneErr = errno;
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    const auto finish = [&] {
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, __WALL);
        }
        ::munmap(stack, kStackSize);
    };
    if (pid < 0) {
        finish();
        return fail(ErrorCode::Io, QStringLiteral("cannot create a user namespace for the workspace's idmapped mount: ")
                                       + errnoText(cloneErr));
    }
    const QByteArray proc = "/proc/" + QByteArray::number(pid);
    if (!writeText(proc + "/uid_map", "0 " + QByteArray::number(user.uid) + " 1\n")
        || !writeText(proc + "/gid_map", "0 " + QByteArray::number(user.gid) + " 1\n")) {
        const int err = errno;
        finish();
        return fail(ErrorCode::Io, QStringLiteral("cannot map the workspace's owner to %1: %2").arg(user.describe(), errnoText(err)));
    }
    const QByteArray nsPath = proc + "/ns/user";
    const int fd = ::open(nsPath.constData(), O_RDONLY | O_CLOEXEC);
    const int openErr = errno;
    finish();
    if (fd < 0)
        return fail(ErrorCode::Io, QStringLiteral("cannot open the idmap's user namespace: ") + errnoText(openErr));
    made.emplace(key, fd);
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
        return fail(ErrorCode::Io, QStringLiteral("cannot clone the mount of %1 (Linux 5.12 or newer is needed): %2").arg(source, errnoText(err)));
    }
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    attr.userns_fd = static_cast<__u64>(*userns);
    const int set = ::mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof attr);
    const int setErr = errno; // the namespace stays open for the next sandbox of this user
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
