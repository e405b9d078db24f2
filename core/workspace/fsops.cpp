#include "fsops.h"

#include <QRandomGenerator>
#include <QString>

#include <cerrno>
#include <cstring>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

namespace airlock::workspace::fs {

Fd &Fd::operator=(Fd &&o) noexcept
{
    if (this != &o) {
        if (m_fd >= 0)
            ::close(m_fd);
        m_fd = std::exchange(o.m_fd, -1);
    }
    return *this;
}

Fd::~Fd()
{
    if (m_fd >= 0)
        ::close(m_fd);
}

QString errnoMessage(int err)
{
    return QString::fromLocal8Bit(std::strerror(err));
}

namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

std::unexpected<Error> ioFail(int err, const QString &what)
{
    return fail(err == ENOENT ? ErrorCode::NotFound : ErrorCode::Io, what + QStringLiteral(": ") + errnoMessage(err));
}

QString q(std::string_view s)
{
    return QString::fromUtf8(s.data(), qsizetype(s.size()));
}

std::string tempName()
{
    return ".airlock-" + std::to_string(QRandomGenerator::global()->generate64());
}

// True when a `.git` entry is anywhere below the open folder.
bool containsDotGit(int dir)
{
    Fd copy(::dup(dir));
    if (!copy.valid())
        return true; // cannot tell: be careful
    DIR *d = ::fdopendir(copy.get());
    if (!d)
        return true;
    copy.release();
    bool found = false;
    while (dirent *e = ::readdir(d)) {
        const std::string_view name(e->d_name);
        if (name == "." || name == "..")
            continue;
        if (isDotGit(name)) {
            found = true;
            break;
        }
        struct stat st;
        if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
            Fd sub(::openat(::dirfd(d), e->d_name, kDirFlags));
            if (!sub.valid() || containsDotGit(sub.get())) {
                found = true;
                break;
            }
        }
    }
    ::closedir(d);
    return found;
}

Result<void> removeContents(int dir)
{
    Fd copy(::dup(dir));
    DIR *d = copy.valid() ? ::fdopendir(copy.get()) : nullptr;
    if (!d)
        return ioFail(errno, QStringLiteral("cannot list a folder to remove it"));
    copy.release();
    std::vector<std::string> names;
    while (dirent *e = ::readdir(d)) {
        const std::string_view name(e->d_name);
        if (name != "." && name != "..")
            names.emplace_back(name);
    }
    Result<void> result;
    for (const std::string &name : names) {
        struct stat st;
        if (::fstatat(::dirfd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            Fd sub(::openat(::dirfd(d), name.c_str(), kDirFlags));
            if (!sub.valid()) {
                result = ioFail(errno, QStringLiteral("cannot open %1").arg(q(name)));
                break;
            }
            if (auto r = removeContents(sub.get()); !r) {
                result = r;
                break;
            }
            if (::unlinkat(::dirfd(d), name.c_str(), AT_REMOVEDIR) != 0) {
                result = ioFail(errno, QStringLiteral("cannot remove %1").arg(q(name)));
                break;
            }
        } else if (::unlinkat(::dirfd(d), name.c_str(), 0) != 0 && errno != ENOENT) {
            result = ioFail(errno, QStringLiteral("cannot remove %1").arg(q(name)));
            break;
        }
    }
    ::closedir(d);
    return result;
}

// Makes room for a new entry called `name`: a folder there is removed (see removeTree).
Result<void> clearForFile(int dir, const std::string &name)
{
    struct stat st;
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
        return removeTree(dir, name);
    return {};
}

} // namespace

bool isDotGit(std::string_view name)
{
    return name.size() == 4 && name[0] == '.' && (name[1] | 0x20) == 'g' && (name[2] | 0x20) == 'i'
        && (name[3] | 0x20) == 't';
}

bool isSafeRelativePath(std::string_view path)
{
    if (path.empty() || path.front() == '/' || path.back() == '/')
        return false;
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string_view::npos)
            end = path.size();
        const std::string_view part = path.substr(start, end - start);
        if (part.empty() || part == "." || part == ".." || isDotGit(part)
            || part.find('\0') != std::string_view::npos)
            return false;
        start = end + 1;
    }
    return true;
}

