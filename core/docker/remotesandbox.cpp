// A Docker sandbox on a daemon of another machine: nothing can be bound from this one, so each folder
// the sandbox would bind is a named volume filled by copying (the workspace is copied back before
// checkpoints, on stop and on destroy), the shim serves over the container's stdin and stdout through
// an attach stream, and the egress proxy is reached through a tunnel over that same connection.
#include "docker/dockerbackend.h"

#include "docker/attachstream.h"
#include "docker/tarwriter.h"
#include "docker/workspacecopy.h"
#include "futures.h"
#include "policy/compiler.h"
#include "sandbox/shimclient.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QLocalSocket>
#include <QPromise>

#include <sys/socket.h>

namespace airlock::docker {

using sandbox::SandboxState;

namespace {

constexpr char kIoRoot[] = "/airlock-io/";
constexpr qsizetype kStderrKeep = 4096;
constexpr qint64 kDefaultCopyLimit = 1LL << 30;

QFuture<Result<void>> readyFuture(Result<void> value)
{
    return QtFuture::makeReadyFuture(std::move(value));
}

} // namespace

QList<DockerSandbox::Copy> DockerSandbox::copiesOf(const QJsonObject &hostConfig)
{
    QList<Copy> copies;
    for (const QJsonValue &m : hostConfig.value(u"Mounts").toArray()) {
        const QJsonObject mount = m.toObject();
        const QJsonObject labels = mount.value(u"VolumeOptions").toObject().value(u"Labels").toObject();
        const QString kind = labels.value(QLatin1StringView(policy::kCopyKindLabel)).toString();
        if (mount.value(u"Type").toString() != QLatin1String("volume") || kind.isEmpty())
            continue;
        copies.append(Copy{mount.value(u"Source").toString(), mount.value(u"Target").toString(),
                           labels.value(QLatin1StringView(policy::kCopyFromLabel)).toString(), kind});
    }
    return copies;
}

void DockerSandbox::prepareRemote()
{
    // A container that never starts holds every volume read-write, whatever the sandbox may do with
    // them: copies go through it, before the sandbox starts and after it has gone.
    QJsonArray mounts;
    for (const Copy &c : std::as_const(m_copies))
        mounts.append(QJsonObject{{QStringLiteral("Type"), QStringLiteral("volume")},
                                  {QStringLiteral("Source"), c.volume},
                                  {QStringLiteral("Target"), QString(QLatin1String(kIoRoot) + c.volume)}});
    const QJsonObject body{
        {QStringLiteral("Image"), m_image},
        {QStringLiteral("Entrypoint"), QJsonArray{QStringLiteral("/airlock-io-never-runs")}},
        {QStringLiteral("NetworkDisabled"), true},
        {QStringLiteral("Labels"), QJsonObject{{QLatin1StringView(labels::IoFor), id()}}},
        {QStringLiteral("HostConfig"), QJsonObject{{QStringLiteral("Mounts"), mounts}, {QStringLiteral("NetworkMode"), QStringLiteral("none")}}}};
    m_creating = true;
    m_backend->recordFor(this, sandbox::events::SandboxProgress,
                         QJsonObject{{QStringLiteral("sandbox"), id()}, {QStringLiteral("backend"), QStringLiteral("docker")},
                                     {QStringLiteral("text"), tr("Copying the workspace to the Docker daemon at %1")
                                                                  .arg(client()->endpoint().display())}});
    airlock::then(client()->createContainer(body, ioContainerName()), this, [this](const Result<QString> &created) {
        if (created)
            m_ioContainer = *created;
        if (!endCreating())
            return;
        if (!created) {
            failWith(created.error());
            return;
        }
        copyIn(0);
    });
}

void DockerSandbox::copyIn(qsizetype index)
{
    if (index >= m_copies.size()) {
        qCDebug(lcDocker) << id() << "copied in after" << m_clock.elapsed() << "ms";
        attachRemote();
        return;
    }
    const Copy &c = m_copies.at(index);
    const quint32 uid = m_user.isEmpty() ? 0 : m_user.section(u':', 0, 0).toUInt();
    const quint32 gid = m_user.isEmpty() ? 0 : m_user.section(u':', 1, 1).toUInt();
    Result<QByteArray> tar;
    if (c.kind == QLatin1String("shim")) {
        QFile shim(c.from);
        if (!shim.open(QIODevice::ReadOnly)) {
            failWith(Error{ErrorCode::NotFound, QStringLiteral("cannot read the shim %1: %2").arg(c.from, shim.errorString())});
            return;
        }
        TarWriter writer;
        auto added = writer.addDirectory(c.volume, 0755);
        if (added)
            added = writer.addFile(c.volume + QStringLiteral("/shim"), shim.readAll(), 0555);
        if (!added) {
            failWith(added.error());
            return;
        }
        tar = writer.finish();
    } else {
        PackOptions options;
        options.uid = uid;
        options.gid = gid;
        options.top = c.volume;
        if (const auto &p = policy(); p && p->resources.workspaceBytes && c.kind == QLatin1String("workspace"))
            options.maxBytes = std::max<qint64>(*p->resources.workspaceBytes, 1 << 20);
        else
            options.maxBytes = kDefaultCopyLimit;
        tar = packFolder(c.from, options);
    }
    if (!tar) {
        failWith(tar.error());
        return;
    }
    m_creating = true;
    // Into the folder that holds the mount point, so the archive's first entry gives the volume's root
    // its owner and mode.
    airlock::then(client()->putArchive(m_ioContainer, QLatin1String(kIoRoot), *tar), this,
                  [this, index](const Result<void> &put) {
                      if (!endCreating())
                          return;
                      if (!put) {
                          failWith(put.error());
                          return;
                      }
                      copyIn(index + 1);
                  });
}

void DockerSandbox::attachRemote()
{
    closeRemoteStream();
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        failWith(Error{ErrorCode::Io, QStringLiteral("cannot make a socket pair for the shim's connection")});
        return;
    }
    // The shim's frames arrive multiplexed on the attach stream; ShimClient gets them as a plain
    // connection through a socket pair, as if the shim had connected to us.
    m_shimPipe = new QLocalSocket(this);
    m_shimPipe->setSocketDescriptor(pair[1]);
    m_attach = new AttachStream(client(), m_containerId, this);
    connect(m_shimPipe, &QLocalSocket::readyRead, m_attach, [this] { m_attach->write(m_shimPipe->readAll()); });
    connect(m_attach, &AttachStream::stdoutReceived, m_shimPipe, [this](const QByteArray &bytes) { m_shimPipe->write(bytes); });
    connect(m_attach, &AttachStream::stderrReceived, this, [this](const QByteArray &bytes) {
        m_shimStderr = QByteArray(m_shimStderr + bytes).right(kStderrKeep);
        qCDebug(lcDocker).noquote() << id() << "shim:" << QString::fromUtf8(bytes).trimmed();
    });
    connect(m_attach, &AttachStream::closed, this, [this](const Error &why) {
        if (m_stopping || state() == SandboxState::Stopped || state() == SandboxState::Destroyed)
            return;
        const QString said = QString::fromUtf8(m_shimStderr).trimmed();
        lost(said.isEmpty() ? why : Error{why.code, why.message + QStringLiteral("; the shim said: ") + said});
    });
    connect(m_attach, &AttachStream::opened, this, [this] {
        qCDebug(lcDocker) << id() << "attached after" << m_clock.elapsed() << "ms";
        airlock::then(client()->startContainer(m_containerId), this, [this](const Result<void> &started) {
            qCDebug(lcDocker) << id() << "started after" << m_clock.elapsed() << "ms";
            if (!started)
                failWith(started.error());
        });
    });
    useShimConnection(pair[0], QStringLiteral("the attach stream of container %1").arg(m_containerName), m_backend->options().startTimeoutMs);
    m_attach->open();
}

