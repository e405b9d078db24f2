// bench_ladder: the isolation ladder on this machine — cold start, warm exec, small files and a CPU loop
// on the bare host and on bubblewrap, Docker (runc) and gVisor, each as a ratio to the host measured in
// the same run. The same code as `airlockctl ladder measure` and the policy editor's Measure button.
//
// Usage: bench_ladder [RUNG…]   (default: every rung; rungs that cannot run here say why)

#include "ladder/ladder.h"

#include <QCoreApplication>
#include <QJsonDocument>

#include <cstdio>

using namespace airlock;

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    ladder::LadderOptions options;
    if (argc > 1) {
        options.rungs = {ladder::Rung::Host};
        for (int i = 1; i < argc; ++i) {
            const auto rung = ladder::parseRung(QString::fromLocal8Bit(argv[i]));
            if (!rung) {
                std::fprintf(stderr, "bench_ladder: unknown rung %s (host, bubblewrap, docker, gvisor)\n", argv[i]);
                return 2;
            }
            if (!options.rungs.contains(*rung))
                options.rungs.append(*rung);
        }
    }
    ladder::LadderBenchmark bench(options);
    QObject::connect(&bench, &ladder::LadderBenchmark::progress, [](int done, int total, const QString &what) {
        std::fprintf(stderr, "[%d/%d] %s\n", done, total, qPrintable(what));
    });
    QObject::connect(&bench, &ladder::LadderBenchmark::finished, [](const ladder::LadderResult &result) {
        std::printf("%s\n%s\n", qPrintable(ladder::formatTable(result)),
                    QJsonDocument(result.toJson()).toJson(QJsonDocument::Compact).constData());
        QCoreApplication::quit();
    });
    bench.start();
    return app.exec();
}
