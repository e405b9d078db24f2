#pragma once

#include "error.h"
#include "policy/policy.h"
#include "sandbox/backend.h"

#include <QByteArray>
#include <QStringList>

#include <optional>

// Resource limits of a local sandbox. Memory, processes and CPU go into a cgroup when this process
// may make one: a systemd scope (asked for over D-Bus; the desktop case on cgroup v2), a cgroup v2
// folder under our own when it is delegated (containers), a cgroup v1 folder per controller (root on
// hybrid hosts). Whatever no cgroup covers falls back to rlimits, which are per process and weaker:
// RLIMIT_AS for memory, RLIMIT_NPROC inside the sandbox's user namespace for processes (through the
// shim; the kernel never applies it to root), RLIMIT_CPU (cpus × wall clock) for CPU. File size and
// open files are always rlimits. The report says which of these is in force for each limit.

namespace airlock::sandbox {

struct RlimitValue
{
    int resource = 0;   // RLIMIT_*
    quint64 value = 0;  // soft and hard
    bool operator==(const RlimitValue &) const = default;
};

// The cgroup side of one sandbox: what was made and must be removed again.
struct CgroupPlacement
{
    LimitMechanism mechanism = LimitMechanism::None;
    QStringList directories;   // cgroup folders made for this sandbox
    QString unit;              // systemd scope name
    QString procsFile;         // counts the sandbox's processes

    QJsonObject toJson() const;
    static CgroupPlacement fromJson(const QJsonObject &object);
};

struct LimitPlan
{
    LimitMechanism mechanism = LimitMechanism::Rlimits;
    CgroupPlacement cgroup;
    QStringList joinFiles;                  // files the launched process writes "0" to, moving itself in
    QList<RlimitValue> rlimits;             // set on bwrap, inherited by everything in the sandbox
    std::optional<qint64> shimMaxProcesses; // --max-processes for the shim
    bool systemdScope = false;              // the launcher must ask systemd before bwrap runs
    LimitReport report;
};

// What the limiter decides from; probe() reads it from this process, tests make it up.
struct LimitEnvironment
{
    QByteArray procSelfCgroup;
    QByteArray mountInfo;
    bool root = false;
    bool systemdAvailable = false;        // org.freedesktop.systemd1 answers on the bus we would use
    quint64 openFilesHardLimit = 1 << 20; // RLIMIT_NOFILE's hard limit here

    static LimitEnvironment probe();
};

class Limiter
{
public:
    // forced: only that mechanism (rlimits always back it up); from AIRLOCK_LIMITS when not given.
    explicit Limiter(LimitEnvironment environment, std::optional<LimitMechanism> forced = std::nullopt);

    // Reads AIRLOCK_LIMITS (systemd-scope, cgroup-v2, cgroup-v1, rlimits); empty or "auto" is nullopt.
    static Result<std::optional<LimitMechanism>> forcedFromEnvironment();

    // Makes the cgroup (if any) with its limits and computes the rest; nothing is started. A forced
    // mechanism that cannot work here is an error; otherwise the next one is tried.
    Result<LimitPlan> prepare(const QString &sandboxId, const policy::Resources &resources) const;

    // The rlimits and report for a plan whose cgroup covers `covered` of memory, pids and cpu.
    LimitPlan rlimitPlan(const policy::Resources &resources, bool memoryCovered, bool pidsCovered,
                         bool cpuCovered) const;

    // Removes the folders of a placement (they must be empty of processes). Returns what is left.
    static QStringList release(const CgroupPlacement &placement);
    // Processes in the placement's cgroup, -1 when it has none or cannot be read.
    static int countProcesses(const CgroupPlacement &placement);
    // How many processes the kernel's OOM killer ended in the placement's memory cgroup so far
    // (cgroup v2 memory.events, v1 memory.oom_control), nothing when no such file can be read.
    static std::optional<quint64> oomKills(const CgroupPlacement &placement);

private:
    Result<LimitPlan> tryCgroupV1(const QString &sandboxId, const policy::Resources &resources) const;
    Result<LimitPlan> tryCgroupV2(const QString &sandboxId, const policy::Resources &resources) const;
    Result<LimitPlan> trySystemd(const QString &sandboxId, const policy::Resources &resources) const;

    LimitEnvironment m_env;
    std::optional<LimitMechanism> m_forced;
};

// "4 GiB", "1.5 MiB": for reports.
QString formatBytes(qint64 bytes);

} // namespace airlock::sandbox
