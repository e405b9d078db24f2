#pragma once

#include "error.h"
#include "event.h"

#include <QObject>

#include <chrono>
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
//
// A write that fails (a full disk, a lock held too long) loses nothing: the writer keeps what it
// could not write in memory and tries again, and append() keeps accepting events until the memory
// set aside for them is used up; then it refuses with the reason. Closing waits a while for the
// writer to catch up and says loudly how many events it could not write.
class EventStore : public QObject
{
    Q_OBJECT
public:
    static Result<std::unique_ptr<EventStore>> open(const QString &path);
    ~EventStore() override; // close() with a short patience

    // Commits what is queued, retrying failed writes until `patience` runs out, then stops the
    // writer. The error says how many events could not be written, and why. Appends after this fail.
    Result<void> close(std::chrono::milliseconds patience);

    const QString &path() const { return m_path; }

    // Queues an event and returns its ticket: 1, 2, 3 … in the order this store accepted them.
    // Rejects bad kinds, session ids and oversized payloads at once, before anything is queued.
    Result<quint64> append(const QString &session, const QString &kind, const QJsonObject &payload);

    // Blocks until every event queued before the call is committed. For the CLI and tests; the UI
    // listens to committed() instead.
    Result<void> flush();
    // The same, but a failed write is retried until `patience` runs out; the error then says how
    // many events are still waiting and why. They stay queued.
    Result<void> drain(std::chrono::milliseconds patience);

    quint64 committedTicket() const;
    quint64 batchesCommitted() const;
    // Events accepted and not yet committed.
    quint64 pendingEvents() const;
    // Why the writer cannot write right now, while it is retrying.
    std::optional<Error> writeError() const;

    // Test hook: the largest number of events one transaction may take.
    void setMaxBatch(int events);
    // How many payload bytes may wait in memory while the writer cannot write (default 64 MiB).
    void setMaxPendingBytes(qint64 bytes);

Q_SIGNALS:
    // Emitted from the writer thread after each transaction.
    void committed(quint64 lastTicket, qint64 lastSeq);
    // Writing failed and is retried; what could not be written stays in memory. Emitted from the
    // writer thread when writing starts to fail and when the reason changes, not on every retry.
    void writeFailed(const airlock::Error &error);
    // Writing works again after failures: what waited in memory is being committed.
    void writeResumed();

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
    qint64 m_pendingBytes = 0;               // payload bytes accepted and not yet committed
    qint64 m_maxPendingBytes = 64 * 1024 * 1024;
    bool m_stopping = false;
    bool m_writerDone = false;
    std::chrono::steady_clock::time_point m_giveUpAt; // when stopping: the last moment to retry
    std::optional<Error> m_lastError;        // the latest failure, for flush()
    std::optional<Error> m_failing;          // set while writes fail, cleared by the next commit
    quint64 m_lost = 0;                      // events the writer gave up on when it stopped
    std::optional<Error> m_lostBecause;
    std::thread m_thread;
};

} // namespace airlock::store
