#include "sandbox/limiter.h"

#include "sandbox/cgroupfs.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonObject>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>

namespace airlock::sandbox {

namespace {

constexpr quint64 kOpenFiles = 8192;
constexpr qint64 kCpuPeriodUs = 100000;

QString cgroupName(const QString &sandboxId)
{
    return QStringLiteral("airlock-") + sandboxId;
}

Result<void> makeCgroupDir(const QString &path)
{
    if (::mkdir(QFile::encodeName(path).constData(), 0755) != 0)
        return fail(ErrorCode::Io, QStringLiteral("cannot create the cgroup %1: %2")
                                       .arg(path, QString::fromLocal8Bit(std::strerror(errno))));
    return {};
}

void removeDirs(const QStringList &dirs)
{
    for (auto it = dirs.crbegin(); it != dirs.crend(); ++it)
        ::rmdir(QFile::encodeName(*it).constData());
}

QString cpuText(double cpus)
{
    return QString::number(cpus, 'g', 4);
}

} // namespace

QString formatBytes(qint64 bytes)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = static_cast<double>(bytes);
    int unit = 0;
    while (value >= 1024 && unit < 4) {
        value /= 1024;
        ++unit;
    }
    return QString::number(value, 'g', 4) + u' ' + QLatin1StringView(units[unit]);
}

QJsonObject CgroupPlacement::toJson() const
{
    return QJsonObject{{QStringLiteral("mechanism"), mechanismName(mechanism)},
                       {QStringLiteral("directories"), QJsonArray::fromStringList(directories)},
                       {QStringLiteral("unit"), unit},
                       {QStringLiteral("procsFile"), procsFile}};
}

CgroupPlacement CgroupPlacement::fromJson(const QJsonObject &object)
{
    CgroupPlacement p;
    p.mechanism = parseMechanism(object.value(u"mechanism").toString()).value_or(LimitMechanism::None);
    const QJsonArray dirs = object.value(u"directories").toArray();
    for (const QJsonValue &d : dirs) {
        // Only folders we would have made: a state file is not trusted to name any other.
        const QString path = d.toString();
        if (path.startsWith(QLatin1String("/sys/fs/cgroup/")) && QDir::cleanPath(path) == path
            && QFileInfo(path).fileName().startsWith(QLatin1String("airlock-")))
            p.directories << path;
    }
    p.unit = object.value(u"unit").toString();
    const QString procs = object.value(u"procsFile").toString();
    if (procs.startsWith(QLatin1String("/sys/fs/cgroup/")) && QDir::cleanPath(procs) == procs)
        p.procsFile = procs;
    return p;
}

LimitEnvironment LimitEnvironment::probe()
{
    LimitEnvironment env;
    env.procSelfCgroup = cgroupfs::readSmallFile(QStringLiteral("/proc/self/cgroup")).value_or(QByteArray());
    env.mountInfo = cgroupfs::readSmallFile(QStringLiteral("/proc/self/mountinfo")).value_or(QByteArray());
    env.root = ::geteuid() == 0;
    rlimit nofile{};
    if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0)
        env.openFilesHardLimit = nofile.rlim_max;
    env.systemdAvailable = false; // set by the caller that owns a D-Bus connection (systemdscope.h)
    return env;
}

Limiter::Limiter(LimitEnvironment environment, std::optional<LimitMechanism> forced)
    : m_env(std::move(environment)), m_forced(forced)
{
}

Result<std::optional<LimitMechanism>> Limiter::forcedFromEnvironment()
{
    const QString value = qEnvironmentVariable("AIRLOCK_LIMITS").trimmed();
    if (value.isEmpty() || value == u"auto")
        return std::optional<LimitMechanism>();
    const std::optional<LimitMechanism> m = parseMechanism(value);
    if (!m || *m == LimitMechanism::None)
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("AIRLOCK_LIMITS='%1' is not one of auto, systemd-scope, cgroup-v2, cgroup-v1, rlimits").arg(value));
    return std::optional<LimitMechanism>(m);
}

