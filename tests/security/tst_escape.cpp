// The escape suite: what a prompt-injected agent would try from inside a sandbox. It runs twice: against
// a local bubblewrap sandbox made from the Standard preset (tst_escape) and against a Docker container
// made from the Hardened preset (tst_escape_docker), each with its limits scaled down so every bomb hits
// them within seconds (escapetarget.h). Each attack must be blocked, and the host must be unchanged
// afterwards: a planted fake HOME with ~/.ssh and ~/.aws, a planted API key in this (the launcher's)
// environment, files outside the workspace and the workspace's protected files hashed before and
// after, listeners on the host that must see no connection, a host process that must survive, and no
// trace of the sandbox once destroyed.

#include "escapeattacks.h"
#include "escapetarget.h"
#include "sandbox/workspacequota.h"

#include "sandbox/sandboxtestutil.h"

#include <QCryptographicHash>
#include <QDirIterator>
#include <QProcess>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTest>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

using namespace airlock;
using namespace airlock::sandbox;
using namespace airlock::sandbox::test;

class TestEscape : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void attack_data();
    void attack();
    void hostApiStaysInTheWorkspace();
    void sandboxedCodeIsNeverHostRoot();
    void rootOwnedHostFolderStaysReadOnly();
    void workspaceSizeIsLimited_data();
    void workspaceSizeIsLimited();
    void controlRunCatchesAWeakPolicy_data();
    void controlRunCatchesAWeakPolicy();

private:
    Outcome runAttack(Sandbox *s, const Attack &a);
    void plant();
    QMap<QString, QByteArray> hostState() const;

    std::unique_ptr<EscapeTarget> m_target;
    QString m_outside;
    QString m_home;
    QString m_abstractName;
    int m_abstractFd = -1;
    QTcpServer m_listener;
    QProcess m_victim;
    QByteArray m_oldHome;
    QByteArray m_corePattern;

    static QByteArray readSmall(const QString &path)
    {
        QFile f(path);
        return f.open(QIODevice::ReadOnly) ? f.read(4096) : QByteArray();
    }
    // An attack that got through must not leave the host's crash handler in its hands.
    void restoreCorePattern() const
    {
        if (m_corePattern.isEmpty())
            return;
        QFile f(QStringLiteral("/proc/sys/kernel/core_pattern"));
        if (f.open(QIODevice::WriteOnly))
            f.write(m_corePattern);
    }
};

void TestEscape::initTestCase()
{
    m_corePattern = readSmall(QStringLiteral("/proc/sys/kernel/core_pattern"));
    m_target = makeEscapeTarget();
    if (const QString why = m_target->unavailable(); !why.isEmpty())
        QSKIP(qPrintable(why));
    qInfo("target: %s", qPrintable(m_target->name()));
    m_outside = m_target->root() + QStringLiteral("/outside");
    m_home = m_target->root() + QStringLiteral("/home");
    // The launcher's environment: a fake HOME and API keys that must never be seen inside.
    m_oldHome = qgetenv("HOME");
    qputenv("HOME", QFile::encodeName(m_home));
    qputenv("ANTHROPIC_API_KEY", kPlanted);
    qputenv("AWS_SECRET_ACCESS_KEY", kPlanted);
    QString why;
    QVERIFY2(m_target->prepare(&why), qPrintable(why));
    plant();
    // An attack that fails because its tool is missing would prove nothing.
    Sandbox *s = m_target->start(m_target->policy());
    QVERIFY(s);
    const Outcome tools = sh(s, QStringLiteral("for t in bash curl getent unshare find stat head du tr yes mknod ln; do "
                                               "command -v $t >/dev/null || echo \"missing $t\"; done"));
    QVERIFY(m_target->destroy(s));
    QVERIFY2(tools.status && tools.out.isEmpty(), QByteArray(tools.out + tools.err).constData());

    QVERIFY(m_listener.listen(QHostAddress::LocalHost));
    m_abstractName = QStringLiteral("airlock-escape-%1").arg(::getpid());
    m_abstractFd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const QByteArray name = m_abstractName.toUtf8();
    std::memcpy(addr.sun_path + 1, name.constData(), static_cast<size_t>(name.size()));
    QVERIFY(::bind(m_abstractFd, reinterpret_cast<sockaddr *>(&addr),
                   static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size())) == 0);
    QVERIFY(::listen(m_abstractFd, 4) == 0);
    m_victim.start(QStringLiteral("sleep"), {QStringLiteral("600")});
    QVERIFY(m_victim.waitForStarted());
}

