#include "scanner.h"

#include "fsops.h"
#include "git.h"
#include "jobcontrol.h"
#include "shadowrepo.h"

#include <QFile>

#include <algorithm>
#include <cstring>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <optional>
#include <thread>

#include <dirent.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

namespace airlock::workspace {

namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

quint32 gitMode(const struct stat &st)
{
    if (S_ISLNK(st.st_mode))
        return GIT_FILEMODE_LINK;
    return (st.st_mode & S_IXUSR) ? GIT_FILEMODE_BLOB_EXECUTABLE : GIT_FILEMODE_BLOB;
}

qint64 ns(const git_index_time &t)
{
    return qint64(t.seconds) * 1000000000 + t.nanoseconds;
}

// The stat cache says "unchanged" only when every field matches and the file's mtime is older
// than the cache itself: a file written in the same clock tick as the last scan might have changed
// again without its stat showing it.
bool unchanged(const git_index_entry &e, const struct stat &st, qint64 racyCutoffNs)
{
    return e.mode == gitMode(st) && e.mtime.seconds == int32_t(st.st_mtim.tv_sec)
        && e.mtime.nanoseconds == uint32_t(st.st_mtim.tv_nsec) && e.ctime.seconds == int32_t(st.st_ctim.tv_sec)
        && e.ctime.nanoseconds == uint32_t(st.st_ctim.tv_nsec) && e.ino == uint32_t(st.st_ino)
        && e.uid == uint32_t(st.st_uid) && e.gid == uint32_t(st.st_gid) && e.file_size == uint32_t(st.st_size)
        && ns(e.mtime) < racyCutoffNs;
}

struct DirJob {
    fs::Fd fd;
    std::string prefix; // "" or "a/b/"
    std::pair<size_t, size_t> range; // the stat-cache entries under it
    bool deep = true;   // everything below; otherwise only the folder's own entries
    std::vector<std::string> only; // when set: just these entries of the folder
};

struct WorkerOut {
    std::vector<ScanChange> changes;
    std::vector<ScanSkip> skipped;
};

enum class Read { Ok, Vanished, TooBig, Unreadable };

class Scan
{
public:
    Scan(ShadowRepo &repo, git_index *index, JobControl *control, const ScanScope &scope)
        : m_repo(repo), m_control(control), m_max(repo.options().maxFileBytes), m_cutoff(repo.racyCutoffNs()),
          m_scope(scope), m_private(repo.privateEntries())
    {
        const size_t n = git_index_entrycount(index);
        m_entries.reserve(n);
        for (size_t i = 0; i < n; ++i) {
            const git_index_entry *e = git_index_get_byindex(index, i);
            if (e && git_index_entry_stage(e) == 0)
                m_entries.push_back(e);
        }
        // The index keeps its entries in this order already; sorting is for a foreign one.
        auto less = [](const git_index_entry *a, const git_index_entry *b) { return std::string_view(a->path) < b->path; };
        if (!std::is_sorted(m_entries.begin(), m_entries.end(), less))
            std::sort(m_entries.begin(), m_entries.end(), less);
        // A partial scan vouches only for what it looks at; everything else stays as the cache has it.
        m_seen = std::make_unique<std::atomic<char>[]>(m_entries.size());
        for (size_t i = 0; i < m_entries.size(); ++i)
            m_seen[i].store(scope.full ? 0 : 1, std::memory_order_relaxed);
        for (const std::string &d : scope.dirs)
            m_claimed.insert(d);
        for (const std::string &d : scope.deep)
            m_claimed.insert(d);
    }

