#pragma once

#include "policy/policylibrary.h"

#include <QDialog>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;

namespace airlock::sandbox {
class SandboxManager;
}

namespace airlock::ui {

// The Sandboxes dock's New Sandbox: a policy (presets and saved policies), a workspace and whether it
// stays until removed. It is created on the backend its policy names, with the policy's network (the
// window's egress proxy serves it); a failure is shown here and nothing typed is lost.
class NewSandboxDialog : public QDialog
{
    Q_OBJECT
public:
    NewSandboxDialog(sandbox::SandboxManager *manager, const QList<policy::PolicyEntry> &policies, QWidget *parent = nullptr);

    QString createdId() const { return m_created; }

    // Creates it (what the Create button does); false with the reason shown in the dialog.
    bool create();

private:
    sandbox::SandboxManager *m_manager;
    QList<policy::PolicyEntry> m_policies;
    QComboBox *m_policy;
    QLineEdit *m_workspace;
    QCheckBox *m_keep;
    QLabel *m_error;
    QString m_created;
};

} // namespace airlock::ui
