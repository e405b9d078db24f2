// Deleting sessions and the retention policy: airlockctl sessions rm, airlockctl gc.
#include "cli.h"
#include "sandbox/limiter.h"
#include "session/retention.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonObject>
#include <QTextStream>

#include <cstdio>
#include <unistd.h>

namespace airlock::cli {

namespace {

QString size(qint64 bytes)
{
    return sandbox::formatBytes(bytes);
}

QJsonObject footprintToJson(const session::SessionFootprint &fp)
{
    QJsonObject o = sessionToJson(fp.session);
    o.insert(QStringLiteral("storeBytes"), fp.storeBytes);
    o.insert(QStringLiteral("totalBytes"), fp.total());
    if (!fp.shadowDir.isEmpty())
        o.insert(QStringLiteral("shadow"), QJsonObject{{QStringLiteral("path"), fp.shadowDir}, {QStringLiteral("bytes"), fp.shadowBytes}});
    if (!fp.agentHome.isEmpty())
        o.insert(QStringLiteral("agentHome"), QJsonObject{{QStringLiteral("path"), fp.agentHome}, {QStringLiteral("bytes"), fp.agentHomeBytes}});
    if (!fp.workspaceCopy.isEmpty())
        o.insert(QStringLiteral("workspaceCopy"),
                 QJsonObject{{QStringLiteral("path"), fp.workspaceCopy}, {QStringLiteral("bytes"), fp.workspaceBytes}});
    if (!fp.keptWorkspace.isEmpty())
        o.insert(QStringLiteral("keptWorkspace"), QJsonObject{{QStringLiteral("path"), fp.keptWorkspace}, {QStringLiteral("why"), fp.keptWhy}});
    return o;
}

// The lines that say what deleting the session removes, and what stays.
void describe(const session::SessionFootprint &fp, const QString &indent)
{
    const auto &s = fp.session;
    out(QStringLiteral("%1session %2 \"%3\" (%4, updated %5): %6 in all")
            .arg(indent, s.id, s.title, s.state, formatTime(s.updated), size(fp.total())));
    out(QStringLiteral("%1  store           %2 events, %3").arg(indent).arg(s.eventCount).arg(size(fp.storeBytes)));
    if (!fp.shadowDir.isEmpty())
        out(QStringLiteral("%1  checkpoints     %2  %3").arg(indent, fp.shadowDir, size(fp.shadowBytes)));
    if (!fp.agentHome.isEmpty())
        out(QStringLiteral("%1  agent's home    %2  %3").arg(indent, fp.agentHome, size(fp.agentHomeBytes)));
    if (!fp.workspaceCopy.isEmpty())
        out(QStringLiteral("%1  workspace copy  %2  %3").arg(indent, fp.workspaceCopy, size(fp.workspaceBytes)));
    if (!fp.keptWorkspace.isEmpty())
        out(QStringLiteral("%1  stays           %2 (%3)").arg(indent, fp.keptWorkspace, fp.keptWhy));
}

bool confirm(const QString &question)
{
    std::fputs(qPrintable(question + QStringLiteral(" [y/N] ")), stdout);
    std::fflush(stdout);
    QTextStream in(stdin);
    const QString answer = in.readLine().trimmed().toLower();
    return answer == QLatin1String("y") || answer == QLatin1String("yes");
}

} // namespace

int sessionsRemove(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Delete sessions: their events, their checkpoint history and Airlock's copy of their workspace (a "
        "folder you chose stays). Shows what goes and asks first; a running session, one whose process "
        "lives, or one a fork still reads from is refused."));
    p.addPositionalArgument(QStringLiteral("ID"), QStringLiteral("The sessions to delete."), QStringLiteral("ID…"));
    p.addOption({{QStringLiteral("y"), QStringLiteral("yes")}, QStringLiteral("Delete without asking.")});
    p.addOption({QStringLiteral("json"), QStringLiteral("Print a JSON object per session (implies nothing about --yes).")});
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    const QStringList ids = p.positionalArguments();
    if (ids.isEmpty())
        return error(QStringLiteral("sessions rm needs the id of a session (see airlockctl sessions list)"), Usage);
    for (const QString &id : ids)
        if (!store::isValidSessionId(id))
            return error(QStringLiteral("'%1' is not a session id").arg(id.left(80)), Usage);
    const bool json = p.isSet(QStringLiteral("json"));

    auto reader = openReader(ctx.dbPath);
    if (!reader)
        return error(reader.error());
    auto all = reader->sessions();
    if (!all)
        return error(all.error());
    QList<session::SessionFootprint> plan;
    for (const QString &id : ids) {
        auto row = reader->existingSession(id);
        if (!row)
            return error(row.error());
        if (auto why = session::removalBlocker(ctx.dbPath, *reader, *row))
            return error(QStringLiteral("session %1 cannot be deleted: %2").arg(id, *why));
        auto bytes = session::storeBytesOf(ctx.dbPath, id);
        if (!bytes)
            return error(bytes.error());
        plan << session::footprint(ctx.dbPath, *row, *bytes, *all);
    }
    if (!json) {
        out(QStringLiteral("Deleting removes:"));
        for (const auto &fp : plan)
            describe(fp, QStringLiteral("  "));
    }
    if (!p.isSet(QStringLiteral("yes"))) {
        if (!::isatty(STDIN_FILENO))
            return error(QStringLiteral("nothing was deleted: confirm with --yes (no terminal to ask on)"));
        if (!confirm(plan.size() == 1 ? QStringLiteral("Delete this session?") : QStringLiteral("Delete these %1 sessions?").arg(plan.size())))
            return error(QStringLiteral("nothing was deleted"));
    }
    int status = Ok;
    for (const auto &fp : plan) {
        auto removed = session::removeSession(ctx.dbPath, fp, QStringLiteral("deleted by request"));
        if (!removed) {
            status = error(QStringLiteral("session %1: %2").arg(fp.session.id, removed.error().message));
            continue;
        }
        for (const QString &problem : removed->problems)
            std::fprintf(stderr, "airlockctl: warning: could not remove %s (airlockctl gc tries again)\n", qPrintable(problem));
        if (!removed->problems.isEmpty())
            status = Failed;
        if (json) {
            QJsonObject o = footprintToJson(fp);
            o.insert(QStringLiteral("deleted"), true);
            o.insert(QStringLiteral("eventsPurged"), removed->purge.events);
            o.insert(QStringLiteral("freedBytes"), removed->freedBytes);
            o.insert(QStringLiteral("problems"), QJsonArray::fromStringList(removed->problems));
            outJson(o);
        } else {
            out(QStringLiteral("Deleted session %1: %2 events, %3 freed.")
                    .arg(fp.session.id)
                    .arg(removed->purge.events)
                    .arg(size(removed->freedBytes)));
        }
    }
    return status;
}

