// The file operations of airlock-protectfs: every path is resolved beneath an O_PATH descriptor of
// the workspace with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) for the parent and *at calls
// that never follow the last component, so no symlink in the workspace leads this host-side process
// anywhere else; every change to a protected name is refused with EPERM before it is made.
#include "protectfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace airlock::protectfs {

namespace {

State *state()
{
    return static_cast<State *>(fuse_get_context()->private_data);
}

class Fd
{
public:
    explicit Fd(int fd = -1) : m_fd(fd) {}
    ~Fd()
    {
        if (m_fd >= 0)
            ::close(m_fd);
    }
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
    int get() const { return m_fd; }

private:
    int m_fd;
};

// "/a/b/c" → "a/b/c"; the root is "".
std::string relativeOf(const char *path)
{
    std::string_view p(path ? path : "");
    while (!p.empty() && p.front() == '/')
        p.remove_prefix(1);
    return std::string(p);
}

// Opens the folder holding `relative` and gives its last component; for the root, the root itself
// and ".". Returns a descriptor or -errno.
int openParent(const std::string &relative, std::string &leaf)
{
    const State *s = state();
    const size_t slash = relative.rfind('/');
    if (relative.empty()) {
        leaf = ".";
        const int fd = ::fcntl(s->rootFd, F_DUPFD_CLOEXEC, 0);
        return fd < 0 ? -errno : fd;
    }
    leaf = slash == std::string::npos ? relative : relative.substr(slash + 1);
    if (leaf == "." || leaf == "..")
        return -EINVAL;
    const std::string dir = slash == std::string::npos ? std::string(".") : relative.substr(0, slash);
    open_how how{};
    how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    for (;;) {
        const long fd = ::syscall(SYS_openat2, s->rootFd, dir.c_str(), &how, sizeof how);
        if (fd >= 0)
            return int(fd);
        if (errno != EAGAIN && errno != EINTR)
            return errno == ELOOP || errno == EXDEV ? -EACCES : -errno;
    }
}

bool isProtected(const std::string &relative)
{
    return state()->names.covers(relative);
}

// The caller owns what it creates, as on any file system (this process may run as root).
void giveToCaller(int dirFd, const std::string &leaf)
{
    if (::geteuid() != 0)
        return;
    const fuse_context *c = fuse_get_context();
    gid_t gid = c->gid;
    struct stat dir{};
    if (::fstat(dirFd, &dir) == 0 && (dir.st_mode & S_ISGID))
        gid = dir.st_gid;
    (void)::fchownat(dirFd, leaf.c_str(), c->uid, gid, AT_SYMLINK_NOFOLLOW);
}

bool writes(int flags)
{
    return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_TRUNC | O_CREAT)) != 0;
}

// True when anything beneath the folder `relative`, under its old or its new name, is protected.
// A tree too big to look through is answered with EXDEV, so mv falls back to copying file by file.
int treeCheck(int dirFd, const std::string &oldBase, const std::string &newBase, long &budget)
{
    const int fd = ::openat(dirFd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = ::fdopendir(fd);
    if (!d) {
        ::close(fd);
        return -errno;
    }
    int result = 0;
    while (dirent *e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name == "." || name == "..")
            continue;
        if (--budget < 0) {
            result = -EXDEV;
            break;
        }
        if (isProtected(oldBase + '/' + name) || isProtected(newBase + '/' + name)) {
            result = -EPERM;
            break;
        }
        if (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN) {
            const int sub = ::openat(::dirfd(d), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0)
                continue; // not a folder after all
            result = treeCheck(sub, oldBase + '/' + name, newBase + '/' + name, budget);
            ::close(sub);
            if (result != 0)
                break;
        }
    }
    ::closedir(d);
    return result;
}

