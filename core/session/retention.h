#pragma once

#include "error.h"
#include "store/event.h"
#include "store/maintenance.h"

#include <QHash>
#include <QStringList>

#include <optional>

namespace airlock::store {
class StoreReader;
} // namespace airlock::store

namespace airlock::session {

// Where Airlock keeps workspaces of its own making (the demo agent's copies of its project). Only
// folders in here are ever removed with a session; a workspace the user chose always stays.
QString managedWorkspaceRoot();
bool isManagedWorkspace(const QString &path);

// Bytes a file or folder takes on disk (allocated blocks; symlinks are not followed). 0 when missing.
qint64 diskUsage(const QString &path);

// Removes a folder and everything in it, never following a symlink out of it; returns what could
// not be removed (empty: all gone, or it was not there).
QStringList removeFolder(const QString &path);

// Where a session's agent keeps its home between runs when the policy's lifecycle is hybrid or
// persistent: <folder of the database>/homes/<session>. Empty without a database path.
QString keptAgentHome(const QString &dbPath, const QString &session);

// What a session keeps on disk, and what deleting it would remove.
struct SessionFootprint {
    store::SessionRow session;
    qint64 storeBytes = 0;   // its events (payloads and kinds; SQLite's overhead comes on top)
    QString shadowDir;       // its checkpoint history; empty when it has none
    qint64 shadowBytes = 0;
    QString agentHome;       // the agent's kept home (hybrid and persistent lifecycles); empty when none
    qint64 agentHomeBytes = 0;
    QString workspaceCopy;   // Airlock's own copy of its workspace, removed with it; empty when none
    qint64 workspaceBytes = 0;
    QString keptWorkspace;   // a workspace that stays: the user's, or a copy other sessions still use
    QString keptWhy;
    qint64 total() const { return storeBytes + shadowBytes + agentHomeBytes + workspaceBytes; }
};

// What the session's events take in the store (payload and kind bytes).
Result<qint64> storeBytesOf(const QString &dbPath, const QString &session);

// One session's footprint; `all` (every session in the store) tells whether a copy is shared.
SessionFootprint footprint(const QString &dbPath, const store::SessionRow &row, qint64 storeBytes,
                           const QList<store::SessionRow> &all);
// Every session's, for the sessions list. Walks the shadow repositories and copies: not for the UI thread.
Result<QHash<QString, SessionFootprint>> footprints(const QString &dbPath);

// Why the session must not be deleted now, or nullopt: it is running or blocked, the process that
// owns it lives (ignoreOwnerPid: a caller that knows the session is idle in its own process), or a
// fork reads its checkpoints from this session's history.
std::optional<QString> removalBlocker(const QString &dbPath, store::StoreReader &reader, const store::SessionRow &row,
                                      qint64 ignoreOwnerPid = 0);
// The same without the forks: only whether a process is driving the session.
std::optional<QString> processBlocker(store::StoreReader &reader, const store::SessionRow &row, qint64 ignoreOwnerPid = 0);
// The sessions whose shadow repositories read objects from this session's (its forks, at any depth).
QStringList dependentForks(const QString &dbPath, const QString &session);

struct RemovalResult {
    store::PurgeResult purge;
    qint64 freedBytes = 0;
    QStringList removed;  // folders removed from disk
    QStringList problems; // what could not be removed (the store entry is gone; gc tries again)
};

// Deletes the session: its events and rows from the store (leaving a session.deleted tombstone that
// names `reason` and what goes from disk), then its shadow repository, its agent's kept home and
// Airlock's copy of its workspace. Check removalBlocker() first.
Result<RemovalResult> removeSession(const QString &dbPath, const SessionFootprint &fp, const QString &reason);

// Keep the sessions updated in the last keepDays days and the keepSessions newest ones; 0 means
// no limit of that kind. Stored in the kv table (namespace "retention").
struct RetentionPolicy {
    int keepDays = 0;
    int keepSessions = 0;
    bool isSet() const { return keepDays > 0 || keepSessions > 0; }
    QString describe() const;
};
Result<RetentionPolicy> loadRetention(const QString &dbPath);
Result<void> saveRetention(const QString &dbPath, const RetentionPolicy &policy);

struct GcPlan {
    QList<SessionFootprint> remove; // in the order they go (forks before their parents)
    QList<std::pair<SessionFootprint, QString>> kept; // past the retention but kept, with why
    QStringList leftovers;          // folders of deleted sessions an earlier removal could not delete
    qint64 leftoverBytes = 0;
    qint64 totalBytes() const;
};

// What the retention policy would remove now. nowMs: the reference time (tests pass their own).
Result<GcPlan> planGc(const QString &dbPath, const RetentionPolicy &policy, qint64 nowMs);
struct GcResult {
    QStringList removedSessions;
    qint64 freedBytes = 0;
    QStringList problems;
};
// Carries the plan out; sessions that became busy meanwhile are skipped (listed in problems).
GcResult runGc(const QString &dbPath, const GcPlan &plan, const QString &reason);

} // namespace airlock::session
