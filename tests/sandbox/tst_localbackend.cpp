// LocalBackend with real bubblewrap: starting, exec, the environment, files, limits, start failures,
// the control socket and output caps. (Stopping, destroying, persistence, the wall clock and events:
// tst_locallifecycle.)

#include "sandboxtestutil.h"

#include "policy/codec.h"
#include "sandbox/cgroupfs.h"
#include "sandbox/sandboxstate.h"
#include "sandbox/shimclient.h"
#include "store/eventstore.h"
#include "store/storereader.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QScopeGuard>
#include <QSignalSpy>
#include <QTest>

#include <fcntl.h>
#include <unistd.h>

using namespace airlock;
using namespace airlock::sandbox;
using namespace airlock::sandbox::test;

namespace {

const QByteArray kPlanted = "sk-airlock-planted-0f1e2d3c4b5a69788796a5b4c3d2e1f0";

QByteArray procFile(qint64 pid, const char *name)
{
    QFile f(QStringLiteral("/proc/%1/%2").arg(pid).arg(QLatin1StringView(name)));
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

} // namespace

class TestLocalBackend : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void execStreamsAndExits_data();
    void execStreamsAndExits();
    void stdinTimeoutAndCap();
    void environmentIsThePolicys();
    void bwrapCarriesNoSecret();
    void filesStayInTheWorkspace();
    void limitsAreReported();
    void rlimitFallback();
    void startFailures_data();
    void startFailures();
    void controlSocketIsTheHostsOnly();
    void outputCapStopsTheProcess();
    void outOfMemoryIsNamed();
};

void TestLocalBackend::initTestCase()
{
    qputenv("AIRLOCK_TEST_API_KEY", kPlanted);
    qputenv("OPENAI_API_KEY", kPlanted);
}

void TestLocalBackend::execStreamsAndExits_data()
{
    QTest::addColumn<QString>("script");
    QTest::addColumn<QByteArray>("out");
    QTest::addColumn<QByteArray>("err");
    QTest::addColumn<int>("code");
    QTest::addColumn<int>("signal");
    QTest::newRow("stdout") << "echo hello" << QByteArray("hello\n") << QByteArray() << 0 << 0;
    QTest::newRow("stderr") << "echo oops >&2" << QByteArray() << QByteArray("oops\n") << 0 << 0;
    QTest::newRow("status") << "exit 3" << QByteArray() << QByteArray() << 3 << 0;
    QTest::newRow("signal") << "kill -9 $$" << QByteArray() << QByteArray() << -1 << 9;
    QTest::newRow("cwd is the workspace") << "pwd | grep -c /ws$" << QByteArray("1\n") << QByteArray() << 0 << 0;
    QTest::newRow("hostname") << "cat /proc/sys/kernel/hostname" << QByteArray("airlock\n") << QByteArray() << 0 << 0;
}

void TestLocalBackend::execStreamsAndExits()
{
    AIRLOCK_REQUIRE_BWRAP();
    QFETCH(QString, script);
    QFETCH(QByteArray, out);
    QFETCH(QByteArray, err);
    QFETCH(int, code);
    QFETCH(int, signal);
    SandboxFixture f;
    Sandbox *s = f.start();
    QVERIFY(s);
    const Outcome o = sh(s, script);
    QVERIFY2(o.status, qPrintable(o.error ? o.error->message : QString()));
    QCOMPARE(o.out, out);
    QCOMPARE(o.err, err);
    if (signal) {
        QCOMPARE(o.status->signal.value_or(0), signal);
    } else {
        QCOMPARE(o.code(), code);
    }
    QVERIFY(destroyAndWait(s));
}