LimitPlan Limiter::rlimitPlan(const policy::Resources &res, bool memoryCovered, bool pidsCovered, bool cpuCovered) const
{
    LimitPlan plan;
    LimitReport &report = plan.report;
    if (res.memoryBytes && !memoryCovered) {
        plan.rlimits.append({RLIMIT_AS, static_cast<quint64>(*res.memoryBytes)});
        report.enforced << QStringLiteral("memory %1: RLIMIT_AS, per process (address space, not resident memory)")
                               .arg(formatBytes(*res.memoryBytes));
    }
    if (res.pids && !pidsCovered) {
        if (m_env.root) {
            report.unenforced << QStringLiteral("processes %1: the kernel does not apply RLIMIT_NPROC to root, and no "
                                                "cgroup is available")
                                     .arg(*res.pids);
        } else {
            plan.shimMaxProcesses = *res.pids;
            report.enforced << QStringLiteral("processes %1: RLIMIT_NPROC in the sandbox's user namespace").arg(*res.pids);
        }
    }
    if (res.cpus && !cpuCovered) {
        if (res.wallClockSeconds) {
            const auto seconds = static_cast<quint64>(std::ceil(*res.cpus * static_cast<double>(*res.wallClockSeconds)));
            plan.rlimits.append({RLIMIT_CPU, seconds});
            report.enforced << QStringLiteral("cpu %1: RLIMIT_CPU %2 s per process (cpus × wall clock); the rate is not "
                                              "limited")
                                   .arg(cpuText(*res.cpus))
                                   .arg(seconds);
        } else {
            report.unenforced << QStringLiteral("cpu %1: needs a cgroup cpu controller").arg(cpuText(*res.cpus));
        }
    }
    if (const auto fileLimit = policy::fileSizeLimit(res)) {
        plan.rlimits.append({RLIMIT_FSIZE, static_cast<quint64>(*fileLimit)});
        report.enforced << QStringLiteral("file size %1: RLIMIT_FSIZE").arg(formatBytes(*fileLimit));
    }
    if (res.workspaceBytes)
        report.enforced << QStringLiteral("workspace %1: measured while it runs, stopped when larger").arg(formatBytes(*res.workspaceBytes));
    const quint64 files = std::min<quint64>(kOpenFiles, m_env.openFilesHardLimit);
    plan.rlimits.append({RLIMIT_NOFILE, files});
    report.enforced << QStringLiteral("open files %1: RLIMIT_NOFILE").arg(files);
    plan.mechanism = LimitMechanism::Rlimits;
    report.mechanism = LimitMechanism::Rlimits;
    return plan;
}

Result<LimitPlan> Limiter::prepare(const QString &sandboxId, const policy::Resources &res) const
{
    const auto attempt = [&](LimitMechanism m) -> Result<LimitPlan> {
        switch (m) {
        case LimitMechanism::SystemdScope:
            return trySystemd(sandboxId, res);
        case LimitMechanism::CgroupV2:
            return tryCgroupV2(sandboxId, res);
        case LimitMechanism::CgroupV1:
            return tryCgroupV1(sandboxId, res);
        case LimitMechanism::Rlimits:
        case LimitMechanism::None:
            break;
        }
        return rlimitPlan(res, false, false, false);
    };
    if (m_forced)
        return attempt(*m_forced);
    QStringList why;
    for (LimitMechanism m : {LimitMechanism::SystemdScope, LimitMechanism::CgroupV2, LimitMechanism::CgroupV1}) {
        Result<LimitPlan> plan = attempt(m);
        if (plan)
            return plan;
        why << mechanismName(m) + QStringLiteral(": ") + plan.error().message;
    }
    LimitPlan plan = rlimitPlan(res, false, false, false);
    plan.report.where = QStringLiteral("no cgroup (") + why.join(QStringLiteral("; ")) + u')';
    return plan;
}