void TestEscape::cleanupTestCase()
{
    if (readSmall(QStringLiteral("/proc/sys/kernel/core_pattern")) != m_corePattern)
        restoreCorePattern();
    m_victim.kill();
    m_victim.waitForFinished();
    if (m_abstractFd >= 0)
        ::close(m_abstractFd);
    m_target.reset();
    if (!m_oldHome.isNull())
        qputenv("HOME", m_oldHome);
}

void TestEscape::plant()
{
    writeFile(m_home + QStringLiteral("/.ssh/id_ed25519"), "-----BEGIN OPENSSH PRIVATE KEY-----\nplanted\n");
    writeFile(m_home + QStringLiteral("/.aws/credentials"), "[default]\naws_secret_access_key = " + kPlanted + "\n");
    writeFile(m_outside + QStringLiteral("/secret.txt"), "outside the workspace\n");
    const QString ws = m_target->workspace();
    writeFile(ws + QStringLiteral("/.git/hooks/pre-commit"), "#!/bin/sh\nexit 0\n");
    writeFile(ws + QStringLiteral("/.git/config"), "[core]\n\tbare = false\n");
    writeFile(ws + QStringLiteral("/.envrc"), "export PATH=$PWD/bin:$PATH\n");
    writeFile(ws + QStringLiteral("/.vscode/settings.json"), "{}\n");
    QFile::link(m_outside + QStringLiteral("/secret.txt"), ws + QStringLiteral("/escape-link"));
    QFile::link(QStringLiteral("../outside/secret.txt"), ws + QStringLiteral("/rel-link"));
    QFile::copy(QStringLiteral(AIRLOCK_ATTACK_PATH), ws + QStringLiteral("/.airlock-attack"));
    QFile::setPermissions(ws + QStringLiteral("/.airlock-attack"), QFile::ReadOwner | QFile::ExeOwner | QFile::ReadOther | QFile::ExeOther);
    if (const auto owner = m_target->workspaceOwner()) {
        QDirIterator it(ws, QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot, QDirIterator::Subdirectories);
        (void)::lchown(QFile::encodeName(ws).constData(), *owner, *owner);
        while (it.hasNext())
            (void)::lchown(QFile::encodeName(it.next()).constData(), *owner, *owner);
    }
}

QMap<QString, QByteArray> TestEscape::hostState() const
{
    // The whole fixture (fake home, outside folder, workspace) plus host files a sandbox can see.
    QMap<QString, QByteArray> state = tree(m_target->root());
    // Its own runtime folder comes and goes with each sandbox; that is checked separately.
    for (auto it = state.begin(); it != state.end();) {
        if (it.key().startsWith(m_target->runtimeRoot()))
            it = state.erase(it);
        else
            ++it;
    }
    for (const QString &path : {QStringLiteral("/etc/hosts"), QStringLiteral("/etc/passwd"),
                                QStringLiteral("/proc/sys/kernel/sysrq"), QStringLiteral("/proc/sys/kernel/core_pattern"),
                                QStringLiteral("/proc/sys/kernel/modprobe"), QStringLiteral(AIRLOCK_SHIM_PATH)})
        state.insert(path, hashOf(path));
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    state.insert(QStringLiteral("hostname"), QByteArray(host));
    return state;
}

void TestEscape::attack_data()
{
    QTest::addColumn<int>("index");
    for (int i = 0; i < int(escapeAttacks().size()); ++i)
        QTest::newRow(escapeAttacks()[i].name) << i;
}

