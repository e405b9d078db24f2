#pragma once

// Protected names (core/sandbox/protectednames.h) in a workspace folder, found and, after a rewind
// or fork, removed when the session did not start with them: a `.git`, a hook, an editor task file
// the agent planted must not outlive the rewind that was meant to undo its work. The checkpoint a
// session starts with records what was there; later changes to those entries are the protection
// layer's to prevent, and the sweep only removes what is new.

#include "error.h"

#include <QStringList>

#include <optional>

namespace airlock::workspace {

struct CheckpointTree;

inline constexpr int kMaxProtectedEntries = 1000;

// The topmost protected entries below `rootFd`, workspace-relative and sorted; symlinks are never
// followed and nothing below a protected entry is listed. nullopt when there are more than
// kMaxProtectedEntries (the record is then left out, and a later sweep does nothing).
Result<std::optional<QStringList>> findProtectedEntries(int rootFd);

// Removes every protected entry below `rootFd` that `allowed` does not list, folders with all they
// hold; returns what it removed.
Result<QStringList> removePlantedProtected(int rootFd, const QStringList &allowed);

// The protected entries the family of sessions in `tree` started with (the Start checkpoint at the
// root of `node`'s lineage), or nullopt when that checkpoint did not record them.
std::optional<QStringList> startingProtectedEntries(const CheckpointTree &tree, int node);

} // namespace airlock::workspace
