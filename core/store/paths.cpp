#include "paths.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QStandardPaths>

#include <sys/stat.h>

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

bool isDatabaseFile(const QString &path, const QString &dbPath)
{
    struct stat candidate;
    if (path.isEmpty() || dbPath.isEmpty() || ::stat(QFile::encodeName(path).constData(), &candidate) != 0)
        return false;
    for (const char *suffix : {"", "-wal", "-shm", "-journal"}) {
        struct stat st;
        if (::stat(QFile::encodeName(dbPath + QLatin1String(suffix)).constData(), &st) == 0 && st.st_dev == candidate.st_dev
            && st.st_ino == candidate.st_ino)
            return true;
    }
    return false;
}

QString mountPointOf(const QString &path)
{
    QString p = QFileInfo(path).absoluteFilePath();
    struct stat st;
    while (::stat(QFile::encodeName(p).constData(), &st) != 0) {
        const QString up = QFileInfo(p).absolutePath();
        if (up == p)
            return p;
        p = up;
    }
    for (;;) {
        const QString up = QFileInfo(p).absolutePath();
        struct stat parent;
        if (up == p || ::stat(QFile::encodeName(up).constData(), &parent) != 0 || parent.st_dev != st.st_dev)
            return p;
        p = up;
    }
}

namespace {
constexpr char kNoSpace[] = "no space left on ";
} // namespace

QString noSpaceMessage(const QString &path)
{
    return QLatin1String(kNoSpace)
        + QStringLiteral("%1 (the file system holding %2): free some space there").arg(mountPointOf(path), path);
}

bool isNoSpace(const Error &error)
{
    return error.code == ErrorCode::Io && error.message.contains(QLatin1String(kNoSpace));
}

} // namespace airlock::store
