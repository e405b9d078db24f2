#include "workspaceoptions.h"

#include <QFileInfo>

namespace airlock::workspace {

QStringList defaultIgnorePatterns()
{
    // Regenerable caches that are large, churn on every install or run, and are rebuilt from files
    // a snapshot does keep (lock files, requirements): copying them would make the first snapshot
    // slow and the history big, and restoring them would fight the package manager.
    return {
        QStringLiteral("node_modules/"),
        QStringLiteral(".venv/"),
        QStringLiteral("__pycache__/"),
        QStringLiteral("*.pyc"),
        QStringLiteral(".mypy_cache/"),
        QStringLiteral(".pytest_cache/"),
        QStringLiteral(".ruff_cache/"),
        QStringLiteral(".tox/"),
        QStringLiteral(".gradle/"),
        QStringLiteral(".DS_Store"),
    };
}

QString shadowGitDir(const QString &dbPath, const QString &session)
{
    return QFileInfo(dbPath).absolutePath() + QStringLiteral("/shadow/") + session + QStringLiteral(".git");
}

} // namespace airlock::workspace
