#include "sandboxespanel.h"

#include "docktext.h"
#include "execconsole.h"
#include "newsandboxdialog.h"
#include "policy/presets.h"
#include "sandbox/sandboxmanager.h"
#include "sandboxesmodel.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QShortcut>
#include <QSplitter>
#include <QStackedWidget>
#include <QTableView>
#include <QVBoxLayout>

namespace airlock::ui {

SandboxesPanel::SandboxesPanel(sandbox::SandboxManager *manager, QWidget *parent)
    : QWidget(parent), m_manager(manager), m_model(new SandboxesModel(manager, this)), m_stack(new QStackedWidget(this)),
      m_view(new QTableView(this)), m_empty(docks::makeEmptyLabel(QStringLiteral("sandboxesEmpty"), this)),
      m_new(new QPushButton(tr("&New…"), this)), m_stop(new QPushButton(tr("&Stop"), this)), m_destroy(new QPushButton(tr("&Destroy…"), this)),
      m_consoleTitle(new QLabel(this)), m_console(new ExecConsole(manager, this)),
      m_error(docks::makeErrorLabel(QStringLiteral("sandboxesError"), this))
{
    setObjectName(QStringLiteral("sandboxesPanel"));
    setAccessibleName(tr("Sandboxes"));
    setAccessibleDescription(tr("Live sandboxes, bubblewrap or Docker, with their policy, lifecycle, limits and processes; "
                                "stop or destroy one, or run a command in it."));
    m_view->setObjectName(QStringLiteral("sandboxesView"));
    m_view->setAccessibleName(tr("Sandboxes"));
    m_view->setModel(m_model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->setAlternatingRowColors(true);
    m_view->setWordWrap(false);
    m_view->verticalHeader()->hide();
    m_view->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_view->horizontalHeader()->setSectionResizeMode(SandboxesModel::Name, QHeaderView::Stretch);
    m_view->horizontalHeader()->setStretchLastSection(false);
    m_view->setTabKeyNavigation(false);
    m_empty->setText(manager ? tr("No sandboxes are running. Sandboxes appear here when a session starts one, when "
                                  "New… below makes one, or when `airlockctl sandbox create` does.")
                             : tr("No sandbox backend is available in this window."));
    m_stack->addWidget(m_view);
    m_stack->addWidget(m_empty);

    m_new->setObjectName(QStringLiteral("sandboxNew"));
    m_new->setToolTip(tr("Start a sandbox from a policy, on the backend it names, to run commands in"));
    m_new->setEnabled(manager != nullptr);
    m_stop->setObjectName(QStringLiteral("sandboxStop"));
    m_stop->setToolTip(tr("End every process in the sandbox; its record stays until destroyed"));
    m_destroy->setObjectName(QStringLiteral("sandboxDestroy"));
    m_destroy->setToolTip(tr("Stop the sandbox and remove every trace of it on this host (Delete)"));
    m_consoleTitle->setObjectName(QStringLiteral("consoleTitle"));
    m_consoleTitle->setTextFormat(Qt::PlainText);

    auto *buttons = new QHBoxLayout;
    buttons->setContentsMargins(0, 0, 0, 0);
    buttons->addWidget(m_new);
    buttons->addWidget(m_stop);
    buttons->addWidget(m_destroy);
    buttons->addStretch(1);

    auto *top = new QWidget(this);
    auto *topLayout = new QVBoxLayout(top);
    topLayout->setContentsMargins(0, 0, 0, 0);
    topLayout->addWidget(m_stack, 1);
    topLayout->addLayout(buttons);
    topLayout->addWidget(m_error);
    auto *bottom = new QWidget(this);
    auto *bottomLayout = new QVBoxLayout(bottom);
    bottomLayout->setContentsMargins(0, 0, 0, 0);
    bottomLayout->addWidget(m_consoleTitle);
    bottomLayout->addWidget(m_console, 1);
    auto *split = new QSplitter(Qt::Vertical, this);
    split->setChildrenCollapsible(false);
    split->addWidget(top);
    split->addWidget(bottom);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(split);

    connect(m_new, &QPushButton::clicked, this, &SandboxesPanel::newSandbox);
    connect(m_stop, &QPushButton::clicked, this, &SandboxesPanel::stopSelected);
    connect(m_destroy, &QPushButton::clicked, this, &SandboxesPanel::destroySelected);
    auto *del = new QShortcut(QKeySequence::Delete, m_view, nullptr, nullptr, Qt::WidgetShortcut);
    connect(del, &QShortcut::activated, this, &SandboxesPanel::destroySelected);
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this, &SandboxesPanel::selectionChanged);
    // A selected row's state moves (running → stopped) without the selection changing.
    connect(m_model, &QAbstractItemModel::dataChanged, this, &SandboxesPanel::selectionChanged);
    connect(m_model, &QAbstractItemModel::rowsInserted, this, &SandboxesPanel::updateEmptyState);
    connect(m_model, &QAbstractItemModel::rowsRemoved, this, &SandboxesPanel::updateEmptyState);
    connect(m_model, &QAbstractItemModel::rowsRemoved, this, &SandboxesPanel::selectionChanged);
    connect(m_model, &QAbstractItemModel::rowsInserted, this, [this] {
        if (!m_view->selectionModel()->hasSelection() && m_model->rowCount() > 0)
            m_view->selectRow(0);
    });
    setFocusProxy(m_view);
    updateEmptyState();
    if (m_model->rowCount() > 0)
        m_view->selectRow(0);
    selectionChanged();
}

void SandboxesPanel::newSandbox()
{
    if (m_newDialog) {
        m_newDialog->raise();
        m_newDialog->activateWindow();
        return;
    }
    QList<policy::PolicyEntry> policies;
    if (m_policySource)
        policies = m_policySource();
    if (policies.isEmpty()) {
        for (const policy::Preset &preset : policy::presets()) {
            policy::PolicyEntry e;
            e.name = preset.id;
            e.builtIn = true;
            e.policy = preset.policy;
            policies << e;
        }
    }
    auto *dialog = new NewSandboxDialog(m_manager, policies, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    m_newDialog = dialog;
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        select(dialog->createdId());
        m_console->setFocus();
    });
    dialog->open();
}

