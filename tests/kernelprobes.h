#pragma once

// Probes for kernel features some tests need. A kernel built or booted without a feature is a
// machine of the same kind, not a broken one: the tests that need it skip with the reason.

#include <QFile>
#include <QStandardPaths>
#include <QString>

#include <optional>

#include <csignal>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace airlock::test {

// Why the kernel cannot run i386 system calls from a 64-bit process (`int $0x80`), or nullopt when
// it can. A kernel without CONFIG_IA32_EMULATION (or booted with ia32_emulation=0) answers the
// instruction with SIGSEGV, so a filter's "kill the i386 table" rule can never be seen firing.
inline std::optional<QString> i386SyscallsUnavailable()
{
#if defined(__x86_64__)
    const pid_t pid = ::fork();
    if (pid < 0)
        return QStringLiteral("cannot fork to probe i386 system calls");
    if (pid == 0) {
        // The test framework's crash handler would print a backtrace for the expected SIGSEGV.
        ::signal(SIGSEGV, SIG_DFL);
        ::signal(SIGILL, SIG_DFL);
        long ret = 20; // getpid in the i386 table
        asm volatile("int $0x80" : "+a"(ret) : : "memory");
        ::_exit(ret == long(::getpid()) ? 0 : 1);
    }
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid)
        return QStringLiteral("cannot wait for the i386 probe");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return std::nullopt;
    if (WIFSIGNALED(status))
        return QStringLiteral("this kernel cannot run i386 code (an int $0x80 system call died of signal %1: "
                              "built without CONFIG_IA32_EMULATION or booted with ia32_emulation=0)")
            .arg(WTERMSIG(status));
    return QStringLiteral("this kernel's i386 getpid did not answer with the process id");
#else
    return QStringLiteral("only x86_64 has a second system call table to try");
#endif
}

// Why an unprivileged user cannot get the user namespace a non-setuid bubblewrap needs, or nullopt
// when nothing the kernel publishes says so. Root is never refused; the sysctls only bind others.
inline std::optional<QString> unprivilegedUserNamespacesUnavailable()
{
    const auto sysctl = [](const char *path) {
        QFile f(QString::fromLatin1(path));
        return f.open(QIODevice::ReadOnly) ? f.readAll().trimmed() : QByteArray();
    };
    const QString bwrap = QStandardPaths::findExecutable(QStringLiteral("bwrap"));
    struct stat st;
    if (!bwrap.isEmpty() && ::stat(QFile::encodeName(bwrap).constData(), &st) == 0 && (st.st_mode & S_ISUID))
        return std::nullopt; // a setuid bubblewrap does without them
    if (sysctl("/proc/sys/kernel/unprivileged_userns_clone") == "0")
        return QStringLiteral("unprivileged user namespaces are off (kernel.unprivileged_userns_clone = 0)");
    if (sysctl("/proc/sys/user/max_user_namespaces") == "0")
        return QStringLiteral("user namespaces are off (user.max_user_namespaces = 0)");
    if (sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1")
        return QStringLiteral("AppArmor restricts unprivileged user namespaces "
                              "(kernel.apparmor_restrict_unprivileged_userns = 1)");
    if (!QFile::exists(QStringLiteral("/proc/self/ns/user")))
        return QStringLiteral("this kernel has no user namespaces (built without CONFIG_USER_NS)");
    return std::nullopt;
}

} // namespace airlock::test
