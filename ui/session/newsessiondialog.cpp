#include "newsessiondialog.h"

#include "policy/policylibrary.h"
#include "store/storereader.h"

#include <QComboBox>
#include <QDateTime>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileInfo>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QStandardPaths>

#include "agent/agentinstall.h"
#include "session/agentaccess.h"

namespace airlock::ui {

NewSessionDialog::NewSessionDialog(const QString &databasePath, QWidget *parent)
    : QDialog(parent), m_databasePath(databasePath), m_agent(new QComboBox(this)), m_agentInfo(new QLabel(this)),
      m_workspace(new QLineEdit(this)), m_policy(new QComboBox(this)), m_title(new QLineEdit(this)),
      m_prompt(new QPlainTextEdit(this)), m_modelEndpoint(new QLineEdit(this)), m_modelCa(new QLineEdit(this))
{
    setWindowTitle(tr("New Session"));
    setObjectName(QStringLiteral("newSessionDialog"));
    m_agent->setObjectName(QStringLiteral("agentChoice"));
    m_policy->setObjectName(QStringLiteral("policyChoice"));
    m_workspace->setObjectName(QStringLiteral("workspaceEdit"));
    m_prompt->setObjectName(QStringLiteral("firstPrompt"));
    m_agentInfo->setWordWrap(true);
    m_agentInfo->setForegroundRole(QPalette::PlaceholderText);

    if (auto catalogue = agent::AgentCatalogue::open(databasePath)) {
        if (auto list = catalogue->list())
            m_profiles = *list;
    }
    for (const auto &p : std::as_const(m_profiles))
        m_agent->addItem(p.title.isEmpty() ? p.name : p.title, p.name);
    if (auto reader = store::StoreReader::open(databasePath)) {
        if (auto policies = policy::listPolicies(*reader)) {
            for (const auto &e : *policies)
                m_policy->addItem(e.policy.name.isEmpty() ? e.name : e.policy.name, e.name);
        }
    }
    m_policy->setCurrentIndex(std::max(0, m_policy->findData(QStringLiteral("standard"))));
    m_workspace->setPlaceholderText(tr("a folder (the demo agent gets a copy of its demo project)"));
    auto *browse = new QPushButton(tr("&Browse…"), this);
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Workspace"), m_workspace->text());
        if (!dir.isEmpty())
            m_workspace->setText(dir);
    });
    auto *row = new QHBoxLayout;
    row->addWidget(m_workspace, 1);
    row->addWidget(browse);
    m_prompt->setPlaceholderText(tr("What should the agent do? (optional: you can prompt later)"));
    m_prompt->setTabChangesFocus(true);
    m_prompt->setMaximumHeight(110);

    m_install = new QPushButton(this);
    m_install->setObjectName(QStringLiteral("installAgent"));
    connect(m_install, &QPushButton::clicked, this, &NewSessionDialog::installAgent);
    // The agent's model API: the vendor's unless a gateway or test server was chosen for this agent
    // before; what is entered here is kept for its later sessions (airlockctl agents model shows it).
    m_modelEndpoint->setObjectName(QStringLiteral("modelEndpoint"));
    m_modelCa->setObjectName(QStringLiteral("modelCa"));
    m_modelCa->setPlaceholderText(tr("the system's CAs (a PEM file adds more for this endpoint)"));
    auto *browseCa = new QPushButton(tr("Br&owse…"), this);
    connect(browseCa, &QPushButton::clicked, this, [this] {
        const QString file = QFileDialog::getOpenFileName(this, tr("CA Bundle for the Model API"), m_modelCa->text(),
                                                          tr("PEM files (*.pem *.crt);;All files (*)"));
        if (!file.isEmpty())
            m_modelCa->setText(file);
    });
    m_modelRow = new QWidget(this);
    auto *modelRow = new QHBoxLayout(m_modelRow);
    modelRow->setContentsMargins(0, 0, 0, 0);
    modelRow->addWidget(m_modelEndpoint, 1);
    m_caRow = new QWidget(this);
    auto *caRow = new QHBoxLayout(m_caRow);
    caRow->setContentsMargins(0, 0, 0, 0);
    caRow->addWidget(m_modelCa, 1);
    caRow->addWidget(browseCa);

    m_form = new QFormLayout;
    QFormLayout *form = m_form;
    form->addRow(tr("&Agent"), m_agent);
    form->addRow(QString(), m_agentInfo);
    form->addRow(QString(), m_install);
    auto *modelLabel = new QLabel(tr("&Model API"), this);
    modelLabel->setBuddy(m_modelEndpoint);
    form->addRow(modelLabel, m_modelRow);
    auto *caLabel = new QLabel(tr("CA &bundle"), this);
    caLabel->setBuddy(m_modelCa);
    form->addRow(caLabel, m_caRow);
    auto *workspaceLabel = new QLabel(tr("&Workspace"), this);
    workspaceLabel->setBuddy(m_workspace); // a row of two widgets has no buddy of its own
    form->addRow(workspaceLabel, row);
    form->addRow(tr("&Policy"), m_policy);
    form->addRow(tr("&Title"), m_title);
    form->addRow(tr("First p&rompt"), m_prompt);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("&Start"));
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(buttons);
    connect(m_agent, &QComboBox::currentIndexChanged, this, &NewSessionDialog::updateAgentInfo);
    updateAgentInfo();
    setMinimumWidth(560);
}

void NewSessionDialog::selectAgent(const QString &name)
{
    m_agent->setCurrentIndex(std::max(0, m_agent->findData(name)));
    // The demo knows one task; offering it makes the first run one click.
    if (name == QLatin1String("demo") && m_prompt->toPlainText().trimmed().isEmpty())
        m_prompt->setPlainText(tr("Fix the failing test"));
}

