// airlockctl: every Airlock feature from the command line, for scripts and for machines without a
// display. Global options come before the command words: airlockctl [--db PATH] GROUP VERB [ARGS…]
#include "cli.h"
#include "store/paths.h"

#include <QCoreApplication>

#include <cstdio>
#include <map>

using namespace airlock;

namespace {

using Runner = int (*)(const QString &, const cli::Context &);

const std::map<QString, std::pair<Runner, QStringList>> &groups()
{
    static const std::map<QString, std::pair<Runner, QStringList>> g{
        {QStringLiteral("sessions"), {cli::runSessions, {QStringLiteral("list")}}},
        {QStringLiteral("events"), {cli::runEvents, {QStringLiteral("tail"), QStringLiteral("append")}}},
        {QStringLiteral("db"), {cli::runDb, {QStringLiteral("check"), QStringLiteral("path")}}},
        {QStringLiteral("policy"),
         {cli::runPolicy,
          {QStringLiteral("list"), QStringLiteral("show"), QStringLiteral("lint"), QStringLiteral("compile"),
           QStringLiteral("check"), QStringLiteral("import"), QStringLiteral("export")}}},
    };
    return g;
}

void usage(FILE *to)
{
    std::fputs("Usage: airlockctl [--db PATH] COMMAND [OPTIONS]\n"
               "Controls Airlock, the sandbox for AI coding agents, from the command line.\n\n"
               "Commands:\n"
               "  sessions list [--json]                      list sessions\n"
               "  events tail [--session ID] [-n N] [--follow] [--json]\n"
               "                                              print recent events, optionally wait for more\n"
               "  events append --kind KIND [--session ID] [--payload JSON]\n"
               "                                              append one event (for scripts and tests)\n"
               "  db check [--json]                           check the database's integrity\n"
               "  db path                                     print the database file in use\n"
               "  policy list [--json]                        presets and saved policies\n"
               "  policy show|export NAME [--version N] [-o FILE]\n"
               "                                              the policy as canonical JSON\n"
               "  policy lint NAME [--json]                   risks, each with a fix where one exists\n"
               "  policy compile NAME [--backend local|docker] [--workspace DIR] [--json]\n"
               "                                              exactly what the policy runs\n"
               "  policy check NAME --kind K [--command C] [--path P] [--domain D]\n"
               "                                              would this tool call be allowed?\n"
               "  policy import FILE [--name N] [--note T]    save a JSON file as the next version\n\n"
               "Global options:\n"
               "  --db PATH      the database file (default: $AIRLOCK_DB, else $XDG_DATA_HOME/airlock/airlock.db)\n"
               "  --version      print the version\n"
               "  -h, --help     this help; COMMAND --help for a command's options\n",
               to);
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("airlockctl"));
    QCoreApplication::setApplicationVersion(QStringLiteral(AIRLOCK_VERSION));
    std::setvbuf(stdout, nullptr, _IOLBF, 0); // --follow output must reach pipes line by line

    QStringList args = QCoreApplication::arguments();
    const QString program = args.takeFirst();
    QString db;
    while (!args.isEmpty() && args.first().startsWith(u'-')) {
        const QString opt = args.takeFirst();
        if (opt == QLatin1String("--help") || opt == QLatin1String("-h")) {
            usage(stdout);
            return cli::Ok;
        }
        if (opt == QLatin1String("--version")) {
            std::printf("airlockctl %s\n", AIRLOCK_VERSION);
            return cli::Ok;
        }
        if (opt == QLatin1String("--db") && !args.isEmpty()) {
            db = args.takeFirst();
        } else if (opt.startsWith(QLatin1String("--db="))) {
            db = opt.mid(5);
        } else {
            usage(stderr);
            return cli::error(QStringLiteral("unknown option %1").arg(opt), cli::Usage);
        }
    }
    if (args.size() < 2) {
        usage(stderr);
        return cli::error(args.isEmpty() ? QStringLiteral("no command given")
                                         : QStringLiteral("'%1' needs a verb").arg(args.first()),
                          cli::Usage);
    }
    const QString group = args.takeFirst();
    const QString verb = args.takeFirst();
    auto it = groups().find(group);
    if (it == groups().end() || !it->second.second.contains(verb)) {
        usage(stderr);
        return cli::error(QStringLiteral("unknown command '%1 %2'").arg(group, verb), cli::Usage);
    }
    cli::Context ctx;
    ctx.command = group + u' ' + verb;
    ctx.args = QStringList{program + u' ' + ctx.command} + args;
    ctx.dbPath = store::resolveDatabasePath(db);
    return it->second.first(verb, ctx);
}
