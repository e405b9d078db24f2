#pragma once

#include "error.h"
#include "event.h"

#include <QObject>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

namespace airlock::store {

class Connection;

// The single way events enter the log. append() may be called from any thread; a writer thread
// commits what has queued up in batches, one transaction per batch, and updates the projections
// inside the same transaction. Other processes may write to the same file at the same time.
class EventStore : public QObject
{
    Q_OBJECT
public:
    static Result<std::unique_ptr<EventStore>> open(const QString &path);
    ~EventStore() override; // commits what is queued, then stops the writer

    const QString &path() const { return m_path; }

    // Queues an event and returns its ticket: 1, 2, 3 … in the order this store accepted them.
    // Rejects bad kinds, session ids and oversized payloads at once, before anything is queued.
    Result<quint64> append(const QString &session, const QString &kind, const QJsonObject &payload);

    // Blocks until every event queued before the call is committed. For the CLI and tests; the UI
    // listens to committed() instead.
    Result<void> flush();

    quint64 committedTicket() const;
    quint64 batchesCommitted() const;

    // Test hook: the largest number of events one transaction may take.
    void setMaxBatch(int events);

Q_SIGNALS:
    // Emitted from the writer thread after each transaction.
    void committed(quint64 lastTicket, qint64 lastSeq);
    // A batch could not be written; it stays queued and is retried.
    void writeFailed(const airlock::Error &error);

private:
    struct Pending {
        QString session;
        QString kind;
        QByteArray payload;
        qint64 time;
    };
    class Writer;

    EventStore() = default;
    void run();

    QString m_path;
    std::unique_ptr<Writer> m_writer;
    mutable std::mutex m_mutex;
    std::condition_variable m_wake;     // the writer waits for work
    std::condition_variable m_progress; // flush() waits for commits
    std::deque<Pending> m_queue;
    quint64 m_queuedTicket = 0;
    quint64 m_committedTicket = 0;
    quint64 m_batches = 0;
    size_t m_maxBatch = 8192;
    bool m_stopping = false;
    std::optional<Error> m_lastError;
    std::thread m_thread;
};

} // namespace airlock::store
