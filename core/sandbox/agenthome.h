#pragma once

#include "error.h"

#include <QString>

#include <optional>
#include <sys/types.h>

namespace airlock::sandbox {

// Makes `dir` ready to be an agent's kept home: created (with its parents) if missing, a real folder
// (never a symlink), mode 0700, and owned by uid:gid when the launcher is root (so the sandbox's user
// can write it). With `traverseAs`, also checks that this user can reach it through its parents, as a
// sandbox that drops to that user before mounting must; the error then says which parent is closed.
Result<void> prepareAgentHome(const QString &dir, std::optional<uid_t> uid, std::optional<gid_t> gid,
                              std::optional<uid_t> traverseAs = std::nullopt);

} // namespace airlock::sandbox
