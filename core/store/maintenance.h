#pragma once

#include "error.h"
#include "sqlite.h"

#include <QHash>
#include <QJsonObject>
#include <QList>
#include <QString>

#include <optional>
#include <utility>

namespace airlock::store {

// The tombstone of a deleted session, written only by purgeSession(): title, events (how many went),
// reason, by, and what was removed from disk. Never deleted itself; EventStore refuses to append one.
inline constexpr auto kSessionDeleted = "session.deleted";

// What purgeSession() took out of the store.
struct PurgeResult {
    qint64 events = 0;       // events deleted (the tombstone not counted)
    qint64 tombstoneSeq = 0; // seq of the session.deleted event that records it
};

// Deletes a session from the store: in one transaction, appends a session.deleted tombstone (with
// `details`, the session's title and the number of events it removes), deletes the session's
// earlier events and its rows in the projections. This is the only way events leave the log; the
// schema refuses every other delete. Forks of the session keep their rows, with no parent.
Result<PurgeResult> purgeSession(const QString &dbPath, const QString &session, const QJsonObject &details);

// The kv table: small settings kept with the data they govern (retention, for example). An empty
// value removes the key.
Result<void> setSetting(const QString &dbPath, const QString &ns, const QString &key, const QString &value);

// A read-only connection to a current database (as StoreReader has), for the queries below.
Result<Connection> openForReading(const QString &dbPath);

// What each session's events take in the store (payload and kind bytes; SQLite's own overhead
// comes on top), by session id: one pass over the log. The second form is for one session.
Result<QHash<QString, qint64>> sessionStoreBytes(Connection &db);
Result<qint64> sessionStoreBytes(Connection &db, const QString &session);
// A value of the kv table; nullopt when it is not set.
Result<std::optional<QString>> setting(Connection &db, const QString &ns, const QString &key);
// The tombstones after afterSeq, oldest first: (seq, session).
Result<QList<std::pair<qint64, QString>>> deletedSessions(Connection &db, qint64 afterSeq);

struct DeletionSummary {
    qint64 sessions = 0; // tombstones
    qint64 events = 0;   // the events they account for: the gaps in seq add up to this
};
Result<DeletionSummary> deletionSummary(Connection &db);

} // namespace airlock::store
