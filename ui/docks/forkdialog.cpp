#include "forkdialog.h"

#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QVBoxLayout>

namespace airlock::ui {

ForkDialog::ForkDialog(const QString &checkpointText, const QString &workspace, QWidget *parent)
    : QDialog(parent), m_newFolder(new QRadioButton(tr("Restore into a &new folder:"), this)),
      m_inPlace(new QRadioButton(tr("Restore &in place, in %1").arg(workspace.isEmpty() ? tr("the session's folder") : workspace), this)),
      m_folder(new QLineEdit(this)), m_browse(new QPushButton(tr("&Browse…"), this)), m_title(new QLineEdit(this)),
      m_buttons(new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this))
{
    setObjectName(QStringLiteral("forkDialog"));
    setWindowTitle(tr("Fork Session"));
    auto *intro = new QLabel(tr("Start a new session from checkpoint %1. Its workspace is restored from the "
                                "checkpoint; the conversation up to that point goes with it.")
                                 .arg(checkpointText),
                             this);
    intro->setWordWrap(true);
    m_newFolder->setObjectName(QStringLiteral("forkNewFolder"));
    m_inPlace->setObjectName(QStringLiteral("forkInPlace"));
    m_inPlace->setToolTip(tr("The folder's current state is kept as a safety checkpoint of this session first"));
    m_folder->setObjectName(QStringLiteral("forkFolder"));
    m_folder->setPlaceholderText(tr("A new or empty folder outside the workspace"));
    m_folder->setAccessibleName(tr("New folder"));
    if (!workspace.isEmpty())
        m_folder->setText(QFileInfo(workspace).absolutePath() + u'/' + QFileInfo(workspace).fileName()
                          + QStringLiteral("-fork"));
    m_title->setObjectName(QStringLiteral("forkTitle"));
    m_title->setPlaceholderText(tr("Default: the session's title with “(fork)”"));
    m_buttons->button(QDialogButtonBox::Ok)->setText(tr("&Fork"));
    m_newFolder->setChecked(true);

    auto *folderRow = new QHBoxLayout;
    folderRow->setContentsMargins(24, 0, 0, 0);
    folderRow->addWidget(m_folder, 1);
    folderRow->addWidget(m_browse);
    auto *inPlaceNote = new QLabel(tr("The folder's current state is saved as a safety checkpoint first, so it can be "
                                      "rewound back."),
                                   this);
    inPlaceNote->setWordWrap(true);
    inPlaceNote->setForegroundRole(QPalette::PlaceholderText);
    inPlaceNote->setContentsMargins(24, 0, 0, 0);
    auto *form = new QFormLayout;
    form->addRow(tr("&Title:"), m_title);

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(intro);
    layout->addWidget(m_newFolder);
    layout->addLayout(folderRow);
    layout->addWidget(m_inPlace);
    layout->addWidget(inPlaceNote);
    layout->addLayout(form);
    layout->addWidget(m_buttons);

    connect(m_buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_browse, &QPushButton::clicked, this, &ForkDialog::browse);
    connect(m_newFolder, &QRadioButton::toggled, this, &ForkDialog::updateOk);
    connect(m_folder, &QLineEdit::textChanged, this, &ForkDialog::updateOk);
    updateOk();
    resize(520, sizeHint().height());
}

bool ForkDialog::inPlace() const
{
    return m_inPlace->isChecked();
}

QString ForkDialog::folder() const
{
    return inPlace() ? QString() : QDir::cleanPath(m_folder->text().trimmed());
}

QString ForkDialog::title() const
{
    return m_title->text().trimmed();
}

void ForkDialog::browse()
{
    const QString start = m_folder->text().isEmpty() ? QDir::homePath() : QFileInfo(m_folder->text()).absolutePath();
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Folder for the Fork"), start);
    if (!dir.isEmpty())
        m_folder->setText(dir);
}

void ForkDialog::updateOk()
{
    m_folder->setEnabled(m_newFolder->isChecked());
    m_browse->setEnabled(m_newFolder->isChecked());
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(m_inPlace->isChecked() || !m_folder->text().trimmed().isEmpty());
}

} // namespace airlock::ui
