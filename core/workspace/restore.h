#pragma once

#include "error.h"

#include <git2/types.h>

#include <QStringList>

namespace airlock::workspace {

class JobControl;
class PrivateEntries;

struct RestoreReport {
    int written = 0;   // files and symlinks created or replaced
    int removed = 0;   // files and symlinks deleted
    QStringList paths; // what changed, at most a thousand
};

// Makes the folder open at `rootFd` hold `target` where it held `baseline` (null: an empty tree,
// as for a fork into a new folder). Files in baseline and not in target are removed, and folders
// left empty by that; files that differ are replaced, with their executable bit; symlinks are
// created as symlinks. Nothing is followed: a symlink standing where the target has a folder is
// replaced by the folder. Paths outside baseline and target (ignored, oversized, untracked) are left
// alone unless the target needs their place. `cache`, the stat cache, is updated entry by entry.
// Not cancellable: stopping half-way would leave a workspace that matches no checkpoint.
// Airlock's own files (`privateEntries`) are left as they are, whatever an older history holds there.
Result<RestoreReport> restoreTree(git_repository *repo, git_index *cache, git_tree *baseline, git_tree *target,
                                  int rootFd, JobControl *control, const PrivateEntries &privateEntries);

} // namespace airlock::workspace
