// The limiter: the /proc/self/cgroup and mountinfo parsers (good, malformed, truncated and oversized
// input), what each mechanism enforces and reports, and real cgroup folders where this process may
// make them.

#include "sandbox/cgroupfs.h"
#include "sandbox/limiter.h"

#include <QDir>
#include <QFileInfo>
#include <QTest>

#include <sys/resource.h>
#include <unistd.h>

using namespace airlock;
using namespace airlock::sandbox;

namespace {

const QByteArray kHybridCgroup = "9:name=systemd:/\n8:pids:/\n4:memory:/jobs/42\n1:cpu,cpuacct:/\n0::/\n";
const QByteArray kHybridMounts =
    "30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec - tmpfs tmpfs ro,mode=755\n"
    "35 30 0:31 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,pids\n"
    "36 30 0:32 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,memory\n"
    "37 30 0:33 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
    "38 30 0:34 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n"
    "40 25 8:1 / /home/with\\040space rw - ext4 /dev/sda1 rw\n";

policy::Resources resources()
{
    policy::Resources r;
    r.memoryBytes = 512LL << 20;
    r.pids = 100;
    r.cpus = 2;
    r.wallClockSeconds = 60;
    r.maxFileBytes = 1LL << 20;
    return r;
}

bool hasRlimit(const LimitPlan &plan, int resource, quint64 value)
{
    return plan.rlimits.contains(RlimitValue{resource, value});
}

bool canMakeCgroupV1()
{
    if (::geteuid() != 0)
        return false;
    LimitEnvironment env = LimitEnvironment::probe();
    Limiter limiter(env, LimitMechanism::CgroupV1);
    Result<LimitPlan> plan = limiter.prepare(QStringLiteral("probe-%1").arg(::getpid()), resources());
    if (!plan)
        return false;
    Limiter::release(plan->cgroup);
    return true;
}

} // namespace

Q_DECLARE_METATYPE(airlock::sandbox::LimitMechanism)

class TestSandboxLimits : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void procCgroup_data();
    void procCgroup();
    void mountInfo_data();
    void mountInfo();
    void oversized();
    void folderOf_data();
    void folderOf();
    void rlimitsAsUser();
    void rlimitsAsRoot();
    void forcedMechanismThatCannotWork_data();
    void forcedMechanismThatCannotWork();
    void autoFallsBackToRlimits();
    void systemdPlan();
    void forcedFromEnvironment();
    void placementJsonRefusesForeignFolders();
    void formatBytes_data();
    void formatBytes();
    void realCgroupV1();
};

void TestSandboxLimits::procCgroup_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<int>("entries"); // -1: an error
    QTest::newRow("hybrid") << kHybridCgroup << 5;
    QTest::newRow("unified") << QByteArray("0::/user.slice/user-1000.slice/session-2.scope\n") << 1;
    QTest::newRow("empty") << QByteArray() << 0;
    QTest::newRow("no final newline") << QByteArray("0::/") << 1;
    QTest::newRow("path with colon") << QByteArray("0::/a:b\n") << 1;
    QTest::newRow("truncated") << QByteArray("4:memory") << -1;
    QTest::newRow("no id") << QByteArray(":memory:/\n") << -1;
    QTest::newRow("id not a number") << QByteArray("x:memory:/\n") << -1;
    QTest::newRow("relative path") << QByteArray("0::jobs\n") << -1;
    QTest::newRow("v2 with controllers") << QByteArray("0:memory:/\n") << -1;
    QTest::newRow("binary") << QByteArray("\x01\x02:\xff:/\n", 8) << -1;
}

void TestSandboxLimits::procCgroup()
{
    QFETCH(QByteArray, text);
    QFETCH(int, entries);
    const auto parsed = cgroupfs::parseProcCgroup(text);
    if (entries < 0) {
        QVERIFY(!parsed);
        QVERIFY(!parsed.error().message.isEmpty());
        return;
    }
    QVERIFY2(parsed, parsed ? "" : qPrintable(parsed.error().message));
    QCOMPARE(parsed->size(), entries);
    if (text == kHybridCgroup) {
        QCOMPARE(parsed->at(2).controllers, QStringList{QStringLiteral("memory")});
        QCOMPARE(parsed->at(2).path, QStringLiteral("/jobs/42"));
        QCOMPARE(parsed->at(3).controllers, (QStringList{QStringLiteral("cpu"), QStringLiteral("cpuacct")}));
    }
}

