#include "mainwindow.h"

#include "aboutdialog.h"
#include "approvalspanel.h"
#include "checkpointspanel.h"
#include "docker/dockerbackend.h"
#include "egresspanel.h"
#include "sandbox/sandboxmanager.h"
#include "sandboxespanel.h"
#include "secretsdialog.h"
#include "setupdialog.h"
#include "policy/policylibrary.h"
#include "policiespanel.h"
#include "policydocument.h"
#include "policyeditor.h"
#include "session/newsessiondialog.h"
#include "session/retentiondialog.h"
#include "session/sessioncleanup.h"
#include "session/sessioncontroller.h"
#include "session/sessionowner.h"
#include "session/sessionrulesdialog.h"
#include "sessionsmodel.h"
#include "store/eventfeed.h"
#include "store/eventstore.h"
#include "store/paths.h"
#include "store/storereader.h"
#include "thread/threadmodel.h"
#include "threadview.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QDockWidget>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QSettings>
#include <QShortcut>
#include <QTimer>
#include <QSortFilterProxyModel>
#include <QStatusBar>
#include <QTreeView>
#include <QVBoxLayout>

namespace airlock::ui {

namespace {
constexpr int kThreadBacklog = 2000;
const auto kGeometryKey = QStringLiteral("window/geometry");
const auto kStateKey = QStringLiteral("window/state");
const auto kThemeKey = QStringLiteral("ui/theme");
} // namespace

MainWindow::MainWindow(const QString &databasePath, store::EventStore *store, QWidget *parent)
    : QMainWindow(parent), m_databasePath(databasePath), m_store(store), m_feed(new store::EventFeed(databasePath, this)),
      m_sessions(new SessionsModel(this)), m_sessionsProxy(new QSortFilterProxyModel(this)),
      m_thread(new ThreadView(this)), m_statusLabel(new QLabel(this)), m_errorLabel(new QLabel(this)),
      m_writeLabel(new QLabel(this))
{
    setObjectName(QStringLiteral("mainWindow"));
    setWindowTitle(tr("Airlock"));
    setWindowIcon(QIcon(QStringLiteral(":/icons/airlock.svg")));
    setDockOptions(AnimatedDocks | AllowTabbedDocks | AllowNestedDocks);
    setCentralWidget(m_thread);

    // Before the docks: the Sandboxes and Checkpoints docks show what it owns.
    m_controller = new SessionController(m_databasePath, m_store, this);
    m_cleanup = new SessionCleanup(m_databasePath, [this](const QString &id) {
        using S = session::SessionRunner::State;
        const session::SessionRunner *runner = m_controller->runner(id);
        return runner && runner->state() != S::Ended && runner->state() != S::Failed;
    }, this);
    // Disk use is measured after a burst of changes settles, not on every event.
    m_diskTimer = new QTimer(this);
    m_diskTimer->setSingleShot(true);
    m_diskTimer->setInterval(2000);
    connect(m_diskTimer, &QTimer::timeout, m_cleanup, &SessionCleanup::refreshDiskUse);
    createSessionsDock();
    createDocks();
    createMenus();

    m_errorLabel->setObjectName(QStringLiteral("storeError"));
    m_errorLabel->setStyleSheet(QStringLiteral("color: #d1242f;"));
    m_errorLabel->hide();
    statusBar()->addWidget(m_statusLabel, 1);
    statusBar()->addPermanentWidget(m_errorLabel);
    m_writeLabel->setObjectName(QStringLiteral("storeWriteError"));
    m_writeLabel->setStyleSheet(QStringLiteral("color: #d1242f; font-weight: bold;"));
    m_writeLabel->hide();
    statusBar()->addPermanentWidget(m_writeLabel);
    if (m_store) {
        // The writer keeps what it cannot write (a full disk) in memory and retries; until it has
        // caught up, nothing new is on disk, and the window says so.
        connect(m_store, &store::EventStore::writeFailed, this, [this](const Error &e) {
            const QString text = store::isNoSpace(e) ? tr("Disk full: events are kept in memory, not saved")
                                                              : tr("Events are not being saved");
            m_writeLabel->setText(text);
            m_writeLabel->setToolTip(tr("%1 events wait to be written; Airlock keeps trying.\n%2")
                                         .arg(m_store->pendingEvents())
                                         .arg(e.message));
            m_writeLabel->show();
        });
        connect(m_store, &store::EventStore::writeResumed, m_writeLabel, &QLabel::hide);
    }

    connect(m_feed, &store::EventFeed::sessionsChanged, this, [this](const QList<store::SessionRow> &rows) {
        m_sessions->merge(rows);
        m_errorLabel->hide();
        updateStatus();
    });
    connect(m_feed, &store::EventFeed::sessionsChanged, m_diskTimer, [this] {
        if (!m_diskTimer->isActive())
            m_diskTimer->start();
    });
    connect(m_feed, &store::EventFeed::sessionsRemoved, this, [this](const QStringList &ids) {
        m_sessions->remove(ids);
        updateStatus();
    });
    connect(m_cleanup, &SessionCleanup::diskUseMeasured, m_sessions, &SessionsModel::setDiskUse);
    connect(m_cleanup, &SessionCleanup::failed, this, &MainWindow::showStoreError);
    connect(m_cleanup, &SessionCleanup::sessionDeleted, this, [this](const QString &, const QString &summary) {
        statusBar()->showMessage(summary, 10000);
        m_feed->poke();
    });
    connect(m_feed, &store::EventFeed::history, m_thread->model(), &ThreadModel::setHistory);
    connect(m_feed, &store::EventFeed::eventsAppended, m_thread->model(), &ThreadModel::append);
    connect(m_feed, &store::EventFeed::failed, this, &MainWindow::showStoreError);
    connect(m_feed, &store::EventFeed::policiesChanged, m_policies, &PoliciesPanel::reload);
    connect(m_feed, &store::EventFeed::approvalsChanged, m_approvals, &ApprovalsPanel::setApprovals);
    // The selected session's header follows its row (state, event count) as it changes.
    connect(m_sessions, &QAbstractItemModel::dataChanged, this, [this](const QModelIndex &from, const QModelIndex &to) {
        const QModelIndex current = m_sessions->indexOf(m_thread->currentSession());
        if (current.isValid() && current.row() >= from.row() && current.row() <= to.row()) {
            m_thread->showSession(m_sessions->session(current.row()));
            updatePromptControls(); // a session that ended elsewhere may now be continued here
        }
    });

    // First-run proportions: a readable sessions list, the thread widest, short bottom docks.
    resize(1280, 800);
    resizeDocks({m_docks.at(0), m_docks.at(1)}, {340, 300}, Qt::Horizontal);
    resizeDocks({m_docks.at(4)}, {170}, Qt::Vertical);
    connect(m_controller, &SessionController::runnerChanged, this, &MainWindow::updatePromptControls);
    connect(m_controller, &SessionController::failed, this, [this](const QString &, const Error &e) { showStoreError(e); });
    // A slow checkpoint (a big workspace's first) shows how far it is; snapshots never hold up the turn.
    connect(m_controller, &SessionController::checkpointProgress, this,
            [this](const QString &id, qint64 done, qint64 total, const QString &what) {
                if (what.isEmpty() || (total > 0 && done >= total))
                    statusBar()->clearMessage();
                else
                    statusBar()->showMessage(total > 0 ? tr("Checkpoint of %1: %2 (%3 of %4)").arg(id, what).arg(done).arg(total)
                                                       : tr("Checkpoint of %1: %2 (%3)").arg(id, what).arg(done));
            });
    // The thread opens with the newest events; earlier pages come straight from the store on request.
    m_thread->setEventLoader([path = m_databasePath](const store::EventQuery &q) {
        auto reader = store::StoreReader::open(path);
        return reader ? reader->events(q).value_or(QList<store::Event>{}) : QList<store::Event>{};
    });
    connect(m_thread, &ThreadView::demoRequested, this, [this] { newSession(true); });
    connect(m_thread, &ThreadView::promptSubmitted, this, [this](const QString &text) {
        const QString id = m_thread->currentSession();
        session::SessionRunner *runner = m_controller->runner(id);
        using S = session::SessionRunner::State;
        if (runner && runner->state() != S::Ended && runner->state() != S::Failed) {
            if (auto r = runner->prompt(text); !r)
                showStoreError(r.error());
        } else if (auto r = m_controller->resume(id, text); !r) {
            showStoreError(r.error()); // a session that ended, or a fork: run it again here
        }
    });
    connect(m_thread, &ThreadView::cancelRequested, this, [this] {
        if (auto *runner = m_controller->runner(m_thread->currentSession()))
            runner->cancel();
    });

    m_defaultState = saveState();
    restoreLayout();
    updateStatus();
    m_feed->start();
}

MainWindow::~MainWindow()
{
    // The panels that show what the controller owns go first, then the controller (its sessions end).
    delete m_sandboxPanel;
    delete m_checkpoints;
    delete m_egress;
    delete m_controller;
}

QDockWidget *MainWindow::addDock(const QString &objectName, const QString &title, QWidget *body,
                                 Qt::DockWidgetArea area)
{
    auto *dock = new QDockWidget(title, this);
    dock->setObjectName(objectName);
    dock->setWidget(body);
    addDockWidget(area, dock);
    m_docks.append(dock);
    return dock;
}

void MainWindow::createSessionsDock()
{
    auto *body = new QWidget(this);
    m_filter = new QLineEdit(body);
    m_filter->setObjectName(QStringLiteral("sessionFilter"));
    m_filter->setPlaceholderText(tr("Filter sessions"));
    m_filter->setAccessibleName(tr("Filter sessions"));
    m_filter->setClearButtonEnabled(true);

    m_sessionsProxy->setSourceModel(m_sessions);
    m_sessionsProxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    m_sessionsProxy->setFilterKeyColumn(-1);
    m_sessionsProxy->setSortRole(Qt::DisplayRole);
    connect(m_filter, &QLineEdit::textChanged, m_sessionsProxy, &QSortFilterProxyModel::setFilterFixedString);

    m_sessionsView = new QTreeView(body);
    m_sessionsView->setObjectName(QStringLiteral("sessionsView"));
    m_sessionsView->setAccessibleName(tr("Sessions"));
    m_sessionsView->setModel(m_sessionsProxy);
    m_sessionsView->setRootIsDecorated(false);
    m_sessionsView->setUniformRowHeights(true);
    m_sessionsView->setAlternatingRowColors(true);
    m_sessionsView->setSelectionMode(QAbstractItemView::SingleSelection);
    m_sessionsView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_sessionsView->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_sessionsView->setSortingEnabled(true);
    m_sessionsView->sortByColumn(-1, Qt::AscendingOrder); // arrival order until the user sorts
    m_sessionsView->header()->setStretchLastSection(false);
    m_sessionsView->header()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_sessionsView->header()->setSectionResizeMode(SessionsModel::Title, QHeaderView::Stretch);
    for (int c : {SessionsModel::Agent, SessionsModel::Updated})
        m_sessionsView->setColumnHidden(c, true); // shown in the thread header and tooltip
    connect(m_sessionsView->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &MainWindow::showCurrentSession);
    auto *remove = new QAction(tr("&Delete Session…"), m_sessionsView);
    remove->setObjectName(QStringLiteral("actionDeleteSessionContext"));
    connect(remove, &QAction::triggered, this, &MainWindow::deleteCurrentSession);
    m_sessionsView->addAction(remove);
    m_sessionsView->setContextMenuPolicy(Qt::ActionsContextMenu);
    auto *deleteKey = new QShortcut(QKeySequence::Delete, m_sessionsView, nullptr, nullptr, Qt::WidgetShortcut);
    connect(deleteKey, &QShortcut::activated, this, &MainWindow::deleteCurrentSession);

    auto *layout = new QVBoxLayout(body);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_filter);
    layout->addWidget(m_sessionsView, 1);
    addDock(QStringLiteral("sessionsDock"), tr("Sessions"), body, Qt::LeftDockWidgetArea);
}

