#pragma once

#include "changes.h"
#include "checkpoint.h"
#include "checkpointtree.h"
#include "workspaceoptions.h"

#include <QString>

#include <map>
#include <memory>
#include <mutex>

namespace airlock::store {
class EventStore;
struct Event;
} // namespace airlock::store

namespace airlock::workspace {

class ChangeJournal;
class JobControl;

struct CheckpointRequest {
    CheckpointRequest() = default;
    explicit CheckpointRequest(QString id, Cause why = Cause::Manual) : session(std::move(id)), cause(why) {}

    QString session;
    Cause cause = Cause::Manual;
    int turn = -1;
    QString toolCallId;
    QString label;
    qint64 afterSeq = -1;     // -1: the session's newest event when the snapshot starts
    QString workspace;        // empty: the session's
    bool allowEmpty = false;  // record a checkpoint even when nothing changed
};

struct CheckpointOutcome {
    bool created = false;     // false: nothing changed since `checkpoint`, and no event was added
    Checkpoint checkpoint;    // the new one; when !created, only commit (the current head) is set
    qint64 filesScanned = 0;
    qint64 filesHashed = 0;
    bool cacheRebuilt = false; // the stat cache was missing or damaged; every file was read again
};

struct RewindRequest {
    QString session;
    QString checkpoint;       // see CheckpointTree::resolve
};

struct RewindOutcome {
    QString commit;           // restored
    QString safety;           // the checkpoint holding the state before: rewind to it to undo
    bool safetyCreated = false; // false: the newest checkpoint already held that state
    int written = 0;
    int removed = 0;
    QStringList protectedRemoved; // protected entries the session did not start with (protectedsweep.h)
};

struct ForkRequest {
    QString session;          // forked from
    QString checkpoint;       // see CheckpointTree::resolve
    QString newSession;       // empty: "<session>-fork-<n>"
    QString folder;           // empty: the same workspace folder, rewound in place
    QString title;            // empty: "<title> (fork)"
};

struct ForkOutcome {
    QString session;
    QString commit;
    QString workspace;
    bool sameFolder = false;
    QString safety;           // in-place forks: the parent's checkpoint holding the state before
    int written = 0;
    int removed = 0;
    QStringList protectedRemoved; // as for a rewind
    qint64 transcriptSeq = 0; // the parent's events up to this seq are the fork's conversation so far
};

// Checkpoints of sessions whose events live in `store`: snapshot, rewind and fork, each recorded as
// events. Every call runs on the calling thread and may take a while on a big workspace; the GUI
// and the session use CheckpointJobs, which run them on worker threads. Safe to call from several
// threads at once: calls for one session are serialised by a lock on its shadow repository (which
// also keeps airlockctl and the GUI apart).
class Checkpointer
{
public:
    explicit Checkpointer(store::EventStore &store, WorkspaceOptions options = {});

    Result<CheckpointOutcome> create(const CheckpointRequest &request, JobControl *control = nullptr);
    Result<RewindOutcome> rewind(const RewindRequest &request, JobControl *control = nullptr);
    Result<ForkOutcome> fork(const ForkRequest &request, JobControl *control = nullptr);

    // Keeps a change journal (inotify) for the session's workspace while this object lives, so
    // its snapshots look only at folders that changed instead of every file. The session calls this
    // when it starts; without it every snapshot scans the whole workspace, which is always correct.
    // Rewinds and forks scan everything regardless. False when the journal cannot run here.
    bool watch(const QString &session);
    void unwatch(const QString &session);

    const QString &dbPath() const { return m_dbPath; }
    const WorkspaceOptions &options() const { return m_options; }

private:
    Result<void> record(const QString &session, const char *kind, const QJsonObject &payload);
    void recordFailure(const QString &session, const QString &cause, int turn, const QString &toolCallId,
                       const Error &error);

    std::shared_ptr<ChangeJournal> journal(const QString &session);

    store::EventStore &m_store;
    QString m_dbPath;
    WorkspaceOptions m_options;
    std::mutex m_journalsMutex;
    std::map<QString, std::shared_ptr<ChangeJournal>> m_journals;
};

// A diff between two checkpoints of one family. `to` and `from` are references as
// CheckpointTree::resolve takes them; an empty `from` means the parent of `to` in the tree.
struct CheckpointDiff {
    Checkpoint from;          // empty commit: the empty tree (`to` is a root)
    Checkpoint to;
    QList<FileDiff> files;
    int linesAdded = 0;
    int linesRemoved = 0;
};
Result<CheckpointDiff> diffCheckpoints(const QString &dbPath, const QString &session, const QString &to,
                                       const QString &from = {}, const DiffOptions &options = {});
// The same with the tree already loaded (nodes by index; from -1: the empty tree).
Result<CheckpointDiff> diffCheckpoints(const QString &dbPath, const CheckpointTree &tree, int to, int from,
                                       const DiffOptions &options = {});

// The events an agent needs to continue a fork's conversation: the parent's (and its ancestors')
// events up to the fork point, oldest first. Empty for a session that is not a fork.
Result<QList<store::Event>> forkTranscript(const QString &dbPath, const QString &session);

} // namespace airlock::workspace
