#include "sandbox/seccompfilter.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <QHash>
#include <QMutex>

#include <fcntl.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace airlock::sandbox {

namespace {

struct Rule
{
    const char *syscall;
    int error = EPERM;
    int arg = -1;                       // the argument compared, -1 for none
    scmp_compare op = SCMP_CMP_EQ;
    scmp_datum_t a = 0;                 // the mask for SCMP_CMP_MASKED_EQ, else the value
    scmp_datum_t b = 0;                 // the value for SCMP_CMP_MASKED_EQ
    const char *condition = nullptr;
};

// ioctl's request is an unsigned int; comparing only its low half stops a caller from slipping past
// with garbage in the upper bits (the kernel ignores them).
constexpr scmp_datum_t kLow32 = 0xffffffffu;

constexpr const char *kAlways[] = {
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
    "kexec_load", "kexec_file_load", "reboot",
    "bpf", "perf_event_open", "userfaultfd",
    "keyctl", "add_key", "request_key",
    "init_module", "finit_module", "delete_module",
    "open_by_handle_at", "iopl", "ioperm", "quotactl", "lookup_dcookie", "uselib", "vhangup",
    "acct", "swapon", "swapoff", "syslog", "settimeofday", "clock_settime",
    // A large, young kernel interface with a record of escapes; no agent tool needs it.
    "io_uring_setup", "io_uring_enter", "io_uring_register",
};

constexpr const char *kMounting[] = {
    "mount", "umount2", "pivot_root", "move_mount", "open_tree",
    "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
};

struct SetIdModeArg
{
    const char *name;
    int arg; // which argument is the mode
};
constexpr SetIdModeArg kSetIdModeArgs[] = {
    {"chmod", 1}, {"fchmod", 1}, {"fchmodat", 2}, {"fchmodat2", 2},
    {"open", 2}, {"openat", 3}, {"creat", 1}, {"mknod", 1}, {"mknodat", 2},
};

constexpr const char *kStrictOnly[] = {
    "kcmp", "name_to_handle_at",
    "fanotify_init", "mknod", "mknodat",
};

constexpr const char *kStrictNamespaces[] = {"setns", "chroot"};

constexpr unsigned long kOtherNamespaceFlags[] = {CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,
                                                  CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP};

// Socket families strict mode allows: AF_UNIX (1), AF_INET (2), AF_INET6 (10), AF_NETLINK (16).
constexpr int kBlockedFamilies[] = {0, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15};

bool isConfined(const policy::Privileges &privileges)
{
    return privileges.seccomp != policy::SeccompMode::Unconfined;
}

bool isStrict(const policy::Privileges &privileges)
{
    return privileges.seccomp == policy::SeccompMode::Strict;
}

QList<Rule> rulesFor(const policy::Privileges &privileges)
{
    QList<Rule> rules;
    if (!isConfined(privileges))
        return rules;
    const bool nested = privileges.nestedUserNamespaces;
    for (const char *name : kAlways)
        rules.append(Rule{name});
    rules.append(Rule{"ioctl", EPERM, 1, SCMP_CMP_MASKED_EQ, kLow32, TIOCSTI, "request == TIOCSTI"});
    rules.append(Rule{"ioctl", EPERM, 1, SCMP_CMP_MASKED_EQ, kLow32, TIOCLINUX, "request == TIOCLINUX"});
    // No set-user-ID or set-group-ID files: where the sandbox's files are stored as someone else's (a
    // root-owned workspace given to it through an idmapped mount), such a file would run as that owner
    // for anyone on the host. The mode is checked wherever one is given; openat2 hides it in a struct,
    // so it is reported missing and callers fall back to openat.
    for (const SetIdModeArg &call : kSetIdModeArgs) {
        for (scmp_datum_t bit : {scmp_datum_t(S_ISUID), scmp_datum_t(S_ISGID)})
            rules.append(Rule{call.name, EPERM, call.arg, SCMP_CMP_MASKED_EQ, bit, bit, "mode & (S_ISUID | S_ISGID)"});
    }
    rules.append(Rule{"openat2", ENOSYS});
    if (!nested) {
        for (const char *name : kMounting)
            rules.append(Rule{name});
        rules.append(Rule{"unshare", EPERM, 0, SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER, "flags & CLONE_NEWUSER"});
        rules.append(Rule{"clone", EPERM, 0, SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER, "flags & CLONE_NEWUSER"});
        rules.append(Rule{"clone3", ENOSYS});
    }
    if (!isStrict(privileges))
        return rules;
    for (const char *name : kStrictOnly)
        rules.append(Rule{name});
    if (!nested) {
        for (const char *name : kStrictNamespaces)
            rules.append(Rule{name});
        for (unsigned long flag : kOtherNamespaceFlags) {
            rules.append(Rule{"unshare", EPERM, 0, SCMP_CMP_MASKED_EQ, flag, flag, "flags & CLONE_NEW*"});
            rules.append(Rule{"clone", EPERM, 0, SCMP_CMP_MASKED_EQ, flag, flag, "flags & CLONE_NEW*"});
        }
    }
    // A family with anything in the upper bits is above 16 as well, so these cannot be slipped past.
    for (int family : kBlockedFamilies)
        rules.append(Rule{"socket", EAFNOSUPPORT, 0, SCMP_CMP_EQ, scmp_datum_t(family), 0, "family not unix/inet/inet6/netlink"});
    rules.append(Rule{"socket", EAFNOSUPPORT, 0, SCMP_CMP_GT, 16, 0, "family not unix/inet/inet6/netlink"});
    return rules;
}

struct ContextDeleter
{
    void operator()(void *ctx) const { seccomp_release(ctx); }
};

Result<QByteArray> readAll(int fd)
{
    if (::lseek(fd, 0, SEEK_SET) < 0)
        return fail(ErrorCode::Io, QStringLiteral("cannot rewind the seccomp program: %1").arg(QString::fromLocal8Bit(std::strerror(errno))));
    QByteArray out;
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fail(ErrorCode::Io, QStringLiteral("cannot read the seccomp program: %1").arg(QString::fromLocal8Bit(std::strerror(errno))));
        if (n == 0)
            break;
        out.append(buffer, n);
    }
    return out;
}

