#include "checkpointspanel.h"

#include "checkpointhistory.h"
#include "diffview.h"
#include "docktext.h"
#include "forkdialog.h"
#include "store/eventfeed.h"
#include "store/eventstore.h"
#include "workspace/checkpointjobs.h"

#include <QComboBox>
#include <QFutureWatcher>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSplitter>
#include <QStackedWidget>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace airlock::ui {

using namespace airlock::workspace;

namespace {
constexpr int kPollMs = 300;
using checkpoints::changesText;
using checkpoints::CommitRole;
using checkpoints::NodeRole;
using checkpoints::SessionRole;

// Runs `job`, hands its result to `done` on this thread, and forwards its progress. The watcher
// belongs to `owner`, so nothing is delivered once the panel is gone.
template<typename T, typename Done>
QFutureWatcher<Result<T>> *watch(QObject *owner, const Job<T> &job, Done done)
{
    auto *watcher = new QFutureWatcher<Result<T>>(owner);
    QObject::connect(watcher, &QFutureWatcherBase::finished, owner, [watcher, done] {
        watcher->deleteLater();
        const QFuture<Result<T>> f = watcher->future();
        if (f.isCanceled() || f.resultCount() == 0) {
            done(Result<T>(std::unexpected(Error{ErrorCode::Cancelled, CheckpointsPanel::tr("cancelled")})));
            return;
        }
        done(f.result());
    });
    watcher->setFuture(job.future());
    return watcher;
}
} // namespace