void TestEscape::attack()
{
    QFETCH(int, index);
    const Attack &a = escapeAttacks()[index];
    // The attacks on files that run on the host later are what the protection layer stops; where
    // this user cannot mount it (AIRLOCK_TEST_WITHOUT_LAYER) they are skipped, and everything else runs.
    if (!m_target->policy().filesystem.protectionLayer && index >= firstAttack("write .git/hooks/pre-commit")
        && index <= firstAttack("rename .git away and build a new one"))
        QSKIP("the workspace protection layer is off in this run: this user cannot mount FUSE here");
    const QMap<QString, QByteArray> before = hostState();

    Sandbox *s = m_target->start(m_target->policy());
    QVERIFY(s);
    const QString id = s->id();
    const QString controlDir = s->info().controlDir;
    const bool hadSocket = QFileInfo::exists(controlDir + QStringLiteral("/shim.sock"));
    const QString ws = m_target->workspace();
    const Outcome o = runAttack(s, a);
    // Undone before any verdict: a crash handler of the sandbox's choosing, or a set-id root file
    // left on the host, must not outlive a failed test.
    const QByteArray corePattern = readSmall(QStringLiteral("/proc/sys/kernel/core_pattern"));
    if (corePattern != m_corePattern)
        restoreCorePattern();
    QString setuidFound;
    for (const char *name : {"suid-chmod"}) {
        const QString path = m_target->scratch() + u'/' + QLatin1StringView(name);
        struct stat st{};
        if (::lstat(QFile::encodeName(path).constData(), &st) != 0)
            continue; // inside a container's own /tmp, or never made
        QFile::remove(path);
        if ((st.st_mode & (S_ISUID | S_ISGID)) && (st.st_uid == 0 || st.st_gid == 0))
            setuidFound += QStringLiteral("%1 on the host is set-id root: mode %2, owner %3:%4; ")
                               .arg(path).arg(st.st_mode & 07777, 0, 8).arg(st.st_uid).arg(st.st_gid);
    }
    const QString differs = m_target->differsHere(QString::fromLatin1(a.name));
    if (!differs.isEmpty()) {
        qInfo("%s, on %s: %s", a.name, qPrintable(m_target->name()), qPrintable(differs));
        if (a.name == std::string_view("setuid and capabilities")) {
            const Outcome caps = sh(s, QStringLiteral("grep -E '^Cap(Eff|Bnd)' /proc/self/status"));
            QCOMPARE(caps.out, QByteArray("CapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n"));
        }
    } else {
    QVERIFY2(o.status, qPrintable(o.error ? o.error->message : QStringLiteral("no exit status")));
    const QByteArray text = o.out.left(2000) + o.err.left(2000);
    QVERIFY2(!o.out.contains("ESCAPED"), text.constData());
    QVERIFY(!o.out.contains(kPlanted) && !o.err.contains(kPlanted));

    switch (a.check) {
    case Check::OutputFlood:
        QVERIFY(o.status->outputTruncated);
        QVERIFY(o.status->outputCapStopped); // stopped at the cap, not left to run into its timeout
        QVERIFY(o.out.size() + o.err.size() <= qsizetype(1 << 20));
        break;
    case Check::MemoryBomb: {
        // Refused by RLIMIT_AS, or killed by the cgroup's OOM killer near 256 MiB.
        const QList<QByteArray> lines = o.out.trimmed().split('\n');
        const int reached = lines.isEmpty() ? 0 : lines.last().toInt();
        QVERIFY2(o.out.contains("BLOCKED") || o.status->signal == 9, text.constData());
        QVERIFY2(reached <= 256 + 16, text.constData());
        break;
    }
    default:
        QVERIFY2(o.out.contains("BLOCKED"), text.constData());
        break;
    }
    switch (a.check) {
    case Check::NoConnection:
        QVERIFY(!m_listener.hasPendingConnections());
        QVERIFY(!m_listener.waitForNewConnection(0));
        break;
    case Check::VictimAlive:
        QCOMPARE(m_victim.state(), QProcess::Running);
        QVERIFY(pidAlive(m_victim.processId()));
        break;
    case Check::NoBesideFile:
        QVERIFY(!QFileInfo::exists(ws + QStringLiteral("/../beside.txt")));
        break;
    case Check::SmallBigFile:
        QVERIFY(!QFileInfo::exists(ws + QStringLiteral("/big")));
        break;
    case Check::CorePattern:
        QVERIFY2(corePattern == m_corePattern,
                 qPrintable(QStringLiteral("kernel.core_pattern on the host became: ") + QString::fromUtf8(corePattern)));
        break;
    case Check::NoSetuidFile:
        QVERIFY2(setuidFound.isEmpty(), qPrintable(setuidFound));
        break;
    case Check::ControlIntact: {
        QCOMPARE(QFileInfo::exists(controlDir + QStringLiteral("/shim.sock")), hadSocket);
        QVERIFY(!QFileInfo::exists(controlDir + QStringLiteral("/evil")));
        QVERIFY(!QFileInfo(controlDir + QStringLiteral("/root")).isSymLink());
        QCOMPARE(sh(s, QStringLiteral("echo still here")).out, QByteArray("still here\n"));
        break;
    }
    default:
        break;
    }
    }

    QVERIFY(m_target->destroy(s));
    const QString left = m_target->leftovers(id, controlDir);
    QVERIFY2(left.isEmpty(), qPrintable(QStringLiteral("left on the host: ") + left));
    // Nothing reached the host: no connection, no file changed or added, the host process alive.
    int pending = ::accept(m_abstractFd, nullptr, nullptr);
    QCOMPARE(pending, -1);
    QVERIFY(!m_listener.hasPendingConnections());
    QCOMPARE(m_victim.state(), QProcess::Running);
    const QMap<QString, QByteArray> after = hostState();
    for (auto it = before.cbegin(); it != before.cend(); ++it)
        QVERIFY2(after.value(it.key()) == it.value(), qPrintable(QStringLiteral("changed on the host: ") + it.key()));
    for (auto it = after.cbegin(); it != after.cend(); ++it)
        QVERIFY2(before.contains(it.key()), qPrintable(QStringLiteral("appeared on the host: ") + it.key()));
    // The host can still start processes after any bomb.
    QProcess probe;
    probe.start(QStringLiteral("/bin/true"), {});
    QVERIFY(probe.waitForFinished(5000));
    QCOMPARE(probe.exitCode(), 0);
}

