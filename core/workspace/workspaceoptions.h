#pragma once

#include "privatepaths.h"

#include <QString>
#include <QStringList>

namespace airlock::workspace {

// What a snapshot leaves out, besides every `.git` (file or folder, at any depth) and what the
// workspace's own .gitignore files say. See README.md for why each default is there.
QStringList defaultIgnorePatterns();

inline constexpr qint64 kDefaultMaxFileBytes = 10 * 1024 * 1024;

struct WorkspaceOptions {
    // gitignore patterns, written to the shadow repository's info/exclude.
    QStringList ignore = defaultIgnorePatterns();
    // Files bigger than this are recorded as skipped in the checkpoint and not copied.
    qint64 maxFileBytes = kDefaultMaxFileBytes;
    // Threads that stat and hash the workspace during a snapshot.
    int scanThreads = 2;
    // Airlock's own files and folders, never read or written even inside the workspace; the
    // Checkpointer adds those of its database.
    PrivatePaths privatePaths;
};

// Where a session's shadow repository lives: <folder of the database>/shadow/<session>.git.
QString shadowGitDir(const QString &dbPath, const QString &session);

} // namespace airlock::workspace
