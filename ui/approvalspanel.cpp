#include "approvalspanel.h"

#include "plaintext.h"
#include "session/requestedcall.h"
#include "store/eventstore.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QPushButton>
#include <QShortcut>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace airlock::ui {

namespace {
// Keys for the four ACP option kinds, so a queue of requests can be worked from the keyboard.
struct KindKey {
    const char *kind;
    const char *key;
};
constexpr KindKey kKeys[] = {{"allow_once", "A"}, {"allow_always", "Shift+A"}, {"reject_once", "D"}, {"reject_always", "Shift+D"}};

QString keyFor(const QString &kind)
{
    for (const auto &k : kKeys)
        if (kind == QLatin1String(k.kind))
            return QString::fromLatin1(k.key);
    return {};
}

// A button says what it does from the option's kind; the agent's name for it is only quoted. An
// agent can call an allow option "Deny".
QString buttonText(const QString &kind, const QString &name)
{
    QString action;
    if (kind == QLatin1String("allow_once"))
        action = ApprovalsPanel::tr("Allow");
    else if (kind == QLatin1String("allow_always"))
        action = ApprovalsPanel::tr("Always allow");
    else if (kind == QLatin1String("reject_once"))
        action = ApprovalsPanel::tr("Deny");
    else if (kind == QLatin1String("reject_always"))
        action = ApprovalsPanel::tr("Always deny");
    else
        action = ApprovalsPanel::tr("Unknown kind");
    const QString label = text::inertLine(name).left(40);
    return label.isEmpty() || label.compare(action, Qt::CaseInsensitive) == 0 ? action
                                                                               : QStringLiteral("%1 (“%2”)").arg(action, label);
}

// What the call runs first, then the agent's own input as it sent it, inert.
QString describe(const QJsonObject &call)
{
    QStringList lines = session::describeRequested(call);
    const QJsonValue input = call.value(QStringLiteral("rawInput"));
    if (input.isObject())
        lines << text::inertText(QString::fromUtf8(QJsonDocument(input.toObject()).toJson(QJsonDocument::Indented)).left(1500));
    return lines.join(u'\n');
}
} // namespace

ApprovalsPanel::ApprovalsPanel(store::EventStore *store, QWidget *parent)
    : QWidget(parent), m_store(store), m_list(new QTreeWidget(this)), m_detail(new QLabel(this)),
      m_status(new QLabel(this)), m_buttons(new QWidget(this)), m_buttonRow(new QHBoxLayout(m_buttons))
{
    m_list->setObjectName(QStringLiteral("approvalsList"));
    m_list->setAccessibleName(tr("Requests waiting for a decision"));
    m_list->setHeaderLabels({tr("Session"), tr("Tool call"), tr("Why it asks")});
    m_list->setRootIsDecorated(false);
    m_list->header()->setStretchLastSection(true);
    m_detail->setWordWrap(true);
    m_detail->setTextFormat(Qt::PlainText); // agent-controlled text is never rich text
    m_detail->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_detail->setObjectName(QStringLiteral("approvalDetail"));
    m_status->setWordWrap(true);
    m_status->setForegroundRole(QPalette::PlaceholderText);
    m_status->setTextFormat(Qt::PlainText);
    m_buttonRow->setContentsMargins(0, 0, 0, 0);

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_list, 2);
    layout->addWidget(m_detail, 1);
    layout->addWidget(m_buttons);
    layout->addWidget(m_status);

    connect(m_list, &QTreeWidget::currentItemChanged, this, &ApprovalsPanel::showSelected);
    connect(m_list, &QTreeWidget::itemActivated, this, [this] {
        if (const auto *row = selected())
            Q_EMIT showSession(row->session);
    });
    for (const auto &k : kKeys) {
        auto *shortcut = new QShortcut(QKeySequence(QString::fromLatin1(k.key)), this, nullptr, nullptr,
                                       Qt::WidgetWithChildrenShortcut);
        const QString kind = QString::fromLatin1(k.kind);
        connect(shortcut, &QShortcut::activated, this, [this, kind] { answerSelected(kind); });
    }
    setApprovals({});
}

const store::ApprovalRow *ApprovalsPanel::selected() const
{
    const QTreeWidgetItem *item = m_list->currentItem();
    const int i = item ? m_list->indexOfTopLevelItem(const_cast<QTreeWidgetItem *>(item)) : -1;
    return i >= 0 && i < m_rows.size() ? &m_rows.at(i) : nullptr;
}