void DockerSandbox::closeRemoteStream()
{
    if (m_attach) {
        m_attach->disconnect(this);
        m_attach->close();
        m_attach->deleteLater();
        m_attach = nullptr;
    }
    if (m_shimPipe) {
        m_shimPipe->abort();
        m_shimPipe->deleteLater();
        m_shimPipe = nullptr;
    }
}

QFuture<Result<void>> DockerSandbox::pullWorkspace()
{
    if (!m_remote)
        return readyFuture({});
    if (m_pulling)
        return *m_pulling;
    const auto workspace = std::find_if(m_copies.cbegin(), m_copies.cend(), [](const Copy &c) { return c.kind == QLatin1String("workspace"); });
    const auto &p = policy();
    if (workspace == m_copies.cend() || (p && p->filesystem.workspace != policy::Access::ReadWrite))
        return readyFuture({}); // nothing the sandbox could have changed
    if (m_ioContainer.isEmpty())
        return readyFuture(fail(ErrorCode::Io, QStringLiteral("sandbox %1 has no copy of its workspace to bring back").arg(id())));
    const qint64 limit = p && p->resources.workspaceBytes ? *p->resources.workspaceBytes * 2 + (64 << 20) : kDefaultCopyLimit;
    const QStringList protectedNames = p ? p->filesystem.protectedPaths : QStringList();
    const QString hostFolder = workspace->from;
    const QString top = workspace->volume;
    m_clock.start();
    auto pulled = airlock::then(client()->getArchive(m_ioContainer, QLatin1String(kIoRoot) + top, limit), this,
                                [this, hostFolder, top, protectedNames](const Result<QByteArray> &tar) -> Result<void> {
        m_pulling.reset();
        if (!tar)
            return std::unexpected(Error{tar.error().code, QStringLiteral("the workspace of sandbox %1 could not be copied back: %2")
                                                                .arg(id(), tar.error().message)});
        auto report = syncFromArchive(*tar, top, hostFolder, protectedNames);
        if (!report)
            return std::unexpected(report.error());
        qCDebug(lcDocker) << id() << "copied back after" << m_clock.elapsed() << "ms:" << report->written << "written,"
                          << report->removed << "removed," << report->unchanged << "unchanged";
        QJsonObject payload{{QStringLiteral("sandbox"), id()},
                            {QStringLiteral("backend"), QStringLiteral("docker")},
                            {QStringLiteral("workspace"), hostFolder},
                            {QStringLiteral("written"), report->written},
                            {QStringLiteral("removed"), report->removed},
                            {QStringLiteral("unchanged"), report->unchanged}};
        if (!report->kept.isEmpty())
            payload.insert(QStringLiteral("keptProtected"), QJsonArray::fromStringList(report->kept.mid(0, 50)));
        if (!report->refused.isEmpty())
            payload.insert(QStringLiteral("refused"), QJsonArray::fromStringList(report->refused.mid(0, 50)));
        m_backend->recordFor(this, "sandbox.workspace_copied", payload);
        return {};
    });
    m_pulling = pulled;
    return pulled;
}

