#include "checkpointer.h"

#include "changejournal.h"
#include "jobcontrol.h"
#include "protectedsweep.h"
#include "restore.h"
#include "shadowrepo.h"
#include "snapshot.h"
#include "store/eventstore.h"
#include "store/sqlite.h"
#include "store/storereader.h"

#include <QElapsedTimer>
#include <QFileInfo>
#include <QJsonArray>

namespace airlock::workspace {

namespace {

bool cancelled(JobControl *control)
{
    return control && control->isCancelled();
}

std::unexpected<Error> cancelledError(const QString &what)
{
    return fail(ErrorCode::Cancelled, QStringLiteral("%1 was cancelled").arg(what));
}

// The seq and time the store gave a checkpoint event we just wrote.
void fillSeq(const QString &dbPath, Checkpoint *cp)
{
    auto db = store::Connection::open(dbPath, store::Connection::Mode::ReadWrite);
    if (!db)
        return;
    auto stmt = db->prepare("SELECT seq, time FROM events WHERE session = ?1 AND kind = 'checkpoint.created' "
                            "AND json_extract(payload, '$.commit') = ?2 ORDER BY seq DESC LIMIT 1");
    if (!stmt)
        return;
    stmt->bind(1, cp->session);
    stmt->bind(2, cp->commit);
    if (stmt->step().value_or(false)) {
        cp->seq = stmt->columnInt(0);
        cp->time = stmt->columnInt(1);
    }
}

// True when `other` is `session` or one of the sessions it was forked from: their snapshots are
// readable from `session`'s shadow repository.
bool inLineage(store::StoreReader &reader, const QString &session, const QString &other)
{
    QString s = session;
    for (int guard = 0; guard < 1000 && !s.isEmpty(); ++guard) {
        if (s == other)
            return true;
        auto row = reader.session(s);
        if (!row || !*row)
            return false;
        s = (*row)->parent;
    }
    return false;
}

} // namespace

Checkpointer::Checkpointer(store::EventStore &store, WorkspaceOptions options)
    : m_store(store), m_dbPath(store.path()), m_options(std::move(options))
{
    const PrivatePaths own = airlockPrivatePaths(m_dbPath);
    m_options.privatePaths.files += own.files;
    m_options.privatePaths.folders += own.folders;
}

bool Checkpointer::watch(const QString &session)
{
    auto reader = store::StoreReader::open(m_dbPath);
    if (!reader)
        return false;
    auto row = reader->session(session);
    if (!row || !*row || (*row)->workspace.isEmpty())
        return false;
    auto journal = std::make_shared<ChangeJournal>((*row)->workspace);
    std::lock_guard lock(m_journalsMutex);
    m_journals[session] = std::move(journal);
    return true;
}

void Checkpointer::unwatch(const QString &session)
{
    std::lock_guard lock(m_journalsMutex);
    m_journals.erase(session);
}

std::shared_ptr<ChangeJournal> Checkpointer::journal(const QString &session)
{
    std::lock_guard lock(m_journalsMutex);
    auto it = m_journals.find(session);
    return it == m_journals.end() ? nullptr : it->second;
}

Result<void> Checkpointer::record(const QString &session, const char *kind, const QJsonObject &payload)
{
    if (auto r = m_store.append(session, QLatin1String(kind), payload); !r)
        return std::unexpected(r.error());
    return m_store.flush();
}

void Checkpointer::recordFailure(const QString &session, const QString &cause, int turn, const QString &toolCallId,
                                 const Error &error)
{
    // Only what went wrong on the way, not a request that could not be met.
    if (error.code == ErrorCode::Cancelled || error.code == ErrorCode::InvalidArgument)
        return;
    static const char *const codes[] = {"invalid-argument", "not-found", "io", "not-a-database", "corrupt",
                                        "newer-schema", "busy", "storage", "cancelled"};
    const int code = int(error.code);
    (void)m_store.append(session, QLatin1String(kinds::CheckpointFailed),
                         QJsonObject{{QStringLiteral("cause"), cause},
                                     {QStringLiteral("turn"), turn >= 0 ? QJsonValue(turn) : QJsonValue()},
                                     {QStringLiteral("toolCallId"), toolCallId.isEmpty() ? QJsonValue() : QJsonValue(toolCallId)},
                                     {QStringLiteral("code"), QLatin1String(code >= 0 && code < 9 ? codes[code] : "error")},
                                     {QStringLiteral("error"), error.message.left(4000)}});
    (void)m_store.flush();
}

Result<CheckpointOutcome> Checkpointer::create(const CheckpointRequest &req, JobControl *control)
{
    QElapsedTimer timer;
    timer.start();
    // Events queued before the request (the session itself, the tool call that caused it) must be
    // committed before "the session's newest event" is read. Waiting here keeps that off the
    // caller's thread: CheckpointJobs runs this on a worker.
    if (auto flushed = m_store.flush(); !flushed)
        return std::unexpected(flushed.error());
    auto reader = store::StoreReader::open(m_dbPath);
    if (!reader)
        return std::unexpected(reader.error());
    auto row = reader->existingSession(req.session);
    if (!row)
        return std::unexpected(row.error());
    const QString workspace = req.workspace.isEmpty() ? row->workspace : req.workspace;
    if (workspace.isEmpty())
        return fail(ErrorCode::InvalidArgument, QStringLiteral("session %1 has no workspace folder to checkpoint").arg(req.session));

    auto body = [&]() -> Result<CheckpointOutcome> {
        if (!QFileInfo(workspace).isDir())
            return fail(ErrorCode::NotFound, QStringLiteral("the workspace %1 of session %2 is not there").arg(workspace, req.session));
        SnapshotSpec spec{req.cause, req.turn, req.toolCallId, req.label,
                          req.afterSeq >= 0 ? req.afterSeq : row->lastSeq, req.allowEmpty};
        auto repo = ShadowRepo::open(shadowGitDir(m_dbPath, req.session), workspace, req.session, m_options,
                                     ShadowRepo::Mode::Write);
        if (!repo)
            return std::unexpected(repo.error());
        if (cancelled(control))
            return cancelledError(QStringLiteral("the snapshot"));
        // The journal answers for the workspace it watches; a snapshot of another folder scans it all.
        auto journal = this->journal(req.session);
        if (journal && QFileInfo(journal->workspace()) != QFileInfo(workspace))
            journal.reset();
        if (journal)
            journal->lendIndex(*repo);
        auto snap = takeSnapshot(*repo, spec, control, journal.get());
        if (!snap && journal)
            journal->invalidate();
        if (!snap)
            return std::unexpected(snap.error());
        CheckpointOutcome out;
        out.filesScanned = snap->scan.files;
        out.filesHashed = snap->scan.hashed;
        out.cacheRebuilt = repo->indexRebuilt();
        if (snap->unchanged) {
            out.checkpoint.session = req.session;
            out.checkpoint.commit = git::toHex(snap->commit);
            if (auto f = finishSnapshot(*repo, *snap); !f)
                return std::unexpected(f.error());
            if (journal)
                journal->keepIndex(*repo);
            return out;
        }
        auto cp = describeSnapshot(*repo, *snap, spec);
        if (!cp)
            return std::unexpected(cp.error());
        cp->durationMs = timer.elapsed();
        if (auto r = record(req.session, kinds::CheckpointCreated, toPayload(*cp)); !r)
            return std::unexpected(r.error());
        if (auto f = finishSnapshot(*repo, *snap); !f)
            return std::unexpected(f.error());
        if (journal)
            journal->keepIndex(*repo);
        fillSeq(m_dbPath, &*cp);
        out.created = true;
        out.checkpoint = std::move(*cp);
        return out;
    };
    auto result = body();
    if (!result) {
        // The journal handed its record to a snapshot that did not make it: start over next time.
        if (auto j = journal(req.session))
            j->invalidate();
        recordFailure(req.session, nameOf(req.cause), req.turn, req.toolCallId, result.error());
    }
    return result;
}

Result<RewindOutcome> Checkpointer::rewind(const RewindRequest &req, JobControl *control)
{
    auto reader = store::StoreReader::open(m_dbPath);
    if (!reader)
        return std::unexpected(reader.error());
    auto row = reader->existingSession(req.session);
    if (!row)
        return std::unexpected(row.error());
    const QString workspace = row->workspace;
    auto tree = loadCheckpointTree(m_dbPath, req.session);
    if (!tree)
        return std::unexpected(tree.error());
    auto index = tree->resolve(req.checkpoint, req.session);
    if (!index)
        return std::unexpected(index.error());
    const Checkpoint target = tree->nodes[*index].checkpoint;

    auto body = [&]() -> Result<RewindOutcome> {
        auto repo = ShadowRepo::open(shadowGitDir(m_dbPath, req.session), workspace, req.session, m_options,
                                     ShadowRepo::Mode::Write);
        if (!repo)
            return std::unexpected(repo.error());
        git_oid targetId;
        git::fromHex(target.commit, &targetId);
        auto targetTree = repo->treeOf(targetId);
        if (!targetTree) {
            if (targetTree.error().code == ErrorCode::NotFound && inLineage(*reader, req.session, target.session))
                return std::unexpected(repo->damaged(targetTree.error()));
            if (targetTree.error().code == ErrorCode::NotFound)
                return fail(ErrorCode::InvalidArgument, QStringLiteral("checkpoint %1 belongs to session %2, whose history "
                                                                "session %3 does not share; fork from it instead")
                                                     .arg(target.shortId(), target.session, req.session));
            return std::unexpected(targetTree.error());
        }
        if (cancelled(control))
            return cancelledError(QStringLiteral("the rewind"));
        SnapshotSpec spec{Cause::Safety, -1, QString(), QStringLiteral("before rewind to %1").arg(target.shortId()),
                          row->lastSeq, false};
        auto safety = takeSnapshot(*repo, spec, control);
        if (!safety)
            return std::unexpected(safety.error());
        RewindOutcome out;
        out.commit = target.commit;
        out.safety = git::toHex(safety->commit);
        out.safetyCreated = !safety->unchanged;
        if (out.safetyCreated) {
            auto cp = describeSnapshot(*repo, *safety, spec);
            if (!cp)
                return std::unexpected(cp.error());
            if (auto r = record(req.session, kinds::CheckpointCreated, toPayload(*cp)); !r)
                return std::unexpected(r.error());
        }
        if (auto f = finishSnapshot(*repo, *safety); !f)
            return std::unexpected(f.error());
        // The last moment to stop: from here on the workspace is being rewritten.
        if (cancelled(control))
            return cancelledError(QStringLiteral("the rewind"));
        auto safetyTree = repo->treeOf(safety->commit);
        if (!safetyTree)
            return std::unexpected(safetyTree.error());
        auto cache = repo->index();
        if (!cache)
            return std::unexpected(cache.error());
        auto root = fs::openRoot(workspace);
        if (!root)
            return std::unexpected(root.error());
        auto report = restoreTree(repo->repo(), *cache, safetyTree->get(), targetTree->get(), root->get(), control,
                                  repo->privateEntries());
        if (!report)
            return fail(report.error().code,
                        QStringLiteral("rewinding session %1 to %2 stopped: %3. The workspace is partly restored; "
                                       "checkpoint %4 holds it as it was before (rewind to it to go back).")
                            .arg(req.session, target.shortId(), report.error().message, out.safety.left(8)));
        out.written = report->written;
        out.removed = report->removed;
        // A .git, hook or task file the agent planted goes too, whatever the checkpoint holds.
        if (const auto allowed = startingProtectedEntries(*tree, *index)) {
            auto swept = removePlantedProtected(root->get(), *allowed);
            if (!swept)
                return fail(swept.error().code, QStringLiteral("rewinding session %1 to %2: %3").arg(req.session, target.shortId(), swept.error().message));
            out.protectedRemoved = *swept;
        }
        if (auto h = repo->setHead(targetId, safety->commit, QStringLiteral("rewind")); !h)
            return std::unexpected(h.error());
        if (auto w = repo->writeIndex(coarseNowNs(), targetId); !w)
            return std::unexpected(w.error());
        if (auto r = record(req.session, kinds::CheckpointRewound,
                            QJsonObject{{QStringLiteral("commit"), out.commit},
                                        {QStringLiteral("safety"), out.safety},
                                        {QStringLiteral("written"), out.written},
                                        {QStringLiteral("removed"), out.removed},
                                        {QStringLiteral("protectedRemoved"), QJsonArray::fromStringList(out.protectedRemoved)},
                                        {QStringLiteral("workspace"), workspace}});
            !r)
            return std::unexpected(r.error());
        return out;
    };
    auto result = body();
    if (!result)
        recordFailure(req.session, QStringLiteral("rewind"), -1, QString(), result.error());
    return result;
}

Result<CheckpointDiff> diffCheckpoints(const QString &dbPath, const QString &session, const QString &to,
                                       const QString &from, const DiffOptions &options)
{
    auto tree = loadCheckpointTree(dbPath, session);
    if (!tree)
        return std::unexpected(tree.error());
    auto toIndex = tree->resolve(to, session);
    if (!toIndex)
        return std::unexpected(toIndex.error());
    int fromIndex = tree->nodes[*toIndex].parent;
    if (!from.isEmpty()) {
        auto f = tree->resolve(from, session);
        if (!f)
            return std::unexpected(f.error());
        fromIndex = *f;
    }
    return diffCheckpoints(dbPath, *tree, *toIndex, fromIndex, options);
}

Result<CheckpointDiff> diffCheckpoints(const QString &dbPath, const CheckpointTree &tree, int toIndex, int fromIndex,
                                       const DiffOptions &options)
{
    if (toIndex < 0 || toIndex >= tree.nodes.size() || fromIndex >= tree.nodes.size())
        return fail(ErrorCode::InvalidArgument, QStringLiteral("no such checkpoint in the history"));
    CheckpointDiff out;
    out.to = tree.nodes[toIndex].checkpoint;
    if (fromIndex >= 0)
        out.from = tree.nodes[fromIndex].checkpoint;
    const QString owner = out.to.session;
    const QString gitDir = shadowGitDir(dbPath, owner);
    if (!QFileInfo::exists(gitDir))
        return fail(ErrorCode::NotFound, QStringLiteral("the files of session %1's checkpoints are not on this machine (no "
                                                        "history at %2); an imported session brings its events, "
                                                        "not its snapshots")
                                             .arg(owner, gitDir));
    auto repo = ShadowRepo::open(gitDir, QString(), owner, WorkspaceOptions(), ShadowRepo::Mode::Read);
    if (!repo)
        return std::unexpected(repo.error());
    // Any checkpoint of the family may be compared with any other, siblings included.
    QStringList objectDirs;
    for (const QString &s : std::as_const(tree.sessions))
        objectDirs.append(shadowGitDir(dbPath, s) + QStringLiteral("/objects"));
    if (auto a = repo->addAlternates(objectDirs); !a)
        return std::unexpected(a.error());
    auto treeFor = [&](const Checkpoint &c) -> Result<git::Tree> {
        git_oid id;
        git::fromHex(c.commit, &id);
        auto t = repo->treeOf(id);
        if (!t && t.error().code == ErrorCode::NotFound)
            return fail(ErrorCode::NotFound, QStringLiteral("the files of checkpoint %1 (session %2) are missing from "
                                                            "its history at %3")
                                                 .arg(c.shortId(), c.session, shadowGitDir(dbPath, c.session)));
        return t;
    };
    auto toTree = treeFor(out.to);
    if (!toTree)
        return std::unexpected(toTree.error());
    git::Tree fromTree;
    if (!out.from.commit.isEmpty()) {
        auto t = treeFor(out.from);
        if (!t)
            return std::unexpected(t.error());
        fromTree = std::move(*t);
    }
    auto files = diffTrees(repo->repo(), fromTree.get(), toTree->get(), options);
    if (!files)
        return std::unexpected(repo->damaged(files.error()));
    out.files = std::move(*files);
    for (const FileDiff &f : std::as_const(out.files)) {
        out.linesAdded += f.change.added;
        out.linesRemoved += f.change.removed;
    }
    return out;
}

} // namespace airlock::workspace