void MainWindow::createDocks()
{
    struct Spec {
        const char *name;
        QString title;
        QWidget *body;
        Qt::DockWidgetArea area;
    };
    m_checkpoints = new CheckpointsPanel(m_databasePath, m_store, this);
    m_checkpoints->setCheckpointJobs(m_controller->checkpoints());
    connect(m_checkpoints, &CheckpointsPanel::sessionForked, this, &MainWindow::selectSession);
    m_egress = new EgressPanel(m_databasePath, m_store, this);
    m_egress->setProxy(m_controller->egress());
    // "Allow Always" goes through the policy editor: the change is an undoable step there, saved as
    // the next version, and the editor stays open to show it.
    m_egress->setPolicyChange([this](const QString &name, const QString &host, const QString &note) -> Result<int> {
        PolicyEditor *editor = m_policies ? m_policies->edit(name) : nullptr;
        if (!editor)
            return fail(ErrorCode::NotFound, tr("cannot open policy %1 in the editor").arg(name));
        editor->document()->edit(tr("Allow %1").arg(host), [host](policy::Policy &p) {
            if (!p.network.allow.contains(host))
                p.network.allow.append(host);
        });
        if (!editor->save(note))
            return fail(ErrorCode::Io, tr("the policy editor could not save %1").arg(name));
        return editor->document()->savedVersion();
    });
    m_sandboxPanel = new SandboxesPanel(m_controller->sandboxes(), this);
    m_sandboxPanel->setPolicySource([this]() -> QList<policy::PolicyEntry> {
        auto reader = store::StoreReader::open(m_databasePath);
        if (!reader)
            return {};
        auto list = policy::listPolicies(*reader);
        return list ? *list : QList<policy::PolicyEntry>();
    });
    if (auto *docker = qobject_cast<docker::DockerBackend *>(m_controller->sandboxes()->backend(QStringLiteral("docker"))))
        docker->setStatsInterval(5000); // the CPU and memory columns
    const Spec specs[] = {
        {"checkpointsDock", tr("Checkpoints"), m_checkpoints, Qt::RightDockWidgetArea},
        {"egressDock", tr("Egress"), m_egress, Qt::BottomDockWidgetArea},
        {"sandboxesDock", tr("Sandboxes"), m_sandboxPanel, Qt::BottomDockWidgetArea},
    };
    m_approvals = new ApprovalsPanel(m_store, this);
    QDockWidget *firstRight = addDock(QStringLiteral("approvalsDock"), tr("Approvals"), m_approvals, Qt::RightDockWidgetArea);
    connect(m_approvals, &ApprovalsPanel::countChanged, firstRight, [firstRight](int open) {
        firstRight->setWindowTitle(open > 0 ? tr("Approvals (%1)").arg(open) : tr("Approvals"));
    });
    connect(m_approvals, &ApprovalsPanel::showSession, this, &MainWindow::selectSession);
    QDockWidget *firstBottom = nullptr;
    int index = 0;
    for (const Spec &s : specs) {
        if (index++ == 1) { // the Policy dock sits between Checkpoints and Egress
            m_policies = new PoliciesPanel(m_databasePath, m_store, this);
            tabifyDockWidget(firstRight, addDock(QStringLiteral("policyDock"), tr("Policy"), m_policies,
                                                 Qt::RightDockWidgetArea));
        }
        auto *dock = addDock(QString::fromLatin1(s.name), s.title, s.body, s.area);
        QDockWidget *&first = s.area == Qt::RightDockWidgetArea ? firstRight : firstBottom;
        if (first)
            tabifyDockWidget(first, dock);
        else
            first = dock;
    }
    firstRight->raise();
    firstBottom->raise();
}

