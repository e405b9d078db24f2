// Appends N small events through the writer thread and reports events/s and peak RSS.
//   bench_store_append [N] [DB]   (default 1000000 events into a temporary file)
// As a baseline in the same run it also times the bare SQLite inserts (one prepared statement,
// one transaction per 8192 rows, same pragmas), so the writer's overhead shows as a ratio.
#include "store/eventstore.h"
#include "store/schema.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QJsonObject>
#include <QTemporaryDir>

#include <sqlite3.h>
#include <sys/resource.h>

#include <cstdio>

using namespace airlock::store;

static long peakRssKiB()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

static double bareSqlite(const QString &path, qint64 n)
{
    auto db = openDatabase(path);
    if (!db)
        return 0;
    auto stmt = db->prepare("INSERT INTO events(session, kind, payload, time) VALUES (?1, ?2, ?3, ?4)");
    const QString session = QStringLiteral("bench"), kind = QStringLiteral("bench.tick");
    QElapsedTimer t;
    t.start();
    for (qint64 i = 0; i < n; i += 8192) {
        (void)db->exec("BEGIN IMMEDIATE");
        for (qint64 j = i; j < std::min(n, i + 8192); ++j) {
            stmt->bind(1, session);
            stmt->bind(2, kind);
            stmt->bind(3, QByteArray("{\"i\":") + QByteArray::number(j) + '}');
            stmt->bind(4, qint64(1700000000000));
            (void)stmt->run();
        }
        (void)db->exec("COMMIT");
    }
    return double(n) / (double(t.nsecsElapsed()) / 1e9);
}

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const qint64 n = argc > 1 ? QByteArray(argv[1]).toLongLong() : 1000000;
    QTemporaryDir dir;
    const QString path = argc > 2 ? QString::fromLocal8Bit(argv[2]) : dir.filePath(QStringLiteral("bench.db"));

    auto store = EventStore::open(path);
    if (!store) {
        std::fprintf(stderr, "%s\n", qPrintable(store.error().message));
        return 1;
    }
    const QString session = QStringLiteral("bench"), kind = QStringLiteral("bench.tick");
    QElapsedTimer t;
    t.start();
    for (qint64 i = 0; i < n; ++i) {
        if (!(*store)->append(session, kind, QJsonObject{{QStringLiteral("i"), i}})) {
            std::fprintf(stderr, "append failed\n");
            return 1;
        }
    }
    if (!(*store)->flush())
        return 1;
    const double secs = double(t.nsecsElapsed()) / 1e9;
    const double rate = double(n) / secs;
    const quint64 batches = (*store)->batchesCommitted();
    store->reset();
    const long rss = peakRssKiB();

    const double bare = bareSqlite(dir.filePath(QStringLiteral("bare.db")), n);
    std::printf("events            %lld\n", n);
    std::printf("writer            %.0f events/s (%.2f s, %llu transactions)\n", rate, secs,
                static_cast<unsigned long long>(batches));
    std::printf("peak RSS          %.1f MiB (after the writer run)\n", double(rss) / 1024.0);
    std::printf("bare sqlite       %.0f events/s (baseline, same pragmas)\n", bare);
    std::printf("writer/bare       %.2f\n", bare > 0 ? rate / bare : 0.0);
    std::printf("target            >= 200000 events/s: %s\n", rate >= 200000 ? "met" : "NOT met");
    return 0;
}
