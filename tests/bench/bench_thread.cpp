// bench_thread: a session's stream end to end, as issue 6 measures it.
//   1. store: a synthetic ACP agent (airlock-demo-agent --flood N) streams N session/update
//      notifications in one turn through a real SessionRunner (bubblewrap sandbox, ACP client over a
//      pipe); events/s from the prompt until every event is committed to the SQLite store.
//   2. view: the same N stored events appended to the thread view (offscreen, laid out and painted)
//      in the batches the store's feed delivers; events/s.
//   3. open: a stored N-event thread opened the way the window opens it (EventFeed::follow with the
//      window's backlog, then the view painted), and the whole N events put in the view at once.
//   4. page: from the newest 2,000 back to the first event, 2,000 at a time, as "Show earlier events" does.
// Usage: bench_thread [N] [--agent PATH]   (default N = 100000). It reports, it does not assert.
// Targets (issue 6): at least 50,000 events/s; under 500 ms to open.
#include "policy/presets.h"
#include "sandbox/localbackend.h"
#include "session/sessionrunner.h"
#include "store/eventfeed.h"
#include "store/eventstore.h"
#include "store/storereader.h"
#include "thread/threadmodel.h"
#include "threadview.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFileInfo>
#include <QListView>
#include <QTemporaryDir>
#include <QTimer>

#include <algorithm>
#include <cstdio>

using namespace airlock;

namespace {
void settle(QWidget *w)
{
    QCoreApplication::processEvents();
    w->repaint();
    QCoreApplication::processEvents();
}
} // namespace

int main(int argc, char **argv)
{
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QStringList args = app.arguments().mid(1);
    QString agentPath = QCoreApplication::applicationDirPath() + QStringLiteral("/../../app/airlock-demo-agent/airlock-demo-agent");
    if (int i = args.indexOf(QStringLiteral("--agent")); i >= 0 && i + 1 < args.size()) {
        agentPath = args.at(i + 1);
        args.remove(i, 2);
    }
    const int n = args.isEmpty() ? 100000 : args.first().toInt();
    if (n <= 0 || !QFileInfo(agentPath).isExecutable()) {
        std::fprintf(stderr, "usage: bench_thread [N] [--agent PATH]  (agent %s)\n", qPrintable(agentPath));
        return 2;
    }
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("bench.db"));
    QDir().mkpath(dir.filePath(QStringLiteral("ws")));
    auto store = store::EventStore::open(db);
    if (!store) {
        std::fprintf(stderr, "%s\n", qPrintable(store.error().message));
        return 1;
    }

    // 1. Agent → ACP client → runner → store.
    sandbox::LocalBackend backend;
    if (auto why = backend.unavailableReason()) {
        std::fprintf(stderr, "bubblewrap cannot run here: %s\n", qPrintable(*why));
        return 1;
    }
    session::SessionConfig config;
    config.title = QStringLiteral("flood");
    config.agent.name = QStringLiteral("flood");
    config.agent.command = agentPath;
    config.agent.args = {QStringLiteral("--flood"), QString::number(n)};
    config.agent.placement = agent::Placement::Host;
    config.policyName = QStringLiteral("standard");
    config.policy = *policy::findPreset(u"standard");
    config.workspace = dir.filePath(QStringLiteral("ws"));
    session::SessionRunner runner(config, store->get(), &backend);
    QElapsedTimer clock;
    qint64 streamMs = 0;
    QEventLoop loop;
    QObject::connect(&runner, &session::SessionRunner::ready, [&] {
        clock.start();
        if (auto r = runner.prompt(QStringLiteral("flood")); !r) {
            std::fprintf(stderr, "%s\n", qPrintable(r.error().message));
            loop.exit(1);
        }
    });
    QObject::connect(&runner, &session::SessionRunner::turnEnded, [&] {
        (void)(*store)->flush();
        streamMs = clock.elapsed();
        loop.exit(0);
    });
    QObject::connect(&runner, &session::SessionRunner::failed, [&](const Error &e) {
        std::fprintf(stderr, "session failed: %s\n", qPrintable(e.message));
        loop.exit(1);
    });
    runner.start();
    if (loop.exec() != 0)
        return 1;
    const QString session = runner.id();
    runner.stop(QStringLiteral("done"));
    (void)(*store)->flush();
    std::printf("store:  %d updates, agent to committed rows in %lld ms: %.0f events/s\n", n, streamMs,
                n * 1000.0 / std::max<qint64>(1, streamMs));

    // 2. Stored events → thread view, in feed-sized batches.
    auto reader = store::StoreReader::open(db);
    store::EventQuery q;
    q.session = session;
    q.limit = n + 1000;
    const QList<store::Event> events = reader->events(q).value();
    ui::ThreadView view;
    view.resize(900, 1000);
    view.show();
    view.model()->setSession(session);
    settle(&view);
    clock.restart();
    constexpr int kBatch = 2000;
    for (qsizetype i = 0; i < events.size(); i += kBatch) {
        view.model()->append(session, events.mid(i, kBatch));
        settle(&view);
    }
    const qint64 viewMs = clock.elapsed();
    std::printf("view:   %lld events appended in batches of %d, painted after each, in %lld ms: %.0f events/s (%d rows)\n",
                qint64(events.size()), kBatch, viewMs, events.size() * 1000.0 / std::max<qint64>(1, viewMs),
                view.model()->rowCount());

    // 3. Opening it: as the window does (feed with its backlog), and all of it at once.
    for (const int backlog : {2000, int(events.size())}) {
        ui::ThreadView fresh;
        fresh.resize(900, 1000);
        fresh.model()->setSession(session);
        fresh.show();
        settle(&fresh);
        store::EventFeed feed(db);
        QObject::connect(&feed, &store::EventFeed::history, fresh.model(), &ui::ThreadModel::setHistory);
        QEventLoop opened;
        QObject::connect(&feed, &store::EventFeed::history, &opened, [&] { opened.quit(); }, Qt::QueuedConnection);
        clock.restart();
        feed.start();
        feed.follow(session, backlog);
        QTimer::singleShot(60000, &opened, &QEventLoop::quit);
        opened.exec();
        settle(&fresh);
        std::printf("open:   newest %d of %lld events read, modelled and painted in %lld ms (%d rows)\n", backlog,
                    qint64(events.size()), clock.elapsed(), fresh.model()->rowCount());
    }

    // 4. Paging back through the whole thread as the user asks for earlier events (2,000 a step).
    {
        ui::ThreadView pager;
        pager.resize(900, 1000);
        pager.show();
        pager.setEventLoader([&db](const store::EventQuery &query) {
            auto r = store::StoreReader::open(db);
            return r ? r->events(query).value_or(QList<store::Event>{}) : QList<store::Event>{};
        });
        auto row = reader->session(session);
        pager.showSession(row && *row ? &**row : nullptr);
        store::EventQuery newest;
        newest.session = session;
        newest.newest = true;
        newest.limit = 2000;
        pager.model()->setHistory(session, reader->events(newest).value());
        settle(&pager);
        QList<double> steps;
        QElapsedTimer step;
        for (;;) {
            step.start();
            if (!pager.loadEarlier(2000))
                break;
            settle(&pager);
            steps << step.nsecsElapsed() / 1e6;
        }
        std::sort(steps.begin(), steps.end());
        std::printf("page:   %lld steps back to the first event; per step median %.0f ms, slowest %.0f ms (%d rows at the end)\n",
                    qint64(steps.size()), steps.isEmpty() ? 0.0 : steps.at(steps.size() / 2), steps.isEmpty() ? 0.0 : steps.last(),
                    pager.model()->rowCount());
    }
    return 0;
}