Result<LimitPlan> Limiter::trySystemd(const QString &sandboxId, const policy::Resources &res) const
{
    if (!m_env.systemdAvailable)
        return fail(ErrorCode::NotFound, QStringLiteral("systemd does not answer on D-Bus"));
    // Scopes only get memory and pids limits from systemd on the unified hierarchy.
    const auto memberships = cgroupfs::parseProcCgroup(m_env.procSelfCgroup);
    if (!memberships || memberships->size() != 1 || memberships->constFirst().hierarchy != 0)
        return fail(ErrorCode::NotFound, QStringLiteral("the host does not use the unified cgroup v2 hierarchy only"));
    LimitPlan plan = rlimitPlan(res, true, true, true);
    plan.mechanism = LimitMechanism::SystemdScope;
    plan.systemdScope = true;
    plan.cgroup.mechanism = LimitMechanism::SystemdScope;
    plan.cgroup.unit = cgroupName(sandboxId) + QStringLiteral(".scope");
    LimitReport &r = plan.report;
    r.mechanism = LimitMechanism::SystemdScope;
    r.where = plan.cgroup.unit;
    if (res.memoryBytes)
        r.enforced.prepend(QStringLiteral("memory %1: systemd MemoryMax, no swap").arg(formatBytes(*res.memoryBytes)));
    if (res.pids)
        r.enforced.prepend(QStringLiteral("processes %1: systemd TasksMax").arg(*res.pids));
    if (res.cpus)
        r.enforced.prepend(QStringLiteral("cpu %1: systemd CPUQuota").arg(cpuText(*res.cpus)));
    return plan;
}

Result<LimitPlan> Limiter::tryCgroupV2(const QString &sandboxId, const policy::Resources &res) const
{
    auto memberships = cgroupfs::parseProcCgroup(m_env.procSelfCgroup);
    auto mounts = cgroupfs::parseMountInfo(m_env.mountInfo);
    if (!memberships)
        return std::unexpected(memberships.error());
    if (!mounts)
        return std::unexpected(mounts.error());
    QString base;
    for (const auto &m : std::as_const(*memberships)) {
        if (m.hierarchy != 0)
            continue;
        for (const auto &mount : std::as_const(*mounts)) {
            if (mount.v2 && !mount.readOnly) {
                base = cgroupfs::folderOf(mount, m.path);
                if (!base.isEmpty())
                    break;
            }
        }
    }
    if (base.isEmpty())
        return fail(ErrorCode::NotFound, QStringLiteral("no writable cgroup2 mount shows this process's cgroup"));
    const QByteArray available = cgroupfs::readSmallFile(base + QStringLiteral("/cgroup.controllers")).value_or(QByteArray());
    const QStringList controllers = QString::fromUtf8(available).simplified().split(u' ', Qt::SkipEmptyParts);
    if (!controllers.contains(QStringLiteral("memory")) || !controllers.contains(QStringLiteral("pids")))
        return fail(ErrorCode::NotFound, QStringLiteral("%1 has no memory and pids controllers").arg(base));
    const bool cpu = controllers.contains(QStringLiteral("cpu"));
    const QByteArray enabled = cgroupfs::readSmallFile(base + QStringLiteral("/cgroup.subtree_control")).value_or(QByteArray());
    const QStringList on = QString::fromUtf8(enabled).simplified().split(u' ', Qt::SkipEmptyParts);
    QStringList want;
    for (const QString &c : {QStringLiteral("memory"), QStringLiteral("pids"), QStringLiteral("cpu")}) {
        if (controllers.contains(c) && !on.contains(c))
            want << u'+' + c;
    }
    // Fails with EBUSY when our own cgroup holds processes and is not the root: then it is not ours to split.
    if (!want.isEmpty()) {
        if (auto r = cgroupfs::writeFile(base + QStringLiteral("/cgroup.subtree_control"), want.join(u' ').toUtf8()); !r)
            return std::unexpected(r.error());
    }
    const QString dir = base + u'/' + cgroupName(sandboxId);
    if (auto r = makeCgroupDir(dir); !r)
        return std::unexpected(r.error());

    LimitPlan plan = rlimitPlan(res, true, true, cpu);
    const auto undo = [&](const Error &e) -> Result<LimitPlan> {
        removeDirs({dir});
        return std::unexpected(e);
    };
    QStringList lines;
    if (res.memoryBytes) {
        if (auto r = cgroupfs::writeFile(dir + QStringLiteral("/memory.max"), QByteArray::number(*res.memoryBytes)); !r)
            return undo(r.error());
        if (cgroupfs::exists(dir + QStringLiteral("/memory.swap.max")))
            (void)cgroupfs::writeFile(dir + QStringLiteral("/memory.swap.max"), "0");
        lines << QStringLiteral("memory %1: cgroup v2 memory.max, no swap").arg(formatBytes(*res.memoryBytes));
    }
    if (res.pids) {
        if (auto r = cgroupfs::writeFile(dir + QStringLiteral("/pids.max"), QByteArray::number(*res.pids)); !r)
            return undo(r.error());
        lines << QStringLiteral("processes %1: cgroup v2 pids.max").arg(*res.pids);
    }
    if (res.cpus && cpu) {
        const auto quota = static_cast<qint64>(std::llround(*res.cpus * kCpuPeriodUs));
        if (auto r = cgroupfs::writeFile(dir + QStringLiteral("/cpu.max"), QByteArray(QByteArray::number(quota) + ' ' + QByteArray::number(kCpuPeriodUs))); !r)
            return undo(r.error());
        lines << QStringLiteral("cpu %1: cgroup v2 cpu.max").arg(cpuText(*res.cpus));
    }
    plan.mechanism = LimitMechanism::CgroupV2;
    plan.cgroup = CgroupPlacement{LimitMechanism::CgroupV2, {dir}, {}, dir + QStringLiteral("/cgroup.procs")};
    plan.joinFiles = {dir + QStringLiteral("/cgroup.procs")};
    plan.report.mechanism = LimitMechanism::CgroupV2;
    plan.report.where = dir;
    plan.report.enforced = lines + plan.report.enforced;
    return plan;
}

