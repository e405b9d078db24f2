#pragma once

#include "event.h"
#include "sqlite.h"

#include <optional>

namespace airlock::store {

struct EventQuery {
    std::optional<QString> session; // only this session's events
    qint64 afterSeq = 0;            // events with seq > afterSeq
    int limit = 1000;
    bool newest = false;            // the last `limit` matching events (still returned oldest first)
    std::optional<QString> kind;    // only events of this kind
    qint64 beforeSeq = 0;           // events with seq < beforeSeq; 0: no bound
};

struct CheckReport {
    QString path;
    bool integrityOk = false;
    QStringList integrityMessages;
    int schemaVersion = 0;
    QString journalMode;
    qint64 events = 0;
    qint64 firstSeq = 0;
    qint64 lastSeq = 0;
    bool seqContiguous = false;
    qint64 sessions = 0;
    qint64 fileBytes = 0;

    bool ok() const { return integrityOk && seqContiguous; }
};

// A read connection of its own; use one per thread.
class StoreReader
{
public:
    // The database must already exist and be current (EventStore::open or openDatabase created it).
    static Result<StoreReader> open(const QString &path);

    Result<QList<SessionRow>> sessions(qint64 changedAfterSeq = 0);
    Result<std::optional<SessionRow>> session(const QString &id);
    // The same for a session that must be there: NotFound ("no session ID") when it is not.
    Result<SessionRow> existingSession(const QString &id);
    Result<QList<Event>> events(const EventQuery &query);
    // The newest version of every policy, by name.
    Result<QList<PolicyVersion>> policies();
    // One version of a policy; version 0 means the newest.
    Result<std::optional<PolicyVersion>> policy(const QString &name, int version = 0);
    // Every saved version of a policy, oldest first (documents included).
    Result<QList<PolicyVersion>> policyVersions(const QString &name);
    Result<qint64> lastSeq();
    // The approvals inbox: requests not yet decided (all of them with includeDecided), oldest first.
    Result<QList<ApprovalRow>> approvals(bool includeDecided = false, const QString &session = {});
    // Moves whenever an approval is requested, answered or decided.
    Result<qint64> approvalStamp();
    // Grows with every saved policy version: a cheap "did policies change" probe.
    Result<qint64> policyStamp();
    // Changes whenever another connection (in this process or another) commits.
    Result<qint64> dataVersion();
    Result<CheckReport> check();

    const QString &path() const { return m_db.path(); }

private:
    explicit StoreReader(Connection db) : m_db(std::move(db)) {}
    Connection m_db;
};

} // namespace airlock::store
