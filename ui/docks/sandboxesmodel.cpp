#include "sandboxesmodel.h"

#include "docker/dockerbackend.h"
#include "docktext.h"
#include "sandbox/sandboxmanager.h"

#include <QGuiApplication>
#include <QPalette>

namespace airlock::ui {

using sandbox::SandboxInfo;
using sandbox::SandboxState;

SandboxesModel::SandboxesModel(sandbox::SandboxManager *manager, QObject *parent)
    : QAbstractTableModel(parent), m_manager(manager)
{
    if (!manager)
        return;
    for (const SandboxInfo &info : manager->sandboxes()) {
        Row row{info};
        readStats(row);
        m_rows.append(row);
    }
    for (sandbox::Backend *b : manager->backends())
        watchStats(b);
    connect(manager, &sandbox::SandboxManager::sandboxAdded, this, &SandboxesModel::add);
    connect(manager, &sandbox::SandboxManager::sandboxChanged, this, &SandboxesModel::change);
    connect(manager, &sandbox::SandboxManager::sandboxRemoved, this, &SandboxesModel::remove);
}

void SandboxesModel::watchStats(sandbox::Backend *backend)
{
    auto *docker = qobject_cast<docker::DockerBackend *>(backend);
    if (!docker)
        return;
    connect(docker, &docker::DockerBackend::statsUpdated, this, [this](const QString &id, const docker::ContainerStats &s) {
        const int r = rowOf(id);
        if (r < 0)
            return;
        Row &row = m_rows[r];
        row.cpuPercent = s.cpuPercent;
        row.memoryBytes = s.memoryBytes;
        row.memoryLimit = s.memoryLimit;
        Q_EMIT dataChanged(index(r, Cpu), index(r, Memory));
    });
}

void SandboxesModel::readStats(Row &row) const
{
    auto *s = m_manager ? qobject_cast<docker::DockerSandbox *>(m_manager->sandbox(row.info.id)) : nullptr;
    if (!s || !s->lastStats())
        return;
    row.cpuPercent = s->lastStats()->cpuPercent;
    row.memoryBytes = s->lastStats()->memoryBytes;
    row.memoryLimit = s->lastStats()->memoryLimit;
}

int SandboxesModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int SandboxesModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QString SandboxesModel::idAt(int row) const
{
    return row >= 0 && row < m_rows.size() ? m_rows.at(row).info.id : QString();
}

const SandboxInfo *SandboxesModel::infoAt(int row) const
{
    return row >= 0 && row < m_rows.size() ? &m_rows.at(row).info : nullptr;
}

int SandboxesModel::rowOf(const QString &id) const
{
    for (int i = 0; i < m_rows.size(); ++i)
        if (m_rows.at(i).info.id == id)
            return i;
    return -1;
}

void SandboxesModel::add(const QString &id)
{
    if (!m_manager || rowOf(id) >= 0)
        return;
    const std::optional<SandboxInfo> info = m_manager->info(id);
    if (!info)
        return;
    // Ordered by creation, as the manager lists them.
    int at = int(m_rows.size());
    while (at > 0 && m_rows.at(at - 1).info.created > info->created)
        --at;
    beginInsertRows({}, at, at);
    Row row{*info};
    readStats(row);
    m_rows.insert(at, row);
    endInsertRows();
}

void SandboxesModel::change(const QString &id)
{
    const int r = rowOf(id);
    if (r < 0) {
        add(id);
        return;
    }
    const std::optional<SandboxInfo> info = m_manager ? m_manager->info(id) : std::nullopt;
    if (!info)
        return;
    m_rows[r].info = *info;
    readStats(m_rows[r]);
    Q_EMIT dataChanged(index(r, 0), index(r, ColumnCount - 1));
}

void SandboxesModel::remove(const QString &id)
{
    const int r = rowOf(id);
    if (r < 0)
        return;
    beginRemoveRows({}, r, r);
    m_rows.removeAt(r);
    endRemoveRows();
}

QVariant SandboxesModel::display(const Row &row, int column) const
{
    const SandboxInfo &i = row.info;
    const bool running = i.state == SandboxState::Running;
    switch (column) {
    case Backend:
        return i.backend;
    case Name:
        return i.sessionId.isEmpty() ? i.id : QStringLiteral("%1 / %2").arg(i.sessionId, i.id);
    case Policy:
        return i.policyName;
    case Lifecycle:
        return policy::nameOf(i.lifecycle);
    case State:
        return i.message.isEmpty() ? sandbox::stateName(i.state)
                                   : QStringLiteral("%1: %2").arg(sandbox::stateName(i.state), i.message);
    case Limits:
        return sandbox::mechanismName(i.limits.mechanism);
    case Uptime:
        return running ? docks::formatDuration(i.uptimeMs) : QString();
    case Processes:
        return i.processes >= 0 ? QVariant(i.processes) : QVariant(QString());
    case Cpu:
        return row.cpuPercent >= 0 ? QStringLiteral("%1 %").arg(row.cpuPercent, 0, 'f', 1) : QStringLiteral("–");
    case Memory:
        if (row.memoryBytes < 0)
            return QStringLiteral("–");
        return row.memoryLimit > 0 ? QStringLiteral("%1 / %2").arg(docks::formatBytes(row.memoryBytes), docks::formatBytes(row.memoryLimit))
                                   : docks::formatBytes(row.memoryBytes);
    default:
        return {};
    }
}

QString SandboxesModel::tooltip(const Row &row, int column) const
{
    const SandboxInfo &i = row.info;
    switch (column) {
    case Name:
        return tr("Sandbox %1\nWorkspace: %2%3").arg(i.id, i.workspace,
                                                     i.uidMapping.isEmpty() ? QString() : tr("\nUser: %1").arg(i.uidMapping));
    case Limits: {
        QStringList lines{tr("Limits enforced by %1").arg(sandbox::mechanismName(i.limits.mechanism))};
        if (!i.limits.where.isEmpty())
            lines << i.limits.where;
        lines << i.limits.enforced;
        for (const QString &u : i.limits.unenforced)
            lines << tr("not enforced: %1").arg(u);
        return lines.join(u'\n');
    }
    case Cpu:
    case Memory:
        return row.cpuPercent < 0 && row.memoryBytes < 0 ? tr("This backend does not report CPU and memory use") : QString();
    case State:
        return i.owned ? QString() : tr("Started by another Airlock process");
    default:
        return {};
    }
}

QVariant SandboxesModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_rows.size())
        return {};
    const Row &row = m_rows.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        return display(row, index.column());
    case Qt::ToolTipRole:
        return tooltip(row, index.column());
    case Qt::TextAlignmentRole:
        if (index.column() >= Uptime)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    case Qt::ForegroundRole:
        if (row.info.state == SandboxState::Failed && index.column() == State)
            return docks::badText();
        if (row.info.state != SandboxState::Running)
            return QGuiApplication::palette().color(QPalette::PlaceholderText);
        return {};
    case IdRole:
        return row.info.id;
    case RunningRole:
        return row.info.state == SandboxState::Running;
    default:
        return {};
    }
}

QVariant SandboxesModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Backend: return tr("Backend");
    case Name: return tr("Session / sandbox");
    case Policy: return tr("Policy");
    case Lifecycle: return tr("Lifecycle");
    case State: return tr("State");
    case Limits: return tr("Limits");
    case Uptime: return tr("Uptime");
    case Processes: return tr("Processes");
    case Cpu: return tr("CPU");
    case Memory: return tr("Memory");
    default: return {};
    }
}

} // namespace airlock::ui
