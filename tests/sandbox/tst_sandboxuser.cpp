// Who sandboxed code is on the host (never uid 0), the child's switch to that uid before bwrap, the
// idmapped view that gives a root-owned workspace to it.

#include "sandbox/sandboxuser.h"
#include "sandbox/spawned.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace airlock;
using namespace airlock::sandbox;

class TestSandboxUser : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void ordinaryLauncherRunsAsItself();
    void rootLauncherPicksTheOwner();
    void rootLauncherPicksTheDedicatedUserForRootsWorkspace();
    void childDropsToTheUser();
    void childIsNeverStartedAsRoot();
    void idmappedWorkspaceKeepsRootsFiles();
};

namespace {

// Runs `argv` through spawnProcess as `user` and returns what it printed, or an error text.
QByteArray spawnAs(const QStringList &argv, std::optional<SpawnRequest::User> user, QString *error = nullptr)
{
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0)
        return {};
    SpawnRequest r;
    r.program = argv.first();
    r.arguments = argv.mid(1);
    r.environment.insert(QStringLiteral("PATH"), QStringLiteral("/usr/bin:/bin"));
    r.outputFd = out[1];
    r.user = user;
    Result<Spawned> s = spawnProcess(r);
    ::close(out[1]);
    if (!s) {
        if (error)
            *error = s.error().message;
        ::close(out[0]);
        return {};
    }
    QByteArray text;
    char buffer[512];
    ssize_t n;
    while ((n = ::read(out[0], buffer, sizeof buffer)) > 0)
        text.append(buffer, n);
    ::close(out[0]);
    ::waitpid(s->pid(), nullptr, 0);
    return text.trimmed();
}

} // namespace

void TestSandboxUser::ordinaryLauncherRunsAsItself()
{
    QTemporaryDir dir;
    const Result<SandboxUser> u = sandboxUserFor(dir.path(), 1000);
    QVERIFY(u);
    QCOMPARE(u->uid, uid_t(1000));
    QVERIFY(!u->switchUser);
    QVERIFY(!u->idmapWorkspace);
}

void TestSandboxUser::rootLauncherPicksTheOwner()
{
    if (::geteuid() != 0)
        QSKIP("needs root to give the workspace to another owner");
    QTemporaryDir dir;
    QVERIFY(::chown(QFile::encodeName(dir.path()).constData(), 65534, 65534) == 0);
    const Result<SandboxUser> u = sandboxUserFor(dir.path(), 0);
    QVERIFY2(u, qPrintable(u ? QString() : u.error().message));
    QCOMPARE(u->uid, uid_t(65534));
    QVERIFY(u->gid != 0);
    QVERIFY(u->switchUser);
    QVERIFY(!u->idmapWorkspace); // its files are the owner's already
}

void TestSandboxUser::rootLauncherPicksTheDedicatedUserForRootsWorkspace()
{
    if (::geteuid() != 0)
        QSKIP("only a root launcher needs the dedicated user");
    QTemporaryDir dir;
    const Result<SandboxUser> u = sandboxUserFor(dir.path(), 0);
    QVERIFY2(u, qPrintable(u ? QString() : u.error().message));
    QVERIFY(u->uid != 0);
    QVERIFY(u->gid != 0);
    QCOMPARE(u->name, QString::fromLatin1(kSandboxUserName));
    QVERIFY(u->switchUser);
    QVERIFY(u->idmapWorkspace);
    // Made once, then found: the same user again.
    const Result<SandboxUser> again = dedicatedSandboxUser();
    QVERIFY(again);
    QCOMPARE(again->uid, u->uid);
}

void TestSandboxUser::childDropsToTheUser()
{
    if (::geteuid() != 0)
        QSKIP("only root can switch the child to another uid");
    QString error;
    const QByteArray ids = spawnAs({QStringLiteral("/usr/bin/id"), QStringLiteral("-u")}, SpawnRequest::User{65534, 65534}, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(ids, QByteArray("65534"));
    const QByteArray groups = spawnAs({QStringLiteral("/usr/bin/id"), QStringLiteral("-G")}, SpawnRequest::User{65534, 65534});
    QCOMPARE(groups, QByteArray("65534")); // root's supplementary groups are gone too
    // This (threaded) process is still root: the switch happened in the child only.
    QCOMPARE(::geteuid(), uid_t(0));
}

void TestSandboxUser::childIsNeverStartedAsRoot()
{
    QString error;
    spawnAs({QStringLiteral("/usr/bin/id")}, SpawnRequest::User{0, 0}, &error);
    QVERIFY(error.contains(QStringLiteral("uid or gid 0")));
}

void TestSandboxUser::idmappedWorkspaceKeepsRootsFiles()
{
    if (::geteuid() != 0)
        QSKIP("idmapped mounts are made by root");
    QTemporaryDir dir;
    ::chmod(QFile::encodeName(dir.path()).constData(), 0755);
    const QString source = dir.path() + QStringLiteral("/ws");
    const QString target = dir.path() + QStringLiteral("/view");
    QVERIFY(QDir().mkpath(source));
    QVERIFY(QDir().mkpath(target));
    QFile f(source + QStringLiteral("/root.txt"));
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("root's\n");
    f.close();
    const SandboxUser user{65534, 65534, true, true, QStringLiteral("nobody")};
    if (auto r = mountIdmapped(source, target, user); !r)
        QSKIP(qPrintable(QStringLiteral("no idmapped mounts here: ") + r.error().message));
    struct stat st{};
    QVERIFY(::stat(QFile::encodeName(target + QStringLiteral("/root.txt")).constData(), &st) == 0);
    QCOMPARE(st.st_uid, uid_t(65534)); // root's file appears as the sandbox user's
    // What the sandbox user writes there is stored as root's.
    QString error;
    spawnAs({QStringLiteral("/usr/bin/touch"), target + QStringLiteral("/made.txt")}, SpawnRequest::User{65534, 65534}, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QVERIFY(::stat(QFile::encodeName(source + QStringLiteral("/made.txt")).constData(), &st) == 0);
    QCOMPARE(st.st_uid, uid_t(0));
    QCOMPARE(st.st_gid, gid_t(0));
    // Taking the view down removes nothing of the workspace.
    QVERIFY(unmountAndRemove(target));
    QVERIFY(!QFileInfo::exists(target));
    QVERIFY(QFileInfo::exists(source + QStringLiteral("/root.txt")));
    QVERIFY(QFileInfo::exists(source + QStringLiteral("/made.txt")));
}

QTEST_GUILESS_MAIN(TestSandboxUser)
#include "tst_sandboxuser.moc"
