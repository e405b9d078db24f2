#include "cli.h"
#include "store/schema.h"
#include "store/storereader.h"

#include <QJsonArray>

namespace airlock::cli {

int sessionsRemove(const Context &ctx); // retentioncommands.cpp

namespace {

int list(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("List sessions, oldest first."));
    p.addOption({QStringLiteral("json"), QStringLiteral("Print a JSON array.")});
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    if (!p.positionalArguments().isEmpty())
        return error(QStringLiteral("sessions list takes no arguments"), Usage);

    auto reader = openReader(ctx.dbPath);
    if (!reader)
        return error(reader.error());
    auto rows = reader->sessions();
    if (!rows)
        return error(rows.error());

    if (p.isSet(QStringLiteral("json"))) {
        QJsonArray array;
        for (const auto &s : *rows)
            array.append(sessionToJson(s));
        outJson(array);
        return Ok;
    }
    if (rows->isEmpty()) {
        out(QStringLiteral("No sessions yet."));
        return Ok;
    }
    const QString fmt = QStringLiteral("%1  %2  %3  %4  %5  %6");
    int idw = 2, titlew = 5;
    for (const auto &s : *rows) {
        idw = std::max<int>(idw, int(s.id.size()));
        titlew = std::min(40, std::max<int>(titlew, int(s.title.size())));
    }
    out(fmt.arg(QStringLiteral("ID"), -idw)
            .arg(QStringLiteral("TITLE"), -titlew)
            .arg(QStringLiteral("STATE"), -9)
            .arg(QStringLiteral("UPDATED"), -19)
            .arg(QStringLiteral("EVENTS"), 6)
            .arg(QStringLiteral("POLICY")));
    for (const auto &s : *rows)
        out(fmt.arg(s.id, -idw)
                .arg(s.title.left(titlew), -titlew)
                .arg(s.state, -9)
                .arg(formatTime(s.updated), -19)
                .arg(s.eventCount, 6)
                .arg(s.policy.isEmpty() ? QStringLiteral("-") : s.policy));
    return Ok;
}

} // namespace

static int runSessions(const QString &verb, const Context &ctx)
{
    if (verb == QLatin1String("list"))
        return list(ctx);
    if (verb == QLatin1String("rm"))
        return sessionsRemove(ctx);
    return error(QStringLiteral("unknown command 'sessions %1'").arg(verb), Usage);
}

AIRLOCKCTL_GROUP({QStringLiteral("sessions"), {QStringLiteral("list"), QStringLiteral("rm")}, runSessions,
                  "  sessions list [--json]                      list sessions\n"
                  "  sessions rm ID… [--yes]                     delete sessions, their checkpoints and workspace copies\n",
                  10});

} // namespace airlock::cli
