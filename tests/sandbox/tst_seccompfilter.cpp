// The seccomp filter of local sandboxes: which rules each mode has, the program libseccomp exports,
// and what the kernel does with it, checked by loading it into a forked child and trying the calls.

#include "kernelprobes.h"
#include "sandbox/seccompfilter.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

using namespace airlock;
using namespace airlock::sandbox;

namespace {

enum class Call {
    Getpid, Ptrace, UnshareUser, Mount, Keyctl, Bpf, PerfEventOpen, Clone3, TiocstiHighBits, InitModule,
    KexecLoad, Userfaultfd, SocketPacket, SocketInet, IoUringSetup, Setns, I386Getpid
};

policy::Privileges privileges(policy::SeccompMode mode, bool nested = false)
{
    policy::Privileges p;
    p.seccomp = mode;
    p.nestedUserNamespaces = nested;
    return p;
}

// The errno the call failed with, 0 when it worked.
int attempt(Call call)
{
    long r = 0;
    switch (call) {
    case Call::Getpid:
        r = ::getpid() > 0 ? 0 : -1;
        break;
    case Call::Ptrace:
        r = ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
        break;
    case Call::UnshareUser:
        r = ::unshare(CLONE_NEWUSER);
        break;
    case Call::Mount:
        r = ::mount("none", "/tmp", "tmpfs", 0, nullptr);
        break;
    case Call::Keyctl:
        r = ::syscall(SYS_keyctl, 0, -3, 0);
        break;
    case Call::Bpf:
        r = ::syscall(SYS_bpf, 0, nullptr, 0);
        break;
    case Call::PerfEventOpen:
        r = ::syscall(SYS_perf_event_open, nullptr, 0, -1, -1, 0);
        break;
    case Call::Clone3:
        r = ::syscall(SYS_clone3, nullptr, 0);
        break;
    case Call::TiocstiHighBits: {
        char c = 'x';
        r = ::syscall(SYS_ioctl, 0, 0x100000000ULL | TIOCSTI, &c);
        break;
    }
    case Call::InitModule:
        r = ::syscall(SYS_init_module, nullptr, 0, "");
        break;
    case Call::KexecLoad:
        r = ::syscall(SYS_kexec_load, 0, 0, nullptr, 0);
        break;
    case Call::Userfaultfd:
        r = ::syscall(SYS_userfaultfd, 0);
        break;
    case Call::SocketPacket:
        r = ::socket(AF_PACKET, SOCK_RAW, 0);
        break;
    case Call::SocketInet:
        r = ::socket(AF_INET, SOCK_STREAM, 0);
        break;
    case Call::IoUringSetup:
        r = ::syscall(SYS_io_uring_setup, 1, nullptr);
        break;
    case Call::Setns:
        r = ::syscall(SYS_setns, -1, 0);
        break;
    case Call::I386Getpid: {
#if defined(__x86_64__)
        long ret = 20; // getpid in the i386 table
        asm volatile("int $0x80" : "+a"(ret) : : "memory");
        r = ret;
#endif
        break;
    }
    }
    return r < 0 ? errno : 0;
}

struct ChildResult
{
    bool exited = false;
    int err = 0;
    int signal = 0;
};

ChildResult runFiltered(const QByteArray &program, Call call)
{
    int fds[2];
    if (::pipe(fds) != 0)
        return {};
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(fds[0]);
        sock_fprog prog{static_cast<unsigned short>(program.size() / sizeof(sock_filter)),
                        reinterpret_cast<sock_filter *>(const_cast<char *>(program.constData()))};
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
            ::_exit(100);
        const int err = attempt(call);
        [[maybe_unused]] const ssize_t n = ::write(fds[1], &err, sizeof err);
        ::_exit(0);
    }
    ::close(fds[1]);
    ChildResult result;
    int err = -1;
    const bool got = ::read(fds[0], &err, sizeof err) == sizeof err;
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
        result.signal = WTERMSIG(status);
    result.exited = got && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    result.err = err;
    return result;
}

QStringList names(const QList<SeccompRule> &rules)
{
    QStringList out;
    for (const auto &r : rules)
        out << r.syscall;
    return out;
}

} // namespace

Q_DECLARE_METATYPE(Call)
Q_DECLARE_METATYPE(policy::SeccompMode)

class TestSeccompFilter : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void rules_data();
    void rules();
    void programIsCached();
    void unconfinedHasNoProgram();
    void enforced_data();
    void enforced();
    void memfdIsSealed();
    void dockerProfileIsTheSameFilter();
};

