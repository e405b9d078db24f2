#include "protectednames.h"

#include <iterator>

#include <fnmatch.h>

namespace airlock::protect {

namespace {

// Kept in step with the table in core/sandbox/README.md.
const Pattern kBuiltin[] = {
    // git: a repository's own folder (a new one anywhere is a repository the host's git would use,
    // with its config and hooks), a gitdir file pointing elsewhere, and what runs code inside.
    {".git", true},
    {".git/config", false},
    {".git/config.worktree", false},
    {".git/commondir", false},
    {".git/hooks", false},
    {".git/info/attributes", false},
    {".git/modules", false},
    {".git/worktrees", false},
    {".gitmodules", false},
    {".gitconfig", false},
    {".gitattributes", false},
    {".husky", false},
    {".pre-commit-config.yaml", false},
    {".pre-commit-hooks.yaml", false},
    {"lefthook.yml", false},
    {".lefthook.yml", false},
    // Agents' own settings: hooks, commands, sub-agents and MCP servers they start on the host.
    {".claude/settings.json", false},
    {".claude/settings.local.json", false},
    {".claude/commands", false},
    {".claude/agents", false},
    {".claude/hooks", false},
    {".mcp.json", false},
    {".codex", false},
    {".gemini/settings.json", false},
    {".cursor", false},
    {".windsurf", false},
    {".aider.conf.yml", false},
    // Editors and dev containers: tasks that run when a folder opens, launch configurations,
    // host-side commands (initializeCommand).
    {".vscode", false},
    {"*.code-workspace", false},
    {".idea", false},
    {".zed", false},
    {".fleet", false},
    {".devcontainer", false},
    {".devcontainer.json", false},
    // Shell and environment loaders.
    {".envrc", false},
    {".bashrc", false},
    {".bash_profile", false},
    {".bash_login", false},
    {".bash_logout", false},
    {".profile", false},
    {".zshrc", false},
    {".zshenv", false},
    {".zprofile", false},
    {".zlogin", false},
    {".zlogout", false},
    {".mise.toml", false},
    {"mise.toml", false},
    {".mise", false},
    // Package managers run scripts or load code named here when the host installs.
    {".npmrc", false},
    {".yarnrc", false},
    {".yarnrc.yml", false},
    {".pnpmfile.cjs", false},
    {".yarn/plugins", false},
    {".yarn/releases", false},
    {"pip.conf", false},
    {".cargo/config", false},
    {".cargo/config.toml", false},
    {".ripgreprc", false},
};

std::vector<std::string> splitOwned(std::string_view text)
{
    std::vector<std::string> out;
    for (std::string_view c : pathComponents(text))
        out.emplace_back(c);
    return out;
}

bool componentMatches(const std::string &pattern, std::string_view name)
{
    const std::string n(name);
    return ::fnmatch(pattern.c_str(), n.c_str(), FNM_CASEFOLD) == 0;
}

} // namespace

std::span<const Pattern> builtinPatterns()
{
    return kBuiltin;
}

std::vector<std::string_view> pathComponents(std::string_view relative)
{
    std::vector<std::string_view> out;
    size_t start = 0;
    while (start <= relative.size()) {
        size_t slash = relative.find('/', start);
        if (slash == std::string_view::npos)
            slash = relative.size();
        const std::string_view c = relative.substr(start, slash - start);
        if (!c.empty() && c != ".")
            out.push_back(c);
        start = slash + 1;
    }
    return out;
}

ProtectedNames::ProtectedNames() : ProtectedNames(std::vector<std::string>{}) {}

ProtectedNames::ProtectedNames(const std::vector<std::string> &additions)
{
    m_patterns.assign(std::begin(kBuiltin), std::end(kBuiltin));
    for (const std::string &a : additions) {
        if (!pathComponents(a).empty())
            m_patterns.push_back({a, false});
    }
    for (const Pattern &p : m_patterns)
        m_split.push_back(splitOwned(p.text));
}

std::string ProtectedNames::match(std::string_view relative) const
{
    const std::vector<std::string_view> c = pathComponents(relative);
    for (size_t p = 0; p < m_patterns.size(); ++p) {
        const std::vector<std::string> &parts = m_split[p];
        const size_t k = parts.size();
        if (k == 0 || k > c.size())
            continue;
        // Subtree patterns may start at any depth; an entry-only one must end at the last component.
        const size_t first = m_patterns[p].entryOnly ? c.size() - k : 0;
        for (size_t i = first; i + k <= c.size(); ++i) {
            bool all = true;
            for (size_t j = 0; j < k && all; ++j)
                all = componentMatches(parts[j], c[i + j]);
            if (all)
                return m_patterns[p].text;
        }
    }
    return {};
}

} // namespace airlock::protect