void MainWindow::createMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    QAction *newSessionAction = file->addAction(tr("&New Session…"), this, [this] { newSession(); });
    newSessionAction->setShortcut(QKeySequence::New);
    newSessionAction->setObjectName(QStringLiteral("actionNewSession"));
    QAction *retention = file->addAction(tr("&Retention…"), this, &MainWindow::showRetention);
    retention->setObjectName(QStringLiteral("actionRetention"));
    QAction *secrets = file->addAction(tr("&Secrets…"), this, [this] {
        SecretsDialog dialog(this);
        dialog.exec();
    });
    secrets->setObjectName(QStringLiteral("actionSecrets"));
    file->addSeparator();
    QAction *quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);
    quit->setObjectName(QStringLiteral("actionQuit"));

    QMenu *sessionMenu = menuBar()->addMenu(tr("&Session"));
    QAction *rules = sessionMenu->addAction(tr("Session &Rules…"), this, [this] {
        session::SessionRunner *runner = m_controller->runner(m_thread->currentSession());
        if (!runner) {
            showStoreError(Error{ErrorCode::NotFound, tr("The selected session does not run in this window.")});
            return;
        }
        SessionRulesDialog dialog(runner, this);
        dialog.exec();
    });
    rules->setObjectName(QStringLiteral("actionSessionRules"));
    rules->setShortcut(QKeySequence(QStringLiteral("Ctrl+Shift+R")));
    sessionMenu->addSeparator();
    QAction *remove = sessionMenu->addAction(tr("&Delete Session…"), this, &MainWindow::deleteCurrentSession);
    remove->setObjectName(QStringLiteral("actionDeleteSession"));

    QMenu *view = menuBar()->addMenu(tr("&View"));
    QAction *find = view->addAction(tr("&Filter Sessions"), this, [this] {
        m_docks.first()->show();
        m_docks.first()->raise();
        m_filter->setFocus(Qt::ShortcutFocusReason);
        m_filter->selectAll();
    });
    find->setShortcut(QKeySequence::Find);
    view->addSeparator();
    int n = 1;
    for (QDockWidget *dock : std::as_const(m_docks)) {
        // Ctrl+N shows and focuses a dock; the plain toggle stays in the menu for hiding it.
        QAction *toggle = dock->toggleViewAction();
        view->addAction(toggle);
        auto *focus = new QAction(tr("Go to %1").arg(dock->windowTitle()), this);
        focus->setShortcut(QKeySequence(QStringLiteral("Ctrl+%1").arg(n++)));
        focus->setObjectName(QStringLiteral("actionGoto_") + dock->objectName());
        connect(focus, &QAction::triggered, dock, [dock] {
            dock->show();
            dock->raise();
            if (dock->widget())
                dock->widget()->setFocus(Qt::ShortcutFocusReason);
        });
        addAction(focus);
    }
    view->addSeparator();
    QMenu *themes = view->addMenu(tr("&Theme"));
    m_themeGroup = new QActionGroup(this);
    for (Theme t : {Theme::Light, Theme::Dark}) {
        QAction *a = themes->addAction(t == Theme::Light ? tr("&Light") : tr("&Dark"));
        a->setCheckable(true);
        a->setData(themeName(t));
        a->setObjectName(QStringLiteral("actionTheme_") + themeName(t));
        m_themeGroup->addAction(a);
        connect(a, &QAction::triggered, this, [this, t] { setTheme(t); });
    }
    QAction *toggleTheme = view->addAction(tr("Toggle &Dark Mode"), this, [this] {
        setTheme(m_theme == Theme::Dark ? Theme::Light : Theme::Dark);
    });
    toggleTheme->setShortcut(QKeySequence(QStringLiteral("Ctrl+Shift+L")));
    view->addAction(tr("&Reset Layout"), this, [this] { restoreState(m_defaultState); });

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    QAction *setup = help->addAction(tr("&Check Setup…"), this, [this] {
        SetupDialog dialog(m_databasePath, this);
        dialog.exec();
    });
    setup->setObjectName(QStringLiteral("actionCheckSetup"));
    QAction *about = help->addAction(tr("&About Airlock"), this, [this] {
        AboutDialog dialog(m_databasePath, this);
        dialog.exec();
    });
    about->setObjectName(QStringLiteral("actionAbout"));
    about->setShortcut(QKeySequence::HelpContents);
    help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);
}