void TestSandboxLimits::mountInfo_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<int>("mounts"); // cgroup mounts; -1: an error
    QTest::newRow("hybrid") << kHybridMounts << 4;
    QTest::newRow("empty") << QByteArray() << 0;
    QTest::newRow("escaped root") << QByteArray("41 30 0:35 /a\\040b /sys/fs/cgroup/x rw - cgroup2 cgroup2 rw\n") << 1;
    QTest::newRow("truncated") << QByteArray("35 30 0:31 / /sys/fs/cgroup/pids rw,nosuid") << -1;
    QTest::newRow("no separator") << QByteArray("35 30 0:31 / /x rw a b c d e f\n") << -1;
    QTest::newRow("bad escape") << QByteArray("41 30 0:35 /a\\04 /x rw - cgroup2 cgroup2 rw\n") << -1;
    QTest::newRow("nul escape") << QByteArray("41 30 0:35 /a\\000 /x rw - cgroup2 cgroup2 rw\n") << -1;
    QTest::newRow("relative mount point") << QByteArray("41 30 0:35 / x rw - cgroup2 cgroup2 rw\n") << -1;
    QTest::newRow("ids not numbers") << QByteArray("a b 0:35 / /x rw - cgroup2 cgroup2 rw\n") << -1;
    QTest::newRow("too many after separator") << QByteArray("41 30 0:35 / /x rw - cgroup2 cgroup2 rw extra\n") << -1;
}

void TestSandboxLimits::mountInfo()
{
    QFETCH(QByteArray, text);
    QFETCH(int, mounts);
    const auto parsed = cgroupfs::parseMountInfo(text);
    if (mounts < 0) {
        QVERIFY(!parsed);
        return;
    }
    QVERIFY2(parsed, parsed ? "" : qPrintable(parsed.error().message));
    QCOMPARE(parsed->size(), mounts);
    if (text == kHybridMounts) {
        QCOMPARE(parsed->at(0).controllers, QStringList{QStringLiteral("pids")});
        QCOMPARE(parsed->at(2).mountPoint, QStringLiteral("/sys/fs/cgroup/cpu,cpuacct"));
        QCOMPARE(parsed->at(2).controllers, (QStringList{QStringLiteral("cpu"), QStringLiteral("cpuacct")}));
        QVERIFY(parsed->at(3).v2);
    }
}

void TestSandboxLimits::oversized()
{
    const QByteArray huge = QByteArray("0::/\n").repeated(300000);
    QVERIFY(!cgroupfs::parseProcCgroup(huge));
    QVERIFY(!cgroupfs::parseMountInfo(huge));
    QVERIFY(!cgroupfs::parseProcCgroup(QByteArray(cgroupfs::kMaxProcFileBytes + 1, '\n')));
}

void TestSandboxLimits::folderOf_data()
{
    QTest::addColumn<QString>("root");
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("folder");
    QTest::newRow("whole hierarchy") << "/" << "/jobs/42" << "/sys/fs/cgroup/memory/jobs/42";
    QTest::newRow("our cgroup mounted") << "/jobs/42" << "/jobs/42" << "/sys/fs/cgroup/memory";
    QTest::newRow("below the mounted one") << "/jobs" << "/jobs/42" << "/sys/fs/cgroup/memory/42";
    QTest::newRow("not shown") << "/other" << "/jobs/42" << "";
    QTest::newRow("prefix is not a parent") << "/job" << "/jobs/42" << "";
    QTest::newRow("dot dot") << "/" << "/jobs/../../etc" << "";
}

void TestSandboxLimits::folderOf()
{
    QFETCH(QString, root);
    QFETCH(QString, path);
    QFETCH(QString, folder);
    cgroupfs::Mount m;
    m.root = root;
    m.mountPoint = QStringLiteral("/sys/fs/cgroup/memory");
    QCOMPARE(cgroupfs::folderOf(m, path), folder);
}

