#include "threadview.h"

#include "thread/threaddelegate.h"
#include "thread/threadmodel.h"
#include "text/inerttext.h"

#include <QLabel>
#include <QHBoxLayout>
#include <QListView>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollBar>
#include <QShortcut>
#include <QStackedWidget>
#include <QVBoxLayout>

namespace airlock::ui {

ThreadView::ThreadView(QWidget *parent)
    : QWidget(parent), m_stack(new QStackedWidget(this)), m_title(new QLabel(this)),
      m_subtitle(new QLabel(this)), m_list(new QListView(this)), m_model(new ThreadModel(this)),
      m_prompt(new QPlainTextEdit(this)), m_send(new QPushButton(tr("&Send"), this)),
      m_cancel(new QPushButton(tr("&Cancel Turn"), this)), m_hint(new QLabel(this)),
      m_earlier(new QPushButton(tr("Show &earlier events"), this))
{
    auto *empty = new QLabel(tr("<h3>No session selected</h3>"
                                "<p>Pick a session in the Sessions list to follow its thread: messages, "
                                "tool calls and decisions appear here as they happen.</p>"),
                             this);
    empty->setAlignment(Qt::AlignCenter);
    empty->setWordWrap(true);
    empty->setObjectName(QStringLiteral("threadEmpty"));
    auto *demo = new QPushButton(tr("Try the &demo agent"), this);
    demo->setObjectName(QStringLiteral("tryDemo"));
    demo->setToolTip(tr("A scripted agent fixes a failing test in a copy of a small project, inside a sandbox, "
                        "asking you before it edits."));
    connect(demo, &QPushButton::clicked, this, &ThreadView::demoRequested);
    auto *emptyPage = new QWidget(this);
    auto *emptyLayout = new QVBoxLayout(emptyPage);
    emptyLayout->addStretch(1);
    emptyLayout->addWidget(empty);
    emptyLayout->addWidget(demo, 0, Qt::AlignHCenter);
    emptyLayout->addStretch(1);

    auto *page = new QWidget(this);
    auto *pageLayout = new QVBoxLayout(page);
    QFont f = m_title->font();
    f.setPointSizeF(f.pointSizeF() * 1.3);
    f.setBold(true);
    m_title->setFont(f);
    m_title->setObjectName(QStringLiteral("threadTitle"));
    m_subtitle->setForegroundRole(QPalette::PlaceholderText);
    m_subtitle->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_list->setModel(m_model);
    m_list->setObjectName(QStringLiteral("threadEvents"));
    m_list->setAccessibleName(tr("Session events"));
    m_list->setItemDelegate(new ThreadDelegate(m_list));
    // Rows differ in height; batched layout and cached size hints keep 100,000-item threads smooth.
    m_list->setLayoutMode(QListView::Batched);
    m_list->setBatchSize(200);
    m_list->setVerticalScrollMode(QAbstractItemView::ScrollPerPixel);
    m_list->setResizeMode(QListView::Adjust);
    m_list->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_list->setSelectionMode(QAbstractItemView::SingleSelection);
    // Click or Enter folds and unfolds an item's detail.
    auto toggle = [this](const QModelIndex &index) {
        m_model->setData(index, !index.data(ThreadModel::ExpandedRole).toBool(), ThreadModel::ExpandedRole);
    };
    connect(m_list, &QListView::clicked, this, toggle);
    for (QKeySequence key : {QKeySequence(Qt::Key_Return), QKeySequence(Qt::Key_Enter), QKeySequence(Qt::Key_Space)}) {
        auto *shortcut = new QShortcut(key, m_list, nullptr, nullptr, Qt::WidgetShortcut);
        connect(shortcut, &QShortcut::activated, this, [this, toggle] {
            if (m_list->currentIndex().isValid())
                toggle(m_list->currentIndex());
        });
    }
    pageLayout->addWidget(m_title);
    pageLayout->addWidget(m_subtitle);
    m_earlier->setObjectName(QStringLiteral("showEarlier"));
    m_earlier->setFlat(true);
    m_earlier->hide();
    connect(m_earlier, &QPushButton::clicked, this, [this] { loadEarlier(); });
    pageLayout->addWidget(m_earlier, 0, Qt::AlignHCenter);
    pageLayout->addWidget(m_list, 1);
    m_prompt->setObjectName(QStringLiteral("promptBox"));
    m_prompt->setAccessibleName(tr("Prompt"));
    m_prompt->setPlaceholderText(tr("Ask the agent… (Ctrl+Enter sends)"));
    m_prompt->setMaximumHeight(80);
    m_prompt->setTabChangesFocus(true);
    m_send->setObjectName(QStringLiteral("sendPrompt"));
    m_cancel->setObjectName(QStringLiteral("cancelTurn"));
    m_hint->setForegroundRole(QPalette::PlaceholderText);
    m_hint->setObjectName(QStringLiteral("promptHint"));
    auto *buttons = new QVBoxLayout;
    buttons->addWidget(m_send);
    buttons->addWidget(m_cancel);
    buttons->addStretch(1);
    auto *promptRow = new QHBoxLayout;
    promptRow->addWidget(m_prompt, 1);
    promptRow->addLayout(buttons);
    pageLayout->addLayout(promptRow);
    pageLayout->addWidget(m_hint);
    auto send = [this] {
        const QString text = m_prompt->toPlainText().trimmed();
        if (text.isEmpty() || !m_send->isEnabled())
            return;
        m_prompt->clear();
        Q_EMIT promptSubmitted(text);
    };
    connect(m_send, &QPushButton::clicked, this, send);
    for (auto key : {QKeySequence(Qt::CTRL | Qt::Key_Return), QKeySequence(Qt::CTRL | Qt::Key_Enter)}) {
        auto *shortcut = new QShortcut(key, m_prompt, nullptr, nullptr, Qt::WidgetShortcut);
        connect(shortcut, &QShortcut::activated, this, send);
    }
    connect(m_cancel, &QPushButton::clicked, this, &ThreadView::cancelRequested);
    setControls(false, false, {});

    m_stack->addWidget(emptyPage);
    m_stack->addWidget(page);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_stack);

