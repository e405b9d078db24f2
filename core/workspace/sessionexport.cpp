#include "sessionexport.h"

#include "store/eventstore.h"
#include "store/paths.h"
#include "store/storereader.h"

#include <QDateTime>
#include <QFile>
#include <QFileInfo>
#include <QIODevice>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSet>
#include <QTemporaryDir>

#include <cmath>

namespace airlock::workspace {

namespace {

QJsonValue orNull(const QString &s)
{
    return s.isEmpty() ? QJsonValue() : QJsonValue(s);
}

Result<void> put(QIODevice *out, const QByteArray &bytes)
{
    if (out->write(bytes) != bytes.size())
        return fail(ErrorCode::Io, QStringLiteral("cannot write the export: %1").arg(out->errorString()));
    return {};
}

// JSON numbers are doubles; only whole ones in the exactly-representable range are integers.
std::optional<qint64> integer(const QJsonValue &v)
{
    if (!v.isDouble())
        return std::nullopt;
    const double d = v.toDouble();
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9007199254740992.0)
        return std::nullopt;
    return qint64(d);
}

std::unexpected<Error> bad(const QString &message)
{
    return fail(ErrorCode::InvalidArgument, message);
}

QString unknownKey(const QJsonObject &o, std::initializer_list<const char *> allowed)
{
    for (auto it = o.begin(); it != o.end(); ++it) {
        bool ok = false;
        for (const char *a : allowed)
            ok = ok || it.key() == QLatin1String(a);
        if (!ok)
            return it.key();
    }
    return {};
}

} // namespace

Result<void> exportSessionJson(const QString &dbPath, const QString &session, QIODevice *out)
{
    auto reader = store::StoreReader::open(dbPath);
    if (!reader)
        return std::unexpected(reader.error());
    auto row = reader->existingSession(session);
    if (!row)
        return std::unexpected(row.error());
    const store::SessionRow &s = *row;
    const QJsonObject info{{QStringLiteral("id"), s.id},           {QStringLiteral("title"), s.title},
                           {QStringLiteral("agent"), orNull(s.agent)}, {QStringLiteral("policy"), orNull(s.policy)},
                           {QStringLiteral("workspace"), orNull(s.workspace)}, {QStringLiteral("parent"), orNull(s.parent)},
                           {QStringLiteral("state"), s.state},     {QStringLiteral("created"), s.created},
                           {QStringLiteral("updated"), s.updated}};
    // Written piece by piece: a long session does not have to fit in one QJsonDocument.
    QByteArray head = "{\"format\":\"" + QByteArray(kExportFormat) + "\",\"version\":" + QByteArray::number(kExportVersion)
        + ",\"exportedAt\":\"" + QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs).toLatin1()
        + "\",\"airlockVersion\":\"" AIRLOCK_VERSION "\",\n\"session\":" + QJsonDocument(info).toJson(QJsonDocument::Compact)
        + ",\n\"events\":[";
    if (auto r = put(out, head); !r)
        return r;
    qint64 after = 0;
    bool first = true;
    for (;;) {
        auto page = reader->events(store::EventQuery{session, after, 1000, false, {}, 0});
        if (!page)
            return std::unexpected(page.error());
        for (const store::Event &e : std::as_const(*page)) {
            const QJsonObject o{{QStringLiteral("seq"), e.seq},
                                {QStringLiteral("time"), e.time},
                                {QStringLiteral("kind"), e.kind},
                                {QStringLiteral("payload"), e.payload}};
            QByteArray line = first ? QByteArray("\n") : QByteArray(",\n");
            line += QJsonDocument(o).toJson(QJsonDocument::Compact);
            if (auto r = put(out, line); !r)
                return r;
            first = false;
            after = e.seq;
        }
        if (page->size() < 1000)
            break;
    }
    return put(out, "\n]}\n");
}

