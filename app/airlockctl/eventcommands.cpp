#include "cli.h"
#include "store/eventfeed.h"
#include "store/eventstore.h"
#include "store/schema.h"
#include "store/storereader.h"

#include <QCoreApplication>
#include <QJsonDocument>
#include <QJsonObject>

namespace airlock::cli {

namespace {

void printEvent(const store::Event &e, bool json)
{
    if (json) {
        outJson(eventToJson(e));
        return;
    }
    const QByteArray payload = QJsonDocument(e.payload).toJson(QJsonDocument::Compact);
    out(QStringLiteral("%1  %2  %3  %4  %5")
            .arg(e.seq, 8)
            .arg(formatTime(e.time), e.session.isEmpty() ? QStringLiteral("-") : e.session, e.kind,
                 QString::fromUtf8(payload.size() > 200 ? payload.left(197) + "..." : payload)));
}

// Lets Ctrl+C end --follow through the event loop, so output is flushed and the feed stops cleanly.

int tail(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Print the newest events, oldest first."));
    p.addOption({QStringLiteral("session"), QStringLiteral("Only this session's events."), QStringLiteral("ID")});
    p.addOption({{QStringLiteral("n"), QStringLiteral("lines")}, QStringLiteral("How many (default 20)."),
                 QStringLiteral("N"), QStringLiteral("20")});
    p.addOption({{QStringLiteral("f"), QStringLiteral("follow")},
                 QStringLiteral("Keep printing new events as they are committed, by any process.")});
    p.addOption({QStringLiteral("json"), QStringLiteral("One JSON object a line.")});
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    TailOptions tail;
    if (!readTailOptions(p, &tail, &exit))
        return exit;
    const int n = tail.lines;
    const bool json = tail.json;
    const QString session = tail.session;

    if (auto db = store::openDatabase(ctx.dbPath); !db)
        return error(db.error());
    if (!p.isSet(QStringLiteral("follow"))) {
        auto reader = store::StoreReader::open(ctx.dbPath);
        if (!reader)
            return error(reader.error());
        store::EventQuery q;
        if (!session.isEmpty())
            q.session = session;
        q.limit = n;
        q.newest = true;
        auto events = reader->events(q);
        if (!events)
            return error(events.error());
        for (const auto &e : *events)
            printEvent(e, json);
        return Ok;
    }

    store::EventFeed feed(ctx.dbPath);
    auto print = [json](const QString &, const QList<store::Event> &events) {
        for (const auto &e : events)
            printEvent(e, json);
    };
    QObject::connect(&feed, &store::EventFeed::history, print);
    QObject::connect(&feed, &store::EventFeed::eventsAppended, print);
    int status = Ok;
    QObject::connect(&feed, &store::EventFeed::failed, [&status](const Error &e) {
        status = error(e);
        QCoreApplication::exit(status);
    });
    const auto interrupts = onInterrupt([](int) { QCoreApplication::exit(Ok); });
    if (!interrupts)
        return error(QStringLiteral("cannot set up signal handling"));
    feed.follow(session, n);
    feed.start(100);
    return QCoreApplication::exec();
}

int append(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Append one event to the log and wait until it is committed."));
    p.addOption({QStringLiteral("kind"), QStringLiteral("The event kind, e.g. session.created."), QStringLiteral("KIND")});
    p.addOption({QStringLiteral("session"), QStringLiteral("The session it belongs to."), QStringLiteral("ID")});
    p.addOption({QStringLiteral("payload"), QStringLiteral("A JSON object (default {})."), QStringLiteral("JSON"),
                 QStringLiteral("{}")});
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    if (!p.isSet(QStringLiteral("kind")))
        return error(QStringLiteral("events append needs --kind"), Usage);
    QJsonParseError perr;
    const QByteArray raw = p.value(QStringLiteral("payload")).toUtf8();
    const QJsonDocument doc = QJsonDocument::fromJson(raw, &perr);
    if (perr.error != QJsonParseError::NoError)
        return error(QStringLiteral("--payload is not valid JSON at offset %1: %2").arg(perr.offset).arg(perr.errorString()),
                     Usage);
    if (!doc.isObject())
        return error(QStringLiteral("--payload must be a JSON object"), Usage);

    auto store = store::EventStore::open(ctx.dbPath);
    if (!store)
        return error(store.error());
    auto ticket = (*store)->append(p.value(QStringLiteral("session")), p.value(QStringLiteral("kind")), doc.object());
    if (!ticket)
        return error(ticket.error());
    if (auto r = (*store)->flush(); !r)
        return error(r.error());
    return Ok;
}

} // namespace

static int runEvents(const QString &verb, const Context &ctx)
{
    if (verb == QLatin1String("tail"))
        return tail(ctx);
    if (verb == QLatin1String("append"))
        return append(ctx);
    return error(QStringLiteral("unknown command 'events %1'").arg(verb), Usage);
}

AIRLOCKCTL_GROUP({QStringLiteral("events"), {QStringLiteral("tail"), QStringLiteral("append")}, runEvents,
                  "  events tail [--session ID] [-n N] [--follow] [--json]\n"
              "                                              print recent events, optionally wait for more\n"
              "  events append --kind KIND [--session ID] [--payload JSON]\n"
              "                                              append one event (for scripts and tests)\n",
                  20});

} // namespace airlock::cli