void TestLocalBackend::stdinTimeoutAndCap()
{
    AIRLOCK_REQUIRE_BWRAP();
    SandboxFixture f;
    Sandbox *s = f.start();
    QVERIFY(s);

    ExecRequest withStdin;
    withStdin.argv = {QStringLiteral("tr"), QStringLiteral("a-z"), QStringLiteral("A-Z")};
    withStdin.stdinData = QByteArray("shout\n");
    Outcome o = run(s, withStdin);
    QCOMPARE(o.out, QByteArray("SHOUT\n"));

    ExecRequest slow;
    slow.argv = {QStringLiteral("sleep"), QStringLiteral("30")};
    slow.timeoutMs = 200;
    slow.killGraceMs = 100;
    QElapsedTimer t;
    t.start();
    o = run(s, slow);
    QVERIFY(o.status);
    QVERIFY(o.status->timedOut);
    QVERIFY2(t.elapsed() < 5000, "the per-exec wall clock did not stop it");

    // No cap in the request: the policy's maxOutputBytes (1 MiB in the test policy) applies.
    ExecRequest flood;
    flood.argv = {QStringLiteral("/bin/sh"), QStringLiteral("-c"), QStringLiteral("head -c 3000000 /dev/zero")};
    o = run(s, flood);
    QVERIFY(o.status);
    QVERIFY(o.status->outputTruncated);
    QCOMPARE(o.out.size(), qsizetype(1 << 20));
    // Past the cap the command is stopped rather than left to write the rest unseen.
    QVERIFY(o.status->outputCapStopped);
    QVERIFY(o.status->outputBytes >= quint64(1 << 20) && o.status->outputBytes <= quint64(3000000));
    QVERIFY(destroyAndWait(s));
}

void TestLocalBackend::environmentIsThePolicys()
{
    AIRLOCK_REQUIRE_BWRAP();
    SandboxFixture f;
    Sandbox *s = f.start();
    QVERIFY(s);
    const Outcome o = sh(s, QStringLiteral("env | sort"));
    QVERIFY(o.status);
    QVERIFY(o.out.contains("HOME=/home/agent\n"));
    QVERIFY(o.out.contains("HTTP_PROXY=http://127.0.0.1:3128\n"));
    QVERIFY(!o.out.contains(kPlanted));
    QVERIFY(!o.out.contains("AIRLOCK_TEST_API_KEY"));
    // The shim's own first process is readable from inside: it must not carry the secret either.
    const Outcome proc = sh(s, QStringLiteral("cat /proc/1/environ /proc/1/cmdline /proc/2/environ /proc/2/cmdline"));
    QVERIFY(!proc.out.contains(kPlanted));
    // Nothing but stdio reaches an exec; the shim marked whatever bwrap handed down close-on-exec.
    ExecRequest ls;
    ls.argv = {QStringLiteral("ls"), QStringLiteral("/proc/self/fd")};
    QCOMPARE(run(s, ls).out, QByteArray("0\n1\n2\n3\n")); // 3: the folder ls is reading
    QVERIFY(destroyAndWait(s));
}

void TestLocalBackend::bwrapCarriesNoSecret()
{
    AIRLOCK_REQUIRE_BWRAP();
    SandboxFixture f;
    Sandbox *s = f.start();
    QVERIFY(s);
    const qint64 pid = s->info().hostPid;
    QVERIFY(pid > 0);
    const QByteArray environment = procFile(pid, "environ");
    const QByteArray cmdline = procFile(pid, "cmdline");
    QVERIFY(!environment.isEmpty());
    QVERIFY(!cmdline.isEmpty());
    QVERIFY(!environment.contains(kPlanted));
    QVERIFY(!cmdline.contains(kPlanted));
    // The environment is exactly the compiled one: nothing of ours leaked into it.
    QVERIFY(!environment.contains("AIRLOCK_TEST_API_KEY"));
    QVERIFY(!environment.contains("AIRLOCK_RUNTIME_DIR"));
    QVERIFY(environment.contains("HOME=/home/agent"));
    QVERIFY(destroyAndWait(s));
}

void TestLocalBackend::filesStayInTheWorkspace()
{
    AIRLOCK_REQUIRE_BWRAP();
    SandboxFixture f;
    Sandbox *s = f.start();
    QVERIFY(s);
    auto written = s->writeFile(QStringLiteral("dir/a.txt"), "alpha", WriteOptions{wire::WriteMode::Truncate, 0644, true});
    QVERIFY(QTest::qWaitFor([&] { return written.isFinished(); }, 5000));
    QVERIFY(written.result());
    QCOMPARE(QFileInfo(f.workspace() + QStringLiteral("/dir/a.txt")).size(), 5);
    auto read = s->readFile(QStringLiteral("dir/a.txt"));
    QVERIFY(QTest::qWaitFor([&] { return read.isFinished(); }, 5000));
    QCOMPARE(read.result().value_or(QByteArray()), QByteArray("alpha"));
    auto listed = s->listDir(QStringLiteral("dir"));
    QVERIFY(QTest::qWaitFor([&] { return listed.isFinished(); }, 5000));
    QVERIFY(listed.result());
    QCOMPARE(listed.result()->entries.size(), 1);
    auto stat = s->stat(QStringLiteral("dir/a.txt"));
    QVERIFY(QTest::qWaitFor([&] { return stat.isFinished(); }, 5000));
    QCOMPARE(stat.result()->size, quint64(5));
    auto escape = s->readFile(QStringLiteral("../../../../etc/passwd"));
    QVERIFY(QTest::qWaitFor([&] { return escape.isFinished(); }, 5000));
    QVERIFY(!escape.result());
    QVERIFY(destroyAndWait(s));
}

