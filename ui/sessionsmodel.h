#pragma once

#include "store/event.h"

#include <QAbstractTableModel>
#include <QHash>

namespace airlock::ui {

// The sessions list, kept current by merging changed rows from the store's feed: rows are updated
// in place and new ones appended, so selection and scroll position survive every update.
class SessionsModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column { Title, State, Policy, Agent, Updated, Events, ColumnCount };
    enum Role { SessionIdRole = Qt::UserRole + 1, StateRole, SessionRowRole };

    explicit SessionsModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    void merge(const QList<store::SessionRow> &rows);
    QModelIndex indexOf(const QString &sessionId) const;
    const store::SessionRow *session(int row) const;

private:
    QList<store::SessionRow> m_rows;
    QHash<QString, int> m_rowOf;
};

} // namespace airlock::ui
