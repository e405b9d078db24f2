// SandboxManager, the GUI-free list the Sandboxes dock sits on: signals as sandboxes come, change and
// go, the figures it lists, operations by id, and sandboxes made by another process (airlockctl).

#include "sandboxtestutil.h"

#include "sandbox/sandboxmanager.h"

#include <QSignalSpy>
#include <QTest>

using namespace airlock;
using namespace airlock::sandbox;
using namespace airlock::sandbox::test;

class TestSandboxManager : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void listsAndSignals();
    void operationsById();
    void refreshReportsLiveFigures();
    void findsSandboxesMadeElsewhere();
};

namespace {

struct Setup
{
    SandboxFixture fixture;
    SandboxManager manager;
    LocalBackend *backend = nullptr;

    Setup()
    {
        LocalBackendOptions options;
        options.runtimeRoot = fixture.runtimeRoot();
        options.shim = QStringLiteral(AIRLOCK_SHIM_PATH);
        backend = new LocalBackend(options);
        manager.addBackend(backend);
        manager.setRefreshInterval(0);
    }

    Sandbox *create(const SandboxSpec &spec)
    {
        Result<Sandbox *> s = manager.create(spec);
        if (!s || !waitForState(*s, SandboxState::Running))
            return nullptr;
        return *s;
    }
};

} // namespace

void TestSandboxManager::listsAndSignals()
{
    AIRLOCK_REQUIRE_BWRAP();
    Setup setup;
    QSignalSpy added(&setup.manager, &SandboxManager::sandboxAdded);
    QSignalSpy changed(&setup.manager, &SandboxManager::sandboxChanged);
    QSignalSpy removed(&setup.manager, &SandboxManager::sandboxRemoved);
    Sandbox *s = setup.create(setup.fixture.spec(testPolicy(), QStringLiteral("listed")));
    QVERIFY(s);
    QCOMPARE(added.size(), 1);
    QCOMPARE(added.first().first().toString(), QStringLiteral("listed"));
    QVERIFY(changed.size() >= 1); // Starting -> Running

    const QList<SandboxInfo> all = setup.manager.sandboxes();
    QCOMPARE(all.size(), 1);
    const SandboxInfo &info = all.first();
    QCOMPARE(info.id, QStringLiteral("listed"));
    QCOMPARE(info.backend, QStringLiteral("local"));
    QCOMPARE(info.policyName, QStringLiteral("standard"));
    QCOMPARE(info.lifecycle, policy::Lifecycle::Ephemeral);
    QCOMPARE(info.state, SandboxState::Running);
    QVERIFY(info.limits.mechanism != LimitMechanism::None);
    QVERIFY(info.processes >= 1);
    QVERIFY(info.uptimeMs >= 0);
    QVERIFY(info.owned);
    const QJsonObject json = info.toJson();
    QCOMPARE(json.value(u"state").toString(), QStringLiteral("running"));
    QCOMPARE(json.value(u"limits").toObject().value(u"mechanism").toString(), mechanismName(info.limits.mechanism));

    QVERIFY(setup.manager.destroy(QStringLiteral("listed")));
    QTRY_COMPARE(removed.size(), 1);
    QCOMPARE(removed.first().first().toString(), QStringLiteral("listed"));
    QVERIFY(setup.manager.sandboxes().isEmpty());
    QVERIFY(!setup.manager.info(QStringLiteral("listed")));
}

