#include "snapshot.h"

#include "changejournal.h"
#include "changes.h"
#include "fsops.h"
#include "jobcontrol.h"
#include "protectedsweep.h"
#include "shadowrepo.h"

#include <QSet>

#include <algorithm>

namespace airlock::workspace {

namespace {

Result<git_oid> buildTreeSlow(git_repository *repo, git_tree *base, const std::vector<ScanChange> &changes)
{
    git_index *raw = nullptr;
    if (int rc = git_index_new(&raw); rc < 0)
        return git::failed(rc, QStringLiteral("cannot build a snapshot"));
    git::Index index(raw);
    if (base)
        if (int rc = git_index_read_tree(index.get(), base); rc < 0)
            return git::failed(rc, QStringLiteral("cannot read the previous snapshot"));
    // Removals first: a file that became a folder must leave before its children arrive.
    for (const ScanChange &c : changes)
        if (c.remove)
            git_index_remove(index.get(), c.path.c_str(), 0);
    for (const ScanChange &c : changes) {
        if (c.remove)
            continue;
        git_index_entry e{};
        e.mode = c.mode;
        e.id = c.oid;
        e.path = c.path.c_str();
        if (int rc = git_index_add(index.get(), &e); rc < 0)
            return git::failed(rc, QStringLiteral("cannot add %1 to the snapshot").arg(QString::fromStdString(c.path)));
    }
    git_oid tree;
    if (int rc = git_index_write_tree_to(&tree, index.get(), repo); rc < 0)
        return git::failed(rc, QStringLiteral("cannot write the snapshot"));
    return tree;
}

Result<void> applyToCache(git_index *cache, const std::vector<ScanChange> &changes)
{
    for (const ScanChange &c : changes)
        if (c.remove)
            git_index_remove(cache, c.path.c_str(), 0);
    for (const ScanChange &c : changes) {
        if (c.remove)
            continue;
        git_index_entry e{};
        fillIndexEntry(&e, c.st, c.mode, c.oid);
        e.path = c.path.c_str();
        if (int rc = git_index_add(cache, &e); rc < 0)
            return git::failed(rc, QStringLiteral("cannot record %1 in the snapshot cache").arg(QString::fromStdString(c.path)));
    }
    return {};
}

} // namespace

Result<git_oid> buildTree(git_repository *repo, git_tree *base, const std::vector<ScanChange> &changes)
{
    std::vector<git_tree_update> updates;
    updates.reserve(changes.size());
    for (const ScanChange &c : changes) {
        git_tree_entry *raw = nullptr;
        const bool present = base && git_tree_entry_bypath(&raw, base, c.path.c_str()) == 0;
        git::TreeEntry entry(raw);
        if (c.remove) {
            // A stale cache entry for a file that has since become a folder must not take the
            // folder (already in the base) with it.
            if (present && git_tree_entry_type(entry.get()) != GIT_OBJECT_TREE)
                updates.push_back({GIT_TREE_UPDATE_REMOVE, c.oid, git_filemode_t(c.mode), c.path.c_str()});
            continue;
        }
        if (present && git_oid_equal(git_tree_entry_id(entry.get()), &c.oid)
            && quint32(git_tree_entry_filemode(entry.get())) == c.mode)
            continue; // only the stat moved
        updates.push_back({GIT_TREE_UPDATE_UPSERT, c.oid, git_filemode_t(c.mode), c.path.c_str()});
    }
    git_oid out;
    if (updates.empty() && base) {
        git_oid_cpy(&out, git_tree_id(base));
        return out;
    }
    if (git_tree_create_updated(&out, repo, base, updates.size(), updates.data()) == 0)
        return out;
    git_error_clear();
    return buildTreeSlow(repo, base, changes);
}

QString commitMessage(const QString &session, const SnapshotSpec &spec)
{
    QString msg = describeCause(spec.cause, spec.turn, spec.toolCallId);
    if (!spec.label.isEmpty())
        msg += QStringLiteral(": ") + spec.label.simplified();
    msg += QStringLiteral("\n\nAirlock-Session: %1\nAirlock-Cause: %2\nAirlock-After-Seq: %3\n")
               .arg(session, nameOf(spec.cause))
               .arg(spec.afterSeq);
    if (spec.turn >= 0)
        msg += QStringLiteral("Airlock-Turn: %1\n").arg(spec.turn);
    if (!spec.toolCallId.isEmpty())
        msg += QStringLiteral("Airlock-Tool-Call: %1\n").arg(spec.toolCallId.simplified());
    return msg;
}

Result<Snapshot> takeSnapshot(ShadowRepo &repo, const SnapshotSpec &spec, JobControl *control, ChangeJournal *journal)
{
    Snapshot snap;
    auto head = repo.head();
    if (!head)
        return std::unexpected(head.error());
    snap.parent = *head;
    git::Tree base;
    if (snap.parent) {
        auto t = repo.treeOf(*snap.parent);
        if (!t) // the head names a snapshot that is not there
            return std::unexpected(t.error().code == ErrorCode::NotFound ? repo.damaged(t.error()) : t.error());
        base = std::move(*t);
    }
    ScanScope scope;
    if (journal) {
        scope = journal->take(repo);
        if (scope.full)
            journal->reset(repo); // watch first: what changes during the full scan is recorded
    }
    auto scan = scanWorkspace(repo, control, scope);
    if (!scan)
        return std::unexpected(scan.error().code == ErrorCode::Corrupt ? repo.damaged(scan.error()) : scan.error());
    snap.scan = std::move(*scan);
    if (journal)
        snap.scan.skipped = journal->mergeSkipped(scope, snap.scan.skipped, repo.options().maxFileBytes);
    auto tree = buildTree(repo.repo(), base.get(), snap.scan.changes);
    if (!tree)
        return std::unexpected(repo.damaged(tree.error()));
    snap.tree = *tree;
    auto cache = repo.index();
    if (!cache)
        return std::unexpected(cache.error());
    if (auto r = applyToCache(*cache, snap.scan.changes); !r)
        return std::unexpected(r.error());
    // Refreshed paths count too: if the cache was behind the head, their content may differ from it.
    for (const ScanChange &c : snap.scan.changes)
        snap.touched.push_back(c.path);

    if (base && git_oid_equal(&snap.tree, git_tree_id(base.get())) && !spec.allowEmpty) {
        snap.unchanged = true;
        snap.commit = *snap.parent;
        return snap;
    }
    if (control && control->isCancelled())
        return fail(ErrorCode::Cancelled, QStringLiteral("the snapshot was cancelled"));
    git_tree *rawTree = nullptr;
    if (int rc = git_tree_lookup(&rawTree, repo.repo(), &snap.tree); rc < 0)
        return std::unexpected(repo.damaged(git::lastError(rc, QStringLiteral("cannot read the new snapshot"))));
    git::Tree newTree(rawTree);
    git_signature *rawSig = nullptr;
    if (int rc = git_signature_now(&rawSig, "Airlock", "airlock@localhost"); rc < 0)
        return git::failed(rc, QStringLiteral("cannot sign the snapshot"));
    git::Signature sig(rawSig);
    git::Commit parentCommit;
    if (snap.parent) {
        auto c = repo.commit(*snap.parent);
        if (!c)
            return std::unexpected(c.error());
        parentCommit = std::move(*c);
    }
    const git_commit *parents[] = {parentCommit.get()};
    const QByteArray message = commitMessage(repo.session(), spec).toUtf8();
    if (int rc = git_commit_create(&snap.commit, repo.repo(), nullptr, sig.get(), sig.get(), "UTF-8",
                                   message.constData(), newTree.get(), parentCommit ? 1 : 0, parents);
        rc < 0)
        return git::failed(rc, QStringLiteral("cannot write the snapshot of session %1").arg(repo.session()));
    return snap;
}

Result<void> finishSnapshot(ShadowRepo &repo, const Snapshot &snap)
{
    if (!snap.unchanged)
        if (auto r = repo.setHead(snap.commit, snap.parent, QStringLiteral("checkpoint")); !r)
            return r;
    // The cache is saved last: if it were newer than the head, a later scan would miss changes.
    // Writing it means writing every entry: while only a few entries are stale (same paths, old
    // stats), reading those few again next time is cheaper. A changed set of paths is saved at once
    // (see ShadowRepo::reconcileIndex). Files read again with unchanged content (racy or touched)
    // are saved too: only a newer cache settles them, or every later scan would read them again.
    const bool pathsChanged = std::any_of(snap.scan.changes.begin(), snap.scan.changes.end(),
                                          [](const ScanChange &c) { return c.remove || c.added; });
    const bool settled = std::any_of(snap.scan.changes.begin(), snap.scan.changes.end(), [](const ScanChange &c) {
        return !c.remove && !c.added && !c.contentChanged;
    });
    if (pathsChanged || settled || snap.scan.changes.size() >= kCacheSlack || repo.indexRebuilt())
        return repo.writeIndex(snap.scan.startNs, snap.commit);
    return {};
}

Result<Checkpoint> describeSnapshot(ShadowRepo &repo, const Snapshot &snap, const SnapshotSpec &spec)
{
    Checkpoint cp;
    cp.session = repo.session();
    cp.commit = git::toHex(snap.commit);
    cp.parent = snap.parent ? git::toHex(*snap.parent) : QString();
    cp.tree = git::toHex(snap.tree);
    cp.afterSeq = spec.afterSeq;
    cp.cause = spec.cause;
    cp.turn = spec.turn;
    cp.toolCallId = spec.toolCallId;
    cp.label = spec.label;
    cp.workspace = repo.workspace();
    if (spec.cause == Cause::Start) {
        auto root = fs::openRoot(repo.workspace());
        if (!root)
            return std::unexpected(root.error());
        auto entries = findProtectedEntries(root->get());
        if (!entries)
            return std::unexpected(entries.error());
        cp.protectedEntries = *entries;
    }

    git::Tree base, tree;
    if (snap.parent) {
        auto t = repo.treeOf(*snap.parent);
        if (!t)
            return std::unexpected(t.error());
        base = std::move(*t);
    }
    git_tree *raw = nullptr;
    if (int rc = git_tree_lookup(&raw, repo.repo(), &snap.tree); rc < 0)
        return std::unexpected(repo.damaged(git::lastError(rc, QStringLiteral("cannot read the new snapshot"))));
    tree.reset(raw);
    DiffOptions opts;
    opts.patches = false;
    opts.maxFiles = kMaxListedFiles;
    // A crash between a commit and its cache leaves the cache behind the head; then the changed
    // paths are not enough and the whole trees are compared.
    const bool pathsSuffice = !repo.indexRebuilt();
    auto files = diffTrees(repo.repo(), base.get(), tree.get(), opts, pathsSuffice ? &snap.touched : nullptr, &cp.filesTotal);
    if (!files)
        return std::unexpected(files.error());
    QSet<QString> skippedPaths;
    for (const ScanSkip &s : snap.scan.skipped)
        skippedPaths.insert(QString::fromStdString(s.path));
    for (FileDiff &f : *files) {
        if (f.change.status == FileStatus::Deleted && skippedPaths.contains(f.change.path))
            f.change.status = FileStatus::Skipped; // still there, but now over the cap or unreadable
        cp.linesAdded += f.change.added;
        cp.linesRemoved += f.change.removed;
        cp.files.append(f.change);
    }
    cp.skippedTotal = int(snap.scan.skipped.size());
    for (const ScanSkip &s : snap.scan.skipped) {
        if (cp.skipped.size() >= kMaxListedFiles)
            break;
        cp.skipped.append(SkippedFile{QString::fromStdString(s.path), s.size,
                                      s.reason == SkipReason::TooBig    ? QStringLiteral("size")
                                      : s.reason == SkipReason::TooDeep ? QStringLiteral("depth")
                                                                        : QStringLiteral("unreadable")});
    }
    return cp;
}

} // namespace airlock::workspace
