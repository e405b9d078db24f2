#pragma once

#include "egress/egressrecord.h"
#include "store/event.h"

#include <QAbstractTableModel>
#include <QSortFilterProxyModel>

namespace airlock::ui {

// The egress log as a table: one row per egress.connection event, oldest first, bounded to the
// newest `capacity` rows (the oldest leave as new ones come).
class EgressModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column { Time, Session, Method, Host, Decision, Rule, BytesOut, BytesIn, Duration, Status, ColumnCount };
    enum Role { SessionRole = Qt::UserRole + 1, HostRole, DeniedRole, SeqRole };

    explicit EgressModel(QObject *parent = nullptr);

    void setCapacity(int rows);
    int capacity() const { return m_capacity; }

    // Events of other kinds are skipped.
    void setHistory(const QList<airlock::store::Event> &events);
    void append(const QList<airlock::store::Event> &events);

    const egress::EgressRecord *recordAt(int row) const;
    QStringList sessions() const { return m_sessions; }

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

Q_SIGNALS:
    void sessionSeen(const QString &session);

private:
    struct Row {
        qint64 seq = 0;
        qint64 time = 0;
        egress::EgressRecord record;
    };
    QList<Row> parse(const QList<airlock::store::Event> &events);
    QVariant display(const Row &row, int column) const;

    QList<Row> m_rows;
    QStringList m_sessions;
    int m_capacity = 10000;
};

// Session (exact), host (substring) and decision filters over an EgressModel.
class EgressFilter : public QSortFilterProxyModel
{
    Q_OBJECT
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;

    void setSession(const QString &session);
    void setHost(const QString &text);
    void setDecision(std::optional<egress::Verdict> decision);

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;

private:
    QString m_session;
    QString m_host;
    std::optional<egress::Verdict> m_decision;
};

} // namespace airlock::ui
