#include "checkpointtree.h"

#include "store/sqlite.h"
#include "store/storereader.h"

#include <QHash>
#include <QJsonDocument>

namespace airlock::workspace {

namespace {

// Only the checkpoint events of one session, straight from the log: the session's index narrows
// the scan, and payloads of other events are never parsed.
Result<QList<store::Event>> checkpointEvents(store::Connection &db, const QString &session)
{
    auto stmt = db.prepare("SELECT seq, session, kind, payload, time FROM events WHERE session = ?1 AND kind IN "
                           "('checkpoint.created', 'checkpoint.rewound', 'checkpoint.failed') ORDER BY seq");
    if (!stmt)
        return std::unexpected(stmt.error());
    stmt->bind(1, session);
    QList<store::Event> out;
    for (;;) {
        auto row = stmt->step();
        if (!row)
            return std::unexpected(row.error());
        if (!*row)
            return out;
        store::Event e;
        e.seq = stmt->columnInt(0);
        e.session = stmt->columnText(1);
        e.kind = stmt->columnText(2);
        e.payload = QJsonDocument::fromJson(stmt->columnBytes(3)).object();
        e.time = stmt->columnInt(4);
        out.append(std::move(e));
    }
}

bool isHexPrefix(const QString &s)
{
    if (s.size() < 4 || s.size() > 40)
        return false;
    for (QChar c : s)
        if (!((c >= u'0' && c <= u'9') || (c >= u'a' && c <= u'f')))
            return false;
    return true;
}

} // namespace

int CheckpointTree::find(const QString &s, const QString &commit) const
{
    for (int i = 0; i < nodes.size(); ++i)
        if (nodes[i].checkpoint.session == s && nodes[i].checkpoint.commit == commit)
            return i;
    return -1;
}

int CheckpointTree::latest(const QString &s) const
{
    for (int i = int(nodes.size()) - 1; i >= 0; --i)
        if (nodes[i].checkpoint.session == s)
            return i;
    return -1;
}

Result<int> CheckpointTree::resolve(const QString &ref, const QString &s) const
{
    if (ref == QLatin1String("latest")) {
        const int i = latest(s);
        if (i < 0)
            return fail(ErrorCode::NotFound, QStringLiteral("session %1 has no checkpoints").arg(s));
        return i;
    }
    const QString prefix = ref.toLower();
    if (!isHexPrefix(prefix))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("'%1' is not a checkpoint (give at least four hex digits "
                                                               "of its id, or 'latest')")
                                                    .arg(ref.left(80)));
    QList<int> own, family;
    for (int i = 0; i < nodes.size(); ++i) {
        if (!nodes[i].checkpoint.commit.startsWith(prefix))
            continue;
        (nodes[i].checkpoint.session == s ? own : family).append(i);
    }
    const QList<int> &hits = own.isEmpty() ? family : own;
    QSet<QString> commits;
    for (int i : hits)
        commits.insert(nodes[i].checkpoint.commit);
    if (commits.isEmpty())
        return fail(ErrorCode::NotFound, QStringLiteral("no checkpoint %1 in the history of session %2").arg(ref, s));
    if (commits.size() > 1)
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("'%1' matches %2 checkpoints; give more digits").arg(ref).arg(commits.size()));
    return hits.last();
}

QList<int> CheckpointTree::lineage(int node) const
{
    QList<int> path;
    for (int i = node; i >= 0 && path.size() <= nodes.size(); i = nodes[i].parent)
        path.prepend(i);
    return path;
}

Result<CheckpointTree> loadCheckpointTree(const QString &dbPath, const QString &session)
{
    auto reader = store::StoreReader::open(dbPath);
    if (!reader)
        return std::unexpected(reader.error());
    auto rows = reader->sessions();
    if (!rows)
        return std::unexpected(rows.error());
    QHash<QString, QString> parentOf;
    for (const auto &r : *rows)
        parentOf.insert(r.id, r.parent);
    if (!parentOf.contains(session))
        return fail(ErrorCode::NotFound, QStringLiteral("no session %1 in %2").arg(session, dbPath));

    CheckpointTree tree;
    tree.session = session;
    QString root = session;
    for (int guard = 0; guard < 1000 && !parentOf.value(root).isEmpty() && parentOf.contains(parentOf.value(root)); ++guard)
        root = parentOf.value(root);
    // Sessions come oldest first, so a parent is always met before its forks.
    QSet<QString> family{root};
    tree.sessions.append(root);
    for (const auto &r : *rows) {
        if (!family.contains(r.id) && family.contains(r.parent)) {
            family.insert(r.id);
            tree.sessions.append(r.id);
        }
    }

    auto db = store::Connection::open(dbPath, store::Connection::Mode::ReadWrite);
    if (!db)
        return std::unexpected(db.error());
    (void)db->exec("PRAGMA query_only = ON");
    QList<store::Event> events;
    for (const QString &s : std::as_const(tree.sessions)) {
        auto some = checkpointEvents(*db, s);
        if (!some)
            return std::unexpected(some.error());
        events += *some;
    }
    std::sort(events.begin(), events.end(), [](const store::Event &a, const store::Event &b) { return a.seq < b.seq; });

    QHash<QString, int> byKey; // session + ':' + commit
    QHash<QString, int> byCommit; // the first node with that commit, whichever session
    for (const store::Event &e : std::as_const(events)) {
        if (e.kind == QLatin1String(kinds::CheckpointRewound)) {
            if (auto r = rewindFromEvent(e))
                tree.rewinds.append(*r);
            continue;
        }
        if (e.kind == QLatin1String(kinds::CheckpointFailed)) {
            tree.failures.append(FailureRecord{e.session, e.seq, e.time, e.payload.value(QStringLiteral("cause")).toString(),
                                               e.payload.value(QStringLiteral("error")).toString()});
            continue;
        }
        auto cp = checkpointFromEvent(e);
        if (!cp) {
            ++tree.malformed;
            continue;
        }
        CheckpointNode node;
        node.checkpoint = std::move(*cp);
        const Checkpoint &c = node.checkpoint;
        if (c.cause == Cause::Fork)
            node.parent = byKey.value(c.fromSession + u':' + c.commit, byCommit.value(c.commit, -1));
        else if (!c.parent.isEmpty())
            node.parent = byKey.value(c.session + u':' + c.parent, byCommit.value(c.parent, -1));
        const int index = int(tree.nodes.size());
        byKey.insert(c.session + u':' + c.commit, index);
        if (!byCommit.contains(c.commit))
            byCommit.insert(c.commit, index);
        if (node.parent >= 0)
            tree.nodes[node.parent].children.append(index);
        else
            tree.roots.append(index);
        tree.nodes.append(std::move(node));
    }
    return tree;
}

} // namespace airlock::workspace
