#pragma once

#include <QString>

namespace airlock::store {

// The database Airlock uses when nothing else is said: $XDG_DATA_HOME/airlock/airlock.db.
QString defaultDatabasePath();

// An explicit path (from --db) wins, then AIRLOCK_DB, then the default.
QString resolveDatabasePath(const QString &explicitPath);

// True when path is the database at dbPath or one of SQLite's files beside it (-wal, -shm,
// -journal), however it is reached (a symlink, a hard link). Found with stat alone: opening the
// file and closing it again would drop the locks this process's connections hold on it.
bool isDatabaseFile(const QString &path, const QString &dbPath);

} // namespace airlock::store
