// The escape suite's target: a Docker container under the Hardened preset, on an image assembled
// offline like the base image, plus the host's bash, curl, getent and unshare, so that every attack
// finds the tool it uses (an attack that fails for want of a tool would prove nothing). Built with
// AIRLOCK_ESCAPE_GVISOR, the same container runs under gVisor (the gvisor preset's runtime).

#include "escapetarget.h"

#include "../docker/dockertestutil.h"
#include "docker/gvisor.h"
#include "sandbox/sandboxtestutil.h"

#include <QDir>
#include <QHash>
#include <QFileInfo>
#include <QStandardPaths>
#include <QTemporaryDir>

#include <sys/stat.h>
#include <unistd.h>

namespace airlock::sandbox::test {

namespace {

constexpr char kImage[] = "airlock-escape-test:latest";

class DockerTarget final : public EscapeTarget
{
public:
    DockerTarget()
    {
        QDir(m_dir.path()).mkpath(QStringLiteral("ws"));
        QDir(m_dir.path()).mkpath(QStringLiteral("run"));
        // The container's uid reads the workspace while the host user may be root.
        ::chmod(QFile::encodeName(m_dir.path()).constData(), 0755);
        // Sandboxed code is never host root, and root's Docker maps no users: as root the workspace
        // is handed to uid 1000 (workspaceOwner()), which the writable policy runs as.
    }
    static constexpr uid_t kWorkspaceOwner = 1000;
    std::optional<uint> workspaceOwner() const override
    {
        return ::geteuid() == 0 ? std::optional<uint>(kWorkspaceOwner) : std::nullopt;
    }
    ~DockerTarget() override { delete m_backend; }

#ifdef AIRLOCK_ESCAPE_GVISOR
    static constexpr bool kGvisor = true;
#else
    static constexpr bool kGvisor = false;
#endif
    QString name() const override { return kGvisor ? QStringLiteral("gVisor, Hardened") : QStringLiteral("Docker, Hardened"); }
    QString unavailable() override
    {
        if (const auto why = docker::test::dockerUnavailable())
            return *why;
        if (kGvisor) {
            docker::DockerClient client(docker::DockerEndpoint::fromEnvironment().value_or(docker::DockerEndpoint{}));
            const auto info = docker::test::await(client.info());
            const docker::GvisorStatus gvisor =
                docker::gvisorStatus(info ? *info : QJsonObject(), QStandardPaths::findExecutable(QStringLiteral("runsc")));
            if (!gvisor.ready())
                return QStringLiteral("gVisor cannot run here: %1 (%2)").arg(gvisor.detail, gvisor.fix);
            // Registered is not running: gVisor needs things of the kernel (ptrace, seccomp) a machine may refuse.
            docker::DockerBackendOptions options;
            options.shimPath = QStringLiteral(AIRLOCK_SHIM_PATH);
            options.runtimeDir = runtimeRoot();
            docker::DockerBackend probe(docker::DockerClient::fromEnvironment(), options);
            probe.client()->setParent(&probe);
            policy::Policy p = docker::test::hardened();
            p.runtime.dockerRuntime = policy::DockerRuntime::Runsc;
            QString why;
            docker::DockerSandbox *s = docker::test::start(probe, {p, QStringLiteral("gvisor"), workspace(), {}, {}, {}}, &why);
            if (!s)
                return QStringLiteral("runsc is registered but cannot run a container here: ") + why;
            docker::test::destroyAndWait(probe, s);
        }
        return {};
    }
    bool prepare(QString *why) override
    {
        docker::DockerBackendOptions options;
        options.shimPath = QStringLiteral(AIRLOCK_SHIM_PATH);
        options.runtimeDir = runtimeRoot();
        m_backend = new docker::DockerBackend(docker::DockerClient::fromEnvironment(), options);
        m_backend->client()->setParent(m_backend);
        if (docker::test::await(m_backend->client()->inspectImage(QString::fromLatin1(kImage))))
            return true;
        docker::BaseImageOptions image;
        image.repository = QStringLiteral("airlock-escape-test");
        for (const char *tool : {"bash", "curl", "getent", "unshare"}) {
            const QString path = QStandardPaths::findExecutable(QString::fromLatin1(tool));
            if (path.isEmpty()) {
                *why = QStringLiteral("%1 is not installed on the host, and the attacks need it in the image").arg(QLatin1StringView(tool));
                return false;
            }
            image.programs << path;
        }
        auto built = docker::test::await(docker::buildBaseImage(m_backend->client(), image), 180000);
        if (!built)
            *why = QStringLiteral("cannot build %1: %2").arg(QLatin1StringView(kImage), built.error().message);
        return bool(built);
    }

    QString root() const override { return m_dir.path(); }
    QString workspace() const override { return QDir(m_dir.path()).canonicalPath() + QStringLiteral("/ws"); }
    QString runtimeRoot() const override { return m_dir.path() + QStringLiteral("/run"); }
    QString scratch() const override { return QStringLiteral("/tmp"); } // the workspace is read-only

