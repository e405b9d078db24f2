#pragma once

#include <QString>

namespace airlock::store {

// The database Airlock uses when nothing else is said: $XDG_DATA_HOME/airlock/airlock.db.
QString defaultDatabasePath();

// An explicit path (from --db) wins, then AIRLOCK_DB, then the default.
QString resolveDatabasePath(const QString &explicitPath);

} // namespace airlock::store
