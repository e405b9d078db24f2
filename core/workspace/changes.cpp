#include "changes.h"

#include "git.h"

namespace airlock::workspace {

namespace {

FileStatus statusOf(git_delta_t status)
{
    switch (status) {
    case GIT_DELTA_ADDED:
    case GIT_DELTA_UNTRACKED: return FileStatus::Added;
    case GIT_DELTA_DELETED: return FileStatus::Deleted;
    case GIT_DELTA_RENAMED: return FileStatus::Renamed;
    case GIT_DELTA_TYPECHANGE: return FileStatus::TypeChanged;
    default: return FileStatus::Modified;
    }
}

git::Blob blobOf(git_repository *repo, const git_diff_file &f)
{
    git_blob *raw = nullptr;
    if (git_oid_is_zero(&f.id) || f.mode == GIT_FILEMODE_COMMIT
        || git_blob_lookup(&raw, repo, &f.id) < 0)
        return git::Blob();
    return git::Blob(raw);
}

int blobPatch(git_repository *repo, const git_diff_delta *d, git_patch **out)
{
    git::Blob oldBlob = blobOf(repo, d->old_file);
    git::Blob newBlob = blobOf(repo, d->new_file);
    git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
    opts.context_lines = 0;
    // As buffers the comparison has no repository: no attribute files are looked for.
    auto data = [](const git::Blob &b) { return b ? static_cast<const char *>(git_blob_rawcontent(b.get())) : nullptr; };
    auto size = [](const git::Blob &b) { return b ? size_t(git_blob_rawsize(b.get())) : size_t(0); };
    return git_patch_from_buffers(out, data(oldBlob), size(oldBlob), nullptr, data(newBlob), size(newBlob), nullptr, &opts);
}

} // namespace

Result<QList<FileDiff>> diffTrees(git_repository *repo, git_tree *from, git_tree *to, const DiffOptions &options,
                                  const std::vector<std::string> *only, int *filesTotal)
{
    git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
    opts.flags = GIT_DIFF_INCLUDE_TYPECHANGE;
    opts.context_lines = uint32_t(std::max(0, options.contextLines));
    std::vector<char *> pathv;
    if (only) {
        if (only->empty()) {
            if (filesTotal)
                *filesTotal = 0;
            return QList<FileDiff>();
        }
        pathv.reserve(only->size());
        for (const std::string &p : *only)
            pathv.push_back(const_cast<char *>(p.c_str()));
        opts.pathspec.strings = pathv.data();
        opts.pathspec.count = pathv.size();
        opts.flags |= GIT_DIFF_DISABLE_PATHSPEC_MATCH;
    }
    git_diff *raw = nullptr;
    if (int rc = git_diff_tree_to_tree(&raw, repo, from, to, &opts); rc < 0)
        return git::failed(rc, QStringLiteral("cannot compare the checkpoints"));
    git::Diff diff(raw);
    if (options.detectRenames) {
        git_diff_find_options find = GIT_DIFF_FIND_OPTIONS_INIT;
        find.flags = GIT_DIFF_FIND_RENAMES;
        if (int rc = git_diff_find_similar(diff.get(), &find); rc < 0)
            return git::failed(rc, QStringLiteral("cannot find renamed files"));
    }
    const size_t n = git_diff_num_deltas(diff.get());
    if (filesTotal)
        *filesTotal = int(n);
    const size_t listed = options.maxFiles > 0 ? std::min(n, size_t(options.maxFiles)) : n;
    QList<FileDiff> out;
    out.reserve(qsizetype(listed));
    for (size_t i = 0; i < listed; ++i) {
        const git_diff_delta *d = git_diff_get_delta(diff.get(), i);
        FileDiff fd;
        FileChange &c = fd.change;
        c.status = statusOf(d->status);
        c.path = git::pathString(d->new_file.path ? d->new_file.path : d->old_file.path);
        if (c.status == FileStatus::Deleted)
            c.path = git::pathString(d->old_file.path);
        if (c.status == FileStatus::Renamed)
            c.oldPath = git::pathString(d->old_file.path);
        c.oldMode = d->old_file.mode;
        c.newMode = d->new_file.mode;
        git_patch *rawPatch = nullptr;
        if (options.patches) {
            if (int rc = git_patch_from_diff(&rawPatch, diff.get(), i); rc < 0)
                return git::failed(rc, QStringLiteral("cannot compare %1").arg(c.path));
        } else {
            // Counts only: comparing the contents directly skips the per-path attribute and
            // diff-driver lookups, which cost more than the comparison itself.
            if (int rc = blobPatch(repo, d, &rawPatch); rc < 0)
                return git::failed(rc, QStringLiteral("cannot compare %1").arg(c.path));
        }
        git::Patch patch(rawPatch);
        c.binary = (d->flags & GIT_DIFF_FLAG_BINARY) != 0;
        if (patch) {
            size_t context = 0, added = 0, removed = 0;
            git_patch_line_stats(&context, &added, &removed, patch.get());
            c.added = int(added);
            c.removed = int(removed);
            c.binary = (git_patch_get_delta(patch.get())->flags & GIT_DIFF_FLAG_BINARY) != 0;
            if (options.patches) {
                git::Buf buf;
                if (int rc = git_patch_to_buf(&buf.buf, patch.get()); rc < 0)
                    return git::failed(rc, QStringLiteral("cannot print the changes of %1").arg(c.path));
                QByteArray text(buf.buf.ptr, qsizetype(buf.buf.size));
                if (text.size() > options.maxPatchBytes) {
                    const qsizetype cut = text.lastIndexOf('\n', options.maxPatchBytes);
                    text.truncate(cut > 0 ? cut + 1 : options.maxPatchBytes);
                    fd.patchTruncated = true;
                }
                fd.patch = QString::fromUtf8(text);
            }
        }
        out.append(std::move(fd));
    }
    return out;
}

} // namespace airlock::workspace