    Result<ScanResult> run(fs::Fd root, int threads)
    {
        ScanResult result;
        result.startNs = coarseNowNs();
        result.full = m_scope.full;
        const Range all{0, m_entries.size()};
        if (m_scope.full) {
            m_queue.push_back(DirJob{std::move(root), std::string(), all, true, {}});
        } else {
            auto queue = [&](const std::string &dir, bool deep) {
                const std::string prefix = dir.empty() ? std::string() : dir + '/';
                const Range range = dir.empty() ? all : under(prefix, all);
                fs::Fd fd = openFolder(root.get(), dir);
                if (fd.valid())
                    m_queue.push_back(DirJob{std::move(fd), prefix, range, deep, {}});
                else
                    unsee(range); // gone (or no longer a folder): what the cache had there is too
            };
            for (const std::string &d : m_scope.deep)
                queue(d, true);
            for (const std::string &d : m_scope.dirs)
                queue(d, false);
            // Single files, one job per folder they are in.
            std::map<std::string, std::vector<std::string>> byFolder;
            for (const std::string &f : m_scope.files) {
                const size_t slash = f.rfind('/');
                byFolder[slash == std::string::npos ? std::string() : f.substr(0, slash)].push_back(
                    slash == std::string::npos ? f : f.substr(slash + 1));
            }
            for (auto &[dir, names] : byFolder) {
                const std::string prefix = dir.empty() ? std::string() : dir + '/';
                fs::Fd fd = openFolder(root.get(), dir);
                if (!fd.valid())
                    continue; // the folder went: its parent's listing says so
                m_queue.push_back(DirJob{std::move(fd), prefix, dir.empty() ? all : under(prefix, all), false, std::move(names)});
            }
        }

        std::vector<WorkerOut> outs(size_t(std::clamp(threads, 1, 8)));
        std::vector<std::thread> helpers;
        for (size_t i = 1; i < outs.size(); ++i)
            helpers.emplace_back([this, &outs, i] { work(outs[i]); });
        work(outs[0]);
        for (auto &t : helpers)
            t.join();
        if (m_error)
            return std::unexpected(*m_error);

        for (auto &o : outs) {
            std::move(o.changes.begin(), o.changes.end(), std::back_inserter(result.changes));
            std::move(o.skipped.begin(), o.skipped.end(), std::back_inserter(result.skipped));
        }
        // What the cache knows and the walk did not find (or could not read) is gone from the
        // snapshot.
        for (size_t i = 0; i < m_entries.size(); ++i) {
            if (!m_seen[i].load(std::memory_order_relaxed)) {
                ScanChange c;
                c.path = m_entries[i]->path;
                c.remove = true;
                c.oid = m_entries[i]->id;
                c.mode = m_entries[i]->mode;
                result.changes.push_back(std::move(c));
            }
        }
        auto byPath = [](const auto &a, const auto &b) { return a.path < b.path; };
        std::sort(result.changes.begin(), result.changes.end(), byPath);
        std::sort(result.skipped.begin(), result.skipped.end(), byPath);
        result.files = m_files.load();
        result.hashed = m_hashed.load();
        return result;
    }

private:
    using Range = std::pair<size_t, size_t>;

    // The cache entries under a folder ("a/b/"): a contiguous run, as paths sort, from "a/b/" up to
    // "a/b0" ('0' follows '/').
    Range under(const std::string &dirPrefix, Range within) const
    {
        auto first = m_entries.begin() + ptrdiff_t(within.first), last = m_entries.begin() + ptrdiff_t(within.second);
        auto before = [](const git_index_entry *e, std::string_view p) { return std::string_view(e->path) < p; };
        auto lo = std::lower_bound(first, last, std::string_view(dirPrefix), before);
        std::string end = dirPrefix;
        end.back() = char('/' + 1);
        auto hi = std::lower_bound(lo, last, std::string_view(end), before);
        return {size_t(lo - m_entries.begin()), size_t(hi - m_entries.begin())};
    }

    void unsee(Range r)
    {
        for (size_t i = r.first; i < r.second; ++i)
            m_seen[i].store(0, std::memory_order_relaxed);
    }

