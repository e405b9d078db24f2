#include "storereader.h"

#include "maintenance.h"
#include "schema.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>

namespace airlock::store {

namespace {
constexpr const char kSessionColumns[] = "id, title, agent, policy, workspace, state, parent, created, "
                                         "updated, first_seq, last_seq, event_count";

SessionRow readSession(const Statement &s)
{
    SessionRow r;
    r.id = s.columnText(0);
    r.title = s.columnText(1);
    r.agent = s.columnText(2);
    r.policy = s.columnText(3);
    r.workspace = s.columnText(4);
    r.state = s.columnText(5);
    r.parent = s.columnText(6);
    r.created = s.columnInt(7);
    r.updated = s.columnInt(8);
    r.firstSeq = s.columnInt(9);
    r.lastSeq = s.columnInt(10);
    r.eventCount = s.columnInt(11);
    return r;
}
PolicyVersion readPolicy(const Statement &s)
{
    return PolicyVersion{s.columnText(0), int(s.columnInt(1)), s.columnBytes(2), s.columnText(3), s.columnInt(4)};
}

template<typename Bind>
Result<QList<PolicyVersion>> queryPolicies(Connection &db, const char *sql, Bind bind)
{
    auto stmt = db.prepare(sql);
    if (!stmt)
        return std::unexpected(stmt.error());
    bind(*stmt);
    QList<PolicyVersion> out;
    for (;;) {
        auto row = stmt->step();
        if (!row)
            return std::unexpected(row.error());
        if (!*row)
            return out;
        out.append(readPolicy(*stmt));
    }
}
} // namespace

Result<QList<PolicyVersion>> StoreReader::policies()
{
    return queryPolicies(m_db,
                         "SELECT p.name, p.version, p.document, p.note, p.created FROM policies p "
                         "WHERE p.version = (SELECT max(version) FROM policies WHERE name = p.name) ORDER BY p.name",
                         [](Statement &) {});
}

Result<std::optional<PolicyVersion>> StoreReader::policy(const QString &name, int version)
{
    auto rows = queryPolicies(m_db,
                              "SELECT name, version, document, note, created FROM policies WHERE name = ?1 "
                              "AND (?2 = 0 OR version = ?2) ORDER BY version DESC LIMIT 1",
                              [&](Statement &s) {
                                  s.bind(1, name);
                                  s.bind(2, qint64(version));
                              });
    if (!rows)
        return std::unexpected(rows.error());
    return rows->isEmpty() ? std::optional<PolicyVersion>() : std::optional<PolicyVersion>(rows->first());
}

Result<QList<PolicyVersion>> StoreReader::policyVersions(const QString &name)
{
    return queryPolicies(m_db,
                         "SELECT name, version, document, note, created FROM policies WHERE name = ?1 "
                         "ORDER BY version",
                         [&](Statement &s) { s.bind(1, name); });
}

Result<StoreReader> StoreReader::open(const QString &path)
{
    if (!QFileInfo::exists(path))
        return fail(ErrorCode::NotFound, QStringLiteral("no database at %1").arg(path));
    auto db = Connection::open(path, Connection::Mode::ReadWrite);
    if (!db)
        return std::unexpected(db.error());
    if (auto id = checkIdentity(*db, currentSchemaVersion()); !id)
        return std::unexpected(id.error());
    auto version = db->queryInt("PRAGMA user_version");
    if (!version)
        return std::unexpected(version.error());
    if (*version != currentSchemaVersion())
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("%1 has schema version %2 and needs an upgrade to %3 first")
                        .arg(path)
                        .arg(*version)
                        .arg(currentSchemaVersion()));
    if (auto r = db->exec("PRAGMA query_only = ON"); !r)
        return std::unexpected(r.error());
    return StoreReader(std::move(*db));
}

Result<QList<SessionRow>> StoreReader::sessions(qint64 changedAfterSeq)
{
    const QByteArray sql = QByteArrayLiteral("SELECT ") + kSessionColumns
        + " FROM sessions WHERE last_seq > ?1 ORDER BY first_seq";
    auto stmt = m_db.prepare(sql.constData());
    if (!stmt)
        return std::unexpected(stmt.error());
    stmt->bind(1, changedAfterSeq);
    QList<SessionRow> rows;
    for (;;) {
        auto row = stmt->step();
        if (!row)
            return std::unexpected(row.error());
        if (!*row)
            break;
        rows.append(readSession(*stmt));
    }
    return rows;
}

Result<std::optional<SessionRow>> StoreReader::session(const QString &id)
{
    const QByteArray sql = QByteArrayLiteral("SELECT ") + kSessionColumns + " FROM sessions WHERE id = ?1";
    auto stmt = m_db.prepare(sql.constData());
    if (!stmt)
        return std::unexpected(stmt.error());
    stmt->bind(1, id);
    auto row = stmt->step();
    if (!row)
        return std::unexpected(row.error());
    if (!*row)
        return std::optional<SessionRow>();
    return std::optional<SessionRow>(readSession(*stmt));
}

Result<SessionRow> StoreReader::existingSession(const QString &id)
{
    auto row = session(id);
    if (!row)
        return std::unexpected(row.error());
    if (!*row)
        return fail(ErrorCode::NotFound, QStringLiteral("no session %1").arg(id));
    return **row;
}

