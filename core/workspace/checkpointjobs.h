#pragma once

#include "checkpointer.h"

#include <QFuture>
#include <QThreadPool>

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

namespace airlock::workspace {

// A job running on a worker thread. Watch it with QFutureWatcher (progressValueChanged,
// progressTextChanged, finished) or chain airlock::then(future(), context, …) (futures.h) to get the result on the
// context's thread.
template<typename T>
class Job
{
public:
    Job(QFuture<Result<T>> future, std::shared_ptr<std::atomic_bool> cancel)
        : m_future(std::move(future)), m_cancel(std::move(cancel))
    {
    }
    QFuture<Result<T>> future() const { return m_future; }
    // Asks the job to stop. It still finishes with a result: ErrorCode::Cancelled when it stopped
    // in time, or what it did when it was past the point of no return (a rewind that had started
    // writing files). QFuture::cancel() also stops it, but Qt then drops the result.
    void cancel() const { m_cancel->store(true); }

private:
    QFuture<Result<T>> m_future;
    std::shared_ptr<std::atomic_bool> m_cancel;
};

// Runs Checkpointer work off the calling thread. Jobs for one session run one after another, in the
// order they were asked for (a checkpoint after tool call 5 is taken before the one after tool
// call 6); different sessions run side by side. Destroying it cancels what is queued or running
// and waits for it.
class CheckpointJobs
{
public:
    explicit CheckpointJobs(store::EventStore &store, WorkspaceOptions options = {}, int maxThreads = 2);
    ~CheckpointJobs();
    CheckpointJobs(const CheckpointJobs &) = delete;
    CheckpointJobs &operator=(const CheckpointJobs &) = delete;

    Job<CheckpointOutcome> create(const CheckpointRequest &request);
    Job<RewindOutcome> rewind(const RewindRequest &request);
    Job<ForkOutcome> fork(const ForkRequest &request);
    // Reading jobs: not serialised, they never change anything.
    Job<CheckpointTree> tree(const QString &session);
    Job<CheckpointDiff> diff(const QString &session, const QString &to, const QString &from = {},
                             const DiffOptions &options = {});

    // See Checkpointer::watch: snapshots of a watched session look only at what changed.
    bool watch(const QString &session) { return m_checkpointer.watch(session); }
    void unwatch(const QString &session) { m_checkpointer.unwatch(session); }

    Checkpointer &checkpointer() { return m_checkpointer; }

private:
    template<typename T, typename Fn>
    Job<T> post(const QString &key, Fn work);
    void enqueue(const QString &key, std::function<void()> task);
    void drain(const QString &key);

    Checkpointer m_checkpointer;
    QThreadPool m_pool;
    std::mutex m_mutex;
    std::map<QString, std::deque<std::function<void()>>> m_queues; // key "" runs unserialised
    std::atomic_bool m_closing{false};
};

} // namespace airlock::workspace