Result<QByteArray> build(const policy::Privileges &privileges)
{
    std::unique_ptr<void, ContextDeleter> ctx(seccomp_init(SCMP_ACT_ALLOW));
    if (!ctx)
        return fail(ErrorCode::Io, QStringLiteral("libseccomp could not start a filter"));
    // Another architecture's system call table (int 0x80 on x86_64) would walk around every rule.
    seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    for (const Rule &rule : rulesFor(privileges)) {
        int nr = seccomp_syscall_resolve_name(rule.syscall);
        // Newer than some libseccomp releases, but in every kernel since 6.6, with one number on all
        // architectures.
        if (nr == __NR_SCMP_ERROR && std::strcmp(rule.syscall, "fchmodat2") == 0)
            nr = 452;
        if (nr == __NR_SCMP_ERROR)
            continue; // not a call this libseccomp knows, so not one this kernel ABI has either
        int rc = 0;
        if (rule.arg < 0) {
            rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(rule.error), nr, 0);
        } else {
            const scmp_arg_cmp cmp{static_cast<unsigned int>(rule.arg), rule.op, rule.a, rule.b};
            rc = seccomp_rule_add_array(ctx.get(), SCMP_ACT_ERRNO(rule.error), nr, 1, &cmp);
        }
        // -EDOM: a pseudo call that does not exist on this architecture (e.g. socketcall on x86_64).
        if (rc != 0 && rc != -EDOM)
            return fail(ErrorCode::Io, QStringLiteral("libseccomp refused the rule for %1: %2")
                                           .arg(QLatin1StringView(rule.syscall), QString::fromLocal8Bit(std::strerror(-rc))));
    }
    const int fd = ::memfd_create("airlock-seccomp-export", MFD_CLOEXEC);
    if (fd < 0)
        return fail(ErrorCode::Io, QStringLiteral("cannot create a memfd for the seccomp program: %1").arg(QString::fromLocal8Bit(std::strerror(errno))));
    const int rc = seccomp_export_bpf(ctx.get(), fd);
    Result<QByteArray> program = rc == 0 ? readAll(fd)
                                         : fail(ErrorCode::Io, QStringLiteral("libseccomp could not export the filter: %1")
                                                                   .arg(QString::fromLocal8Bit(std::strerror(-rc))));
    ::close(fd);
    return program;
}

} // namespace