CheckpointsPanel::CheckpointsPanel(const QString &databasePath, store::EventStore *store, QWidget *parent)
    : QWidget(parent), m_databasePath(databasePath), m_store(store), m_feed(new store::EventFeed(databasePath, this)),
      m_title(new QLabel(this)), m_stack(new QStackedWidget(this)),
      m_empty(docks::makeEmptyLabel(QStringLiteral("checkpointsEmpty"), this)), m_history(new QTreeWidget(this)),
      m_compare(new QComboBox(this)), m_diff(new DiffView(this)), m_checkpoint(new QPushButton(tr("Checkpoint &Now"), this)),
      m_rewind(new QPushButton(tr("&Rewind…"), this)), m_fork(new QPushButton(tr("&Fork…"), this)),
      m_progressRow(new QWidget(this)), m_progress(new QProgressBar(this)), m_progressText(new QLabel(this)),
      m_cancelButton(new QPushButton(tr("Cancel"), this)), m_status(new QLabel(this)),
      m_error(docks::makeErrorLabel(QStringLiteral("checkpointsError"), this))
{
    setObjectName(QStringLiteral("checkpointsPanel"));
    setAccessibleName(tr("Checkpoints"));
    setAccessibleDescription(tr("The selected session's workspace checkpoints with their diffs; take one now, rewind to "
                                "one, or fork a new session from one."));
    setCheckpointJobs(nullptr);

    m_title->setObjectName(QStringLiteral("checkpointsTitle"));
    m_title->setTextFormat(Qt::PlainText);
    m_history->setObjectName(QStringLiteral("checkpointsHistory"));
    m_history->setAccessibleName(tr("Checkpoint history"));
    m_history->setHeaderLabels({tr("Checkpoint"), tr("Time"), tr("Changes")});
    m_history->setUniformRowHeights(true);
    m_history->setAllColumnsShowFocus(true);
    m_history->header()->setStretchLastSection(false);
    m_history->header()->setSectionResizeMode(checkpoints::WhatColumn, QHeaderView::Stretch);
    m_history->header()->setSectionResizeMode(checkpoints::TimeColumn, QHeaderView::ResizeToContents);
    m_history->header()->setSectionResizeMode(checkpoints::ChangesColumn, QHeaderView::ResizeToContents);
    m_compare->setObjectName(QStringLiteral("checkpointsCompare"));
    m_compare->setAccessibleName(tr("Compare with"));
    m_compare->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_compare->setMinimumContentsLength(24);
    m_checkpoint->setObjectName(QStringLiteral("checkpointNow"));
    m_checkpoint->setToolTip(tr("Snapshot the session's workspace now"));
    m_rewind->setObjectName(QStringLiteral("checkpointRewind"));
    m_rewind->setToolTip(tr("Restore the workspace to the selected checkpoint (undoable)"));
    m_fork->setObjectName(QStringLiteral("checkpointFork"));
    m_fork->setToolTip(tr("Start a new session from the selected checkpoint"));
    m_progress->setObjectName(QStringLiteral("checkpointsProgress"));
    m_progress->setMaximumWidth(180);
    m_progressText->setTextFormat(Qt::PlainText);
    m_cancelButton->setObjectName(QStringLiteral("checkpointsCancel"));
    m_status->setObjectName(QStringLiteral("checkpointsStatus"));
    m_status->setTextFormat(Qt::PlainText);
    m_status->setWordWrap(true);
    m_status->setForegroundRole(QPalette::PlaceholderText);

    auto *progressLayout = new QHBoxLayout(m_progressRow);
    progressLayout->setContentsMargins(0, 0, 0, 0);
    progressLayout->addWidget(m_progress);
    progressLayout->addWidget(m_progressText, 1);
    progressLayout->addWidget(m_cancelButton);
    m_progressRow->hide();

    auto *compareRow = new QHBoxLayout;
    compareRow->setContentsMargins(0, 0, 0, 0);
    auto *compareLabel = new QLabel(tr("&Compare with:"), this);
    compareLabel->setBuddy(m_compare);
    compareRow->addWidget(compareLabel);
    compareRow->addWidget(m_compare, 1);
    auto *diffBox = new QWidget(this);
    auto *diffLayout = new QVBoxLayout(diffBox);
    diffLayout->setContentsMargins(0, 0, 0, 0);
    diffLayout->addLayout(compareRow);
    diffLayout->addWidget(m_diff, 1);
    auto *split = new QSplitter(Qt::Vertical, this);
    split->setChildrenCollapsible(false);
    split->addWidget(m_history);
    split->addWidget(diffBox);
    split->setStretchFactor(0, 2);
    split->setStretchFactor(1, 3);
    m_stack->addWidget(split);
    m_stack->addWidget(m_empty);

    auto *buttons = new QHBoxLayout;
    buttons->setContentsMargins(0, 0, 0, 0);
    buttons->addWidget(m_checkpoint);
    buttons->addWidget(m_rewind);
    buttons->addWidget(m_fork);
    buttons->addStretch(1);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_title);
    layout->addWidget(m_stack, 1);
    layout->addLayout(buttons);
    layout->addWidget(m_progressRow);
    layout->addWidget(m_status);
    layout->addWidget(m_error);

    connect(m_history, &QTreeWidget::currentItemChanged, this, [this] {
        loadDiff();
        updateButtons();
    });
    connect(m_compare, &QComboBox::currentIndexChanged, this, &CheckpointsPanel::loadDiff);
    connect(m_checkpoint, &QPushButton::clicked, this, &CheckpointsPanel::checkpointNow);
    connect(m_rewind, &QPushButton::clicked, this, &CheckpointsPanel::rewindSelected);
    connect(m_fork, &QPushButton::clicked, this, &CheckpointsPanel::forkSelected);
    connect(m_cancelButton, &QPushButton::clicked, this, [this] {
        if (m_cancel)
            m_cancel();
        m_cancelButton->setEnabled(false);
    });
    connect(m_feed, &store::EventFeed::eventsAppended, this, [this](const QString &session, const QList<store::Event> &events) {
        if (session != m_session)
            return;
        for (const store::Event &e : events)
            if (e.kind.startsWith(QLatin1String("checkpoint."))) {
                reload();
                return;
            }
    });
    m_feed->start(kPollMs);
    setFocusProxy(m_history);
    setSession(QString());
}

CheckpointsPanel::~CheckpointsPanel() = default; // m_ownJobs cancels and waits for what runs

void CheckpointsPanel::setCheckpointJobs(CheckpointJobs *jobs)
{
    if (jobs) {
        m_jobs = jobs;
        m_ownJobs.reset();
    } else {
        if (!m_ownJobs && m_store)
            m_ownJobs = std::make_unique<CheckpointJobs>(*m_store);
        m_jobs = m_ownJobs.get();
    }
    updateButtons();
}

