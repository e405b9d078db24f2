#pragma once

#include "error.h"
#include "policy/policy.h"

#include <QDBusConnection>
#include <QDBusObjectPath>
#include <QObject>
#include <QTimer>

#include <optional>

// A transient systemd scope for one sandbox, asked for over D-Bus (StartTransientUnit), the way a
// desktop user gets cgroup v2 limits without owning any cgroup: the user manager on the session bus,
// or the system manager when running as root. The process to place is stopped before exec until
// systemd reports the job done, so nothing it starts can land outside the scope.

namespace airlock::sandbox {

// The bus systemd would be asked on: $AIRLOCK_SYSTEMD_BUS (an address, for tests), the system bus
// as root, else the session bus when one is set up. nullopt when there is none.
std::optional<QDBusConnection> systemdBus();
// org.freedesktop.systemd1 is on that bus. Asked once per process.
bool systemdAvailable();

class SystemdScope : public QObject
{
    Q_OBJECT
public:
    explicit SystemdScope(QObject *parent = nullptr);

    // Starts `unit` (name.scope) holding pid, with the policy's memory, pids and cpu limits.
    void start(const QString &unit, qint64 pid, const policy::Resources &resources, int timeoutMs = 10000);

Q_SIGNALS:
    // pid is in the scope; procsFile is the scope's cgroup.procs.
    void placed(const QString &procsFile);
    void failed(const airlock::Error &error);

private Q_SLOTS:
    void onJobRemoved(uint id, const QDBusObjectPath &job, const QString &unit, const QString &result);

private:
    void requestUnit(const policy::Resources &resources, int timeoutMs);
    void finish(const std::optional<Error> &error);

    std::optional<QDBusConnection> m_bus;
    QTimer m_timeout;
    QString m_unit;
    qint64 m_pid = 0;
    bool m_done = false;
};

} // namespace airlock::sandbox