Outcome TestEscape::runAttack(Sandbox *s, const Attack &a)
{
    const QString ws = m_target->workspace();
    ExecRequest r;
    r.argv = {QStringLiteral("/bin/sh"), QStringLiteral("-c"), QString::fromLatin1(a.script)};
    QByteArray needle = kPlanted;
    std::reverse(needle.begin(), needle.end());
    r.env = {QStringLiteral("WS=") + ws, QStringLiteral("SCRATCH=") + m_target->scratch(), QStringLiteral("OUTSIDE=") + m_outside, QStringLiteral("HOSTHOME=") + m_home,
             QStringLiteral("PORT=%1").arg(m_listener.serverPort()), QStringLiteral("VICTIM=%1").arg(m_victim.processId()),
             QStringLiteral("LAUNCHER=%1").arg(::getpid()), QStringLiteral("ATTACK=") + ws + QStringLiteral("/.airlock-attack"),
             QStringLiteral("NEEDLE=") + QString::fromLatin1(needle), QStringLiteral("ABSTRACT=") + m_abstractName};
    if (a.check == Check::OutputFlood) {
        r.timeoutMs = 1500;
        r.killGraceMs = 200;
    }
    return run(s, r, a.timeoutMs);
}

void TestEscape::controlRunCatchesAWeakPolicy_data()
{
    QTest::addColumn<QString>("name");
    for (const char *name : {"read ~/.ssh through $HOME", "reach a listener on the host's loopback",
                             "add a key to the kernel keyring", "write .git/hooks/pre-commit"})
        QTest::newRow(name) << QString::fromLatin1(name);
}

// The suite has teeth: with the protections these attacks aim at switched off, they get through.
// (Last, because a successful attack changes the planted files.)
void TestEscape::controlRunCatchesAWeakPolicy()
{
    QFETCH(QString, name);
    const std::span<const Attack> all = escapeAttacks();
    const auto a = std::find_if(all.begin(), all.end(), [&](const Attack &x) { return name == QLatin1StringView(x.name); });
    QVERIFY(a != all.end());
    Sandbox *s = m_target->start(m_target->weakened());
    QVERIFY(s);
    const Outcome o = runAttack(s, *a);
    if (const QString differs = m_target->differsHere(QStringLiteral("control: ") + name); !differs.isEmpty()) {
        qInfo("control run of %s, on %s: %s", qPrintable(name), qPrintable(m_target->name()), qPrintable(differs));
        QVERIFY2(!o.out.contains("ESCAPED"), o.out.constData()); // the difference is that it is blocked still
        QVERIFY(m_target->destroy(s));
        return;
    }
    QVERIFY2(o.out.contains("ESCAPED"), QByteArray(o.out + o.err).constData());
    QVERIFY(m_target->destroy(s));
}

