#include "egress/egresslog.h"

#include "store/sqlite.h"

#include <QJsonDocument>

namespace airlock::egress {

EgressLog::EgressLog(std::unique_ptr<store::Connection> db) : m_db(std::move(db)) {}
EgressLog::EgressLog(EgressLog &&) noexcept = default;
EgressLog &EgressLog::operator=(EgressLog &&) noexcept = default;
EgressLog::~EgressLog() = default;

Result<EgressLog> EgressLog::open(const QString &path)
{
    auto db = store::Connection::open(path, store::Connection::Mode::ReadOnly);
    if (!db)
        return std::unexpected(db.error());
    return EgressLog(std::make_unique<store::Connection>(std::move(*db)));
}

Result<QList<store::Event>> EgressLog::query(const char *sql, const QString &session, qint64 seq, int limit)
{
    auto stmt = m_db->prepare(sql);
    if (!stmt)
        return std::unexpected(stmt.error());
    if (session.isEmpty())
        stmt->bindNull(1);
    else
        stmt->bind(1, session);
    stmt->bind(2, seq);
    stmt->bind(3, qint64(limit));
    QList<store::Event> out;
    while (true) {
        auto row = stmt->step();
        if (!row)
            return std::unexpected(row.error());
        if (!*row)
            break;
        store::Event e;
        e.seq = stmt->columnInt(0);
        e.session = stmt->columnIsNull(1) ? QString() : stmt->columnText(1);
        e.kind = stmt->columnText(2);
        e.payload = QJsonDocument::fromJson(stmt->columnBytes(3)).object();
        e.time = stmt->columnInt(4);
        out.append(std::move(e));
    }
    return out;
}

Result<QList<store::Event>> EgressLog::recent(const QString &session, int limit)
{
    // Read backwards from the end of the log (through the per-session index when there is a session)
    // until enough egress rows are found, then hand them back oldest first.
    auto rows = session.isEmpty()
                    ? query("SELECT seq, session, kind, payload, time FROM events WHERE ?1 IS NULL AND seq > ?2 "
                            "AND kind IN ('egress.connection', 'egress.rule') ORDER BY seq DESC LIMIT ?3",
                            session, 0, limit)
                    : query("SELECT seq, session, kind, payload, time FROM events WHERE session = ?1 AND seq > ?2 "
                            "AND kind IN ('egress.connection', 'egress.rule') ORDER BY seq DESC LIMIT ?3",
                            session, 0, limit);
    if (!rows)
        return rows;
    std::reverse(rows->begin(), rows->end());
    return rows;
}

Result<QList<store::Event>> EgressLog::after(qint64 afterSeq, const QString &session, int limit)
{
    if (session.isEmpty())
        return query("SELECT seq, session, kind, payload, time FROM events WHERE ?1 IS NULL AND seq > ?2 "
                     "AND kind IN ('egress.connection', 'egress.rule') ORDER BY seq LIMIT ?3",
                     session, afterSeq, limit);
    return query("SELECT seq, session, kind, payload, time FROM events WHERE session = ?1 AND seq > ?2 "
                 "AND kind IN ('egress.connection', 'egress.rule') ORDER BY seq LIMIT ?3",
                 session, afterSeq, limit);
}

Result<qint64> EgressLog::lastSeq()
{
    return m_db->queryInt("SELECT coalesce(max(seq), 0) FROM events");
}

Result<qint64> EgressLog::dataVersion()
{
    return m_db->queryInt("PRAGMA data_version");
}

} // namespace airlock::egress