namespace {

bool readKeep(const QCommandLineParser &p, const QString &name, int *value, int *exit)
{
    if (!p.isSet(name))
        return true;
    bool ok = false;
    *value = p.value(name).toInt(&ok);
    if (!ok || *value < 0 || *value > 1000000) {
        *exit = error(QStringLiteral("--%1 takes a number from 0 (no limit) to 1000000").arg(name), Usage);
        return false;
    }
    return true;
}

int runGc(const QString &, const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Delete the sessions the retention policy no longer keeps, with their checkpoint histories and "
        "Airlock's workspace copies, and folders an earlier deletion left behind. Sessions that run, whose "
        "process lives, or whose forks are kept are never removed. --keep-days and --keep-sessions save the "
        "policy in the store (0: no limit of that kind) unless --dry-run is given."));
    p.addOption({QStringLiteral("dry-run"), QStringLiteral("List what would be removed, with sizes; remove nothing.")});
    p.addOption({QStringLiteral("keep-days"), QStringLiteral("Keep sessions updated in the last N days."), QStringLiteral("N")});
    p.addOption({QStringLiteral("keep-sessions"), QStringLiteral("Keep the N newest sessions."), QStringLiteral("N")});
    p.addOption({QStringLiteral("show"), QStringLiteral("Print the retention policy and nothing else.")});
    p.addOption({QStringLiteral("json"), QStringLiteral("Print a JSON object.")});
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    if (!p.positionalArguments().isEmpty())
        return error(QStringLiteral("gc takes no arguments"), Usage);
    const bool dryRun = p.isSet(QStringLiteral("dry-run"));
    const bool json = p.isSet(QStringLiteral("json"));

    auto reader = openReader(ctx.dbPath);
    if (!reader)
        return error(reader.error());
    auto policy = session::loadRetention(ctx.dbPath);
    if (!policy)
        return error(policy.error());
    const bool changing = p.isSet(QStringLiteral("keep-days")) || p.isSet(QStringLiteral("keep-sessions"));
    if (!readKeep(p, QStringLiteral("keep-days"), &policy->keepDays, &exit)
        || !readKeep(p, QStringLiteral("keep-sessions"), &policy->keepSessions, &exit))
        return exit;
    if (changing && !dryRun)
        if (auto r = session::saveRetention(ctx.dbPath, *policy); !r)
            return error(r.error());
    const QJsonObject policyJson{{QStringLiteral("keepDays"), policy->keepDays},
                                 {QStringLiteral("keepSessions"), policy->keepSessions}};
    if (p.isSet(QStringLiteral("show"))) {
        if (json)
            outJson(policyJson);
        else
            out(QStringLiteral("Retention: %1.").arg(policy->describe()));
        return Ok;
    }

    auto plan = session::planGc(ctx.dbPath, *policy, QDateTime::currentMSecsSinceEpoch());
    if (!plan)
        return error(plan.error());
    QJsonObject report{{QStringLiteral("retention"), policyJson},
                       {QStringLiteral("dryRun"), dryRun},
                       {QStringLiteral("totalBytes"), plan->totalBytes()},
                       {QStringLiteral("leftovers"), QJsonArray::fromStringList(plan->leftovers)}};
    QJsonArray remove, kept;
    for (const auto &fp : plan->remove)
        remove.append(footprintToJson(fp));
    for (const auto &[fp, why] : plan->kept) {
        QJsonObject o = footprintToJson(fp);
        o.insert(QStringLiteral("why"), why);
        kept.append(o);
    }
    report.insert(QStringLiteral("remove"), remove);
    report.insert(QStringLiteral("kept"), kept);
    if (!json) {
        out(QStringLiteral("Retention: %1%2.").arg(policy->describe(),
                                                  changing && !dryRun ? QStringLiteral(" (saved)") : QString()));
        if (!policy->isSet())
            out(QStringLiteral("Set one with airlockctl gc --keep-days N or --keep-sessions N."));
        if (plan->remove.isEmpty() && plan->leftovers.isEmpty())
            out(QStringLiteral("Nothing to remove."));
        else
            out(QStringLiteral("%1 %2 session(s), %3:").arg(dryRun ? QStringLiteral("Would remove") : QStringLiteral("Removing"))
                    .arg(plan->remove.size())
                    .arg(size(plan->totalBytes())));
        for (const auto &fp : plan->remove)
            describe(fp, QStringLiteral("  "));
        for (const QString &path : plan->leftovers)
            out(QStringLiteral("  left behind by a deleted session: %1").arg(path));
        for (const auto &[fp, why] : plan->kept)
            out(QStringLiteral("  kept: %1 \"%2\": %3").arg(fp.session.id, fp.session.title, why));
    }
    if (dryRun) {
        if (json)
            outJson(report);
        return Ok;
    }
    const session::GcResult result = session::runGc(ctx.dbPath, *plan, QStringLiteral("retention: %1").arg(policy->describe()));
    for (const QString &problem : result.problems)
        std::fprintf(stderr, "airlockctl: warning: %s\n", qPrintable(problem));
    if (json) {
        report.insert(QStringLiteral("removed"), QJsonArray::fromStringList(result.removedSessions));
        report.insert(QStringLiteral("freedBytes"), result.freedBytes);
        report.insert(QStringLiteral("problems"), QJsonArray::fromStringList(result.problems));
        outJson(report);
    } else if (!plan->remove.isEmpty() || !plan->leftovers.isEmpty()) {
        out(QStringLiteral("Removed %1 session(s), %2 freed.").arg(result.removedSessions.size()).arg(size(result.freedBytes)));
    }
    return result.problems.isEmpty() ? Ok : Failed;
}

} // namespace

AIRLOCKCTL_GROUP({QStringLiteral("gc"), {QString()}, runGc,
                  "  gc [--dry-run] [--keep-days N] [--keep-sessions N] [--show]\n"
                  "                                              delete sessions past the retention policy\n",
                  12});

} // namespace airlock::cli