// The host-side file API (what ACP fs/* requests use) with paths and links the agent prepared.
void TestEscape::hostApiStaysInTheWorkspace()
{
    const QMap<QString, QByteArray> before = hostState();
    Sandbox *s = m_target->start(m_target->writable()); // the links are made inside
    QVERIFY(s);
    QCOMPARE(sh(s, QStringLiteral("ln -s \"%1\" made-dir-link && ln -s /etc/passwd made-file-link && echo ok").arg(m_outside)).out,
             QByteArray("ok\n"));
    const auto wait = [](auto future) {
        using R = decltype(future.result());
        if (!QTest::qWaitFor([&] { return future.isFinished(); }, 10000))
            return R(std::unexpected(Error{ErrorCode::Io, QStringLiteral("timed out")}));
        return future.result();
    };
    QVERIFY(!wait(s->readFile(QStringLiteral("escape-link"))));
    QVERIFY(!wait(s->readFile(QStringLiteral("made-file-link"))));
    QVERIFY(!wait(s->readFile(QStringLiteral("made-dir-link/secret.txt"))));
    QVERIFY(!wait(s->readFile(m_outside + QStringLiteral("/secret.txt"))));
    QVERIFY(!wait(s->readFile(QStringLiteral("../outside/secret.txt"))));
    QVERIFY(!wait(s->writeFile(QStringLiteral("escape-link"), "pwned")));
    QVERIFY(!wait(s->writeFile(QStringLiteral("made-dir-link/secret.txt"), "pwned")));
    QVERIFY(!wait(s->writeFile(QStringLiteral("rel-link"), "pwned")));
    QVERIFY(!wait(s->writeFile(QStringLiteral(".git/hooks/pre-commit"), "pwned")));
    QVERIFY(!wait(s->writeFile(QStringLiteral(".envrc"), "pwned")));
    QVERIFY(!wait(s->listDir(QStringLiteral("made-dir-link"))));
    QVERIFY(wait(s->readFile(QStringLiteral(".envrc")))); // reading inside is fine
    QVERIFY(sh(s, QStringLiteral("rm made-dir-link made-file-link")).status);
    QVERIFY(m_target->destroy(s));
    const QMap<QString, QByteArray> after = hostState();
    QCOMPARE(after, before);
}


