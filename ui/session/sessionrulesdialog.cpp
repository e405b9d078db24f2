#include "sessionrulesdialog.h"

#include "session/sessionrunner.h"
#include "session/toolrouter.h"

#include <QDialogButtonBox>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace airlock::ui {

SessionRulesDialog::SessionRulesDialog(session::SessionRunner *runner, QWidget *parent)
    : QDialog(parent), m_runner(runner), m_list(new QTreeWidget(this)), m_remove(new QPushButton(tr("&Remove"), this)),
      m_empty(new QLabel(tr("No rules yet: an \"Always allow\" or \"Always deny\" answer adds one here."), this))
{
    setObjectName(QStringLiteral("sessionRulesDialog"));
    setWindowTitle(tr("Session Rules"));
    m_list->setObjectName(QStringLiteral("sessionRules"));
    m_list->setHeaderLabels({tr("Decision"), tr("Tool kind"), tr("Applies to")});
    m_list->setRootIsDecorated(false);
    m_list->header()->setStretchLastSection(true);
    m_remove->setObjectName(QStringLiteral("removeSessionRule"));
    m_remove->setShortcut(QKeySequence::Delete);
    m_empty->setWordWrap(true);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    buttons->addButton(m_remove, QDialogButtonBox::ActionRole);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_remove, &QPushButton::clicked, this, &SessionRulesDialog::removeSelected);
    connect(m_list, &QTreeWidget::currentItemChanged, this, [this] { m_remove->setEnabled(m_list->currentItem()); });
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(tr("These answers apply for the rest of the session, before the policy's own rules."), this));
    layout->addWidget(m_list, 1);
    layout->addWidget(m_empty);
    layout->addWidget(buttons);
    resize(560, 300);
    reload();
}

void SessionRulesDialog::reload()
{
    m_list->clear();
    const QList<policy::ApprovalRule> rules = m_runner ? m_runner->sessionRules() : QList<policy::ApprovalRule>{};
    for (const policy::ApprovalRule &rule : rules) {
        const QJsonObject d = session::ToolRouter::describeRule(rule);
        QString scope = d.value(QStringLiteral("command")).toString();
        if (scope.isEmpty())
            scope = d.value(QStringLiteral("domain")).toString();
        if (scope.isEmpty())
            scope = d.value(QStringLiteral("path")).toString();
        m_list->addTopLevelItem(new QTreeWidgetItem(
            {d.value(QStringLiteral("decision")).toString(), d.value(QStringLiteral("kind")).toString(),
             scope.isEmpty() ? tr("every call of this kind") : scope}));
    }
    if (m_list->topLevelItemCount() > 0)
        m_list->setCurrentItem(m_list->topLevelItem(0));
    m_empty->setVisible(rules.isEmpty());
    m_remove->setEnabled(!rules.isEmpty());
}

void SessionRulesDialog::removeSelected()
{
    const int row = m_list->indexOfTopLevelItem(m_list->currentItem());
    if (m_runner && row >= 0)
        m_runner->removeSessionRule(row);
    reload();
}

} // namespace airlock::ui
