// The systemd scope path of the limiter, against a fake org.freedesktop.systemd1 on a private
// dbus-daemon: the properties asked for, and what happens when systemd refuses, fails the job, or
// says "done" without the process really being in the scope. Where this process may make a cgroup v2
// folder, the fake really moves the process there and the scope is reported placed.

#include "sandbox/systemdscope.h"

#include <QDBusArgument>
#include <QDBusConnection>
#include <QDBusMessage>
#include <QDBusMetaType>
#include <QDBusObjectPath>
#include <QDBusVariant>
#include <QDBusVirtualObject>
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include <unistd.h>

using namespace airlock;
using namespace airlock::sandbox;

namespace {

// The cgroup2 mount where the fake may make scopes, or empty.
QString writableUnifiedMount()
{
    if (::geteuid() != 0)
        return {};
    QFile mounts(QStringLiteral("/proc/self/mounts"));
    if (!mounts.open(QIODevice::ReadOnly))
        return {};
    for (const QByteArray &line : mounts.readAll().split('\n')) {
        const QList<QByteArray> f = line.split(' ');
        if (f.size() > 3 && f.at(2) == "cgroup2" && f.at(3).startsWith("rw"))
            return QString::fromUtf8(f.at(1));
    }
    return {};
}

class FakeSystemd : public QDBusVirtualObject
{
public:
    QString result = QStringLiteral("done");
    bool refuse = false;
    QString placeUnder; // a cgroup2 mount: really move the pid into <mount>/<unit>
    QString unit;
    QVariantMap properties;
    int subscribed = 0;

    QString introspect(const QString &) const override { return {}; }

    bool handleMessage(const QDBusMessage &m, const QDBusConnection &connection) override
    {
        if (m.member() == u"Subscribe") {
            ++subscribed;
            connection.send(m.createReply());
            return true;
        }
        if (m.member() != u"StartTransientUnit" || m.arguments().size() != 4)
            return false;
        unit = m.arguments().at(0).toString();
        const QDBusArgument props = m.arguments().at(2).value<QDBusArgument>();
        props.beginArray();
        while (!props.atEnd()) {
            QString name;
            QDBusVariant value;
            props.beginStructure();
            props >> name >> value;
            props.endStructure();
            properties.insert(name, value.variant());
        }
        props.endArray();
        if (refuse) {
            connection.send(m.createErrorReply(QStringLiteral("org.freedesktop.systemd1.UnitExists"), QStringLiteral("Unit exists already")));
            return true;
        }
        if (!placeUnder.isEmpty()) {
            const QString dir = placeUnder + u'/' + unit;
            QDir().mkpath(dir);
            QFile procs(dir + QStringLiteral("/cgroup.procs"));
            if (procs.open(QIODevice::WriteOnly))
                procs.write(QByteArray::number(qdbus_cast<QList<uint>>(properties.value(QStringLiteral("PIDs"))).value(0)));
        }
        const QDBusObjectPath job(QStringLiteral("/org/freedesktop/systemd1/job/7"));
        connection.send(m.createReply(QVariant::fromValue(job)));
        QDBusMessage removed = QDBusMessage::createSignal(QStringLiteral("/org/freedesktop/systemd1"),
                                                          QStringLiteral("org.freedesktop.systemd1.Manager"), QStringLiteral("JobRemoved"));
        removed << 7u << QVariant::fromValue(job) << unit << result;
        connection.send(removed);
        return true;
    }
};

} // namespace

class TestSystemdScope : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void init();
    void asksForTheLimits();
    void refused();
    void jobFailed();
    void doneButNotThere();
    void placed();
    void noBus();

private:
    void start(SystemdScope &scope, qint64 pid);

    QTemporaryDir m_dir;
    QProcess m_daemon;
    QString m_address;
    std::unique_ptr<FakeSystemd> m_fake;
    QProcess m_target; // the process to place
};

void TestSystemdScope::initTestCase()
{
    const QString daemon = QStandardPaths::findExecutable(QStringLiteral("dbus-daemon"));
    if (daemon.isEmpty())
        QSKIP("dbus-daemon is not installed (package dbus-daemon); the systemd path cannot be exercised");
    m_daemon.start(daemon, {QStringLiteral("--session"), QStringLiteral("--nofork"), QStringLiteral("--print-address=1"),
                            QStringLiteral("--address=unix:path=") + m_dir.filePath(QStringLiteral("bus"))});
    QVERIFY(m_daemon.waitForStarted());
    QTRY_VERIFY(m_daemon.canReadLine());
    m_address = QString::fromUtf8(m_daemon.readLine()).trimmed();
    QDBusConnection owner = QDBusConnection::connectToBus(m_address, QStringLiteral("fake-systemd"));
    QVERIFY(owner.isConnected());
    QVERIFY(owner.registerService(QStringLiteral("org.freedesktop.systemd1")));
    m_fake = std::make_unique<FakeSystemd>();
    QVERIFY(owner.registerVirtualObject(QStringLiteral("/org/freedesktop/systemd1"), m_fake.get()));
    qputenv("AIRLOCK_SYSTEMD_BUS", m_address.toUtf8());
    m_target.start(QStringLiteral("sleep"), {QStringLiteral("120")});
    QVERIFY(m_target.waitForStarted());
}

