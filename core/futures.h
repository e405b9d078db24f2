#pragma once

#include <QFuture>
#include <QFutureWatcher>
#include <QObject>
#include <QPromise>

#include <memory>
#include <type_traits>

namespace airlock {

// Runs fn with the future's result on context's thread once the future is done, always later through
// the event loop, and returns the future of what fn returns. A cancelled future, or a context that
// is destroyed first, never calls fn: the returned future is cancelled instead.
//
// QFuture::then(context, …) does the same, but Qt 6.4 asserts (in debug builds) that its context
// still lives when the future finishes, which a sandbox or session destroyed while a call to the
// daemon or the agent is under way does not.
template<typename T, typename F>
auto then(const QFuture<T> &future, QObject *context, F fn)
{
    using R = std::invoke_result_t<F &, const T &>;
    auto promise = std::make_shared<QPromise<R>>();
    QFuture<R> out = promise->future();
    promise->start();
    auto *watcher = new QFutureWatcher<T>(context);
    QObject::connect(watcher, &QFutureWatcherBase::finished, watcher, [watcher, promise, fn = std::move(fn)]() mutable {
        watcher->deleteLater();
        const QFuture<T> done = watcher->future();
        if (done.isCanceled() || done.resultCount() == 0) {
            promise->future().cancel();
            promise->finish();
            return;
        }
        if constexpr (std::is_void_v<R>) {
            fn(done.result());
        } else {
            promise->addResult(fn(done.result()));
        }
        promise->finish();
    });
    watcher->setFuture(future);
    return out;
}

} // namespace airlock
