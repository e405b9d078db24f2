#include "egressmodel.h"

#include "docktext.h"

#include <QColor>

namespace airlock::ui {

using egress::EgressRecord;
using egress::Verdict;

EgressModel::EgressModel(QObject *parent) : QAbstractTableModel(parent) {}

void EgressModel::setCapacity(int rows)
{
    m_capacity = std::max(1, rows);
    if (m_rows.size() > m_capacity) {
        beginRemoveRows({}, 0, int(m_rows.size()) - m_capacity - 1);
        m_rows.remove(0, m_rows.size() - m_capacity);
        endRemoveRows();
    }
}

QList<EgressModel::Row> EgressModel::parse(const QList<store::Event> &events)
{
    QList<Row> rows;
    rows.reserve(events.size());
    for (const store::Event &e : events) {
        std::optional<EgressRecord> r = EgressRecord::fromEvent(e);
        if (!r)
            continue;
        if (!r->session.isEmpty() && !m_sessions.contains(r->session)) {
            m_sessions.append(r->session);
            Q_EMIT sessionSeen(r->session);
        }
        rows.append(Row{e.seq, e.time, std::move(*r)});
    }
    return rows;
}

void EgressModel::setHistory(const QList<store::Event> &events)
{
    beginResetModel();
    m_rows = parse(events);
    if (m_rows.size() > m_capacity)
        m_rows.remove(0, m_rows.size() - m_capacity);
    endResetModel();
}

void EgressModel::append(const QList<store::Event> &events)
{
    QList<Row> rows = parse(events);
    if (rows.isEmpty())
        return;
    if (rows.size() > m_capacity)
        rows.remove(0, rows.size() - m_capacity);
    const qsizetype overflow = m_rows.size() + rows.size() - m_capacity;
    if (overflow > 0) {
        beginRemoveRows({}, 0, int(overflow) - 1);
        m_rows.remove(0, overflow);
        endRemoveRows();
    }
    beginInsertRows({}, int(m_rows.size()), int(m_rows.size() + rows.size()) - 1);
    m_rows.append(rows);
    endInsertRows();
}

const EgressRecord *EgressModel::recordAt(int row) const
{
    return row >= 0 && row < m_rows.size() ? &m_rows.at(row).record : nullptr;
}

int EgressModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int EgressModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant EgressModel::display(const Row &row, int column) const
{
    const EgressRecord &r = row.record;
    switch (column) {
    case Time:
        return docks::formatTime(r.started > 0 ? r.started : row.time);
    case Session:
        // A sandbox of its own (airlockctl exec, the exec console) has no session: it is named instead.
        return r.session.isEmpty() && !r.sandbox.isEmpty() ? tr("sandbox %1").arg(r.sandbox) : r.session;
    case Method:
        return r.method;
    case Host: {
        const QString host = r.host.contains(u':') ? QStringLiteral("[%1]").arg(r.host) : r.host;
        return QStringLiteral("%1:%2").arg(host).arg(r.port);
    }
    case Decision:
        return egress::verdictName(r.decision);
    case Rule:
        return r.rule;
    case BytesOut:
        return docks::formatBytes(r.bytesUp);
    case BytesIn:
        return docks::formatBytes(r.bytesDown);
    case Duration:
        return docks::formatDuration(r.durationMs);
    case Status:
        if (!r.error.isEmpty())
            return r.status ? QStringLiteral("%1 · %2").arg(r.status).arg(r.error) : r.error;
        return r.status ? QVariant(r.status) : QVariant(QStringLiteral("–"));
    default:
        return {};
    }
}

QVariant EgressModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_rows.size())
        return {};
    const Row &row = m_rows.at(index.row());
    const EgressRecord &r = row.record;
    switch (role) {
    case Qt::DisplayRole:
        return display(row, index.column());
    case Qt::ToolTipRole: {
        QStringList lines{r.reason};
        if (!r.address.isEmpty())
            lines << tr("Connected to %1").arg(r.address);
        if (!r.secret.isEmpty())
            lines << tr("Credential added: %1").arg(r.secret);
        if (!r.error.isEmpty())
            lines << tr("Error: %1").arg(r.error);
        lines << tr("Route: %1").arg(egress::routeName(r.route));
        lines.removeAll(QString());
        return lines.join(u'\n');
    }
    case Qt::ForegroundRole:
        if (index.column() == Decision)
            return r.decision == Verdict::Deny ? docks::badText() : docks::goodText();
        return {};
    case Qt::TextAlignmentRole:
        if (index.column() == BytesOut || index.column() == BytesIn || index.column() == Duration)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    case SessionRole:
        return r.session;
    case HostRole:
        return r.host;
    case DeniedRole:
        return r.decision == Verdict::Deny;
    case SeqRole:
        return row.seq;
    default:
        return {};
    }
}

QVariant EgressModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Time: return tr("Time");
    case Session: return tr("Session");
    case Method: return tr("Method");
    case Host: return tr("Host");
    case Decision: return tr("Decision");
    case Rule: return tr("Rule");
    case BytesOut: return tr("Out");
    case BytesIn: return tr("In");
    case Duration: return tr("Duration");
    case Status: return tr("Status");
    default: return {};
    }
}

void EgressFilter::setSession(const QString &session)
{
    m_session = session;
    invalidateFilter();
}

void EgressFilter::setHost(const QString &text)
{
    m_host = text.trimmed();
    invalidateFilter();
}

void EgressFilter::setDecision(std::optional<egress::Verdict> decision)
{
    m_decision = decision;
    invalidateFilter();
}

bool EgressFilter::filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const
{
    const auto *model = qobject_cast<const EgressModel *>(sourceModel());
    const EgressRecord *r = model && !sourceParent.isValid() ? model->recordAt(sourceRow) : nullptr;
    if (!r)
        return false;
    if (!m_session.isEmpty() && r->session != m_session)
        return false;
    if (m_decision && r->decision != *m_decision)
        return false;
    return m_host.isEmpty() || r->host.contains(m_host, Qt::CaseInsensitive);
}

} // namespace airlock::ui
