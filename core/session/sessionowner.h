#pragma once

#include "error.h"

#include <QJsonObject>
#include <QStringList>

namespace airlock::store {
class EventStore;
class StoreReader;
} // namespace airlock::store

namespace airlock::session {

// Which process runs a session: recorded in its session.created event as `owner`, so a session whose
// process is gone (a crash, a kill, a reboot) is not shown as running forever.
QJsonObject currentOwner();
// A stored state in which some process is driving the session: starting, running, blocked, idle.
bool isLiveState(const QString &state);
bool ownerAlive(const QJsonObject &owner);

// Marks every session that is still starting, running, blocked or idle while its owner is gone as
// failed, with the reason. Sessions without an owner (written by scripts) are left alone. Returns
// the ids it marked.
Result<QStringList> reconcileOrphans(store::StoreReader &reader, store::EventStore &store);

} // namespace airlock::session
