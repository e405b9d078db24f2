#pragma once

#include "error.h"
#include "event.h"

#include <QObject>
#include <QThread>

namespace airlock::store {

// Tells a reader what changed in the store, whoever wrote it: this process's writer, another
// window, or airlockctl. It reads on a thread of its own and posts results to its receivers, so the
// UI thread never waits on the disk. Detection uses SQLite's data_version, which moves on every
// commit by any other connection, polled cheaply; poke() checks at once.
class EventFeed : public QObject
{
    Q_OBJECT
public:
    explicit EventFeed(const QString &path, QObject *parent = nullptr);
    ~EventFeed() override;

    // Emits sessionsChanged() with every session, then with those that change.
    void start(int pollIntervalMs = 100);
    // Follows one session's events (all sessions when id is empty): history() with the newest
    // `backlog` events first, then eventsAppended() as more arrive. Replaces any earlier follow.
    void follow(const QString &session, int backlog);
    void stopFollowing();
    void poke();

Q_SIGNALS:
    void sessionsChanged(const QList<airlock::store::SessionRow> &rows);
    // Sessions deleted (by this process or another) since the feed started.
    void sessionsRemoved(const QStringList &ids);
    void history(const QString &session, const QList<airlock::store::Event> &events);
    void eventsAppended(const QString &session, const QList<airlock::store::Event> &events);
    // The open approvals, whenever one is requested, answered or decided (and once at start).
    void approvalsChanged(const QList<airlock::store::ApprovalRow> &open);
    // A policy version was saved, by this process or another.
    void policiesChanged();
    void failed(const airlock::Error &error);

private:
    class Worker;
    QThread m_thread;
    Worker *m_worker = nullptr;
};

} // namespace airlock::store
