#include "sessionowner.h"

#include "sandbox/spawned.h"
#include "store/eventstore.h"
#include "store/storereader.h"

#include <QCoreApplication>
#include <QFile>

#include <cerrno>
#include <csignal>
#include <unistd.h>

namespace airlock::session {

namespace {
QString bootId()
{
    QFile f(QStringLiteral("/proc/sys/kernel/random/boot_id"));
    return f.open(QIODevice::ReadOnly) ? QString::fromLatin1(f.readAll().trimmed()) : QString();
}
} // namespace

QJsonObject currentOwner()
{
    return {{QStringLiteral("pid"), qint64(::getpid())},
            {QStringLiteral("start"), QString::number(sandbox::processStartTime(::getpid()))},
            {QStringLiteral("boot"), bootId()},
            {QStringLiteral("program"), QCoreApplication::instance() ? QCoreApplication::applicationName() : QString()}};
}

bool isLiveState(const QString &state)
{
    return state == QLatin1String("starting") || state == QLatin1String("running") || state == QLatin1String("blocked")
        || state == QLatin1String("idle");
}

bool ownerAlive(const QJsonObject &owner)
{
    const qint64 pid = owner.value(QStringLiteral("pid")).toInteger();
    if (pid <= 0)
        return true; // unknown: never declared dead
    if (owner.value(QStringLiteral("boot")).toString() != bootId())
        return false; // the machine restarted since
    if (!(::kill(pid_t(pid), 0) == 0 || errno == EPERM))
        return false;
    // The pid lives, but it may have been given to another process since: its start time tells.
    // Owners recorded before the start time was kept are judged by the pid alone.
    const QString start = owner.value(QStringLiteral("start")).toString();
    return start.isEmpty() || start == QString::number(sandbox::processStartTime(pid_t(pid)));
}

Result<QList<Orphan>> findOrphans(store::StoreReader &reader)
{
    auto sessions = reader.sessions();
    if (!sessions)
        return std::unexpected(sessions.error());
    QList<Orphan> orphans;
    for (const store::SessionRow &s : *sessions) {
        if (!isLiveState(s.state))
            continue;
        // The newest session.created names the process running it now (a resumed session has several).
        store::EventQuery q;
        q.session = s.id;
        q.kind = QLatin1String(store::kinds::SessionCreated);
        q.newest = true;
        q.limit = 1;
        auto created = reader.events(q);
        if (!created)
            return std::unexpected(created.error());
        if (created->isEmpty())
            continue;
        const QJsonObject owner = created->first().payload.value(QStringLiteral("owner")).toObject();
        if (owner.isEmpty() || ownerAlive(owner))
            continue;
        const QString reason = QStringLiteral("the process running it (%1, pid %2) is gone")
                                   .arg(owner.value(QStringLiteral("program")).toString(),
                                        QString::number(owner.value(QStringLiteral("pid")).toInteger()));
        orphans.append({s.id, s.state, reason});
    }
    return orphans;
}

namespace {
Result<QStringList> markFailed(const QList<Orphan> &orphans, store::EventStore &store)
{
    QStringList marked;
    for (const Orphan &o : orphans) {
        if (auto r = store.append(o.session, QLatin1String(store::kinds::SessionState),
                                  {{QStringLiteral("state"), QStringLiteral("failed")}, {QStringLiteral("reason"), o.reason}});
            !r)
            return std::unexpected(r.error());
        marked << o.session;
    }
    if (!marked.isEmpty())
        if (auto r = store.flush(); !r)
            return std::unexpected(r.error());
    return marked;
}
} // namespace

Result<QStringList> reconcileOrphans(store::StoreReader &reader, store::EventStore &store)
{
    auto orphans = findOrphans(reader);
    if (!orphans)
        return std::unexpected(orphans.error());
    return markFailed(*orphans, store);
}

Result<QStringList> reconcileOrphans(const QString &dbPath)
{
    auto reader = store::StoreReader::open(dbPath);
    if (!reader)
        return std::unexpected(reader.error());
    auto orphans = findOrphans(*reader);
    if (!orphans || orphans->isEmpty())
        return orphans ? Result<QStringList>(QStringList{}) : std::unexpected(orphans.error());
    auto store = store::EventStore::open(dbPath);
    if (!store)
        return std::unexpected(store.error());
    return markFailed(*orphans, **store);
}

} // namespace airlock::session