void TestSystemdScope::cleanupTestCase()
{
    m_target.kill();
    m_target.waitForFinished();
    QDBusConnection::disconnectFromBus(QStringLiteral("fake-systemd"));
    m_daemon.kill();
    m_daemon.waitForFinished();
    qunsetenv("AIRLOCK_SYSTEMD_BUS");
}

void TestSystemdScope::init()
{
    m_fake->result = QStringLiteral("done");
    m_fake->refuse = false;
    m_fake->placeUnder.clear();
    m_fake->properties.clear();
}

void TestSystemdScope::start(SystemdScope &scope, qint64 pid)
{
    policy::Resources r;
    r.memoryBytes = 256LL << 20;
    r.pids = 64;
    r.cpus = 1.5;
    scope.start(QStringLiteral("airlock-test-%1.scope").arg(::getpid()), pid, r, 5000);
}

void TestSystemdScope::asksForTheLimits()
{
    SystemdScope scope;
    QSignalSpy failed(&scope, &SystemdScope::failed);
    start(scope, m_target.processId());
    QVERIFY(failed.wait(5000));
    QCOMPARE(m_fake->unit, QStringLiteral("airlock-test-%1.scope").arg(::getpid()));
    QVERIFY(m_fake->subscribed > 0);
    const QVariantMap &p = m_fake->properties;
    QCOMPARE(qdbus_cast<QList<uint>>(p.value(QStringLiteral("PIDs"))), QList<uint>{uint(m_target.processId())});
    QCOMPARE(p.value(QStringLiteral("MemoryMax")).toULongLong(), 256ULL << 20);
    QCOMPARE(p.value(QStringLiteral("MemorySwapMax")).toULongLong(), 0ULL);
    QCOMPARE(p.value(QStringLiteral("TasksMax")).toULongLong(), 64ULL);
    QCOMPARE(p.value(QStringLiteral("CPUQuotaPerSecUSec")).toULongLong(), 1500000ULL);
    QCOMPARE(p.value(QStringLiteral("CollectMode")).toString(), QStringLiteral("inactive-or-failed"));
}

void TestSystemdScope::refused()
{
    m_fake->refuse = true;
    SystemdScope scope;
    QSignalSpy failed(&scope, &SystemdScope::failed);
    start(scope, m_target.processId());
    QVERIFY(failed.wait(5000));
    QVERIFY(failed.first().first().value<Error>().message.contains(QStringLiteral("Unit exists already")));
}

void TestSystemdScope::jobFailed()
{
    m_fake->result = QStringLiteral("failed");
    SystemdScope scope;
    QSignalSpy failed(&scope, &SystemdScope::failed);
    start(scope, m_target.processId());
    QVERIFY(failed.wait(5000));
    QVERIFY(failed.first().first().value<Error>().message.contains(QStringLiteral("(failed)")));
}

void TestSystemdScope::doneButNotThere()
{
    // The kernel is believed over the bus: "done" with the process elsewhere is a failure.
    SystemdScope scope;
    QSignalSpy failed(&scope, &SystemdScope::failed);
    QSignalSpy placed(&scope, &SystemdScope::placed);
    start(scope, m_target.processId());
    QVERIFY(failed.wait(5000));
    QVERIFY(failed.first().first().value<Error>().message.contains(QStringLiteral("but the process is in")));
    QCOMPARE(placed.size(), 0);
}

void TestSystemdScope::placed()
{
    const QString mount = writableUnifiedMount();
    if (mount.isEmpty())
        QSKIP("this process cannot make cgroup v2 folders, so the fake cannot really place the process");
    m_fake->placeUnder = mount;
    SystemdScope scope;
    QSignalSpy placed(&scope, &SystemdScope::placed);
    QSignalSpy failed(&scope, &SystemdScope::failed);
    start(scope, m_target.processId());
    QVERIFY(placed.wait(5000) || !failed.isEmpty());
    const QString unitDir = mount + u'/' + m_fake->unit;
    const auto restore = qScopeGuard([&] {
        QFile back(mount + QStringLiteral("/cgroup.procs"));
        if (back.open(QIODevice::WriteOnly))
            back.write(QByteArray::number(m_target.processId()));
        back.close();
        QDir().rmdir(unitDir);
    });
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().first().value<Error>().message));
    QCOMPARE(placed.first().first().toString(), unitDir + QStringLiteral("/cgroup.procs"));
}

void TestSystemdScope::noBus()
{
    qputenv("AIRLOCK_SYSTEMD_BUS", "unix:path=/nonexistent/bus");
    SystemdScope scope;
    QSignalSpy failed(&scope, &SystemdScope::failed);
    start(scope, m_target.processId());
    QVERIFY(failed.wait(5000));
    qputenv("AIRLOCK_SYSTEMD_BUS", m_address.toUtf8());
}

QTEST_GUILESS_MAIN(TestSystemdScope)
#include "tst_systemdscope.moc"
