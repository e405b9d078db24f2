// airlock-attack: the system-call half of the escape suite, run inside sandboxes. Each subcommand
// tries one thing a prompt-injected agent might, prints "BLOCKED <why>" or "ESCAPED <what>" and
// exits 0 or 1. Static and Qt-free so it runs in any sandbox; every bomb is bounded.

#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <string>
#include <vector>

namespace {

int blocked(const char *why)
{
    std::printf("BLOCKED %s\n", why);
    return 0;
}

int blockedErrno(const char *what)
{
    std::printf("BLOCKED %s: %s\n", what, std::strerror(errno));
    return 0;
}

int escaped(const std::string &what)
{
    std::printf("ESCAPED %s\n", what.c_str());
    return 1;
}

// The needle arrives reversed, so this process's own argv never contains it.
std::string unreverse(const char *text)
{
    std::string s(text);
    std::reverse(s.begin(), s.end());
    return s;
}

std::string readAll(const std::string &path)
{
    std::string out;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return out;
    char buffer[65536];
    ssize_t n;
    while ((n = ::read(fd, buffer, sizeof buffer)) > 0 && out.size() < (1u << 20))
        out.append(buffer, static_cast<size_t>(n));
    ::close(fd);
    return out;
}

int grepProc(const char *reversed)
{
    const std::string needle = unreverse(reversed);
    DIR *dir = ::opendir("/proc");
    if (!dir)
        return blockedErrno("opendir /proc");
    int seen = 0;
    while (dirent *e = ::readdir(dir)) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        for (const char *file : {"environ", "cmdline"}) {
            const std::string text = readAll(std::string("/proc/") + e->d_name + "/" + file);
            ++seen;
            if (text.find(needle) != std::string::npos)
                return escaped(std::string("found in /proc/") + e->d_name + "/" + file);
        }
    }
    ::closedir(dir);
    std::printf("BLOCKED not in the environment or command line of %d files\n", seen);
    return 0;
}

int ptraceAttach(const char *pidText)
{
    const pid_t pid = static_cast<pid_t>(std::atoi(pidText));
    if (::ptrace(PTRACE_ATTACH, pid, nullptr, nullptr) != 0)
        return blockedErrno("ptrace attach");
    ::ptrace(PTRACE_DETACH, pid, nullptr, nullptr);
    return escaped("attached to pid " + std::string(pidText));
}

int doMount()
{
    if (::mount("none", "/tmp", "tmpfs", 0, nullptr) != 0)
        return blockedErrno("mount");
    return escaped("mounted a tmpfs");
}

int usernsRemount()
{
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
        return blockedErrno("unshare user+mount namespace");
    if (::mount(nullptr, "/usr", nullptr, MS_REMOUNT | MS_BIND, nullptr) != 0)
        return blockedErrno("remount /usr read-write in the nested namespace");
    return escaped("remounted /usr");
}

int raisePrivileges()
{
    ::setresuid(0, 0, 0);
    ::setresgid(0, 0, 0);
    const int ambient = ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0);
    const std::string status = readAll("/proc/self/status");
    const bool noCaps = status.find("CapEff:\t0000000000000000") != std::string::npos;
    const bool nnp = status.find("NoNewPrivs:\t1") != std::string::npos;
    if (ambient == 0 || !noCaps)
        return escaped("holds capabilities");
    if (!nnp)
        return escaped("no_new_privs is off, setuid binaries would work");
    return blocked("no capabilities, no_new_privs set");
}

int forkBomb(const char *limitText)
{
    const int limit = std::min(std::atoi(limitText), 4000);
    std::vector<pid_t> children;
    int failedErrno = 0;
    for (int i = 0; i < limit; ++i) {
        const pid_t pid = ::fork();
        if (pid < 0) {
            failedErrno = errno;
            break;
        }
        if (pid == 0) {
            ::pause();
            ::_exit(0);
        }
        children.push_back(pid);
    }
    for (pid_t pid : children)
        ::kill(pid, SIGKILL);
    for (pid_t pid : children)
        ::waitpid(pid, nullptr, 0);
    if (static_cast<int>(children.size()) >= limit)
        return escaped("forked " + std::to_string(children.size()) + " processes");
    std::printf("BLOCKED fork stopped after %zu: %s\n", children.size(), std::strerror(failedErrno));
    return 0;
}

int memoryBomb(const char *mbText)
{
    const long target = std::min(std::atol(mbText), 2048L);
    long reached = 0;
    for (; reached < target; reached += 16) {
        void *p = ::mmap(nullptr, 16u << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            std::printf("BLOCKED allocation failed at %ld MiB\n", reached);
            return 0;
        }
        std::memset(p, 0xa5, 16u << 20); // resident, not just reserved
        std::printf("%ld\n", reached + 16);
        std::fflush(stdout);
    }
    return escaped("allocated " + std::to_string(reached) + " MiB");
}

int abstractConnect(const char *name)
{
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const size_t len = std::min(std::strlen(name), sizeof addr.sun_path - 2);
    std::memcpy(addr.sun_path + 1, name, len);
    if (::connect(fd, reinterpret_cast<sockaddr *>(&addr), static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + len)) != 0)
        return blockedErrno("connect to the host's abstract socket");
    return escaped("connected to the host's abstract socket");
}

int syscallProbe(const char *what)
{
    const std::string w(what);
    long r = 0;
    if (w == "keyctl")
        r = ::syscall(SYS_add_key, "user", "airlock-escape", "x", 1, -3 /* session keyring */);
    else if (w == "bpf")
        r = ::syscall(SYS_bpf, 0, nullptr, 0);
    else if (w == "perf")
        r = ::syscall(SYS_perf_event_open, nullptr, 0, -1, -1, 0);
    else if (w == "module")
        r = ::syscall(SYS_finit_module, -1, "", 0);
    else if (w == "chroot")
        r = ::chroot("/tmp");
    else if (w == "hostname")
        r = ::sethostname("escaped", 7);
    else if (w == "handle")
        r = ::syscall(SYS_open_by_handle_at, AT_FDCWD, nullptr, O_RDONLY);
    else if (w == "tiocsti") {
        char c = 'x';
        r = ::ioctl(0, TIOCSTI, &c);
    } else if (w == "kexec")
        r = ::syscall(SYS_kexec_load, 0, 0, nullptr, 0);
    else
        return 2;
    // EFAULT/EBADF would mean the call itself was allowed and only our arguments were bad.
    if (r < 0 && (errno == EPERM || errno == ENOSYS || errno == EACCES || errno == ENOTTY))
        return blockedErrno(what);
    return escaped(std::string(what) + " was allowed (" + (r < 0 ? std::strerror(errno) : "succeeded") + ")");
}

} // namespace

int main(int argc, char **argv)
{
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    if (argc < 2)
        return 2;
    const std::string cmd = argv[1];
    const char *arg = argc > 2 ? argv[2] : "";
    if (cmd == "grep-proc")
        return grepProc(arg);
    if (cmd == "ptrace")
        return ptraceAttach(arg);
    if (cmd == "mount")
        return doMount();
    if (cmd == "userns-remount")
        return usernsRemount();
    if (cmd == "privileges")
        return raisePrivileges();
    if (cmd == "forkbomb")
        return forkBomb(arg);
    if (cmd == "membomb")
        return memoryBomb(arg);
    if (cmd == "abstract")
        return abstractConnect(arg);
    if (cmd == "syscall")
        return syscallProbe(arg);
    return 2;
}
