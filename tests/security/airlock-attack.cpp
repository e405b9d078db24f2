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

// Kernel settings that hold for the whole host (not per namespace), some of which make the kernel run
// a program as host root (core_pattern, modprobe, poweroff_cmd, hotplug). Each readable one is written
// back with the value it has, so a write that gets through changes nothing.
int sysctlWriteBack()
{
    const char *const settings[] = {
        "kernel/core_pattern", "kernel/modprobe", "kernel/poweroff_cmd", "kernel/hotplug", "kernel/core_uses_pid",
        "kernel/sysrq", "kernel/printk", "kernel/printk_ratelimit", "kernel/randomize_va_space", "kernel/kptr_restrict",
        "kernel/dmesg_restrict", "kernel/perf_event_paranoid", "kernel/yama/ptrace_scope", "kernel/panic",
        "kernel/panic_on_oops", "kernel/hung_task_timeout_secs", "kernel/pid_max", "kernel/threads-max",
        "kernel/ns_last_pid", "kernel/usermodehelper/bset", "fs/suid_dumpable", "fs/protected_symlinks",
        "fs/protected_hardlinks", "fs/protected_regular", "fs/file-max", "fs/pipe-max-size", "vm/overcommit_memory",
        "vm/mmap_min_addr", "vm/swappiness", "vm/max_map_count", "vm/unprivileged_userfaultfd",
    };
    std::string wrote;
    int tried = 0;
    for (const char *name : settings) {
        const std::string path = std::string("/proc/sys/") + name;
        const std::string value = readAll(path);
        if (value.empty())
            continue;
        ++tried;
        const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        if (::write(fd, value.data(), value.size()) == static_cast<ssize_t>(value.size()))
            wrote += std::string(wrote.empty() ? "" : ", ") + name;
        ::close(fd);
    }
    if (!wrote.empty())
        return escaped("wrote host-wide kernel settings: " + wrote);
    std::printf("BLOCKED none of %d readable kernel settings could be written\n", tried);
    return 0;
}

// Files whose mere opening for writing would be enough: one byte more triggers a kernel action.
int kernelTriggers()
{
    const char *const files[] = {
        "/proc/sysrq-trigger", "/proc/sys/fs/binfmt_misc/register", "/proc/sys/fs/binfmt_misc/status",
        "/proc/sys/vm/drop_caches", "/proc/sys/vm/compact_memory", "/sys/kernel/uevent_helper",
        "/sys/power/state", "/sys/kernel/mm/transparent_hugepage/enabled", "/proc/irq/default_smp_affinity",
    };
    std::string opened;
    for (const char *file : files) {
        const int fd = ::open(file, O_WRONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd >= 0) {
            opened += std::string(opened.empty() ? "" : ", ") + file;
            ::close(fd);
        }
    }
    if (!opened.empty())
        return escaped("opened for writing: " + opened);
    return blocked("no kernel trigger opens for writing");
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
    if (cmd == "sysctl")
        return sysctlWriteBack();
    if (cmd == "kernel-triggers")
        return kernelTriggers();

    return 2;
}
