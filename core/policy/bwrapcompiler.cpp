#include "policy/compiler.h"

#include "policy/sandboxlayout.h"
#include "policy/sandboxplan.h"

namespace airlock::policy {

using namespace detail;

namespace {

// The host system the sandbox runs on, read-only. The -try forms skip what a distribution lacks, and
// binding /bin and friends works whether they are folders or merged-/usr symlinks.
const QStringList &systemPaths()
{
    static const QStringList paths{
        QStringLiteral("/bin"), QStringLiteral("/sbin"), QStringLiteral("/lib"), QStringLiteral("/lib32"),
        QStringLiteral("/lib64"), QStringLiteral("/libx32"),
    };
    return paths;
}

// Only the parts of /etc that programs need to run, resolve names and verify TLS; not the whole of it.
const QStringList &etcPaths()
{
    static const QStringList paths{
        QStringLiteral("/etc/alternatives"), QStringLiteral("/etc/ca-certificates"), QStringLiteral("/etc/ssl"),
        QStringLiteral("/etc/pki"), QStringLiteral("/etc/ld.so.cache"), QStringLiteral("/etc/ld.so.conf"),
        QStringLiteral("/etc/ld.so.conf.d"), QStringLiteral("/etc/localtime"), QStringLiteral("/etc/nsswitch.conf"),
        QStringLiteral("/etc/passwd"), QStringLiteral("/etc/group"), QStringLiteral("/etc/hosts"),
        QStringLiteral("/etc/resolv.conf"), QStringLiteral("/etc/gitconfig"), QStringLiteral("/etc/os-release"),
    };
    return paths;
}

// Under /proc, what writes to the kernel as a whole rather than to the sandbox's own processes.
const QStringList &procReadOnlyPaths()
{
    static const QStringList paths{
        QStringLiteral("/proc/sys"), QStringLiteral("/proc/sysrq-trigger"), QStringLiteral("/proc/irq"),
        QStringLiteral("/proc/bus"), QStringLiteral("/proc/fs"), QStringLiteral("/proc/acpi"),
        QStringLiteral("/proc/scsi"), QStringLiteral("/proc/driver"), QStringLiteral("/proc/tty"),
    };
    return paths;
}

void appendMount(QStringList &args, const PlannedMount &mount)
{
    switch (mount.kind) {
    case PlannedMount::Kind::Bind:
        args << QStringLiteral("--bind") << mount.source << mount.target;
        return;
    case PlannedMount::Kind::ReadOnlyBind:
        args << QStringLiteral("--ro-bind") << mount.source << mount.target;
        return;
    case PlannedMount::Kind::ProtectedBind:
        // Re-binds the workspace's own file over itself, read-only; absent files are skipped.
        args << QStringLiteral("--ro-bind-try") << mount.source << mount.target;
        return;
    case PlannedMount::Kind::Tmpfs:
        if (mount.sizeBytes)
            args << QStringLiteral("--size") << QString::number(*mount.sizeBytes);
        args << QStringLiteral("--tmpfs") << mount.target;
        return;
    case PlannedMount::Kind::Mask:
        args << QStringLiteral("--tmpfs") << mount.target << QStringLiteral("--remount-ro") << mount.target;
        return;
    case PlannedMount::Kind::Directory:
        args << QStringLiteral("--dir") << mount.target;
        return;
    }
}

} // namespace

Result<BwrapCommand> compileBwrap(const Policy &policy, const LaunchContext &context)
{
    auto plan = planSandbox(policy, context);
    if (!plan)
        return std::unexpected(plan.error());

    QStringList args;
    // A persistent sandbox outlives Airlock and is found again after a restart; the others end with it.
    if (policy.lifecycle != Lifecycle::Persistent)
        args << QStringLiteral("--die-with-parent");
    // The shim is pid 1 itself: it reaps everything, and without bwrap's own init in between, bwrap
    // reaps the sandbox's first process instead of leaving it to the host's init.
    args << QStringLiteral("--as-pid-1") << QStringLiteral("--new-session") << QStringLiteral("--unshare-all")
         // Explicit, because --unshare-all only tries, and --uid and --disable-userns need it.
         << QStringLiteral("--unshare-user");
    if (policy.network.mode == NetworkMode::Host)
        args << QStringLiteral("--share-net");
    if (!policy.privileges.nestedUserNamespaces)
        args << QStringLiteral("--disable-userns");
    args << QStringLiteral("--hostname") << QStringLiteral("airlock");
    if (policy.privileges.uid && policy.privileges.gid) {
        args << QStringLiteral("--uid") << QString::number(*policy.privileges.uid) << QStringLiteral("--gid")
             << QString::number(*policy.privileges.gid);
    }
    if (policy.privileges.dropAllCapabilities)
        args << QStringLiteral("--cap-drop") << QStringLiteral("ALL");
    for (const QString &cap : policy.privileges.capAdd)
        args << QStringLiteral("--cap-add") << QStringLiteral("CAP_") + cap;
    // Which filter arrives on the descriptor (default, strict) is the backend's choice; a custom Docker
    // profile has no bwrap form, so the backend uses the default filter then (the linter says so).
    if (policy.privileges.seccomp != SeccompMode::Unconfined)
        args << QStringLiteral("--seccomp") << QString::number(context.seccompFd);

    for (const QString &path : systemPaths())
        args << QStringLiteral("--ro-bind-try") << path << path;
    args << QStringLiteral("--ro-bind") << QStringLiteral("/usr") << QStringLiteral("/usr");
    for (const QString &path : etcPaths())
        args << QStringLiteral("--ro-bind-try") << path << path;
    args << QStringLiteral("--proc") << QStringLiteral("/proc");
    // Kernel settings and triggers are host-wide, and some of their writes are checked by uid, not by
    // capability: read-only whoever the sandbox runs as. bwrap covers some of these only when it finds
    // them writable at the time it checks, which as an unprivileged user it never does.
    for (const QString &path : procReadOnlyPaths())
        args << QStringLiteral("--ro-bind-try") << path << path;
    args << QStringLiteral("--dev") << QStringLiteral("/dev");
    for (const PlannedMount &mount : std::as_const(plan->mounts))
        appendMount(args, mount);
    if (policy.filesystem.readOnlyRoot)
        args << QStringLiteral("--remount-ro") << QStringLiteral("/");
    args << QStringLiteral("--chdir") << plan->workspaceTarget;

    args << QStringLiteral("--") << QString::fromLatin1(kSandboxShim) << plan->shimArguments;
    if (context.controlFd >= 0)
        args << QStringLiteral("--control-fd") << QString::number(context.controlFd);
    return BwrapCommand{args, plan->environment};
}

} // namespace airlock::policy
