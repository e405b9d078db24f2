#pragma once

#include "error.h"

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

// The folder the file system holding path (or its nearest existing parent) is mounted on.
QString mountPointOf(const QString &path);
// What every store error says when the disk is full: "no space left on <mount point> (the file
// system holding <path>): free some space there".
QString noSpaceMessage(const QString &path);
// True for an error that says so (an Io error; callers tell it apart to wait for space rather
// than give up).
bool isNoSpace(const Error &error);

} // namespace airlock::store
