// Writes to a store from another process, for the tests that need real processes sharing a file.
//
//   store_appender DB FIRST_N SEED
//       Appends numbered events in bursts and prints "committed N" after each burst is durable,
//       until it is killed. The durability test kills it with SIGKILL at random moments.
//   store_appender --writer DB MILLISECONDS
//       One long writer, as `airlockctl run` or the GUI: keeps its store open, appends in bursts and
//       now and then opens the database again for reading, as commands do. Prints "committed N".
//   store_appender --churn DB MILLISECONDS ID
//       A short-lived command, over and over: opens the store and a reader, appends a few events,
//       reads, closes everything. Prints "committed N" at the end.
// Any error is printed and ends the program with exit code 1.
#include "store/eventstore.h"
#include "store/schema.h"
#include "store/storereader.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QJsonObject>
#include <QRandomGenerator>

#include <cstdio>

using namespace airlock::store;

namespace {

int failed(const airlock::Error &e)
{
    std::fprintf(stderr, "%s\n", qPrintable(e.message));
    return 1;
}

// What a command does before it reads: the schema check, then a reader of its own.
airlock::Result<StoreReader> openReader(const QString &path)
{
    if (auto db = openDatabase(path); !db)
        return std::unexpected(db.error());
    return StoreReader::open(path);
}

int killable(const QString &path, qint64 n, quint32 seed)
{
    auto store = EventStore::open(path);
    if (!store)
        return failed(store.error());
    QRandomGenerator rng(seed);
    const QString filler(200, u'x');
    for (;;) {
        const int burst = 1 + int(rng.bounded(400));
        for (int i = 0; i < burst; ++i, ++n) {
            auto t = (*store)->append(QStringLiteral("durability"), QStringLiteral("test.tick"),
                                      QJsonObject{{QStringLiteral("n"), n}, {QStringLiteral("fill"), filler}});
            if (!t)
                return failed(t.error());
        }
        if (auto r = (*store)->flush(); !r)
            return failed(r.error());
        std::printf("committed %lld\n", n - 1);
        std::fflush(stdout);
    }
}

int writer(const QString &path, qint64 ms)
{
    auto store = EventStore::open(path);
    if (!store)
        return failed(store.error());
    QElapsedTimer clock;
    clock.start();
    const QString filler(300, u'w');
    qint64 n = 0;
    for (int round = 0; clock.elapsed() < ms; ++round) {
        for (int i = 0; i < 50; ++i) {
            auto t = (*store)->append(QStringLiteral("writer"), QStringLiteral("test.tick"),
                                      QJsonObject{{QStringLiteral("n"), ++n}, {QStringLiteral("fill"), filler}});
            if (!t)
                return failed(t.error());
        }
        if (auto r = (*store)->flush(); !r)
            return failed(r.error());
        if (round % 4 == 0) {
            auto reader = openReader(path);
            if (!reader)
                return failed(reader.error());
            if (auto last = reader->lastSeq(); !last)
                return failed(last.error());
        }
    }
    std::printf("committed %lld\n", n);
    return 0;
}

int churn(const QString &path, qint64 ms, const QString &id)
{
    QElapsedTimer clock;
    clock.start();
    const QString session = QStringLiteral("churn-") + id;
    qint64 n = 0;
    while (clock.elapsed() < ms) {
        auto store = EventStore::open(path);
        if (!store)
            return failed(store.error());
        auto reader = openReader(path);
        if (!reader)
            return failed(reader.error());
        for (int i = 0; i < 5; ++i) {
            auto t = (*store)->append(session, QStringLiteral("test.tick"), QJsonObject{{QStringLiteral("n"), ++n}});
            if (!t)
                return failed(t.error());
        }
        if (auto r = (*store)->flush(); !r)
            return failed(r.error());
        EventQuery q;
        q.newest = true;
        q.limit = 20;
        if (auto events = reader->events(q); !events)
            return failed(events.error());
    }
    std::printf("committed %lld\n", n);
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    if (args.size() == 4 && args.at(1) == QLatin1String("--writer"))
        return writer(args.at(2), args.at(3).toLongLong());
    if (args.size() == 5 && args.at(1) == QLatin1String("--churn"))
        return churn(args.at(2), args.at(3).toLongLong(), args.at(4));
    if (args.size() == 4 && !args.at(1).startsWith(u'-'))
        return killable(args.at(1), args.at(2).toLongLong(), args.at(3).toUInt());
    std::fprintf(stderr, "usage: store_appender DB FIRST_N SEED | --writer DB MS | --churn DB MS ID\n");
    return 2;
}
