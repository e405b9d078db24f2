#pragma once

#include "error.h"

#include <QJsonObject>
#include <QStringList>

namespace airlock::store {
class EventStore;
class StoreReader;
} // namespace airlock::store

namespace airlock::session {

// Which process runs a session: recorded in its session.created event as `owner` (pid, its start time
// in /proc/PID/stat, boot id, program), so a session whose process is gone (a crash, a kill, a
// reboot) is not shown as running forever, and a later process that got the same pid is not taken
// for it.
QJsonObject currentOwner();
// A stored state in which some process is driving the session: starting, running, blocked, idle.
bool isLiveState(const QString &state);
bool ownerAlive(const QJsonObject &owner);

// A session in a live state whose owner is gone, and what to say about it.
struct Orphan {
    QString session;
    QString state;
    QString reason; // "the process running it (airlockctl, pid 42) is gone"
};
// Sessions that are still starting, running, blocked or idle while their owner is gone. Sessions
// without an owner (written by scripts) are never orphans.
Result<QList<Orphan>> findOrphans(store::StoreReader &reader);

// Marks every orphan as failed, with the reason. Returns the ids it marked.
Result<QStringList> reconcileOrphans(store::StoreReader &reader, store::EventStore &store);
// The same for whoever opens the store at dbPath: an event store is opened only when there is
// something to mark, so a command that finds nothing to do writes nothing.
Result<QStringList> reconcileOrphans(const QString &dbPath);

} // namespace airlock::session