void CheckpointsPanel::setSession(const QString &sessionId)
{
    if (sessionId == m_session && !sessionId.isEmpty())
        return;
    m_session = sessionId;
    m_tree = CheckpointTree();
    ++m_treeGeneration;
    m_history->clear();
    m_compare->clear();
    m_diff->clear();
    m_status->clear();
    docks::showError(m_error, {});
    if (sessionId.isEmpty()) {
        m_feed->stopFollowing();
        m_title->setText(tr("No session selected"));
        setEmpty(tr("Select a session to see its checkpoints: snapshots of its workspace after each turn and each "
                    "tool call that changes files."));
    } else {
        m_title->setText(tr("Session %1").arg(sessionId));
        setEmpty(tr("Loading the history of %1…").arg(sessionId));
        m_feed->follow(sessionId, 1);
        reload();
    }
    updateButtons();
}

void CheckpointsPanel::setEmpty(const QString &text)
{
    m_empty->setText(text);
    m_stack->setCurrentWidget(m_empty);
}

void CheckpointsPanel::reload()
{
    if (m_session.isEmpty())
        return;
    if (!m_jobs) {
        setEmpty(tr("Checkpoints need the event store, which is not open."));
        return;
    }
    const quint64 generation = ++m_treeGeneration;
    watch(this, m_jobs->tree(m_session), [this, generation](const Result<CheckpointTree> &tree) {
        if (generation != m_treeGeneration)
            return; // a newer request (or another session) superseded it
        if (!tree) {
            setEmpty(tr("The history of %1 cannot be read: %2").arg(m_session, tree.error().message));
            Q_EMIT historyLoaded();
            return;
        }
        showTree(*tree);
        Q_EMIT historyLoaded();
    });
}

QString CheckpointsPanel::describe(int node) const
{
    return checkpoints::describe(m_tree, node, m_session);
}

void CheckpointsPanel::showTree(CheckpointTree tree)
{
    // Stay on the checkpoint the user picked, but follow the newest when that is where they were.
    const int oldLatest = m_tree.latest(m_session);
    const bool onLatest = oldLatest < 0 || m_tree.nodes.at(oldLatest).checkpoint.commit == selectedCommit();
    const QString keepCommit = onLatest ? QString() : selectedCommit();
    const QString keepSession = m_history->currentItem() && !onLatest ? m_history->currentItem()->data(0, SessionRole).toString()
                                                                      : QString();
    m_tree = std::move(tree);
    m_history->clear();
    if (m_tree.nodes.isEmpty()) {
        setEmpty(tr("Session %1 has no checkpoints yet. One is taken after each turn and each tool call that may "
                    "change files, or now with Checkpoint Now (the session needs a workspace folder).")
                     .arg(m_session));
        m_compare->clear();
        m_diff->clear();
        updateButtons();
        return;
    }
    m_stack->setCurrentIndex(0);
    QTreeWidgetItem *keep = checkpoints::fillHistory(m_history, m_tree, m_session, keepSession, keepCommit);
    fillCompare();

    QStringList notes;
    for (const FailureRecord &f : std::as_const(m_tree.failures))
        if (f.session == m_session)
            notes = QStringList{tr("A checkpoint failed at %1 (%2): %3").arg(docks::formatTime(f.time), f.cause, f.message)};
    if (m_tree.malformed)
        notes << tr("%1 checkpoint events could not be read.").arg(m_tree.malformed);
    if (!notes.isEmpty() && !m_busy)
        m_status->setText(notes.join(u' '));

    if (keep) {
        m_history->setCurrentItem(keep);
        m_history->scrollToItem(keep);
    }
    updateButtons();
}

void CheckpointsPanel::fillCompare()
{
    const QString keep = m_compare->currentData().toString();
    const QSignalBlocker block(m_compare);
    m_compare->clear();
    m_compare->addItem(tr("Its parent (what it changed)"), QString());
    for (int i = int(m_tree.nodes.size()) - 1; i >= 0; --i)
        m_compare->addItem(QStringLiteral("%1 · %2").arg(describe(i), docks::formatTime(m_tree.nodes.at(i).checkpoint.time)),
                           m_tree.nodes.at(i).checkpoint.commit);
    m_compare->setCurrentIndex(std::max(0, m_compare->findData(keep)));
}

int CheckpointsPanel::selectedNode() const
{
    const QTreeWidgetItem *item = m_history->currentItem();
    if (!item)
        return -1;
    const int node = item->data(0, NodeRole).toInt();
    return node >= 0 && node < m_tree.nodes.size() ? node : -1;
}

