// The escape suite's attacks (what a prompt-injected agent would try from inside a sandbox, as shell
// scripts) and the host-side checks the suite makes before and after them.
#pragma once

#include <QByteArray>
#include <QList>
#include <QMap>
#include <QString>

#include <span>

namespace airlock::sandbox::test {

inline const QByteArray kPlanted = "sk-ant-airlock-PLANTED-7f3a9c2e5b8d1f4a6c0e9b2d7a5f3c1e";

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

std::span<const Attack> escapeAttacks();
// The index of the attack with this name, or -1.
int firstAttack(const char *name);

// SHA-256 of a file in hex, or "<missing>".
QByteArray hashOf(const QString &path);
void writeFile(const QString &path, const QByteArray &data);
// Every file below `root` with its hash, links described rather than followed.
QMap<QString, QByteArray> tree(const QString &root);
// The process and all its descendants, from one scan of /proc.
QList<qint64> processTree(qint64 root);
// "Uid:\treal\teffective\tsaved\tfs" as the host sees it.
QList<qint64> idsOf(qint64 pid, const char *field);

} // namespace airlock::sandbox::test
