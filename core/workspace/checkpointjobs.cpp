#include "checkpointjobs.h"

#include "jobcontrol.h"

#include <QPromise>

namespace airlock::workspace {

namespace {

template<typename T>
class PromiseControl : public JobControl
{
public:
    PromiseControl(QPromise<Result<T>> &promise, const std::atomic_bool &cancel, const std::atomic_bool &closing)
        : m_promise(promise), m_cancel(cancel), m_closing(closing)
    {
    }
    bool isCancelled() const override { return m_cancel.load() || m_closing.load() || m_promise.isCanceled(); }
    void progress(qint64 done, qint64 total, const QString &what) override
    {
        std::lock_guard lock(m_mutex); // several scan threads report
        if (total > 0 && total != m_total) {
            m_total = total;
            m_promise.setProgressRange(0, int(std::min<qint64>(total, INT_MAX)));
        }
        m_promise.setProgressValueAndText(int(std::min<qint64>(done, INT_MAX)), what);
    }

private:
    QPromise<Result<T>> &m_promise;
    const std::atomic_bool &m_cancel;
    const std::atomic_bool &m_closing;
    std::mutex m_mutex;
    qint64 m_total = -1;
};

} // namespace

CheckpointJobs::CheckpointJobs(store::EventStore &store, WorkspaceOptions options, int maxThreads)
    : m_checkpointer(store, std::move(options))
{
    m_pool.setMaxThreadCount(std::max(1, maxThreads));
}

CheckpointJobs::~CheckpointJobs()
{
    m_closing = true;
    m_pool.waitForDone();
}

template<typename T, typename Fn>
Job<T> CheckpointJobs::post(const QString &key, Fn work)
{
    auto promise = std::make_shared<QPromise<Result<T>>>();
    auto cancel = std::make_shared<std::atomic_bool>(false);
    QFuture<Result<T>> future = promise->future();
    promise->start();
    enqueue(key, [this, promise, cancel, work = std::move(work)] {
        PromiseControl<T> control(*promise, *cancel, m_closing);
        if (control.isCancelled())
            promise->addResult(Result<T>(fail(ErrorCode::Cancelled, QStringLiteral("cancelled before it started"))));
        else
            promise->addResult(work(&control));
        promise->finish();
    });
    return Job<T>(std::move(future), std::move(cancel));
}

void CheckpointJobs::enqueue(const QString &key, std::function<void()> task)
{
    if (key.isEmpty()) {
        m_pool.start(std::move(task));
        return;
    }
    bool idle;
    {
        std::lock_guard lock(m_mutex);
        auto &queue = m_queues[key];
        idle = queue.empty();
        queue.push_back(std::move(task));
    }
    // One runner per session drains its queue; the next one starts only when this one is empty.
    if (idle)
        m_pool.start([this, key] { drain(key); });
}

void CheckpointJobs::drain(const QString &key)
{
    for (;;) {
        std::function<void()> task;
        {
            std::lock_guard lock(m_mutex);
            task = m_queues[key].front();
        }
        task();
        std::lock_guard lock(m_mutex);
        auto it = m_queues.find(key);
        it->second.pop_front();
        if (it->second.empty()) {
            m_queues.erase(it);
            return;
        }
    }
}

Job<CheckpointOutcome> CheckpointJobs::create(const CheckpointRequest &request)
{
    return post<CheckpointOutcome>(request.session, [this, request](JobControl *c) { return m_checkpointer.create(request, c); });
}

Job<RewindOutcome> CheckpointJobs::rewind(const RewindRequest &request)
{
    return post<RewindOutcome>(request.session, [this, request](JobControl *c) { return m_checkpointer.rewind(request, c); });
}

Job<ForkOutcome> CheckpointJobs::fork(const ForkRequest &request)
{
    return post<ForkOutcome>(request.session, [this, request](JobControl *c) { return m_checkpointer.fork(request, c); });
}

Job<CheckpointTree> CheckpointJobs::tree(const QString &session)
{
    const QString db = m_checkpointer.dbPath();
    return post<CheckpointTree>(QString(), [db, session](JobControl *) { return loadCheckpointTree(db, session); });
}

Job<CheckpointDiff> CheckpointJobs::diff(const QString &session, const QString &to, const QString &from,
                                         const DiffOptions &options)
{
    const QString db = m_checkpointer.dbPath();
    return post<CheckpointDiff>(QString(), [db, session, to, from, options](JobControl *) {
        return diffCheckpoints(db, session, to, from, options);
    });
}

} // namespace airlock::workspace