void TestSandboxLimits::rlimitsAsUser()
{
    LimitEnvironment env;
    env.root = false;
    env.openFilesHardLimit = 4096;
    const LimitPlan plan = Limiter(env, LimitMechanism::Rlimits).rlimitPlan(resources(), false, false, false);
    QCOMPARE(plan.mechanism, LimitMechanism::Rlimits);
    QVERIFY(hasRlimit(plan, RLIMIT_AS, 512u << 20));
    QVERIFY(hasRlimit(plan, RLIMIT_CPU, 120)); // 2 cpus × 60 s
    QVERIFY(hasRlimit(plan, RLIMIT_FSIZE, 1u << 20));
    QVERIFY(hasRlimit(plan, RLIMIT_NOFILE, 4096)); // never above the hard limit
    QCOMPARE(plan.shimMaxProcesses, std::optional<qint64>(100));
    QVERIFY(plan.report.unenforced.isEmpty());
    QCOMPARE(plan.report.enforced.size(), 5);
}

void TestSandboxLimits::rlimitsAsRoot()
{
    LimitEnvironment env;
    env.root = true;
    const LimitPlan plan = Limiter(env, LimitMechanism::Rlimits).rlimitPlan(resources(), false, false, false);
    QVERIFY(!plan.shimMaxProcesses);
    QCOMPARE(plan.report.unenforced.size(), 1);
    QVERIFY(plan.report.unenforced.first().contains(QStringLiteral("root")));
    // With a cgroup covering memory, pids and cpu only the per-file limits remain rlimits.
    const LimitPlan covered = Limiter(env).rlimitPlan(resources(), true, true, true);
    QCOMPARE(covered.rlimits.size(), 2);
    QVERIFY(covered.report.unenforced.isEmpty());
}

void TestSandboxLimits::forcedMechanismThatCannotWork_data()
{
    QTest::addColumn<LimitMechanism>("mechanism");
    QTest::newRow("systemd without a bus") << LimitMechanism::SystemdScope;
    QTest::newRow("cgroup v2 without controllers") << LimitMechanism::CgroupV2;
    QTest::newRow("cgroup v1 not mounted") << LimitMechanism::CgroupV1;
}

void TestSandboxLimits::forcedMechanismThatCannotWork()
{
    QFETCH(LimitMechanism, mechanism);
    LimitEnvironment env;
    env.procSelfCgroup = "0::/\n";
    env.mountInfo = "38 30 0:34 / /nonexistent/cgroup rw - cgroup2 cgroup2 rw\n";
    const Result<LimitPlan> plan = Limiter(env, mechanism).prepare(QStringLiteral("x"), resources());
    QVERIFY(!plan);
    QVERIFY(!plan.error().message.isEmpty());
}

void TestSandboxLimits::autoFallsBackToRlimits()
{
    LimitEnvironment env;
    env.procSelfCgroup = "garbage";
    env.mountInfo = "more garbage";
    const Result<LimitPlan> plan = Limiter(env).prepare(QStringLiteral("x"), resources());
    QVERIFY(plan);
    QCOMPARE(plan->mechanism, LimitMechanism::Rlimits);
    QVERIFY(plan->report.where.contains(QStringLiteral("cgroup-v1")));
}

void TestSandboxLimits::systemdPlan()
{
    LimitEnvironment env;
    env.systemdAvailable = true;
    env.procSelfCgroup = "0::/user.slice/user-1000.slice/user@1000.service/app.slice/airlock.scope\n";
    const Result<LimitPlan> plan = Limiter(env).prepare(QStringLiteral("sb-1"), resources());
    QVERIFY(plan);
    QCOMPARE(plan->mechanism, LimitMechanism::SystemdScope);
    QVERIFY(plan->systemdScope);
    QCOMPARE(plan->cgroup.unit, QStringLiteral("airlock-sb-1.scope"));
    QVERIFY(plan->joinFiles.isEmpty());
    QVERIFY(!plan->shimMaxProcesses);
    QVERIFY(plan->report.enforced.first().contains(QStringLiteral("systemd")));
    // On a hybrid host systemd would not apply MemoryMax: not a systemd plan then.
    env.procSelfCgroup = kHybridCgroup;
    QVERIFY(!Limiter(env, LimitMechanism::SystemdScope).prepare(QStringLiteral("sb-1"), resources()));
}

