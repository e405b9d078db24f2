#include "sessionsmodel.h"

#include "plaintext.h"

#include <QColor>
#include <QDateTime>
#include <QFont>
#include <QLocale>

namespace airlock::ui {

SessionsModel::SessionsModel(QObject *parent) : QAbstractTableModel(parent) {}

int SessionsModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int SessionsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant SessionsModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const store::SessionRow &s = m_rows.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case Title: return text::inertLine(s.title.isEmpty() ? s.id : s.title); // an agent can set the title
        case State: return s.state;
        case Policy: return s.policy;
        case Agent: return s.agent;
        case Updated:
            return QLocale().toString(QDateTime::fromMSecsSinceEpoch(s.updated), QLocale::ShortFormat);
        case Events: return s.eventCount;
        case Disk: {
            auto it = m_disk.constFind(s.id);
            return it == m_disk.cend() ? QVariant() : QVariant(QLocale().formattedDataSize(it->bytes, 1, QLocale::DataSizeTraditionalFormat));
        }
        }
        break;
    case Qt::ToolTipRole:
        if (index.column() == Disk && m_disk.contains(s.id))
            return m_disk.value(s.id).detail;
        return plainToolTip(tr("%1\nSession %2\nWorkspace: %3")
                                .arg(text::inertLine(s.title), s.id, s.workspace.isEmpty() ? tr("none") : s.workspace));
    case Qt::TextAlignmentRole:
        if (index.column() == Events || index.column() == Disk)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case Qt::FontRole:
        if (s.state == QLatin1String("blocked")) { // waiting for a person: make it stand out
            QFont f;
            f.setBold(true);
            return f;
        }
        break;
    case Qt::ForegroundRole:
        if (s.state == QLatin1String("blocked") && index.column() == State)
            return QColor(0x9a, 0x67, 0x00);
        if (s.state == QLatin1String("failed") && index.column() == State)
            return QColor(0xcf, 0x22, 0x2e);
        break;
    case SessionIdRole: return s.id;
    case StateRole: return s.state;
    case SessionRowRole: return QVariant::fromValue(s);
    case DiskBytesRole: return m_disk.contains(s.id) ? QVariant(m_disk.value(s.id).bytes) : QVariant();
    }
    return {};
}

QVariant SessionsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Title: return tr("Session");
    case State: return tr("State");
    case Policy: return tr("Policy");
    case Agent: return tr("Agent");
    case Updated: return tr("Updated");
    case Events: return tr("Events");
    case Disk: return tr("Disk");
    }
    return {};
}

void SessionsModel::merge(const QList<store::SessionRow> &rows)
{
    QList<store::SessionRow> added;
    int firstChanged = -1, lastChanged = -1;
    for (const store::SessionRow &r : rows) {
        auto it = m_rowOf.constFind(r.id);
        if (it == m_rowOf.cend()) {
            added.append(r);
            continue;
        }
        m_rows[*it] = r;
        firstChanged = firstChanged < 0 ? *it : std::min(firstChanged, *it);
        lastChanged = std::max(lastChanged, *it);
    }
    // One dataChanged for the whole span keeps bursts of updates cheap for the views.
    if (firstChanged >= 0)
        Q_EMIT dataChanged(index(firstChanged, 0), index(lastChanged, ColumnCount - 1));
    if (added.isEmpty())
        return;
    const int first = int(m_rows.size());
    beginInsertRows({}, first, first + int(added.size()) - 1);
    for (auto &r : added) {
        m_rowOf.insert(r.id, int(m_rows.size()));
        m_rows.append(std::move(r));
    }
    endInsertRows();
}

void SessionsModel::remove(const QStringList &ids)
{
    for (const QString &id : ids) {
        auto it = m_rowOf.constFind(id);
        if (it == m_rowOf.cend())
            continue;
        const int row = *it;
        beginRemoveRows({}, row, row);
        m_rows.removeAt(row);
        m_rowOf.remove(id);
        for (int i = row; i < m_rows.size(); ++i)
            m_rowOf[m_rows.at(i).id] = i;
        m_disk.remove(id);
        endRemoveRows();
    }
}

void SessionsModel::setDiskUse(const QHash<QString, DiskUse> &use)
{
    m_disk = use;
    if (!m_rows.isEmpty())
        Q_EMIT dataChanged(index(0, Disk), index(int(m_rows.size()) - 1, Disk));
}

QModelIndex SessionsModel::indexOf(const QString &sessionId) const
{
    auto it = m_rowOf.constFind(sessionId);
    return it == m_rowOf.cend() ? QModelIndex() : index(*it, 0);
}

const store::SessionRow *SessionsModel::session(int row) const
{
    return row >= 0 && row < m_rows.size() ? &m_rows.at(row) : nullptr;
}

} // namespace airlock::ui
