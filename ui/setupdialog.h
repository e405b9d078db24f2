#pragma once

#include "setup/setupcheck.h"

#include <QDialog>
#include <QPointer>

class QLabel;
class QPushButton;
class QTreeWidget;

namespace airlock::ui {

// Help ▸ Check Setup: what this machine can run (bubblewrap, Docker, gVisor), the keychain and the
// store, each with its state and what to do about it — the checks of `airlockctl doctor`.
class SetupDialog : public QDialog
{
    Q_OBJECT
public:
    explicit SetupDialog(const QString &databasePath, QWidget *parent = nullptr);

    // Runs the checks again (the dialog starts them when it opens).
    void recheck();
    QTreeWidget *table() const { return m_table; }
    bool isChecking() const { return m_checker != nullptr; }

Q_SIGNALS:
    void checked(const QList<airlock::setup::Check> &checks);

private:
    void showChecks(const QList<setup::Check> &checks);

    QString m_databasePath;
    QTreeWidget *m_table;
    QLabel *m_summary;
    QPushButton *m_again;
    QPointer<setup::SetupChecker> m_checker;
};

} // namespace airlock::ui
