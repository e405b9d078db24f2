#pragma once

#include <QDialog>

class QDialogButtonBox;
class QLineEdit;
class QPushButton;
class QRadioButton;

namespace airlock::ui {

// Where a fork's workspace goes: a new folder (chosen here; it must be new or empty) or the
// session's own folder, rewound in place after a safety checkpoint.
class ForkDialog : public QDialog
{
    Q_OBJECT
public:
    ForkDialog(const QString &checkpointText, const QString &workspace, QWidget *parent = nullptr);

    bool inPlace() const;
    QString folder() const; // empty when in place
    QString title() const;  // empty: the core's default, "<title> (fork)"

    QLineEdit *folderEdit() const { return m_folder; }
    QRadioButton *newFolderButton() const { return m_newFolder; }
    QRadioButton *inPlaceButton() const { return m_inPlace; }

private:
    void browse();
    void updateOk();

    QRadioButton *m_newFolder;
    QRadioButton *m_inPlace;
    QLineEdit *m_folder;
    QPushButton *m_browse;
    QLineEdit *m_title;
    QDialogButtonBox *m_buttons;
};

} // namespace airlock::ui
