#pragma once

#include "store/event.h"

#include <QAbstractListModel>

namespace airlock::ui {

// One session's events, newest last. Holds at most capacity() rows: a long session drops its
// oldest rows from view (they stay in the store) instead of growing without bound.
class EventListModel : public QAbstractListModel
{
    Q_OBJECT
public:
    enum Role { SeqRole = Qt::UserRole + 1, KindRole, PayloadRole, TimeRole };

    explicit EventListModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;

    const QString &session() const { return m_session; }
    // Starts showing another session; rows arrive through setHistory().
    void setSession(const QString &session);
    void setHistory(const QString &session, const QList<store::Event> &events);
    void append(const QString &session, const QList<store::Event> &events);

    int capacity() const { return m_capacity; }
    void setCapacity(int rows);
    qint64 droppedRows() const { return m_dropped; }

private:
    void trim();

    QString m_session;
    QList<store::Event> m_events;
    int m_capacity = 5000;
    qint64 m_dropped = 0;
};

} // namespace airlock::ui
