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
    enum Column { Title, State, Policy, Agent, Updated, Events, Disk, ColumnCount };
    enum Role { SessionIdRole = Qt::UserRole + 1, StateRole, SessionRowRole, DiskBytesRole };

    explicit SessionsModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    void merge(const QList<store::SessionRow> &rows);
    // Deleted sessions leave the list.
    void remove(const QStringList &ids);
    // What each session takes on disk (store, checkpoints, Airlock's workspace copy), by id; the
    // detail is the tooltip's. Sessions not in the map show nothing until the next measurement.
    struct DiskUse {
        qint64 bytes = 0;
        QString detail;
    };
    void setDiskUse(const QHash<QString, DiskUse> &use);
    QModelIndex indexOf(const QString &sessionId) const;
    const store::SessionRow *session(int row) const;

private:
    QList<store::SessionRow> m_rows;
    QHash<QString, int> m_rowOf;
    QHash<QString, DiskUse> m_disk;
};

} // namespace airlock::ui