void TestSandboxLimits::forcedFromEnvironment()
{
    qputenv("AIRLOCK_LIMITS", "rlimits");
    QCOMPARE(*Limiter::forcedFromEnvironment(), std::optional(LimitMechanism::Rlimits));
    qputenv("AIRLOCK_LIMITS", "auto");
    QCOMPARE(*Limiter::forcedFromEnvironment(), std::optional<LimitMechanism>());
    qputenv("AIRLOCK_LIMITS", "cgroups-please");
    QVERIFY(!Limiter::forcedFromEnvironment());
    qputenv("AIRLOCK_LIMITS", "none");
    QVERIFY(!Limiter::forcedFromEnvironment());
    qunsetenv("AIRLOCK_LIMITS");
}

void TestSandboxLimits::placementJsonRefusesForeignFolders()
{
    CgroupPlacement p{LimitMechanism::CgroupV1,
                      {QStringLiteral("/sys/fs/cgroup/pids/airlock-x"), QStringLiteral("/etc"),
                       QStringLiteral("/sys/fs/cgroup/pids/../../etc/airlock-x"), QStringLiteral("/sys/fs/cgroup/pids/user")},
                      {},
                      QStringLiteral("/etc/passwd")};
    const CgroupPlacement back = CgroupPlacement::fromJson(p.toJson());
    QCOMPARE(back.directories, QStringList{QStringLiteral("/sys/fs/cgroup/pids/airlock-x")});
    QVERIFY(back.procsFile.isEmpty());
    QCOMPARE(back.mechanism, LimitMechanism::CgroupV1);
}

void TestSandboxLimits::formatBytes_data()
{
    QTest::addColumn<qint64>("bytes");
    QTest::addColumn<QString>("text");
    QTest::newRow("bytes") << qint64(512) << "512 B";
    QTest::newRow("MiB") << qint64(256LL << 20) << "256 MiB";
    QTest::newRow("GiB") << qint64(4LL << 30) << "4 GiB";
    QTest::newRow("fraction") << qint64(1536LL << 10) << "1.5 MiB";
}

void TestSandboxLimits::formatBytes()
{
    QFETCH(qint64, bytes);
    QFETCH(QString, text);
    QCOMPARE(sandbox::formatBytes(bytes), text);
}

void TestSandboxLimits::realCgroupV1()
{
    if (!canMakeCgroupV1())
        QSKIP("this process cannot make cgroup v1 folders (not root, or no v1 memory and pids hierarchies)");
    Limiter limiter(LimitEnvironment::probe(), LimitMechanism::CgroupV1);
    const QString id = QStringLiteral("test-%1").arg(::getpid());
    const Result<LimitPlan> plan = limiter.prepare(id, resources());
    QVERIFY(plan);
    QCOMPARE(plan->mechanism, LimitMechanism::CgroupV1);
    QVERIFY(!plan->cgroup.directories.isEmpty());
    for (const QString &dir : plan->cgroup.directories)
        QVERIFY(QFileInfo(dir).isDir());
    for (const QString &dir : plan->cgroup.directories) {
        if (QFileInfo::exists(dir + QStringLiteral("/pids.max")))
            QCOMPARE(cgroupfs::readSmallFile(dir + QStringLiteral("/pids.max"))->trimmed(), QByteArray("100"));
        if (QFileInfo::exists(dir + QStringLiteral("/memory.limit_in_bytes")))
            QCOMPARE(cgroupfs::readSmallFile(dir + QStringLiteral("/memory.limit_in_bytes"))->trimmed(), QByteArray::number(512 << 20));
        if (QFileInfo::exists(dir + QStringLiteral("/cpu.cfs_quota_us")))
            QCOMPARE(cgroupfs::readSmallFile(dir + QStringLiteral("/cpu.cfs_quota_us"))->trimmed(), QByteArray("200000"));
    }
    QCOMPARE(Limiter::countProcesses(plan->cgroup), 0);
    QVERIFY(Limiter::release(plan->cgroup).isEmpty());
    for (const QString &dir : plan->cgroup.directories)
        QVERIFY(!QFileInfo::exists(dir));
}

QTEST_GUILESS_MAIN(TestSandboxLimits)
#include "tst_sandboxlimits.moc"
