#include "retention.h"

#include "sessionowner.h"
#include "store/storereader.h"
#include "workspace/workspaceoptions.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QStandardPaths>

#include <cerrno>
#include <cstring>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

namespace airlock::session {

namespace {

// nftw() takes a plain function; these carry its state for the walk in progress on this thread.
thread_local qint64 t_walkBytes = 0;
thread_local QStringList *t_walkProblems = nullptr;

int addUsage(const char *, const struct stat *st, int, FTW *)
{
    t_walkBytes += qint64(st->st_blocks) * 512;
    return 0;
}

int removeEntry(const char *path, const struct stat *, int type, FTW *)
{
    const int rc = type == FTW_DP ? ::rmdir(path) : ::unlink(path);
    if (rc != 0 && errno != ENOENT && t_walkProblems)
        t_walkProblems->append(QStringLiteral("%1: %2").arg(QFile::decodeName(path), QString::fromLocal8Bit(std::strerror(errno))));
    return 0; // keep going: remove what can be removed
}

} // namespace

QStringList removeFolder(const QString &path)
{
    QStringList problems;
    struct stat st;
    if (::lstat(QFile::encodeName(path).constData(), &st) != 0)
        return problems; // already gone
    t_walkProblems = &problems;
    if (::nftw(QFile::encodeName(path).constData(), removeEntry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        problems.append(QStringLiteral("%1: %2").arg(path, QString::fromLocal8Bit(std::strerror(errno))));
    t_walkProblems = nullptr;
    return problems;
}

namespace {

bool isInside(const QString &path, const QString &folder)
{
    const QString p = QDir::cleanPath(path), f = QDir::cleanPath(folder);
    return p.size() > f.size() + 1 && p.startsWith(f + u'/');
}

QString shadowRoot(const QString &dbPath)
{
    return QFileInfo(dbPath).absolutePath() + QStringLiteral("/shadow");
}

// The newest session.created names the process that runs the session now.
QJsonObject ownerOf(store::StoreReader &reader, const QString &session)
{
    store::EventQuery q;
    q.session = session;
    q.kind = QLatin1String(store::kinds::SessionCreated);
    q.newest = true;
    q.limit = 1;
    auto created = reader.events(q);
    if (!created || created->isEmpty())
        return {};
    return created->first().payload.value(QStringLiteral("owner")).toObject();
}

} // namespace

QString managedWorkspaceRoot()
{
    return QDir::cleanPath(QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation)
                           + QStringLiteral("/airlock/workspaces"));
}

bool isManagedWorkspace(const QString &path)
{
    return !path.isEmpty() && isInside(path, managedWorkspaceRoot());
}

qint64 diskUsage(const QString &path)
{
    struct stat st;
    const QByteArray native = QFile::encodeName(path);
    if (path.isEmpty() || ::lstat(native.constData(), &st) != 0)
        return 0;
    t_walkBytes = 0;
    ::nftw(native.constData(), addUsage, 16, FTW_PHYS);
    return t_walkBytes;
}

Result<qint64> storeBytesOf(const QString &dbPath, const QString &session)
{
    auto db = store::openForReading(dbPath);
    if (!db)
        return std::unexpected(db.error());
    return store::sessionStoreBytes(*db, session);
}

QString keptAgentHome(const QString &dbPath, const QString &session)
{
    if (dbPath.isEmpty() || session.isEmpty())
        return {};
    return QFileInfo(dbPath).absolutePath() + QStringLiteral("/homes/") + session;
}

SessionFootprint footprint(const QString &dbPath, const store::SessionRow &row, qint64 storeBytes,
                           const QList<store::SessionRow> &all)
{
    SessionFootprint fp;
    fp.session = row;
    fp.storeBytes = storeBytes;
    const QString shadow = workspace::shadowGitDir(dbPath, row.id);
    if (QFileInfo::exists(shadow)) {
        fp.shadowDir = shadow;
        fp.shadowBytes = diskUsage(shadow);
    }
    if (const QString home = keptAgentHome(dbPath, row.id); QFileInfo::exists(home)) {
        fp.agentHome = home;
        fp.agentHomeBytes = diskUsage(home);
    }
    if (row.workspace.isEmpty())
        return fp;
    QStringList sharers;
    for (const store::SessionRow &other : all)
        if (other.id != row.id && QDir::cleanPath(other.workspace) == QDir::cleanPath(row.workspace))
            sharers << other.id;
    if (!isManagedWorkspace(row.workspace)) {
        fp.keptWorkspace = row.workspace;
        fp.keptWhy = QStringLiteral("your folder");
    } else if (!sharers.isEmpty()) {
        fp.keptWorkspace = row.workspace;
        fp.keptWhy = QStringLiteral("also the workspace of %1").arg(sharers.join(QStringLiteral(", ")));
    } else if (QFileInfo::exists(row.workspace)) {
        fp.workspaceCopy = QDir::cleanPath(row.workspace);
        fp.workspaceBytes = diskUsage(fp.workspaceCopy);
    }
    return fp;
}

Result<QHash<QString, SessionFootprint>> footprints(const QString &dbPath)
{
    auto reader = store::StoreReader::open(dbPath);
    if (!reader)
        return std::unexpected(reader.error());
    auto rows = reader->sessions();
    if (!rows)
        return std::unexpected(rows.error());
    auto db = store::openForReading(dbPath);
    if (!db)
        return std::unexpected(db.error());
    auto bytes = store::sessionStoreBytes(*db);
    if (!bytes)
        return std::unexpected(bytes.error());
    QHash<QString, SessionFootprint> out;
    for (const store::SessionRow &row : *rows)
        out.insert(row.id, footprint(dbPath, row, bytes->value(row.id), *rows));
    return out;
}

QStringList dependentForks(const QString &dbPath, const QString &session)
{
    const QString objects = QDir::cleanPath(workspace::shadowGitDir(dbPath, session) + QStringLiteral("/objects"));
    const QString canonical = QFileInfo(objects).canonicalFilePath();
    QStringList out;
    const QDir root(shadowRoot(dbPath));
    const QStringList repos = root.entryList({QStringLiteral("*.git")}, QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name);
    for (const QString &name : repos) {
        const QString id = name.chopped(4);
        if (id == session)
            continue;
        QFile f(root.filePath(name) + QStringLiteral("/objects/info/alternates"));
        if (!f.open(QIODevice::ReadOnly))
            continue;
        const QList<QByteArray> lines = f.readAll().split('\n');
        for (const QByteArray &line : lines) {
            const QString dir = QDir::cleanPath(QFile::decodeName(line.trimmed()));
            if (!dir.isEmpty() && (dir == objects || (!canonical.isEmpty() && QFileInfo(dir).canonicalFilePath() == canonical))) {
                out << id;
                break;
            }
        }
    }
    return out;
}

std::optional<QString> processBlocker(store::StoreReader &reader, const store::SessionRow &row, qint64 ignoreOwnerPid)
{
    const QJsonObject owner = ownerOf(reader, row.id);
    const qint64 pid = owner.value(QStringLiteral("pid")).toInteger();
    const bool ownerLives = !owner.isEmpty() && pid > 0 && pid != ignoreOwnerPid && ownerAlive(owner);
    if (ownerLives)
        return QStringLiteral("it is %1 in %2 (pid %3), which is still running; end it there first")
            .arg(row.state, owner.value(QStringLiteral("program")).toString(QStringLiteral("another process")))
            .arg(pid);
    // Without a recorded owner (a script wrote it) a live state is taken at its word.
    if (isLiveState(row.state) && (owner.isEmpty() || pid <= 0))
        return QStringLiteral("it is %1").arg(row.state);
    return std::nullopt;
}

std::optional<QString> removalBlocker(const QString &dbPath, store::StoreReader &reader, const store::SessionRow &row,
                                      qint64 ignoreOwnerPid)
{
    if (auto why = processBlocker(reader, row, ignoreOwnerPid))
        return why;
    auto rows = reader.sessions();
    QStringList forks;
    for (const QString &id : dependentForks(dbPath, row.id)) {
        const bool exists = rows && std::any_of(rows->cbegin(), rows->cend(), [&](const auto &r) { return r.id == id; });
        if (exists)
            forks << id;
    }
    if (!forks.isEmpty())
        return QStringLiteral("its fork%1 %2 read%3 checkpoints from its history; delete %4 first")
            .arg(forks.size() > 1 ? QStringLiteral("s") : QString(), forks.join(QStringLiteral(", ")),
                 forks.size() > 1 ? QString() : QStringLiteral("s"), forks.size() > 1 ? QStringLiteral("them") : QStringLiteral("it"));
    return std::nullopt;
}

Result<RemovalResult> removeSession(const QString &dbPath, const SessionFootprint &fp, const QString &reason)
{
    // Only folders of Airlock's own making, in their expected places, are ever removed.
    if (!fp.shadowDir.isEmpty() && (!isInside(fp.shadowDir, shadowRoot(dbPath)) || !fp.shadowDir.endsWith(QLatin1String(".git"))))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("%1 is not a checkpoint history of this store").arg(fp.shadowDir));
    if (!fp.agentHome.isEmpty() && fp.agentHome != keptAgentHome(dbPath, fp.session.id))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("%1 is not this session's kept agent home").arg(fp.agentHome));
    if (!fp.workspaceCopy.isEmpty() && !isManagedWorkspace(fp.workspaceCopy))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("%1 is not a workspace Airlock made").arg(fp.workspaceCopy));

    QJsonObject details{{QStringLiteral("reason"), reason},
                        {QStringLiteral("by"), currentOwner()},
                        {QStringLiteral("storeBytes"), fp.storeBytes}};
    if (!fp.shadowDir.isEmpty())
        details.insert(QStringLiteral("shadow"), QJsonObject{{QStringLiteral("path"), fp.shadowDir}, {QStringLiteral("bytes"), fp.shadowBytes}});
    if (!fp.agentHome.isEmpty())
        details.insert(QStringLiteral("agentHome"), QJsonObject{{QStringLiteral("path"), fp.agentHome}, {QStringLiteral("bytes"), fp.agentHomeBytes}});
    if (!fp.workspaceCopy.isEmpty())
        details.insert(QStringLiteral("workspaceCopy"),
                       QJsonObject{{QStringLiteral("path"), fp.workspaceCopy}, {QStringLiteral("bytes"), fp.workspaceBytes}});
    // The store first: a folder left behind is found again by gc through the tombstone, while a
    // session whose history vanished under it would be broken.
    auto purged = store::purgeSession(dbPath, fp.session.id, details);
    if (!purged)
        return std::unexpected(purged.error());
    RemovalResult result;
    result.purge = *purged;
    result.freedBytes = fp.storeBytes;
    auto drop = [&](const QString &path, qint64 bytes) {
        if (path.isEmpty())
            return;
        const QStringList problems = removeFolder(path);
        result.problems += problems;
        if (problems.isEmpty()) {
            result.removed << path;
            result.freedBytes += bytes;
        }
    };
    drop(fp.shadowDir, fp.shadowBytes);
    if (!fp.shadowDir.isEmpty())
        QFile::remove(fp.shadowDir + QStringLiteral(".lock"));
    drop(fp.agentHome, fp.agentHomeBytes);
    drop(fp.workspaceCopy, fp.workspaceBytes);
    return result;
}

} // namespace airlock::session