    policy::Policy policy() const override
    {
        policy::Policy p = docker::test::hardened();
        p.runtime.image = QString::fromLatin1(kImage);
        p.resources.memoryBytes = 256LL << 20;
        p.resources.pids = 64;
        p.resources.cpus = 1;
        p.resources.maxFileBytes = 8LL << 20;
        p.resources.maxOutputBytes = 1LL << 20;
        p.resources.wallClockSeconds = 600;
        for (policy::Tmpfs &t : p.filesystem.tmpfs)
            t.sizeBytes = 16LL << 20;
        if (kGvisor) {
            p.runtime.dockerRuntime = policy::DockerRuntime::Runsc;
            // The container's pids cgroup holds gVisor's own kernel (the Sentry) and its threads, which
            // the compiler allows for (policy::gvisorHostTasks: 128 processes are 1088 host tasks).
            p.resources.pids = 128;
        }
        return p;
    }
    policy::Policy writable() const override
    {
        policy::Policy p = policy();
        p.filesystem.workspace = policy::Access::ReadWrite;
        // The owner of the workspace's files, so a writable workspace is writable for it.
        p.privileges.uid = ::geteuid() == 0 ? qint64(kWorkspaceOwner) : qint64(::geteuid());
        p.privileges.gid = ::geteuid() == 0 ? qint64(kWorkspaceOwner) : qint64(::getegid());
        return p;
    }
    QString differsHere(const QString &attack) const override
    {
        if (!kGvisor)
            return {};
        // Measured on this suite's run under runsc 20221219 (Debian 12), ptrace platform.
        static const QHash<QString, QString> differences{
            {QStringLiteral("setuid and capabilities"),
             QStringLiteral("gVisor does not report no_new_privs (PR_GET_NO_NEW_PRIVS answers 0 inside), which the attack reads "
                            "first; every capability set is empty (CapEff and CapBnd 0, checked below) and the root file system "
                            "is read-only, so a set-id program gains nothing")},
            {QStringLiteral("make a device node"),
             QStringLiteral("gVisor lets any user make a device node in its own file system, but the node reaches no device: "
                            "opening /tmp/sda fails with ENXIO inside gVisor's kernel, which has no host device behind it")},
            {QStringLiteral("fork bomb"),
             QStringLiteral("processes under gVisor are tasks of its user-space kernel (the Sentry); the pids limit bounds the "
                            "Sentry's host threads, so the bomb ends the whole sandbox (the shim's connection closes) rather "
                            "than itself; the host's process table is untouched")},
            {QStringLiteral("memory bomb"),
             QStringLiteral("the memory limit bounds the Sentry as a whole, so the cgroup's OOM killer ends the whole sandbox "
                            "rather than the bomb's process; the host is untouched")},
            {QStringLiteral("fill /tmp"),
             QStringLiteral("gVisor's tmpfs lives in the Sentry's memory, and writing past its size ends the whole sandbox "
                            "(the shim's connection closes) instead of failing the write with ENOSPC; the host is untouched")},
            {QStringLiteral("never host root"),
             QStringLiteral("processes under gVisor are not host processes: the host sees only runsc's sandbox process, "
                            "which runs as nobody (checked below)")},
            {QStringLiteral("control: reach a listener on the host's loopback"),
             QStringLiteral("Airlock registers gVisor with --network=none, so even a policy with host networking gets no "
                            "network under it")},
            {QStringLiteral("control: add a key to the kernel keyring"),
             QStringLiteral("gVisor implements no kernel keyring: keyctl fails whatever the policy allows")},
        };
        return differences.value(attack);
    }

    Sandbox *start(const policy::Policy &p) override
    {
        QString why;
        Sandbox *s = docker::test::start(*m_backend, {p, QStringLiteral("hardened"), workspace(), {}, {}, {}}, &why);
        if (!s)
            qWarning("the container did not start: %s", qPrintable(why));
        return s;
    }
    bool destroy(Sandbox *s) override { return destroyAndWait(s, 30000); }
    QString leftovers(const QString &id, const QString &controlDir) override
    {
        if (QFileInfo::exists(controlDir))
            return QStringLiteral("its control folder ") + controlDir;
        const auto container = docker::test::await(m_backend->client()->inspectContainer(QStringLiteral("airlock-") + id));
        if (container || container.error().code != ErrorCode::NotFound)
            return QStringLiteral("its container airlock-") + id;
        return {};
    }

private:
    QTemporaryDir m_dir;
    docker::DockerBackend *m_backend = nullptr;
};

} // namespace

std::unique_ptr<EscapeTarget> makeEscapeTarget()
{
    return std::make_unique<DockerTarget>();
}

} // namespace airlock::sandbox::test
