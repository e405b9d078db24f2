#pragma once

#include "error.h"
#include "theme.h"

#include <QMainWindow>

class QActionGroup;
class QDockWidget;
class QLabel;
class QLineEdit;
class QSortFilterProxyModel;
class QTimer;
class QTreeView;

namespace airlock::store {
class EventFeed;
class EventStore;
} // namespace airlock::store

namespace airlock::ui {

class ApprovalsPanel;
class CheckpointsPanel;
class EgressPanel;
class SandboxesPanel;
class SessionCleanup;
class SessionController;
class PoliciesPanel;
class SessionsModel;
class ThreadView;

// The workspace: sessions on the left, the selected thread in the middle, and docks for the
// approvals inbox, checkpoints, policy, egress and sandboxes around it. It reads the store through
// an EventFeed, so what any process appends (airlockctl, another window) shows up live.
class MainWindow : public QMainWindow
{
    Q_OBJECT
public:
    // store: where the window writes (policy versions …); may be null for a read-only window.
    explicit MainWindow(const QString &databasePath, store::EventStore *store = nullptr, QWidget *parent = nullptr);
    ~MainWindow() override;

    SessionsModel *sessionsModel() const { return m_sessions; }
    QTreeView *sessionsView() const { return m_sessionsView; }
    ThreadView *threadView() const { return m_thread; }
    PoliciesPanel *policiesPanel() const { return m_policies; }
    ApprovalsPanel *approvalsPanel() const { return m_approvals; }
    SessionController *sessions() const { return m_controller; }
    SessionCleanup *cleanup() const { return m_cleanup; }
    // Asks about deleting the selected session, with what it frees, and deletes it on yes.
    void deleteCurrentSession();
    void showRetention();
    // Opens the new-session dialog (with the demo agent chosen when demo is set).
    void newSession(bool demo = false);
    Theme theme() const { return m_theme; }
    void setTheme(Theme theme);
    void selectSession(const QString &id);

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    QDockWidget *addDock(const QString &objectName, const QString &title, QWidget *body, Qt::DockWidgetArea area);
    void createSessionsDock();
    void createDocks();
    void createMenus();
    void restoreLayout();
    void saveLayout() const;
    void showCurrentSession();
    void showStoreError(const Error &error);
    void updateStatus();
    void updatePromptControls();

    QString m_databasePath;
    store::EventStore *m_store;
    store::EventFeed *m_feed;
    PoliciesPanel *m_policies = nullptr;
    ApprovalsPanel *m_approvals = nullptr;
    CheckpointsPanel *m_checkpoints = nullptr;
    EgressPanel *m_egress = nullptr;
    SandboxesPanel *m_sandboxPanel = nullptr;
    SessionController *m_controller = nullptr;
    SessionCleanup *m_cleanup = nullptr;
    QTimer *m_diskTimer = nullptr;
    SessionsModel *m_sessions;
    QSortFilterProxyModel *m_sessionsProxy;
    QTreeView *m_sessionsView = nullptr;
    QLineEdit *m_filter = nullptr;
    ThreadView *m_thread;
    QLabel *m_statusLabel;
    QLabel *m_errorLabel;
    QLabel *m_writeLabel; // the store cannot write (a full disk): shown until it catches up
    QList<QDockWidget *> m_docks;
    QActionGroup *m_themeGroup = nullptr;
    QByteArray m_defaultState;
    Theme m_theme = Theme::Light;
};

} // namespace airlock::ui
