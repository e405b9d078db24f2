#include "sandbox/spawned.h"

#include "sandbox/cgroupfs.h"

#include <QFile>

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

namespace airlock::sandbox {

namespace {

constexpr int kHighFd = 64;        // parent-side copies live above every target number
constexpr size_t kStackSize = 64 * 1024;

enum Stage : int { Go = 1, Session, NoNewPrivs, Limit, Cgroup, Descriptors, User, Exec };

struct Report
{
    int stage;
    int err;
    int index; // which rlimit or cgroup
};

// Everything the child touches, prepared before it exists: it only makes system calls.
struct ChildArgs
{
    const char *program = nullptr;
    std::vector<char *> argv;
    std::vector<char *> envp;
    std::vector<std::pair<int, int>> descriptors; // (source, target)
    int maxTarget = 2;
    int devNull = -1;
    int output = -1;
    std::vector<rlimit> limits;
    std::vector<int> limitResources;
    std::vector<int> cgroupFds;
    bool noNewPrivileges = false;
    bool switchUser = false;
    uid_t uid = 0;
    gid_t gid = 0;
    int goFd = -1;
    int errorFd = -1;
};

[[noreturn]] void report(const ChildArgs &a, int stage, int err, int index = 0)
{
    const Report r{stage, err, index};
    [[maybe_unused]] const ssize_t n = ::write(a.errorFd, &r, sizeof r);
    ::_exit(127);
}

int childMain(void *arg)
{
    const ChildArgs &a = *static_cast<const ChildArgs *>(arg);
    // The parent blocked every signal around the clone; its handlers mean nothing here.
    struct sigaction dfl{};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sig != SIGKILL && sig != SIGSTOP)
            ::sigaction(sig, &dfl, nullptr);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);

