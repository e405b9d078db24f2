// The protection layer (airlock-protectfs): every protected name, at the top and nested, refuses
// create, write, append, truncate, rename to and from, a rename of its parent, delete, hard links,
// symlinks and mkdir with EPERM, and the host folder stays as it was; ordinary work, git commits in
// an existing repository included, goes through.
#include "sandbox/sandboxtestutil.h"
#include "testutil.h"

#include <QCryptographicHash>
#include <QDir>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

using namespace airlock;

namespace {

// A stand-in airlock-protectfs in `dir` running `body` as a shell script, reachable by a root
// launcher's sandbox user; empty on failure.
QString fakeLayer(const QTemporaryDir &dir, const char *body)
{
    ::chmod(QFile::encodeName(dir.path()).constData(), 0755);
    const QString fake = dir.path() + QStringLiteral("/airlock-protectfs");
    QFile script(fake);
    if (!script.open(QIODevice::WriteOnly) || script.write(QByteArray("#!/bin/sh\n") + body) < 0)
        return {};
    script.close();
    const bool executable = QFile::setPermissions(fake, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner | QFile::ReadGroup
                                                            | QFile::ExeGroup | QFile::ReadOther | QFile::ExeOther);
    return executable ? fake : QString();
}

// The layer over `workspace` at `mountPoint`, for as long as the object lives.
class Layer
{
public:
    Layer(const QString &workspace, const QString &mountPoint)
    {
        // AIRLOCK_PROTECTFS runs the same tests against another build of the layer.
        const QString forced = qEnvironmentVariable("AIRLOCK_PROTECTFS");
        m_process.setProgram(forced.isEmpty() ? QStringLiteral(AIRLOCK_PROTECTFS_PATH) : forced);
        m_process.setArguments({workspace, mountPoint});
        m_process.setProcessChannelMode(QProcess::SeparateChannels);
        m_process.start();
        while (m_process.state() != QProcess::NotRunning && !m_process.canReadLine())
            m_process.waitForReadyRead(10000);
        m_ready = m_process.readLine() == "ready\n";
        if (!m_ready)
            m_error = QString::fromLocal8Bit(m_process.readAllStandardError());
    }
    ~Layer()
    {
        m_process.terminate();
        if (!m_process.waitForFinished(10000))
            m_process.kill();
        m_process.waitForFinished(10000);
    }
    bool ready() const { return m_ready; }
    QString error() const { return m_error; }

private:
    QProcess m_process;
    bool m_ready = false;
    QString m_error;
};

// Everything in a folder, .git included, by relative path: type, mode, content.
QMap<QString, QString> snapshot(const QString &root)
{
    QMap<QString, QString> out;
    QDirIterator it(root, QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden | QDir::System, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString path = it.next();
        struct stat st;
        if (::lstat(QFile::encodeName(path).constData(), &st) != 0)
            continue;
        QString v = QString::number(st.st_mode, 8) + u' ' + QString::number(st.st_ino);
        if (S_ISREG(st.st_mode)) {
            QFile f(path);
            if (f.open(QIODevice::ReadOnly))
                v += u' ' + QString::fromLatin1(QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha1).toHex());
        }
        out.insert(QDir(root).relativeFilePath(path), v);
    }
    return out;
}

QByteArray path8(const QString &p)
{
    return QFile::encodeName(p);
}

bool makeFile(const QString &path, const QByteArray &content)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(content) == content.size();
}

} // namespace