Result<Fd> openRoot(const QString &folder)
{
    Fd fd(::open(folder.toLocal8Bit().constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid())
        return ioFail(errno, QStringLiteral("cannot open the workspace %1").arg(folder));
    return fd;
}

Result<Fd> openParent(int root, std::string_view path, Walk walk, std::string *leaf)
{
    if (!isSafeRelativePath(path))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("'%1' is not a path a checkpoint may hold").arg(q(path)));
    Fd current(::dup(root));
    if (!current.valid())
        return ioFail(errno, QStringLiteral("cannot open the workspace"));
    size_t start = 0;
    for (;;) {
        const size_t slash = path.find('/', start);
        if (slash == std::string_view::npos) {
            *leaf = std::string(path.substr(start));
            return current;
        }
        const std::string part(path.substr(start, slash - start));
        Fd next(::openat(current.get(), part.c_str(), kDirFlags));
        if (!next.valid()) {
            const int err = errno;
            if (walk == Walk::Existing)
                return fail(ErrorCode::NotFound, QStringLiteral("%1 is not a folder").arg(q(path.substr(0, slash))));
            if (err == ELOOP || err == ENOTDIR) {
                // A file or symlink stands where the checkpoint has a folder: it goes, unfollowed.
                if (::unlinkat(current.get(), part.c_str(), 0) != 0)
                    return ioFail(errno, QStringLiteral("cannot replace %1 with a folder").arg(q(path.substr(0, slash))));
            } else if (err != ENOENT) {
                return ioFail(err, QStringLiteral("cannot open %1").arg(q(path.substr(0, slash))));
            }
            if (::mkdirat(current.get(), part.c_str(), 0777) != 0 && errno != EEXIST)
                return ioFail(errno, QStringLiteral("cannot create %1").arg(q(path.substr(0, slash))));
            next = Fd(::openat(current.get(), part.c_str(), kDirFlags));
            if (!next.valid())
                return ioFail(errno, QStringLiteral("cannot open %1").arg(q(path.substr(0, slash))));
        }
        current = std::move(next);
        start = slash + 1;
    }
}

Result<void> writeFile(int dir, const std::string &name, const char *data, size_t size, bool executable)
{
    if (auto r = clearForFile(dir, name); !r)
        return r;
    std::string tmp;
    Fd fd;
    for (int attempt = 0; attempt < 16 && !fd.valid(); ++attempt) {
        tmp = tempName();
        fd = Fd(::openat(dir, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                         executable ? 0777 : 0666));
        if (!fd.valid() && errno != EEXIST)
            return ioFail(errno, QStringLiteral("cannot write %1").arg(q(name)));
    }
    if (!fd.valid())
        return ioFail(EEXIST, QStringLiteral("cannot write %1").arg(q(name)));
    size_t done = 0;
    while (done < size) {
        const ssize_t n = ::write(fd.get(), data + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            const int err = n < 0 ? errno : EIO;
            ::unlinkat(dir, tmp.c_str(), 0);
            return ioFail(err, QStringLiteral("cannot write %1").arg(q(name)));
        }
        done += size_t(n);
    }
    fd = Fd();
    if (::renameat(dir, tmp.c_str(), dir, name.c_str()) != 0) {
        const int err = errno;
        ::unlinkat(dir, tmp.c_str(), 0);
        return ioFail(err, QStringLiteral("cannot replace %1").arg(q(name)));
    }
    return {};
}

Result<void> writeSymlink(int dir, const std::string &name, const std::string &target)
{
    if (auto r = clearForFile(dir, name); !r)
        return r;
    std::string tmp;
    for (int attempt = 0;; ++attempt) {
        tmp = tempName();
        if (::symlinkat(target.c_str(), dir, tmp.c_str()) == 0)
            break;
        if (errno != EEXIST || attempt == 15)
            return ioFail(errno, QStringLiteral("cannot create the symlink %1").arg(q(name)));
    }
    if (::renameat(dir, tmp.c_str(), dir, name.c_str()) != 0) {
        const int err = errno;
        ::unlinkat(dir, tmp.c_str(), 0);
        return ioFail(err, QStringLiteral("cannot replace %1").arg(q(name)));
    }
    return {};
}

Result<void> removeFile(int dir, const std::string &name)
{
    if (::unlinkat(dir, name.c_str(), 0) == 0 || errno == ENOENT)
        return {};
    if (errno == EISDIR || errno == EPERM) {
        struct stat st;
        if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
            return {}; // a folder appeared where the file was: not ours to remove
    }
    return ioFail(errno, QStringLiteral("cannot remove %1").arg(q(name)));
}

Result<void> removeTree(int dir, const std::string &name)
{
    Fd sub(::openat(dir, name.c_str(), kDirFlags));
    if (!sub.valid())
        return errno == ENOENT ? Result<void>() : ioFail(errno, QStringLiteral("cannot open %1").arg(q(name)));
    if (containsDotGit(sub.get()))
        return fail(ErrorCode::Io, QStringLiteral("the folder %1 is in the way and holds a git repository; "
                                                  "move it away and try again")
                                       .arg(q(name)));
    if (auto r = removeContents(sub.get()); !r)
        return r;
    if (::unlinkat(dir, name.c_str(), AT_REMOVEDIR) != 0)
        return ioFail(errno, QStringLiteral("cannot remove %1").arg(q(name)));
    return {};
}

bool removeEmptyDir(int dir, const std::string &name)
{
    return ::unlinkat(dir, name.c_str(), AT_REMOVEDIR) == 0;
}

bool statAt(int dir, const std::string &name, struct stat *st)
{
    return ::fstatat(dir, name.c_str(), st, AT_SYMLINK_NOFOLLOW) == 0;
}

} // namespace airlock::workspace::fs