void TestSeccompFilter::rules_data()
{
    QTest::addColumn<policy::SeccompMode>("mode");
    QTest::addColumn<bool>("nested");
    QTest::addColumn<QStringList>("present");
    QTest::addColumn<QStringList>("absent");
    const QStringList always{QStringLiteral("ptrace"), QStringLiteral("kexec_load"), QStringLiteral("bpf"),
                             QStringLiteral("perf_event_open"), QStringLiteral("keyctl"), QStringLiteral("add_key"),
                             QStringLiteral("init_module"), QStringLiteral("finit_module"), QStringLiteral("delete_module"),
                             QStringLiteral("open_by_handle_at"), QStringLiteral("ioctl"), QStringLiteral("io_uring_setup")};
    const QStringList userns{QStringLiteral("mount"), QStringLiteral("umount2"), QStringLiteral("pivot_root"),
                             QStringLiteral("unshare"), QStringLiteral("clone"), QStringLiteral("clone3")};
    // mknod is refused outright in strict mode only; every confined mode refuses it (and chmod, open…)
    // with a set-user-ID or set-group-ID mode.
    const QStringList strict{QStringLiteral("setns"), QStringLiteral("socket")};
    const QStringList setId{QStringLiteral("chmod"), QStringLiteral("fchmodat"), QStringLiteral("openat"),
                            QStringLiteral("mknod"), QStringLiteral("openat2")};
    QTest::newRow("default") << policy::SeccompMode::Default << false << always + userns + setId << strict;
    QTest::newRow("custom is default") << policy::SeccompMode::Custom << false << always + userns + setId << strict;
    QTest::newRow("default, nested") << policy::SeccompMode::Default << true << always << userns;
    QTest::newRow("strict") << policy::SeccompMode::Strict << false << always + userns + strict << QStringList();
    QTest::newRow("strict, nested") << policy::SeccompMode::Strict << true << always + QStringList{QStringLiteral("mknod")}
                                    << QStringList{QStringLiteral("setns"), QStringLiteral("mount"), QStringLiteral("clone3")};
    QTest::newRow("unconfined") << policy::SeccompMode::Unconfined << false << QStringList() << always + userns;
}

void TestSeccompFilter::rules()
{
    QFETCH(policy::SeccompMode, mode);
    QFETCH(bool, nested);
    QFETCH(QStringList, present);
    QFETCH(QStringList, absent);
    const QStringList got = names(seccompRules(privileges(mode, nested)));
    for (const QString &name : present)
        QVERIFY2(got.contains(name), qPrintable(name));
    for (const QString &name : absent)
        QVERIFY2(!got.contains(name), qPrintable(name));
}

void TestSeccompFilter::programIsCached()
{
    const auto a = seccompProgram(privileges(policy::SeccompMode::Default));
    const auto b = seccompProgram(privileges(policy::SeccompMode::Default));
    const auto strict = seccompProgram(privileges(policy::SeccompMode::Strict));
    QVERIFY(a && b && strict);
    QVERIFY(!a->isEmpty());
    QCOMPARE(a->size() % qsizetype(sizeof(sock_filter)), 0);
    QCOMPARE(*a, *b);
    QVERIFY(strict->size() > a->size());
}

void TestSeccompFilter::unconfinedHasNoProgram()
{
    QVERIFY(!seccompProgram(privileges(policy::SeccompMode::Unconfined)));
}

void TestSeccompFilter::enforced_data()
{
    QTest::addColumn<policy::SeccompMode>("mode");
    QTest::addColumn<bool>("nested");
    QTest::addColumn<Call>("call");
    QTest::addColumn<int>("expected"); // errno, 0 for success, -SIGNAL for a kill
    using M = policy::SeccompMode;
    QTest::newRow("getpid works") << M::Default << false << Call::Getpid << 0;
    QTest::newRow("ptrace") << M::Default << false << Call::Ptrace << EPERM;
    QTest::newRow("user namespace") << M::Default << false << Call::UnshareUser << EPERM;
    QTest::newRow("mount") << M::Default << false << Call::Mount << EPERM;
    QTest::newRow("keyctl") << M::Default << false << Call::Keyctl << EPERM;
    QTest::newRow("bpf") << M::Default << false << Call::Bpf << EPERM;
    QTest::newRow("perf_event_open") << M::Default << false << Call::PerfEventOpen << EPERM;
    QTest::newRow("clone3 looks absent") << M::Default << false << Call::Clone3 << ENOSYS;
    QTest::newRow("TIOCSTI with high bits") << M::Default << false << Call::TiocstiHighBits << EPERM;
    QTest::newRow("init_module") << M::Default << false << Call::InitModule << EPERM;
    QTest::newRow("kexec_load") << M::Default << false << Call::KexecLoad << EPERM;
    QTest::newRow("userfaultfd") << M::Default << false << Call::Userfaultfd << EPERM;
    QTest::newRow("inet socket works") << M::Default << false << Call::SocketInet << 0;
    QTest::newRow("i386 table is killed") << M::Default << false << Call::I386Getpid << -SIGSYS;
    QTest::newRow("strict: packet socket") << M::Strict << false << Call::SocketPacket << EAFNOSUPPORT;
    QTest::newRow("strict: inet socket works") << M::Strict << false << Call::SocketInet << 0;
    QTest::newRow("io_uring") << M::Default << false << Call::IoUringSetup << EPERM;
    QTest::newRow("strict: setns") << M::Strict << false << Call::Setns << EPERM;
}