class TestProtectedLayer : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    int m_round = 0;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        const int fd = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
        if (fd < 0)
            QSKIP("/dev/fuse cannot be opened here; the protection layer needs FUSE (apt install fuse3)");
        ::close(fd);
    }

    void operationsOnProtectedNames_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<bool>("folder");
        QTest::addColumn<QString>("op");
        struct Name {
            const char *name;
            bool folder;
        };
        const Name names[] = {{".git", true},           {".git/config", false},           {".git/hooks/pre-commit", false},
                              {".gitmodules", false},   {".envrc", false},                {".vscode/tasks.json", false},
                              {".claude/settings.json", false}, {".mcp.json", false},     {"proj.code-workspace", false},
                              {".devcontainer", true},  {".bashrc", false}};
        const char *fileOps[] = {"create", "write", "append", "truncate", "rename-to", "rename-from", "rename-parent",
                                 "delete", "hardlink-to", "hardlink-from", "symlink", "mkdir", "chmod"};
        const char *folderOps[] = {"create", "rename-to", "rename-from", "rename-parent", "delete", "symlink", "mkdir"};
        for (const char *prefix : {"", "n1/n2/"}) {
            for (const Name &n : names) {
                const QString path = QString::fromLatin1(prefix) + QString::fromLatin1(n.name);
                for (const char *op : n.folder ? std::span<const char *const>(folderOps) : std::span<const char *const>(fileOps)) {
                    if (QByteArray(op) == "rename-parent" && !path.contains(u'/'))
                        continue; // the workspace root itself cannot be renamed
                    QTest::addRow("%s %s", op, qPrintable(path)) << path << n.folder << QString::fromLatin1(op);
                }
            }
        }
    }

    void operationsOnProtectedNames()
    {
        QFETCH(QString, name);
        QFETCH(bool, folder);
        QFETCH(QString, op);
        const QString round = m_dir.filePath(QString::number(++m_round));
        const QString host = round + QStringLiteral("/ws");
        const QString mnt = round + QStringLiteral("/mnt");
        QVERIFY(QDir().mkpath(host) && QDir().mkpath(mnt));
        const bool absentOp = op == u"create" || op == u"rename-to" || op == u"hardlink-to" || op == u"symlink" || op == u"mkdir";
        // Set up on the host before the layer is there: the name present, or only its parent.
        if (absentOp) {
            QVERIFY(QDir().mkpath(QFileInfo(host + u'/' + name).absolutePath()));
        } else if (folder) {
            QVERIFY(makeFile(host + u'/' + name + QStringLiteral("/keep"), "kept\n"));
        } else {
            QVERIFY(makeFile(host + u'/' + name, "original\n"));
        }
        QVERIFY(makeFile(host + QStringLiteral("/plain.txt"), "plain\n"));
        QVERIFY(QDir().mkpath(host + QStringLiteral("/emptydir")));
        const auto before = snapshot(host);

        Layer layer(host, mnt);
        QVERIFY2(layer.ready(), qPrintable(layer.error()));
        const QByteArray p = path8(mnt + u'/' + name);
        const QByteArray top = path8(mnt + u'/' + name.section(u'/', 0, 0));
        const QByteArray plain = path8(mnt + QStringLiteral("/plain.txt"));
        const QByteArray emptyDir = path8(mnt + QStringLiteral("/emptydir"));
        const QByteArray elsewhere = path8(mnt + QStringLiteral("/elsewhere"));
        int rc = 0;
        errno = 0;
        auto openRc = [](int fd) {
            if (fd >= 0)
                ::close(fd);
            return fd < 0 ? -1 : 0;
        };
        if (op == u"create")
            rc = folder ? ::mkdir(p, 0755) : openRc(::open(p, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644));
        else if (op == u"write")
            rc = openRc(::open(p, O_WRONLY | O_CLOEXEC));
        else if (op == u"append")
            rc = openRc(::open(p, O_WRONLY | O_APPEND | O_CLOEXEC));
        else if (op == u"truncate")
            rc = ::truncate(p, 0);
        else if (op == u"rename-to")
            rc = ::rename(folder ? emptyDir : plain, p);
        else if (op == u"rename-from")
            rc = ::rename(p, elsewhere);
        else if (op == u"rename-parent")
            rc = ::rename(top, elsewhere);
        else if (op == u"delete")
            rc = folder ? ::rmdir(p) : ::unlink(p);
        else if (op == u"hardlink-to")
            rc = ::link(plain, p);
        else if (op == u"hardlink-from")
            rc = ::link(p, elsewhere);
        else if (op == u"symlink")
            rc = ::symlink("plain.txt", p);
        else if (op == u"mkdir")
            rc = ::mkdir(p, 0755);
        else if (op == u"chmod")
            rc = ::chmod(p, 0777);
        const int err = errno;
        QCOMPARE(rc, -1);
        QVERIFY2(err == EPERM, qPrintable(QStringLiteral("%1 failed with %2, not EPERM").arg(op, QString::fromLocal8Bit(strerror(err)))));
        QCOMPARE(snapshot(host), before);
    }

    void ordinaryWorkGoesThrough()
    {
        if (QStandardPaths::findExecutable(QStringLiteral("git")).isEmpty())
            QSKIP("git is not installed");
        const QString host = m_dir.filePath(QStringLiteral("ordinary/ws"));
        const QString mnt = m_dir.filePath(QStringLiteral("ordinary/mnt"));
        QVERIFY(QDir().mkpath(host) && QDir().mkpath(mnt));
        auto git = [](const QString &dir, const QStringList &args) {
            return test::run(QStringLiteral("git"), QStringList{QStringLiteral("-C"), dir, QStringLiteral("-c"),
                                                                QStringLiteral("user.name=t"), QStringLiteral("-c"),
                                                                QStringLiteral("user.email=t@example.com")} + args);
        };
        QVERIFY(git(host, {QStringLiteral("init"), QStringLiteral("-q")}).exitCode == 0);
        QVERIFY(makeFile(host + QStringLiteral("/a.txt"), "a\n"));
        QVERIFY(git(host, {QStringLiteral("add"), QStringLiteral("a.txt")}).exitCode == 0);
        QVERIFY(git(host, {QStringLiteral("commit"), QStringLiteral("-qm"), QStringLiteral("first")}).exitCode == 0);

        Layer layer(host, mnt);
        QVERIFY2(layer.ready(), qPrintable(layer.error()));
        // Files, folders, renames, links and modes, as on any file system.
        QVERIFY(makeFile(mnt + QStringLiteral("/src/deep/b.txt"), "b\n"));
        QVERIFY(::rename(path8(mnt + QStringLiteral("/src/deep")), path8(mnt + QStringLiteral("/src/deeper"))) == 0);
        QVERIFY(::link(path8(mnt + QStringLiteral("/a.txt")), path8(mnt + QStringLiteral("/a-link.txt"))) == 0);
        QVERIFY(::symlink("a.txt", path8(mnt + QStringLiteral("/a-sym"))) == 0);
        QVERIFY(::chmod(path8(mnt + QStringLiteral("/src/deeper/b.txt")), 0755) == 0);
        struct stat one, two;
        QVERIFY(::stat(path8(mnt + QStringLiteral("/a.txt")), &one) == 0 && ::stat(path8(mnt + QStringLiteral("/a-link.txt")), &two) == 0);
        QCOMPARE(one.st_ino, two.st_ino);
        // The new name's attributes are fresh; the old name's may lag for the attribute cache's second.
        QCOMPARE(two.st_nlink, nlink_t(2));
        QVERIFY(::lstat(path8(host + QStringLiteral("/src/deeper/b.txt")), &one) == 0);
        QCOMPARE(one.st_mode & 0777, mode_t(0755));
        // git inside the existing repository: index, objects, refs and HEAD are written.
        QVERIFY(makeFile(mnt + QStringLiteral("/a.txt"), "a2\n"));
        QVERIFY(git(mnt, {QStringLiteral("add"), QStringLiteral("-A")}).exitCode == 0);
        const auto commit = git(mnt, {QStringLiteral("commit"), QStringLiteral("-qm"), QStringLiteral("second")});
        QVERIFY2(commit.exitCode == 0, commit.err.constData());
        QVERIFY(git(mnt, {QStringLiteral("checkout"), QStringLiteral("-qb"), QStringLiteral("topic")}).exitCode == 0);
        const auto log = git(host, {QStringLiteral("log"), QStringLiteral("--oneline")});
        QVERIFY2(log.out.contains("second"), log.out.constData());
        // ... but not its config.
        QCOMPARE(git(mnt, {QStringLiteral("config"), QStringLiteral("core.fsmonitor"), QStringLiteral("x")}).exitCode == 0, false);
    }

    void localSandboxSeesTheWorkspaceThroughTheLayer()
    {
        AIRLOCK_REQUIRE_BWRAP();
        sandbox::test::SandboxFixture f;
        const QString ws = f.workspace();
        QVERIFY(makeFile(ws + QStringLiteral("/.git/config"), "[core]\n"));
        QVERIFY(QDir().mkpath(ws + QStringLiteral("/.git/hooks")));
        QVERIFY(makeFile(ws + QStringLiteral("/src/main.c"), "int main;\n"));
        const auto before = snapshot(ws);
        sandbox::Sandbox *s = f.start();
        QVERIFY(s);
        // Each attempt prints its name when it was refused; ordinary work goes through.
        const auto r = sandbox::test::sh(s, QStringLiteral(
            "try() { name=$1; shift; if \"$@\" 2>/dev/null; then echo \"ALLOWED $name\"; else echo \"refused $name\"; fi; }; "
            "try append-config sh -c 'echo x >> .git/config'; "
            "try hook sh -c 'echo evil > .git/hooks/pre-commit'; "
            "try rename-git mv .git .git-away; "
            "try new-repo mkdir -p lib/.git; "
            "mkdir -p lib; try rename-to-git sh -c 'mkdir x && mv x lib/.git'; "
            "try envrc sh -c 'echo evil > .envrc'; "
            "try tasks sh -c 'mkdir -p .vscode && echo {} > .vscode/tasks.json'; "
            "try settings sh -c 'mkdir -p .claude && echo {} > .claude/settings.json'; "
            "echo ok > src/new.txt && echo wrote-ordinary"));
        QVERIFY2(r.done() && !r.error, r.error ? qPrintable(r.error->message) : "");
        QVERIFY2(!r.out.contains("ALLOWED"), r.out.constData());
        for (const char *name : {"append-config", "hook", "rename-git", "new-repo", "rename-to-git", "envrc", "tasks", "settings"})
            QVERIFY2(r.out.contains(QByteArray(QByteArray("refused ") + name)), r.out.constData());
        QVERIFY2(r.out.contains("wrote-ordinary"), r.out.constData());
        auto after = snapshot(ws);
        QCOMPARE(test::run(QStringLiteral("cat"), {ws + QStringLiteral("/src/new.txt")}).out, QByteArray("ok\n"));
        // Only the ordinary file and the folders the attempts were allowed to make are new.
        for (const QString &k : after.keys()) {
            if (!before.contains(k))
                QVERIFY2(k == u"src/new.txt" || k == u"lib" || k == u"x" || k == u".claude", qPrintable(k));
        }
        for (const QString &k : before.keys())
            QCOMPARE(after.value(k), before.value(k));
        QVERIFY(sandbox::test::destroyAndWait(s));
        // Destroying the sandbox unmounts the layer and leaves the workspace as it is.
        QVERIFY(QFileInfo::exists(ws + QStringLiteral("/src/main.c")));
        QFile mounts(QStringLiteral("/proc/self/mounts"));
        QVERIFY(mounts.open(QIODevice::ReadOnly));
        QVERIFY(!mounts.readAll().contains(QFile::encodeName(f.runtimeRoot())));
    }

    void withoutTheLayerASandboxDoesNotStart()
    {
        AIRLOCK_REQUIRE_BWRAP();
        qputenv("AIRLOCK_PROTECTFS", "/nonexistent/airlock-protectfs");
        sandbox::test::SandboxFixture f;
        auto refused = f.backend().create(f.spec());
        qunsetenv("AIRLOCK_PROTECTFS");
        QVERIFY(!refused);
        QVERIFY2(refused.error().message.contains(QStringLiteral("protection layer"))
                     && refused.error().message.contains(QStringLiteral("filesystem.protectionLayer")),
                 qPrintable(refused.error().message));
        // Opting out in the policy starts it, with only the existing protected paths bound read-only.
        qputenv("AIRLOCK_PROTECTFS", "/nonexistent/airlock-protectfs");
        policy::Policy p = sandbox::test::testPolicy();
        p.filesystem.protectionLayer = false;
        sandbox::Sandbox *s = f.start(f.spec(p));
        qunsetenv("AIRLOCK_PROTECTFS");
        QVERIFY(s);
        QVERIFY(sandbox::test::destroyAndWait(s));
    }

    // The layer is started and the sandbox goes on while it comes up (root mounts it first, so the
    // sandbox binds the mount itself, never the folder beneath). A layer that then fails must fail
    // the sandbox with the layer's own words, and leave nothing mounted: as root that is a sandbox
    // that ends Failed, as a user a create() that is refused.
    void aLayerThatFailsAfterItsLaunchFailsTheSandbox()
    {
        AIRLOCK_REQUIRE_BWRAP();
        QTemporaryDir bin;
        const QString fake = fakeLayer(bin, "echo 'airlock-protectfs: cannot serve (a simulated failure)' >&2\nexit 1\n");
        QVERIFY(!fake.isEmpty());
        sandbox::test::SandboxFixture f;
        {
            QFile kept(f.workspace() + QStringLiteral("/kept.txt"));
            QVERIFY(kept.open(QIODevice::WriteOnly));
            kept.write("kept\n");
        }
        qputenv("AIRLOCK_PROTECTFS", QFile::encodeName(fake));
        auto created = f.backend().create(f.spec());
        qunsetenv("AIRLOCK_PROTECTFS");
        QString message;
        if (created) {
            sandbox::Sandbox *s = *created;
            QVERIFY(sandbox::test::waitForState(s, sandbox::SandboxState::Failed));
            message = s->info().message;
            QVERIFY(sandbox::test::destroyAndWait(s));
        } else {
            message = created.error().message;
        }
        QVERIFY2(message.contains(QStringLiteral("a simulated failure")) && message.contains(QStringLiteral("protection layer")),
                 qPrintable(message));
        QVERIFY(QFileInfo::exists(f.workspace() + QStringLiteral("/kept.txt")));
        QVERIFY(!QFileInfo::exists(f.runtimeRoot() + QStringLiteral("/mounts"))
                || QDir(f.runtimeRoot() + QStringLiteral("/mounts")).isEmpty(QDir::AllEntries | QDir::NoDotAndDotDot));
        QFile mounts(QStringLiteral("/proc/self/mounts"));
        QVERIFY(mounts.open(QIODevice::ReadOnly));
        QVERIFY(!mounts.readAll().contains(QFile::encodeName(f.runtimeRoot())));
        // Nothing of the sandbox keeps running: bwrap, whose pid 1 died while it was still setting
        // it up, waited forever for a word from it until it was killed as well.
        QProcess pgrep;
        pgrep.start(QStringLiteral("pgrep"), {QStringLiteral("-f"), f.runtimeRoot()});
        QVERIFY(pgrep.waitForFinished());
        QVERIFY2(pgrep.readAllStandardOutput().trimmed().isEmpty(), "a process of the sandbox is still running");
    }

    // A layer whose launcher hangs: destroying the sandbox must not wait for it (the GUI would
    // freeze), must end the launcher, and must leave nothing mounted.
    void aSandboxWhoseLayerHangsIsDestroyedAtOnce()
    {
        AIRLOCK_REQUIRE_BWRAP();
        if (::geteuid() != 0)
            QSKIP("only root's sandboxes start before their layer serves; a user's create() waits for it");
        QTemporaryDir bin;
        const QString fake = fakeLayer(bin, "exec sleep 300\n");
        QVERIFY(!fake.isEmpty());
        sandbox::test::SandboxFixture f;
        qputenv("AIRLOCK_PROTECTFS", QFile::encodeName(fake));
        auto created = f.backend().create(f.spec());
        qunsetenv("AIRLOCK_PROTECTFS");
        QVERIFY2(created, created ? "" : qPrintable(created.error().message));
        const pid_t launcher = [&] {
            QProcess pgrep;
            pgrep.start(QStringLiteral("pgrep"), {QStringLiteral("-f"), QStringLiteral("^sleep 300$")});
            pgrep.waitForFinished();
            return static_cast<pid_t>(pgrep.readAllStandardOutput().trimmed().split('\n').value(0).toInt());
        }();
        QElapsedTimer t;
        t.start();
        QVERIFY(sandbox::test::destroyAndWait(*created, 10000));
        QVERIFY2(t.elapsed() < 5000, qPrintable(QString::number(t.elapsed())));
        QVERIFY2(launcher > 0, "the hanging launcher was not found running");
        QTRY_VERIFY_WITH_TIMEOUT(::kill(launcher, 0) != 0, 5000);
        QFile mounts(QStringLiteral("/proc/self/mounts"));
        QVERIFY(mounts.open(QIODevice::ReadOnly));
        QVERIFY(!mounts.readAll().contains(QFile::encodeName(f.runtimeRoot())));
    }
};

QTEST_GUILESS_MAIN(TestProtectedLayer)
#include "tst_protected_layer.moc"