Result<SessionArchive> parseSessionExport(const QByteArray &data, const ImportOptions &options)
{
    if (data.size() > options.maxBytes)
        return bad(QStringLiteral("the file is %1 bytes; an import takes at most %2").arg(data.size()).arg(options.maxBytes));
    QJsonParseError err{};
    const QJsonDocument doc = QJsonDocument::fromJson(data, &err);
    if (err.error != QJsonParseError::NoError)
        return bad(QStringLiteral("not valid JSON at byte %1: %2 (is the file complete?)").arg(err.offset).arg(err.errorString()));
    if (!doc.isObject())
        return bad(QStringLiteral("not an Airlock session export (the top level is not an object)"));
    const QJsonObject top = doc.object();
    if (top.value(QStringLiteral("format")).toString() != QLatin1String(kExportFormat))
        return bad(QStringLiteral("not an Airlock session export ('format' is not \"%1\")").arg(QLatin1String(kExportFormat)));
    const auto version = integer(top.value(QStringLiteral("version")));
    if (!version || *version < 1)
        return bad(QStringLiteral("'version' must be a whole number from 1"));
    if (*version > kExportVersion)
        return bad(QStringLiteral("the export has format version %1; this Airlock reads up to %2. Update Airlock to import it.")
                       .arg(*version)
                       .arg(kExportVersion));
    if (const QString k = unknownKey(top, {"format", "version", "exportedAt", "airlockVersion", "session", "events"}); !k.isEmpty())
        return bad(QStringLiteral("unknown field '%1' at the top level").arg(k.left(80)));
    for (const char *key : {"exportedAt", "airlockVersion"})
        if (top.contains(QLatin1String(key)) && !top.value(QLatin1String(key)).isString())
            return bad(QStringLiteral("'%1' must be a string").arg(QLatin1String(key)));

    SessionArchive archive;
    archive.version = int(*version);
    archive.exportedAt = top.value(QStringLiteral("exportedAt")).toString();
    if (!top.value(QStringLiteral("session")).isObject())
        return bad(QStringLiteral("'session' must be an object"));
    archive.session = top.value(QStringLiteral("session")).toObject();
    if (const QString k = unknownKey(archive.session, {"id", "title", "agent", "policy", "workspace", "parent", "state",
                                                       "created", "updated"});
        !k.isEmpty())
        return bad(QStringLiteral("unknown field '%1' in 'session'").arg(k.left(80)));
    archive.id = archive.session.value(QStringLiteral("id")).toString();
    if (!store::isValidSessionId(archive.id))
        return bad(QStringLiteral("'session.id' must be a session id (letters, digits, '-', '_', '.', at most %1)")
                       .arg(store::kMaxSessionIdLength));
    for (const char *key : {"title", "agent", "policy", "workspace", "parent", "state"}) {
        const QJsonValue v = archive.session.value(QLatin1String(key));
        if (!v.isUndefined() && !v.isNull() && !v.isString())
            return bad(QStringLiteral("'session.%1' must be a string or null").arg(QLatin1String(key)));
    }
    for (const char *key : {"created", "updated"})
        if (archive.session.contains(QLatin1String(key)) && !integer(archive.session.value(QLatin1String(key))))
            return bad(QStringLiteral("'session.%1' must be a time in milliseconds").arg(QLatin1String(key)));

    if (!top.value(QStringLiteral("events")).isArray())
        return bad(QStringLiteral("'events' must be an array"));
    const QJsonArray events = top.value(QStringLiteral("events")).toArray();
    if (events.isEmpty())
        return bad(QStringLiteral("the export holds no events"));
    if (events.size() > options.maxEvents)
        return bad(QStringLiteral("the export holds %1 events; an import takes at most %2").arg(events.size()).arg(options.maxEvents));
    archive.events.reserve(events.size());
    qint64 lastSeq = 0;
    for (qsizetype i = 0; i < events.size(); ++i) {
        const QString where = QStringLiteral("event %1").arg(i + 1);
        if (!events.at(i).isObject())
            return bad(where + QStringLiteral(": must be an object"));
        const QJsonObject o = events.at(i).toObject();
        if (const QString k = unknownKey(o, {"seq", "time", "kind", "payload"}); !k.isEmpty())
            return bad(where + QStringLiteral(": unknown field '%1'").arg(k.left(80)));
        ArchivedEvent e;
        const auto seq = integer(o.value(QStringLiteral("seq")));
        if (!seq || *seq <= lastSeq)
            return bad(where + QStringLiteral(": 'seq' must be a whole number greater than the one before"));
        const QString at = QStringLiteral("event %1 (seq %2)").arg(i + 1).arg(*seq);
        e.seq = lastSeq = *seq;
        const auto time = integer(o.value(QStringLiteral("time")));
        if (!time || *time < 0)
            return bad(at + QStringLiteral(": 'time' must be milliseconds since 1970"));
        e.time = *time;
        e.kind = o.value(QStringLiteral("kind")).toString();
        if (!store::isValidKind(e.kind))
            return bad(at + QStringLiteral(": 'kind' must be lower-case words joined by dots"));
        if (!o.value(QStringLiteral("payload")).isObject())
            return bad(at + QStringLiteral(": 'payload' must be an object"));
        e.payload = o.value(QStringLiteral("payload")).toObject();
        const qsizetype size = QJsonDocument(e.payload).toJson(QJsonDocument::Compact).size();
        if (size > store::kMaxPayloadBytes)
            return bad(at + QStringLiteral(": the payload is %1 bytes; the limit is %2").arg(size).arg(store::kMaxPayloadBytes));
        const bool created = e.kind == QLatin1String(store::kinds::SessionCreated);
        if ((i == 0) != created)
            return bad(at + (i == 0 ? QStringLiteral(": the first event must be session.created")
                                    : QStringLiteral(": a second session.created")));
        if (e.kind == QLatin1String(store::kinds::PolicySaved))
            return bad(at + QStringLiteral(": policy.saved events belong to no session; export policies with "
                                           "'airlockctl policy export'"));
        archive.events.append(std::move(e));
    }
    return archive;
}

