#include "aboutdialog.h"

#include "store/schema.h"
#include "store/sqlite.h"

#include <QDialogButtonBox>
#include <QHBoxLayout>
#include <QIcon>
#include <QLabel>
#include <QVBoxLayout>

namespace airlock::ui {

AboutDialog::AboutDialog(const QString &databasePath, QWidget *parent) : QDialog(parent)
{
    setWindowTitle(tr("About Airlock"));
    setObjectName(QStringLiteral("aboutDialog"));
    auto *icon = new QLabel(this);
    icon->setPixmap(QIcon(QStringLiteral(":/icons/airlock.svg")).pixmap(72, 72));
    icon->setAlignment(Qt::AlignTop);

    auto *text = new QLabel(this);
    text->setTextFormat(Qt::RichText);
    text->setWordWrap(true);
    text->setTextInteractionFlags(Qt::TextSelectableByMouse);
    text->setText(tr("<h2>Airlock %1</h2>"
                     "<p>A control panel for running AI coding agents safely on your own machine: each "
                     "agent runs inside an isolation policy you can read and edit, every thread and tool "
                     "call is shown live, risky actions wait for your decision, and the workspace can be "
                     "rewound to any checkpoint.</p>"
                     "<p>Qt %2 · SQLite %3 · store schema %4<br>Database: <code>%5</code></p>")
                      .arg(QStringLiteral(AIRLOCK_VERSION), QString::fromLatin1(qVersion()),
                           store::sqliteVersion())
                      .arg(store::currentSchemaVersion())
                      .arg(databasePath.toHtmlEscaped()));

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto *row = new QHBoxLayout;
    row->addWidget(icon);
    row->addWidget(text, 1);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(row);
    layout->addWidget(buttons);
    setMinimumWidth(460);
}

} // namespace airlock::ui
