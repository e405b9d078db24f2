#pragma once

#include "error.h"
#include "session/retention.h"
#include "sessionsmodel.h"

#include <QFuture>
#include <QFutureWatcher>
#include <QObject>
#include <QPromise>
#include <QThreadPool>

#include <functional>
#include <memory>

class QWidget;

namespace airlock::ui {

// Runs work on the global thread pool and hands its result to done on context's thread, always later
// through the event loop (never from inside this call, however fast the work), and not at all once
// context is gone: the result arrives through a watcher that is context's child. (Not through
// QFuture::then(context, …), which in Qt 6.4 asserts that its context is still alive.)
template<typename T, typename Work, typename Done>
void runInBackground(QObject *context, Work work, Done done)
{
    auto promise = std::make_shared<QPromise<T>>();
    auto *watcher = new QFutureWatcher<T>(context);
    QObject::connect(watcher, &QFutureWatcherBase::finished, watcher, [watcher, done = std::move(done)]() mutable {
        watcher->deleteLater();
        if (watcher->future().resultCount() == 0)
            return;
        T value = watcher->future().result();
        done(value);
    });
    promise->start();
    watcher->setFuture(promise->future());
    QThreadPool::globalInstance()->start([promise, work = std::move(work)]() mutable {
        promise->addResult(work());
        promise->finish();
    });
}

// Deleting sessions from the window, and the disk use the sessions list shows. Everything that
// touches the disk runs off the UI thread; questions are asked with the sizes in front of the user.
class SessionCleanup : public QObject
{
    Q_OBJECT
public:
    // runsHere: whether this window is running the session right now (then it cannot be deleted).
    SessionCleanup(const QString &databasePath, std::function<bool(const QString &)> runsHere, QObject *parent = nullptr);

    // Measures every session again (a measurement already under way is followed by one more).
    void refreshDiskUse();
    // Looks at what deleting the session removes, asks (a dialog parented to `parent`, object name
    // "deleteSessionDialog") and deletes it when the user agrees.
    void deleteSession(const QString &id, QWidget *parent);

Q_SIGNALS:
    void diskUseMeasured(const QHash<QString, airlock::ui::SessionsModel::DiskUse> &use);
    void sessionDeleted(const QString &id, const QString &summary);
    void failed(const airlock::Error &error);

private:
    QString m_databasePath;
    std::function<bool(const QString &)> m_runsHere;
    bool m_measuring = false;
    bool m_measureAgain = false;
};

// One line per thing a session keeps on disk ("checkpoints 164 KiB: /path"), for dialogs and tooltips.
QStringList footprintLines(const session::SessionFootprint &fp);

} // namespace airlock::ui
