#pragma once

#include "policy/policy.h"
#include "sandbox/protectednames.h"

#include <QString>

// The policy's view of the protected names (core/sandbox/protectednames.h): the built-in list plus
// filesystem.protectedPaths, each matched by name at any depth of the workspace.

namespace airlock::policy {

protect::ProtectedNames protectedNames(const Filesystem &fs);

// The pattern that protects `relative` (workspace-relative), or an empty string.
QString protectedMatch(const protect::ProtectedNames &names, const QString &relative);

// `path` relative to `workspace` when it is inside it ("" for the workspace itself), else a null string.
QString workspaceRelative(const QString &workspace, const QString &path);

// "… is protected (.git/hooks): tools on the host run it; change it yourself outside the sandbox."
QString protectedRefusal(const QString &path, const QString &pattern);

} // namespace airlock::policy