Result<LimitPlan> Limiter::tryCgroupV1(const QString &sandboxId, const policy::Resources &res) const
{
    auto memberships = cgroupfs::parseProcCgroup(m_env.procSelfCgroup);
    auto mounts = cgroupfs::parseMountInfo(m_env.mountInfo);
    if (!memberships)
        return std::unexpected(memberships.error());
    if (!mounts)
        return std::unexpected(mounts.error());
    // controller -> our folder in its hierarchy
    const auto folderFor = [&](const QString &controller) -> QString {
        for (const auto &m : std::as_const(*memberships)) {
            if (!m.controllers.contains(controller))
                continue;
            for (const auto &mount : std::as_const(*mounts)) {
                if (!mount.v2 && !mount.readOnly && mount.controllers.contains(controller)) {
                    const QString f = cgroupfs::folderOf(mount, m.path);
                    if (!f.isEmpty())
                        return f;
                }
            }
        }
        return {};
    };
    const QString memoryBase = folderFor(QStringLiteral("memory"));
    const QString pidsBase = folderFor(QStringLiteral("pids"));
    const QString cpuBase = folderFor(QStringLiteral("cpu"));
    if (memoryBase.isEmpty() || pidsBase.isEmpty())
        return fail(ErrorCode::NotFound, QStringLiteral("no writable cgroup v1 memory and pids hierarchies"));

    QStringList made;
    const auto undo = [&](const Error &e) -> Result<LimitPlan> {
        removeDirs(made);
        return std::unexpected(e);
    };
    const auto dirIn = [&](const QString &base) -> Result<QString> {
        const QString dir = base + u'/' + cgroupName(sandboxId);
        if (made.contains(dir))
            return dir; // controllers mounted together share one folder
        if (auto r = makeCgroupDir(dir); !r)
            return std::unexpected(r.error());
        made << dir;
        return dir;
    };
    auto memoryDir = dirIn(memoryBase);
    if (!memoryDir)
        return undo(memoryDir.error());
    auto pidsDir = dirIn(pidsBase);
    if (!pidsDir)
        return undo(pidsDir.error());
    Result<QString> cpuDir = cpuBase.isEmpty() ? Result<QString>(QString()) : dirIn(cpuBase);
    if (!cpuDir)
        return undo(cpuDir.error());

    LimitPlan plan = rlimitPlan(res, true, true, !cpuDir->isEmpty());
    QStringList lines;
    if (res.memoryBytes) {
        const QByteArray value = QByteArray::number(*res.memoryBytes);
        if (auto r = cgroupfs::writeFile(*memoryDir + QStringLiteral("/memory.limit_in_bytes"), value); !r)
            return undo(r.error());
        // memsw is memory plus swap; equal to the memory limit means no swap. Absent without swap accounting.
        const QString memsw = *memoryDir + QStringLiteral("/memory.memsw.limit_in_bytes");
        const bool noSwap = cgroupfs::exists(memsw) && cgroupfs::writeFile(memsw, value).has_value();
        lines << QStringLiteral("memory %1: cgroup v1 memory.limit_in_bytes%2")
                     .arg(formatBytes(*res.memoryBytes), noSwap ? QStringLiteral(", no swap") : QString());
    }
    if (res.pids) {
        if (auto r = cgroupfs::writeFile(*pidsDir + QStringLiteral("/pids.max"), QByteArray::number(*res.pids)); !r)
            return undo(r.error());
        lines << QStringLiteral("processes %1: cgroup v1 pids.max").arg(*res.pids);
    }
    if (res.cpus && !cpuDir->isEmpty()) {
        const auto quota = static_cast<qint64>(std::llround(*res.cpus * kCpuPeriodUs));
        if (auto r = cgroupfs::writeFile(*cpuDir + QStringLiteral("/cpu.cfs_period_us"), QByteArray::number(kCpuPeriodUs)); !r)
            return undo(r.error());
        if (auto r = cgroupfs::writeFile(*cpuDir + QStringLiteral("/cpu.cfs_quota_us"), QByteArray::number(quota)); !r)
            return undo(r.error());
        lines << QStringLiteral("cpu %1: cgroup v1 cpu.cfs_quota_us").arg(cpuText(*res.cpus));
    }
    plan.mechanism = LimitMechanism::CgroupV1;
    plan.cgroup = CgroupPlacement{LimitMechanism::CgroupV1, made, {}, *pidsDir + QStringLiteral("/cgroup.procs")};
    // The launched child is single-threaded, so moving its one thread through `tasks` moves the whole
    // process. Writing "0" there skips the global threadgroup lock that a cgroup.procs write takes, whose
    // RCU grace period cost about 11 ms per sandbox start on this kernel (tests/bench/bench_local_exec).
    for (const QString &dir : std::as_const(made))
        plan.joinFiles << dir + QStringLiteral("/tasks");
    plan.report.mechanism = LimitMechanism::CgroupV1;
    plan.report.where = made.join(QStringLiteral(", "));
    plan.report.enforced = lines + plan.report.enforced;
    return plan;
}

