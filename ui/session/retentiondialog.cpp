#include "retentiondialog.h"

#include "sessioncleanup.h"
#include "store/storereader.h"

#include <QDateTime>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QPushButton>
#include <QSpinBox>
#include <QTimer>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace airlock::ui {

namespace {
QString bytesText(qint64 bytes)
{
    return QLocale().formattedDataSize(bytes, 1, QLocale::DataSizeTraditionalFormat);
}
} // namespace

RetentionDialog::RetentionDialog(const QString &databasePath, QWidget *parent)
    : QDialog(parent), m_databasePath(databasePath), m_days(new QSpinBox(this)), m_sessions(new QSpinBox(this)),
      m_preview(new QTreeWidget(this)), m_summary(new QLabel(this)), m_error(new QLabel(this)), m_debounce(new QTimer(this))
{
    setObjectName(QStringLiteral("retentionDialog"));
    setWindowTitle(tr("Retention"));
    for (QSpinBox *box : {m_days, m_sessions}) {
        box->setRange(0, 100000);
        box->setSpecialValueText(tr("no limit"));
    }
    m_days->setObjectName(QStringLiteral("keepDays"));
    m_days->setSuffix(tr(" days"));
    m_sessions->setObjectName(QStringLiteral("keepSessions"));
    m_sessions->setSuffix(tr(" sessions"));
    m_preview->setObjectName(QStringLiteral("retentionPreview"));
    m_preview->setHeaderLabels({tr("Session"), tr("Updated"), tr("Disk"), tr("Note")});
    m_preview->setRootIsDecorated(false);
    m_preview->header()->setSectionResizeMode(0, QHeaderView::Stretch);
    m_error->setStyleSheet(QStringLiteral("color: #d1242f;"));
    m_error->setWordWrap(true);
    m_error->hide();

    auto *explain = new QLabel(tr("Sessions past both limits are deleted with their checkpoints and Airlock's copies of "
                                  "their workspaces. Folders you chose stay. Running sessions, sessions another process "
                                  "owns, and sessions whose forks are kept are never removed."),
                               this);
    explain->setWordWrap(true);
    auto *form = new QFormLayout;
    form->addRow(tr("Keep sessions updated in the last"), m_days);
    form->addRow(tr("Keep at least the newest"), m_sessions);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Close, this);
    m_cleanUp = buttons->addButton(tr("Clean Up Now"), QDialogButtonBox::ActionRole);
    m_cleanUp->setObjectName(QStringLiteral("cleanUpNow"));
    m_cleanUp->setEnabled(false);
    connect(buttons->button(QDialogButtonBox::Save), &QPushButton::clicked, this, [this] {
        if (save())
            accept();
    });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_cleanUp, &QPushButton::clicked, this, &RetentionDialog::cleanUpNow);

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(explain);
    layout->addLayout(form);
    layout->addWidget(new QLabel(tr("A clean-up now would remove:"), this));
    layout->addWidget(m_preview, 1);
    layout->addWidget(m_summary);
    layout->addWidget(m_error);
    layout->addWidget(buttons);
    resize(640, 420);

    if (auto p = session::loadRetention(m_databasePath)) {
        m_days->setValue(p->keepDays);
        m_sessions->setValue(p->keepSessions);
    }
    m_debounce->setSingleShot(true);
    m_debounce->setInterval(250);
    connect(m_debounce, &QTimer::timeout, this, &RetentionDialog::updatePreview);
    for (QSpinBox *box : {m_days, m_sessions})
        connect(box, &QSpinBox::valueChanged, this, &RetentionDialog::schedulePreview);
    updatePreview();
}

session::RetentionPolicy RetentionDialog::policy() const
{
    return {m_days->value(), m_sessions->value()};
}

void RetentionDialog::schedulePreview()
{
    m_cleanUp->setEnabled(false);
    m_debounce->start();
}

void RetentionDialog::updatePreview()
{
    const int generation = ++m_generation;
    m_plan.reset();
    m_cleanUp->setEnabled(false);
    m_summary->setText(tr("Looking…"));
    runInBackground<Result<session::GcPlan>>(this, [path = m_databasePath, p = policy()] {
        return session::planGc(path, p, QDateTime::currentMSecsSinceEpoch());
    }, [this, generation](const Result<session::GcPlan> &plan) {
        if (generation != m_generation)
            return; // the limits changed meanwhile; a newer preview is coming
        if (!plan) {
            m_summary->setText(tr("No preview."));
            m_error->setText(plan.error().message);
            m_error->show();
        } else {
            m_error->hide();
            showPlan(*plan);
        }
        Q_EMIT previewReady();
    });
}

void RetentionDialog::showPlan(const session::GcPlan &plan)
{
    m_plan = plan;
    m_preview->clear();
    const auto add = [this](const session::SessionFootprint &fp, const QString &note) {
        const QStringList columns{fp.session.title.isEmpty() ? fp.session.id : fp.session.title,
                                  QLocale().toString(QDateTime::fromMSecsSinceEpoch(fp.session.updated), QLocale::ShortFormat),
                                  note.isEmpty() ? bytesText(fp.total()) : QString(), note};
        auto *item = new QTreeWidgetItem(m_preview, columns);
        item->setData(0, Qt::UserRole, fp.session.id);
        item->setToolTip(0, footprintLines(fp).join(u'\n'));
        if (!note.isEmpty())
            item->setForeground(3, palette().placeholderText());
    };
    for (const session::SessionFootprint &fp : plan.remove)
        add(fp, QString());
    for (const auto &[fp, why] : plan.kept)
        add(fp, tr("kept: %1").arg(why));
    for (const QString &path : plan.leftovers) {
        auto *item = new QTreeWidgetItem(m_preview, QStringList{path, QString(), QString(), tr("left behind by a deleted session")});
        item->setToolTip(0, path);
    }
    const bool anything = !plan.remove.isEmpty() || !plan.leftovers.isEmpty();
    m_summary->setText(anything ? tr("%n session(s), %1 in all.", nullptr, int(plan.remove.size())).arg(bytesText(plan.totalBytes()))
                                : tr("Nothing to remove."));
    m_cleanUp->setEnabled(anything && !m_busy);
    m_cleanUp->setText(anything ? tr("Clean Up Now (%1)").arg(bytesText(plan.totalBytes())) : tr("Clean Up Now"));
}

bool RetentionDialog::save()
{
    if (auto r = session::saveRetention(m_databasePath, policy()); !r) {
        m_error->setText(r.error().message);
        m_error->show();
        return false;
    }
    return true;
}

void RetentionDialog::cleanUpNow()
{
    if (!m_plan || m_busy || !save())
        return;
    setBusy(true);
    runInBackground<session::GcResult>(this, [path = m_databasePath, plan = *m_plan, p = policy()] {
        return session::runGc(path, plan, QStringLiteral("retention: %1").arg(p.describe()));
    }, [this](const session::GcResult &result) {
        setBusy(false);
        const QString summary = tr("Removed %n session(s), %1 freed.", nullptr, int(result.removedSessions.size()))
                                    .arg(bytesText(result.freedBytes));
        if (!result.problems.isEmpty()) {
            m_error->setText(result.problems.join(u'\n'));
            m_error->show();
        }
        Q_EMIT cleanedUp(summary);
        updatePreview();
    });
}

void RetentionDialog::setBusy(bool busy)
{
    m_busy = busy;
    m_cleanUp->setEnabled(!busy && m_plan && (!m_plan->remove.isEmpty() || !m_plan->leftovers.isEmpty()));
    m_days->setEnabled(!busy);
    m_sessions->setEnabled(!busy);
}

} // namespace airlock::ui
