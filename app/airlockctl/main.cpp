// airlockctl: every Airlock feature from the command line, for scripts and for machines without a
// display. Global options come before the command words: airlockctl [--db PATH] GROUP VERB [ARGS…]
#include "cli.h"
#include "store/paths.h"

#include <QCoreApplication>

#include <cstdio>
#include <algorithm>

using namespace airlock;

namespace {

void usage(FILE *to)
{
    std::fputs("Usage: airlockctl [--db PATH] COMMAND [OPTIONS]\n"
               "Controls Airlock, the sandbox for AI coding agents, from the command line.\n\n"
               "Commands:\n",
               to);
    for (const auto &g : cli::groups())
        std::fputs(g.usage, to);
    std::fputs("\nGlobal options:\n"
               "  --db PATH      the database file (default: $AIRLOCK_DB, else $XDG_DATA_HOME/airlock/airlock.db)\n"
               "  --version      print the version\n"
               "  -h, --help     this help; COMMAND VERB --help for a command's options\n",
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
    if (args.isEmpty()) {
        usage(stderr);
        return cli::error(QStringLiteral("no command given"), cli::Usage);
    }
    const QString group = args.takeFirst();
    const auto &all = cli::groups();
    auto it = std::find_if(all.begin(), all.end(), [&](const cli::CommandGroup &g) { return g.name == group; });
    // A group whose verbs include "" is a command by itself (airlockctl exec -- CMD): the rest are its arguments.
    const bool bare = it != all.end() && it->verbs.contains(QString()) && (args.isEmpty() || !it->verbs.contains(args.first()));
    if (!bare && args.isEmpty()) {
        usage(stderr);
        return cli::error(QStringLiteral("'%1' needs a verb").arg(group), cli::Usage);
    }
    const QString verb = bare ? QString() : args.takeFirst();
    if (it == all.end() || !it->verbs.contains(verb)) {
        usage(stderr);
        return cli::error(QStringLiteral("unknown command '%1 %2'").arg(group, verb), cli::Usage);
    }
    cli::Context ctx;
    ctx.command = bare ? group : group + u' ' + verb;
    ctx.args = QStringList{program + u' ' + ctx.command} + args;
    ctx.dbPath = store::resolveDatabasePath(db);
    return it->run(verb, ctx);
}