Result<QList<Event>> StoreReader::events(const EventQuery &q)
{
    QByteArray sql = "SELECT seq, session, kind, payload, time FROM events WHERE seq > ?1";
    if (q.session)
        sql += " AND session = ?2";
    if (q.kind)
        sql += " AND kind = ?4";
    if (q.beforeSeq > 0)
        sql += " AND seq < ?5";
    sql += q.newest ? " ORDER BY seq DESC LIMIT ?3" : " ORDER BY seq LIMIT ?3";
    if (q.newest)
        sql = "SELECT * FROM (" + sql + ") ORDER BY seq";
    auto stmt = m_db.prepare(sql.constData());
    if (!stmt)
        return std::unexpected(stmt.error());
    stmt->bind(1, q.afterSeq);
    if (q.session)
        stmt->bind(2, *q.session);
    stmt->bind(3, qint64(q.limit));
    if (q.kind)
        stmt->bind(4, *q.kind);
    if (q.beforeSeq > 0)
        stmt->bind(5, q.beforeSeq);
    QList<Event> out;
    for (;;) {
        auto row = stmt->step();
        if (!row)
            return std::unexpected(row.error());
        if (!*row)
            break;
        Event e;
        e.seq = stmt->columnInt(0);
        e.session = stmt->columnText(1);
        e.kind = stmt->columnText(2);
        e.payload = QJsonDocument::fromJson(stmt->columnBytes(3)).object();
        e.time = stmt->columnInt(4);
        out.append(std::move(e));
    }
    return out;
}

Result<qint64> StoreReader::lastSeq()
{
    return m_db.queryInt("SELECT coalesce(max(seq), 0) FROM events");
}

Result<QList<ApprovalRow>> StoreReader::approvals(bool includeDecided, const QString &session)
{
    auto stmt = m_db.prepare(
        "SELECT a.session, coalesce(s.title, ''), a.request, a.requested_seq, a.requested_time, a.tool_call, a.options, "
        "a.rule, a.explanation, coalesce(a.answer, ''), coalesce(a.answered_by, ''), coalesce(a.decision, ''), "
        "coalesce(a.decided_by, '') FROM approvals a LEFT JOIN sessions s ON s.id = a.session "
        "WHERE (?1 OR a.decided_seq IS NULL) AND (?2 IS NULL OR a.session = ?2) ORDER BY a.requested_seq");
    if (!stmt)
        return std::unexpected(stmt.error());
    stmt->bind(1, qint64(includeDecided));
    stmt->bind(2, session.isEmpty() ? QString() : session);
    QList<ApprovalRow> out;
    for (;;) {
        auto row = stmt->step();
        if (!row)
            return std::unexpected(row.error());
        if (!*row)
            return out;
        ApprovalRow a;
        a.session = stmt->columnText(0);
        a.sessionTitle = stmt->columnText(1);
        a.request = stmt->columnText(2);
        a.requestedSeq = stmt->columnInt(3);
        a.requestedTime = stmt->columnInt(4);
        a.toolCall = QJsonDocument::fromJson(stmt->columnBytes(5)).object();
        a.options = QJsonDocument::fromJson(stmt->columnBytes(6)).array();
        a.rule = stmt->columnText(7);
        a.explanation = stmt->columnText(8);
        a.answer = stmt->columnText(9);
        a.answeredBy = stmt->columnText(10);
        a.decision = stmt->columnText(11);
        a.decidedBy = stmt->columnText(12);
        out.append(std::move(a));
    }
}

Result<qint64> StoreReader::approvalStamp()
{
    return m_db.queryInt("SELECT coalesce(max(requested_seq), 0) + coalesce(max(answered_seq), 0) + "
                         "coalesce(max(decided_seq), 0) FROM approvals");
}

Result<qint64> StoreReader::policyStamp()
{
    return m_db.queryInt("SELECT coalesce(max(rowid), 0) FROM policies");
}

Result<qint64> StoreReader::dataVersion()
{
    return m_db.queryInt("PRAGMA data_version");
}

Result<CheckReport> StoreReader::check()
{
    CheckReport report;
    report.path = m_db.path();
    report.fileBytes = QFileInfo(m_db.path()).size();
    auto integrity = m_db.prepare("PRAGMA integrity_check");
    if (!integrity)
        return std::unexpected(integrity.error());
    for (;;) {
        auto row = integrity->step();
        if (!row) {
            report.integrityMessages.append(row.error().message);
            break;
        }
        if (!*row)
            break;
        report.integrityMessages.append(integrity->columnText(0));
    }
    report.integrityOk = report.integrityMessages == QStringList{QStringLiteral("ok")};

    auto version = m_db.queryInt("PRAGMA user_version");
    if (!version)
        return std::unexpected(version.error());
    report.schemaVersion = int(*version);
    auto mode = m_db.prepare("PRAGMA journal_mode");
    if (mode && mode->step().value_or(false))
        report.journalMode = mode->columnText(0);

    auto counts = m_db.prepare("SELECT count(*), coalesce(min(seq), 0), coalesce(max(seq), 0) FROM events");
    if (!counts)
        return std::unexpected(counts.error());
    if (auto row = counts->step(); !row)
        return std::unexpected(row.error());
    report.events = counts->columnInt(0);
    report.firstSeq = counts->columnInt(1);
    report.lastSeq = counts->columnInt(2);
    // Deleted sessions leave gaps; their tombstones say how many events went, so the log is still
    // complete when the events present and the purged ones add up to the last seq.
    auto deleted = deletionSummary(m_db);
    if (!deleted)
        return std::unexpected(deleted.error());
    report.seqContiguous = report.events == 0 || report.events + deleted->events == report.lastSeq;
    auto sessions = m_db.queryInt("SELECT count(*) FROM sessions");
    if (!sessions)
        return std::unexpected(sessions.error());
    report.sessions = *sessions;
    return report;
}

} // namespace airlock::store
