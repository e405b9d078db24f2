#pragma once

#include <QDialog>
#include <QPointer>

class QLabel;
class QPushButton;
class QTreeWidget;

namespace airlock::session {
class SessionRunner;
}

namespace airlock::ui {

// The rules "always" answers made in a running session, each removable: a removed rule stops
// applying to the next request and is recorded in the session's events.
class SessionRulesDialog : public QDialog
{
    Q_OBJECT
public:
    explicit SessionRulesDialog(session::SessionRunner *runner, QWidget *parent = nullptr);

    QTreeWidget *list() const { return m_list; }
    void removeSelected();

private:
    void reload();

    QPointer<session::SessionRunner> m_runner;
    QTreeWidget *m_list;
    QPushButton *m_remove;
    QLabel *m_empty;
};

} // namespace airlock::ui
