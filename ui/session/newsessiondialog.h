#pragma once

#include "session/sessionrunner.h"

#include <QDialog>

class QComboBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;

namespace airlock::agent {
class AgentInstaller;
}

namespace airlock::ui {

// Agent, workspace and policy for a new session, and its first prompt. The demo agent comes first
// and, with no workspace chosen, gets a fresh copy of the bundled demo project.
class NewSessionDialog : public QDialog
{
    Q_OBJECT
public:
    NewSessionDialog(const QString &databasePath, QWidget *parent = nullptr);

    // The session to start; an error when a choice is missing or cannot be used.
    Result<session::SessionConfig> config() const;
    QString prompt() const;
    void selectAgent(const QString &name);

private:
    void updateAgentInfo();
    void installAgent();

    QString m_databasePath;
    QComboBox *m_agent;
    QLabel *m_agentInfo;
    QLineEdit *m_workspace;
    QComboBox *m_policy;
    QLineEdit *m_title;
    QPlainTextEdit *m_prompt;
    QLineEdit *m_modelEndpoint;  // empty: the vendor's API
    QLineEdit *m_modelCa;
    QWidget *m_modelRow = nullptr;
    QWidget *m_caRow = nullptr;
    QFormLayout *m_form = nullptr;
    QList<agent::AgentProfile> m_profiles;
    QPushButton *m_install = nullptr;               // shown for a preset Airlock installs, not yet installed
    agent::AgentInstaller *m_installer = nullptr;   // while an install runs
};

} // namespace airlock::ui
