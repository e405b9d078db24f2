#include "eventfeed.h"

#include "maintenance.h"
#include "storereader.h"

#include <QTimer>

namespace airlock::store {

class EventFeed::Worker : public QObject
{
public:
    Worker(EventFeed *feed, QString path) : m_feed(feed), m_path(std::move(path)) {}

    void start(int intervalMs)
    {
        m_timer = new QTimer(this);
        m_timer->setInterval(intervalMs);
        QObject::connect(m_timer, &QTimer::timeout, this, [this] { check(false); });
        m_timer->start();
        check(true);
    }

    void follow(const QString &session, int backlog)
    {
        if (!ensureReader())
            return;
        m_following = true;
        m_followSession = session;
        EventQuery q;
        if (!session.isEmpty())
            q.session = session;
        q.limit = backlog;
        q.newest = true;
        // The high-water mark is taken first: an event committed between the two reads is then
        // delivered by the next check rather than lost.
        auto last = m_reader->lastSeq();
        auto events = m_reader->events(q);
        if (!events || !last) {
            Q_EMIT m_feed->failed(events ? last.error() : events.error());
            return;
        }
        m_followSeq = events->isEmpty() ? *last : std::max(*last, events->constLast().seq);
        Q_EMIT m_feed->history(session, *events);
    }

    void stopFollowing() { m_following = false; }

    void check(bool force)
    {
        if (!ensureReader())
            return;
        auto version = m_reader->dataVersion();
        if (!version) {
            Q_EMIT m_feed->failed(version.error());
            return;
        }
        if (!force && *version == m_dataVersion)
            return;
        m_dataVersion = *version;

        auto rows = m_reader->sessions(m_sessionsSeq);
        if (!rows) {
            Q_EMIT m_feed->failed(rows.error());
            return;
        }
        if (!rows->isEmpty() || force) {
            for (const SessionRow &r : *rows)
                m_sessionsSeq = std::max(m_sessionsSeq, r.lastSeq);
            Q_EMIT m_feed->sessionsChanged(*rows);
        }
        if (!m_tombstones)
            if (auto db = openForReading(m_path))
                m_tombstones.emplace(std::move(*db));
        if (auto deleted = m_tombstones ? deletedSessions(*m_tombstones, m_deletedSeq)
                                        : Result<QList<std::pair<qint64, QString>>>();
            deleted && !deleted->isEmpty()) {
            QStringList ids;
            for (const auto &[seq, id] : *deleted) {
                m_deletedSeq = std::max(m_deletedSeq, seq);
                ids << id;
            }
            if (!force) // at start, the sessions listed are the ones that exist
                Q_EMIT m_feed->sessionsRemoved(ids);
        }
        if (auto stamp = m_reader->approvalStamp(); stamp && *stamp != m_approvalStamp) {
            m_approvalStamp = *stamp;
            if (auto open = m_reader->approvals(); open)
                Q_EMIT m_feed->approvalsChanged(*open);
        }
        if (auto stamp = m_reader->policyStamp(); stamp && *stamp != m_policyStamp) {
            const bool first = m_policyStamp < 0;
            m_policyStamp = *stamp;
            if (!first)
                Q_EMIT m_feed->policiesChanged();
        }
        if (m_following)
            readFollowed();
    }

private:
    void readFollowed()
    {
        EventQuery q;
        if (!m_followSession.isEmpty())
            q.session = m_followSession;
        q.limit = 2000;
        for (;;) {
            q.afterSeq = m_followSeq;
            auto events = m_reader->events(q);
            if (!events) {
                Q_EMIT m_feed->failed(events.error());
                return;
            }
            if (events->isEmpty())
                return;
            m_followSeq = events->constLast().seq;
            Q_EMIT m_feed->eventsAppended(m_followSession, *events);
            if (events->size() < q.limit)
                return;
        }
    }

    bool ensureReader()
    {
        if (m_reader)
            return true;
        auto reader = StoreReader::open(m_path);
        if (!reader) {
            if (!m_reportedOpenError) // a missing file may appear later; say so once
                Q_EMIT m_feed->failed(reader.error());
            m_reportedOpenError = true;
            return false;
        }
        m_reader.emplace(std::move(*reader));
        return true;
    }

    EventFeed *m_feed;
    QString m_path;
    std::optional<StoreReader> m_reader;
    std::optional<Connection> m_tombstones; // for the session.deleted events
    QTimer *m_timer = nullptr;
    qint64 m_dataVersion = -1;
    qint64 m_sessionsSeq = 0;
    qint64 m_deletedSeq = 0;
    qint64 m_policyStamp = -1;
    qint64 m_approvalStamp = -1;
    bool m_following = false;
    QString m_followSession;
    qint64 m_followSeq = 0;
    bool m_reportedOpenError = false;
};

EventFeed::EventFeed(const QString &path, QObject *parent)
    : QObject(parent), m_worker(new Worker(this, path))
{
    qRegisterMetaType<airlock::store::Event>();
    qRegisterMetaType<airlock::store::SessionRow>();
    qRegisterMetaType<QList<airlock::store::Event>>();
    qRegisterMetaType<QList<airlock::store::SessionRow>>();
    qRegisterMetaType<airlock::Error>();
    qRegisterMetaType<QList<airlock::store::ApprovalRow>>();
    m_thread.setObjectName(QStringLiteral("airlock-feed"));
    m_worker->moveToThread(&m_thread);
    QObject::connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    m_thread.start();
}

EventFeed::~EventFeed()
{
    m_thread.quit();
    m_thread.wait();
}

void EventFeed::start(int pollIntervalMs)
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker, pollIntervalMs] { w->start(pollIntervalMs); });
}

void EventFeed::follow(const QString &session, int backlog)
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker, session, backlog] { w->follow(session, backlog); });
}

void EventFeed::stopFollowing()
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker] { w->stopFollowing(); });
}

void EventFeed::poke()
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker] { w->check(false); });
}

} // namespace airlock::store
