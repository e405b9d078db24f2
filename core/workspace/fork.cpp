// Checkpointer::fork and the transcript a fork's agent continues from.
#include "checkpointer.h"

#include "jobcontrol.h"
#include "protectedsweep.h"
#include "restore.h"
#include "shadowrepo.h"
#include "snapshot.h"
#include "store/eventstore.h"
#include "store/storereader.h"

#include <QDir>
#include <QJsonArray>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>

namespace airlock::workspace {

namespace {

bool isInside(const QString &inner, const QString &outer)
{
    const QString a = QDir::cleanPath(inner) + u'/';
    const QString b = QDir::cleanPath(outer) + u'/';
    return a.startsWith(b);
}

Result<QString> newSessionId(store::StoreReader &reader, const QString &dbPath, const QString &source)
{
    const QString base = source.left(100) + QStringLiteral("-fork-");
    for (int n = 1; n < 10000; ++n) {
        const QString candidate = base + QString::number(n);
        auto row = reader.session(candidate);
        if (!row)
            return std::unexpected(row.error());
        if (!*row && !QFileInfo::exists(shadowGitDir(dbPath, candidate)))
            return candidate;
    }
    return fail(ErrorCode::InvalidArgument, QStringLiteral("session %1 has too many forks; name the new one").arg(source));
}

Result<void> writeAlternates(const QString &gitDir, const QStringList &dirs)
{
    QByteArray text;
    for (const QString &d : dirs)
        text += QFile::encodeName(d) + '\n';
    QDir().mkpath(gitDir + QStringLiteral("/objects/info"));
    QSaveFile f(gitDir + QStringLiteral("/objects/info/alternates"));
    if (!f.open(QIODevice::WriteOnly) || f.write(text) != text.size() || !f.commit())
        return fail(ErrorCode::Io, QStringLiteral("cannot write %1: %2").arg(f.fileName(), f.errorString()));
    return {};
}

// Undoes what a failed fork created, and nothing else.
void cleanUp(const QString &gitDir, const QString &folder, bool folderCreated)
{
    QDir(gitDir).removeRecursively();
    QFile::remove(gitDir + QStringLiteral(".lock"));
    if (folderCreated) {
        if (auto parent = fs::openRoot(QFileInfo(folder).absolutePath()))
            (void)fs::removeTree(parent->get(), QFile::encodeName(QFileInfo(folder).fileName()).toStdString());
    }
}

} // namespace

Result<ForkOutcome> Checkpointer::fork(const ForkRequest &req, JobControl *control)
{
    auto reader = store::StoreReader::open(m_dbPath);
    if (!reader)
        return std::unexpected(reader.error());
    auto row = reader->existingSession(req.session);
    if (!row)
        return std::unexpected(row.error());
    const store::SessionRow source = *row;
    auto tree = loadCheckpointTree(m_dbPath, req.session);
    if (!tree)
        return std::unexpected(tree.error());
    auto index = tree->resolve(req.checkpoint, req.session);
    if (!index)
        return std::unexpected(index.error());
    const Checkpoint base = tree->nodes[*index].checkpoint;

    QString id = req.newSession;
    if (id.isEmpty()) {
        auto generated = newSessionId(*reader, m_dbPath, req.session);
        if (!generated)
            return std::unexpected(generated.error());
        id = *generated;
    } else {
        if (!store::isValidSessionId(id))
            return fail(ErrorCode::InvalidArgument, QStringLiteral("'%1' is not a session id (letters, digits, '-', '_', '.')").arg(id.left(80)));
        auto existing = reader->session(id);
        if (!existing)
            return std::unexpected(existing.error());
        if (*existing || QFileInfo::exists(shadowGitDir(m_dbPath, id)))
            return fail(ErrorCode::InvalidArgument, QStringLiteral("a session %1 exists already").arg(id));
    }

    const bool sameFolder = req.folder.isEmpty();
    const QString folder = sameFolder ? source.workspace : QDir::cleanPath(QFileInfo(req.folder).absoluteFilePath());
    if (folder.isEmpty())
        return fail(ErrorCode::InvalidArgument, QStringLiteral("session %1 has no workspace folder; fork into a new one").arg(req.session));
    bool folderCreated = false;
    if (!sameFolder) {
        const QFileInfo info(folder);
        if (info.exists() && (!info.isDir() || !QDir(folder).isEmpty(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden | QDir::System)))
            return fail(ErrorCode::InvalidArgument, QStringLiteral("%1 is not an empty folder; fork into a new or empty one").arg(folder));
        if (!source.workspace.isEmpty() && (isInside(folder, source.workspace) || isInside(source.workspace, folder)))
            return fail(ErrorCode::InvalidArgument, QStringLiteral("%1 overlaps the workspace %2; fork into a folder outside it")
                                                        .arg(folder, source.workspace));
        if (!info.exists()) {
            if (!QDir().mkpath(folder))
                return fail(ErrorCode::Io, QStringLiteral("cannot create %1").arg(folder));
            folderCreated = true;
        }
    }
    if (control && control->isCancelled())
        return fail(ErrorCode::Cancelled, QStringLiteral("the fork was cancelled"));

    const QString forkGitDir = shadowGitDir(m_dbPath, id);
    ForkOutcome out;
    out.session = id;
    out.commit = base.commit;
    out.workspace = folder;
    out.sameFolder = sameFolder;
    out.transcriptSeq = base.afterSeq;

    auto body = [&]() -> Result<void> {
        // The parent's repository: read for its alternates, written (and locked) for an in-place
        // fork, whose first step is a safety checkpoint of the parent.
        auto parentRepo = ShadowRepo::open(shadowGitDir(m_dbPath, req.session), source.workspace, req.session, m_options,
                                           sameFolder ? ShadowRepo::Mode::Write : ShadowRepo::Mode::Read);
        if (!parentRepo)
            return std::unexpected(parentRepo.error());
        std::optional<git_oid> baselineId;
        if (sameFolder) {
            SnapshotSpec spec{Cause::Safety, -1, QString(), QStringLiteral("before fork %1").arg(id), source.lastSeq, false};
            auto safety = takeSnapshot(*parentRepo, spec, control);
            if (!safety)
                return std::unexpected(safety.error());
            if (!safety->unchanged) {
                auto cp = describeSnapshot(*parentRepo, *safety, spec);
                if (!cp)
                    return std::unexpected(cp.error());
                if (auto r = record(req.session, kinds::CheckpointCreated, toPayload(*cp)); !r)
                    return std::unexpected(r.error());
            }
            if (auto f = finishSnapshot(*parentRepo, *safety); !f)
                return std::unexpected(f.error());
            baselineId = safety->commit;
            out.safety = git::toHex(safety->commit);
        }
        if (control && control->isCancelled())
            return fail(ErrorCode::Cancelled, QStringLiteral("the fork was cancelled"));

        auto forkRepo = ShadowRepo::open(forkGitDir, folder, id, m_options, ShadowRepo::Mode::Write);
        if (!forkRepo)
            return std::unexpected(forkRepo.error());
        // One level of alternates that names every ancestor: libgit2 follows chains only so deep.
        QStringList alternates{parentRepo->objectsDir()};
        alternates += parentRepo->alternates();
        alternates.removeDuplicates();
        if (auto a = writeAlternates(forkGitDir, alternates); !a)
            return a;
        if (auto a = forkRepo->addAlternates(alternates); !a)
            return a;
        // In place, the parent's fresh stat cache describes this very folder: start from it.
        if (sameFolder && !QFile::copy(parentRepo->gitDir() + QStringLiteral("/index"), forkGitDir + QStringLiteral("/index")))
            QFile::remove(forkGitDir + QStringLiteral("/index"));
        git_oid baseId;
        git::fromHex(base.commit, &baseId);
        auto targetTree = forkRepo->treeOf(baseId);
        if (!targetTree)
            return std::unexpected(targetTree.error());
        git::Tree baseline;
        if (baselineId) {
            auto t = forkRepo->treeOf(*baselineId);
            if (!t)
                return std::unexpected(t.error());
            baseline = std::move(*t);
        }
        auto cache = forkRepo->index();
        if (!cache)
            return std::unexpected(cache.error());
        if (!sameFolder)
            git_index_clear(*cache);
        auto root = fs::openRoot(folder);
        if (!root)
            return std::unexpected(root.error());
        auto report = restoreTree(forkRepo->repo(), *cache, baseline.get(), targetTree->get(), root->get(), control,
                                  forkRepo->privateEntries());
        if (!report)
            return std::unexpected(report.error());
        out.written = report->written;
        out.removed = report->removed;
        if (const auto allowed = startingProtectedEntries(*tree, *index)) {
            auto swept = removePlantedProtected(root->get(), *allowed);
            if (!swept)
                return std::unexpected(swept.error());
            out.protectedRemoved = *swept;
        }
        if (auto h = forkRepo->setHead(baseId, std::nullopt, QStringLiteral("fork of %1").arg(req.session)); !h)
            return h;
        if (auto w = forkRepo->writeIndex(coarseNowNs(), baseId); !w)
            return w;

        const QString title = req.title.isEmpty() ? (source.title.isEmpty() ? req.session : source.title) + QStringLiteral(" (fork)")
                                                  : req.title;
        auto orNull = [](const QString &s) { return s.isEmpty() ? QJsonValue() : QJsonValue(s); };
        // What the agent side needs to continue the conversation: whose transcript, up to where.
        const QJsonObject forkInfo{{QStringLiteral("session"), base.session},
                                   {QStringLiteral("checkpoint"), base.commit},
                                   {QStringLiteral("seq"), base.afterSeq},
                                   {QStringLiteral("folder"), sameFolder ? QStringLiteral("same") : QStringLiteral("new")},
                                   {QStringLiteral("protectedRemoved"), QJsonArray::fromStringList(out.protectedRemoved)}};
        if (auto a = m_store.append(id, QLatin1String(store::kinds::SessionCreated),
                                    QJsonObject{{QStringLiteral("title"), title},
                                                {QStringLiteral("agent"), orNull(source.agent)},
                                                {QStringLiteral("policy"), orNull(source.policy)},
                                                {QStringLiteral("workspace"), folder},
                                                {QStringLiteral("parent"), req.session},
                                                {QStringLiteral("fork"), forkInfo}});
            !a)
            return std::unexpected(a.error());
        Checkpoint first = base;
        first.session = id;
        first.cause = Cause::Fork;
        first.fromSession = base.session;
        first.parent.clear();
        first.turn = -1;
        first.toolCallId.clear();
        first.label = QStringLiteral("forked from %1 at %2").arg(base.session, base.shortId());
        first.workspace = folder;
        first.files.clear();
        first.filesTotal = 0;
        first.linesAdded = first.linesRemoved = 0;
        first.skipped.clear();
        first.skippedTotal = 0;
        first.durationMs = 0;
        first.protectedEntries.reset();
        return record(id, kinds::CheckpointCreated, toPayload(first));
    };
    auto result = body();
    if (!result) {
        if (result.error().code != ErrorCode::Cancelled)
            recordFailure(req.session, QStringLiteral("fork"), -1, QString(), result.error());
        cleanUp(forkGitDir, folder, folderCreated);
        if (sameFolder && !out.safety.isEmpty() && result.error().code != ErrorCode::Cancelled)
            return fail(result.error().code,
                        QStringLiteral("%1. The workspace may be partly restored; checkpoint %2 of session %3 holds it as "
                                       "it was before.")
                            .arg(result.error().message, out.safety.left(8), req.session));
        return std::unexpected(result.error());
    }
    return out;
}

Result<QList<store::Event>> forkTranscript(const QString &dbPath, const QString &session)
{
    auto reader = store::StoreReader::open(dbPath);
    if (!reader)
        return std::unexpected(reader.error());
    QList<store::Event> out;
    // Walk up: each fork's session.created names its parent and the seq the conversation stops at.
    QList<std::pair<QString, qint64>> chain;
    QString current = session;
    for (int guard = 0; guard < 100; ++guard) {
        auto first = reader->events(store::EventQuery{current, 0, 1, false, {}, 0});
        if (!first)
            return std::unexpected(first.error());
        if (first->isEmpty() || first->first().kind != QLatin1String(store::kinds::SessionCreated))
            break;
        const QJsonObject fork = first->first().payload.value(QStringLiteral("fork")).toObject();
        const QString parent = fork.value(QStringLiteral("session")).toString();
        if (parent.isEmpty())
            break;
        chain.prepend({parent, fork.value(QStringLiteral("seq")).toInteger()});
        current = parent;
    }
    for (const auto &[parent, untilSeq] : chain) {
        qint64 after = 0;
        for (;;) {
            auto page = reader->events(store::EventQuery{parent, after, 1000, false, {}, 0});
            if (!page)
                return std::unexpected(page.error());
            for (const store::Event &e : std::as_const(*page))
                if (e.seq <= untilSeq)
                    out.append(e);
            if (page->size() < 1000 || page->last().seq >= untilSeq)
                break;
            after = page->last().seq;
        }
    }
    return out;
}

} // namespace airlock::workspace
