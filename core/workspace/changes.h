#pragma once

#include "checkpoint.h"
#include "error.h"

#include <git2/types.h>

#include <string>
#include <vector>

namespace airlock::workspace {

struct DiffOptions {
    bool patches = true;                    // unified diff text per file
    int contextLines = 3;
    qsizetype maxPatchBytes = 512 * 1024;   // per file; longer patches are cut at a line end
    bool detectRenames = true;
    int maxFiles = 0;                       // 0: all; otherwise the first N by path get line counts
};

struct FileDiff {
    FileChange change;
    QString patch;          // "diff --git a/… b/…" and hunks; empty for binary files
    bool patchTruncated = false;
};

// What changed between two trees (either may be null: the empty tree). `only`, when given, limits
// the comparison to those paths, which keeps it proportional to them in a big workspace.
// `filesTotal` receives the number of changed files even when maxFiles cuts the list.
Result<QList<FileDiff>> diffTrees(git_repository *repo, git_tree *from, git_tree *to, const DiffOptions &options,
                                  const std::vector<std::string> *only = nullptr, int *filesTotal = nullptr);

} // namespace airlock::workspace
