#include "eventlistmodel.h"

#include <QDateTime>
#include <QJsonDocument>

namespace airlock::ui {

EventListModel::EventListModel(QObject *parent) : QAbstractListModel(parent) {}

int EventListModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_events.size());
}

QVariant EventListModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const store::Event &e = m_events.at(index.row());
    switch (role) {
    case Qt::DisplayRole: {
        QString summary = QString::fromUtf8(QJsonDocument(e.payload).toJson(QJsonDocument::Compact));
        if (summary.size() > 160)
            summary = summary.left(157) + QStringLiteral("…");
        return QStringLiteral("%1  %2  %3")
            .arg(QDateTime::fromMSecsSinceEpoch(e.time).toString(QStringLiteral("HH:mm:ss")), e.kind, summary);
    }
    case Qt::ToolTipRole:
        return QString::fromUtf8(QJsonDocument(e.payload).toJson(QJsonDocument::Indented).left(4000));
    case SeqRole: return e.seq;
    case KindRole: return e.kind;
    case PayloadRole: return e.payload;
    case TimeRole: return e.time;
    }
    return {};
}

void EventListModel::setSession(const QString &session)
{
    beginResetModel();
    m_session = session;
    m_events.clear();
    m_dropped = 0;
    endResetModel();
}

void EventListModel::setHistory(const QString &session, const QList<store::Event> &events)
{
    if (session != m_session)
        return; // a late answer for a session no longer shown
    beginResetModel();
    m_events = events;
    endResetModel();
    trim();
}

void EventListModel::append(const QString &session, const QList<store::Event> &events)
{
    if (session != m_session || events.isEmpty())
        return;
    // The feed may deliver an event that history already held when both raced; skip those.
    qsizetype skip = 0;
    const qint64 lastSeq = m_events.isEmpty() ? 0 : m_events.constLast().seq;
    while (skip < events.size() && events.at(skip).seq <= lastSeq)
        ++skip;
    if (skip == events.size())
        return;
    const int first = int(m_events.size());
    beginInsertRows({}, first, first + int(events.size() - skip) - 1);
    m_events.append(events.mid(skip));
    endInsertRows();
    trim();
}

void EventListModel::setCapacity(int rows)
{
    m_capacity = std::max(1, rows);
    trim();
}

void EventListModel::trim()
{
    const int excess = int(m_events.size()) - m_capacity;
    if (excess <= 0)
        return;
    beginRemoveRows({}, 0, excess - 1);
    m_events.remove(0, excess);
    m_dropped += excess;
    endRemoveRows();
}

} // namespace airlock::ui