void TestSeccompFilter::enforced()
{
    QFETCH(policy::SeccompMode, mode);
    QFETCH(bool, nested);
    QFETCH(Call, call);
    QFETCH(int, expected);
    if (call == Call::I386Getpid)
        if (const auto why = airlock::test::i386SyscallsUnavailable())
            QSKIP(qPrintable(*why));
    const auto program = seccompProgram(privileges(mode, nested));
    QVERIFY(program);
    const ChildResult r = runFiltered(*program, call);
    if (expected < 0) {
        QCOMPARE(r.signal, -expected);
        return;
    }
    QVERIFY2(r.exited, "the child could not load the filter or died");
    QCOMPARE(r.err, expected);
}

void TestSeccompFilter::memfdIsSealed()
{
    const QByteArray bytes = QByteArray(1000, 'b');
    const Result<int> fd = sealedMemfd("test", bytes);
    QVERIFY(fd);
    char buffer[2000];
    QCOMPARE(::read(*fd, buffer, sizeof buffer), ssize_t(1000));
    QCOMPARE(QByteArray(buffer, 1000), bytes);
    QVERIFY(::write(*fd, "x", 1) < 0);
    QCOMPARE(errno, EPERM);
    QVERIFY(::fcntl(*fd, F_GETFD) & FD_CLOEXEC);
    ::close(*fd);
}

QTEST_GUILESS_MAIN(TestSeccompFilter)
// A Docker sandbox gets the same rules as a Docker profile; unconfined and custom get none from us.
void TestSeccompFilter::dockerProfileIsTheSameFilter()
{
    for (policy::SeccompMode mode : {policy::SeccompMode::Default, policy::SeccompMode::Strict}) {
        policy::Privileges p;
        p.seccomp = mode;
        const QJsonObject profile = QJsonDocument::fromJson(sandbox::dockerSeccompProfile(p)).object();
        QCOMPARE(profile.value(u"defaultAction").toString(), QStringLiteral("SCMP_ACT_ALLOW"));
        const QJsonArray rules = profile.value(u"syscalls").toArray();
        const QList<sandbox::SeccompRule> expected = sandbox::seccompRules(p);
        QCOMPARE(rules.size(), expected.size());
        bool userns = false;
        for (qsizetype i = 0; i < rules.size(); ++i) {
            const QJsonObject r = rules.at(i).toObject();
            QCOMPARE(r.value(u"names").toArray().first().toString(), expected.at(i).syscall);
            QCOMPARE(r.value(u"errnoRet").toInt(), expected.at(i).error);
            QCOMPARE(r.contains(u"args"), !expected.at(i).condition.isEmpty());
            const QJsonObject arg = r.value(u"args").toArray().first().toObject();
            if (expected.at(i).syscall == u"clone" && arg.value(u"value").toInteger() == CLONE_NEWUSER) {
                QCOMPARE(arg.value(u"op").toString(), QStringLiteral("SCMP_CMP_MASKED_EQ"));
                QCOMPARE(arg.value(u"valueTwo").toInteger(), qint64(CLONE_NEWUSER));
                userns = true;
            }
        }
        QVERIFY(userns);
    }
    policy::Privileges unconfined;
    unconfined.seccomp = policy::SeccompMode::Unconfined;
    QVERIFY(sandbox::dockerSeccompProfile(unconfined).isEmpty());
    policy::Privileges custom;
    custom.seccomp = policy::SeccompMode::Custom;
    QVERIFY(sandbox::dockerSeccompProfile(custom).isEmpty());
}

#include "tst_seccompfilter.moc"
