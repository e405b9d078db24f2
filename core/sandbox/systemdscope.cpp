#include "sandbox/systemdscope.h"

#include "sandbox/cgroupfs.h"

#include <QDBusArgument>
#include <QDBusConnectionInterface>
#include <QDBusMessage>
#include <QDBusMetaType>
#include <QDBusPendingCallWatcher>
#include <QDBusPendingReply>
#include <QDBusVariant>
#include <QFileInfo>

#include <unistd.h>

#include <cmath>
#include <mutex>

namespace {

// One entry of systemd's a(sv) property lists.
struct UnitProperty
{
    QString name;
    QDBusVariant value;
};

// One entry of the a(sa(sv)) auxiliary unit list; always empty here, but the signature needs it.
struct AuxUnit
{
    QString name;
    QList<UnitProperty> properties;
};

QDBusArgument &operator<<(QDBusArgument &arg, const UnitProperty &p)
{
    arg.beginStructure();
    arg << p.name << p.value;
    arg.endStructure();
    return arg;
}

const QDBusArgument &operator>>(const QDBusArgument &arg, UnitProperty &p)
{
    arg.beginStructure();
    arg >> p.name >> p.value;
    arg.endStructure();
    return arg;
}

QDBusArgument &operator<<(QDBusArgument &arg, const AuxUnit &u)
{
    arg.beginStructure();
    arg << u.name << u.properties;
    arg.endStructure();
    return arg;
}

const QDBusArgument &operator>>(const QDBusArgument &arg, AuxUnit &u)
{
    arg.beginStructure();
    arg >> u.name >> u.properties;
    arg.endStructure();
    return arg;
}

} // namespace

Q_DECLARE_METATYPE(UnitProperty)
Q_DECLARE_METATYPE(AuxUnit)

