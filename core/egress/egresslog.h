#pragma once

#include "error.h"
#include "store/event.h"

#include <memory>
#include <optional>

namespace airlock::store {
class Connection;
}

namespace airlock::egress {

// Reads the egress events (egress.connection and egress.rule) back from the store, for
// `airlockctl egress tail` and for a view's history. A read-only connection of its own: one per thread.
class EgressLog
{
public:
    static Result<EgressLog> open(const QString &path);
    EgressLog(EgressLog &&) noexcept;
    EgressLog &operator=(EgressLog &&) noexcept;
    ~EgressLog();

    // The newest `limit` egress events, oldest first; all sessions when session is empty.
    Result<QList<store::Event>> recent(const QString &session, int limit);
    // Egress events with seq > afterSeq, oldest first, at most limit.
    Result<QList<store::Event>> after(qint64 afterSeq, const QString &session, int limit = 1000);
    // The highest seq in the log (any kind), to follow from.
    Result<qint64> lastSeq();
    // Moves whenever another connection commits; cheap to poll.
    Result<qint64> dataVersion();

private:
    explicit EgressLog(std::unique_ptr<store::Connection> db);
    Result<QList<store::Event>> query(const char *sql, const QString &session, qint64 seq, int limit);
    std::unique_ptr<store::Connection> m_db;
};

} // namespace airlock::egress
