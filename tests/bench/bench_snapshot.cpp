// Snapshot cost on a big workspace with a few changed files, against the usual shadow-git approach
// (`git add -A && git commit` into a separate git dir) measured in the same run on the same files.
//   bench_snapshot [FILES] [CHANGED] [ROUNDS] [EVENTS] [SCAN_THREADS] [JOURNAL]
//   defaults: 10000 files in 100 folders, 10 changed per round, 15 rounds, 100000 events, 2 threads,
//   journal 1 (a session's snapshots with the inotify change journal; 0: every snapshot scans all)
// The folders live in $TMPDIR (TMPDIR=/dev/shm takes the disk out of the comparison).
// Prints medians, the ratio git/Airlock, and disk growth per snapshot (apparent and allocated bytes
// of the object folders). The last section times reading a session's checkpoint history with EVENTS
// other events in it, which is what a checkpoints projection table would speed up.
#include "store/eventstore.h"
#include "store/storereader.h"
#include "workspace/checkpointer.h"
#include "workspace/checkpointtree.h"
#include "workspace/shadowrepo.h"
#include "workspace/snapshot.h"

#include <QCoreApplication>
#include <QDir>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>

#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

using namespace airlock;
using namespace airlock::workspace;

namespace {

struct DiskUse {
    qint64 apparent = 0;
    qint64 allocated = 0;
};

DiskUse diskUse(const QString &dir)
{
    DiskUse d;
    QDirIterator it(dir, QDir::Files | QDir::Hidden | QDir::System, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        struct stat st;
        if (::lstat(QFile::encodeName(it.next()).constData(), &st) == 0) {
            d.apparent += st.st_size;
            d.allocated += qint64(st.st_blocks) * 512;
        }
    }
    return d;
}

// CPU time (user + system) of this process, or of its waited-for children, in ms: under a loaded
// machine wall time swings, CPU time much less.
double cpuMs(int who)
{
    rusage u{};
    getrusage(who, &u);
    return (double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3) + double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

double median(std::vector<double> v)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

bool gitBaseline(const QString &gitDir, const QString &ws, const QString &command, double *ms)
{
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("GIT_DIR"), gitDir);
    env.insert(QStringLiteral("GIT_WORK_TREE"), ws);
    env.insert(QStringLiteral("GIT_CONFIG_NOSYSTEM"), QStringLiteral("1"));
    env.insert(QStringLiteral("GIT_AUTHOR_NAME"), QStringLiteral("bench"));
    env.insert(QStringLiteral("GIT_AUTHOR_EMAIL"), QStringLiteral("bench@example.com"));
    env.insert(QStringLiteral("GIT_COMMITTER_NAME"), QStringLiteral("bench"));
    env.insert(QStringLiteral("GIT_COMMITTER_EMAIL"), QStringLiteral("bench@example.com"));
    p.setProcessEnvironment(env);
    p.setWorkingDirectory(ws);
    QElapsedTimer t;
    t.start();
    p.start(QStringLiteral("/bin/sh"), {QStringLiteral("-c"), command});
    if (!p.waitForFinished(120000) || p.exitCode() != 0) {
        std::fprintf(stderr, "git failed: %s\n", p.readAllStandardError().constData());
        return false;
    }
    *ms = double(t.nsecsElapsed()) / 1e6;
    return true;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const int files = argc > 1 ? std::atoi(argv[1]) : 10000;
    const int changed = argc > 2 ? std::atoi(argv[2]) : 10;
    const int rounds = argc > 3 ? std::atoi(argv[3]) : 15;
    const int events = argc > 4 ? std::atoi(argv[4]) : 100000;
    const int threads = argc > 5 ? std::atoi(argv[5]) : WorkspaceOptions().scanThreads;
    const bool journal = argc > 6 ? std::atoi(argv[6]) != 0 : true;
    QTemporaryDir tmp;
    const QString ws = tmp.filePath(QStringLiteral("ws"));
    const QString db = tmp.filePath(QStringLiteral("data/airlock.db"));
    const QString baseline = tmp.filePath(QStringLiteral("baseline.git"));
    QDir().mkpath(tmp.filePath(QStringLiteral("data")));
    const int folders = std::max(1, files / 100);
    for (int i = 0; i < files; ++i) {
        const QString path = QStringLiteral("%1/d%2/f%3.txt").arg(ws).arg(i % folders).arg(i);
        QDir().mkpath(QFileInfo(path).absolutePath());
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly))
            return 1;
        for (int line = 0; line < 20; ++line)
            f.write(QStringLiteral("file %1 line %2 some typical source text\n").arg(i).arg(line).toUtf8());
    }

    auto store = store::EventStore::open(db);
    if (!store)
        return 1;
    (*store)->append(QStringLiteral("bench"), QStringLiteral("session.created"), {{QStringLiteral("workspace"), ws}});
    (void)(*store)->flush();
    WorkspaceOptions options;
    options.scanThreads = threads;
    Checkpointer checkpointer(**store, options);
    const bool watching = journal && checkpointer.watch(QStringLiteral("bench"));
    auto take = [&](double *ms, CheckpointOutcome *out = nullptr) {
        QElapsedTimer t;
        t.start();
        auto r = checkpointer.create(CheckpointRequest{QStringLiteral("bench"), Cause::ToolCall});
        *ms = double(t.nsecsElapsed()) / 1e6;
        if (!r)
            std::fprintf(stderr, "%s\n", qPrintable(r.error().message));
        else if (out)
            *out = *r;
        return bool(r);
    };

    double first = 0, firstGit = 0, settle = 0, unchanged = 0;
    if (!take(&first) || !take(&settle) || !take(&unchanged))
        return 1;
    if (!gitBaseline(baseline, ws, QStringLiteral("git init -q && git add -A && git commit -q -m init"), &firstGit))
        return 1;
    const QString objects = shadowGitDir(db, QStringLiteral("bench")) + QStringLiteral("/objects");
    std::printf("workspace          %d files in %d folders, %d changed per round, %d rounds, %d scan threads, journal %s, in %s\n",
                files, folders, changed, rounds, threads, watching ? "on" : "off", qPrintable(tmp.path()));
    std::printf("first snapshot     airlock %.1f ms   git add+commit %.1f ms\n", first, firstGit);
    std::printf("unchanged tree     airlock %.2f ms (no commit, no event)\n", unchanged);

    std::vector<double> ours, theirs, oursCpu, theirsCpu, grow, growAlloc, gitGrow, gitGrowAlloc, hashed, scanned;
    for (int r = 0; r < rounds; ++r) {
        for (int k = 0; k < changed; ++k) {
            const int i = (r * 7919 + k * 104729) % files;
            QFile f(QStringLiteral("%1/d%2/f%3.txt").arg(ws).arg(i % folders).arg(i));
            if (!f.open(QIODevice::Append))
                return 1;
            f.write(QStringLiteral("round %1 change %2\n").arg(r).arg(k).toUtf8());
        }
        const DiskUse before = diskUse(objects);
        double ms = 0;
        CheckpointOutcome out;
        const double cpu0 = cpuMs(RUSAGE_SELF);
        if (!take(&ms, &out))
            return 1;
        oursCpu.push_back(cpuMs(RUSAGE_SELF) - cpu0);
        const DiskUse after = diskUse(objects);
        ours.push_back(ms);
        hashed.push_back(double(out.filesHashed));
        scanned.push_back(double(out.filesScanned));
        grow.push_back(double(after.apparent - before.apparent));
        growAlloc.push_back(double(after.allocated - before.allocated));
        const DiskUse gitBefore = diskUse(baseline + QStringLiteral("/objects"));
        double gitMs = 0;
        const double gitCpu0 = cpuMs(RUSAGE_CHILDREN);
        if (!gitBaseline(baseline, ws, QStringLiteral("git add -A && git commit -q -m snap"), &gitMs))
            return 1;
        theirsCpu.push_back(cpuMs(RUSAGE_CHILDREN) - gitCpu0);
        const DiskUse gitAfter = diskUse(baseline + QStringLiteral("/objects"));
        theirs.push_back(gitMs);
        gitGrow.push_back(double(gitAfter.apparent - gitBefore.apparent));
        gitGrowAlloc.push_back(double(gitAfter.allocated - gitBefore.allocated));
    }
    const double mo = median(ours), mt = median(theirs);
    std::printf("snapshot, median   airlock %.2f ms   git add -A && git commit %.2f ms   ratio %.1fx   (airlock min %.2f max %.2f)\n",
                mo, mt, mt / mo, *std::min_element(ours.begin(), ours.end()), *std::max_element(ours.begin(), ours.end()));
    const double co = median(oursCpu), ct = median(theirsCpu);
    std::printf("cpu time, median   airlock %.2f ms   git add -A && git commit %.2f ms   ratio %.1fx\n", co, ct, ct / co);
    std::printf("files looked at    %.0f lstat, %.0f read, per snapshot (of %d)\n", median(scanned), median(hashed), files);
    std::printf("disk per snapshot  airlock %.0f bytes (%.0f allocated), %.0f per changed file;  git %.0f bytes (%.0f allocated)\n",
                median(grow), median(growAlloc), median(grow) / changed, median(gitGrow), median(gitGrowAlloc));
    const DiskUse total = diskUse(shadowGitDir(db, QStringLiteral("bench")));
    std::printf("shadow repository  %.1f MiB in all (index %.1f KiB)\n", double(total.apparent) / 1048576.0,
                double(QFileInfo(shadowGitDir(db, QStringLiteral("bench")) + QStringLiteral("/index")).size()) / 1024.0);

    if (events > 0) {
        for (int i = 0; i < events; ++i)
            (*store)->append(QStringLiteral("bench"), QStringLiteral("agent.message"),
                             {{QStringLiteral("text"), QStringLiteral("message %1 with a little text in it").arg(i)}});
        (void)(*store)->flush();
        QElapsedTimer t;
        t.start();
        auto tree = loadCheckpointTree(db, QStringLiteral("bench"));
        const double treeMs = double(t.nsecsElapsed()) / 1e6;
        t.restart();
        auto reader = store::StoreReader::open(db);
        auto row = reader->session(QStringLiteral("bench"));
        const double rowMs = double(t.nsecsElapsed()) / 1e6;
        std::printf("history read       %lld checkpoints among %d events: %.1f ms (a session row: %.2f ms)\n",
                    tree ? qint64(tree->nodes.size()) : -1LL, events, treeMs, rowMs);
        Q_UNUSED(row);
    }
    return 0;
}
