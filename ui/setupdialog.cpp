#include "setupdialog.h"

#include <QApplication>
#include <QClipboard>
#include <QDialogButtonBox>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QStyle>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace airlock::ui {

using setup::Check;

namespace {

QString title(const QString &name)
{
    if (name == QLatin1String("bubblewrap"))
        return SetupDialog::tr("Local sandboxes (bubblewrap)");
    if (name == QLatin1String("docker"))
        return SetupDialog::tr("Docker");
    if (name == QLatin1String("gvisor"))
        return SetupDialog::tr("gVisor");
    if (name == QLatin1String("keychain"))
        return SetupDialog::tr("Keychain");
    if (name == QLatin1String("store"))
        return SetupDialog::tr("Store");
    return name;
}

QString stateText(Check::State state)
{
    switch (state) {
    case Check::State::Ok: return SetupDialog::tr("Ready");
    case Check::State::Warn: return SetupDialog::tr("Needs attention");
    case Check::State::Fail: return SetupDialog::tr("Not working");
    case Check::State::Absent: return SetupDialog::tr("Not installed");
    }
    return {};
}

QStyle::StandardPixmap icon(Check::State state)
{
    switch (state) {
    case Check::State::Ok: return QStyle::SP_DialogApplyButton;
    case Check::State::Warn: return QStyle::SP_MessageBoxWarning;
    case Check::State::Fail: return QStyle::SP_MessageBoxCritical;
    case Check::State::Absent: return QStyle::SP_MessageBoxInformation;
    }
    return QStyle::SP_MessageBoxInformation;
}

} // namespace

SetupDialog::SetupDialog(const QString &databasePath, QWidget *parent)
    : QDialog(parent), m_databasePath(databasePath), m_table(new QTreeWidget(this)), m_summary(new QLabel(this)),
      m_again(new QPushButton(tr("Check &Again"), this))
{
    setObjectName(QStringLiteral("setupDialog"));
    setWindowTitle(tr("Check Setup"));
    resize(760, 360);
    m_table->setObjectName(QStringLiteral("setupChecks"));
    m_table->setAccessibleName(tr("Setup checks"));
    m_table->setHeaderLabels({tr("Check"), tr("State"), tr("Details")});
    m_table->setRootIsDecorated(false);
    m_table->setWordWrap(true);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->header()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    m_table->header()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    m_table->header()->setStretchLastSection(true);
    m_summary->setObjectName(QStringLiteral("setupSummary"));
    m_summary->setWordWrap(true);
    m_again->setObjectName(QStringLiteral("setupCheckAgain"));
    auto *copy = new QPushButton(tr("&Copy Fix"), this);
    copy->setObjectName(QStringLiteral("setupCopyFix"));
    copy->setToolTip(tr("Copy the selected check's fix (a command to run) to the clipboard"));
    copy->setEnabled(false);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    buttons->addButton(m_again, QDialogButtonBox::ActionRole);
    buttons->addButton(copy, QDialogButtonBox::ActionRole);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_summary);
    layout->addWidget(m_table, 1);
    layout->addWidget(buttons);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_again, &QPushButton::clicked, this, &SetupDialog::recheck);
    connect(m_table, &QTreeWidget::currentItemChanged, this, [copy](QTreeWidgetItem *item) {
        copy->setEnabled(item && !item->data(0, Qt::UserRole).toString().isEmpty());
    });
    connect(copy, &QPushButton::clicked, this, [this] {
        if (const QTreeWidgetItem *item = m_table->currentItem())
            QApplication::clipboard()->setText(item->data(0, Qt::UserRole).toString());
    });
    recheck();
}

void SetupDialog::recheck()
{
    if (m_checker)
        return;
    m_again->setEnabled(false);
    m_summary->setText(tr("Checking what this machine can run…"));
    auto *checker = new setup::SetupChecker(m_databasePath, this);
    m_checker = checker;
    connect(checker, &setup::SetupChecker::finished, this, [this, checker](const QList<Check> &checks) {
        checker->deleteLater();
        m_checker = nullptr;
        m_again->setEnabled(true);
        showChecks(checks);
        Q_EMIT checked(checks);
    });
    checker->start();
}

void SetupDialog::showChecks(const QList<Check> &checks)
{
    m_table->clear();
    int problems = 0;
    for (const Check &c : checks) {
        auto *item = new QTreeWidgetItem(m_table);
        item->setText(0, title(c.name));
        item->setIcon(0, style()->standardIcon(icon(c.state)));
        item->setText(1, stateText(c.state));
        item->setText(2, c.fix.isEmpty() ? c.detail : tr("%1\nFix: %2").arg(c.detail, c.fix));
        item->setToolTip(2, item->text(2));
        item->setData(0, Qt::UserRole, c.fix);
        item->setData(0, Qt::AccessibleTextRole, tr("%1: %2").arg(title(c.name), stateText(c.state)));
        if (c.state == Check::State::Fail || c.state == Check::State::Warn)
            ++problems;
    }
    const bool local = !checks.isEmpty() && checks.first().state == Check::State::Ok;
    m_summary->setText(!local      ? tr("Local sandboxes cannot run here; the first row says why and what to do.")
                       : problems ? tr("Local sandboxes run here; %n check(s) need attention.", nullptr, problems)
                                  : tr("Everything Airlock needs is here. Rungs marked Not installed are optional."));
}

} // namespace airlock::ui
