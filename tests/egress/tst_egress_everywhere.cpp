// A sandbox is its whole policy wherever it starts: `airlockctl exec`, `sandbox create` + `sandbox
// exec`, `docker run`, a sandbox made through the manager (the exec console), and one left running by
// another process and picked up again. Each gets the egress proxy: an allowed address goes through, a
// denied name gets 403, and both leave an egress.connection row that names the sandbox.
#include "egresstestutil.h"
#include "testutil.h"
#include "dockertestutil.h"

#include "docker/dockerbackend.h"
#include "egress/egressproxy.h"
#include "egress/sandboxegress.h"
#include "policy/codec.h"
#include "sandbox/localbackend.h"
#include "sandbox/sandboxmanager.h"
#include "store/storereader.h"

#include <QProcess>
#include <QSignalSpy>
#include <QTest>

using namespace airlock;
using namespace airlock::egress;

namespace {

struct Outcome {
    int code = -1;
    QByteArray out;
    QByteArray err;
};

} // namespace

class TestEgressEverywhere : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_db;
    QString m_workspace;
    egress::test::Upstream m_upstream;
    const QString m_kept = QStringLiteral("egress-kept-%1").arg(QCoreApplication::applicationPid());

    // Runs airlockctl while this process's event loop (and the upstream in it) keeps running.
    Outcome ctl(const QStringList &args, int timeoutMs = 120000)
    {
        QProcess p;
        p.start(QStringLiteral(AIRLOCKCTL_PATH), QStringList{QStringLiteral("--db"), m_db} + args);
        Outcome o;
        if (!p.waitForStarted(10000))
            return o;
        QSignalSpy finished(&p, &QProcess::finished);
        if (!finished.wait(timeoutMs)) {
            p.kill();
            p.waitForFinished();
            o.err = "timed out";
            return o;
        }
        o.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
        o.out = p.readAllStandardOutput();
        o.err = p.readAllStandardError();
        return o;
    }

    policy::Policy proxied(policy::Backend backend) const
    {
        policy::Policy p = backend == policy::Backend::Docker ? docker::test::hardened() : *policy::findPreset(u"standard");
        p.network.mode = policy::NetworkMode::Proxy;
        // The test's upstream on the host's loopback, at the port the kernel gave it.
        p.network.hostPorts = {int(m_upstream.port())};
        return p;
    }

    QString policyFile(const policy::Policy &p, const QString &name) const
    {
        const QString path = m_dir.filePath(name);
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly) || f.write(policy::serializePolicy(p)) < 0)
            return {};
        return path;
    }

    QString url(const QString &path) const
    {
        return QStringLiteral("http://127.0.0.1:%1/%2").arg(m_upstream.port()).arg(path);
    }

    // The egress rows written since `after`, oldest first.
    QList<EgressRecord> recordsAfter(qint64 after, qint64 *last = nullptr)
    {
        QList<EgressRecord> out;
        auto reader = store::StoreReader::open(m_db);
        if (!reader)
            return out;
        auto events = reader->events(store::EventQuery{std::nullopt, after, 10000, false, {}, 0});
        if (!events)
            return out;
        for (const store::Event &e : std::as_const(*events)) {
            if (last)
                *last = std::max(*last, e.seq);
            if (auto r = EgressRecord::fromEvent(e))
                out << *r;
        }
        return out;
    }

    qint64 lastSeq()
    {
        qint64 last = 0;
        recordsAfter(0, &last);
        return last;
    }

    // One allowed request and one denied, both with their rows naming the sandbox.
    void allowedAndDenied(const QStringList &prefix, const QString &tag, const QString &sandboxId = {})
    {
        const qint64 before = lastSeq();
        const int served = m_upstream.requests.size();
        Outcome ok = ctl(prefix + QStringList{QStringLiteral("--"), QStringLiteral("wget"), QStringLiteral("-q"),
                                              QStringLiteral("-O"), QStringLiteral("-"), url(tag)});
        QVERIFY2(ok.code == 0, QByteArray(ok.out + ok.err).constData());
        QCOMPARE(ok.out, QByteArray("hello /") + tag.toUtf8());
        QCOMPARE(m_upstream.requests.size(), served + 1);
        Outcome denied = ctl(prefix + QStringList{QStringLiteral("--"), QStringLiteral("wget"), QStringLiteral("-O"),
                                                  QStringLiteral("-"), QStringLiteral("http://blocked.test/") + tag});
        QVERIFY2(denied.code != 0, denied.out.constData());
        QVERIFY2(denied.err.contains("403"), denied.err.constData());
        QCOMPARE(m_upstream.requests.size(), served + 1);

        QList<EgressRecord> rows;
        QTRY_VERIFY_WITH_TIMEOUT((rows = recordsAfter(before)).size() >= 2, 5000);
        QCOMPARE(rows.size(), 2);
        QCOMPARE(rows.at(0).decision, Verdict::Allow);
        QCOMPARE(rows.at(0).status, 200);
        QCOMPARE(rows.at(1).decision, Verdict::Deny);
        QCOMPARE(rows.at(1).host, QStringLiteral("blocked.test"));
        QCOMPARE(rows.at(1).status, 403);
        for (const EgressRecord &r : std::as_const(rows)) {
            QVERIFY(r.session.isEmpty()); // no session holds them: they are the sandbox's
            QVERIFY(!r.sandbox.isEmpty());
            if (!sandboxId.isEmpty())
                QCOMPARE(r.sandbox, sandboxId);
        }
    }

