// airlockctl session-io export|import: a session as a JSON file (all its events) or a Markdown
// transcript, and a JSON export back into a store.
#include "cli.h"
#include "store/eventstore.h"
#include "store/paths.h"
#include "workspace/sessionexport.h"

#include <QFile>
#include <QJsonObject>
#include <QSaveFile>

#include <cstdio>

namespace airlock::cli {

namespace {

using namespace airlock::workspace;

int exportSession(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Write a session as JSON (every event, for import elsewhere) or as a "
                                               "Markdown transcript with tool calls, decisions and diffs."));
    p.addOption({QStringLiteral("session"), QStringLiteral("The session (required)."), QStringLiteral("ID")});
    p.addOption({QStringLiteral("markdown"), QStringLiteral("Write the readable transcript instead of JSON.")});
    p.addOption({QStringLiteral("no-diffs"), QStringLiteral("Leave checkpoint diffs out of the transcript.")});
    p.addOption({{QStringLiteral("o"), QStringLiteral("output")}, QStringLiteral("The file to write (default: standard output)."),
                 QStringLiteral("FILE")});
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    const QString session = p.value(QStringLiteral("session"));
    if (session.isEmpty())
        return error(QStringLiteral("session-io export needs --session ID"), Usage);
    if (!p.positionalArguments().isEmpty())
        return error(QStringLiteral("session-io export takes no arguments (the file goes after -o)"), Usage);
    if (auto r = openReader(ctx.dbPath); !r)
        return error(r.error());
    auto write = [&](QIODevice *out) {
        if (p.isSet(QStringLiteral("markdown"))) {
            TranscriptOptions opts;
            opts.diffs = !p.isSet(QStringLiteral("no-diffs"));
            return exportSessionMarkdown(ctx.dbPath, session, out, opts);
        }
        return exportSessionJson(ctx.dbPath, session, out);
    };
    if (!p.isSet(QStringLiteral("output"))) {
        QFile stdoutFile;
        if (!stdoutFile.open(stdout, QIODevice::WriteOnly))
            return error(QStringLiteral("cannot write to standard output"));
        auto r = write(&stdoutFile);
        return r ? Ok : error(r.error());
    }
    if (store::isDatabaseFile(p.value(QStringLiteral("output")), ctx.dbPath))
        return error(QStringLiteral("%1 is Airlock's database; choose another file for the export")
                         .arg(p.value(QStringLiteral("output"))),
                     Usage);
    // All or nothing: a failed export leaves no half-written file behind.
    QSaveFile f(p.value(QStringLiteral("output")));
    if (!f.open(QIODevice::WriteOnly))
        return error(QStringLiteral("cannot write %1: %2").arg(f.fileName(), f.errorString()));
    if (auto r = write(&f); !r)
        return error(r.error());
    if (!f.commit())
        return error(QStringLiteral("cannot write %1: %2").arg(f.fileName(), f.errorString()));
    return Ok;
}

int importSessionFile(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Add a session from a JSON export. The whole file is checked first; "
                                               "nothing is stored unless all of it is valid. When the session's id is "
                                               "taken it becomes <id>-imported (then -imported-2, …)."));
    p.addPositionalArgument(QStringLiteral("file"), QStringLiteral("The .json export."));
    p.addOption({QStringLiteral("as"), QStringLiteral("Store the session under this id."), QStringLiteral("ID")});
    p.addOption({QStringLiteral("json"), QStringLiteral("Print JSON.")});
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    if (p.positionalArguments().size() != 1)
        return error(QStringLiteral("session-io import needs one .json file"), Usage);
    if (auto r = openReader(ctx.dbPath); !r)
        return error(r.error());
    auto store = store::EventStore::open(ctx.dbPath);
    if (!store)
        return error(store.error());
    ImportOptions opts;
    opts.asSession = p.value(QStringLiteral("as"));
    auto r = importSession(**store, p.positionalArguments().first(), opts);
    if (!r)
        return error(r.error());
    if (p.isSet(QStringLiteral("json")))
        outJson(QJsonObject{{QStringLiteral("session"), r->session},
                            {QStringLiteral("originalSession"), r->originalSession},
                            {QStringLiteral("renamed"), r->renamed},
                            {QStringLiteral("events"), r->events}});
    else
        out(QStringLiteral("imported %1 events as session %2%3")
                .arg(r->events)
                .arg(r->session, r->renamed ? QStringLiteral(" (%1 was taken)").arg(r->originalSession) : QString()));
    return Ok;
}

} // namespace

static int runSessionIo(const QString &verb, const Context &ctx)
{
    if (verb == QLatin1String("export")) return exportSession(ctx);
    if (verb == QLatin1String("import")) return importSessionFile(ctx);
    return error(QStringLiteral("unknown command 'session-io %1'").arg(verb), Usage);
}

AIRLOCKCTL_GROUP({QStringLiteral("session-io"), {QStringLiteral("export"), QStringLiteral("import")}, runSessionIo,
                  "  session-io export --session ID [--markdown] [--no-diffs] [-o FILE]\n                                              a session as JSON, or a Markdown transcript\n"
                  "  session-io import FILE [--as ID] [--json]   add a session from a JSON export\n",
                  15});

} // namespace airlock::cli
