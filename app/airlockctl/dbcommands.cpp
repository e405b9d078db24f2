#include "cli.h"
#include "store/maintenance.h"
#include "session/sessionowner.h"
#include "store/schema.h"
#include "store/storereader.h"

#include <QJsonArray>
#include <QJsonObject>

namespace airlock::cli {

namespace {

int check(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Check the database: SQLite integrity, schema version and "
                                               "an unbroken event sequence. Exits 1 when anything is wrong. "
                                               "Also lists sessions still marked live whose process is gone "
                                               "(the next command that opens the store marks them failed)."));
    p.addOption({QStringLiteral("json"), QStringLiteral("Print the report as JSON.")});
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    if (auto db = store::openDatabase(ctx.dbPath); !db)
        return error(db.error());
    auto reader = store::StoreReader::open(ctx.dbPath);
    if (!reader)
        return error(reader.error());
    auto report = reader->check();
    if (!report)
        return error(report.error());
    const auto &r = *report;
    store::DeletionSummary deleted;
    if (auto db = store::openForReading(ctx.dbPath))
        deleted = store::deletionSummary(*db).value_or(store::DeletionSummary());
    // Read only: the check says what it found and changes nothing.
    auto orphans = session::findOrphans(*reader);
    if (!orphans)
        return error(orphans.error());
    QJsonArray orphanList;
    for (const session::Orphan &o : *orphans)
        orphanList.append(QJsonObject{{QStringLiteral("session"), o.session}, {QStringLiteral("state"), o.state},
                                      {QStringLiteral("reason"), o.reason}});
    if (p.isSet(QStringLiteral("json"))) {
        outJson(QJsonObject{
            {QStringLiteral("path"), r.path},
            {QStringLiteral("ok"), r.ok()},
            {QStringLiteral("integrity"), QJsonArray::fromStringList(r.integrityMessages)},
            {QStringLiteral("schemaVersion"), r.schemaVersion},
            {QStringLiteral("journalMode"), r.journalMode},
            {QStringLiteral("events"), r.events},
            {QStringLiteral("firstSeq"), r.firstSeq},
            {QStringLiteral("lastSeq"), r.lastSeq},
            {QStringLiteral("seqContiguous"), r.seqContiguous},
            {QStringLiteral("sessions"), r.sessions},
            {QStringLiteral("fileBytes"), r.fileBytes},
            {QStringLiteral("deletedSessions"), deleted.sessions},
            {QStringLiteral("purgedEvents"), deleted.events},
            {QStringLiteral("orphanedSessions"), orphanList},
        });
    } else {
        out(QStringLiteral("database   %1 (%2 bytes)").arg(r.path).arg(r.fileBytes));
        out(QStringLiteral("schema     version %1, journal %2").arg(r.schemaVersion).arg(r.journalMode));
        out(QStringLiteral("integrity  %1").arg(r.integrityMessages.join(QStringLiteral("; "))));
        out(QStringLiteral("events     %1 (seq %2..%3, %4)")
                .arg(r.events)
                .arg(r.firstSeq)
                .arg(r.lastSeq)
                .arg(r.seqContiguous ? (deleted.events > 0 ? QStringLiteral("complete but for deleted sessions")
                                                           : QStringLiteral("contiguous"))
                                     : QStringLiteral("GAPS FOUND")));
        out(QStringLiteral("sessions   %1").arg(r.sessions));
        if (deleted.sessions > 0)
            out(QStringLiteral("deleted    %1 session(s), %2 event(s)").arg(deleted.sessions).arg(deleted.events));
        out(QStringLiteral("orphaned   %1").arg(orphans->size()));
        for (const session::Orphan &o : *orphans)
            out(QStringLiteral("  %1 %2, but %3").arg(o.session, o.state, o.reason));
    }
    if (!r.ok())
        return error(QStringLiteral("%1 failed its check: %2")
                         .arg(r.path,
                              !r.integrityOk ? r.integrityMessages.join(QStringLiteral("; "))
                                             : QStringLiteral("the event sequence has gaps")));
    return Ok;
}

int path(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Print the database file airlockctl would use."));
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    out(ctx.dbPath);
    return Ok;
}

} // namespace

static int runDb(const QString &verb, const Context &ctx)
{
    if (verb == QLatin1String("check"))
        return check(ctx);
    if (verb == QLatin1String("path"))
        return path(ctx);
    return error(QStringLiteral("unknown command 'db %1'").arg(verb), Usage);
}

AIRLOCKCTL_GROUP({QStringLiteral("db"), {QStringLiteral("check"), QStringLiteral("path")}, runDb,
                  "  db check [--json]                           check the database's integrity\n"
              "  db path                                     print the database file in use\n",
                  90});

} // namespace airlock::cli
