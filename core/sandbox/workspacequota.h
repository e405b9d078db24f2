#pragma once

#include <QObject>
#include <QString>

class QTimer;

#include <optional>

namespace airlock::sandbox {

class Sandbox;

// The workspace's size on disk: allocated blocks of every file and folder under it, hard links
// counted once, other file systems mounted inside left out, links not followed. nullopt when the
// folder cannot be read at all.
std::optional<qint64> workspaceDiskUsage(const QString &path);

// Enforces resources.workspaceBytes where no file system quota does: while the sandbox runs, the
// workspace is measured off the event loop (every 2 s, or less often for a tree that takes long to
// measure) and once it is larger than the limit the sandbox is stopped, with that as its reason. A
// single file cannot outgrow the limit at all (RLIMIT_FSIZE is set to it), so what passes is at most
// what is written between two measurements.
class WorkspaceWatch : public QObject
{
    Q_OBJECT
public:
    // Owned by the sandbox; measures only while it is Running.
    WorkspaceWatch(Sandbox *sandbox, const QString &workspace, qint64 limitBytes);

    static constexpr int kIntervalMs = 2000;

Q_SIGNALS:
    // Each measurement taken while it runs (bytes: nullopt when the folder could not be read).
    void sizeMeasured(std::optional<qint64> bytes);
    // The limit was passed and the sandbox asked to stop.
    void exceeded(qint64 bytes, qint64 limitBytes);

private:
    void measure();
    void measured(std::optional<qint64> bytes, qint64 tookMs);

    Sandbox *m_sandbox;
    QString m_workspace;
    qint64 m_limit;
    bool m_busy = false;
    bool m_tripped = false;
    QTimer *m_timer;
};

} // namespace airlock::sandbox
