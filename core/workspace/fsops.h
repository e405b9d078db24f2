#pragma once

// File operations below a workspace root that never follow a symlink: every folder on the way is
// opened relative to its parent with O_NOFOLLOW, so a symlink planted by an agent (or raced in
// while we work) cannot send a write, delete or read outside the workspace.

#include "error.h"

#include <string>
#include <string_view>

#include <sys/stat.h>

namespace airlock::workspace::fs {

// An owned file descriptor.
class Fd
{
public:
    Fd() = default;
    explicit Fd(int fd) : m_fd(fd) {}
    Fd(Fd &&o) noexcept : m_fd(std::exchange(o.m_fd, -1)) {}
    Fd &operator=(Fd &&o) noexcept;
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
    ~Fd();
    int get() const { return m_fd; }
    bool valid() const { return m_fd >= 0; }
    int release() { return std::exchange(m_fd, -1); }

private:
    int m_fd = -1;
};

// A relative path a checkpoint may hold: no empty, "." or ".." component, no ".git" in any case.
bool isSafeRelativePath(std::string_view path);
bool isDotGit(std::string_view name);

Result<Fd> openRoot(const QString &folder);

enum class Walk {
    Existing, // the folder must exist as it is; anything else means "not there"
    Create,   // missing folders are made; a file or symlink in the way is removed first
};

// Opens the folder that holds `path` (relative to root). With Walk::Existing, a component that is
// missing, a symlink or a file yields NotFound. `leaf` receives the last component.
Result<Fd> openParent(int root, std::string_view path, Walk walk, std::string *leaf);

// Replaces `name` in `dir` atomically (temporary file, then rename) with the content given.
// The rename replaces a symlink itself, never its target. A folder in the way is removed first
// unless it holds a git repository.
Result<void> writeFile(int dir, const std::string &name, const char *data, size_t size, bool executable);
Result<void> writeSymlink(int dir, const std::string &name, const std::string &target);

// Removes a file or symlink; a missing one is not an error.
Result<void> removeFile(int dir, const std::string &name);
// Removes a folder and everything in it, without following symlinks. Refuses (and removes
// nothing) when a `.git` is anywhere inside: that would be somebody's repository.
Result<void> removeTree(int dir, const std::string &name);
// Removes an empty folder; false (and no error) when it is not empty or not there.
bool removeEmptyDir(int dir, const std::string &name);

// lstat relative to a folder.
bool statAt(int dir, const std::string &name, struct stat *st);

QString errnoMessage(int err);

} // namespace airlock::workspace::fs