void MainWindow::setTheme(Theme theme)
{
    m_theme = theme;
    applyTheme(theme);
    for (QAction *a : m_themeGroup->actions())
        a->setChecked(a->data().toString() == themeName(theme));
    QSettings().setValue(kThemeKey, themeName(theme));
}

void MainWindow::selectSession(const QString &id)
{
    const QModelIndex source = m_sessions->indexOf(id);
    if (!source.isValid())
        return;
    m_sessionsView->setCurrentIndex(m_sessionsProxy->mapFromSource(source));
}

void MainWindow::restoreLayout()
{
    QSettings settings;
    restoreGeometry(settings.value(kGeometryKey).toByteArray());
    restoreState(settings.value(kStateKey).toByteArray());
    setTheme(themeFromName(settings.value(kThemeKey).toString()));
}

void MainWindow::saveLayout() const
{
    QSettings settings;
    settings.setValue(kGeometryKey, saveGeometry());
    settings.setValue(kStateKey, saveState());
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    saveLayout();
    QMainWindow::closeEvent(event);
}

void MainWindow::showCurrentSession()
{
    const QModelIndex current = m_sessionsProxy->mapToSource(m_sessionsView->currentIndex());
    const store::SessionRow *row = current.isValid() ? m_sessions->session(current.row()) : nullptr;
    const bool changed = (row ? row->id : QString()) != m_thread->currentSession();
    m_thread->showSession(row);
    updatePromptControls();
    if (!changed)
        return;
    m_checkpoints->setSession(row ? row->id : QString());
    if (row)
        m_feed->follow(row->id, kThreadBacklog);
    else
        m_feed->stopFollowing();
}