QFuture<Result<void>> DockerSandbox::pushWorkspace()
{
    if (!m_remote)
        return readyFuture({});
    const auto workspace = std::find_if(m_copies.cbegin(), m_copies.cend(), [](const Copy &c) { return c.kind == QLatin1String("workspace"); });
    if (workspace == m_copies.cend() || m_ioContainer.isEmpty())
        return readyFuture({});
    if (state() != SandboxState::Running)
        return readyFuture(std::unexpected(notRunning()));
    // An archive only adds and replaces: empty the copy first (through the shim, as the sandbox's own
    // user, who owns it), then put the folder in.
    sandbox::ExecRequest clear;
    clear.argv = {QStringLiteral("/bin/sh"), QStringLiteral("-c"),
                  QStringLiteral("cd \"$1\" && rm -rf -- * .[!.]* ..?* 2>/dev/null; true"), QStringLiteral("sh"), workspace->target};
    auto process = exec(clear);
    if (!process)
        return readyFuture(std::unexpected(process.error()));
    auto promise = std::make_shared<QPromise<Result<void>>>();
    promise->start();
    const Copy copy = *workspace;
    const auto settle = [promise](Result<void> r) {
        promise->addResult(std::move(r));
        promise->finish();
    };
    connect(*process, &sandbox::SandboxProcess::failed, this, [settle](const Error &e) { settle(std::unexpected(e)); });
    connect(*process, &sandbox::SandboxProcess::finished, this, [this, copy, settle](const sandbox::ExitStatus &) {
        PackOptions options;
        options.uid = m_user.isEmpty() ? 0 : m_user.section(u':', 0, 0).toUInt();
        options.gid = m_user.isEmpty() ? 0 : m_user.section(u':', 1, 1).toUInt();
        options.top = copy.volume;
        if (const auto &p = policy(); p && p->resources.workspaceBytes)
            options.maxBytes = std::max<qint64>(*p->resources.workspaceBytes, 1 << 20);
        auto tar = packFolder(copy.from, options);
        if (!tar) {
            settle(std::unexpected(tar.error()));
            return;
        }
        airlock::then(client()->putArchive(m_ioContainer, QLatin1String(kIoRoot), *tar), this,
                      [settle](const Result<void> &put) { settle(put); });
    });
    connect(*process, &sandbox::SandboxProcess::finished, *process, &QObject::deleteLater);
    connect(*process, &sandbox::SandboxProcess::failed, *process, &QObject::deleteLater);
    return promise->future();
}

void DockerSandbox::releaseRemote(bool bringBack, std::function<void()> done)
{
    if (!m_remote) {
        done();
        return;
    }
    closeRemoteStream();
    const auto removeRest = [this, done] {
        const auto removeVolumes = [this, done] {
            for (const Copy &c : std::as_const(m_copies))
                client()->removeVolume(c.volume);
            done();
        };
        if (m_ioContainer.isEmpty()) {
            removeVolumes();
            return;
        }
        airlock::then(client()->removeContainer(std::exchange(m_ioContainer, {}), true), this,
                      [removeVolumes](const Result<void> &) { removeVolumes(); });
    };
    if (!bringBack) {
        removeRest(); // nothing ran: nothing to bring back
        return;
    }
    airlock::then(pullWorkspace(), this, [this, removeRest, done](const Result<void> &pulled) {
        if (!pulled) {
            // The volumes keep the agent's work: say so, and leave them on the daemon.
            const QString kept = QStringLiteral("%1; its volumes (%2-…) are kept on the Docker daemon")
                                     .arg(pulled.error().message, m_copies.isEmpty() ? QString() : m_copies.first().volume.section(u'-', 0, -2));
            qCWarning(lcDocker).noquote() << kept;
            m_backend->recordFor(this, sandbox::events::SandboxFailed,
                                 QJsonObject{{QStringLiteral("sandbox"), id()}, {QStringLiteral("message"), kept}});
            done();
            return;
        }
        removeRest();
    });
}

} // namespace airlock::docker
