#include "secretsdialog.h"

#include "egress/keychain.h"
#include "egress/secretstore.h"
#include "session/sessioncleanup.h"

#include <QCheckBox>
#include <QDateTime>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

namespace airlock::ui {

SecretsDialog::SecretsDialog(QWidget *parent)
    : QDialog(parent), m_where(new QLabel(this)), m_table(new QTableWidget(0, 3, this)), m_name(new QLineEdit(this)),
      m_value(new QLineEdit(this)), m_toFile(new QCheckBox(tr("Keep new secrets in a private &file, not the keychain"), this)),
      m_set(new QPushButton(tr("&Store"), this)), m_remove(new QPushButton(tr("&Remove…"), this))
{
    setWindowTitle(tr("Secrets"));
    setObjectName(QStringLiteral("secretsDialog"));
    m_where->setWordWrap(true);
    m_table->setObjectName(QStringLiteral("secretsTable"));
    m_table->setHorizontalHeaderLabels({tr("Name"), tr("Kept in"), tr("Updated")});
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->verticalHeader()->hide();
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_name->setObjectName(QStringLiteral("secretName"));
    m_name->setPlaceholderText(tr("e.g. anthropic"));
    m_value->setObjectName(QStringLiteral("secretValue"));
    m_value->setEchoMode(QLineEdit::Password);
    m_value->setPlaceholderText(tr("the key; it goes to the proxy, never into a sandbox"));
    m_toFile->setObjectName(QStringLiteral("secretToFile"));
    m_toFile->setEnabled(false);
    m_set->setObjectName(QStringLiteral("storeSecret"));
    m_remove->setObjectName(QStringLiteral("removeSecret"));

    auto *form = new QFormLayout;
    form->addRow(tr("&Name"), m_name);
    form->addRow(tr("&Value"), m_value);
    form->addRow(QString(), m_toFile);
    auto *row = new QHBoxLayout;
    row->addWidget(m_set);
    row->addStretch(1);
    row->addWidget(m_remove);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_where);
    layout->addWidget(m_table, 1);
    layout->addLayout(form);
    layout->addLayout(row);
    layout->addWidget(buttons);

    connect(m_set, &QPushButton::clicked, this, &SecretsDialog::store);
    connect(m_value, &QLineEdit::returnPressed, this, &SecretsDialog::store);
    connect(m_remove, &QPushButton::clicked, this, &SecretsDialog::removeSelected);
    connect(m_table, &QTableWidget::itemSelectionChanged, this, [this] {
        const auto rows = m_table->selectionModel()->selectedRows();
        m_remove->setEnabled(!rows.isEmpty());
        if (!rows.isEmpty())
            m_name->setText(m_table->item(rows.first().row(), 0)->text());
    });
    reload();
    resize(560, 380);
}

void SecretsDialog::reload()
{
    const QString how = tr("The egress proxy adds each secret to requests for the hosts a policy or an agent names; no "
                           "sandbox ever holds one.");
    m_where->setText(tr("Looking for the keychain…") + u' ' + how);
    // Asking the bus may start the keychain: off the UI thread.
    runInBackground<egress::KeychainStatus>(
        this, [] { return egress::keychainStatus(); },
        [this, how](const egress::KeychainStatus &status) {
            m_toFile->setEnabled(status.state != egress::KeychainState::Absent);
            QString where;
            switch (status.state) {
            case egress::KeychainState::Ready:
                where = tr("New secrets go to the desktop keychain.");
                break;
            case egress::KeychainState::Absent:
                where = tr("No keychain runs on this desktop, so new secrets go to files in %1 that only your user can read.")
                            .arg(egress::SecretStore::defaultDir());
                break;
            case egress::KeychainState::Locked:
            case egress::KeychainState::NoCollection:
                where = egress::keychainAdvice(status).replace(QStringLiteral("airlockctl secrets set NAME --file"),
                                                               tr("tick \"private file\" below"));
                where[0] = where[0].toUpper();
                where += u'.';
                break;
            }
            m_where->setText(where + u' ' + how);
        });
    m_table->setRowCount(0);
    egress::SecretStore secrets;
    auto all = secrets.list();
    if (!all) {
        m_where->setText(m_where->text() + u'\n' + tr("The list cannot be read: %1").arg(all.error().message));
        return;
    }
    for (const auto &s : std::as_const(*all)) {
        const int r = m_table->rowCount();
        m_table->insertRow(r);
        m_table->setItem(r, 0, new QTableWidgetItem(s.name));
        m_table->setItem(r, 1, new QTableWidgetItem(s.place == egress::SecretPlace::Keychain ? tr("keychain") : tr("private file")));
        m_table->setItem(r, 2, new QTableWidgetItem(QLocale().toString(QDateTime::fromMSecsSinceEpoch(s.updated), QLocale::ShortFormat)));
    }
    m_remove->setEnabled(false);
}

void SecretsDialog::store()
{
    const QString name = m_name->text().trimmed();
    if (!egress::SecretStore::isValidName(name)) {
        QMessageBox::warning(this, tr("Secrets"), tr("A name is letters, digits, '.', '_' and '-' (for Claude Code: anthropic)."));
        m_name->setFocus();
        return;
    }
    QByteArray value = m_value->text().toUtf8();
    m_value->clear();
    // A keychain may ask its user to unlock it: off the UI thread, the dialog disabled meanwhile.
    const std::optional<egress::SecretPlace> where =
        m_toFile->isEnabled() && m_toFile->isChecked() ? std::optional(egress::SecretPlace::File) : std::nullopt;
    setEnabled(false);
    runInBackground<Result<egress::SecretPlace>>(
        this,
        [name, value, where]() mutable {
            auto place = egress::SecretStore().set(name, value, where);
            value.fill('\0');
            return place;
        },
        [this, name](const Result<egress::SecretPlace> &place) {
            setEnabled(true);
            if (!place)
                QMessageBox::warning(this, tr("Secrets"), tr("%1 was not stored: %2").arg(name, place.error().message));
            reload();
        });
}

void SecretsDialog::removeSelected()
{
    const QString name = m_name->text().trimmed();
    if (name.isEmpty())
        return;
    if (QMessageBox::question(this, tr("Remove Secret"),
                              tr("Remove %1? Agents that need it will fail to reach their API until it is set again.").arg(name))
        != QMessageBox::Yes)
        return;
    setEnabled(false);
    runInBackground<Result<bool>>(
        this, [name] { return egress::SecretStore().remove(name); },
        [this, name](const Result<bool> &removed) {
            setEnabled(true);
            if (!removed)
                QMessageBox::warning(this, tr("Secrets"), tr("%1 was not removed: %2").arg(name, removed.error().message));
            reload();
        });
}

} // namespace airlock::ui
