#pragma once

// Shared fixtures for the checkpoint tests: real folders, real git repositories, a real store.
#include "store/eventstore.h"
#include "store/storereader.h"
#include "testutil.h"
#include "workspace/checkpointer.h"

#include <QCryptographicHash>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QMap>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace airlock::test {

// Writes a file, making its folders.
inline bool put(const QString &path, const QByteArray &bytes)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return false;
    return f.write(bytes) == bytes.size();
}

inline QByteArray slurp(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// Runs a shell command in `dir`, the way an agent's terminal would.
inline Run sh(const QString &dir, const QString &command)
{
    QProcess p;
    p.setWorkingDirectory(dir);
    p.start(QStringLiteral("/bin/sh"), {QStringLiteral("-c"), command});
    Run r;
    if (!p.waitForFinished(30000)) {
        p.kill();
        p.waitForFinished();
        return r;
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

// git with no user or system configuration, so the tests behave the same everywhere.
inline Run git(const QString &dir, const QStringList &args)
{
    QProcess p;
    p.setWorkingDirectory(dir);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("GIT_CONFIG_NOSYSTEM"), QStringLiteral("1"));
    env.insert(QStringLiteral("GIT_CONFIG_GLOBAL"), QStringLiteral("/dev/null"));
    env.insert(QStringLiteral("GIT_AUTHOR_NAME"), QStringLiteral("Test"));
    env.insert(QStringLiteral("GIT_AUTHOR_EMAIL"), QStringLiteral("test@example.com"));
    env.insert(QStringLiteral("GIT_COMMITTER_NAME"), QStringLiteral("Test"));
    env.insert(QStringLiteral("GIT_COMMITTER_EMAIL"), QStringLiteral("test@example.com"));
    p.setProcessEnvironment(env);
    p.start(QStringLiteral("git"), args);
    Run r;
    if (!p.waitForStarted(10000) || !p.waitForFinished(30000))
        return r;
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

inline bool haveGit()
{
    return git(QDir::tempPath(), {QStringLiteral("--version")}).exitCode == 0;
}

// Everything about a folder that a restore must get right, by relative path: files with their
// executable bit and content, symlinks with their target. Paths under any .git, those the filter
// rejects, and folders (implied by their files; empty ones are not kept) are left out.
inline QMap<QString, QString> fingerprint(const QString &root, const std::function<bool(const QString &)> &skip = {})
{
    QMap<QString, QString> out;
    QDirIterator it(root, QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden | QDir::System,
                    QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString path = it.next();
        const QString rel = QDir(root).relativeFilePath(path);
        if (rel == QLatin1String(".git") || rel.startsWith(QLatin1String(".git/")) || rel.contains(QLatin1String("/.git/"))
            || rel.endsWith(QLatin1String("/.git")) || (skip && skip(rel)))
            continue;
        struct stat st;
        if (::lstat(QFile::encodeName(path).constData(), &st) != 0)
            continue;
        if (S_ISLNK(st.st_mode)) {
            char buf[4096];
            const ssize_t n = ::readlink(QFile::encodeName(path).constData(), buf, sizeof buf);
            out.insert(rel, QStringLiteral("link:") + QString::fromLocal8Bit(buf, n < 0 ? 0 : n));
        }
        else if (S_ISDIR(st.st_mode))
            continue; // folders are implied by what they hold; empty ones are not kept by design
        else
            out.insert(rel, QStringLiteral("file%1:").arg((st.st_mode & S_IXUSR) ? QStringLiteral("+x") : QString())
                                + QString::fromLatin1(fileHash(path)));
    }
    return out;
}

// A byte-and-stat fingerprint of a user's .git folder: content, mode, size and mtime of every file.
inline QMap<QString, QString> dotGitFingerprint(const QString &gitDir)
{
    QMap<QString, QString> out;
    QDirIterator it(gitDir, QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden | QDir::System,
                    QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString path = it.next();
        struct stat st;
        if (::lstat(QFile::encodeName(path).constData(), &st) != 0)
            continue;
        out.insert(QDir(gitDir).relativeFilePath(path),
                   QStringLiteral("%1 %2 %3.%4 %5")
                       .arg(st.st_mode, 0, 8)
                       .arg(st.st_size)
                       .arg(st.st_mtim.tv_sec)
                       .arg(st.st_mtim.tv_nsec)
                       .arg(S_ISREG(st.st_mode) ? QString::fromLatin1(fileHash(path)) : QString()));
    }
    return out;
}

inline QString readLink(const QString &path)
{
    char buf[4096];
    const ssize_t n = ::readlink(QFile::encodeName(path).constData(), buf, sizeof buf);
    return n < 0 ? QString() : QString::fromLocal8Bit(buf, n);
}

inline bool isSymlink(const QString &path)
{
    struct stat st;
    return ::lstat(QFile::encodeName(path).constData(), &st) == 0 && S_ISLNK(st.st_mode);
}

inline bool isExecutable(const QString &path)
{
    struct stat st;
    return ::lstat(QFile::encodeName(path).constData(), &st) == 0 && (st.st_mode & S_IXUSR);
}

// A store with one session whose workspace is a fresh folder.
struct Bench {
    QTemporaryDir dir;
    QString db;
    QString workspace;
    std::unique_ptr<store::EventStore> store;

    explicit Bench(const QString &session = QStringLiteral("s1"), const QString &ws = QStringLiteral("ws"))
    {
        db = dir.filePath(QStringLiteral("data/airlock.db"));
        QDir().mkpath(dir.filePath(QStringLiteral("data")));
        workspace = dir.filePath(ws);
        QDir().mkpath(workspace);
        auto s = store::EventStore::open(db);
        if (s)
            store = std::move(*s);
        if (store && !session.isEmpty())
            addSession(session, workspace);
    }

    bool addSession(const QString &id, const QString &folder, const QJsonObject &extra = {})
    {
        QJsonObject payload{{QStringLiteral("title"), QStringLiteral("Session %1").arg(id)},
                            {QStringLiteral("workspace"), folder},
                            {QStringLiteral("agent"), QStringLiteral("demo")}};
        for (auto it = extra.begin(); it != extra.end(); ++it)
            payload.insert(it.key(), it.value());
        return store->append(id, QStringLiteral("session.created"), payload) && store->flush();
    }

    QString ws(const QString &rel) const { return workspace + u'/' + rel; }

    QList<store::Event> events(const QString &session, const QString &kind = {})
    {
        auto reader = store::StoreReader::open(db);
        if (!reader)
            return {};
        auto all = reader->events(store::EventQuery{session, 0, 100000, false, {}, 0});
        QList<store::Event> out;
        for (const auto &e : all.value_or(QList<store::Event>()))
            if (kind.isEmpty() || e.kind == kind)
                out.append(e);
        return out;
    }
};

inline QString messageOf(const Error &e)
{
    return e.message;
}

} // namespace airlock::test

// Evaluates its argument once (it is often the call under test).
#define AIRLOCK_VERIFY_RESULT(expr)                                                                          \
    do {                                                                                                     \
        const auto &airlockResult_ = (expr);                                                                 \
        QVERIFY2(bool(airlockResult_), airlockResult_ ? "" : qPrintable(airlockResult_.error().message));  \
    } while (false)
