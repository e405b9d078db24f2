#include "policy/hostfacts.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QStandardPaths>

#include <sched.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace airlock::policy {

namespace {

QByteArray readSmallFile(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return file.read(4096).trimmed();
}

bool userNamespacesAllowed()
{
    // Debian's knob; absent on kernels without the patch, where only the namespace count matters.
    const QByteArray debianKnob = readSmallFile(QStringLiteral("/proc/sys/kernel/unprivileged_userns_clone"));
    if (debianKnob == "0")
        return false;
    const QByteArray maximum = readSmallFile(QStringLiteral("/proc/sys/user/max_user_namespaces"));
    return maximum.isEmpty() || maximum.toLongLong() > 0;
}

bool ownCgroupWritable()
{
    // cgroup v2 lists one line "0::/path"; limits need write access to a subtree we may create there.
    const QByteArray self = readSmallFile(QStringLiteral("/proc/self/cgroup"));
    for (const QByteArray &line : self.split('\n')) {
        if (!line.startsWith("0::"))
            continue;
        const QFileInfo folder(QStringLiteral("/sys/fs/cgroup") + QString::fromUtf8(line.mid(3)));
        return folder.isDir() && folder.isWritable();
    }
    return false;
}

QString dockerSocketPath()
{
    const QString dockerHost = qEnvironmentVariable("DOCKER_HOST");
    if (dockerHost.startsWith(u"unix://"))
        return dockerHost.mid(7);
    return QStringLiteral("/var/run/docker.sock");
}

} // namespace

HostFacts probeHostFacts()
{
    HostFacts facts;
    facts.home = QDir::homePath();
    facts.runtimeDir = qEnvironmentVariable("XDG_RUNTIME_DIR");
    facts.bwrapInstalled = !QStandardPaths::findExecutable(QStringLiteral("bwrap")).isEmpty();
    facts.userNamespaces = userNamespacesAllowed();
    facts.cgroupsWritable = ownCgroupWritable();
    const QFileInfo socket(dockerSocketPath());
    facts.dockerReachable = socket.exists() && socket.isWritable();
    facts.runscInstalled = !QStandardPaths::findExecutable(QStringLiteral("runsc")).isEmpty();
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    facts.cpuCount = ::sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : int(::sysconf(_SC_NPROCESSORS_ONLN));
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    const long pageSize = ::sysconf(_SC_PAGESIZE);
    facts.memoryBytes = pages > 0 && pageSize > 0 ? qint64(pages) * pageSize : 0;
    struct statvfs disk{};
    if (::statvfs(QFile::encodeName(facts.home.isEmpty() ? QStringLiteral("/") : facts.home).constData(), &disk) == 0)
        facts.workspaceDiskBytes = qint64(disk.f_blocks) * qint64(disk.f_frsize);
    facts.launcherIsRoot = ::geteuid() == 0;
    return facts;
}

} // namespace airlock::policy