    static fs::Fd openFolder(int root, const std::string &dir)
    {
        if (dir.empty())
            return fs::Fd(::dup(root));
        std::string leaf;
        auto parent = fs::openParent(root, dir, fs::Walk::Existing, &leaf);
        return parent ? fs::Fd(::openat(parent->get(), leaf.c_str(), kDirFlags)) : fs::Fd();
    }

    // The cache entry for `path` within `range`, or -1.
    ptrdiff_t find(std::string_view path, Range range) const
    {
        auto first = m_entries.begin() + ptrdiff_t(range.first), last = m_entries.begin() + ptrdiff_t(range.second);
        auto it = std::lower_bound(first, last, path,
                                   [](const git_index_entry *e, std::string_view p) { return std::string_view(e->path) < p; });
        return it != last && std::string_view((*it)->path) == path ? it - m_entries.begin() : -1;
    }

    void setError(Error e)
    {
        std::lock_guard lock(m_mutex);
        if (!m_error)
            m_error = std::move(e);
        m_stop = true;
        m_wake.notify_all();
    }

    void work(WorkerOut &out)
    {
        git_odb *rawOdb = nullptr;
        const QByteArray objects = QFile::encodeName(m_repo.objectsDir());
        if (int rc = git_odb_open(&rawOdb, objects.constData()); rc < 0) {
            setError(m_repo.damaged(git::lastError(rc, QStringLiteral("cannot open the objects of %1").arg(m_repo.gitDir()))));
            return;
        }
        git::Odb odb(rawOdb);
        std::string buffer;
        for (;;) {
            DirJob job;
            {
                std::unique_lock lock(m_mutex);
                m_wake.wait(lock, [&] { return m_stop || !m_queue.empty() || m_active == 0; });
                if (m_stop || m_queue.empty())
                    return; // stopped, or nothing queued and nobody left to queue more
                job = std::move(m_queue.back());
                m_queue.pop_back();
                ++m_active;
            }
            if (m_control && m_control->isCancelled())
                setError(Error{ErrorCode::Cancelled, QStringLiteral("the snapshot was cancelled")});
            else
                scanDir(job, odb.get(), buffer, out);
            std::lock_guard lock(m_mutex);
            if (--m_active == 0 || !m_queue.empty())
                m_wake.notify_all();
        }
    }

    void push(DirJob job)
    {
        std::lock_guard lock(m_mutex);
        m_queue.push_back(std::move(job));
        m_wake.notify_one();
    }

