#include "restore.h"

#include "fsops.h"
#include "git.h"
#include "jobcontrol.h"
#include "privatepaths.h"
#include "scanner.h"

#include <algorithm>
#include <set>

namespace airlock::workspace {

namespace {

struct Step {
    std::string path;
    git_oid oid{};
    quint32 mode = 0;
    bool remove = false;
};

QString q(const std::string &s)
{
    return QString::fromStdString(s);
}

std::string parentOf(const std::string &path)
{
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

Result<std::vector<Step>> plan(git_repository *repo, git_tree *baseline, git_tree *target, const PrivateEntries &privateEntries)
{
    git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
    opts.flags = GIT_DIFF_INCLUDE_TYPECHANGE;
    git_diff *raw = nullptr;
    if (int rc = git_diff_tree_to_tree(&raw, repo, baseline, target, &opts); rc < 0)
        return git::failed(rc, QStringLiteral("cannot compare the workspace with the checkpoint"));
    git::Diff diff(raw);
    std::vector<Step> steps;
    const size_t n = git_diff_num_deltas(diff.get());
    for (size_t i = 0; i < n; ++i) {
        const git_diff_delta *d = git_diff_get_delta(diff.get(), i);
        Step s;
        if (d->status == GIT_DELTA_DELETED) {
            s.path = d->old_file.path;
            s.remove = true;
            s.mode = d->old_file.mode;
        } else {
            s.path = d->new_file.path;
            s.oid = d->new_file.id;
            s.mode = d->new_file.mode;
            if (s.mode == GIT_FILEMODE_COMMIT)
                continue; // we never record submodules; a tampered history gets no say here
        }
        if (!fs::isSafeRelativePath(s.path))
            return fail(ErrorCode::Corrupt, QStringLiteral("the checkpoint holds the path '%1', which Airlock never "
                                                           "writes; the history has been tampered with")
                                                .arg(q(s.path)));
        if (privateEntries.contains(s.path))
            continue; // a snapshot taken before Airlock left its own files out
        steps.push_back(std::move(s));
    }
    return steps;
}

} // namespace

Result<RestoreReport> restoreTree(git_repository *repo, git_index *cache, git_tree *baseline, git_tree *target,
                                  int rootFd, JobControl *control, const PrivateEntries &privateEntries)
{
    auto steps = plan(repo, baseline, target, privateEntries);
    if (!steps)
        return std::unexpected(steps.error());
    RestoreReport report;
    const qint64 total = qint64(steps->size());
    qint64 done = 0;
    auto note = [&](const std::string &path) {
        if (report.paths.size() < 1000)
            report.paths.append(q(path));
        ++done;
        if (control && (done % 256 == 0 || done == total))
            control->progress(done, total, QStringLiteral("Restoring files"));
    };

    // Deletions first, deepest first, so a folder that becomes a file is out of the way in time.
    std::vector<const Step *> removals, writes;
    for (const Step &s : *steps)
        (s.remove ? removals : writes).push_back(&s);
    std::sort(removals.begin(), removals.end(), [](const Step *a, const Step *b) { return a->path > b->path; });
    std::set<std::string, std::greater<>> emptied;
    for (const Step *s : removals) {
        std::string leaf;
        auto dir = fs::openParent(rootFd, s->path, fs::Walk::Existing, &leaf);
        if (dir) {
            if (auto r = fs::removeFile(dir->get(), leaf); !r)
                return std::unexpected(Error{r.error().code, r.error().message + QStringLiteral(" (after %1 of %2 changes)")
                                                                                        .arg(done).arg(total)});
        } else if (dir.error().code != ErrorCode::NotFound) {
            return std::unexpected(dir.error());
        }
        git_index_remove(cache, s->path.c_str(), 0);
        ++report.removed;
        for (std::string p = parentOf(s->path); !p.empty(); p = parentOf(p))
            emptied.insert(p);
        note(s->path);
    }
    // Folders the removals emptied go too (a folder still holding anything stays).
    for (const std::string &folder : emptied) {
        std::string leaf;
        if (auto dir = fs::openParent(rootFd, folder, fs::Walk::Existing, &leaf))
            fs::removeEmptyDir(dir->get(), leaf);
    }

    std::sort(writes.begin(), writes.end(), [](const Step *a, const Step *b) { return a->path < b->path; });
    for (const Step *s : writes) {
        git_blob *rawBlob = nullptr;
        if (int rc = git_blob_lookup(&rawBlob, repo, &s->oid); rc < 0)
            return git::failed(rc, QStringLiteral("cannot read %1 from the checkpoint").arg(q(s->path)));
        git::Blob blob(rawBlob);
        const char *data = static_cast<const char *>(git_blob_rawcontent(blob.get()));
        const size_t size = size_t(git_blob_rawsize(blob.get()));
        std::string leaf;
        auto dir = fs::openParent(rootFd, s->path, fs::Walk::Create, &leaf);
        if (!dir)
            return std::unexpected(dir.error());
        Result<void> written;
        if (s->mode == GIT_FILEMODE_LINK) {
            const std::string linkTarget(data, size);
            if (linkTarget.empty() || linkTarget.find('\0') != std::string::npos)
                return fail(ErrorCode::Corrupt, QStringLiteral("the checkpoint holds a broken symlink at %1").arg(q(s->path)));
            written = fs::writeSymlink(dir->get(), leaf, linkTarget);
        } else {
            written = fs::writeFile(dir->get(), leaf, data, size, s->mode == GIT_FILEMODE_BLOB_EXECUTABLE);
        }
        if (!written)
            return std::unexpected(Error{written.error().code, written.error().message
                                                                   + QStringLiteral(" (after %1 of %2 changes)").arg(done).arg(total)});
        struct stat st;
        if (fs::statAt(dir->get(), leaf, &st)) {
            git_index_entry e{};
            fillIndexEntry(&e, st, s->mode, s->oid);
            e.path = s->path.c_str();
            git_index_add(cache, &e);
        } else {
            git_index_remove(cache, s->path.c_str(), 0);
        }
        ++report.written;
        note(s->path);
    }
    return report;
}

} // namespace airlock::workspace
