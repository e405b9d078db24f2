// The escape suite's target: a Docker container under the Hardened preset, on an image assembled
// offline like the base image, plus the host's bash, curl, getent and unshare, so that every attack
// finds the tool it uses (an attack that fails for want of a tool would prove nothing).

#include "escapetarget.h"

#include "../docker/dockertestutil.h"
#include "sandbox/sandboxtestutil.h"

#include <QDir>
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

    QString name() const override { return QStringLiteral("Docker, Hardened"); }
    QString unavailable() override
    {
        const auto why = docker::test::dockerUnavailable();
        return why ? *why : QString();
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
