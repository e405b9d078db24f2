// airlockctl ladder: what each rung of isolation costs on this machine, measured against the bare host.
#include "cli.h"
#include "dockercli.h"
#include "ladder/ladder.h"

#include <QCoreApplication>
#include <QEventLoop>
#include <QJsonObject>

#include <cstdio>
#include <unistd.h>

namespace airlock::cli {

namespace {

int measure(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Runs the same four workloads (cold start, warm exec, %1 small files, a CPU loop) on the bare host and on "
        "each rung that runs here (bubblewrap, Docker, gVisor), prints each as a ratio to the host and keeps the "
        "result for the policy editor's ladder. Ctrl+C stops it and removes its sandboxes.")
                                    .arg(ladder::LadderOptions{}.files));
    const QCommandLineOption rungs(QStringLiteral("rungs"), QStringLiteral("Comma-separated: host,bubblewrap,docker,gvisor (default: all; the host is always measured)."),
                                   QStringLiteral("LIST"));
    const QCommandLineOption quick(QStringLiteral("quick"), QStringLiteral("Fewer rounds: a rough figure in a third of the time."));
    const QCommandLineOption noSave(QStringLiteral("no-save"), QStringLiteral("Do not keep the result in the store."));
    p.addOptions({rungs, quick, noSave, dockercli::kJson});
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;

    ladder::LadderOptions options;
    if (p.isSet(rungs)) {
        options.rungs = {ladder::Rung::Host};
        for (const QString &name : p.value(rungs).split(u',', Qt::SkipEmptyParts)) {
            const auto rung = ladder::parseRung(name.trimmed());
            if (!rung)
                return error(QStringLiteral("%1: unknown rung \"%2\" (host, bubblewrap, docker, gvisor)").arg(ctx.command, name), Usage);
            if (!options.rungs.contains(*rung))
                options.rungs.append(*rung);
        }
    }
    if (p.isSet(quick)) {
        options.coldRounds = 1;
        options.warmRounds = 5;
        options.fileRounds = 1;
        options.cpuRounds = 1;
    }

    ladder::LadderBenchmark bench(options);
    const bool tty = ::isatty(STDERR_FILENO);
    std::optional<ladder::LadderResult> result;
    bool canceled = false;
    QEventLoop loop;
    QString lastRung;
    QObject::connect(&bench, &ladder::LadderBenchmark::progress, &loop, [&](int done, int total, const QString &what) {
        if (tty) {
            std::fprintf(stderr, "\r\033[K[%d/%d] %s", done, total, qPrintable(what));
            std::fflush(stderr);
        } else if (const QString rung = what.section(u':', 0, 0); rung != lastRung) {
            lastRung = rung;
            std::fprintf(stderr, "[%d/%d] %s\n", done, total, qPrintable(what));
        }
    });
    QObject::connect(&bench, &ladder::LadderBenchmark::finished, &loop, [&](const ladder::LadderResult &r) {
        result = r;
        loop.quit();
    });
    QObject::connect(&bench, &ladder::LadderBenchmark::canceled, &loop, [&] {
        canceled = true;
        loop.quit();
    });
    auto interrupt = onInterrupt([&](int) {
        std::fprintf(stderr, "%sairlockctl: stopping the ladder and removing its sandboxes…\n", tty ? "\n" : "");
        bench.cancel();
    });
    bench.start();
    loop.exec();
    if (tty)
        std::fprintf(stderr, "\r\033[K");
    if (canceled || !result)
        return error(QStringLiteral("%1: stopped; nothing was kept").arg(ctx.command));
    if (!p.isSet(noSave))
        if (auto saved = ladder::saveLadder(ctx.dbPath, *result); !saved)
            return error(saved.error());
    if (p.isSet(dockercli::kJson))
        outJson(result->toJson());
    else
        out(ladder::formatTable(*result));
    return Ok;
}

int show(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("The last ladder measured on this machine (airlockctl ladder measure)."));
    p.addOption(dockercli::kJson);
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    if (auto reader = openReader(ctx.dbPath); !reader) // a fresh machine has no store yet
        return error(reader.error());
    auto last = ladder::loadLadder(ctx.dbPath);
    if (!last)
        return error(last.error());
    if (!*last)
        return error(QStringLiteral("%1: nothing measured yet; run airlockctl ladder measure").arg(ctx.command));
    if (p.isSet(dockercli::kJson))
        outJson((*last)->toJson());
    else
        out(ladder::formatTable(**last));
    return Ok;
}

int runLadder(const QString &verb, const Context &ctx)
{
    return verb == QLatin1String("measure") ? measure(ctx) : show(ctx);
}

} // namespace

AIRLOCKCTL_GROUP({QStringLiteral("ladder"), {QStringLiteral("measure"), QStringLiteral("show")}, runLadder,
                  "  ladder measure [--rungs LIST] [--quick] [--json]   what each rung costs here, as ratios to the host\n"
                  "  ladder show [--json]                        the last measurement\n",
                  3});

} // namespace airlock::cli