QStringList Limiter::release(const CgroupPlacement &placement)
{
    QStringList left;
    for (auto it = placement.directories.crbegin(); it != placement.directories.crend(); ++it) {
        if (::rmdir(QFile::encodeName(*it).constData()) != 0 && errno != ENOENT)
            left << *it;
    }
    return left;
}

std::optional<quint64> Limiter::oomKills(const CgroupPlacement &placement)
{
    QStringList folders = placement.directories;
    if (!placement.procsFile.isEmpty())
        folders.prepend(QFileInfo(placement.procsFile).path());
    for (const QString &folder : std::as_const(folders)) {
        for (const char *name : {"memory.events", "memory.oom_control"}) {
            QFile file(folder + u'/' + QLatin1String(name));
            if (!file.open(QIODevice::ReadOnly))
                continue;
            const QList<QByteArray> lines = file.read(4096).split('\n');
            for (const QByteArray &line : lines) {
                if (!line.startsWith("oom_kill "))
                    continue;
                bool ok = false;
                const quint64 n = line.mid(9).trimmed().toULongLong(&ok);
                if (ok)
                    return n;
            }
        }
    }
    return std::nullopt;
}

int Limiter::countProcesses(const CgroupPlacement &placement)
{
    if (placement.procsFile.isEmpty())
        return -1;
    return cgroupfs::countProcs(placement.procsFile);
}

} // namespace airlock::sandbox
