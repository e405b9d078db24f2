// Appends numbered events in bursts and prints "committed N" after each burst is durable, until it
// is killed. The durability test kills it with SIGKILL at random moments and checks the file.
#include "store/eventstore.h"

#include <QCoreApplication>
#include <QJsonObject>
#include <QRandomGenerator>

#include <cstdio>

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    if (argc != 4) {
        std::fprintf(stderr, "usage: store_appender DB FIRST_N SEED\n");
        return 2;
    }
    auto store = airlock::store::EventStore::open(QString::fromLocal8Bit(argv[1]));
    if (!store) {
        std::fprintf(stderr, "%s\n", qPrintable(store.error().message));
        return 1;
    }
    qint64 n = QByteArray(argv[2]).toLongLong();
    QRandomGenerator rng(QByteArray(argv[3]).toUInt());
    const QString filler(200, u'x');
    for (;;) {
        const int burst = 1 + int(rng.bounded(400));
        for (int i = 0; i < burst; ++i, ++n) {
            auto t = (*store)->append(QStringLiteral("durability"), QStringLiteral("test.tick"),
                                      QJsonObject{{QStringLiteral("n"), n}, {QStringLiteral("fill"), filler}});
            if (!t) {
                std::fprintf(stderr, "%s\n", qPrintable(t.error().message));
                return 1;
            }
        }
        if (auto r = (*store)->flush(); !r) {
            std::fprintf(stderr, "%s\n", qPrintable(r.error().message));
            return 1;
        }
        std::printf("committed %lld\n", n - 1);
        std::fflush(stdout);
    }
}
