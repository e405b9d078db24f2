#pragma once

#include "newsandboxdialog.h"
#include "policy/policylibrary.h"

#include <QPointer>
#include <QWidget>

class QLabel;
class QPushButton;
class QStackedWidget;
class QTableView;

namespace airlock::sandbox {
class SandboxManager;
}

namespace airlock::ui {

class ExecConsole;
class SandboxesModel;

// The Sandboxes dock: every live sandbox of every backend (a table over SandboxManager that follows
// its signals), Stop and Destroy for the selected one (Delete destroys, after asking), and a small
// console that runs commands in it.
class SandboxesPanel : public QWidget
{
    Q_OBJECT
public:
    explicit SandboxesPanel(sandbox::SandboxManager *manager, QWidget *parent = nullptr);

    SandboxesModel *model() const { return m_model; }
    QTableView *view() const { return m_view; }
    ExecConsole *console() const { return m_console; }
    QString selectedId() const;
    void select(const QString &id);
    // Where New Sandbox finds policies (presets and saved ones); without it, the presets.
    void setPolicySource(std::function<QList<policy::PolicyEntry>()> source) { m_policySource = std::move(source); }
    // The New Sandbox dialog while it is open.
    NewSandboxDialog *newSandboxDialog() const { return m_newDialog; }

public Q_SLOTS:
    // Opens New Sandbox; the sandbox it makes is selected, ready for the console.
    void newSandbox();
    void stopSelected();
    // Asks first; the sandbox's files and processes are gone for good afterwards.
    void destroySelected();

private:
    void selectionChanged();
    void updateEmptyState();

    QPointer<sandbox::SandboxManager> m_manager;
    SandboxesModel *m_model;
    QStackedWidget *m_stack;
    QTableView *m_view;
    QLabel *m_empty;
    QPushButton *m_new;
    QPushButton *m_stop;
    QPushButton *m_destroy;
    QLabel *m_consoleTitle;
    ExecConsole *m_console;
    QLabel *m_error;
    std::function<QList<policy::PolicyEntry>()> m_policySource;
    QPointer<NewSandboxDialog> m_newDialog;
};

} // namespace airlock::ui