private Q_SLOTS:
    void cleanupTestCase()
    {
        ctl({QStringLiteral("sandbox"), QStringLiteral("rm"), m_kept}); // when a failure left it
    }

    void initTestCase()
    {
        QVERIFY(m_upstream.listen());
        m_db = m_dir.filePath(QStringLiteral("airlock.db"));
        m_workspace = m_dir.filePath(QStringLiteral("ws"));
        QVERIFY(QDir().mkpath(m_workspace));
    }

    void execGetsTheProxy()
    {
        if (auto why = sandbox::LocalBackend().unavailableReason())
            QSKIP(qPrintable(*why));
        const QString file = policyFile(proxied(policy::Backend::Local), QStringLiteral("local.json"));
        allowedAndDenied({QStringLiteral("exec"), QStringLiteral("--policy"), file, QStringLiteral("--workspace"), m_workspace},
                         QStringLiteral("exec"));
    }

    void createdSandboxGetsTheProxy()
    {
        if (auto why = sandbox::LocalBackend().unavailableReason())
            QSKIP(qPrintable(*why));
        const QString file = policyFile(proxied(policy::Backend::Local), QStringLiteral("local.json"));
        Outcome made = ctl({QStringLiteral("sandbox"), QStringLiteral("create"), QStringLiteral("--policy"), file,
                            QStringLiteral("--workspace"), m_workspace, QStringLiteral("--name"), m_kept});
        QVERIFY2(made.code == 0, made.err.constData());
        allowedAndDenied({QStringLiteral("sandbox"), QStringLiteral("exec"), m_kept},
                         QStringLiteral("kept"), m_kept);

        // Another Airlock process (here: this test, as the window would) picks the sandbox up after
        // the one that made it is gone, and serves its network from then on; airlockctl sees the
        // socket served and leaves it alone.
        {
            sandbox::LocalBackend backend;
            ProxyOptions options;
            EgressProxy proxy(options);
            SandboxEgress egress(&proxy);
            QSignalSpy closed(&proxy, &EgressProxy::connectionClosed);
            egress.watch(&backend);
            backend.discover();
            sandbox::Sandbox *kept = backend.sandbox(m_kept);
            QVERIFY(kept);
            QTRY_COMPARE_WITH_TIMEOUT(egress.serving(kept->id()), SandboxEgress::Serving::Here, 10000);
            Outcome ok = ctl({QStringLiteral("sandbox"), QStringLiteral("exec"), m_kept, QStringLiteral("--"),
                              QStringLiteral("wget"), QStringLiteral("-q"), QStringLiteral("-O"), QStringLiteral("-"), url(QStringLiteral("here"))});
            QVERIFY2(ok.code == 0, ok.err.constData());
            QTRY_COMPARE(closed.size(), 1);
            QCOMPARE(closed.at(0).at(0).value<EgressRecord>().sandbox, m_kept);
        }
        // That process has gone: airlockctl serves it again.
        allowedAndDenied({QStringLiteral("sandbox"), QStringLiteral("exec"), m_kept},
                         QStringLiteral("again"), m_kept);
        Outcome removed = ctl({QStringLiteral("sandbox"), QStringLiteral("rm"), m_kept});
        QVERIFY2(removed.code == 0, removed.err.constData());
    }

    void managedSandboxGetsTheProxy()
    {
        // What the window's exec console and sessions use: the manager's backends, watched.
        if (auto why = sandbox::LocalBackend().unavailableReason())
            QSKIP(qPrintable(*why));
        auto opened = store::EventStore::open(m_db);
        QVERIFY(opened);
        ProxyOptions options;
        options.store = opened->get();
        EgressProxy proxy(options);
        sandbox::SandboxManager manager;
        auto *backend = new sandbox::LocalBackend;
        manager.addBackend(backend);
        SandboxEgress egress(&proxy);
        egress.watch(backend);
        auto made = manager.create({proxied(policy::Backend::Local), QStringLiteral("test"), m_workspace, {}, {}, {}});
        QVERIFY(made);
        QPointer<sandbox::Sandbox> box(*made);
        const auto running = [&] {
            const sandbox::Sandbox *b = box.data();
            return b && b->isRunning();
        };
        QTRY_VERIFY_WITH_TIMEOUT(running(), 20000);
        sandbox::Sandbox *s = *made;
        QCOMPARE(egress.serving(s->id()), SandboxEgress::Serving::Here);
        sandbox::ExecRequest r;
        r.argv = {QStringLiteral("wget"), QStringLiteral("-q"), QStringLiteral("-O"), QStringLiteral("-"), url(QStringLiteral("console"))};
        r.inheritEnv = true;
        auto process = s->exec(r);
        QVERIFY(process);
        QByteArray out;
        connect(*process, &sandbox::SandboxProcess::stdoutReceived, this, [&](const QByteArray &c) { out += c; });
        QSignalSpy finished(*process, &sandbox::SandboxProcess::finished);
        QVERIFY(finished.wait(20000));
        QCOMPARE(out, QByteArray("hello /console"));
        // Gone with the sandbox: its socket is closed.
        const QString socket = s->info().controlDir + QStringLiteral("/proxy.sock");
        QVERIFY(manager.destroy(s->id()));
        QTRY_VERIFY_WITH_TIMEOUT(!box, 20000);
        QVERIFY(!QFileInfo::exists(socket));
    }

    void dockerFollowsThePolicy()
    {
        if (const auto why = docker::test::dockerUnavailable())
            QSKIP(qPrintable(*why));
        const QString file = policyFile(proxied(policy::Backend::Docker), QStringLiteral("docker.json"));
        // One exec for every backend: the policy names Docker, exec follows it.
        allowedAndDenied({QStringLiteral("exec"), QStringLiteral("--policy"), file, QStringLiteral("--workspace"), m_workspace},
                         QStringLiteral("docker-exec"));
        // docker run is the same command.
        allowedAndDenied({QStringLiteral("docker"), QStringLiteral("run"), QStringLiteral("--policy"), file,
                          QStringLiteral("--workspace"), m_workspace},
                         QStringLiteral("docker-run"));
    }
};

QTEST_GUILESS_MAIN(TestEgressEverywhere)
#include "tst_egress_everywhere.moc"
