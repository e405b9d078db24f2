#pragma once

#include "error.h"

#include <git2/index.h>
#include <git2/oid.h>

#include <string>
#include <vector>

#include <sys/stat.h>

namespace airlock::workspace {

class JobControl;
class ShadowRepo;

struct ScanChange {
    std::string path;
    bool remove = false;
    // False when only the stat moved (touched, or rewritten with the same bytes): the tree stays,
    // the stat cache is refreshed so the file is not read again next time.
    bool contentChanged = true;
    bool added = false; // the stat cache did not know the path
    git_oid oid{};
    quint32 mode = 0; // git file mode
    struct stat st{};
};

enum class SkipReason { TooBig, Unreadable, TooDeep };

// Folders deeper than this are not looked into: each ignore lookup walks every parent, so a chain of
// thousands of empty folders (which the stat cache never remembers) made every checkpoint quadratic
// in its depth. The folder at the limit is reported as skipped ("depth"), so the cut is visible.
inline constexpr int kMaxScanDepth = 128;

struct ScanSkip {
    std::string path;
    qint64 size = 0;
    SkipReason reason = SkipReason::TooBig;
};

struct ScanResult {
    std::vector<ScanChange> changes; // by path
    std::vector<ScanSkip> skipped;   // by path
    qint64 files = 0;                // files and symlinks looked at
    qint64 hashed = 0;               // of those, read and hashed
    qint64 startNs = 0;              // the filesystem clock when the scan began
    bool full = true;                // the whole workspace was looked at
};

// Folders to look at instead of the whole workspace (from a ChangeJournal). Paths are relative,
// "" is the workspace itself.
struct ScanScope {
    bool full = true;                // scan everything; the lists below are ignored
    QString reason;                  // why full, for logs
    std::vector<std::string> dirs;   // look at the entries of these folders (not below them)
    std::vector<std::string> deep;   // look at everything below these folders
    std::vector<std::string> files;  // look at these files (written or chmod-ed in place)
};

// Compares the workspace with the stat cache of `repo` and writes every new or changed file to its
// object store. Unchanged files (same stat as cached, and not recent enough to be racy) cost one
// lstat. Folders are walked by descriptor with O_NOFOLLOW, so a symlink is recorded as a symlink
// and never followed; `.git` at any depth, ignored paths, sockets and devices are left out; files
// over the size cap are reported as skipped and not read.
// With a partial scope, the cache entries outside it count as unchanged.
Result<ScanResult> scanWorkspace(ShadowRepo &repo, JobControl *control, const ScanScope &scope = {});

// The clock file timestamps come from (CLOCK_REALTIME_COARSE), in ns.
qint64 coarseNowNs();

// Fills a stat-cache entry (everything but path) from a stat taken by the scanner or a restore.
void fillIndexEntry(git_index_entry *entry, const struct stat &st, quint32 mode, const git_oid &oid);

} // namespace airlock::workspace
