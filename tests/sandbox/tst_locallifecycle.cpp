// A local sandbox's life with real bubblewrap: stopping keeps its record, destroying leaves nothing on
// the host, a persistent one is found again after a "restart" and an ephemeral one ends with its
// backend, the wall clock ends it, and the events it records. (Exec, files, limits and start
// failures: tst_localbackend.)

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

// A fresh scan of /proc, not the backend's cached one.
int processesIn(quint64 pidNamespace)
{
    int n = 0;
    const QStringList pids = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &pid : pids) {
        struct stat st{};
        if (pid.front().isDigit() && ::stat(QByteArray("/proc/" + pid.toLatin1() + "/ns/pid").constData(), &st) == 0
            && st.st_ino == pidNamespace)
            ++n;
    }
    return n;
}

} // namespace

class TestLocalLifecycle : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void stopKeepsTheRecord();
    void destroyLeavesNoTrace();
    void persistentIsFoundAgain();
    void ephemeralEndsWithItsBackend();
    void wallClockEndsTheSandbox();
    void eventsAreRecorded();
};

void TestLocalLifecycle::initTestCase()
{
    qputenv("AIRLOCK_TEST_API_KEY", kPlanted);
    qputenv("OPENAI_API_KEY", kPlanted);
}

void TestLocalLifecycle::stopKeepsTheRecord()
{
    AIRLOCK_REQUIRE_BWRAP();
    SandboxFixture f;
    Sandbox *s = f.start();
    QVERIFY(s);
    const qint64 pid = s->info().hostPid;
    QSignalSpy states(s, &Sandbox::stateChanged);
    ExecRequest sleeper;
    sleeper.argv = {QStringLiteral("sleep"), QStringLiteral("60")};
    auto *p = *s->exec(sleeper);
    QSignalSpy failed(p, &SandboxProcess::failed);
    QSignalSpy finished(p, &SandboxProcess::finished);
    s->stop(200);
    QVERIFY(waitForState(s, SandboxState::Stopped));
    QTRY_VERIFY(!pidAlive(pid));
    QVERIFY(failed.size() + finished.size() == 1);
    QCOMPARE(states.first().first().value<SandboxState>(), SandboxState::Stopping);
    QVERIFY(QFileInfo::exists(f.sandboxDir(s->id()) + QStringLiteral("/state.json")));
    QCOMPARE(s->info().processes, 0);
    QVERIFY(!s->exec(sleeper));
    const QString id = s->id();
    QVERIFY(destroyAndWait(s));
    QVERIFY(!QFileInfo::exists(f.sandboxDir(id)));
}

void TestLocalLifecycle::destroyLeavesNoTrace()
{
    AIRLOCK_REQUIRE_BWRAP();
    SandboxFixture f;
    Sandbox *s = f.start();
    QVERIFY(s);
    const QString id = s->id();
    const SandboxInfo info = s->info();
    // Something that would like to outlive it: a daemon that left the exec's process group.
    QCOMPARE(sh(s, QStringLiteral("setsid sleep 300 >/dev/null 2>&1 < /dev/null & echo started")).out, QByteArray("started\n"));
    const QString socket = f.sandboxDir(id) + QStringLiteral("/control/shim.sock");
    const quint64 pidNamespace = readStateFile(f.sandboxDir(id) + QStringLiteral("/state.json")).value_or(LocalSandboxState()).pidNamespace;
    QCOMPARE(processesIn(pidNamespace), 2); // the shim and the daemon
    QVERIFY(QFileInfo::exists(socket));
    const QStringList cgroups = info.limits.mechanism == LimitMechanism::CgroupV1 || info.limits.mechanism == LimitMechanism::CgroupV2
                                    ? info.limits.where.split(QStringLiteral(", "))
                                    : QStringList();
    for (const QString &dir : cgroups)
        QVERIFY(QFileInfo(dir).isDir());
    QSignalSpy removed(&f.backend(), &Backend::sandboxRemoved);
    QVERIFY(destroyAndWait(s));
    QTRY_COMPARE(removed.size(), 1);
    QCOMPARE(removed.first().first().toString(), id);
    QVERIFY(!pidAlive(info.hostPid));
    QVERIFY(!QFileInfo::exists(socket));
    QVERIFY(!QFileInfo::exists(f.sandboxDir(id)));
    for (const QString &dir : cgroups)
        QVERIFY2(!QFileInfo::exists(dir), qPrintable(dir));
    QVERIFY(f.backend().sandboxes().isEmpty());
    // No process of it is left anywhere on the host, the daemon included.
    QVERIFY(pidNamespace != 0);
    const int left = processesIn(pidNamespace);
    if (left) {
        const QStringList pids = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
        for (const QString &pid : pids) {
            struct stat st{};
            if (pid.front().isDigit() && ::stat(QByteArray("/proc/" + pid.toLatin1() + "/ns/pid").constData(), &st) == 0
                && st.st_ino == pidNamespace)
                qWarning() << pid << procFile(pid.toLongLong(), "stat");
        }
    }
    QCOMPARE(left, 0);
}