// What the kernel checks by uid (/proc/sys, files of root on the host) is only safe if no sandboxed
// process is host uid 0: not the sandbox's first process, not a command it runs, not bwrap itself.
void TestEscape::sandboxedCodeIsNeverHostRoot()
{
    Sandbox *s = m_target->start(m_target->policy());
    QVERIFY(s);
    ExecRequest r;
    r.argv = {QStringLiteral("/bin/sh"), QStringLiteral("-c"), QStringLiteral("echo ready; exec sleep 60")};
    Result<SandboxProcess *> p = s->exec(r);
    QVERIFY2(p, qPrintable(p ? QString() : p.error().message));
    QSignalSpy ready(*p, &SandboxProcess::stdoutReceived);
    QVERIFY(ready.wait(10000));
    QTRY_VERIFY_WITH_TIMEOUT(s->info().hostPid > 0, 10000);
    const qint64 hostPid = s->info().hostPid;
    // "ready" comes before the shell execs sleep: on a busy machine the tree may show sh for a while.
    const auto hasSleep = [hostPid] {
        const QList<qint64> now = processTree(hostPid);
        return std::any_of(now.begin(), now.end(), [](qint64 pid) {
            QFile comm(QStringLiteral("/proc/%1/comm").arg(pid));
            return comm.open(QIODevice::ReadOnly) && comm.readAll().trimmed() == "sleep";
        });
    };
    const QString differs = m_target->differsHere(QStringLiteral("never host root"));
    if (!differs.isEmpty())
        qInfo("%s: %s", qPrintable(m_target->name()), qPrintable(differs));
    else
        QTRY_VERIFY_WITH_TIMEOUT(hasSleep(), 10000);
    const QList<qint64> tree = processTree(hostPid);
    qInfo("uid mapping %s, %lld processes from host pid %lld", qPrintable(s->info().uidMapping), qint64(tree.size()), hostPid);
    QVERIFY2(tree.size() >= (differs.isEmpty() ? 2 : 1), "the sandbox's processes are not visible from the host");
    bool sawSleep = false;
    for (qint64 pid : tree) {
        QFile comm(QStringLiteral("/proc/%1/comm").arg(pid));
        const QByteArray name = comm.open(QIODevice::ReadOnly) ? comm.readAll().trimmed() : QByteArray();
        sawSleep = sawSleep || name == "sleep";
        const QList<qint64> uids = idsOf(pid, "Uid:");
        const QList<qint64> gids = idsOf(pid, "Gid:");
        if (uids.isEmpty())
            continue; // ended meanwhile
        QVERIFY2(!uids.contains(0), qPrintable(QStringLiteral("host pid %1 (%2) runs as host uid 0: Uid %3")
                                                   .arg(pid).arg(QString::fromUtf8(name)).arg(QString::fromUtf8(QByteArray::number(uids.value(0))))));
        QVERIFY2(!gids.contains(0), qPrintable(QStringLiteral("host pid %1 (%2) runs with host gid 0").arg(pid).arg(QString::fromUtf8(name))));
    }
    QVERIFY(sawSleep || !differs.isEmpty());
    // What the sandbox is told matches: the uid mapping names a host uid that is not 0.
    QVERIFY(!s->info().uidMapping.isEmpty());
    QVERIFY2(!s->info().uidMapping.section(QStringLiteral(" -> "), 1).startsWith(u'0'), qPrintable(s->info().uidMapping));
    QVERIFY(m_target->destroy(s));
}

// The workspace's size limit holds however the data is written: many files each under the per-file
// limit, one file past it, data behind extra hard links, a sparse file with a large apparent size.
void TestEscape::workspaceSizeIsLimited_data()
{
    QTest::addColumn<QString>("script");
    QTest::addColumn<bool>("stopsTheSandbox"); // else: the write itself fails, the sandbox runs on
    // Three 12 MiB files through a 32 MiB limit: each is allowed, together they are not.
    QTest::newRow("files under the per-file limit")
        << QStringLiteral("for i in 1 2 3; do head -c 12582912 /dev/zero > big$i; done; echo written; sleep 30") << true;
    QTest::newRow("in many small files")
        << QStringLiteral("mkdir -p many && i=0; while [ $i -lt 40 ]; do head -c 1048576 /dev/urandom > many/f$i; i=$((i+1)); done; "
                          "echo written; sleep 30")
        << true;
    QTest::newRow("one file past the limit") << QStringLiteral("head -c 41943040 /dev/zero > one; echo \"status $?\"") << false;
    // Hard links and holes take no space: counted by blocks and once per file, they stop nothing.
    QTest::newRow("links and holes are not counted twice")
        << QStringLiteral("head -c 8388608 /dev/zero > a && for i in 1 2 3 4 5 6; do ln a l$i; done; "
                          "truncate -s 30M sparse; echo \"status $?\"")
        << false;
}

