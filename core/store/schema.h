#pragma once

#include "sqlite.h"

#include <span>

namespace airlock::store {

// Written into the file header so that another program's SQLite file is never mistaken for ours.
inline constexpr qint64 kApplicationId = 0x41524c4b; // "ARLK"

struct Migration {
    int version;       // the user_version this step produces
    const char *sql;   // run inside one transaction with the version bump
};

// The migrations of this build, oldest first; the last one's version is the schema version.
std::span<const Migration> migrations();
int currentSchemaVersion();

// Opens the database at path for use by Airlock: refuses files that are not SQLite, belong to another
// program, are damaged or come from a newer schema, without writing a byte to them; otherwise turns on
// WAL and foreign keys and brings the schema up to date. The parent folder is created if missing.
Result<Connection> openDatabase(const QString &path);

// Applies the given steps above the file's user_version, each in its own transaction.
Result<void> migrate(Connection &db, std::span<const Migration> steps);

// Checks that an open file is an Airlock database this build understands (no writes).
Result<void> checkIdentity(Connection &db, int knownVersion);

} // namespace airlock::store