void TestLocalBackend::limitsAreReported()
{
    AIRLOCK_REQUIRE_BWRAP();
    SandboxFixture f;
    Sandbox *s = f.start();
    QVERIFY(s);
    const SandboxInfo info = s->info();
    qInfo("limits mechanism: %s; uid mapping: %s; %s", qPrintable(mechanismName(info.limits.mechanism)),
          qPrintable(info.uidMapping), qPrintable(info.limits.enforced.join(QStringLiteral("; "))));
    QVERIFY(info.limits.mechanism != LimitMechanism::None);
    QVERIFY(!info.limits.enforced.isEmpty());
    // Never host uid 0: as root, the sandbox runs as the workspace's owner or as airlock-sandbox.
    const qint64 hostUid = info.uidMapping.section(QStringLiteral(" -> "), 1).section(u' ', 0, 0).toLongLong();
    if (::geteuid() == 0)
        QVERIFY2(hostUid > 0, qPrintable(info.uidMapping));
    else
        QCOMPARE(hostUid, qint64(::geteuid()));
    QVERIFY(info.processes >= 1); // the shim, pid 1 of the sandbox
    QVERIFY(info.created.isValid());
    // File size and open files are rlimits whatever else is in force.
    const Outcome limits = sh(s, QStringLiteral("cat /proc/self/limits"));
    QVERIFY(limits.out.contains("Max file size             8388608"));
    QVERIFY(limits.out.contains("Max open files            8192"));
    if (info.limits.mechanism == LimitMechanism::CgroupV1 || info.limits.mechanism == LimitMechanism::CgroupV2) {
        const QString procs = s->info().limits.where.split(QStringLiteral(", ")).constFirst() + QStringLiteral("/cgroup.procs");
        QVERIFY2(cgroupfs::countProcs(procs) >= 2, qPrintable(procs)); // bwrap and the shim
        const QByteArray bwrapCgroups = procFile(info.hostPid, "cgroup");
        QVERIFY2(bwrapCgroups.contains(QByteArray("/airlock-" + s->id().toUtf8())), bwrapCgroups.constData());
        // Inside, its own cgroup namespace makes the sandbox's cgroup look like the root: the pids
        // hierarchy's line on a v1 (or hybrid) host, the single unified line on a v2-only one.
        const QByteArray inside = sh(s, QStringLiteral("cat /proc/self/cgroup")).out;
        const QByteArray rootLine = info.limits.mechanism == LimitMechanism::CgroupV1 ? "pids:/\n" : "0::/\n";
        QVERIFY2(inside.contains(rootLine), inside.constData());
    }
    QVERIFY(destroyAndWait(s));
}

void TestLocalBackend::rlimitFallback()
{
    AIRLOCK_REQUIRE_BWRAP();
    LocalBackendOptions options;
    options.limits = LimitMechanism::Rlimits;
    SandboxFixture f(options);
    Sandbox *s = f.start();
    QVERIFY(s);
    const SandboxInfo info = s->info();
    QCOMPARE(info.limits.mechanism, LimitMechanism::Rlimits);
    const Outcome limits = sh(s, QStringLiteral("cat /proc/self/limits"));
    QVERIFY(limits.out.contains("Max address space         268435456"));
    if (::geteuid() != 0) {
        QVERIFY(limits.out.contains("Max processes             64"));
    } else {
        // Root is exempt from RLIMIT_NPROC: the report must say the process limit is not enforced.
        QVERIFY(info.limits.unenforced.join(u' ').contains(QStringLiteral("RLIMIT_NPROC")));
    }
    QVERIFY(destroyAndWait(s));
}

