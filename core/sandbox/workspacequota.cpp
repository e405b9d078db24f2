#include "sandbox/workspacequota.h"
#include "futures.h"

#include "sandbox/backend.h"
#include "sandbox/limiter.h"

#include <QElapsedTimer>
#include <QFile>
#include <QFuture>
#include <QPointer>
#include <QPromise>
#include <QThreadPool>
#include <QTimer>

#include <ftw.h>
#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <set>
#include <utility>

namespace airlock::sandbox {

namespace {

// nftw's callback takes no context; each measuring thread has its own.
struct Walk {
    qint64 bytes = 0;
    std::set<std::pair<dev_t, ino_t>> linked; // files with more than one name, counted once
};
thread_local Walk *t_walk = nullptr;

int addEntry(const char *, const struct stat *st, int type, FTW *)
{
    if (type == FTW_NS || type == FTW_DNR)
        return FTW_CONTINUE; // unreadable: what the sandbox cannot read it could not have written either
    if (!S_ISDIR(st->st_mode) && st->st_nlink > 1 && !t_walk->linked.emplace(st->st_dev, st->st_ino).second)
        return FTW_CONTINUE;
    t_walk->bytes += qint64(st->st_blocks) * 512;
    return FTW_CONTINUE;
}

} // namespace

std::optional<qint64> workspaceDiskUsage(const QString &path)
{
    Walk walk;
    t_walk = &walk;
    // Physical (no links followed), on the workspace's own file system only, at most 64 folders open:
    // glibc's walk reopens by path past that, so a deep chain costs time linear in its length.
    const int r = ::nftw(QFile::encodeName(path).constData(), addEntry, 64, FTW_PHYS | FTW_MOUNT | FTW_ACTIONRETVAL);
    t_walk = nullptr;
    if (r != 0)
        return std::nullopt;
    return walk.bytes;
}

WorkspaceWatch::WorkspaceWatch(Sandbox *sandbox, const QString &workspace, qint64 limitBytes)
    : QObject(sandbox), m_sandbox(sandbox), m_workspace(workspace), m_limit(limitBytes), m_timer(new QTimer(this))
{
    m_timer->setSingleShot(true);
    connect(m_timer, &QTimer::timeout, this, &WorkspaceWatch::measure);
    const auto follow = [this](SandboxState state) {
        if (state == SandboxState::Running) {
            if (!m_timer->isActive() && !m_busy)
                m_timer->start(0);
        } else {
            m_timer->stop();
        }
    };
    connect(sandbox, &Sandbox::stateChanged, this, follow);
    follow(sandbox->state());
}

void WorkspaceWatch::measure()
{
    if (m_busy || m_tripped || m_sandbox->state() != SandboxState::Running)
        return;
    m_busy = true;
    auto promise = std::make_shared<QPromise<std::pair<std::optional<qint64>, qint64>>>();
    QFuture<std::pair<std::optional<qint64>, qint64>> future = promise->future();
    promise->start();
    // Attached before the work starts, so the result always comes back through the event loop.
    airlock::then(future, this, [this](const std::pair<std::optional<qint64>, qint64> &r) { measured(r.first, r.second); });
    QThreadPool::globalInstance()->start([promise, path = m_workspace] {
        QElapsedTimer clock;
        clock.start();
        const std::optional<qint64> bytes = workspaceDiskUsage(path);
        promise->addResult(std::pair{bytes, clock.elapsed()});
        promise->finish();
    });
}

void WorkspaceWatch::measured(std::optional<qint64> bytes, qint64 tookMs)
{
    m_busy = false;
    if (m_sandbox->state() != SandboxState::Running)
        return;
    Q_EMIT sizeMeasured(bytes);
    if (bytes && *bytes > m_limit) {
        m_tripped = true;
        Q_EMIT exceeded(*bytes, m_limit);
        m_sandbox->stopBecause(QStringLiteral("its workspace grew to %1, past its limit of %2 (resources.workspaceBytes)")
                                   .arg(formatBytes(*bytes), formatBytes(m_limit)));
        return;
    }
    // A large tree is measured less often: at most a tenth of the time goes to measuring it.
    m_timer->start(int(std::clamp<qint64>(tookMs * 10, kIntervalMs, 60000)));
}

} // namespace airlock::sandbox