    if (a.goFd >= 0) {
        char c = 0;
        ssize_t n;
        do {
            n = ::read(a.goFd, &c, 1);
        } while (n < 0 && errno == EINTR);
        if (n != 1)
            report(a, Go, n < 0 ? errno : ECANCELED);
    }
    if (::setsid() < 0)
        report(a, Session, errno);
    if (a.noNewPrivileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        report(a, NoNewPrivs, errno);
    for (size_t i = 0; i < a.limits.size(); ++i) {
        if (::setrlimit(static_cast<__rlimit_resource>(a.limitResources[i]), &a.limits[i]) != 0)
            report(a, Limit, errno, static_cast<int>(i));
    }
    for (size_t i = 0; i < a.cgroupFds.size(); ++i) {
        if (::write(a.cgroupFds[i], "0", 1) != 1)
            report(a, Cgroup, errno, static_cast<int>(i));
    }
    // Raw system calls: glibc's set*id wrappers would signal every thread of the (shared) parent.
    if (a.switchUser) {
        const gid_t groups[1] = {a.gid};
        if (::syscall(SYS_setgroups, 1, groups) != 0 || ::syscall(SYS_setresgid, a.gid, a.gid, a.gid) != 0
            || ::syscall(SYS_setresuid, a.uid, a.uid, a.uid) != 0)
            report(a, User, errno);
    }
    if (::dup2(a.devNull, 0) < 0 || ::dup2(a.output, 1) < 0 || ::dup2(a.output, 2) < 0)
        report(a, Descriptors, errno);
    for (const auto &[source, target] : a.descriptors) {
        if (::dup2(source, target) < 0)
            report(a, Descriptors, errno);
    }
    // Between 3 and the highest target only the targets stay; above it everything is close-on-exec
    // (the error pipe must survive until execve).
    for (int fd = 3; fd <= a.maxTarget; ++fd) {
        bool wanted = false;
        for (const auto &d : a.descriptors)
            wanted = wanted || d.second == fd;
        if (!wanted)
            ::close(fd);
    }
    if (::syscall(SYS_close_range, static_cast<unsigned>(a.maxTarget + 1), ~0u, CLOSE_RANGE_CLOEXEC) != 0) {
        for (int fd = a.maxTarget + 1; fd < 65536; ++fd)
            ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    ::execve(a.program, a.argv.data(), a.envp.data());
    report(a, Exec, errno);
}

QString errnoText(int err)
{
    return QString::fromLocal8Bit(std::strerror(err));
}

QString describe(const Report &r, const SpawnRequest &request)
{
    switch (r.stage) {
    case Go:
        return QStringLiteral("the launch was cancelled");
    case Session:
        return QStringLiteral("cannot start a new session: ") + errnoText(r.err);
    case NoNewPrivs:
        return QStringLiteral("cannot set no-new-privileges: ") + errnoText(r.err);
    case Limit:
        return QStringLiteral("cannot set resource limit %1: %2").arg(r.index).arg(errnoText(r.err));
    case Cgroup:
        return QStringLiteral("cannot enter the cgroup %1: %2")
            .arg(request.joinCgroups.value(r.index), errnoText(r.err));
    case Descriptors:
        return QStringLiteral("cannot set up descriptors: ") + errnoText(r.err);
    case User:
        return QStringLiteral("cannot switch to uid %1, gid %2: %3")
            .arg(request.user ? request.user->uid : 0)
            .arg(request.user ? request.user->gid : 0)
            .arg(errnoText(r.err));
    case Exec:
        return QStringLiteral("cannot execute %1: %2").arg(request.program, errnoText(r.err));
    }
    return QStringLiteral("the launch failed");
}

void closeFd(int &fd)
{
    if (fd >= 0)
        ::close(fd);
    fd = -1;
}

// Reads the child's report; 0 bytes means it reached execve.
std::optional<Report> readReport(int fd, int timeoutMs)
{
    pollfd p{fd, POLLIN, 0};
    if (timeoutMs >= 0 && ::poll(&p, 1, timeoutMs) <= 0)
        return Report{Exec, ETIMEDOUT, 0};
    Report r{};
    ssize_t n;
    do {
        n = ::read(fd, &r, sizeof r);
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(sizeof r))
        return r;
    return std::nullopt;
}

} // namespace

Spawned::Spawned(Spawned &&other) noexcept
    : m_pid(std::exchange(other.m_pid, -1)), m_pidfd(std::exchange(other.m_pidfd, -1)),
      m_goFd(std::exchange(other.m_goFd, -1)), m_errorFd(std::exchange(other.m_errorFd, -1))
{
}

Spawned &Spawned::operator=(Spawned &&other) noexcept
{
    if (this != &other) {
        closeFd(m_pidfd);
        closeFd(m_goFd);
        closeFd(m_errorFd);
        m_pid = std::exchange(other.m_pid, -1);
        m_pidfd = std::exchange(other.m_pidfd, -1);
        m_goFd = std::exchange(other.m_goFd, -1);
        m_errorFd = std::exchange(other.m_errorFd, -1);
    }
    return *this;
}

Spawned::~Spawned()
{
    // A child still waiting for go() sees the pipe close and exits.
    closeFd(m_goFd);
    closeFd(m_errorFd);
    closeFd(m_pidfd);
}

int Spawned::takePidfd()
{
    return std::exchange(m_pidfd, -1);
}

Result<void> Spawned::go()
{
    if (m_goFd < 0)
        return {};
    const char c = 1;
    const ssize_t n = ::write(m_goFd, &c, 1);
    closeFd(m_goFd);
    if (n != 1)
        return fail(ErrorCode::Io, QStringLiteral("cannot release the sandbox launcher: ") + errnoText(errno));
    const std::optional<Report> r = readReport(m_errorFd, 10000);
    closeFd(m_errorFd);
    if (r) {
        ::waitpid(m_pid, nullptr, 0);
        return fail(ErrorCode::Io, QStringLiteral("cannot start bwrap (%1)").arg(r->err));
    }
    return {};
}

Result<Spawned> spawnProcess(const SpawnRequest &request)
{
    ChildArgs a;
    const QByteArray program = QFile::encodeName(request.program);
    std::vector<QByteArray> storage;
    storage.reserve(static_cast<size_t>(request.arguments.size() + request.environment.size()) + 1);
    storage.push_back(program);
    for (const QString &arg : request.arguments)
        storage.push_back(arg.toLocal8Bit());
    const size_t argc = storage.size();
    for (auto it = request.environment.cbegin(); it != request.environment.cend(); ++it)
        storage.push_back((it.key() + u'=' + it.value()).toLocal8Bit());
    for (size_t i = 0; i < storage.size(); ++i)
        (i < argc ? a.argv : a.envp).push_back(storage[i].data());
    a.argv.push_back(nullptr);
    a.envp.push_back(nullptr);
    a.program = program.constData();
    a.noNewPrivileges = request.noNewPrivileges;
    if (request.user) {
        if (request.user->uid == 0 || request.user->gid == 0)
            return fail(ErrorCode::InvalidArgument, QStringLiteral("a sandbox may not be started as uid or gid 0"));
        a.switchUser = true;
        a.uid = request.user->uid;
        a.gid = request.user->gid;
    }

    // Everything opened here is the child's to use and ours to close afterwards.
    std::vector<int> toClose;
    const auto cleanup = [&] {
        for (int fd : toClose)
            ::close(fd);
    };
    const auto high = [&](int fd) -> int {
        const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, kHighFd);
        if (copy >= 0)
            toClose.push_back(copy);
        return copy;
    };
    a.devNull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (a.devNull >= 0)
        toClose.push_back(a.devNull);
    a.output = request.outputFd >= 0 ? high(request.outputFd) : a.devNull;
    if (a.devNull < 0 || a.output < 0) {
        cleanup();
        return fail(ErrorCode::Io, QStringLiteral("cannot prepare the sandbox's standard descriptors: ") + errnoText(errno));
    }
    for (const auto &d : request.descriptors) {
        if (d.target < 3 || d.target >= kHighFd) {
            cleanup();
            return fail(ErrorCode::InvalidArgument, QStringLiteral("descriptor %1 cannot be passed as %2").arg(d.source).arg(d.target));
        }
        const int copy = high(d.source);
        if (copy < 0) {
            cleanup();
            return fail(ErrorCode::Io, QStringLiteral("cannot pass descriptor %1: %2").arg(d.source).arg(errnoText(errno)));
        }
        a.descriptors.emplace_back(copy, d.target);
        a.maxTarget = std::max(a.maxTarget, d.target);
    }
    for (const RlimitValue &l : request.rlimits) {
        a.limitResources.push_back(l.resource);
        a.limits.push_back(rlimit{static_cast<rlim_t>(l.value), static_cast<rlim_t>(l.value)});
    }
    for (const QString &file : request.joinCgroups) {
        const int fd = ::open(QFile::encodeName(file).constData(), O_WRONLY | O_CLOEXEC);
        if (fd < 0) {
            const int err = errno;
            cleanup();
            return fail(ErrorCode::Io, QStringLiteral("cannot open %1: %2").arg(file, errnoText(err)));
        }
        toClose.push_back(fd);
        a.cgroupFds.push_back(fd);
    }
    int errorPipe[2];
    if (::pipe2(errorPipe, O_CLOEXEC) != 0) {
        cleanup();
        return fail(ErrorCode::Io, QStringLiteral("cannot create a pipe: ") + errnoText(errno));
    }
    toClose.push_back(errorPipe[1]);
    a.errorFd = errorPipe[1];
    int goPipe[2] = {-1, -1};
    if (request.waitForGo) {
        if (::pipe2(goPipe, O_CLOEXEC) != 0) {
            cleanup();
            ::close(errorPipe[0]);
            return fail(ErrorCode::Io, QStringLiteral("cannot create a pipe: ") + errnoText(errno));
        }
        toClose.push_back(goPipe[0]);
        a.goFd = goPipe[0];
    }

