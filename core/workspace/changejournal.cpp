#include "changejournal.h"

#include "fsops.h"
#include "shadowrepo.h"

#include <QFile>

#include <cstring>

#include <dirent.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

namespace airlock::workspace {

namespace {

// Content (write, truncate, close after writing through mmap), metadata (chmod, touch), names.
constexpr uint32_t kMask = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO
    | IN_DELETE_SELF | IN_MOVE_SELF | IN_EXCL_UNLINK | IN_ONLYDIR;

std::string join(const std::string &dir, std::string_view name)
{
    return dir.empty() ? std::string(name) : dir + '/' + std::string(name);
}

bool isUnder(const std::string &path, const std::string &dir)
{
    return dir.empty() || path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/');
}

std::string parentOf(const std::string &path)
{
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

// Opens a folder of the workspace without following symlinks on the way.
fs::Fd openFolder(int root, const std::string &path)
{
    if (path.empty())
        return fs::Fd(::dup(root));
    std::string leaf;
    auto parent = fs::openParent(root, path, fs::Walk::Existing, &leaf);
    if (!parent)
        return {};
    return fs::Fd(::openat(parent->get(), leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

bool tracksUnder(git_index *index, const std::string &dir)
{
    size_t pos = 0;
    return index && git_index_find_prefix(&pos, index, (dir + '/').c_str()) == 0;
}

} // namespace

ChangeJournal::ChangeJournal(QString workspace) : m_workspace(std::move(workspace))
{
    m_fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
}

ChangeJournal::~ChangeJournal()
{
    if (m_fd >= 0)
        ::close(m_fd);
}

void ChangeJournal::drain()
{
    alignas(struct inotify_event) char buf[64 * 1024];
    for (;;) {
        const ssize_t n = ::read(m_fd, buf, sizeof buf);
        if (n <= 0)
            return; // EAGAIN: the queue is empty
        for (char *p = buf; p < buf + n;) {
            const auto *e = reinterpret_cast<const struct inotify_event *>(p);
            handle(e->wd, e->mask, e->len ? e->name : nullptr);
            p += sizeof(struct inotify_event) + e->len;
        }
    }
}

void ChangeJournal::handle(int wd, quint32 mask, const char *name)
{
    if (mask & IN_Q_OVERFLOW) {
        m_trusted = false;
        return;
    }
    auto it = m_paths.find(wd);
    if (it == m_paths.end())
        return; // a watch already forgotten
    const std::string dir = it->second;
    if (mask & IN_IGNORED) {
        m_paths.erase(it);
        return;
    }
    if (mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
        if (dir.empty())
            m_trusted = false; // the workspace itself went: nothing to vouch for
        return;                // otherwise its parent saw it go
    }
    if (!name)
        return; // the folder's own attributes: nothing a snapshot keeps
    const std::string_view n(name);
    if (fs::isDotGit(n))
        return;
    if (n == ".gitignore")
        m_trusted = false; // what is ignored may have changed anywhere below
    // A file written or chmod-ed in place needs only itself looked at; anything that adds, removes
    // or renames an entry needs the folder's listing.
    if (!(mask & (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO))) {
        if (!(mask & IN_ISDIR))
            m_touched[dir].emplace(n);
        return;
    }
    m_dirty.insert(dir);
    if (mask & IN_ISDIR) {
        const std::string child = join(dir, n);
        // A folder that left keeps its watches under its new name (or nowhere): drop them; a folder
        // that arrived is looked at whole, and watched from the next take().
        if (mask & (IN_MOVED_FROM | IN_DELETE))
            forget(child);
        if (mask & (IN_CREATE | IN_MOVED_TO))
            m_deep.insert(child);
    }
}

void ChangeJournal::forget(const std::string &prefix)
{
    for (auto it = m_paths.begin(); it != m_paths.end();) {
        if (isUnder(it->second, prefix) && !prefix.empty()) {
            ::inotify_rm_watch(m_fd, it->first);
            it = m_paths.erase(it);
        } else {
            ++it;
        }
    }
}

void ChangeJournal::watchTree(ShadowRepo &repo, int dirFd, const std::string &path)
{
    // Through /proc/self/fd the watch lands on the folder we opened, wherever a racing symlink points.
    const std::string proc = "/proc/self/fd/" + std::to_string(dirFd);
    const int wd = ::inotify_add_watch(m_fd, proc.c_str(), kMask);
    if (wd < 0) {
        m_trusted = false; // no watches left (ENOSPC) or no /proc: scan everything instead
        return;
    }
    m_paths[wd] = path;
    fs::Fd copy(::dup(dirFd));
    DIR *d = copy.valid() ? ::fdopendir(copy.get()) : nullptr;
    if (!d)
        return;
    copy.release();
    std::vector<std::string> subdirs;
    while (dirent *e = ::readdir(d)) {
        const std::string_view n(e->d_name);
        if (n == "." || n == ".." || fs::isDotGit(n))
            continue;
        bool isDir = e->d_type == DT_DIR;
        if (e->d_type == DT_UNKNOWN) {
            struct stat st;
            isDir = ::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
        }
        if (isDir)
            subdirs.emplace_back(n);
    }
    ::closedir(d);
    auto index = repo.index();
    for (const std::string &name : subdirs) {
        const std::string child = join(path, name);
        if (repo.privateEntries().contains(child))
            continue; // Airlock's own folders change all the time and are never snapshotted
        // The scan does not enter an ignored folder it tracks nothing in, so neither do we.
        if (!tracksUnder(index ? *index : nullptr, child) && repo.isIgnored(child, true))
            continue;
        fs::Fd sub(::openat(dirFd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (sub.valid())
            watchTree(repo, sub.get(), child);
        if (!m_trusted)
            return;
    }
}

bool ChangeJournal::reset(ShadowRepo &repo)
{
    if (m_fd < 0)
        return false;
    for (const auto &[wd, path] : m_paths)
        ::inotify_rm_watch(m_fd, wd);
    m_paths.clear();
    drain(); // what is queued predates the full scan that follows
    m_dirty.clear();
    m_touched.clear();
    m_deep.clear();
    m_sinceFull = 0;
    m_trusted = true;
    auto root = fs::openRoot(m_workspace);
    if (!root) {
        m_trusted = false;
        return false;
    }
    watchTree(repo, root->get(), std::string());
    return m_trusted;
}

ScanScope ChangeJournal::take(ShadowRepo &repo)
{
    ScanScope scope;
    if (m_fd < 0) {
        scope.reason = QStringLiteral("no inotify");
        return scope;
    }
    if (m_trusted)
        drain();
    if (!m_trusted) {
        scope.reason = QStringLiteral("the change record is incomplete");
        return scope;
    }
    if (++m_sinceFull >= kFullScanEvery) {
        scope.reason = QStringLiteral("periodic full scan");
        return scope;
    }
    auto root = fs::openRoot(m_workspace);
    if (!root) {
        scope.reason = QStringLiteral("the workspace cannot be opened");
        return scope;
    }
    auto index = repo.index();
    // New folders are watched from now on; what they hold already is found by the scan.
    for (auto it = m_deep.begin(); it != m_deep.end();) {
        fs::Fd fd = openFolder(root->get(), *it);
        const bool ignored = repo.privateEntries().contains(*it)
            || (!tracksUnder(index ? *index : nullptr, *it) && repo.isIgnored(*it, true));
        if (!fd.valid() || ignored) {
            it = m_deep.erase(it); // gone again, or not ours to look at: its parent's rescan decides
            continue;
        }
        forget(*it);
        watchTree(repo, fd.get(), *it);
        ++it;
    }
    if (!m_trusted) {
        scope.reason = QStringLiteral("the change record is incomplete");
        return scope;
    }
    // A folder below one that is looked at whole needs no job of its own.
    auto covered = [&](const std::string &path, bool self) {
        for (std::string p = self ? path : parentOf(path);; p = parentOf(p)) {
            if (m_deep.count(p) && (self || p != path))
                return true;
            if (p.empty())
                return false;
        }
    };
    scope.full = false;
    for (const std::string &d : m_deep)
        if (!covered(d, false))
            scope.deep.push_back(d);
    for (const std::string &d : m_dirty)
        if (!covered(d, true))
            scope.dirs.push_back(d);
    for (const auto &[dir, names] : m_touched) {
        if (m_dirty.count(dir) || covered(dir, true))
            continue; // the folder is looked at whole anyway
        for (const std::string &n : names)
            scope.files.push_back(join(dir, n));
    }
    m_dirty.clear();
    m_touched.clear();
    m_deep.clear();
    return scope;
}

void ChangeJournal::keepIndex(ShadowRepo &repo)
{
    m_indexCutoff = repo.racyCutoffNs();
    m_indexStamp = repo.indexStamp();
    m_index = repo.releaseIndex();
}

void ChangeJournal::lendIndex(ShadowRepo &repo)
{
    if (m_index && m_indexStamp.size >= 0 && repo.indexStamp() == m_indexStamp)
        repo.adoptIndex(std::move(m_index), m_indexCutoff);
    m_index.reset();
}

std::vector<ScanSkip> ChangeJournal::mergeSkipped(const ScanScope &scope, const std::vector<ScanSkip> &found, qint64 maxBytes)
{
    if (scope.full) {
        m_skipped.clear();
        for (const ScanSkip &s : found)
            m_skipped[s.path] = s;
        m_skippedKnown = true;
        return found;
    }
    if (!m_skippedKnown)
        return found;
    // What the scan looked at, it has decided afresh.
    for (auto it = m_skipped.begin(); it != m_skipped.end();) {
        const std::string parent = parentOf(it->first);
        bool looked = std::find(scope.dirs.begin(), scope.dirs.end(), parent) != scope.dirs.end()
            || std::find(scope.files.begin(), scope.files.end(), it->first) != scope.files.end();
        for (const std::string &d : scope.deep)
            looked = looked || isUnder(it->first, d);
        it = looked ? m_skipped.erase(it) : std::next(it);
    }
    for (const ScanSkip &s : found)
        m_skipped[s.path] = s;
    // The rest stands unless its folder went away under a changed parent.
    auto root = fs::openRoot(m_workspace);
    std::vector<ScanSkip> out;
    for (auto it = m_skipped.begin(); it != m_skipped.end();) {
        std::string leaf;
        struct stat st;
        auto dir = root ? fs::openParent(root->get(), it->first, fs::Walk::Existing, &leaf) : Result<fs::Fd>(fail(ErrorCode::Io, {}));
        const bool there = dir && fs::statAt(dir->get(), leaf, &st) && S_ISREG(st.st_mode)
            && (it->second.reason != SkipReason::TooBig || st.st_size > maxBytes);
        if (!there) {
            it = m_skipped.erase(it);
            continue;
        }
        it->second.size = st.st_size;
        out.push_back(it->second);
        ++it;
    }
    return out;
}

} // namespace airlock::workspace