QString CheckpointsPanel::selectedCommit() const
{
    const QTreeWidgetItem *item = m_history->currentItem();
    return item ? item->data(0, CommitRole).toString() : QString();
}

bool CheckpointsPanel::selectCommit(const QString &commit)
{
    const QList<QTreeWidgetItem *> all = m_history->findItems(QString(), Qt::MatchContains | Qt::MatchRecursive);
    for (QTreeWidgetItem *item : all) {
        if (item->data(0, CommitRole).toString().startsWith(commit) && item->data(0, SessionRole).toString() == m_session) {
            m_history->setCurrentItem(item);
            return true;
        }
    }
    return false;
}

void CheckpointsPanel::loadDiff()
{
    const int node = selectedNode();
    const quint64 generation = ++m_diffGeneration;
    if (node < 0 || !m_jobs) {
        m_diff->setMessage(m_tree.nodes.isEmpty() ? QString() : tr("Select a checkpoint to see what it changed."));
        return;
    }
    const Checkpoint &c = m_tree.nodes.at(node).checkpoint;
    const QString from = m_compare->currentData().toString();
    if (from == c.commit) {
        m_diff->setMessage(tr("%1 is the checkpoint selected; pick another to compare with.").arg(c.shortId()));
        return;
    }
    m_diff->setMessage(tr("Loading the changes of %1…").arg(c.shortId()));
    watch(this, m_jobs->diff(c.session, c.commit, from), [this, generation](const Result<CheckpointDiff> &d) {
        if (generation != m_diffGeneration)
            return;
        if (!d) {
            m_diff->setMessage(tr("The diff cannot be shown: %1").arg(d.error().message));
            Q_EMIT diffLoaded();
            return;
        }
        const QString against = d->from.commit.isEmpty()
                                    ? tr("the empty workspace")
                                    : QStringLiteral("%1 (%2)").arg(d->from.shortId(), describeCause(d->from.cause, d->from.turn, d->from.toolCallId));
        QString summary = tr("%1 against %2: %3").arg(d->to.shortId(), against, d->files.size() == 1 ? tr("1 file") : tr("%1 files").arg(d->files.size()));
        summary += QStringLiteral(", +%1 −%2").arg(d->linesAdded).arg(d->linesRemoved);
        if (d->files.isEmpty())
            summary = tr("%1 against %2: no differences.").arg(d->to.shortId(), against);
        m_diff->setFiles(d->files, summary);
        Q_EMIT diffLoaded();
    });
}

void CheckpointsPanel::updateButtons()
{
    const bool ready = m_jobs && !m_session.isEmpty() && !m_busy;
    const bool selected = selectedNode() >= 0;
    m_checkpoint->setEnabled(ready);
    m_rewind->setEnabled(ready && selected);
    m_fork->setEnabled(ready && selected);
}

void CheckpointsPanel::startAction(const QString &what)
{
    m_busy = true;
    docks::showError(m_error, {});
    m_status->clear();
    m_progress->setRange(0, 0);
    m_progressText->setText(what);
    m_cancelButton->setEnabled(true);
    m_progressRow->show();
    updateButtons();
}

void CheckpointsPanel::endAction(bool ok, const QString &message)
{
    m_busy = false;
    m_cancel = nullptr;
    m_progressRow->hide();
    if (ok)
        m_status->setText(message);
    else
        docks::showError(m_error, message);
    updateButtons();
    reload();
    Q_EMIT actionFinished(ok, message);
}

// Progress from a job's future: a bar with a range when the job gives one, busy otherwise.
template<typename T>
static void followProgress(QFutureWatcher<Result<T>> *watcher, QProgressBar *bar, QLabel *text)
{
    QObject::connect(watcher, &QFutureWatcherBase::progressRangeChanged, bar, [bar](int min, int max) { bar->setRange(min, max); });
    QObject::connect(watcher, &QFutureWatcherBase::progressValueChanged, bar, &QProgressBar::setValue);
    QObject::connect(watcher, &QFutureWatcherBase::progressTextChanged, text, [text](const QString &t) {
        if (!t.isEmpty())
            text->setText(t);
    });
}

