#include "paths.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <cerrno>
#include <climits>
#include <deque>

namespace airlock::shim {

namespace {

constexpr int MaxSymlinks = 40; // as the kernel's own limit

int viaOpenat2(int rootFd, std::string_view relative, int flags, unsigned mode, Fd &out)
{
    const std::string path(relative);
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
    how.mode = (flags & O_CREAT) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    // EAGAIN: a concurrent rename raced the lookup and the kernel could not prove it safe.
    for (int attempt = 0; attempt < 16; ++attempt) {
        const long fd = ::syscall(SYS_openat2, rootFd, path.c_str(), &how, sizeof how);
        if (fd >= 0) {
            out.reset(static_cast<int>(fd));
            return 0;
        }
        if (errno != EAGAIN)
            return errno;
    }
    return EAGAIN;
}

int readLinkAt(int fd, std::string &target)
{
    char buffer[PATH_MAX];
    const ssize_t n = ::readlinkat(fd, "", buffer, sizeof buffer);
    if (n < 0)
        return errno;
    if (static_cast<std::size_t>(n) >= sizeof buffer)
        return ENAMETOOLONG;
    target.assign(buffer, static_cast<std::size_t>(n));
    return 0;
}

// Resolves like RESOLVE_BENEATH without the kernel's help. ".." is applied to our own stack of
// directory fds, never looked up, so no component can climb above the root; every lookup uses
// O_NOFOLLOW, and a symlink is expanded here only into the components still to walk.
int viaWalk(int rootFd, std::string_view relative, int flags, unsigned mode, Fd &out)
{
    std::deque<std::string> todo;
    for (std::string &c : splitPath(relative))
        todo.push_back(std::move(c));
    std::vector<Fd> dirs; // below the root; empty means at the root
    int links = 0;
    const bool followLast = !(flags & O_NOFOLLOW);
    auto current = [&] { return dirs.empty() ? rootFd : dirs.back().get(); };

    while (!todo.empty()) {
        const std::string name = std::move(todo.front());
        todo.pop_front();
        if (name == ".")
            continue;
        if (name == "..") {
            if (dirs.empty())
                return EXDEV;
            dirs.pop_back();
            continue;
        }
        const bool last = todo.empty();
        Fd probe(::openat(current(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!probe) {
            const int err = errno;
            if (last && err == ENOENT && (flags & O_CREAT)) {
                // O_NOFOLLOW: a symlink planted here since the probe fails instead of being followed.
                const int fd = ::openat(current(), name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
                if (fd < 0)
                    return errno;
                out.reset(fd);
                return 0;
            }
            return err;
        }
        struct stat st{};
        if (::fstat(probe.get(), &st) != 0)
            return errno;
        if (S_ISLNK(st.st_mode) && (!last || followLast)) {
            if (++links > MaxSymlinks)
                return ELOOP;
            std::string target;
            if (const int err = readLinkAt(probe.get(), target))
                return err;
            if (target.empty())
                return ENOENT;
            if (target.front() == '/')
                return EXDEV;
            std::vector<std::string> parts = splitPath(target);
            todo.insert(todo.begin(), parts.begin(), parts.end());
            continue;
        }
        if (!last) {
            if (!S_ISDIR(st.st_mode))
                return ENOTDIR;
            dirs.push_back(std::move(probe));
            continue;
        }
        if (flags & O_PATH) {
            if ((flags & O_DIRECTORY) && !S_ISDIR(st.st_mode))
                return ENOTDIR;
            out = std::move(probe);
            return 0;
        }
        // A symlink swapped in since the probe makes this fail with ELOOP rather than escape.
        const int fd = ::openat(current(), name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0)
            return errno;
        out.reset(fd);
        return 0;
    }
    // The path ends at a directory already held: the root itself, or after a "..".
    const int fd = ::openat(current(), ".", (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC);
    if (fd < 0)
        return errno;
    out.reset(fd);
    return 0;
}

} // namespace

std::vector<std::string> splitPath(std::string_view path)
{
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string_view::npos)
            end = path.size();
        if (end > start)
            parts.emplace_back(path.substr(start, end - start));
        start = end + 1;
    }
    return parts;
}

bool probeOpenat2(int rootFd)
{
    Fd fd;
    return viaOpenat2(rootFd, ".", O_PATH | O_DIRECTORY, 0, fd) == 0;
}

int openBeneath(int rootFd, bool useOpenat2, std::string_view relative, int flags, unsigned mode, Fd &out)
{
    if (relative.empty())
        relative = ".";
    return useOpenat2 ? viaOpenat2(rootFd, relative, flags, mode, out)
                      : viaWalk(rootFd, relative, flags, mode, out);
}

} // namespace airlock::shim