void ApprovalsPanel::setApprovals(const QList<store::ApprovalRow> &open)
{
    const store::ApprovalRow *was = selected();
    const QString keepSession = was ? was->session : QString(), keepRequest = was ? was->request : QString();
    m_rows = open;
    const QSignalBlocker block(m_list);
    m_list->clear();
    QTreeWidgetItem *current = nullptr;
    for (const store::ApprovalRow &a : std::as_const(m_rows)) {
        auto *item = new QTreeWidgetItem(m_list, {a.sessionTitle.isEmpty() ? a.session : a.sessionTitle,
                                                  session::summariseRequested(a.toolCall),
                                                  a.explanation});
        item->setText(0, text::inertLine(item->text(0)));
        item->setToolTip(1, plainToolTip(describe(a.toolCall)));
        if (!a.answer.isEmpty())
            item->setForeground(1, palette().color(QPalette::PlaceholderText));
        if ((a.session == keepSession && a.request == keepRequest) || (!current && keepSession.isEmpty()))
            current = item;
    }
    if (!current && m_list->topLevelItemCount() > 0)
        current = m_list->topLevelItem(0); // the answered one left: go on with the next
    m_list->setCurrentItem(current);
    showSelected();
    Q_EMIT countChanged(int(m_rows.size()));
}

void ApprovalsPanel::showSelected()
{
    while (QLayoutItem *child = m_buttonRow->takeAt(0)) {
        delete child->widget();
        delete child;
    }
    const store::ApprovalRow *row = selected();
    if (!row) {
        m_detail->setText(m_rows.isEmpty() ? tr("Nothing is waiting for you.") : QString());
        m_status->clear();
        return;
    }
    m_detail->setText(describe(row->toolCall));
    if (!row->answer.isEmpty()) {
        m_status->setText(tr("Answered (%1); waiting for the session to act on it.").arg(text::inertLine(row->answer)));
        return;
    }
    m_status->setText(tr("Keys: A allow · Shift+A always allow · D deny · Shift+D always deny. Enter opens the session."));
    for (const QJsonValue &v : row->options) {
        const QJsonObject option = v.toObject();
        const QString kind = option.value(QStringLiteral("kind")).toString();
        const QString text = buttonText(kind, option.value(QStringLiteral("name")).toString());
        auto *button = new QPushButton(text, m_buttons);
        button->setObjectName(QStringLiteral("answer_") + kind);
        const QString key = keyFor(kind);
        button->setToolTip(key.isEmpty() ? QString() : tr("Key: %1").arg(key));
        button->setAccessibleName(text);
        connect(button, &QPushButton::clicked, this, [this, option] {
            if (const auto *r = selected())
                answer(*r, option);
        });
        m_buttonRow->addWidget(button);
    }
    m_buttonRow->addStretch(1);
}

bool ApprovalsPanel::answerSelected(const QString &optionKind)
{
    const store::ApprovalRow *row = selected();
    if (!row || !row->answer.isEmpty())
        return false;
    for (const QJsonValue &v : row->options) {
        if (v.toObject().value(QStringLiteral("kind")).toString() == optionKind)
            return answer(*row, v.toObject());
    }
    return false;
}

bool ApprovalsPanel::answer(const store::ApprovalRow &row, const QJsonObject &option)
{
    if (!m_store) {
        m_status->setText(tr("No database is open for writing."));
        return false;
    }
    const QString kind = option.value(QStringLiteral("kind")).toString();
    auto ticket = m_store->append(row.session, QLatin1String(store::kinds::ApprovalAnswered),
                                  {{QStringLiteral("request"), row.request},
                                   {QStringLiteral("optionId"), option.value(QStringLiteral("optionId"))},
                                   {QStringLiteral("decision"), kind.startsWith(QLatin1String("allow"))
                                                                    ? QStringLiteral("allow")
                                                                    : QStringLiteral("deny")},
                                   {QStringLiteral("by"), QStringLiteral("user")}});
    if (!ticket) {
        m_status->setText(ticket.error().message);
        return false;
    }
    m_status->setText(tr("Answered %1; waiting for the session.")
                          .arg(buttonText(kind, option.value(QStringLiteral("name")).toString())));
    return true;
}

} // namespace airlock::ui
