#include "shim.h"

#include "paths.h"
#include "protectednames.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <climits>

namespace airlock::shim {

using wire::FrameType;
using wire::ShimError;
using wire::Tag;

namespace {

constexpr std::size_t ReadChunk = 256u << 10;
constexpr std::size_t EntriesBatch = 256u << 10;

wire::FileType fileType(mode_t mode)
{
    if (S_ISREG(mode))
        return wire::FileType::Regular;
    if (S_ISDIR(mode))
        return wire::FileType::Directory;
    if (S_ISLNK(mode))
        return wire::FileType::Symlink;
    return wire::FileType::Other;
}

// Type, size, permissions, mtime and, for a symlink, its target: the fields of a stat answer
// and of each directory entry.
void describe(TlvBuilder &out, const struct stat &st, int dirFd, const char *name)
{
    out.u8(Tag::FileType, static_cast<std::uint8_t>(fileType(st.st_mode)))
        .u64(Tag::Size, static_cast<std::uint64_t>(st.st_size))
        .u32(Tag::Mode, static_cast<std::uint32_t>(st.st_mode & 07777))
        .i64(Tag::MtimeNs, static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec);
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        const ssize_t n = ::readlinkat(dirFd, name, target, sizeof target);
        if (n > 0)
            out.bytes(Tag::LinkTarget, std::string_view(target, static_cast<std::size_t>(n)));
    }
}

} // namespace

bool Shim::workspacePath(Client &client, std::uint32_t id, TlvReader &tlv, std::string &relative)
{
    const auto path = tlv.bytes(Tag::Path);
    if (!tlv.ok()) {
        failClient(client, ShimError::Malformed, tlv.error());
        return false;
    }
    if (!m_rootFd) {
        sendError(client, id, ShimError::InvalidRequest, "the shim was started without a workspace");
        return false;
    }
    if (!path || path->find('\0') != std::string_view::npos) {
        sendError(client, id, ShimError::InvalidRequest, "a file request needs a path without NUL bytes");
        return false;
    }
    // Relative paths are taken from the workspace root; absolute ones must name a place in it.
    std::string_view p = *path;
    if (!p.empty() && p.front() == '/') {
        const std::string_view root = m_options.workspace;
        if (p == root || root == "/") {
            p = p.substr(root == "/" ? 1 : p.size());
        } else if (p.starts_with(root) && p[root.size()] == '/') {
            p = p.substr(root.size() + 1);
        } else {
            sendErrno(client, id, EXDEV, std::string(*path));
            return false;
        }
    }
    relative.assign(p);
    return true;
}

bool Shim::openInWorkspace(Client &client, std::uint32_t id, const std::string &relative, int flags, Fd &fd,
                           struct stat *st)
{
    if (const int err = openBeneath(m_rootFd.get(), m_options.useOpenat2, relative, flags, 0, fd)) {
        sendErrno(client, id, err, relative);
        return false;
    }
    if (st && ::fstat(fd.get(), st) != 0) {
        sendErrno(client, id, errno, relative);
        return false;
    }
    return true;
}

int Shim::makeParents(std::string_view relative) const
{
    const std::vector<std::string> parts = splitPath(relative);
    std::string prefix;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        Fd parent;
        if (const int err = openBeneath(m_rootFd.get(), m_options.useOpenat2, prefix, O_PATH | O_DIRECTORY, 0, parent))
            return err;
        // mkdirat() on a single name in a directory already proven to be beneath the root.
        if (::mkdirat(parent.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST)
            return errno;
        if (!prefix.empty())
            prefix += '/';
        prefix += parts[i];
    }
    return 0;
}

void Shim::handleReadFile(Client &client, std::uint32_t id, TlvReader &tlv)
{
    const std::uint64_t offset = tlv.u64(Tag::Offset).value_or(0);
    const std::uint64_t length = tlv.u64(Tag::Length).value_or(UINT64_MAX);
    std::string relative;
    if (!workspacePath(client, id, tlv, relative))
        return;
    if (client.reads.size() >= MaxReadsPerClient) {
        sendError(client, id, ShimError::Busy, "too many file reads in flight on this connection");
        return;
    }
    Fd fd;
    struct stat st{};
    // O_NONBLOCK: opening a fifo must not stall the shim; only regular files are read anyway.
    if (!openInWorkspace(client, id, relative, O_RDONLY | O_NONBLOCK | O_NOCTTY, fd, &st))
        return;
    if (!S_ISREG(st.st_mode)) {
        sendError(client, id, ShimError::InvalidRequest, relative + " is not a regular file");
        return;
    }
    FileRead read;
    read.id = id;
    read.fd = std::move(fd);
    read.offset = offset;
    read.remaining = length;
    read.size = static_cast<std::uint64_t>(st.st_size);
    client.reads.push_back(std::move(read));
}