void NewSessionDialog::updateAgentInfo()
{
    const int i = m_agent->currentIndex();
    if (i < 0 || i >= m_profiles.size())
        return;
    const agent::AgentProfile &p = m_profiles.at(i);
    const agent::Availability a = agent::checkAvailability(p);
    QString info = a.available ? tr("%1 — runs %2").arg(p.description, a.program)
                               : tr("Not ready: %1. %2").arg(a.detail, a.installHint);
    // An adapter Airlock installs itself: one click, with npm's progress shown here.
    m_install->setVisible(p.package.isSet() && agent::installedProgram(p.package).isEmpty());
    m_install->setEnabled(!m_installer);
    m_install->setText(tr("&Install %1 %2").arg(p.title.isEmpty() ? p.name : p.title, p.package.version));
    if (const QString warning = agent::placementWarning(p); !warning.isEmpty())
        info += QStringLiteral("\n⚠ ") + warning;
    m_agentInfo->setText(info);
    if (!p.defaultPolicy.isEmpty())
        m_policy->setCurrentIndex(std::max(0, m_policy->findData(p.defaultPolicy)));
    const bool hasModel = p.model.isSet();
    m_form->setRowVisible(m_modelRow, hasModel);
    m_form->setRowVisible(m_caRow, hasModel);
    if (hasModel) {
        const auto remembered = session::rememberedModel(m_databasePath, p.name);
        m_modelEndpoint->setPlaceholderText(tr("%1 (the vendor's)").arg(p.model.endpoint));
        m_modelEndpoint->setText(remembered ? remembered->endpoint : QString());
        m_modelCa->setText(remembered ? remembered->caFile : QString());
        m_modelEndpoint->setToolTip(tr("Where %1 sends its model requests, through Airlock's proxy, which adds the key "
                                       "(secret %2). Kept for this agent's later sessions.")
                                        .arg(p.title.isEmpty() ? p.name : p.title, p.model.secret));
    }
}

void NewSessionDialog::installAgent()
{
    const int i = m_agent->currentIndex();
    if (i < 0 || i >= m_profiles.size() || m_installer)
        return;
    const agent::AgentProfile profile = m_profiles.at(i);
    m_installer = new agent::AgentInstaller(this);
    m_install->setEnabled(false);
    connect(m_installer, &agent::AgentInstaller::progress, this, [this](const QString &line) {
        m_agentInfo->setText(tr("Installing… %1").arg(line.left(200)));
    });
    auto finish = [this] {
        m_installer->deleteLater();
        m_installer = nullptr;
    };
    connect(m_installer, &agent::AgentInstaller::installed, this, [this, finish] {
        finish();
        updateAgentInfo();
    });
    connect(m_installer, &agent::AgentInstaller::failed, this, [this, finish](const Error &e) {
        finish();
        updateAgentInfo();
        m_agentInfo->setText(tr("The install failed: %1").arg(e.message));
    });
    m_installer->install(profile);
}

QString NewSessionDialog::prompt() const
{
    return m_prompt->toPlainText().trimmed();
}

Result<session::SessionConfig> NewSessionDialog::config() const
{
    const int i = m_agent->currentIndex();
    if (i < 0 || i >= m_profiles.size())
        return fail(ErrorCode::InvalidArgument, tr("choose an agent"));
    session::SessionConfig c;
    c.agent = m_profiles.at(i);
    c.policyName = m_policy->currentData().toString();
    auto reader = store::StoreReader::open(m_databasePath);
    if (!reader)
        return std::unexpected(reader.error());
    auto entry = policy::findPolicy(*reader, c.policyName);
    if (!entry)
        return std::unexpected(entry.error());
    c.policy = entry->policy;
    // As `airlockctl run` does: the adapter's install mounted, the model reached through the proxy.
    session::ModelChoice model;
    if (c.agent.model.isSet()) {
        model = {m_modelEndpoint->text().trimmed(), m_modelCa->text().trimmed()};
        if (!model.caFile.isEmpty())
            model.caFile = QFileInfo(model.caFile).absoluteFilePath();
        // Kept for the agent's next sessions, as `airlockctl agents model` would (checked there too).
        const auto before = session::rememberedModel(m_databasePath, c.agent.name);
        if (!before || before->endpoint != model.endpoint || before->caFile != model.caFile) {
            if (auto kept = session::rememberModel(m_databasePath, c.agent.name, model); !kept)
                return std::unexpected(kept.error());
        }
        c.modelEndpoint = model.endpoint;
        c.upstreamCaFile = model.caFile;
    }
    auto access = session::fitPolicyToAgent(c.agent, model, c.policy);
    if (!access)
        return std::unexpected(access.error());
    c.agent.command = access->program;
    c.agentEnv = access->env;
    c.setupNotes = access->notes;
    QString workspace = m_workspace->text().trimmed();
    if (workspace.isEmpty() && c.agent.name == QLatin1String("demo")) {
        const QString target = QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation)
            + QStringLiteral("/airlock/workspaces/demo-") + QString::number(QDateTime::currentMSecsSinceEpoch());
        auto copied = agent::copyDemoWorkspace(target);
        if (!copied)
            return std::unexpected(copied.error());
        workspace = *copied;
    }
    if (workspace.isEmpty() || !QDir(workspace).exists())
        return fail(ErrorCode::InvalidArgument, tr("choose an existing workspace folder"));
    c.workspace = QDir(workspace).absolutePath();
    c.title = m_title->text().trimmed().isEmpty() ? (prompt().isEmpty() ? QFileInfo(c.workspace).fileName() : prompt().left(60))
                                                  : m_title->text().trimmed();
    return c;
}

} // namespace airlock::ui