void CheckpointsPanel::checkpointNow()
{
    if (!m_jobs || m_session.isEmpty() || m_busy)
        return;
    startAction(tr("Taking a checkpoint of %1…").arg(m_session));
    const Job<CheckpointOutcome> job = m_jobs->create(CheckpointRequest(m_session, Cause::Manual));
    m_cancel = [job] { job.cancel(); };
    followProgress(watch(this, job, [this](const Result<CheckpointOutcome> &r) {
        if (!r)
            endAction(false, tr("No checkpoint was taken: %1").arg(r.error().message));
        else if (!r->created)
            endAction(true, tr("Nothing changed since checkpoint %1.").arg(r->checkpoint.commit.left(8)));
        else
            endAction(true, tr("Checkpoint %1 taken: %2.").arg(r->checkpoint.shortId(), changesText(r->checkpoint)));
    }), m_progress, m_progressText);
}

void CheckpointsPanel::rewindSelected()
{
    const int node = selectedNode();
    if (!m_jobs || node < 0 || m_busy)
        return;
    const Checkpoint target = m_tree.nodes.at(node).checkpoint;
    QMessageBox ask(QMessageBox::Question, tr("Rewind Workspace"),
                    tr("Rewind the workspace of %1 to checkpoint %2?").arg(m_session, describe(node)), QMessageBox::Cancel, this);
    ask.setObjectName(QStringLiteral("confirmRewindBox"));
    ask.setInformativeText(tr("Files are restored as they were at %1; files made since are removed. A safety checkpoint "
                              "of the current state is taken first, so this rewind can be undone by rewinding to it.")
                               .arg(docks::formatTime(target.time)));
    QPushButton *yes = ask.addButton(tr("Rewind"), QMessageBox::AcceptRole);
    yes->setObjectName(QStringLiteral("confirmRewind"));
    ask.setDefaultButton(QMessageBox::Cancel);
    ask.exec();
    if (ask.clickedButton() != yes)
        return;
    startAction(tr("Rewinding %1 to %2…").arg(m_session, target.shortId()));
    const Job<RewindOutcome> job = m_jobs->rewind(RewindRequest{m_session, target.commit});
    m_cancel = [job] { job.cancel(); };
    followProgress(watch(this, job, [this](const Result<RewindOutcome> &r) {
        if (!r) {
            endAction(false, tr("The rewind did not happen: %1").arg(r.error().message));
            return;
        }
        QString text = tr("Rewound to %1: %2 files restored, %3 removed. The state before is checkpoint %4; rewind to "
                          "it to undo.")
                           .arg(r->commit.left(8))
                           .arg(r->written)
                           .arg(r->removed)
                           .arg(r->safety.left(8));
        if (!r->protectedRemoved.isEmpty())
            text += u' ' + tr("Removed protected entries the session did not start with: %1.").arg(r->protectedRemoved.join(QStringLiteral(", ")));
        endAction(true, text);
    }), m_progress, m_progressText);
}

void CheckpointsPanel::forkSelected()
{
    const int node = selectedNode();
    if (!m_jobs || node < 0 || m_busy)
        return;
    const Checkpoint target = m_tree.nodes.at(node).checkpoint;
    const int latest = m_tree.latest(m_session);
    const QString workspace = latest >= 0 ? m_tree.nodes.at(latest).checkpoint.workspace : target.workspace;
    ForkDialog dialog(describe(node), workspace, this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    ForkRequest request;
    request.session = m_session;
    request.checkpoint = target.commit;
    request.folder = dialog.folder();
    request.title = dialog.title();
    startAction(dialog.inPlace() ? tr("Forking %1 at %2 in place…").arg(m_session, target.shortId())
                                 : tr("Forking %1 at %2 into %3…").arg(m_session, target.shortId(), request.folder));
    const Job<ForkOutcome> job = m_jobs->fork(request);
    m_cancel = [job] { job.cancel(); };
    followProgress(watch(this, job, [this](const Result<ForkOutcome> &r) {
        if (!r) {
            endAction(false, tr("The fork was not made: %1").arg(r.error().message));
            return;
        }
        QString message = tr("Forked as session %1 in %2.").arg(r->session, r->workspace);
        if (!r->safety.isEmpty())
            message += u' ' + tr("The folder's state before is checkpoint %1 of %2.").arg(r->safety.left(8), m_session);
        endAction(true, message);
        Q_EMIT sessionForked(r->session);
    }), m_progress, m_progressText);
}

} // namespace airlock::ui
