#pragma once

// What every fuzz target shares: a quiet, once-only Qt set-up and the way an input is cut into the
// pieces a stream parser is fed, since parsers of streams go wrong at the seams between reads.
//
// Input format of the stream targets: the first byte chooses how the rest is cut (0: in one piece;
// otherwise pieces of 1 to N bytes, N and the sequence of sizes following from that byte), the rest
// is the stream.

#include <QByteArrayView>
#include <QCoreApplication>
#include <QEvent>
#include <QList>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace airlock::fuzz {

// A QCoreApplication for code that starts timers or posts events, and no log output: a parser
// that warns about each bad input would spend the run writing to stderr. Fatal messages still abort.
inline void initQt()
{
    static int argc = 1;
    static char name[] = "airlock-fuzz";
    static char *argv[] = {name, nullptr};
    static QCoreApplication *app = nullptr;
    if (app)
        return;
    qInstallMessageHandler([](QtMsgType type, const QMessageLogContext &, const QString &message) {
        if (type == QtFatalMsg) {
            std::fprintf(stderr, "fatal: %s\n", qPrintable(message));
            std::abort();
        }
    });
    app = new QCoreApplication(argc, argv);
}

// Delivers what an input left posted, deferred deletes among them: there is no event loop between
// inputs, so objects handed to deleteLater() would otherwise pile up for the whole run.
inline void settle()
{
    QCoreApplication::sendPostedEvents();
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
}

// The pieces after the leading control byte.
inline QList<QByteArrayView> pieces(const std::uint8_t *data, std::size_t size)
{
    QList<QByteArrayView> out;
    if (size == 0)
        return out;
    const std::uint8_t control = data[0];
    QByteArrayView rest(reinterpret_cast<const char *>(data + 1), qsizetype(size - 1));
    if (control == 0) {
        out.append(rest);
        return out;
    }
    const qsizetype maxPiece = (control & 0x3f) + 1;
    std::uint32_t state = control * 2654435761u;
    while (!rest.isEmpty()) {
        state = state * 1103515245u + 12345u;
        const qsizetype n = std::min<qsizetype>(rest.size(), 1 + qsizetype((state >> 16) % maxPiece));
        out.append(rest.first(n));
        rest = rest.sliced(n);
    }
    return out;
}

// Stops the run with the input kept when a property of the parser does not hold.
#define AIRLOCK_FUZZ_CHECK(condition)                                                                         \
    do {                                                                                                      \
        if (!(condition)) {                                                                                   \
            std::fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #condition);           \
            std::abort();                                                                                     \
        }                                                                                                     \
    } while (false)

} // namespace airlock::fuzz