void MainWindow::newSession(bool demo)
{
    NewSessionDialog dialog(m_databasePath, this);
    if (demo)
        dialog.selectAgent(QStringLiteral("demo"));
    if (dialog.exec() != QDialog::Accepted)
        return;
    auto config = dialog.config();
    if (!config) {
        showStoreError(config.error());
        return;
    }
    auto id = m_controller->start(*config, dialog.prompt());
    if (!id) {
        showStoreError(id.error());
        return;
    }
    // The session row arrives through the feed; select it as soon as it is there.
    const QString sessionId = *id;
    auto *once = new QObject(this);
    connect(m_sessions, &QAbstractItemModel::rowsInserted, once, [this, sessionId, once] {
        if (m_sessions->indexOf(sessionId).isValid()) {
            selectSession(sessionId);
            once->deleteLater();
        }
    });
    m_feed->poke();
}

void MainWindow::deleteCurrentSession()
{
    const QString id = m_thread->currentSession();
    if (id.isEmpty()) {
        showStoreError(Error{ErrorCode::InvalidArgument, tr("Select the session to delete.")});
        return;
    }
    m_cleanup->deleteSession(id, this);
}

void MainWindow::showRetention()
{
    RetentionDialog dialog(m_databasePath, this);
    connect(&dialog, &RetentionDialog::cleanedUp, this, [this](const QString &summary) {
        statusBar()->showMessage(summary, 10000);
        m_feed->poke();
        m_cleanup->refreshDiskUse();
    });
    dialog.exec();
}

