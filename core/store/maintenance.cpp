#include "maintenance.h"

#include "event.h"
#include "storereader.h"
#include "schema.h"

#include <QDateTime>
#include <QJsonDocument>

#include <sqlite3.h>

namespace airlock::store {

namespace {

// Runs body inside BEGIN IMMEDIATE … COMMIT, rolling back when it fails.
template<typename Body>
auto inTransaction(Connection &db, Body body) -> decltype(body())
{
    if (auto r = db.exec("BEGIN IMMEDIATE"); !r)
        return std::unexpected(r.error());
    auto result = body();
    if (result) {
        if (auto c = db.exec("COMMIT"); !c)
            result = std::unexpected(c.error());
    }
    if (!result)
        (void)db.exec("ROLLBACK");
    return result;
}

Result<Statement> prepared(Connection &db, const char *sql)
{
    return db.prepare(sql);
}

} // namespace

Result<PurgeResult> purgeSession(const QString &dbPath, const QString &session, const QJsonObject &details)
{
    if (!isValidSessionId(session))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("'%1' is not a session id").arg(session.left(80)));
    auto db = openDatabase(dbPath);
    if (!db)
        return std::unexpected(db.error());
    return inTransaction(*db, [&]() -> Result<PurgeResult> {
        auto row = prepared(*db, "SELECT title, (SELECT count(*) FROM events WHERE session = ?1) FROM sessions "
                                 "WHERE id = ?1");
        if (!row)
            return std::unexpected(row.error());
        row->bind(1, session);
        auto found = row->step();
        if (!found)
            return std::unexpected(found.error());
        if (!*found)
            return fail(ErrorCode::NotFound, QStringLiteral("no session %1").arg(session));
        QJsonObject payload = details;
        payload.insert(QStringLiteral("title"), row->columnText(0));
        payload.insert(QStringLiteral("events"), row->columnInt(1));
        row = {};

        auto insert = prepared(*db, "INSERT INTO events(session, kind, payload, time) VALUES (?1, ?2, ?3, ?4)");
        if (!insert)
            return std::unexpected(insert.error());
        insert->bind(1, session);
        insert->bind(2, QString::fromLatin1(kSessionDeleted));
        insert->bind(3, QJsonDocument(payload).toJson(QJsonDocument::Compact));
        insert->bind(4, QDateTime::currentMSecsSinceEpoch());
        if (auto r = insert->run(); !r)
            return std::unexpected(r.error());
        PurgeResult result;
        result.tombstoneSeq = sqlite3_last_insert_rowid(db->handle());

        auto purge = prepared(*db, "DELETE FROM events WHERE session = ?1 AND seq < ?2");
        if (!purge)
            return std::unexpected(purge.error());
        purge->bind(1, session);
        purge->bind(2, result.tombstoneSeq);
        if (auto r = purge->run(); !r)
            return std::unexpected(r.error());
        result.events = sqlite3_changes(db->handle());

        for (const char *sql : {"DELETE FROM approvals WHERE session = ?1", "DELETE FROM sessions WHERE id = ?1"}) {
            auto s = prepared(*db, sql);
            if (!s)
                return std::unexpected(s.error());
            s->bind(1, session);
            if (auto r = s->run(); !r)
                return std::unexpected(r.error());
        }
        return result;
    });
}

Result<void> setSetting(const QString &dbPath, const QString &ns, const QString &key, const QString &value)
{
    if (ns.isEmpty() || key.isEmpty())
        return fail(ErrorCode::InvalidArgument, QStringLiteral("a setting needs a namespace and a key"));
    auto db = openDatabase(dbPath);
    if (!db)
        return std::unexpected(db.error());
    auto s = db->prepare(value.isEmpty() ? "DELETE FROM kv WHERE ns = ?1 AND key = ?2"
                                         : "INSERT INTO kv(ns, key, value) VALUES (?1, ?2, ?3) "
                                           "ON CONFLICT(ns, key) DO UPDATE SET value = excluded.value");
    if (!s)
        return std::unexpected(s.error());
    s->bind(1, ns);
    s->bind(2, key);
    if (!value.isEmpty())
        s->bind(3, value);
    return s->run();
}

Result<Connection> openForReading(const QString &dbPath)
{
    // The same checks as a StoreReader: an existing, current Airlock database; no writes.
    if (auto reader = StoreReader::open(dbPath); !reader)
        return std::unexpected(reader.error());
    auto db = Connection::open(dbPath, Connection::Mode::ReadWrite);
    if (!db)
        return db;
    if (auto r = db->exec("PRAGMA query_only = ON"); !r)
        return std::unexpected(r.error());
    return db;
}

Result<QHash<QString, qint64>> sessionStoreBytes(Connection &db)
{
    auto stmt = db.prepare("SELECT session, sum(length(CAST(payload AS BLOB)) + length(kind)) FROM events "
                           "WHERE session IS NOT NULL GROUP BY session");
    if (!stmt)
        return std::unexpected(stmt.error());
    QHash<QString, qint64> out;
    for (;;) {
        auto row = stmt->step();
        if (!row)
            return std::unexpected(row.error());
        if (!*row)
            return out;
        out.insert(stmt->columnText(0), stmt->columnInt(1));
    }
}

Result<qint64> sessionStoreBytes(Connection &db, const QString &session)
{
    auto stmt = db.prepare("SELECT coalesce(sum(length(CAST(payload AS BLOB)) + length(kind)), 0) FROM events "
                           "WHERE session = ?1");
    if (!stmt)
        return std::unexpected(stmt.error());
    stmt->bind(1, session);
    if (auto row = stmt->step(); !row)
        return std::unexpected(row.error());
    return stmt->columnInt(0);
}

Result<std::optional<QString>> setting(Connection &db, const QString &ns, const QString &key)
{
    auto stmt = db.prepare("SELECT value FROM kv WHERE ns = ?1 AND key = ?2");
    if (!stmt)
        return std::unexpected(stmt.error());
    stmt->bind(1, ns);
    stmt->bind(2, key);
    auto row = stmt->step();
    if (!row)
        return std::unexpected(row.error());
    return *row ? std::optional<QString>(stmt->columnText(0)) : std::nullopt;
}

Result<QList<std::pair<qint64, QString>>> deletedSessions(Connection &db, qint64 afterSeq)
{
    auto stmt = db.prepare("SELECT seq, session FROM events WHERE kind = 'session.deleted' AND seq > ?1 ORDER BY seq");
    if (!stmt)
        return std::unexpected(stmt.error());
    stmt->bind(1, afterSeq);
    QList<std::pair<qint64, QString>> out;
    for (;;) {
        auto row = stmt->step();
        if (!row)
            return std::unexpected(row.error());
        if (!*row)
            return out;
        out.append({stmt->columnInt(0), stmt->columnText(1)});
    }
}

Result<DeletionSummary> deletionSummary(Connection &db)
{
    auto stmt = db.prepare("SELECT count(*), coalesce(sum(json_extract(payload, '$.events')), 0) FROM events "
                           "WHERE kind = 'session.deleted'");
    if (!stmt)
        return std::unexpected(stmt.error());
    if (auto row = stmt->step(); !row)
        return std::unexpected(row.error());
    return DeletionSummary{stmt->columnInt(0), stmt->columnInt(1)};
}

} // namespace airlock::store