void TestLocalBackend::startFailures_data()
{
    QTest::addColumn<QString>("what");
    QTest::newRow("missing workspace") << "workspace";
    QTest::newRow("bad name") << "name";
    QTest::newRow("taken name") << "taken";
    QTest::newRow("docker policy") << "docker";
    QTest::newRow("bwrap fails") << "bwrap";
    QTest::newRow("no shim") << "shim";
}

void TestLocalBackend::startFailures()
{
    AIRLOCK_REQUIRE_BWRAP();
    QFETCH(QString, what);
    LocalBackendOptions options;
    QTemporaryDir scratch;
    if (what == u"bwrap") {
        // A bwrap that complains and exits, like one the kernel refuses namespaces to.
        const QString fake = scratch.filePath(QStringLiteral("bwrap"));
        QFile script(fake);
        QVERIFY(script.open(QIODevice::WriteOnly));
        script.write("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n");
        script.close();
        // Executable by everyone: a root launcher starts bwrap as the sandbox's unprivileged uid.
        script.setPermissions(QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner | QFile::ReadOther | QFile::ExeOther);
        QFile::setPermissions(scratch.path(), QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner | QFile::ExeOther);
        options.bwrap = fake;
    }
    if (what == u"shim")
        options.shim = scratch.filePath(QStringLiteral("no-such-shim"));
    SandboxFixture f(options);
    SandboxSpec spec = f.spec();
    if (what == u"workspace")
        spec.workspace = f.path() + QStringLiteral("/missing");
    if (what == u"name")
        spec.id = QStringLiteral("../escape");
    if (what == u"docker") {
        spec.policy.runtime.backend = policy::Backend::Docker;
        spec.policy.runtime.image = QStringLiteral("debian:12");
    }
    if (what == u"taken") {
        spec.id = QStringLiteral("twice");
        QVERIFY(f.start(spec));
    }
    Result<Sandbox *> s = f.backend().create(spec);
    if (what == u"bwrap") {
        QVERIFY(s);
        QVERIFY(waitForState(*s, SandboxState::Failed));
        QVERIFY2((*s)->info().message.contains(QStringLiteral("No permissions to create new namespace")),
                 qPrintable((*s)->info().message));
        QVERIFY(destroyAndWait(*s));
        QVERIFY(QDir(f.runtimeRoot() + QStringLiteral("/sandboxes")).isEmpty());
        return;
    }
    QVERIFY(!s);
    QVERIFY(!s.error().message.isEmpty());
    if (what != u"taken")
        QVERIFY(QDir(f.runtimeRoot() + QStringLiteral("/sandboxes")).isEmpty());
}