namespace airlock::sandbox {

namespace {

const QString kService = QStringLiteral("org.freedesktop.systemd1");
const QString kPath = QStringLiteral("/org/freedesktop/systemd1");
const QString kManager = QStringLiteral("org.freedesktop.systemd1.Manager");

void registerTypes()
{
    static std::once_flag once;
    std::call_once(once, [] {
        // connect() finds the JobRemoved slot by its signature; the type must be known by name first.
        qRegisterMetaType<QDBusObjectPath>();
        qDBusRegisterMetaType<UnitProperty>();
        qDBusRegisterMetaType<QList<UnitProperty>>();
        qDBusRegisterMetaType<AuxUnit>();
        qDBusRegisterMetaType<QList<AuxUnit>>();
    });
}

UnitProperty unitProperty(const char *name, const QVariant &value)
{
    return UnitProperty{QString::fromLatin1(name), QDBusVariant(value)};
}

// The v2 cgroup of pid, from /proc/PID/cgroup; empty unless the host is unified.
QString unifiedCgroupOf(qint64 pid)
{
    const auto text = cgroupfs::readSmallFile(QStringLiteral("/proc/%1/cgroup").arg(pid));
    if (!text)
        return {};
    const auto memberships = cgroupfs::parseProcCgroup(*text);
    if (!memberships)
        return {};
    for (const auto &m : *memberships) {
        if (m.hierarchy == 0)
            return m.path;
    }
    return {};
}

} // namespace

std::optional<QDBusConnection> systemdBus()
{
    const QString forced = qEnvironmentVariable("AIRLOCK_SYSTEMD_BUS");
    QString address;
    QString name;
    if (!forced.isEmpty()) {
        address = forced;
        name = QStringLiteral("airlock-systemd:") + forced; // connections are cached by name
    } else if (::geteuid() == 0) {
        if (!QFileInfo::exists(QStringLiteral("/run/dbus/system_bus_socket")))
            return std::nullopt;
        return QDBusConnection::systemBus();
    } else {
        // Never the session bus's autolaunch: on a machine without one it would start a daemon.
        address = qEnvironmentVariable("DBUS_SESSION_BUS_ADDRESS");
        const QString runtime = qEnvironmentVariable("XDG_RUNTIME_DIR");
        if (address.isEmpty() && !runtime.isEmpty() && QFileInfo::exists(runtime + QStringLiteral("/bus")))
            address = QStringLiteral("unix:path=") + runtime + QStringLiteral("/bus");
        if (address.isEmpty())
            return std::nullopt;
        name = QStringLiteral("airlock-systemd-session");
    }
    QDBusConnection bus = QDBusConnection::connectToBus(address, name);
    if (!bus.isConnected())
        return std::nullopt;
    return bus;
}

bool systemdAvailable()
{
    static std::once_flag once;
    static bool available = false;
    std::call_once(once, [] {
        const std::optional<QDBusConnection> bus = systemdBus();
        available = bus && bus->interface() && bus->interface()->isServiceRegistered(kService).value();
    });
    return available;
}

SystemdScope::SystemdScope(QObject *parent) : QObject(parent)
{
    registerTypes();
    m_timeout.setSingleShot(true);
    connect(&m_timeout, &QTimer::timeout, this, [this] {
        finish(Error{ErrorCode::Io, QStringLiteral("systemd did not start the scope %1 in time").arg(m_unit)});
    });
}

void SystemdScope::start(const QString &unit, qint64 pid, const policy::Resources &resources, int timeoutMs)
{
    m_unit = unit;
    m_pid = pid;
    m_bus = systemdBus();
    if (!m_bus) {
        QTimer::singleShot(0, this, [this] {
            finish(Error{ErrorCode::NotFound, QStringLiteral("there is no D-Bus connection to systemd")});
        });
        return;
    }
    // Any sender: QtDBus drops signals from a well-known name until it has looked up its owner, which
    // can be after the job is done. A forged JobRemoved gains nothing; finish() asks the kernel.
    if (!m_bus->connect(QString(), kPath, kManager, QStringLiteral("JobRemoved"), this,
                        SLOT(onJobRemoved(uint, QDBusObjectPath, QString, QString)))) {
        QTimer::singleShot(0, this, [this] {
            finish(Error{ErrorCode::Io, QStringLiteral("cannot listen for systemd's job signals: %1").arg(m_bus->lastError().message())});
        });
        return;
    }
    m_timeout.start(timeoutMs);
    // Job signals go only to subscribers. The unit is asked for once Subscribe has been answered: by
    // then the bus has certainly applied our match rule, so its JobRemoved cannot slip past us.
    auto *subscribed = new QDBusPendingCallWatcher(
        m_bus->asyncCall(QDBusMessage::createMethodCall(kService, kPath, kManager, QStringLiteral("Subscribe")), timeoutMs), this);
    connect(subscribed, &QDBusPendingCallWatcher::finished, this, [this, resources, timeoutMs](QDBusPendingCallWatcher *w) {
        w->deleteLater();
        if (!m_done)
            requestUnit(resources, timeoutMs);
    });
}

void SystemdScope::requestUnit(const policy::Resources &resources, int timeoutMs)
{
    const QString &unit = m_unit;
    const qint64 pid = m_pid;
    QList<UnitProperty> props{
        unitProperty("Description", QStringLiteral("Airlock sandbox %1").arg(unit)),
        unitProperty("PIDs", QVariant::fromValue(QList<uint>{static_cast<uint>(pid)})),
        unitProperty("CollectMode", QStringLiteral("inactive-or-failed")),
    };
    if (resources.memoryBytes) {
        props << unitProperty("MemoryMax", QVariant::fromValue(static_cast<quint64>(*resources.memoryBytes)))
              << unitProperty("MemorySwapMax", QVariant::fromValue(quint64(0)));
    }
    if (resources.pids)
        props << unitProperty("TasksMax", QVariant::fromValue(static_cast<quint64>(*resources.pids)));
    if (resources.cpus)
        props << unitProperty("CPUQuotaPerSecUSec", QVariant::fromValue(static_cast<quint64>(std::llround(*resources.cpus * 1e6))));

    QDBusMessage call = QDBusMessage::createMethodCall(kService, kPath, kManager, QStringLiteral("StartTransientUnit"));
    call << unit << QStringLiteral("fail") << QVariant::fromValue(props) << QVariant::fromValue(QList<AuxUnit>());
    auto *watcher = new QDBusPendingCallWatcher(m_bus->asyncCall(call, timeoutMs), this);
    connect(watcher, &QDBusPendingCallWatcher::finished, this, [this](QDBusPendingCallWatcher *w) {
        w->deleteLater();
        const QDBusPendingReply<QDBusObjectPath> reply = *w;
        if (reply.isError())
            finish(Error{ErrorCode::Io, QStringLiteral("systemd refused the scope %1: %2").arg(m_unit, reply.error().message())});
    });
}

void SystemdScope::onJobRemoved(uint, const QDBusObjectPath &, const QString &unit, const QString &result)
{
    if (unit != m_unit || m_done)
        return;
    if (result != u"done") {
        finish(Error{ErrorCode::Io, QStringLiteral("systemd could not start the scope %1 (%2)").arg(unit, result)});
        return;
    }
    finish(std::nullopt);
}

void SystemdScope::finish(const std::optional<Error> &error)
{
    if (m_done)
        return;
    m_done = true;
    m_timeout.stop();
    if (m_bus)
        m_bus->disconnect(QString(), kPath, kManager, QStringLiteral("JobRemoved"), this,
                          SLOT(onJobRemoved(uint, QDBusObjectPath, QString, QString)));
    if (error) {
        Q_EMIT failed(*error);
        return;
    }
    // Believe the kernel, not the bus: the pid must really sit in a cgroup named after the unit.
    const QString cgroup = unifiedCgroupOf(m_pid);
    if (!cgroup.endsWith(u'/' + m_unit)) {
        Q_EMIT failed(Error{ErrorCode::Io, QStringLiteral("systemd reported the scope %1 started, but the process is in '%2'")
                                               .arg(m_unit, cgroup)});
        return;
    }
    QString folder = QStringLiteral("/sys/fs/cgroup") + cgroup;
    if (const auto info = cgroupfs::readSmallFile(QStringLiteral("/proc/self/mountinfo"))) {
        if (const auto mounts = cgroupfs::parseMountInfo(*info)) {
            for (const auto &m : *mounts) {
                if (m.v2 && !cgroupfs::folderOf(m, cgroup).isEmpty()) {
                    folder = cgroupfs::folderOf(m, cgroup);
                    break;
                }
            }
        }
    }
    Q_EMIT placed(folder + QStringLiteral("/cgroup.procs"));
}

} // namespace airlock::sandbox
