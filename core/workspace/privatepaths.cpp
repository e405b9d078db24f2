#include "privatepaths.h"

#include "store/paths.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <unistd.h>

namespace airlock::workspace {

namespace {

// The path with symlinks resolved as far as it exists (a -wal that is not there yet, a runtime
// folder made later), cleaned of "." and "..".
QString resolved(const QString &path)
{
    QString rest;
    QString existing = QDir::cleanPath(QFileInfo(path).absoluteFilePath());
    while (!existing.isEmpty() && existing != QLatin1String("/") && !QFileInfo::exists(existing)) {
        const int slash = int(existing.lastIndexOf(u'/'));
        rest = existing.mid(slash) + rest;
        existing = slash > 0 ? existing.left(slash) : QStringLiteral("/");
    }
    const QString canonical = QFileInfo(existing).canonicalFilePath();
    QString out = (canonical.isEmpty() ? existing : canonical) + rest;
    return out.startsWith(QLatin1String("//")) ? out.mid(1) : out;
}

} // namespace

PrivatePaths airlockPrivatePaths(const QString &dbPath)
{
    PrivatePaths p;
    if (!dbPath.isEmpty()) {
        const QString db = QFileInfo(dbPath).absoluteFilePath();
        for (const char *suffix : {"", "-wal", "-shm", "-journal"})
            p.files << db + QLatin1String(suffix);
        p.folders << QFileInfo(db).absolutePath() + QStringLiteral("/shadow");
    }
    p.folders << QFileInfo(store::defaultDatabasePath()).absolutePath();
    // Where sandboxes and containers keep their control folders (see sandboxstate.h and the Docker
    // backend); leaving out one that is not in use costs nothing.
    const QString uidFolder = QStringLiteral("/airlock-%1").arg(::geteuid());
    if (const QString dir = qEnvironmentVariable("AIRLOCK_RUNTIME_DIR"); !dir.isEmpty())
        p.folders << dir;
    if (const QString xdg = qEnvironmentVariable("XDG_RUNTIME_DIR"); !xdg.isEmpty())
        p.folders << xdg + QStringLiteral("/airlock");
    p.folders << QStringLiteral("/tmp") + uidFolder << QDir::tempPath() + uidFolder;
    p.folders.removeDuplicates();
    return p;
}

PrivateEntries::PrivateEntries(const PrivatePaths &paths, const QString &workspace)
{
    if (workspace.isEmpty())
        return;
    const QString root = resolved(workspace);
    const QString prefix = root.endsWith(u'/') ? root : root + u'/';
    auto inside = [&](const QString &path) -> std::string {
        const QString r = resolved(path);
        return r.startsWith(prefix) && r.size() > prefix.size() ? QFile::encodeName(r.mid(prefix.size())).toStdString()
                                                                 : std::string();
    };
    for (const QString &f : paths.files)
        if (std::string rel = inside(f); !rel.empty())
            m_files.push_back(std::move(rel));
    for (const QString &d : paths.folders)
        if (std::string rel = inside(d); !rel.empty())
            m_folders.push_back(std::move(rel));
}

bool PrivateEntries::contains(std::string_view path) const
{
    for (const std::string &f : m_files)
        if (path == f)
            return true;
    for (const std::string &d : m_folders)
        if (path.starts_with(d) && (path.size() == d.size() || path[d.size()] == '/'))
            return true;
    return false;
}

} // namespace airlock::workspace
