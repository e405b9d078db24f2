// The retention policy and `gc`: which sessions have outlived it, and removing them.
#include "retention.h"

#include "store/storereader.h"
#include "workspace/workspaceoptions.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSet>

#include <algorithm>

namespace airlock::session {

namespace {
const auto kNamespace = QStringLiteral("retention");
const auto kDaysKey = QStringLiteral("keepDays");
const auto kSessionsKey = QStringLiteral("keepSessions");
constexpr qint64 kDayMs = 24LL * 3600 * 1000;

Result<int> readCount(store::Connection &db, const QString &key)
{
    auto value = store::setting(db, kNamespace, key);
    if (!value)
        return std::unexpected(value.error());
    if (!*value)
        return 0;
    bool ok = false;
    const int n = (*value)->toInt(&ok);
    return ok && n > 0 ? n : 0; // a damaged value means no limit, never "remove everything"
}
} // namespace

QString RetentionPolicy::describe() const
{
    if (!isSet())
        return QStringLiteral("keep everything");
    QStringList parts;
    if (keepSessions > 0)
        parts << QStringLiteral("the %1 newest session%2").arg(keepSessions).arg(keepSessions == 1 ? QString() : QStringLiteral("s"));
    if (keepDays > 0)
        parts << QStringLiteral("sessions updated in the last %1 day%2").arg(keepDays).arg(keepDays == 1 ? QString() : QStringLiteral("s"));
    return QStringLiteral("keep ") + parts.join(QStringLiteral(" and "));
}

Result<RetentionPolicy> loadRetention(const QString &dbPath)
{
    auto db = store::openForReading(dbPath);
    if (!db)
        return std::unexpected(db.error());
    RetentionPolicy p;
    auto days = readCount(*db, kDaysKey);
    if (!days)
        return std::unexpected(days.error());
    auto sessions = readCount(*db, kSessionsKey);
    if (!sessions)
        return std::unexpected(sessions.error());
    p.keepDays = *days;
    p.keepSessions = *sessions;
    return p;
}

Result<void> saveRetention(const QString &dbPath, const RetentionPolicy &policy)
{
    if (policy.keepDays < 0 || policy.keepSessions < 0)
        return fail(ErrorCode::InvalidArgument, QStringLiteral("retention counts are 0 (no limit) or more"));
    const auto text = [](int n) { return n > 0 ? QString::number(n) : QString(); };
    if (auto r = store::setSetting(dbPath, kNamespace, kDaysKey, text(policy.keepDays)); !r)
        return r;
    return store::setSetting(dbPath, kNamespace, kSessionsKey, text(policy.keepSessions));
}

qint64 GcPlan::totalBytes() const
{
    qint64 total = leftoverBytes;
    for (const SessionFootprint &fp : remove)
        total += fp.total();
    return total;
}

Result<GcPlan> planGc(const QString &dbPath, const RetentionPolicy &policy, qint64 nowMs)
{
    auto reader = store::StoreReader::open(dbPath);
    if (!reader)
        return std::unexpected(reader.error());
    auto rows = reader->sessions();
    if (!rows)
        return std::unexpected(rows.error());
    auto db = store::openForReading(dbPath);
    if (!db)
        return std::unexpected(db.error());
    auto bytes = store::sessionStoreBytes(*db);
    if (!bytes)
        return std::unexpected(bytes.error());
    GcPlan plan;

    // Folders an earlier deletion could not remove, found through the tombstones that name them.
    auto deleted = store::deletedSessions(*db, 0);
    if (!deleted)
        return std::unexpected(deleted.error());
    QSet<QString> live;
    for (const store::SessionRow &r : *rows)
        live.insert(r.id);
    for (const auto &[seq, id] : *deleted) {
        if (live.contains(id))
            continue;
        store::EventQuery q;
        q.session = id;
        q.kind = QLatin1String(store::kSessionDeleted);
        q.afterSeq = seq - 1;
        q.limit = 1;
        auto tomb = reader->events(q);
        if (!tomb || tomb->isEmpty())
            continue;
        const QJsonObject payload = tomb->first().payload;
        const QString shadow = payload.value(QStringLiteral("shadow")).toObject().value(QStringLiteral("path")).toString();
        const QString copy = payload.value(QStringLiteral("workspaceCopy")).toObject().value(QStringLiteral("path")).toString();
        if (!shadow.isEmpty() && shadow == workspace::shadowGitDir(dbPath, id) && QFileInfo::exists(shadow)) {
            plan.leftovers << shadow;
            plan.leftoverBytes += diskUsage(shadow);
        }
        const QString home = payload.value(QStringLiteral("agentHome")).toObject().value(QStringLiteral("path")).toString();
        if (!home.isEmpty() && home == keptAgentHome(dbPath, id) && QFileInfo::exists(home)) {
            plan.leftovers << home;
            plan.leftoverBytes += diskUsage(home);
        }
        const bool copyInUse = std::any_of(rows->cbegin(), rows->cend(), [&](const store::SessionRow &r) {
            return QDir::cleanPath(r.workspace) == QDir::cleanPath(copy);
        });
        if (!copy.isEmpty() && isManagedWorkspace(copy) && !copyInUse && QFileInfo::exists(copy)) {
            plan.leftovers << copy;
            plan.leftoverBytes += diskUsage(copy);
        }
    }
    plan.leftovers.removeDuplicates();
    if (!policy.isSet())
        return plan;

    // Newest first: the first keepSessions are kept whatever their age.
    QList<store::SessionRow> byAge = *rows;
    std::stable_sort(byAge.begin(), byAge.end(), [](const auto &a, const auto &b) {
        return a.updated != b.updated ? a.updated > b.updated : a.lastSeq > b.lastSeq;
    });
    const qint64 cutoff = policy.keepDays > 0 ? nowMs - qint64(policy.keepDays) * kDayMs : 0;
    QList<store::SessionRow> expired;
    for (qsizetype i = 0; i < byAge.size(); ++i) {
        const bool beyondCount = policy.keepSessions <= 0 || i >= policy.keepSessions;
        const bool beyondAge = policy.keepDays <= 0 || byAge.at(i).updated < cutoff;
        if (beyondCount && beyondAge)
            expired << byAge.at(i);
    }

    // A session goes only when nothing stops it and every fork that reads its history goes too;
    // keeping one can keep its parents, so this runs until nothing changes.
    QHash<QString, QString> keptWhy;
    QHash<QString, QStringList> forksOf;
    for (const store::SessionRow &r : expired) {
        if (auto why = processBlocker(*reader, r))
            keptWhy.insert(r.id, *why);
        forksOf.insert(r.id, dependentForks(dbPath, r.id));
    }
    QSet<QString> going;
    for (const store::SessionRow &r : expired)
        if (!keptWhy.contains(r.id))
            going.insert(r.id);
    for (bool changed = true; changed;) {
        changed = false;
        for (const store::SessionRow &r : expired) {
            if (!going.contains(r.id))
                continue;
            for (const QString &fork : forksOf.value(r.id)) {
                if (live.contains(fork) && !going.contains(fork)) {
                    going.remove(r.id);
                    keptWhy.insert(r.id, QStringLiteral("its fork %1 is kept and reads checkpoints from it").arg(fork));
                    changed = true;
                    break;
                }
            }
        }
    }
    // Forks are younger than their parents: newest created first removes every fork before its parent.
    std::stable_sort(expired.begin(), expired.end(), [](const auto &a, const auto &b) { return a.firstSeq > b.firstSeq; });
    for (const store::SessionRow &r : expired) {
        SessionFootprint fp = footprint(dbPath, r, bytes->value(r.id), *rows);
        if (going.contains(r.id))
            plan.remove << fp;
        else
            plan.kept.append({fp, keptWhy.value(r.id)});
    }
    return plan;
}

GcResult runGc(const QString &dbPath, const GcPlan &plan, const QString &reason)
{
    GcResult result;
    for (const SessionFootprint &planned : plan.remove) {
        // Looked at again just before: the session may have been resumed, or a sharer of its
        // workspace copy deleted a moment ago.
        auto reader = store::StoreReader::open(dbPath);
        if (!reader) {
            result.problems << reader.error().message;
            return result;
        }
        auto row = reader->session(planned.session.id);
        if (!row || !*row)
            continue; // gone already
        if (auto why = removalBlocker(dbPath, *reader, **row)) {
            result.problems << QStringLiteral("%1 was kept: %2").arg(planned.session.id, *why);
            continue;
        }
        auto rows = reader->sessions();
        auto bytes = storeBytesOf(dbPath, planned.session.id);
        if (!rows || !bytes) {
            result.problems << (rows ? bytes.error().message : rows.error().message);
            continue;
        }
        const SessionFootprint fp = footprint(dbPath, **row, *bytes, *rows);
        auto removed = removeSession(dbPath, fp, reason);
        if (!removed) {
            result.problems << QStringLiteral("%1: %2").arg(planned.session.id, removed.error().message);
            continue;
        }
        result.removedSessions << planned.session.id;
        result.freedBytes += removed->freedBytes;
        result.problems += removed->problems;
    }
    for (const QString &path : plan.leftovers) {
        const qint64 size = diskUsage(path);
        // Leftovers were checked against the tombstones when planned; remove them the same careful way.
        const bool shadow = path.endsWith(QLatin1String(".git"))
            && QFileInfo(path).absolutePath() == QFileInfo(dbPath).absolutePath() + QStringLiteral("/shadow");
        if (!shadow && !isManagedWorkspace(path)) {
            result.problems << QStringLiteral("%1 was left alone: not a folder of Airlock's").arg(path);
            continue;
        }
        const QStringList problems = removeFolder(path);
        result.problems += problems;
        if (problems.isEmpty())
            result.freedBytes += size;
        if (shadow)
            QFile::remove(path + QStringLiteral(".lock"));
    }
    return result;
}

} // namespace airlock::session
