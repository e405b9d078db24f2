#include "paths.h"

#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>

namespace airlock::store {

QString defaultDatabasePath()
{
    const QString base = QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation);
    return QDir(base).filePath(QStringLiteral("airlock/airlock.db"));
}

QString resolveDatabasePath(const QString &explicitPath)
{
    QString path = explicitPath;
    if (path.isEmpty())
        path = qEnvironmentVariable("AIRLOCK_DB");
    if (path.isEmpty())
        path = defaultDatabasePath();
    return QFileInfo(path).absoluteFilePath();
}

} // namespace airlock::store