    connect(m_model, &QAbstractItemModel::modelReset, this, &ThreadView::updateEarlier);
    connect(m_model, &QAbstractItemModel::rowsInserted, this, &ThreadView::updateEarlier);
    // Keep the newest event in view while the user is at the bottom; leave them alone otherwise.
    connect(m_model, &QAbstractItemModel::rowsInserted, this, [this] {
        if (m_list->verticalScrollBar()->value() >= m_list->verticalScrollBar()->maximum() - 2)
            m_list->scrollToBottom();
    });
}

void ThreadView::showSession(const store::SessionRow *s)
{
    if (!s) {
        m_model->setSession({});
        m_stack->setCurrentIndex(0);
        return;
    }
    if (s->id != m_model->session())
        m_model->setSession(s->id);
    m_sessionFirstSeq = s->firstSeq;
    updateEarlier();
    m_title->setTextFormat(Qt::PlainText); // the agent can set the title: never rich text
    m_title->setText(text::inertLine(s->title.isEmpty() ? s->id : s->title));
    QString subtitle = tr("%1 · state %2 · policy %3 · %4 events")
                           .arg(s->id, s->state, s->policy.isEmpty() ? tr("none") : s->policy)
                           .arg(s->eventCount);
    if (const QString silence = m_model->silence(); !silence.isEmpty() && s->state == QLatin1String("running"))
        subtitle += QStringLiteral(" · ") + silence.toLower();
    m_subtitle->setText(subtitle);
    m_stack->setCurrentIndex(1);
}

void ThreadView::updateEarlier()
{
    const bool more = m_loader && m_model->firstSeq() > 0 && m_model->firstSeq() > m_sessionFirstSeq;
    m_earlier->setVisible(more);
}

bool ThreadView::loadEarlier(int count)
{
    const qint64 first = m_model->firstSeq();
    if (!m_loader || first <= 0 || m_model->session().isEmpty())
        return false;
    // Folding is in order (a tool call before its updates), so the earlier page and what is shown
    // are folded again together: one reset, then the view is put back on the rows it showed.
    store::EventQuery older;
    older.session = m_model->session();
    older.beforeSeq = first;
    older.newest = true;
    older.limit = count;
    QList<store::Event> events = m_loader(older);
    if (events.isEmpty()) {
        m_sessionFirstSeq = first;
        updateEarlier();
        return false;
    }
    store::EventQuery shown;
    shown.session = m_model->session();
    shown.afterSeq = first - 1;
    shown.beforeSeq = m_model->lastSeq() + 1;
    shown.limit = int(std::min<qint64>(m_model->lastSeq() - first + 1, 10000000));
    const int rowsBefore = m_model->rowCount();
    events += m_loader(shown);
    const QString session = m_model->session();
    m_model->setSession(session);
    m_model->setHistory(session, events);
    m_list->scrollTo(m_model->index(std::max(0, m_model->rowCount() - rowsBefore), 0), QAbstractItemView::PositionAtTop);
    updateEarlier();
    return true;
}

void ThreadView::setControls(bool canPrompt, bool canCancel, const QString &hint)
{
    m_prompt->setEnabled(canPrompt);
    m_send->setEnabled(canPrompt);
    m_cancel->setEnabled(canCancel);
    m_hint->setText(hint);
}

QString ThreadView::currentSession() const
{
    return m_model->session();
}

} // namespace airlock::ui