Result<ImportOutcome> importSessionData(store::EventStore &store, const QByteArray &data, const QString &origin,
                                        const ImportOptions &options)
{
    auto archive = parseSessionExport(data, options);
    if (!archive)
        return std::unexpected(Error{archive.error().code, origin + QStringLiteral(": ") + archive.error().message
                                                               + QStringLiteral(". Nothing was imported.")});
    auto reader = store::StoreReader::open(store.path());
    if (!reader)
        return std::unexpected(reader.error());
    ImportOutcome out;
    out.originalSession = archive->id;
    auto taken = [&](const QString &id) -> Result<bool> {
        auto row = reader->session(id);
        if (!row)
            return std::unexpected(row.error());
        return row->has_value();
    };
    if (!options.asSession.isEmpty()) {
        if (!store::isValidSessionId(options.asSession))
            return bad(QStringLiteral("'%1' is not a session id").arg(options.asSession.left(80)));
        auto t = taken(options.asSession);
        if (!t)
            return std::unexpected(t.error());
        if (*t)
            return bad(QStringLiteral("a session %1 exists already; choose another id. Nothing was imported.").arg(options.asSession));
        out.session = options.asSession;
    } else {
        const QString base = archive->id.left(store::kMaxSessionIdLength - 16);
        for (int n = 0; n < 10000 && out.session.isEmpty(); ++n) {
            const QString candidate = n == 0 ? archive->id
                : n == 1                     ? QString(base + QStringLiteral("-imported"))
                                             : QString(base + QStringLiteral("-imported-%1").arg(n));
            auto t = taken(candidate);
            if (!t)
                return std::unexpected(t.error());
            if (!*t)
                out.session = candidate;
        }
        if (out.session.isEmpty())
            return bad(QStringLiteral("no free id for %1; import with another id").arg(archive->id));
    }
    out.renamed = out.session != archive->id;
    // A dry run into an empty scratch store first: the store's own checks and projections see every
    // event before the real store sees any, so a refusal there costs nothing here.
    {
        QTemporaryDir scratchDir;
        auto scratch = scratchDir.isValid() ? store::EventStore::open(scratchDir.filePath(QStringLiteral("dry-run.db")))
                                            : Result<std::unique_ptr<store::EventStore>>(fail(ErrorCode::Io, scratchDir.errorString()));
        if (!scratch)
            return std::unexpected(Error{scratch.error().code, QStringLiteral("cannot check %1 before importing it: %2")
                                                                    .arg(origin, scratch.error().message)});
        for (qsizetype i = 0; i < archive->events.size(); ++i) {
            const ArchivedEvent &e = archive->events.at(i);
            if (auto r = (*scratch)->append(out.session, e.kind, e.payload); !r)
                return bad(QStringLiteral("%1: event %2 (seq %3) would be refused by the store: %4. Nothing was imported.")
                               .arg(origin).arg(i + 1).arg(e.seq).arg(r.error().message));
        }
        if (auto f = (*scratch)->flush(); !f)
            return bad(QStringLiteral("%1: the store would not take these events: %2. Nothing was imported.")
                           .arg(origin, f.error().message));
    }
    for (const ArchivedEvent &e : std::as_const(archive->events)) {
        if (auto r = store.append(out.session, e.kind, e.payload); !r)
            return std::unexpected(Error{r.error().code, QStringLiteral("the import of %1 stopped after %2 of %3 events: %4")
                                                              .arg(origin).arg(out.events).arg(archive->events.size())
                                                              .arg(r.error().message)});
        ++out.events;
    }
    (void)store.append(out.session, QLatin1String(kSessionImported),
                       QJsonObject{{QStringLiteral("from"), archive->id},
                                   {QStringLiteral("file"), origin},
                                   {QStringLiteral("version"), archive->version},
                                   {QStringLiteral("exportedAt"), orNull(archive->exportedAt)},
                                   {QStringLiteral("events"), out.events},
                                   {QStringLiteral("firstTime"), archive->events.first().time},
                                   {QStringLiteral("lastTime"), archive->events.last().time},
                                   {QStringLiteral("firstSeq"), archive->events.first().seq},
                                   {QStringLiteral("lastSeq"), archive->events.last().seq}});
    if (auto f = store.flush(); !f)
        return std::unexpected(Error{f.error().code, QStringLiteral("the events of %1 are queued but not yet stored: %2")
                                                          .arg(origin, f.error().message)});
    return out;
}

Result<ImportOutcome> importSession(store::EventStore &store, const QString &file, const ImportOptions &options)
{
    if (store::isDatabaseFile(file, store.path()))
        return bad(QStringLiteral("%1 is Airlock's database, not a session export. Nothing was imported.").arg(file));
    QFile f(file);
    if (!f.open(QIODevice::ReadOnly))
        return fail(ErrorCode::NotFound, QStringLiteral("cannot read %1: %2").arg(file, f.errorString()));
    if (f.size() > options.maxBytes)
        return bad(QStringLiteral("%1 is %2 bytes; an import takes at most %3. Nothing was imported.")
                       .arg(file).arg(f.size()).arg(options.maxBytes));
    const QByteArray data = f.read(options.maxBytes + 1);
    return importSessionData(store, data, QFileInfo(file).fileName(), options);
}

} // namespace airlock::workspace
