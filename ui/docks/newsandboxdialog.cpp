#include "newsandboxdialog.h"

#include "sandbox/sandboxmanager.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QToolButton>

namespace airlock::ui {

NewSandboxDialog::NewSandboxDialog(sandbox::SandboxManager *manager, const QList<policy::PolicyEntry> &policies, QWidget *parent)
    : QDialog(parent), m_manager(manager), m_policies(policies), m_policy(new QComboBox(this)), m_workspace(new QLineEdit(this)),
      m_keep(new QCheckBox(tr("&Keep it until I remove it (persistent)"), this)), m_error(new QLabel(this))
{
    setObjectName(QStringLiteral("newSandboxDialog"));
    setWindowTitle(tr("New Sandbox"));
    setMinimumWidth(560);
    m_policy->setObjectName(QStringLiteral("newSandboxPolicy"));
    m_policy->setAccessibleName(tr("Policy"));
    for (const policy::PolicyEntry &e : m_policies) {
        const QString backend = e.policy.runtime.backend == policy::Backend::Docker
                                    ? (e.policy.runtime.dockerRuntime == policy::DockerRuntime::Runsc ? tr("gVisor") : tr("Docker"))
                                    : tr("bubblewrap");
        m_policy->addItem(tr("%1 — %2").arg(e.name, backend));
        m_policy->setItemData(m_policy->count() - 1, e.policy.description, Qt::ToolTipRole);
    }
    const int standard = m_policy->findText(QStringLiteral("standard"), Qt::MatchStartsWith);
    m_policy->setCurrentIndex(standard >= 0 ? standard : 0);
    m_workspace->setObjectName(QStringLiteral("newSandboxWorkspace"));
    m_workspace->setAccessibleName(tr("Workspace folder"));
    m_workspace->setText(QDir::currentPath());
    m_workspace->setClearButtonEnabled(true);
    auto *browse = new QToolButton(this);
    browse->setText(tr("…"));
    browse->setToolTip(tr("Choose the folder"));
    browse->setAccessibleName(tr("Choose the workspace folder"));
    m_keep->setObjectName(QStringLiteral("newSandboxKeep"));
    m_keep->setChecked(true);
    m_keep->setToolTip(tr("Otherwise it is removed when Airlock closes"));
    m_error->setObjectName(QStringLiteral("newSandboxError"));
    m_error->setWordWrap(true);
    m_error->setTextFormat(Qt::PlainText);
    m_error->setForegroundRole(QPalette::BrightText);
    m_error->hide();

    auto *ws = new QHBoxLayout;
    ws->addWidget(m_workspace, 1);
    ws->addWidget(browse);
    auto *form = new QFormLayout;
    form->addRow(tr("&Policy:"), m_policy);
    // A label of its own: QFormLayout shows a mnemonic literally for a row that holds a layout.
    auto *folderLabel = new QLabel(tr("&Folder:"), this);
    folderLabel->setBuddy(m_workspace);
    form->addRow(folderLabel, ws);
    form->addRow(QString(), m_keep);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Cancel, this);
    QPushButton *createButton = buttons->addButton(tr("&Create"), QDialogButtonBox::AcceptRole);
    createButton->setObjectName(QStringLiteral("newSandboxCreate"));
    createButton->setDefault(true);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(m_error);
    layout->addWidget(buttons);
    connect(browse, &QToolButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Workspace folder"), m_workspace->text());
        if (!dir.isEmpty())
            m_workspace->setText(dir);
    });
    connect(buttons, &QDialogButtonBox::accepted, this, [this] {
        if (create())
            accept();
    });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
}

bool NewSandboxDialog::create()
{
    const int index = m_policy->currentIndex();
    const QString folder = QDir::cleanPath(m_workspace->text().trimmed());
    QString problem;
    if (!m_manager)
        problem = tr("No sandbox backend is available in this window.");
    else if (index < 0 || index >= m_policies.size())
        problem = tr("Choose a policy.");
    else if (folder.isEmpty() || !QDir::isAbsolutePath(folder) || !QDir(folder).exists())
        problem = tr("The folder %1 does not exist; choose an existing folder by its full path.").arg(folder);
    if (problem.isEmpty()) {
        sandbox::SandboxSpec spec;
        spec.policy = m_policies.at(index).policy;
        spec.policyName = m_policies.at(index).name;
        spec.workspace = folder;
        if (m_keep->isChecked())
            spec.lifecycle = policy::Lifecycle::Persistent;
        auto made = m_manager->create(spec);
        if (made) {
            m_created = (*made)->id();
            return true;
        }
        problem = made.error().message;
    }
    m_error->setText(problem);
    m_error->show();
    return false;
}

} // namespace airlock::ui
