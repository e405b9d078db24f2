#pragma once

#include "workspace/checkpointtree.h"

#include <QPointer>
#include <QWidget>

#include <functional>
#include <memory>

class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QStackedWidget;
class QTreeWidget;
class QTreeWidgetItem;

namespace airlock::store {
class EventFeed;
class EventStore;
}
namespace airlock::workspace {
class CheckpointJobs;
}

namespace airlock::ui {

class DiffView;

// The Checkpoints dock: the selected session's workspace history as a tree (forks and rewinds branch
// off), each checkpoint's diff against its parent or any other checkpoint, and Checkpoint Now,
// Rewind… and Fork…. Every read and action runs as a CheckpointJobs job off the UI thread; the
// history reloads when checkpoint events for the session arrive, from this process or another.
class CheckpointsPanel : public QWidget
{
    Q_OBJECT
public:
    CheckpointsPanel(const QString &databasePath, store::EventStore *store, QWidget *parent = nullptr);
    ~CheckpointsPanel() override;

    void setSession(const QString &sessionId);
    // Runs the dock's jobs on the window's CheckpointJobs (so a Checkpoint Now queues behind the
    // session's own snapshots) instead of its own; `jobs` must outlive the panel. Null: its own.
    void setCheckpointJobs(workspace::CheckpointJobs *jobs);
    QString session() const { return m_session; }

    const workspace::CheckpointTree &tree() const { return m_tree; }
    QTreeWidget *historyView() const { return m_history; }
    QComboBox *compareCombo() const { return m_compare; }
    DiffView *diffView() const { return m_diff; }
    // The commit of the selected checkpoint, or empty.
    QString selectedCommit() const;
    bool selectCommit(const QString &commit);
    bool isBusy() const { return m_busy; }

public Q_SLOTS:
    void reload();
    void checkpointNow();
    void rewindSelected();
    void forkSelected();

Q_SIGNALS:
    // A tree was loaded (after setSession, an event, or an action).
    void historyLoaded();
    void diffLoaded();
    // An action ended; message says what happened or what went wrong.
    void actionFinished(bool ok, const QString &message);
    // A fork made a new session; the window may want to show it.
    void sessionForked(const QString &sessionId);

private:
    void showTree(workspace::CheckpointTree tree);
    void fillCompare();
    void loadDiff();
    void updateButtons();
    void setEmpty(const QString &text);
    void startAction(const QString &what);
    void endAction(bool ok, const QString &message);
    int selectedNode() const;
    QString describe(int node) const;

    QString m_databasePath;
    QPointer<store::EventStore> m_store;
    std::unique_ptr<workspace::CheckpointJobs> m_ownJobs;
    workspace::CheckpointJobs *m_jobs = nullptr;
    store::EventFeed *m_feed;
    QString m_session;
    workspace::CheckpointTree m_tree;
    quint64 m_treeGeneration = 0;
    quint64 m_diffGeneration = 0;
    bool m_busy = false;
    std::function<void()> m_cancel;

    QLabel *m_title;
    QStackedWidget *m_stack;
    QLabel *m_empty;
    QTreeWidget *m_history;
    QComboBox *m_compare;
    DiffView *m_diff;
    QPushButton *m_checkpoint;
    QPushButton *m_rewind;
    QPushButton *m_fork;
    QWidget *m_progressRow;
    QProgressBar *m_progress;
    QLabel *m_progressText;
    QPushButton *m_cancelButton;
    QLabel *m_status;
    QLabel *m_error;
};

} // namespace airlock::ui
