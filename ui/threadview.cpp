#include "threadview.h"

#include "thread/threaddelegate.h"
#include "thread/threadmodel.h"

#include <QLabel>
#include <QListView>
#include <QScrollBar>
#include <QShortcut>
#include <QStackedWidget>
#include <QVBoxLayout>

namespace airlock::ui {

ThreadView::ThreadView(QWidget *parent)
    : QWidget(parent), m_stack(new QStackedWidget(this)), m_title(new QLabel(this)),
      m_subtitle(new QLabel(this)), m_list(new QListView(this)), m_model(new ThreadModel(this))
{
    auto *empty = new QLabel(tr("<h3>No session selected</h3>"
                                "<p>Pick a session in the Sessions list to follow its thread: messages, "
                                "tool calls and decisions appear here as they happen.</p>"),
                             this);
    empty->setAlignment(Qt::AlignCenter);
    empty->setWordWrap(true);
    empty->setObjectName(QStringLiteral("threadEmpty"));

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
    pageLayout->addWidget(m_list, 1);

    m_stack->addWidget(empty);
    m_stack->addWidget(page);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_stack);

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
    m_title->setText(s->title.isEmpty() ? s->id : s->title);
    m_subtitle->setText(tr("%1 · state %2 · policy %3 · %4 events")
                            .arg(s->id, s->state, s->policy.isEmpty() ? tr("none") : s->policy)
                            .arg(s->eventCount));
    m_stack->setCurrentIndex(1);
}

QString ThreadView::currentSession() const
{
    return m_model->session();
}

} // namespace airlock::ui
