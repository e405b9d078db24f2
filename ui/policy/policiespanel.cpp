#include "policiespanel.h"

#include "policy/policylibrary.h"
#include "policyeditor.h"
#include "store/storereader.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>

namespace airlock::ui {

PoliciesPanel::PoliciesPanel(const QString &databasePath, store::EventStore *store, QWidget *parent)
    : QWidget(parent), m_databasePath(databasePath), m_store(store), m_list(new QListWidget(this)),
      m_error(new QLabel(this))
{
    m_list->setObjectName(QStringLiteral("policiesList"));
    m_list->setAccessibleName(tr("Policies"));
    m_error->setWordWrap(true);
    m_error->hide();
    auto *editButton = new QPushButton(tr("&Edit…"), this);
    editButton->setObjectName(QStringLiteral("editPolicy"));
    auto *row = new QHBoxLayout;
    row->addStretch(1);
    row->addWidget(editButton);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_list, 1);
    layout->addWidget(m_error);
    layout->addLayout(row);
    auto open = [this] {
        if (QListWidgetItem *item = m_list->currentItem())
            edit(item->data(Qt::UserRole).toString());
    };
    connect(editButton, &QPushButton::clicked, this, open);
    connect(m_list, &QListWidget::itemActivated, this, open);
    reload();
}

void PoliciesPanel::reload()
{
    auto reader = store::StoreReader::open(m_databasePath);
    auto entries = reader ? policy::listPolicies(*reader) : std::unexpected(reader.error());
    if (!entries) {
        m_error->setText(entries.error().message);
        m_error->show();
        return;
    }
    m_error->hide();
    const QString current = m_list->currentItem() ? m_list->currentItem()->data(Qt::UserRole).toString() : QString();
    m_list->clear();
    for (const auto &e : *entries) {
        const QString version = e.builtIn ? tr("built-in") : tr("version %1").arg(e.version);
        auto *item = new QListWidgetItem(QStringLiteral("%1\n%2 · %3 · network %4")
                                             .arg(e.policy.name.isEmpty() ? e.name : e.policy.name, e.name, version,
                                                  policy::nameOf(e.policy.network.mode)),
                                         m_list);
        item->setData(Qt::UserRole, e.name);
        item->setToolTip(e.policy.description);
        if (e.name == current)
            m_list->setCurrentItem(item);
    }
    if (!m_list->currentItem() && m_list->count() > 0)
        m_list->setCurrentRow(0);
}

PolicyEditor *PoliciesPanel::edit(const QString &name)
{
    QPointer<PolicyEditor> &editor = m_editors[name];
    if (!editor) {
        editor = new PolicyEditor(m_databasePath, m_store, window());
        editor->setWindowFlag(Qt::Window);
        editor->setAttribute(Qt::WA_DeleteOnClose);
        if (auto r = editor->openPolicy(name); !r) {
            m_error->setText(r.error().message);
            m_error->show();
            editor->deleteLater();
            return nullptr;
        }
        connect(editor, &PolicyEditor::saved, this, &PoliciesPanel::reload);
    }
    editor->show();
    editor->raise();
    editor->activateWindow();
    return editor;
}

} // namespace airlock::ui
