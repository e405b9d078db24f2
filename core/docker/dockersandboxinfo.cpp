// What the Sandboxes dock shows of a Docker sandbox: its host pid, user and limits from an inspection,
// and samples of its resource use.
#include "docker/dockerbackend.h"

#include "futures.h"

namespace airlock::docker {

using sandbox::SandboxState;

void DockerSandbox::inspectDetails()
{
    if (m_containerId.isEmpty())
        return;
    airlock::then(client()->inspectContainer(m_containerId), this, [this](const Result<QJsonObject> &inspected) {
        if (inspected)
            applyDetails(*inspected);
    });
}

void DockerSandbox::applyDetails(const QJsonObject &inspected)
{
    const QJsonObject state = inspected.value(u"State").toObject();
    const QJsonObject host = inspected.value(u"HostConfig").toObject();
    const QJsonObject config = inspected.value(u"Config").toObject();
    sandbox::SandboxInfo &i = mutableInfo();
    i.hostPid = qint64(state.value(u"Pid").toDouble());
    m_user = config.value(u"User").toString();
    const QString uid = m_user.isEmpty() ? QStringLiteral("0") : m_user.section(u':', 0, 0);
    i.uidMapping = QStringLiteral("%1 -> %1").arg(uid);
    if (!m_launched) {
        // Adopted: what this run knows comes from the container itself.
        m_remote = config.value(u"Labels").toObject().contains(QLatin1StringView(labels::Remote));
        m_copies = copiesOf(host);
        if (m_remote)
            m_ioContainer = ioContainerName();
        m_autoRemove = host.value(u"AutoRemove").toBool();
        if (const qint64 memory = qint64(host.value(u"Memory").toDouble()); memory > 0)
            m_memoryLimit = memory;
        i.limits = m_backend->limitsFor(host, m_containerName);
        m_image = config.value(u"Image").toString();
    }
    Q_EMIT infoChanged();
}

QFuture<Result<ContainerStats>> DockerSandbox::stats()
{
    if (m_containerId.isEmpty() || (state() != SandboxState::Running && state() != SandboxState::Starting))
        return QtFuture::makeReadyFuture(Result<ContainerStats>(std::unexpected(notRunning())));
    return airlock::then(client()->containerStats(m_containerId), this, [this](const Result<QJsonObject> &raw) -> Result<ContainerStats> {
        if (!raw)
            return std::unexpected(raw.error());
        auto parsed = parseStats(*raw, m_lastStats ? &*m_lastStats : nullptr);
        if (!parsed)
            return parsed;
        parsed->sandboxId = id();
        if (parsed->containerId.isEmpty())
            parsed->containerId = m_containerId;
        m_lastStats = *parsed;
        if (parsed->pids >= 0)
            mutableInfo().processes = int(parsed->pids);
        Q_EMIT statsUpdated(*parsed);
        Q_EMIT infoChanged();
        return parsed;
    });
}

void DockerSandbox::refreshInfo(sandbox::SandboxInfo &info) const
{
    Sandbox::refreshInfo(info);
    if (info.state != SandboxState::Running)
        info.processes = -1;
}

} // namespace airlock::docker