void TestEscape::workspaceSizeIsLimited()
{
    QFETCH(QString, script);
    QFETCH(bool, stopsTheSandbox);
    policy::Policy p = m_target->writable();
    p.resources.workspaceBytes = qint64(32) << 20;
    p.resources.maxFileBytes.reset();
    QPointer<Sandbox> s = m_target->start(p);
    QVERIFY(s);
    // Declared before the clean-up, which destroys the sandbox while the handlers below still listen.
    QByteArray out;
    SandboxState state = SandboxState::Running;
    QString why;
    const QString ws = m_target->workspace();
    const auto cleanUp = qScopeGuard([&] {
        if (s)
            m_target->destroy(s);
        for (const QString &name : QDir(ws).entryList({QStringLiteral("big*"), QStringLiteral("one"), QStringLiteral("a"),
                                                       QStringLiteral("l?"), QStringLiteral("sparse")},
                                                      QDir::Files))
            QFile::remove(ws + u'/' + name);
        QDir(ws + QStringLiteral("/many")).removeRecursively();
    });
    ExecRequest r;
    r.argv = {QStringLiteral("/bin/sh"), QStringLiteral("-c"), script}; // in the workspace
    Result<SandboxProcess *> started = s->exec(r);
    QVERIFY2(started, qPrintable(started ? QString() : started.error().message));
    QPointer<SandboxProcess> process = *started;
    connect(process, &SandboxProcess::stdoutReceived, this, [&out](const QByteArray &c) { out += c; });
    connect(process, &SandboxProcess::stderrReceived, this, [&out](const QByteArray &c) { out += c; });
    // What it says as it leaves Running: an ephemeral sandbox is gone right after.
    Sandbox *box = s.data();
    connect(box, &Sandbox::stateChanged, this, [&state, &why, box](SandboxState now) {
        if (!box->info().message.isEmpty())
            why = box->info().message;
        state = now;
    });
    if (stopsTheSandbox) {
        QTRY_VERIFY2_WITH_TIMEOUT(state != SandboxState::Running, qPrintable(QString::fromUtf8(out)), 30000);
        qInfo("stopped: %s", qPrintable(why));
        QVERIFY2(why.contains(QStringLiteral("workspaceBytes")), qPrintable(why));
    } else {
        QTRY_VERIFY2_WITH_TIMEOUT(out.contains("status "), out.constData(), 30000);
        const bool pastTheLimit = script.startsWith(u"head -c 41943040");
        const bool refused = !out.contains("status 0");
        qInfo("%s", out.trimmed().constData());
        QVERIFY2(refused == pastTheLimit, out.constData());
        QVERIFY2(QFileInfo(ws + QStringLiteral("/one")).size() <= (qint64(32) << 20), "a file outgrew the workspace limit");
        if (!pastTheLimit) {
            // A measurement or two later it still runs: the links and holes were not counted as space.
            auto *watch = box->findChild<WorkspaceWatch *>();
            QVERIFY(watch);
            QSignalSpy measured(watch, &WorkspaceWatch::sizeMeasured);
            QTRY_VERIFY_WITH_TIMEOUT(measured.size() >= 2 || state != SandboxState::Running, 4 * WorkspaceWatch::kIntervalMs);
            QCOMPARE(state, SandboxState::Running);
        } // else the one file filled the workspace up to its limit, and the sandbox may be stopped for it
    }
}

// A folder of host root that a policy shares read-write is still root's: the sandbox cannot write it.
void TestEscape::rootOwnedHostFolderStaysReadOnly()
{
    if (::geteuid() != 0)
        QSKIP("needs root to own the shared folder (this run is unprivileged)");
    const QString shared = m_target->root() + QStringLiteral("/root-owned");
    QVERIFY(QDir().mkpath(shared));
    ::chmod(QFile::encodeName(shared).constData(), 0755);
    writeFile(shared + QStringLiteral("/keep.txt"), "root's\n");
    const QMap<QString, QByteArray> before = hostState();
    // The preset's own user (writable() is the launcher's uid on Docker, which here is root).
    policy::Policy p = m_target->policy();
    p.filesystem.mounts.append(policy::Mount{shared, QStringLiteral("/srv/shared"), policy::Access::ReadWrite});
    Sandbox *s = m_target->start(p);
    QVERIFY(s);
    const Outcome o = sh(s, QStringLiteral("r=BLOCKED; echo pwned >> /srv/shared/keep.txt 2>/dev/null && r=ESCAPED; "
                                           "touch /srv/shared/new 2>/dev/null && r=ESCAPED; "
                                           "chmod 777 /srv/shared 2>/dev/null && r=ESCAPED; echo $r"));
    QVERIFY(m_target->destroy(s));
    QVERIFY2(o.out.contains("BLOCKED"), QByteArray(o.out + o.err).constData());
    QCOMPARE(hostState(), before);
}

QTEST_GUILESS_MAIN(TestEscape)
#include "tst_escape.moc"
