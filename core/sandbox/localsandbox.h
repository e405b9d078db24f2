#pragma once

#include "sandbox/backend.h"
#include "sandbox/protectionlayer.h"
#include "sandbox/sandboxstate.h"
#include "sandbox/spawned.h"
#include "sandbox/sandboxuser.h"

#include <QByteArray>
#include <QPointer>
#include <QTimer>

class QSocketNotifier;

namespace airlock::sandbox {

class LocalBackend;
class SystemdScope;

// One bubblewrap sandbox: the bwrap process (ours, or found after a restart), its host folder, its
// cgroup and its state file. Internal to LocalBackend.
class LocalSandbox : public Sandbox
{
    Q_OBJECT
public:
    // `dir` is its host folder; the state file and control folder are inside.
    LocalSandbox(LocalBackend *backend, LocalSandboxState state, QString dir, bool owned);
    ~LocalSandbox() override;

    // Starts bwrap for a new sandbox (state Starting). Everything it made is removed on failure.
    Result<void> launch(const LimitPlan &plan, const SandboxUser &user);
    // Connects to a sandbox found after a restart, or records that it ended meanwhile.
    void reattach(bool alive);

    void stop(int graceMs = -1) override;
    void destroy() override;
    void stopBecause(const QString &reason) override;

    // Ends it at once without the event loop: for the backend's destructor.
    void terminateNow(const QString &reason);

    const LocalSandboxState &stateRecord() const { return m_state; }
    QString controlSocket() const;
    // controlSocket(), or a short way to it when the path is too long for a unix socket address.
    QString socketAddress();

protected:
    void shimReady() override;
    void shimLost(const Error &error) override;
    void refreshInfo(SandboxInfo &info) const override;
    std::optional<quint64> oomKills() const override;

private:
    void watchExit(int pidfd);
    void readInfo();
    void readLog();
    void layerStarted();
    void onExited();
    void failStart(const QString &message);
    void beginKill();
    void finishStopped();
    void tryReleaseCgroup();
    void removeTraces();
    void removeSandboxFolder();
    void saveState();
    void startDeadlineTimer();
    QJsonObject eventPayload() const;
    QString logTail() const;
    void closeNotifiers();

    LocalBackend *m_backend;
    LocalSandboxState m_state;
    QString m_dir;
    bool m_child = false;            // bwrap is our child: we reap it
    bool m_exited = false;
    bool m_destroyAfterStop = false;
    bool m_recordedCreate = false;
    bool m_failed = false;
    QString m_stopReason;
    int m_pidfd = -1;
    int m_controlDirFd = -1;
    int m_infoFd = -1;
    int m_logFd = -1;
    QSocketNotifier *m_exitNotifier = nullptr;
    QSocketNotifier *m_infoNotifier = nullptr;
    QSocketNotifier *m_logNotifier = nullptr;
    // The workspace's protection layer while its launcher has not yet said that it serves; the
    // sandbox starts meanwhile (see PendingLayer::mountedAhead).
    PendingLayer m_layer;
    QSocketNotifier *m_layerNotifier = nullptr;
    QByteArray m_info;
    QByteArray m_log;
    Spawned m_spawned;
    QTimer m_killTimer;
    QTimer m_deadlineTimer;
    QTimer m_startTimer;
    QTimer m_releaseTimer;
    QTimer m_saveTimer; // a save that may wait for the next turn of the event loop
    int m_releaseTries = 0;
    QPointer<SystemdScope> m_scope;
};

} // namespace airlock::sandbox