void MainWindow::updatePromptControls()
{
    const QString id = m_thread->currentSession();
    session::SessionRunner *runner = id.isEmpty() ? nullptr : m_controller->runner(id);
    using S = session::SessionRunner::State;
    if (!runner || runner->state() == S::Ended || runner->state() == S::Failed) {
        // A session that is over (or a fork that never ran) can be continued here; one that another
        // process runs can only be watched.
        const QModelIndex index = m_sessions->indexOf(id);
        const store::SessionRow *row = index.isValid() ? m_sessions->session(index.row()) : nullptr;
        const bool continuable = row && !session::isLiveState(row->state) && !row->workspace.isEmpty();
        m_thread->setControls(continuable, false,
                              id.isEmpty() ? QString()
                              : continuable ? tr("Send continues this session here; the agent gets the conversation so far.")
                                            : tr("This session is running in another process."));
        return;
    }
    const S state = runner->state();
    m_thread->setControls(state == S::Idle, state == S::Running || state == S::Blocked,
                          tr("Session %1").arg(session::SessionRunner::stateName(state)));
}

void MainWindow::showStoreError(const Error &error)
{
    m_errorLabel->setText(error.message);
    m_errorLabel->setToolTip(error.message);
    m_errorLabel->show();
}

void MainWindow::updateStatus()
{
    m_statusLabel->setText(tr("%n session(s) · %1", nullptr, m_sessions->rowCount()).arg(m_databasePath));
}

} // namespace airlock::ui