QString SandboxesPanel::selectedId() const
{
    const QModelIndexList rows = m_view->selectionModel()->selectedRows();
    return rows.isEmpty() ? QString() : m_model->idAt(rows.first().row());
}

void SandboxesPanel::select(const QString &id)
{
    const int row = m_model->rowOf(id);
    if (row >= 0)
        m_view->selectRow(row);
}

void SandboxesPanel::updateEmptyState()
{
    m_stack->setCurrentWidget(m_model->rowCount() > 0 ? static_cast<QWidget *>(m_view) : m_empty);
}

void SandboxesPanel::selectionChanged()
{
    const QString id = selectedId();
    const sandbox::SandboxInfo *info = m_model->infoAt(m_model->rowOf(id));
    const bool running = info && info->state == sandbox::SandboxState::Running;
    const bool live = info && info->state != sandbox::SandboxState::Destroyed;
    m_stop->setEnabled(m_manager && (running || (info && info->state == sandbox::SandboxState::Starting)));
    m_destroy->setEnabled(m_manager && live);
    m_console->setSandbox(id, running);
    if (!info)
        m_consoleTitle->setText(tr("Console: select a sandbox"));
    else if (running)
        m_consoleTitle->setText(tr("Console in %1").arg(info->id));
    else
        m_consoleTitle->setText(tr("Console in %1 (not running: %2)").arg(info->id, sandbox::stateName(info->state)));
}

void SandboxesPanel::stopSelected()
{
    const QString id = selectedId();
    if (id.isEmpty() || !m_manager)
        return;
    docks::showError(m_error, {});
    if (Result<void> r = m_manager->stop(id); !r)
        docks::showError(m_error, tr("Could not stop %1: %2").arg(id, r.error().message));
}

void SandboxesPanel::destroySelected()
{
    const QString id = selectedId();
    if (id.isEmpty() || !m_manager || !m_destroy->isEnabled())
        return;
    QMessageBox ask(QMessageBox::Warning, tr("Destroy Sandbox"),
                    tr("Destroy sandbox %1?").arg(id), QMessageBox::Cancel, this);
    ask.setInformativeText(tr("Every process in it is ended and its host-side files are removed. "
                              "The workspace folder itself is not touched."));
    QPushButton *yes = ask.addButton(tr("Destroy"), QMessageBox::DestructiveRole);
    yes->setObjectName(QStringLiteral("confirmDestroy"));
    ask.setDefaultButton(QMessageBox::Cancel);
    ask.setObjectName(QStringLiteral("confirmDestroyBox"));
    ask.exec();
    if (ask.clickedButton() != yes)
        return;
    docks::showError(m_error, {});
    if (Result<void> r = m_manager->destroy(id); !r)
        docks::showError(m_error, tr("Could not destroy %1: %2").arg(id, r.error().message));
}

} // namespace airlock::ui
