#include "docker/workspacecopy.h"

#include "docker/tarreader.h"
#include "docker/tarwriter.h"
#include "sandbox/limiter.h"
#include "sandbox/protectednames.h"

#include <QFile>
#include <QMap>
#include <QSet>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>

namespace airlock::docker {

namespace {

QString errnoText(int err)
{
    return QString::fromLocal8Bit(std::strerror(err));
}

struct Fd
{
    int fd = -1;
    explicit Fd(int f = -1) : fd(f) {}
    Fd(Fd &&o) noexcept : fd(std::exchange(o.fd, -1)) {}
    Fd &operator=(Fd &&o) noexcept
    {
        if (fd >= 0)
            ::close(fd);
        fd = std::exchange(o.fd, -1);
        return *this;
    }
    ~Fd()
    {
        if (fd >= 0)
            ::close(fd);
    }
    explicit operator bool() const { return fd >= 0; }
};

// The names in a folder opened as `dirFd`, without "." and "..".
QList<QByteArray> namesIn(int dirFd)
{
    QList<QByteArray> names;
    const int dup = ::fcntl(dirFd, F_DUPFD_CLOEXEC, 0);
    DIR *dir = dup >= 0 ? ::fdopendir(dup) : nullptr;
    if (!dir) {
        if (dup >= 0)
            ::close(dup);
        return names;
    }
    while (dirent *e = ::readdir(dir)) {
        if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
            names << QByteArray(e->d_name);
    }
    ::closedir(dir);
    return names;
}

Result<void> readWhole(int fd, qint64 size, QByteArray &out)
{
    out.resize(qsizetype(size));
    qint64 got = 0;
    while (got < size) {
        const ssize_t n = ::read(fd, out.data() + got, size_t(size - got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return fail(ErrorCode::Io, n < 0 ? errnoText(errno) : QStringLiteral("the file shrank while it was read"));
        got += n;
    }
    return {};
}

Result<void> packInto(TarWriter &tar, int dirFd, const QString &prefix, const PackOptions &o, qint64 &total)
{
    for (const QByteArray &name : namesIn(dirFd)) {
        const QString path = prefix.isEmpty() ? QString::fromUtf8(name) : prefix + u'/' + QString::fromUtf8(name);
        struct stat st{};
        if (::fstatat(dirFd, name.constData(), &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue; // gone meanwhile
        tar.setTime(st.st_mtim.tv_sec);
        const quint32 mode = st.st_mode & 0777;
        total += 512;
        if (S_ISDIR(st.st_mode)) {
            if (auto added = tar.addDirectory(path, mode, o.uid, o.gid); !added)
                return added;
            Fd child(::openat(dirFd, name.constData(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!child)
                return fail(ErrorCode::Io, QStringLiteral("cannot open %1: %2").arg(path, errnoText(errno)));
            if (auto inner = packInto(tar, child.fd, path, o, total); !inner)
                return inner;
        } else if (S_ISREG(st.st_mode)) {
            total += st.st_size;
            if (total > o.maxBytes)
                return fail(ErrorCode::InvalidArgument, QStringLiteral("the workspace is larger than %1 and cannot be copied "
                                                                       "to the Docker daemon").arg(sandbox::formatBytes(o.maxBytes)));
            Fd file(::openat(dirFd, name.constData(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
            QByteArray data;
            if (!file || !readWhole(file.fd, st.st_size, data))
                return fail(ErrorCode::Io, QStringLiteral("cannot read %1").arg(path));
            if (auto added = tar.addFile(path, data, mode, o.uid, o.gid); !added)
                return added;
        } else if (S_ISLNK(st.st_mode)) {
            QByteArray target(4096, '\0');
            const ssize_t n = ::readlinkat(dirFd, name.constData(), target.data(), size_t(target.size()));
            if (n < 0)
                continue;
            target.truncate(n);
            if (auto added = tar.addSymlink(path, QString::fromUtf8(target), o.uid, o.gid); !added)
                return added;
        }
        // sockets, fifos and devices stay on this machine
    }
    return {};
}

} // namespace

Result<QByteArray> packFolder(const QString &dir, const PackOptions &options)
{
    Fd root(::open(QFile::encodeName(dir).constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root)
        return fail(ErrorCode::NotFound, QStringLiteral("cannot open the workspace %1: %2").arg(dir, errnoText(errno)));
    TarWriter tar;
    qint64 total = 0;
    if (!options.top.isEmpty()) {
        struct stat st{};
        ::fstat(root.fd, &st);
        tar.setTime(st.st_mtim.tv_sec);
        if (auto added = tar.addDirectory(options.top, st.st_mode & 0777, options.uid, options.gid); !added)
            return std::unexpected(added.error());
    }
    if (auto packed = packInto(tar, root.fd, options.top, options, total); !packed)
        return std::unexpected(packed.error());
    return tar.finish();
}

namespace {

class Syncer
{
public:
    Syncer(int rootFd, const QStringList &protectedNames) : m_root(rootFd)
    {
        std::vector<std::string> extra;
        for (const QString &name : protectedNames)
            extra.push_back(name.toStdString());
        m_protected = protect::ProtectedNames(extra);
        struct stat st{};
        if (::geteuid() == 0 && ::fstat(rootFd, &st) == 0) {
            m_uid = st.st_uid;
            m_gid = st.st_gid;
            m_chown = true;
        }
    }

    bool isProtected(const QString &relative) const { return m_protected.covers(relative.toStdString()); }

    // Whether the host already has this entry as the archive has it (for protected names: only a
    // difference is worth telling).
    bool sameAsHost(const QString &relative, const TarEntry &entry)
    {
        struct stat st{};
        if (::fstatat(m_root, QFile::encodeName(relative).constData(), &st, AT_SYMLINK_NOFOLLOW) != 0)
            return false;
        if (entry.type == TarEntry::Type::Directory)
            return S_ISDIR(st.st_mode);
        if (entry.type == TarEntry::Type::Symlink)
            return S_ISLNK(st.st_mode);
        if (entry.type != TarEntry::Type::File || !S_ISREG(st.st_mode) || st.st_size != entry.data.size())
            return false;
        Fd file(::openat(m_root, QFile::encodeName(relative).constData(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        QByteArray current;
        return file && readWhole(file.fd, st.st_size, current) && current == entry.data;
    }

    // Removes what the sandbox no longer has, depth first, never entering a protected name.
    void prune(int dirFd, const QString &prefix, const QMap<QString, TarEntry> &wanted, SyncReport &report)
    {
        for (const QByteArray &name : namesIn(dirFd)) {
            const QString path = prefix.isEmpty() ? QString::fromUtf8(name) : prefix + u'/' + QString::fromUtf8(name);
            if (isProtected(path))
                continue;
            struct stat st{};
            if (::fstatat(dirFd, name.constData(), &st, AT_SYMLINK_NOFOLLOW) != 0)
                continue;
            const auto it = wanted.constFind(path);
            const bool isDir = S_ISDIR(st.st_mode);
            if (it != wanted.constEnd() && isDir == (it->type == TarEntry::Type::Directory)) {
                if (isDir) {
                    Fd child(::openat(dirFd, name.constData(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
                    if (child)
                        prune(child.fd, path, wanted, report);
                }
                continue;
            }
            if (removeEntry(dirFd, name, path, report))
                ++report.removed;
        }
    }

    // Opens the folder `relative` beneath the root, making missing folders; never through a link.
    Fd openFolder(const QString &relative, QString *why)
    {
        Fd current(::fcntl(m_root, F_DUPFD_CLOEXEC, 0));
        if (relative.isEmpty())
            return current;
        for (const QString &part : relative.split(u'/')) {
            const QByteArray name = QFile::encodeName(part);
            int next = ::openat(current.fd, name.constData(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (next < 0 && errno == ENOENT && ::mkdirat(current.fd, name.constData(), 0755) == 0) {
                owned(current.fd, name);
                next = ::openat(current.fd, name.constData(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            }
            if (next < 0) {
                *why = QStringLiteral("%1 is not a folder here (%2)").arg(part, errnoText(errno));
                return Fd();
            }
            current = Fd(next);
        }
        return current;
    }

    void apply(const QString &relative, const TarEntry &entry, SyncReport &report)
    {
        const qsizetype slash = relative.lastIndexOf(u'/');
        QString why;
        Fd parent = openFolder(slash < 0 ? QString() : relative.left(slash), &why);
        if (!parent) {
            report.refused << QStringLiteral("%1: %2").arg(relative, why);
            return;
        }
        const QByteArray name = QFile::encodeName(slash < 0 ? relative : relative.mid(slash + 1));
        struct stat st{};
        const bool exists = ::fstatat(parent.fd, name.constData(), &st, AT_SYMLINK_NOFOLLOW) == 0;
        switch (entry.type) {
        case TarEntry::Type::Directory: {
            if (!exists && ::mkdirat(parent.fd, name.constData(), 0700) != 0) {
                report.refused << QStringLiteral("%1: %2").arg(relative, errnoText(errno));
                return;
            }
            Fd dir(::openat(parent.fd, name.constData(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!dir) {
                report.refused << QStringLiteral("%1: %2").arg(relative, errnoText(errno));
                return;
            }
            if (!exists || (st.st_mode & 0777) != (entry.mode & 0777)) {
                ::fchmod(dir.fd, entry.mode & 0777);
                if (!exists && m_chown)
                    (void)::fchown(dir.fd, m_uid, m_gid);
                ++report.written;
            } else {
                ++report.unchanged;
            }
            return;
        }
        case TarEntry::Type::File:
            writeFile(parent.fd, name, relative, entry, exists ? &st : nullptr, report);
            return;
        case TarEntry::Type::Symlink: {
            if (exists && S_ISLNK(st.st_mode)) {
                QByteArray target(4096, '\0');
                const ssize_t n = ::readlinkat(parent.fd, name.constData(), target.data(), size_t(target.size()));
                if (n >= 0 && target.left(n) == entry.linkTarget.toUtf8()) {
                    ++report.unchanged;
                    return;
                }
            }
            if (exists)
                ::unlinkat(parent.fd, name.constData(), 0);
            if (::symlinkat(entry.linkTarget.toUtf8().constData(), parent.fd, name.constData()) != 0) {
                report.refused << QStringLiteral("%1: %2").arg(relative, errnoText(errno));
                return;
            }
            if (m_chown)
                (void)::fchownat(parent.fd, name.constData(), m_uid, m_gid, AT_SYMLINK_NOFOLLOW);
            ++report.written;
            return;
        }
        case TarEntry::Type::HardLink:
        case TarEntry::Type::Other:
            report.refused << QStringLiteral("%1: not a file, folder or link").arg(relative);
            return;
        }
    }

private:
    void owned(int dirFd, const QByteArray &name) const
    {
        if (m_chown)
            (void)::fchownat(dirFd, name.constData(), m_uid, m_gid, AT_SYMLINK_NOFOLLOW);
    }

    bool removeEntry(int dirFd, const QByteArray &name, const QString &path, SyncReport &report)
    {
        if (::unlinkat(dirFd, name.constData(), 0) == 0)
            return true;
        if (errno != EISDIR && errno != EPERM)
            return false;
        Fd child(::openat(dirFd, name.constData(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!child)
            return false;
        for (const QByteArray &inner : namesIn(child.fd)) {
            const QString innerPath = path + u'/' + QString::fromUtf8(inner);
            if (isProtected(innerPath)) {
                report.kept << innerPath; // the folder stays for it
                continue;
            }
            removeEntry(child.fd, inner, innerPath, report);
        }
        return ::unlinkat(dirFd, name.constData(), AT_REMOVEDIR) == 0;
    }

    void writeFile(int parentFd, const QByteArray &name, const QString &relative, const TarEntry &entry,
                   const struct stat *existing, SyncReport &report)
    {
        const quint32 mode = entry.mode & 0777; // never set-id, never sticky
        if (existing && S_ISREG(existing->st_mode) && existing->st_size == entry.data.size()) {
            Fd old(::openat(parentFd, name.constData(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
            QByteArray current;
            if (old && readWhole(old.fd, existing->st_size, current) && current == entry.data) {
                if ((existing->st_mode & 0777) != mode)
                    ::fchmod(old.fd, mode);
                ++report.unchanged;
                return;
            }
        }
        const QByteArray temporary = ".airlock-sync-" + name.left(200);
        ::unlinkat(parentFd, temporary.constData(), 0);
        Fd out(::openat(parentFd, temporary.constData(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!out) {
            report.refused << QStringLiteral("%1: %2").arg(relative, errnoText(errno));
            return;
        }
        qsizetype done = 0;
        while (done < entry.data.size()) {
            const ssize_t n = ::write(out.fd, entry.data.data() + done, size_t(entry.data.size() - done));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                report.refused << QStringLiteral("%1: %2").arg(relative, errnoText(errno));
                ::unlinkat(parentFd, temporary.constData(), 0);
                return;
            }
            done += n;
        }
        ::fchmod(out.fd, mode);
        if (m_chown)
            (void)::fchown(out.fd, m_uid, m_gid);
        const timespec times[2] = {{entry.mtime, 0}, {entry.mtime, 0}};
        ::futimens(out.fd, times);
        if (existing && S_ISDIR(existing->st_mode))
            removeEntry(parentFd, name, relative, report);
        if (::renameat(parentFd, temporary.constData(), parentFd, name.constData()) != 0) {
            report.refused << QStringLiteral("%1: %2").arg(relative, errnoText(errno));
            ::unlinkat(parentFd, temporary.constData(), 0);
            return;
        }
        ++report.written;
    }

    int m_root;
    protect::ProtectedNames m_protected;
    bool m_chown = false;
    uid_t m_uid = 0;
    gid_t m_gid = 0;
};

// The archive's entries by their path beneath `top`, each checked; refusals go to the report.
Result<QMap<QString, TarEntry>> wantedEntries(QByteArrayView archive, const QString &top, SyncReport &report)
{
    QMap<QString, TarEntry> wanted;
    QSet<QString> links;
    TarReader reader(archive);
    for (;;) {
        auto next = reader.next();
        if (!next)
            return std::unexpected(next.error());
        if (!*next)
            break;
        TarEntry entry = **next;
        if (entry.path == top)
            continue;
        if (!entry.path.startsWith(top + u'/')) {
            report.refused << QStringLiteral("%1: outside the workspace").arg(entry.path);
            continue;
        }
        const QString relative = entry.path.mid(top.size() + 1);
        const QStringList parts = relative.split(u'/');
        const bool badName = std::any_of(parts.begin(), parts.end(), [](const QString &p) {
            return p.isEmpty() || p == u"." || p == u".." || p.startsWith(QLatin1String(".airlock-sync-"));
        });
        if (badName) {
            report.refused << QStringLiteral("%1: not a plain path").arg(entry.path);
            continue;
        }
        bool underLink = false;
        for (qsizetype i = 1; i < parts.size() && !underLink; ++i)
            underLink = links.contains(parts.first(i).join(u'/'));
        if (underLink) {
            report.refused << QStringLiteral("%1: beneath a symbolic link").arg(relative);
            continue;
        }
        if (entry.type == TarEntry::Type::HardLink) {
            // Docker packs a file's second name as a link to its first: a copy of it, here.
            const QString target = entry.linkTarget.startsWith(top + u'/') ? entry.linkTarget.mid(top.size() + 1) : QString();
            const auto first = wanted.constFind(target);
            if (first == wanted.constEnd() || first->type != TarEntry::Type::File) {
                report.refused << QStringLiteral("%1: a hard link to something else than a file of the workspace").arg(relative);
                continue;
            }
            entry.type = TarEntry::Type::File;
            entry.data = first->data;
            entry.mode = first->mode;
        }
        if (entry.type == TarEntry::Type::Symlink)
            links.insert(relative);
        wanted.insert(relative, entry);
    }
    return wanted;
}

} // namespace

Result<SyncReport> syncFromArchive(QByteArrayView archive, const QString &top, const QString &dir,
                                   const QStringList &protectedNames)
{
    SyncReport report;
    auto wanted = wantedEntries(archive, top, report);
    if (!wanted)
        return std::unexpected(wanted.error());
    Fd root(::open(QFile::encodeName(dir).constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root)
        return fail(ErrorCode::NotFound, QStringLiteral("cannot open the workspace %1: %2").arg(dir, errnoText(errno)));
    Syncer syncer(root.fd, protectedNames);
    syncer.prune(root.fd, {}, *wanted, report);
    for (auto it = wanted->constBegin(); it != wanted->constEnd(); ++it) {
        if (syncer.isProtected(it.key())) {
            if (!syncer.sameAsHost(it.key(), it.value()))
                report.kept << it.key();
            continue;
        }
        syncer.apply(it.key(), it.value(), report);
    }
    return report;
}

} // namespace airlock::docker
