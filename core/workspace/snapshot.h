#pragma once

#include "checkpoint.h"
#include "git.h"
#include "scanner.h"

#include <optional>

namespace airlock::workspace {

class ChangeJournal;
class JobControl;
class ShadowRepo;

struct SnapshotSpec {
    Cause cause = Cause::Manual;
    int turn = -1;
    QString toolCallId;
    QString label;
    qint64 afterSeq = 0;
    bool allowEmpty = false; // commit even when nothing changed since the head
};

struct Snapshot {
    std::optional<git_oid> parent; // the head before
    git_oid commit{};              // the new commit, or the head when unchanged
    git_oid tree{};
    bool unchanged = false;        // nothing to commit: commit == *parent
    ScanResult scan;
    std::vector<std::string> touched; // every path the scan reported, for describing
};

// Scans, stages into the stat cache (in memory), writes the tree and the commit. Nothing visible
// changes yet: the head moves and the cache is saved in finishSnapshot(), after the caller has
// recorded the checkpoint, so a crash in between leaves a history that is merely behind. With a
// journal, only the folders it names are scanned (or everything, when it cannot say); a caller
// whose snapshot then fails must invalidate() the journal, which has handed its record over.
Result<Snapshot> takeSnapshot(ShadowRepo &repo, const SnapshotSpec &spec, JobControl *control,
                              ChangeJournal *journal = nullptr);
Result<void> finishSnapshot(ShadowRepo &repo, const Snapshot &snapshot);

// How many stale stat-cache entries finishSnapshot lets pass before it saves the cache.
inline constexpr size_t kCacheSlack = 32;

// The checkpoint a snapshot makes: changed files with line counts (against its parent), skipped
// files, cause. session, seq and time are the caller's.
Result<Checkpoint> describeSnapshot(ShadowRepo &repo, const Snapshot &snapshot, const SnapshotSpec &spec);

// Builds `base` with the scan's changes applied: the fast path edits only the trees on changed
// paths; a file that became a folder (or back) goes the long way through a temporary index.
Result<git_oid> buildTree(git_repository *repo, git_tree *base, const std::vector<ScanChange> &changes);

// The commit message: a summary line, then trailers that let the history be read without the store.
QString commitMessage(const QString &session, const SnapshotSpec &spec);

} // namespace airlock::workspace