void Shim::pumpReads(Client &client)
{
    // Reads are served in order, a chunk at a time, and only while the client keeps up.
    while (!client.reads.empty() && !client.congested()) {
        FileRead &read = client.reads.front();
        ssize_t n = 0;
        if (read.remaining > 0) {
            const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(read.remaining, ReadChunk));
            n = ::pread(read.fd.get(), m_scratch.data(), want, static_cast<off_t>(read.offset));
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                sendErrno(client, read.id, errno, "read failed");
                client.reads.pop_front();
                continue;
            }
        }
        if (n > 0) {
            send(client, FrameType::FileData, read.id, std::string_view(m_scratch.data(), static_cast<std::size_t>(n)));
            read.offset += static_cast<std::uint64_t>(n);
            read.remaining -= static_cast<std::uint64_t>(n);
            read.sent += static_cast<std::uint64_t>(n);
            continue;
        }
        TlvBuilder done;
        done.u64(Tag::Size, read.size).u64(Tag::Length, read.sent);
        send(client, FrameType::Ok, read.id, done.data());
        client.reads.pop_front();
    }

}

void Shim::handleWriteFile(Client &client, std::uint32_t id, TlvReader &tlv)
{
    const std::string_view data = tlv.bytes(Tag::Data).value_or(std::string_view());
    const std::uint8_t mode = tlv.u8(Tag::WriteMode).value_or(0);
    const std::uint32_t permissions = tlv.u32(Tag::Mode).value_or(0644) & 0777;
    const bool parents = tlv.u8(Tag::MakeParents).value_or(0) != 0;
    std::string relative;
    if (!workspacePath(client, id, tlv, relative))
        return;
    // The host's tools run these; the protection layer refuses them too, this says why at once.
    static const protect::ProtectedNames protectedNames;
    if (const std::string pattern = protectedNames.match(relative); !pattern.empty()) {
        sendError(client, id, ShimError::PermissionDenied,
                  relative + " is protected (" + pattern + "): tools on the host run or load it");
        return;
    }
    int flags = O_WRONLY | O_CREAT | O_NONBLOCK | O_NOCTTY;
    switch (static_cast<wire::WriteMode>(mode)) {
    case wire::WriteMode::Truncate: break;
    case wire::WriteMode::Append: flags |= O_APPEND; break;
    case wire::WriteMode::CreateNew: flags |= O_EXCL; break;
    default:
        sendError(client, id, ShimError::InvalidRequest, "unknown write mode");
        return;
    }
    if (parents) {
        if (const int err = makeParents(relative)) {
            sendErrno(client, id, err, "cannot create the parents of " + relative);
            return;
        }
    }
    Fd fd;
    if (const int err = openBeneath(m_rootFd.get(), m_options.useOpenat2, relative, flags, permissions, fd)) {
        sendErrno(client, id, err, relative);
        return;
    }
    // Truncate only once it is known to be a regular file, never a device or fifo.
    struct stat st{};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        sendError(client, id, ShimError::InvalidRequest, relative + " is not a regular file");
        return;
    }
    if (static_cast<wire::WriteMode>(mode) == wire::WriteMode::Truncate && ::ftruncate(fd.get(), 0) != 0) {
        sendErrno(client, id, errno, relative);
        return;
    }
    std::size_t written = 0;
    while (written < data.size()) {
        const ssize_t n = ::write(fd.get(), data.data() + written, data.size() - written);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            sendErrno(client, id, n < 0 ? errno : EIO, relative);
            return;
        }
        written += static_cast<std::size_t>(n);
    }
    TlvBuilder done;
    done.u64(Tag::Length, written);
    send(client, FrameType::Ok, id, done.data());
}

void Shim::handleListDir(Client &client, std::uint32_t id, TlvReader &tlv)
{
    std::string relative;
    if (!workspacePath(client, id, tlv, relative))
        return;
    Fd fd;
    if (!openInWorkspace(client, id, relative, O_RDONLY | O_DIRECTORY, fd))
        return;
    DIR *dir = ::fdopendir(fd.get());
    if (!dir) {
        sendErrno(client, id, errno, relative);
        return;
    }
    fd.release(); // closedir() owns it now
    TlvBuilder batch;
    TlvBuilder entry;
    std::uint32_t count = 0;
    std::uint32_t flags = 0;
    while (const dirent *d = ::readdir(dir)) {
        const std::string_view name = d->d_name;
        if (name == "." || name == "..")
            continue;
        if (count >= wire::MaxListEntries) {
            flags |= wire::ListFlag::Truncated;
            break;
        }
        struct stat st{};
        if (::fstatat(::dirfd(dir), d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue; // removed since readdir saw it
        entry.clear();
        entry.bytes(Tag::EntryName, name);
        describe(entry, st, ::dirfd(dir), d->d_name);
        batch.bytes(Tag::Entry, entry.data());
        ++count;
        if (batch.size() >= EntriesBatch) {
            send(client, FrameType::DirEntries, id, batch.data());
            batch.clear();
        }
    }
    ::closedir(dir);
    if (batch.size() > 0)
        send(client, FrameType::DirEntries, id, batch.data());
    TlvBuilder done;
    done.u32(Tag::Count, count).u32(Tag::Flags, flags);
    send(client, FrameType::Ok, id, done.data());
}

void Shim::handleStat(Client &client, std::uint32_t id, TlvReader &tlv)
{
    const bool noFollow = tlv.u8(Tag::NoFollow).value_or(0) != 0;
    std::string relative;
    if (!workspacePath(client, id, tlv, relative))
        return;
    Fd fd;
    struct stat st{};
    if (!openInWorkspace(client, id, relative, O_PATH | (noFollow ? O_NOFOLLOW : 0), fd, &st))
        return;
    TlvBuilder done;
    describe(done, st, fd.get(), "");
    send(client, FrameType::Ok, id, done.data());
}

} // namespace airlock::shim
