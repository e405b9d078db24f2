#include "protectedsweep.h"

#include "checkpointtree.h"
#include "fsops.h"
#include "sandbox/protectednames.h"

#include <QSet>

#include <cerrno>
#include <cstring>

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

namespace airlock::workspace {

namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
constexpr int kMaxDepth = 256;

const protect::ProtectedNames &names()
{
    static const protect::ProtectedNames n;
    return n;
}

Error ioError(int err, const QString &what)
{
    return Error{ErrorCode::Io, what + QStringLiteral(": ") + QString::fromLocal8Bit(std::strerror(err))};
}

// Calls `found` with each topmost protected entry below the folder open at `dir` (prefix: its path).
template<typename Found>
Result<void> walk(int dir, const std::string &prefix, int depth, Found &&found)
{
    if (depth > kMaxDepth)
        return {};
    const int fd = ::openat(dir, ".", kDirFlags);
    if (fd < 0)
        return std::unexpected(ioError(errno, QStringLiteral("cannot read the folder %1").arg(QString::fromStdString(prefix))));
    DIR *d = ::fdopendir(fd);
    if (!d) {
        ::close(fd);
        return std::unexpected(ioError(errno, QStringLiteral("cannot read a folder")));
    }
    Result<void> result;
    while (dirent *e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name == "." || name == "..")
            continue;
        const std::string path = prefix.empty() ? name : prefix + '/' + name;
        if (names().covers(path)) {
            if (!found(::dirfd(d), name, path)) {
                result = fail(ErrorCode::InvalidArgument, QStringLiteral("stopped"));
                break;
            }
            continue;
        }
        if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)
            continue;
        const int sub = ::openat(::dirfd(d), name.c_str(), kDirFlags);
        if (sub < 0)
            continue; // a file after all, or gone
        result = walk(sub, path, depth + 1, found);
        ::close(sub);
        if (!result)
            break;
    }
    ::closedir(d);
    return result;
}

Result<void> removeAll(int dir, const std::string &name)
{
    struct stat st;
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? Result<void>() : std::unexpected(ioError(errno, QString::fromStdString(name)));
    if (!S_ISDIR(st.st_mode)) {
        if (::unlinkat(dir, name.c_str(), 0) != 0 && errno != ENOENT)
            return std::unexpected(ioError(errno, QStringLiteral("cannot remove %1").arg(QString::fromStdString(name))));
        return {};
    }
    const int fd = ::openat(dir, name.c_str(), kDirFlags);
    if (fd < 0)
        return std::unexpected(ioError(errno, QStringLiteral("cannot open %1").arg(QString::fromStdString(name))));
    DIR *d = ::fdopendir(fd);
    if (!d) {
        ::close(fd);
        return std::unexpected(ioError(errno, QString::fromStdString(name)));
    }
    Result<void> result;
    while (dirent *e = ::readdir(d)) {
        const std::string child = e->d_name;
        if (child == "." || child == "..")
            continue;
        result = removeAll(::dirfd(d), child);
        if (!result)
            break;
    }
    ::closedir(d);
    if (!result)
        return result;
    if (::unlinkat(dir, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
        return std::unexpected(ioError(errno, QStringLiteral("cannot remove %1").arg(QString::fromStdString(name))));
    return {};
}

} // namespace

Result<std::optional<QStringList>> findProtectedEntries(int rootFd)
{
    QStringList out;
    bool tooMany = false;
    auto r = walk(rootFd, std::string(), 0, [&](int, const std::string &, const std::string &path) {
        if (out.size() >= kMaxProtectedEntries) {
            tooMany = true;
            return false;
        }
        out.append(QString::fromStdString(path));
        return true;
    });
    if (tooMany)
        return std::optional<QStringList>();
    if (!r)
        return std::unexpected(r.error());
    out.sort();
    return std::optional<QStringList>(out);
}

Result<QStringList> removePlantedProtected(int rootFd, const QStringList &allowed)
{
    const QSet<QString> keep(allowed.cbegin(), allowed.cend());
    QStringList removed;
    Error failure;
    bool failed = false;
    auto r = walk(rootFd, std::string(), 0, [&](int dir, const std::string &name, const std::string &path) {
        const QString p = QString::fromStdString(path);
        if (keep.contains(p))
            return true;
        if (auto gone = removeAll(dir, name); !gone) {
            failure = gone.error();
            failed = true;
            return false;
        }
        removed.append(p);
        return true;
    });
    if (failed)
        return std::unexpected(Error{failure.code, QStringLiteral("cannot remove the protected entry: ") + failure.message});
    if (!r)
        return std::unexpected(r.error());
    removed.sort();
    return removed;
}

std::optional<QStringList> startingProtectedEntries(const CheckpointTree &tree, int node)
{
    const QList<int> line = tree.lineage(node);
    if (line.isEmpty())
        return std::nullopt;
    const Checkpoint &first = tree.nodes.at(line.first()).checkpoint;
    if (first.cause != Cause::Start)
        return std::nullopt;
    return first.protectedEntries;
}

} // namespace airlock::workspace