void TestLocalLifecycle::persistentIsFoundAgain()
{
    AIRLOCK_REQUIRE_BWRAP();
    SandboxFixture f;
    policy::Policy p = testPolicy();
    p.lifecycle = policy::Lifecycle::Persistent;
    Sandbox *s = f.start(f.spec(p, QStringLiteral("keeper")));
    QVERIFY(s);
    const qint64 pid = s->info().hostPid;
    QCOMPARE(sh(s, QStringLiteral("echo kept > /tmp/marker")).code(), 0);
    f.dropBackend(); // Airlock quits: a persistent sandbox stays
    QVERIFY(pidAlive(pid));

    f.resetBackend();
    QVERIFY(f.backend().sandboxes().isEmpty());
    f.backend().discover();
    QCOMPARE(f.backend().sandboxes().size(), 1);
    Sandbox *again = f.backend().sandboxes().constFirst();
    QCOMPARE(again->id(), QStringLiteral("keeper"));
    QVERIFY(waitForState(again, SandboxState::Running));
    QCOMPARE(sh(again, QStringLiteral("cat /tmp/marker")).out, QByteArray("kept\n"));
    QCOMPARE(again->info().hostPid, pid);
    QCOMPARE(again->info().lifecycle, policy::Lifecycle::Persistent);
    QVERIFY(destroyAndWait(again));
    QTRY_VERIFY(!pidAlive(pid));
    QVERIFY(!QFileInfo::exists(f.sandboxDir(QStringLiteral("keeper"))));

    // attach() by name finds one without listing the rest; unknown names are errors.
    QVERIFY(!f.backend().attach(QStringLiteral("nobody-here")));
    QVERIFY(!f.backend().attach(QStringLiteral("../etc")));
}

void TestLocalLifecycle::ephemeralEndsWithItsBackend()
{
    AIRLOCK_REQUIRE_BWRAP();
    SandboxFixture f;
    Sandbox *s = f.start(f.spec(testPolicy(), QStringLiteral("brief")));
    QVERIFY(s);
    const qint64 pid = s->info().hostPid;
    const QStringList cgroups = s->info().limits.mechanism == LimitMechanism::CgroupV1 ? s->info().limits.where.split(QStringLiteral(", "))
                                                                                       : QStringList();
    f.dropBackend();
    QVERIFY(!pidAlive(pid));
    QVERIFY(!QFileInfo::exists(f.sandboxDir(QStringLiteral("brief"))));
    for (const QString &dir : cgroups)
        QVERIFY(!QFileInfo::exists(dir));
}

void TestLocalLifecycle::wallClockEndsTheSandbox()
{
    AIRLOCK_REQUIRE_BWRAP();
    SandboxFixture f;
    policy::Policy p = testPolicy();
    p.resources.wallClockSeconds = 1;
    Sandbox *s = f.start(f.spec(p));
    QVERIFY(s);
    QVERIFY(s->info().deadline.isValid());
    QPointer<Sandbox> guard(s);
    QVERIFY(QTest::qWaitFor([&] {
        Sandbox *alive = guard.data();
        return alive == nullptr || alive->state() == SandboxState::Destroyed;
    }, 10000));
    QVERIFY(f.backend().sandboxes().isEmpty());
}

void TestLocalLifecycle::eventsAreRecorded()
{
    AIRLOCK_REQUIRE_BWRAP();
    SandboxFixture f;
    const QString db = f.path() + QStringLiteral("/airlock.db");
    auto store = store::EventStore::open(db);
    QVERIFY(store);
    f.backend().setEventStore(store->get());
    SandboxSpec spec = f.spec();
    spec.sessionId = QStringLiteral("session-7");
    Sandbox *s = f.start(spec);
    QVERIFY(s);
    QVERIFY(destroyAndWait(s));
    QVERIFY((*store)->flush());
    auto reader = store::StoreReader::open(db);
    QVERIFY(reader);
    store::EventQuery q;
    q.session = QStringLiteral("session-7");
    const auto events = reader->events(q);
    QVERIFY(events);
    QStringList kinds;
    for (const auto &e : *events)
        kinds << e.kind;
    QCOMPARE(kinds, (QStringList{QStringLiteral("sandbox.created"), QStringLiteral("sandbox.stopped"),
                                 QStringLiteral("sandbox.destroyed")}));
    const QJsonObject created = events->first().payload;
    QCOMPARE(created.value(u"backend").toString(), QStringLiteral("local"));
    QCOMPARE(created.value(u"policyHash").toString(), policy::policyHash(spec.policy));
    QVERIFY(!created.value(u"limits").toString().isEmpty());
    QCOMPARE(events->last().payload.value(u"reason").toString(), QStringLiteral("destroyed on request"));
}

QTEST_GUILESS_MAIN(TestLocalLifecycle)
#include "tst_locallifecycle.moc"