void TestSandboxManager::operationsById()
{
    AIRLOCK_REQUIRE_BWRAP();
    Setup setup;
    Sandbox *s = setup.create(setup.fixture.spec(testPolicy(), QStringLiteral("ops")));
    QVERIFY(s);
    ExecRequest r;
    r.argv = {QStringLiteral("echo"), QStringLiteral("by id")};
    r.inheritEnv = true;
    Result<SandboxProcess *> p = setup.manager.exec(QStringLiteral("ops"), r);
    QVERIFY(p);
    QSignalSpy out(*p, &SandboxProcess::stdoutReceived);
    QSignalSpy finished(*p, &SandboxProcess::finished);
    QVERIFY(finished.wait(10000));
    QCOMPARE(out.first().first().toByteArray(), QByteArray("by id\n"));

    QVERIFY(setup.manager.stop(QStringLiteral("ops")));
    QVERIFY(waitForState(s, SandboxState::Stopped));
    QCOMPARE(setup.manager.info(QStringLiteral("ops"))->state, SandboxState::Stopped);
    QVERIFY(!setup.manager.exec(QStringLiteral("ops"), r));

    QCOMPARE(setup.manager.stop(QStringLiteral("nope")).error().code, ErrorCode::NotFound);
    QCOMPARE(setup.manager.destroy(QStringLiteral("nope")).error().code, ErrorCode::NotFound);
    QCOMPARE(setup.manager.exec(QStringLiteral("nope"), r).error().code, ErrorCode::NotFound);
    SandboxSpec docker = setup.fixture.spec();
    docker.policy.runtime.backend = policy::Backend::Docker;
    docker.policy.runtime.image = QStringLiteral("debian:12");
    QVERIFY(!setup.manager.create(docker)); // no Docker backend was added
    QVERIFY(setup.manager.destroy(QStringLiteral("ops")));
    QTRY_VERIFY(setup.manager.sandboxes().isEmpty());
}

void TestSandboxManager::refreshReportsLiveFigures()
{
    AIRLOCK_REQUIRE_BWRAP();
    Setup setup;
    Sandbox *s = setup.create(setup.fixture.spec(testPolicy(), QStringLiteral("live")));
    QVERIFY(s);
    QSignalSpy changed(&setup.manager, &SandboxManager::sandboxChanged);
    setup.manager.setRefreshInterval(50);
    QCOMPARE(setup.manager.refreshInterval(), 50);
    QVERIFY(changed.wait(5000));
    QCOMPARE(changed.first().first().toString(), QStringLiteral("live"));
    setup.manager.setRefreshInterval(0);
    QVERIFY(setup.manager.destroy(QStringLiteral("live")));
    QTRY_VERIFY(setup.manager.sandboxes().isEmpty());
}

void TestSandboxManager::findsSandboxesMadeElsewhere()
{
    AIRLOCK_REQUIRE_BWRAP();
    Setup setup;
    // Another backend over the same runtime folder stands for airlockctl in another process.
    LocalBackendOptions options;
    options.runtimeRoot = setup.fixture.runtimeRoot();
    options.shim = QStringLiteral(AIRLOCK_SHIM_PATH);
    auto other = std::make_unique<LocalBackend>(options);
    policy::Policy p = testPolicy();
    p.lifecycle = policy::Lifecycle::Persistent;
    Result<Sandbox *> made = other->create(setup.fixture.spec(p, QStringLiteral("from-cli")));
    QVERIFY(made);
    QVERIFY(waitForState(*made, SandboxState::Running));
    other.reset(); // the CLI exits; the persistent sandbox stays

    QSignalSpy added(&setup.manager, &SandboxManager::sandboxAdded);
    setup.manager.discover();
    QCOMPARE(added.size(), 1);
    Sandbox *found = setup.manager.sandbox(QStringLiteral("from-cli"));
    QVERIFY(found);
    QVERIFY(waitForState(found, SandboxState::Running));
    QCOMPARE(sh(found, QStringLiteral("echo here")).out, QByteArray("here\n"));
    setup.manager.discover(); // nothing new
    QCOMPARE(added.size(), 1);
    QVERIFY(setup.manager.destroy(QStringLiteral("from-cli")));
    QTRY_VERIFY(setup.manager.sandboxes().isEmpty());
}

QTEST_GUILESS_MAIN(TestSandboxManager)
#include "tst_sandboxmanager.moc"
