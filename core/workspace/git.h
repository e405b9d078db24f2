#pragma once

// Small owning wrappers around libgit2 handles, and the one place libgit2 errors become ours.
// Everything here is internal to core/workspace.

#include "error.h"

#include <QString>

#include <git2.h>

#include <memory>
#include <string>

namespace airlock::workspace::git {

// libgit2 is initialised once per process and never shut down: other parts of Airlock call
// git_libgit2_init/shutdown in pairs, and keeping one reference here keeps their calls cheap.
void ensureInitialised();

template<typename T, void (*Free)(T *)>
struct Deleter {
    void operator()(T *p) const { Free(p); }
};
template<typename T, void (*Free)(T *)>
using Handle = std::unique_ptr<T, Deleter<T, Free>>;

using Repository = Handle<git_repository, git_repository_free>;
using Index = Handle<git_index, git_index_free>;
using Odb = Handle<git_odb, git_odb_free>;
using Tree = Handle<git_tree, git_tree_free>;
using TreeEntry = Handle<git_tree_entry, git_tree_entry_free>;
using Commit = Handle<git_commit, git_commit_free>;
using Blob = Handle<git_blob, git_blob_free>;
using Reference = Handle<git_reference, git_reference_free>;
using Diff = Handle<git_diff, git_diff_free>;
using Patch = Handle<git_patch, git_patch_free>;
using Signature = Handle<git_signature, git_signature_free>;
using Config = Handle<git_config, git_config_free>;
using OdbObject = Handle<git_odb_object, git_odb_object_free>;

struct Buf {
    git_buf buf = GIT_BUF_INIT;
    Buf() = default;
    Buf(const Buf &) = delete;
    Buf &operator=(const Buf &) = delete;
    ~Buf() { git_buf_dispose(&buf); }
};

// The last libgit2 error as ours: `what` says what we were doing ("cannot read checkpoint abc"),
// the code follows the error class (damaged objects are Corrupt, lock files Busy, OS errors Io).
Error lastError(int rc, const QString &what);
std::unexpected<Error> failed(int rc, const QString &what);

QString toHex(const git_oid &oid);
std::string toStdHex(const git_oid &oid);
bool fromHex(const QString &hex, git_oid *out);

// libgit2 paths are bytes; ours are UTF-8 (names that are not show with replacement characters).
inline QString pathString(const char *p) { return QString::fromUtf8(p); }

} // namespace airlock::workspace::git