int renameCheck(int fromDir, const std::string &fromLeaf, const std::string &from, const std::string &to)
{
    struct stat st{};
    if (::fstatat(fromDir, fromLeaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return 0;
    const int dir = ::openat(fromDir, fromLeaf.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir < 0)
        return -errno;
    long budget = 100000;
    const int r = treeCheck(dir, from, to, budget);
    ::close(dir);
    return r;
}

#define PARENT(rel, leaf, fdName)                                                                                      \
    std::string leaf;                                                                                                  \
    const int fdName##Raw = openParent(rel, leaf);                                                                     \
    if (fdName##Raw < 0)                                                                                               \
        return fdName##Raw;                                                                                            \
    Fd fdName(fdName##Raw)

int opGetattr(const char *path, struct stat *st, fuse_file_info *fi)
{
    if (fi)
        return ::fstat(int(fi->fh), st) == 0 ? 0 : -errno;
    const std::string rel = relativeOf(path);
    if (rel.empty())
        return ::fstat(state()->rootFd, st) == 0 ? 0 : -errno;
    PARENT(rel, leaf, dir);
    return ::fstatat(dir.get(), leaf.c_str(), st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

int opReadlink(const char *path, char *buf, size_t size)
{
    const std::string rel = relativeOf(path);
    PARENT(rel, leaf, dir);
    const ssize_t n = ::readlinkat(dir.get(), leaf.c_str(), buf, size - 1);
    if (n < 0)
        return -errno;
    buf[n] = '\0';
    return 0;
}

int opMknod(const char *path, mode_t mode, dev_t rdev)
{
    const std::string rel = relativeOf(path);
    if (isProtected(rel))
        return -EPERM;
    // Devices never: this process may be root, the sandbox is not.
    if (!S_ISREG(mode) && !S_ISFIFO(mode) && !S_ISSOCK(mode))
        return -EPERM;
    PARENT(rel, leaf, dir);
    if (::mknodat(dir.get(), leaf.c_str(), mode, S_ISREG(mode) ? 0 : rdev) != 0)
        return -errno;
    giveToCaller(dir.get(), leaf);
    return 0;
}

int opMkdir(const char *path, mode_t mode)
{
    const std::string rel = relativeOf(path);
    if (isProtected(rel))
        return -EPERM;
    PARENT(rel, leaf, dir);
    if (::mkdirat(dir.get(), leaf.c_str(), mode) != 0)
        return -errno;
    giveToCaller(dir.get(), leaf);
    return 0;
}

int opUnlink(const char *path)
{
    const std::string rel = relativeOf(path);
    if (isProtected(rel))
        return -EPERM;
    PARENT(rel, leaf, dir);
    return ::unlinkat(dir.get(), leaf.c_str(), 0) == 0 ? 0 : -errno;
}

int opRmdir(const char *path)
{
    const std::string rel = relativeOf(path);
    if (isProtected(rel))
        return -EPERM;
    PARENT(rel, leaf, dir);
    return ::unlinkat(dir.get(), leaf.c_str(), AT_REMOVEDIR) == 0 ? 0 : -errno;
}

int opSymlink(const char *target, const char *path)
{
    const std::string rel = relativeOf(path);
    if (isProtected(rel))
        return -EPERM;
    PARENT(rel, leaf, dir);
    if (::symlinkat(target, dir.get(), leaf.c_str()) != 0)
        return -errno;
    giveToCaller(dir.get(), leaf);
    return 0;
}

int opRename(const char *from, const char *to, unsigned int flags)
{
    const std::string relFrom = relativeOf(from), relTo = relativeOf(to);
    if (isProtected(relFrom) || isProtected(relTo))
        return -EPERM;
    PARENT(relFrom, fromLeaf, fromDir);
    PARENT(relTo, toLeaf, toDir);
    if (int r = renameCheck(fromDir.get(), fromLeaf, relFrom, relTo); r != 0)
        return r;
    if (flags & RENAME_EXCHANGE) {
        if (int r = renameCheck(toDir.get(), toLeaf, relTo, relFrom); r != 0)
            return r;
    }
    return ::renameat2(fromDir.get(), fromLeaf.c_str(), toDir.get(), toLeaf.c_str(), flags) == 0 ? 0 : -errno;
}

int opLink(const char *from, const char *to)
{
    const std::string relFrom = relativeOf(from), relTo = relativeOf(to);
    // A second name for a protected file would be a way to write it.
    if (isProtected(relFrom) || isProtected(relTo))
        return -EPERM;
    PARENT(relFrom, fromLeaf, fromDir);
    PARENT(relTo, toLeaf, toDir);
    return ::linkat(fromDir.get(), fromLeaf.c_str(), toDir.get(), toLeaf.c_str(), 0) == 0 ? 0 : -errno;
}

int opChmod(const char *path, mode_t mode, fuse_file_info *fi)
{
    const std::string rel = relativeOf(path ? path : "");
    if (path && isProtected(rel))
        return -EPERM;
    if (fi)
        return ::fchmod(int(fi->fh), mode) == 0 ? 0 : -errno;
    PARENT(rel, leaf, dir);
    struct stat st{};
    if (::fstatat(dir.get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        return -errno;
    if (S_ISLNK(st.st_mode))
        return -EOPNOTSUPP;
    // Re-checked through a descriptor of the very file, so a swap for a symlink in between is harmless.
    Fd file(::openat(dir.get(), leaf.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (file.get() < 0)
        return -errno;
    if (::fstat(file.get(), &st) != 0 || S_ISLNK(st.st_mode))
        return -EOPNOTSUPP;
    const std::string proc = "/proc/self/fd/" + std::to_string(file.get());
    return ::chmod(proc.c_str(), mode) == 0 ? 0 : -errno;
}

int opChown(const char *path, uid_t uid, gid_t gid, fuse_file_info *fi)
{
    const std::string rel = relativeOf(path ? path : "");
    if (path && isProtected(rel))
        return -EPERM;
    if (fi)
        return ::fchown(int(fi->fh), uid, gid) == 0 ? 0 : -errno;
    PARENT(rel, leaf, dir);
    return ::fchownat(dir.get(), leaf.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

int opTruncate(const char *path, off_t size, fuse_file_info *fi)
{
    const std::string rel = relativeOf(path ? path : "");
    if (path && isProtected(rel))
        return -EPERM;
    if (fi)
        return ::ftruncate(int(fi->fh), size) == 0 ? 0 : -errno;
    PARENT(rel, leaf, dir);
    Fd file(::openat(dir.get(), leaf.c_str(), O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (file.get() < 0)
        return -errno;
    return ::ftruncate(file.get(), size) == 0 ? 0 : -errno;
}

int opUtimens(const char *path, const timespec tv[2], fuse_file_info *fi)
{
    const std::string rel = relativeOf(path ? path : "");
    if (path && isProtected(rel))
        return -EPERM;
    if (fi)
        return ::futimens(int(fi->fh), tv) == 0 ? 0 : -errno;
    PARENT(rel, leaf, dir);
    return ::utimensat(dir.get(), leaf.c_str(), tv, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

int opOpen(const char *path, fuse_file_info *fi)
{
    const std::string rel = relativeOf(path);
    if (writes(fi->flags) && isProtected(rel))
        return -EPERM;
    PARENT(rel, leaf, dir);
    const int fd = ::openat(dir.get(), leaf.c_str(), (fi->flags & ~O_CREAT) | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    fi->fh = std::uint64_t(fd);
    return 0;
}

int opCreate(const char *path, mode_t mode, fuse_file_info *fi)
{
    const std::string rel = relativeOf(path);
    if (isProtected(rel))
        return -EPERM;
    PARENT(rel, leaf, dir);
    const int fd = ::openat(dir.get(), leaf.c_str(), fi->flags | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    giveToCaller(dir.get(), leaf);
    fi->fh = std::uint64_t(fd);
    return 0;
}

int opRead(const char *, char *buf, size_t size, off_t offset, fuse_file_info *fi)
{
    const ssize_t n = ::pread(int(fi->fh), buf, size, offset);
    return n < 0 ? -errno : int(n);
}

int opWrite(const char *, const char *buf, size_t size, off_t offset, fuse_file_info *fi)
{
    // Descriptors are opened for writing only after the name check, so the descriptor is the permission.
    const ssize_t n = (fi->flags & O_APPEND) ? ::write(int(fi->fh), buf, size) : ::pwrite(int(fi->fh), buf, size, offset);
    return n < 0 ? -errno : int(n);
}

int opStatfs(const char *, struct statvfs *st)
{
    return ::fstatvfs(state()->rootFd, st) == 0 ? 0 : -errno;
}

int opFlush(const char *, fuse_file_info *fi)
{
    // close() of a duplicate reports delayed write errors (NFS and the like) without closing ours.
    const int dup = ::dup(int(fi->fh));
    if (dup < 0)
        return -errno;
    return ::close(dup) == 0 ? 0 : -errno;
}

int opRelease(const char *, fuse_file_info *fi)
{
    ::close(int(fi->fh));
    return 0;
}

int opFsync(const char *, int datasync, fuse_file_info *fi)
{
    const int r = datasync ? ::fdatasync(int(fi->fh)) : ::fsync(int(fi->fh));
    return r == 0 ? 0 : -errno;
}

int opOpendir(const char *path, fuse_file_info *fi)
{
    const std::string rel = relativeOf(path);
    int fd;
    if (rel.empty()) {
        fd = ::openat(state()->rootFd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } else {
        PARENT(rel, leaf, dir);
        fd = ::openat(dir.get(), leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0)
        return -errno;
    DIR *d = ::fdopendir(fd);
    if (!d) {
        const int err = errno;
        ::close(fd);
        return -err;
    }
    fi->fh = reinterpret_cast<std::uintptr_t>(d);
    return 0;
}

int opReaddir(const char *, void *buf, fuse_fill_dir_t fill, off_t offset, fuse_file_info *fi, fuse_readdir_flags)
{
    DIR *d = reinterpret_cast<DIR *>(fi->fh);
    if (offset == 0)
        ::rewinddir(d);
    else
        ::seekdir(d, offset);
    for (;;) {
        errno = 0;
        dirent *e = ::readdir(d);
        if (!e)
            return errno ? -errno : 0;
        struct stat st{};
        st.st_ino = e->d_ino;
        st.st_mode = DTTOIF(e->d_type);
        if (fill(buf, e->d_name, &st, ::telldir(d), fuse_fill_dir_flags(0)))
            return 0;
    }
}

int opReleasedir(const char *, fuse_file_info *fi)
{
    ::closedir(reinterpret_cast<DIR *>(fi->fh));
    return 0;
}

int opFsyncdir(const char *, int, fuse_file_info *fi)
{
    return ::fsync(::dirfd(reinterpret_cast<DIR *>(fi->fh))) == 0 ? 0 : -errno;
}

int opAccess(const char *path, int)
{
    // Permissions are the kernel's (default_permissions); this only says whether the entry is there.
    struct stat st{};
    return opGetattr(path, &st, nullptr);
}

int opFallocate(const char *, int mode, off_t offset, off_t length, fuse_file_info *fi)
{
    return ::fallocate(int(fi->fh), mode, offset, length) == 0 ? 0 : -errno;
}

off_t opLseek(const char *, off_t off, int whence, fuse_file_info *fi)
{
    const off_t r = ::lseek(int(fi->fh), off, whence);
    return r < 0 ? -errno : r;
}

int opFlock(const char *, fuse_file_info *fi, int op)
{
    return ::flock(int(fi->fh), op) == 0 ? 0 : -errno;
}

void *opInit(fuse_conn_info *, fuse_config *cfg)
{
    cfg->use_ino = 1;         // hard links show one inode, as they are
    cfg->nullpath_ok = 1;     // operations on open files use the descriptor
    cfg->hard_remove = 1;     // no .fuse_hidden files: descriptors keep unlinked files alive
    cfg->entry_timeout = 1.0;
    cfg->attr_timeout = 1.0;
    cfg->negative_timeout = 0; // a name made on the host shows at once
    return fuse_get_context()->private_data;
}

} // namespace

fuse_operations operations()
{
    fuse_operations ops{};
    ops.init = opInit;
    ops.getattr = opGetattr;
    ops.readlink = opReadlink;
    ops.mknod = opMknod;
    ops.mkdir = opMkdir;
    ops.unlink = opUnlink;
    ops.rmdir = opRmdir;
    ops.symlink = opSymlink;
    ops.rename = opRename;
    ops.link = opLink;
    ops.chmod = opChmod;
    ops.chown = opChown;
    ops.truncate = opTruncate;
    ops.utimens = opUtimens;
    ops.open = opOpen;
    ops.create = opCreate;
    ops.read = opRead;
    ops.write = opWrite;
    ops.statfs = opStatfs;
    ops.flush = opFlush;
    ops.release = opRelease;
    ops.fsync = opFsync;
    ops.opendir = opOpendir;
    ops.readdir = opReaddir;
    ops.releasedir = opReleasedir;
    ops.fsyncdir = opFsyncdir;
    ops.access = opAccess;
    ops.fallocate = opFallocate;
    ops.lseek = opLseek;
    ops.flock = opFlock;
    // No xattr operations: as root this process could set security.capability for the sandbox.
    return ops;
}

} // namespace airlock::protectfs
