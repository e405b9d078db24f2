#pragma once

#include <QDialog>

class QCheckBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableWidget;

namespace airlock::ui {

// The credentials the egress proxy adds for agents (File › Secrets…): listed by name and place, never
// shown; set from a field that does not echo, removed with a question. Says where values are kept:
// the keychain, or a private file where no keychain runs or the user asks for one; a locked keychain
// is said with what to do.
class SecretsDialog : public QDialog
{
    Q_OBJECT
public:
    explicit SecretsDialog(QWidget *parent = nullptr);

private:
    void reload();
    void store();
    void removeSelected();

    QLabel *m_where;
    QTableWidget *m_table;
    QLineEdit *m_name;
    QLineEdit *m_value;
    QCheckBox *m_toFile;
    QPushButton *m_set;
    QPushButton *m_remove;
};

} // namespace airlock::ui
