#pragma once

#include "scanner.h"
#include "shadowrepo.h"

#include <QString>

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

namespace airlock::workspace {

// Which folders of a workspace changed since the last snapshot, from inotify, so a snapshot can look
// at those folders instead of lstat-ing every file (the cost that otherwise grows with the
// workspace). One watch per folder the snapshot walks (ignored ones and every .git are left out).
// Events wait in the kernel's queue and are read when a snapshot starts, so everything finished
// before then is included without a thread of our own.
//
// It says "scan everything" (Changes::full) whenever it cannot vouch for the answer: before the
// first full scan, after the kernel's queue overflowed or a watch could not be added, when a
// .gitignore changed (what is ignored changed), and every kFullScanEvery snapshots as a safety net.
class ChangeJournal
{
public:
    explicit ChangeJournal(QString workspace);
    ~ChangeJournal();
    ChangeJournal(const ChangeJournal &) = delete;
    ChangeJournal &operator=(const ChangeJournal &) = delete;

    // Drains the kernel's queue and hands over what it says, starting a new record. Folders that
    // appeared are watched from here on.
    ScanScope take(ShadowRepo &repo);
    // (Re)watches every folder a full scan walks; call just before the full scan, so that what
    // changes from here on is recorded. False when watching is not possible (no inotify, no watches
    // left): then every snapshot scans everything.
    bool reset(ShadowRepo &repo);

    // Forget what was recorded (a snapshot that took it failed): the next one scans everything.
    void invalidate()
    {
        m_trusted = false;
        m_index.reset();
    }

    // The stat cache as the last snapshot left it, kept in memory: reading the file costs more than
    // the rest of a small snapshot. Handed back only while the file on disk is the one it came from.
    void keepIndex(ShadowRepo &repo);
    void lendIndex(ShadowRepo &repo);

    // The files over the cap or unreadable, as the last full scan found them and incremental ones
    // have updated them: an incremental scan only meets the ones in changed folders.
    std::vector<ScanSkip> mergeSkipped(const ScanScope &scope, const std::vector<ScanSkip> &found, qint64 maxBytes);

    const QString &workspace() const { return m_workspace; }
    static constexpr int kFullScanEvery = 50;

private:
    void drain();
    void handle(int wd, quint32 mask, const char *name);
    void watchTree(ShadowRepo &repo, int dirFd, const std::string &path);
    void forget(const std::string &prefix);

    QString m_workspace;
    int m_fd = -1;
    bool m_trusted = false;
    int m_sinceFull = 0;
    std::unordered_map<int, std::string> m_paths; // watch → folder ("" is the root)
    std::set<std::string> m_dirty;                          // folders whose names changed
    std::map<std::string, std::set<std::string>> m_touched; // folder → files written or chmod-ed
    std::set<std::string> m_deep;
    std::map<std::string, ScanSkip> m_skipped;
    git::Index m_index;
    ShadowRepo::Stamp m_indexStamp;
    qint64 m_indexCutoff = 0;
    bool m_skippedKnown = false;
};

} // namespace airlock::workspace