    void scanDir(DirJob &job, git_odb *odb, std::string &buffer, WorkerOut &out)
    {
        if (!job.prefix.empty() && m_private.contains(std::string_view(job.prefix).substr(0, job.prefix.size() - 1))) {
            unsee(job.range);
            return; // a folder of Airlock's own, named by the change journal
        }
        fs::Fd copy(::dup(job.fd.get()));
        DIR *dir = copy.valid() ? ::fdopendir(copy.get()) : nullptr;
        if (!dir) {
            out.skipped.push_back({job.prefix.empty() ? std::string(".") : job.prefix.substr(0, job.prefix.size() - 1), 0,
                                   SkipReason::Unreadable});
            return;
        }
        copy.release();
        std::vector<std::string> names;
        if (!job.only.empty()) {
            names = job.only;
        } else {
            while (dirent *e = ::readdir(dir)) {
                const std::string_view name(e->d_name);
                if (name != "." && name != ".." && !fs::isDotGit(name))
                    names.emplace_back(name);
            }
        }
        ::closedir(dir);
        const int fd = job.fd.get();
        if (!job.only.empty()) {
            // Each named file answers for itself: gone, it is gone from the cache too.
            for (const std::string &n : names)
                if (const ptrdiff_t i = find(job.prefix + n, job.range); i >= 0)
                    m_seen[size_t(i)].store(0, std::memory_order_relaxed);
        } else if (!m_scope.full) {
            if (job.deep) {
                unsee(job.range);
            } else {
                for (size_t i = job.range.first; i < job.range.second; ++i)
                    if (!std::strchr(m_entries[i]->path + job.prefix.size(), '/'))
                        m_seen[i].store(0, std::memory_order_relaxed);
            }
        }
        std::set<std::string_view> folders; // for a shallow job: the sub-folders still there
        for (const std::string &name : names) {
            std::string path = job.prefix + name;
            if (m_private.contains(path))
                continue; // Airlock's own: its cache entries, if any, leave the snapshot
            struct stat st;
            if (::fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
                continue; // gone since readdir
            if (S_ISDIR(st.st_mode)) {
                if (!job.only.empty())
                    continue; // a folder's own events say what changed in it
                std::string sub = path + '/';
                const auto range = under(sub, job.range);
                if (!job.deep) {
                    folders.insert(name);
                    // A folder with a job of its own, or one the cache knows and nothing changed in,
                    // is left alone; a new one is looked at whole.
                    if (m_claimed.count(path) || range.first != range.second)
                        continue;
                }
                if (std::count(sub.begin(), sub.end(), '/') > kMaxScanDepth) {
                    out.skipped.push_back({path, 0, SkipReason::TooDeep});
                    continue;
                }
                if (range.first == range.second && m_repo.isIgnored(path, true))
                    continue;
                fs::Fd subFd(::openat(fd, name.c_str(), kDirFlags));
                if (subFd.valid())
                    push(DirJob{std::move(subFd), std::move(sub), range, true, {}});
                else if (errno == EACCES)
                    out.skipped.push_back({path, 0, SkipReason::Unreadable});
                continue;
            }
            if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
                continue;
            const qint64 files = ++m_files;
            if (m_control && files % 256 == 0)
                m_control->progress(files, 0, QStringLiteral("Scanning the workspace"));
            const ptrdiff_t found = find(path, job.range);
            const git_index_entry *entry = found < 0 ? nullptr : m_entries[size_t(found)];
            if (entry && unchanged(*entry, st, m_cutoff)) {
                m_seen[size_t(found)].store(1, std::memory_order_relaxed);
                continue;
            }
            if (!entry && m_repo.isIgnored(path, false))
                continue;
            const Read r = read(fd, name, &st, buffer);
            if (r == Read::Vanished)
                continue;
            if (r != Read::Ok) {
                out.skipped.push_back({std::move(path), qint64(st.st_size),
                                       r == Read::TooBig ? SkipReason::TooBig : SkipReason::Unreadable});
                continue;
            }
            ++m_hashed;
            ScanChange c;
            c.mode = gitMode(st);
            c.st = st;
            c.added = !entry;
            if (entry) {
                git_odb_hash(&c.oid, buffer.data(), buffer.size(), GIT_OBJECT_BLOB);
                c.contentChanged = !git_oid_equal(&c.oid, &entry->id) || entry->mode != c.mode;
            }
            if (!entry || !git_oid_equal(&c.oid, &entry->id)) {
                if (int rc = git_odb_write(&c.oid, odb, buffer.data(), buffer.size(), GIT_OBJECT_BLOB); rc < 0) {
                    setError(git::lastError(rc, QStringLiteral("cannot save %1 in the checkpoint history")
                                                    .arg(QString::fromStdString(path))));
                    return;
                }
            }
            if (entry)
                m_seen[size_t(found)].store(1, std::memory_order_relaxed);
            c.path = std::move(path);
            out.changes.push_back(std::move(c));
        }
        // A shallow job answers for the sub-folders the cache knows: gone, or now a file, their
        // entries are gone too.
        if (!job.deep && job.only.empty()) {
            for (size_t i = job.range.first; i < job.range.second; ++i) {
                const char *rest = m_entries[i]->path + job.prefix.size();
                const char *slash = std::strchr(rest, '/');
                if (slash && !folders.count(std::string_view(rest, size_t(slash - rest))))
                    m_seen[i].store(0, std::memory_order_relaxed);
            }
        }
    }

    // Reads a file or a symlink's target without following anything; `st` is refreshed from the
    // open descriptor, so the cache records the stat of what was actually read.
    Read read(int dir, const std::string &name, struct stat *st, std::string &buffer) const
    {
        buffer.clear();
        if (S_ISLNK(st->st_mode)) {
            buffer.resize(size_t(std::max<off_t>(st->st_size, 64)) + 1);
            for (;;) {
                const ssize_t n = ::readlinkat(dir, name.c_str(), buffer.data(), buffer.size());
                if (n < 0)
                    return errno == EACCES ? Read::Unreadable : Read::Vanished;
                if (size_t(n) < buffer.size()) {
                    buffer.resize(size_t(n));
                    return Read::Ok;
                }
                buffer.resize(buffer.size() * 2);
            }
        }
        if (st->st_size > m_max)
            return Read::TooBig;
        fs::Fd fd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
        if (!fd.valid())
            return errno == EACCES || errno == EPERM ? Read::Unreadable : Read::Vanished;
        if (::fstat(fd.get(), st) != 0 || !S_ISREG(st->st_mode))
            return Read::Vanished;
        if (st->st_size > m_max)
            return Read::TooBig;
        buffer.resize(size_t(st->st_size));
        size_t done = 0;
        for (;;) {
            if (done == buffer.size()) {
                if (qint64(buffer.size()) >= m_max + 1)
                    return Read::TooBig;
                buffer.resize(std::min<size_t>(size_t(m_max + 1), buffer.size() * 2 + 4096)); // it grew
            }
            const ssize_t n = ::read(fd.get(), buffer.data() + done, buffer.size() - done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return Read::Unreadable;
            if (n == 0)
                break;
            done += size_t(n);
        }
        buffer.resize(done);
        if (qint64(done) > m_max)
            return Read::TooBig;
        return Read::Ok;
    }

    ShadowRepo &m_repo;
    JobControl *m_control;
    const qint64 m_max;
    const qint64 m_cutoff;
    std::vector<const git_index_entry *> m_entries;
    const ScanScope &m_scope;
    const PrivateEntries &m_private;
    std::set<std::string> m_claimed; // folders with a job of their own (partial scans)
    std::unique_ptr<std::atomic<char>[]> m_seen;

    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::vector<DirJob> m_queue;
    int m_active = 0;
    bool m_stop = false;
    std::optional<Error> m_error;
    std::atomic<qint64> m_files{0};
    std::atomic<qint64> m_hashed{0};
};

} // namespace

qint64 coarseNowNs()
{
    struct timespec now;
    ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
    return qint64(now.tv_sec) * 1000000000 + now.tv_nsec;
}

void fillIndexEntry(git_index_entry *e, const struct stat &st, quint32 mode, const git_oid &oid)
{
    e->ctime.seconds = int32_t(st.st_ctim.tv_sec);
    e->ctime.nanoseconds = uint32_t(st.st_ctim.tv_nsec);
    e->mtime.seconds = int32_t(st.st_mtim.tv_sec);
    e->mtime.nanoseconds = uint32_t(st.st_mtim.tv_nsec);
    e->dev = uint32_t(st.st_dev);
    e->ino = uint32_t(st.st_ino);
    e->mode = mode;
    e->uid = uint32_t(st.st_uid);
    e->gid = uint32_t(st.st_gid);
    e->file_size = uint32_t(st.st_size);
    e->id = oid;
}

Result<ScanResult> scanWorkspace(ShadowRepo &repo, JobControl *control, const ScanScope &scope)
{
    auto index = repo.index();
    if (!index)
        return std::unexpected(index.error());
    auto root = fs::openRoot(repo.workspace());
    if (!root)
        return std::unexpected(root.error());
    Scan scan(repo, *index, control, scope);
    return scan.run(std::move(*root), repo.options().scanThreads);
}

} // namespace airlock::workspace
