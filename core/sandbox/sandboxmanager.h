#pragma once

#include "sandbox/backend.h"

#include <QHash>
#include <QObject>
#include <QTimer>

// Every live sandbox of every backend in one place, for the Sandboxes dock (a thin model over this)
// and for sessions. It picks the backend a policy names, forwards stop/destroy/exec by id, and
// reports changes as signals: added and removed as they happen, changed when a sandbox's state
// changes and, on a timer, when its live figures (uptime, processes) move.

namespace airlock::sandbox {

class SandboxManager : public QObject
{
    Q_OBJECT
public:
    explicit SandboxManager(QObject *parent = nullptr);
    ~SandboxManager() override;

    // The manager takes ownership. Sandboxes the backend already has are listed at once.
    void addBackend(Backend *backend);
    Backend *backend(const QString &name) const;
    QList<Backend *> backends() const { return m_backends; }

    // Snapshots, ordered by creation time.
    QList<SandboxInfo> sandboxes() const;
    std::optional<SandboxInfo> info(const QString &id) const;
    Sandbox *sandbox(const QString &id) const;

    // Uses the backend the policy names (runtime.backend).
    Result<Sandbox *> create(const SandboxSpec &spec);
    Result<void> stop(const QString &id, int graceMs = -1);
    Result<void> destroy(const QString &id);
    Result<SandboxProcess *> exec(const QString &id, const ExecRequest &request);

    // Asks every backend to look for sandboxes it does not know (after a restart, or made by
    // airlockctl); called on the refresh timer too.
    void discover();

    // How often live figures are re-read and changes looked for; 0 turns it off. Default 2000 ms.
    void setRefreshInterval(int ms);
    int refreshInterval() const { return m_refresh.interval(); }

Q_SIGNALS:
    void sandboxAdded(const QString &id);
    void sandboxChanged(const QString &id);
    void sandboxRemoved(const QString &id);

private:
    void track(Sandbox *sandbox);
    void refresh();
    Result<Sandbox *> find(const QString &id) const;

    QList<Backend *> m_backends;
    QHash<QString, Sandbox *> m_sandboxes;
    QHash<QString, int> m_lastProcesses;
    QTimer m_refresh;
    int m_refreshCount = 0;
};

} // namespace airlock::sandbox
