#pragma once

#include "fsops.h"
#include "git.h"
#include "workspaceoptions.h"

#include <QString>
#include <QStringList>

#include <mutex>
#include <optional>

namespace airlock::workspace {

// One session's shadow repository: a bare git repository in Airlock's data folder whose work tree
// is the session's workspace. Only libgit2 object and ref storage is used; the index is a stat
// cache of our own making (see snapshot.cpp), and nothing ever reads or writes the workspace's .git.
//
// Layout of <gitDir>: objects/, refs/heads/checkpoints (the newest snapshot), index (the stat
// cache), info/exclude (Airlock's ignore list), objects/info/alternates (forks read their
// parent's objects from there). <gitDir>.lock, beside it, serialises writers across processes.
class ShadowRepo
{
public:
    enum class Mode {
        Write,    // create when missing, take the lock
        Read,     // must exist; no lock (objects never change once written)
    };

    // `session` names the repository in messages.
    static Result<ShadowRepo> open(const QString &gitDir, const QString &workspace, const QString &session,
                                   const WorkspaceOptions &options, Mode mode);

    ShadowRepo(ShadowRepo &&) noexcept;
    ShadowRepo &operator=(ShadowRepo &&) noexcept;
    ~ShadowRepo();

    git_repository *repo() const { return m_repo.get(); }
    const QString &gitDir() const { return m_gitDir; }
    const QString &workspace() const { return m_workspace; }
    const QString &session() const { return m_session; }
    const WorkspaceOptions &options() const { return m_options; }
    // Airlock's own files inside the workspace: never read, written or removed.
    const PrivateEntries &privateEntries() const { return m_private; }

    // The newest snapshot, if any.
    Result<std::optional<git_oid>> head();
    // Moves the head to `commit` if it still is `expected` (nullopt: there is no head yet).
    Result<void> setHead(const git_oid &commit, const std::optional<git_oid> &expected, const QString &why);

    Result<git::Commit> commit(const git_oid &id);
    Result<git::Tree> treeOf(const git_oid &commit);

    // The stat cache. Loaded on first use; a damaged one is set aside and rebuilt from the head's
    // tree (every file is then hashed once more), which indexRebuilt() reports.
    Result<git_index *> index();
    bool indexRebuilt() const { return m_indexRebuilt; }
    // Entries whose mtime is at or after this (ns since the epoch) may have changed without their
    // stat showing it, and are hashed again.
    qint64 racyCutoffNs() const { return m_racyCutoffNs; }
    // Writes the index and stamps it with the time the scan started, the reference for racyCutoffNs;
    // `head` is the snapshot whose set of paths the cache now holds (recorded in index.head).
    Result<void> writeIndex(qint64 scanStartNs, const git_oid &head);

    // The stat cache kept in memory between snapshots (by a ChangeJournal) saves reading the file:
    // indexStamp() identifies the file on disk; a kept cache is only adopted while it is unchanged.
    struct Stamp {
        quint64 dev = 0, ino = 0;
        qint64 size = -1, mtimeNs = 0;
        bool operator==(const Stamp &) const = default;
    };
    Stamp indexStamp() const;
    void adoptIndex(git::Index index, qint64 racyCutoffNs);
    git::Index releaseIndex();

    // gitignore semantics: the workspace's .gitignore files plus info/exclude. Thread-safe.
    bool isIgnored(const std::string &path, bool isDir);

    // Extra object folders to read from (forks see their ancestors' snapshots).
    Result<void> addAlternates(const QStringList &objectDirs);
    QString objectsDir() const { return m_gitDir + QStringLiteral("/objects"); }
    // The alternates this repository reads through, as written on disk.
    QStringList alternates() const;

    // The message for a repository libgit2 cannot read: what, where, and what to do.
    Error damaged(const Error &cause) const;

private:
    ShadowRepo() = default;
    Result<void> create();
    Result<void> syncExclude();
    Result<void> lock();
    Result<void> loadIndex();
    Result<void> reconcileIndex();

    QString m_gitDir;
    QString m_workspace;
    QString m_session;
    WorkspaceOptions m_options;
    PrivateEntries m_private;
    git::Repository m_repo;
    git::Index m_index;
    bool m_indexLoaded = false;
    bool m_indexRebuilt = false;
    qint64 m_racyCutoffNs = 0;
    fs::Fd m_lock;
    git_odb_backend *m_objectReader = nullptr; // owned by the repository's odb
    std::unique_ptr<std::mutex> m_ignoreMutex = std::make_unique<std::mutex>();
    git::Repository m_ignoreRepo; // the same repository with the workspace as work tree
};

// The ref that holds the newest snapshot.
inline constexpr char kHeadRef[] = "refs/heads/checkpoints";

} // namespace airlock::workspace
