#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

// Workspace entries that tools on the host execute or load (git hooks and config, agent settings
// with hooks and MCP servers, editor tasks, dev-container commands, direnv and shell startup files),
// protected *by name at any depth*, whether they exist or not: an agent must not create, write,
// rename or delete them, or make one by renaming a folder. The one check every writer asks: the
// protection layer in front of the sandbox's workspace, the shim's file writes, ACP fs/write_text_file,
// rewind and fork, approvals. Qt-free, so the shim and the protection layer compile it as it is.
// Why each name is on the list: core/sandbox/README.md, "Protected names".

namespace airlock::protect {

struct Pattern {
    std::string text;        // '/'-separated glob components, e.g. ".git/hooks", "*.code-workspace"
    bool entryOnly = false;  // only the entry itself (".git": the folder or gitdir file), not its contents
};

// The built-in list; every workspace gets it, a policy can only add to it.
std::span<const Pattern> builtinPatterns();

class ProtectedNames
{
public:
    ProtectedNames();                                          // the built-in list
    explicit ProtectedNames(const std::vector<std::string> &additions); // built-ins plus these, by name at any depth

    // The pattern that makes `relative` (a workspace-relative path; "." and empty components are
    // skipped) a protected entry or a path inside one, or an empty string. Names compare without
    // regard to case: a case-insensitive file system on the host would take .GIT for .git.
    std::string match(std::string_view relative) const;
    bool covers(std::string_view relative) const { return !match(relative).empty(); }

    const std::vector<Pattern> &patterns() const { return m_patterns; }

private:
    std::vector<Pattern> m_patterns;
    std::vector<std::vector<std::string>> m_split;
};

// Splits on '/', dropping empty and "." components.
std::vector<std::string_view> pathComponents(std::string_view relative);

} // namespace airlock::protect
