#pragma once

#include <QString>
#include <QStringList>

#include <string>
#include <string_view>
#include <vector>

namespace airlock::workspace {

// Airlock's own files, which may lie inside a workspace (a database kept in the project folder, a
// workspace that is the home folder). A snapshot never reads them and a rewind or fork never writes
// or removes them: closing any descriptor of a database file drops every lock this process holds on
// it, so other processes take its WAL away, and a copy taken mid-write is no database anyway.
struct PrivatePaths {
    QStringList files;   // absolute: the database and its -wal, -shm and -journal
    QStringList folders; // absolute: the shadow repositories, the data and runtime folders
};

// The private paths of an Airlock using the database at dbPath.
PrivatePaths airlockPrivatePaths(const QString &dbPath);

// The private paths that lie inside one workspace, relative to it, as the scanner and restore see
// paths (symlinks resolved on both sides, so the real location counts).
class PrivateEntries
{
public:
    PrivateEntries() = default;
    PrivateEntries(const PrivatePaths &paths, const QString &workspace);

    // True for a private file and for a private folder and everything in it.
    bool contains(std::string_view relativePath) const;
    bool isEmpty() const { return m_files.empty() && m_folders.empty(); }

private:
    std::vector<std::string> m_files;
    std::vector<std::string> m_folders;
};

} // namespace airlock::workspace