QList<SeccompRule> seccompRules(const policy::Privileges &privileges)
{
    QList<SeccompRule> out;
    for (const Rule &rule : rulesFor(privileges))
        out.append(SeccompRule{QString::fromLatin1(rule.syscall), rule.error,
                               rule.condition ? QString::fromLatin1(rule.condition) : QString()});
    return out;
}

Result<QByteArray> seccompProgram(const policy::Privileges &privileges)
{
    if (!isConfined(privileges))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("seccomp is unconfined in this policy; there is no filter"));
    // Only these two bits change the rules; a custom (Docker) profile compiles as the default here.
    const int key = (isStrict(privileges) ? 1 : 0) | (privileges.nestedUserNamespaces ? 2 : 0);
    static QMutex mutex;
    static QHash<int, QByteArray> cache;
    {
        QMutexLocker lock(&mutex);
        if (auto it = cache.constFind(key); it != cache.constEnd())
            return *it;
    }
    Result<QByteArray> program = build(privileges);
    if (program) {
        QMutexLocker lock(&mutex);
        cache.insert(key, *program);
    }
    return program;
}

QByteArray dockerSeccompProfile(const policy::Privileges &privileges)
{
    if (!isConfined(privileges) || privileges.seccomp == policy::SeccompMode::Custom)
        return {};
    const auto opName = [](scmp_compare op) {
        switch (op) {
        case SCMP_CMP_MASKED_EQ:
            return QStringLiteral("SCMP_CMP_MASKED_EQ");
        case SCMP_CMP_GT:
            return QStringLiteral("SCMP_CMP_GT");
        default:
            return QStringLiteral("SCMP_CMP_EQ");
        }
    };
    QJsonArray rules;
    for (const Rule &rule : rulesFor(privileges)) {
        QJsonObject r{{QStringLiteral("names"), QJsonArray{QString::fromLatin1(rule.syscall)}},
                      {QStringLiteral("action"), QStringLiteral("SCMP_ACT_ERRNO")},
                      {QStringLiteral("errnoRet"), rule.error}};
        if (rule.arg >= 0) {
            // Docker's masked compare takes the mask as value and the datum as valueTwo, as our rules do.
            const bool masked = rule.op == SCMP_CMP_MASKED_EQ;
            r.insert(QStringLiteral("args"), QJsonArray{QJsonObject{{QStringLiteral("index"), rule.arg},
                                                                    {QStringLiteral("value"), qint64(rule.a)},
                                                                    {QStringLiteral("valueTwo"), masked ? qint64(rule.b) : 0},
                                                                    {QStringLiteral("op"), opName(rule.op)}}});
        }
        rules.append(r);
    }
    const QJsonObject profile{{QStringLiteral("defaultAction"), QStringLiteral("SCMP_ACT_ALLOW")},
                              {QStringLiteral("architectures"), QJsonArray{QStringLiteral("SCMP_ARCH_X86_64"), QStringLiteral("SCMP_ARCH_X86"),
                                                                           QStringLiteral("SCMP_ARCH_X32"), QStringLiteral("SCMP_ARCH_AARCH64"),
                                                                           QStringLiteral("SCMP_ARCH_ARM")}},
                              {QStringLiteral("syscalls"), rules}};
    return QJsonDocument(profile).toJson(QJsonDocument::Compact);
}

Result<int> sealedMemfd(const char *name, const QByteArray &bytes)
{
    const int fd = ::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return fail(ErrorCode::Io, QStringLiteral("cannot create a memfd: %1").arg(QString::fromLocal8Bit(std::strerror(errno))));
    qsizetype done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.constData() + done, static_cast<size_t>(bytes.size() - done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            const int err = errno;
            ::close(fd);
            return fail(ErrorCode::Io, QStringLiteral("cannot fill a memfd: %1").arg(QString::fromLocal8Bit(std::strerror(err))));
        }
        done += n;
    }
    // Sealed, so nothing that inherits it can change what bwrap will read.
    ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
    ::lseek(fd, 0, SEEK_SET);
    return fd;
}

} // namespace airlock::sandbox
