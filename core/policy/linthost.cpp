#include "compiler.h"
#include "policy/lintchecks.h"

#include <algorithm>

// Findings about this machine and backend: settings that cannot be enforced as written, what is used
// instead, and what will stop a sandbox from starting at all.

namespace airlock::policy::detail {

namespace {

Finding note(const char *id, Severity severity, const char *path, QString title, QString why,
             std::optional<Fix> fix = std::nullopt)
{
    return {QString::fromLatin1(id), severity, QString::fromLatin1(path), std::move(title), std::move(why),
            std::move(fix)};
}

QString bytesText(qint64 bytes)
{
    constexpr qint64 kGiB = qint64(1) << 30;
    if (bytes >= kGiB)
        return QStringLiteral("%1 GiB").arg(double(bytes) / double(kGiB), 0, 'f', bytes % kGiB ? 1 : 0);
    return QStringLiteral("%1 MiB").arg(bytes >> 20);
}

// A limit at or above what the machine has limits nothing here, though it may elsewhere.
void lintNoLimits(const Policy &policy, const HostFacts &facts, QList<Finding> &out)
{
    const Resources &res = policy.resources;
    if (res.cpus && facts.cpuCount > 0 && *res.cpus >= facts.cpuCount) {
        const int cores = facts.cpuCount;
        out.append(note("host.no-limit", Severity::Warning, "resources.cpus",
                        QStringLiteral("cpus: %1 is no limit on this machine (%2 cores)").arg(*res.cpus).arg(cores),
                        QStringLiteral("The sandbox may use every core this machine has; a runaway build or a "
                                       "miner slows everything else down."),
                        makeFix(QStringLiteral("Limit to %1 of %2 cores").arg(std::max(1, cores / 2)).arg(cores),
                                [cores](Policy &p) { p.resources.cpus = std::max(1, cores / 2); })));
    }
    if (res.memoryBytes && facts.memoryBytes > 0 && *res.memoryBytes >= facts.memoryBytes) {
        const qint64 ram = facts.memoryBytes;
        out.append(note("host.no-limit", Severity::Warning, "resources.memoryBytes",
                        QStringLiteral("memoryBytes: %1 is no limit on this machine (%2 of memory)")
                            .arg(bytesText(*res.memoryBytes), bytesText(ram)),
                        QStringLiteral("The sandbox may take all the memory there is, and the kernel's OOM killer then "
                                       "picks among the host's processes too."),
                        makeFix(QStringLiteral("Limit to half of it"),
                                [ram](Policy &p) { p.resources.memoryBytes = std::max<qint64>(ram / 2 >> 20 << 20, 16 << 20); })));
    }
    if (res.tmpBytes && facts.memoryBytes > 0 && *res.tmpBytes >= facts.memoryBytes) {
        out.append(note("host.no-limit", Severity::Warning, "resources.tmpBytes",
                        QStringLiteral("tmpBytes: %1 is no limit on this machine (%2 of memory)")
                            .arg(bytesText(*res.tmpBytes), bytesText(facts.memoryBytes)),
                        QStringLiteral("/tmp is a tmpfs held in memory; filling it can exhaust the host's memory.")));
    }
    if (res.maxFileBytes && facts.workspaceDiskBytes > 0 && *res.maxFileBytes >= facts.workspaceDiskBytes) {
        out.append(note("host.no-limit", Severity::Warning, "resources.maxFileBytes",
                        QStringLiteral("maxFileBytes: %1 is no limit on this machine (the disk holds %2)")
                            .arg(bytesText(*res.maxFileBytes), bytesText(facts.workspaceDiskBytes)),
                        QStringLiteral("One file may fill the disk the workspace is on.")));
    }
    if (res.workspaceBytes && facts.workspaceDiskBytes > 0 && *res.workspaceBytes >= facts.workspaceDiskBytes) {
        out.append(note("host.no-limit", Severity::Warning, "resources.workspaceBytes",
                        QStringLiteral("workspaceBytes: %1 is no limit on this machine (the disk holds %2)")
                            .arg(bytesText(*res.workspaceBytes), bytesText(facts.workspaceDiskBytes)),
                        QStringLiteral("The workspace may fill the disk it is on.")));
    }
}

void lintLocal(const Policy &policy, const HostFacts &facts, QList<Finding> &out)
{
    if (facts.launcherIsRoot) {
        const bool rootInside = policy.privileges.uid && *policy.privileges.uid == 0;
        out.append(note("host.sandbox-user", Severity::Info, "privileges.uid",
                        QStringLiteral("Sandboxed code runs as an unprivileged host user, not as root"),
                        QStringLiteral("Airlock runs as root here, so each sandbox runs as its workspace's owner, or as "
                                       "the system user airlock-sandbox when root owns the workspace (its files are then "
                                       "given to that user through an idmapped mount and stay root's on disk)%1. "
                                       "Host folders only root may enter cannot be mounted.")
                            .arg(rootInside ? QStringLiteral("; uid 0 inside is root of its own user namespace only")
                                            : QString())));
    }
    if (!facts.bwrapInstalled) {
        out.append(note("host.bwrap-missing", Severity::Critical, "runtime.backend",
                        QStringLiteral("bubblewrap is not installed"),
                        QStringLiteral("The local backend runs sandboxes with bwrap; install the bubblewrap "
                                       "package or choose the docker backend.")));
    }
    if (!facts.userNamespaces) {
        out.append(note("host.no-userns", Severity::Critical, "runtime.backend",
                        QStringLiteral("Unprivileged user namespaces are turned off"),
                        QStringLiteral("bubblewrap needs them to build the sandbox (sysctl "
                                       "kernel.unprivileged_userns_clone=1 or user.max_user_namespaces > 0).")));
    }
    const Resources &res = policy.resources;
    if (!facts.cgroupsWritable) {
        if (res.memoryBytes) {
            out.append(note("host.limit-fallback", Severity::Warning, "resources.memoryBytes",
                            QStringLiteral("Memory limit enforced with RLIMIT_AS instead of cgroups"),
                            QStringLiteral("No writable cgroup is available, so each process gets an address-space "
                                           "limit: several processes together can still use more, and programs that "
                                           "reserve much address space (JVMs, sanitizers) may fail to start.")));
        }
        if (res.pids) {
            out.append(note("host.limit-fallback", Severity::Warning, "resources.pids",
                            QStringLiteral("Process limit enforced with RLIMIT_NPROC instead of cgroups"),
                            QStringLiteral("RLIMIT_NPROC counts every process of your user, not only the "
                                           "sandbox's, so the limit is looser or stricter than written.")));
        }
        if (res.cpus) {
            out.append(note("host.limit-fallback", Severity::Warning, "resources.cpus",
                            QStringLiteral("CPU limit is not enforced without cgroups"),
                            QStringLiteral("rlimits can only cap total CPU time, not a share of the machine; the "
                                           "sandbox may use every core.")));
        }
    }
    if (policy.runtime.dockerRuntime == DockerRuntime::Runsc) {
        out.append(note("backend.runsc-ignored", Severity::Warning, "runtime.dockerRuntime",
                        QStringLiteral("gVisor is not used by the local backend"),
                        QStringLiteral("runsc is a Docker runtime; bubblewrap runs the sandbox directly on the "
                                       "host kernel. Choose the docker backend to use gVisor.")));
    }
    if (!policy.runtime.image.isEmpty()) {
        out.append(note("backend.image-ignored", Severity::Info, "runtime.image",
                        QStringLiteral("The image is ignored by the local backend"),
                        QStringLiteral("bubblewrap uses the host's /usr read-only instead of an image."),
                        makeFix(QStringLiteral("Clear the image"), [](Policy &p) { p.runtime.image.clear(); })));
    }
    if (!policy.privileges.noNewPrivileges) {
        out.append(note("backend.no-new-privs-forced", Severity::Info, "privileges.noNewPrivileges",
                        QStringLiteral("bubblewrap always sets no-new-privileges"),
                        QStringLiteral("The setting is ignored by the local backend: bwrap sets it for every sandbox."),
                        makeFix(QStringLiteral("Turn on no-new-privileges"),
                                [](Policy &p) { p.privileges.noNewPrivileges = true; })));
    }
    if (policy.privileges.seccomp == SeccompMode::Custom) {
        out.append(note("backend.custom-seccomp", Severity::Warning, "privileges.seccompProfile",
                        QStringLiteral("Custom seccomp profiles apply to Docker only"),
                        QStringLiteral("The profile is in Docker's format; bubblewrap uses Airlock's default "
                                       "filter instead.")));
    }
    const bool runsAsRoot = policy.privileges.uid && *policy.privileges.uid == 0;
    if (!policy.privileges.capAdd.isEmpty() && !runsAsRoot) {
        out.append(note("backend.caps-need-root", Severity::Info, "privileges.capAdd",
                        QStringLiteral("Added capabilities have no effect for a non-root user"),
                        QStringLiteral("bubblewrap grants capabilities only to uid 0 inside the sandbox.")));
    }
}

void lintDocker(const Policy &policy, const HostFacts &facts, QList<Finding> &out)
{
    if (!facts.dockerReachable) {
        out.append(note("host.docker-unreachable", Severity::Warning, "runtime.backend",
                        QStringLiteral("Docker is not reachable"),
                        QStringLiteral("The Docker socket is missing or not writable by you; the sandbox cannot "
                                       "start until the daemon runs and you may use it.")));
    }
    if (policy.runtime.dockerRuntime == DockerRuntime::Runsc && !facts.runscInstalled) {
        out.append(note("host.runsc-missing", Severity::Critical, "runtime.dockerRuntime",
                        QStringLiteral("gVisor (runsc) is not installed"),
                        QStringLiteral("Docker will refuse to create the container. Run packaging/ensure-dockerd.sh "
                                       "--gvisor: it installs runsc and registers it with Docker as airlock-runsc, "
                                       "with the flags Airlock needs (airlockctl doctor checks it).")));
    }
    if (policy.runtime.dockerRuntime == DockerRuntime::Runsc) {
        out.append(note("backend.gvisor", Severity::Info, "runtime.dockerRuntime",
                        QStringLiteral("What gVisor changes"),
                        QStringLiteral("System calls are answered by gVisor's user-space kernel (the Sentry), so a "
                                       "kernel bug reachable from the sandbox is not one in your host's kernel. This "
                                       "policy's seccomp filter applies inside gVisor too, and gVisor's own filter "
                                       "guards the host. Bubblewrap cannot run nested inside it; file-heavy work costs "
                                       "more; a memory, process or /tmp overrun ends the whole sandbox rather than one "
                                       "process.")));
        if (policy.resources.pids) {
            out.append(note("backend.gvisor-pids", Severity::Info, "resources.pids",
                            QStringLiteral("The process limit counts gVisor's own tasks"),
                            QStringLiteral("Under gVisor the container's process limit holds gVisor's own threads and "
                                           "about eight host tasks per process inside, so %1 processes become a limit "
                                           "of %2 host tasks: roughly %1 processes can run, and a fork bomb is still "
                                           "stopped.")
                                .arg(*policy.resources.pids)
                                .arg(gvisorHostTasks(*policy.resources.pids))));
        }
    }
    // Default and strict are Airlock's own filter on Docker too, which follows this setting; a custom
    // profile has the last word.
    if (policy.privileges.nestedUserNamespaces && policy.privileges.seccomp == SeccompMode::Custom) {
        out.append(note("backend.nested-userns-docker", Severity::Info, "privileges.nestedUserNamespaces",
                        QStringLiteral("Your seccomp profile decides about nested user namespaces"),
                        QStringLiteral("A custom profile replaces Airlock's filter, so whether the container may "
                                       "create user namespaces is up to it, not to this setting.")));
    }
}

} // namespace

void lintHost(const Policy &policy, const HostFacts &facts, QList<Finding> &out)
{
    lintNoLimits(policy, facts, out);
    if (policy.runtime.backend == Backend::Local)
        lintLocal(policy, facts, out);
    else
        lintDocker(policy, facts, out);
}

} // namespace airlock::policy::detail