// The agent connects to the shim's control socket (visible, read-only, in /airlock/control) again
// and again and holds the connections: connecting needs no write permission. Only Airlock, outside
// the sandbox's pid namespace, may hold a slot; the agent's connections are closed at once.
void TestLocalBackend::controlSocketIsTheHostsOnly()
{
    AIRLOCK_REQUIRE_BWRAP();
    if (!QFileInfo::exists(QStringLiteral("/usr/bin/python3")))
        QSKIP("/usr/bin/python3 plays the agent here");
    SandboxFixture f;
    Sandbox *s = f.start();
    QVERIFY(s);
    const QString script = QStringLiteral(R"(
import select, socket, time
held = []
for _ in range(80):
    c = socket.socket(socket.AF_UNIX)
    try:
        c.connect('/airlock/control/shim.sock')
    except PermissionError:
        print('refused to connect', flush=True)
        time.sleep(60)
    held.append(c)
live, end = set(held), time.time() + 3
while live and time.time() < end:
    ready, _, _ = select.select(list(live), [], [], 0.1)
    for c in ready:
        if c.recv(1) == b'':
            live.discard(c)
print('closed', 80 - len(live), 'of 80', flush=True)
time.sleep(60)
)");
    ExecRequest hold;
    hold.argv = {QStringLiteral("/usr/bin/python3"), QStringLiteral("-c"), script};
    hold.inheritEnv = true;
    Result<SandboxProcess *> p = s->exec(hold);
    QVERIFY(p);
    auto out = std::make_shared<QByteArray>();
    QObject::connect(*p, &SandboxProcess::stdoutReceived, [out](const QByteArray &c) { *out += c; });
    QObject::connect(*p, &SandboxProcess::stderrReceived, [out](const QByteArray &c) { *out += c; });
    QTRY_VERIFY_WITH_TIMEOUT(out->contains('\n'), 30000);
    // As root the sandbox runs as another user, who may not even connect to the root-owned socket;
    // otherwise the shim closes every connection from inside.
    QVERIFY2(out->trimmed() == "closed 80 of 80" || (::geteuid() == 0 && out->trimmed() == "refused to connect"),
             out->constData());

    // While the agent's script is still running, Airlock can open a new control connection.
    // Through an open descriptor of the folder, as the backend does: a deep test folder makes the
    // socket's path longer than a unix socket address may be.
    const int controlFd = ::open(QFile::encodeName(s->info().controlDir).constData(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    QVERIFY(controlFd >= 0);
    const auto closeControl = qScopeGuard([controlFd] { ::close(controlFd); });
    ShimClient client;
    QSignalSpy ready(&client, &ShimClient::ready);
    client.connectToShim(QStringLiteral("/proc/self/fd/%1/shim.sock").arg(controlFd), 10000);
    QVERIFY(ready.wait(10000));
    QVERIFY(!(*p)->isFinished());
    QVERIFY(destroyAndWait(s));
}

// `yes` never ends by itself; past maxOutputBytes (1 MiB in the test policy) it is stopped, and the
// exit says why.
void TestLocalBackend::outputCapStopsTheProcess()
{
    AIRLOCK_REQUIRE_BWRAP();
    SandboxFixture f;
    Sandbox *s = f.start();
    QVERIFY(s);
    ExecRequest flood;
    flood.argv = {QStringLiteral("yes"), QStringLiteral("airlock")};
    flood.timeoutMs = 60000; // only so that the unfixed shim fails instead of hanging
    QElapsedTimer t;
    t.start();
    const Outcome o = run(s, flood, 90000);
    QVERIFY2(o.status, qPrintable(o.error ? o.error->message : QString()));
    QVERIFY2(!o.status->timedOut, "the process ran on after its output passed the cap");
    QVERIFY(o.status->outputCapStopped);
    QVERIFY(o.status->outputTruncated);
    QVERIFY(o.status->signal);
    QCOMPARE(o.out.size(), qsizetype(1 << 20));
    QCOMPARE(o.status->reasonCode(), QStringLiteral("output-cap"));
    QVERIFY2(o.status->reason().contains(QLatin1String("maxOutputBytes")), qPrintable(o.status->reason()));
    // A command that stays under the cap is untouched.
    const Outcome small = sh(s, QStringLiteral("head -c 1000 /dev/zero | wc -c"));
    QVERIFY(small.status && !small.status->outputCapStopped && small.code() == 0);
    QVERIFY(destroyAndWait(s));
}

// A process the memory cgroup kills dies of SIGKILL, as the shell's 137 says; the exit must also say
// it was memory.
void TestLocalBackend::outOfMemoryIsNamed()
{
    AIRLOCK_REQUIRE_BWRAP();
    SandboxFixture f;
    Sandbox *s = f.start();
    QVERIFY(s);
    const LimitMechanism mechanism = s->info().limits.mechanism;
    if (mechanism == LimitMechanism::Rlimits || mechanism == LimitMechanism::None) {
        QVERIFY(destroyAndWait(s));
        QSKIP("no memory cgroup here: memory is an rlimit, which refuses allocations instead of killing");
    }
    if (!QFileInfo::exists(QStringLiteral("/usr/bin/python3"))) {
        QVERIFY(destroyAndWait(s));
        QSKIP("/usr/bin/python3 plays the memory hog here");
    }
    // 256 MiB limit; the bytes object is written, so every page is really used.
    ExecRequest direct;
    direct.argv = {QStringLiteral("/usr/bin/python3"), QStringLiteral("-c"), QStringLiteral("x = b'a' * (768 << 20)")};
    const Outcome killed = run(s, direct, 120000);
    QVERIFY2(killed.status, qPrintable(killed.error ? killed.error->message : QString()));
    QCOMPARE(killed.status->signal.value_or(0), SIGKILL);
    QVERIFY(killed.status->outOfMemory);
    QCOMPARE(killed.status->reasonCode(), QStringLiteral("oom"));
    QVERIFY2(killed.status->reason().contains(QLatin1String("out of memory")), qPrintable(killed.status->reason()));
    QVERIFY(destroyAndWait(s));
}

QTEST_GUILESS_MAIN(TestLocalBackend)
#include "tst_localbackend.moc"
