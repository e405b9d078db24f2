#pragma once

#include "fd.h"

#include <string>
#include <string_view>
#include <vector>

namespace airlock::shim {

// True when openat2(RESOLVE_BENEATH) works here; a seccomp profile or an old kernel may refuse it.
bool probeOpenat2(int rootFd);

// Opens `relative` beneath rootFd, following symlinks only while they stay beneath it (a final
// symlink is not followed when flags has O_NOFOLLOW). Returns 0 or an errno; EXDEV means the path
// or a symlink on it leads outside. With useOpenat2 the kernel resolves the path; otherwise a walk
// opens one component at a time with O_NOFOLLOW and expands symlinks itself.
int openBeneath(int rootFd, bool useOpenat2, std::string_view relative, int flags, unsigned mode, Fd &out);

// The non-empty components of a path, "." and ".." included.
std::vector<std::string> splitPath(std::string_view path);

} // namespace airlock::shim
