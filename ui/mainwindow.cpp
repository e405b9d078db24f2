#include "mainwindow.h"

#include "aboutdialog.h"
#include "approvalspanel.h"
#include "placeholderpanel.h"
#include "policiespanel.h"
#include "sessionsmodel.h"
#include "store/eventfeed.h"
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
      m_thread(new ThreadView(this)), m_statusLabel(new QLabel(this)), m_errorLabel(new QLabel(this))
{
    setObjectName(QStringLiteral("mainWindow"));
    setWindowTitle(tr("Airlock"));
    setWindowIcon(QIcon(QStringLiteral(":/icons/airlock.svg")));
    setDockOptions(AnimatedDocks | AllowTabbedDocks | AllowNestedDocks);
    setCentralWidget(m_thread);

    createSessionsDock();
    createPlaceholderDocks();
    createMenus();

    m_errorLabel->setObjectName(QStringLiteral("storeError"));
    m_errorLabel->setStyleSheet(QStringLiteral("color: #d1242f;"));
    m_errorLabel->hide();
    statusBar()->addWidget(m_statusLabel, 1);
    statusBar()->addPermanentWidget(m_errorLabel);

    connect(m_feed, &store::EventFeed::sessionsChanged, this, [this](const QList<store::SessionRow> &rows) {
        m_sessions->merge(rows);
        m_errorLabel->hide();
        updateStatus();
    });
    connect(m_feed, &store::EventFeed::history, m_thread->model(), &ThreadModel::setHistory);
    connect(m_feed, &store::EventFeed::eventsAppended, m_thread->model(), &ThreadModel::append);
    connect(m_feed, &store::EventFeed::failed, this, &MainWindow::showStoreError);
    connect(m_feed, &store::EventFeed::policiesChanged, m_policies, &PoliciesPanel::reload);
    connect(m_feed, &store::EventFeed::approvalsChanged, m_approvals, &ApprovalsPanel::setApprovals);
    // The selected session's header follows its row (state, event count) as it changes.
    connect(m_sessions, &QAbstractItemModel::dataChanged, this, [this](const QModelIndex &from, const QModelIndex &to) {
        const QModelIndex current = m_sessions->indexOf(m_thread->currentSession());
        if (current.isValid() && current.row() >= from.row() && current.row() <= to.row())
            m_thread->showSession(m_sessions->session(current.row()));
    });

    // First-run proportions: a readable sessions list, the thread widest, short bottom docks.
    resize(1280, 800);
    resizeDocks({m_docks.at(0), m_docks.at(1)}, {340, 300}, Qt::Horizontal);
    resizeDocks({m_docks.at(4)}, {170}, Qt::Vertical);
    m_defaultState = saveState();
    restoreLayout();
    updateStatus();
    m_feed->start();
}

MainWindow::~MainWindow() = default;

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

    auto *layout = new QVBoxLayout(body);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_filter);
    layout->addWidget(m_sessionsView, 1);
    addDock(QStringLiteral("sessionsDock"), tr("Sessions"), body, Qt::LeftDockWidgetArea);
}

void MainWindow::createPlaceholderDocks()
{
    struct Spec {
        const char *name;
        QString title, heading, text;
        Qt::DockWidgetArea area;
    };
    const Spec specs[] = {
        {"checkpointsDock", tr("Checkpoints"), tr("Checkpoint history"),
         tr("Snapshots of the workspace taken after each turn and each tool call that changes files, "
            "with their diffs. Select one to compare, rewind the workspace to it, or fork a new session "
            "from it."),
         Qt::RightDockWidgetArea},
        {"egressDock", tr("Egress"), tr("Egress log"),
         tr("Every network connection a sandbox makes through Airlock's proxy: host, decision, rule and "
            "bytes, live across sessions. Denied hosts can be allowed for a session or always."),
         Qt::BottomDockWidgetArea},
        {"sandboxesDock", tr("Sandboxes"), tr("Sandboxes"),
         tr("Live sandboxes — bubblewrap or Docker — with their policy, lifecycle, limits and processes, "
            "and controls to stop or destroy them."),
         Qt::BottomDockWidgetArea},
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
        auto *panel = new PlaceholderPanel(s.heading, s.text, this);
        auto *dock = addDock(QString::fromLatin1(s.name), s.title, panel, s.area);
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
    QAction *quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);
    quit->setObjectName(QStringLiteral("actionQuit"));

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
    if (!changed)
        return;
    if (row)
        m_feed->follow(row->id, kThreadBacklog);
    else
        m_feed->stopFollowing();
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