    Spawned spawned;
    spawned.m_errorFd = errorPipe[0];
    spawned.m_goFd = goPipe[1];

    sigset_t all, old;
    sigfillset(&all);
    ::pthread_sigmask(SIG_BLOCK, &all, &old);
    pid_t pid = -1;
    int pidfd = -1;
    int cloneErr = 0;
    if (!request.waitForGo) {
        void *stack = ::mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (stack != MAP_FAILED) {
            char *top = static_cast<char *>(stack) + kStackSize;
            pid = ::clone(childMain, top, CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &a, &pidfd);
            if (pid < 0 && errno == EINVAL) { // kernels before 5.2 have no CLONE_PIDFD
                pidfd = -1;
                pid = ::clone(childMain, top, CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
            }
            cloneErr = errno;
            ::munmap(stack, kStackSize);
        } else {
            cloneErr = errno;
        }
    } else {
        pid = ::fork();
        if (pid == 0)
            ::_exit(childMain(&a));
        cloneErr = errno;
    }
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    cleanup();
    if (pid < 0)
        return fail(ErrorCode::Io, QStringLiteral("cannot start %1: %2").arg(request.program, errnoText(cloneErr)));
    spawned.m_pid = pid;
    spawned.m_pidfd = pidfd >= 0 ? pidfd : openPidfd(pid);

    if (!request.waitForGo) {
        // With CLONE_VFORK we resume only after the child's execve or exit, so the report is in.
        const std::optional<Report> r = readReport(spawned.m_errorFd, -1);
        closeFd(spawned.m_errorFd);
        if (r) {
            ::waitpid(pid, nullptr, 0);
            spawned.m_pid = -1;
            return fail(ErrorCode::Io, describe(*r, request));
        }
    }
    if (spawned.m_pidfd < 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        spawned.m_pid = -1;
        return fail(ErrorCode::Io, QStringLiteral("this kernel has no pidfd (Linux 5.3 or newer is needed)"));
    }
    return spawned;
}

int openPidfd(pid_t pid)
{
    if (pid <= 0)
        return -1;
    const long fd = ::syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0)
        ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
    return static_cast<int>(fd);
}

std::optional<int> reapChild(pid_t pid)
{
    int status = 0;
    pid_t r;
    do {
        r = ::waitpid(pid, &status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == pid)
        return status;
    if (r < 0 && errno == ECHILD)
        return 0; // not ours (any more): someone else reaped it
    return std::nullopt;
}

quint64 pidNamespaceOf(qint64 pid)
{
    struct stat st{};
    if (pid <= 0 || ::stat(QByteArray("/proc/" + QByteArray::number(pid) + "/ns/pid").constData(), &st) != 0)
        return 0;
    return st.st_ino;
}

quint64 processStartTime(pid_t pid)
{
    if (pid <= 0)
        return 0;
    const Result<QByteArray> stat = cgroupfs::readSmallFile(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!stat)
        return 0;
    const qsizetype close = stat->lastIndexOf(')');
    if (close < 0)
        return 0;
    const QList<QByteArray> fields = stat->mid(close + 2).split(' ');
    // fields[0] is field 3 (state); starttime is field 22.
    if (fields.size() < 20)
        return 0;
    return fields.at(19).toULongLong();
}

} // namespace airlock::sandbox
