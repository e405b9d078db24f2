#pragma once

#include "error.h"
#include "store/event.h"

#include <QObject>
#include <QThread>

namespace airlock::ui {

// Follows the egress events of every session on a thread of its own, so the UI never waits on the
// disk: history() with the newest `backlog` egress events, then appended() with each batch other
// connections commit (SQLite's data_version, polled).
class EgressReader : public QObject
{
    Q_OBJECT
public:
    explicit EgressReader(const QString &databasePath, QObject *parent = nullptr);
    ~EgressReader() override;

    void start(int backlog, int pollMs = 250);
    // Looks for new events now instead of at the next poll.
    void poke();

Q_SIGNALS:
    void history(const QList<airlock::store::Event> &events);
    void appended(const QList<airlock::store::Event> &events);
    void failed(const QString &message);

private:
    class Worker;
    QThread m_thread;
    Worker *m_worker = nullptr;
};

} // namespace airlock::ui
