// Setting up a real agent from the window: the Secrets dialog (File › Secrets…) stores a key without
// showing it anywhere, and the New Session dialog offers to install a preset's adapter until it is
// installed. Screenshots of both go to build/<preset>/screenshots.
#include "agent/agentinstall.h"
#include "secretsdialog.h"
#include "session/newsessiondialog.h"

#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>

using namespace airlock;

class TestAgentSetup : public QObject
{
    Q_OBJECT
    QTemporaryDir m_dir;

    void shoot(QWidget &w, const char *name)
    {
        QDir().mkpath(QStringLiteral(AIRLOCK_SCREENSHOT_DIR));
        QVERIFY(w.grab().toImage().save(QStringLiteral(AIRLOCK_SCREENSHOT_DIR "/%1.png").arg(QLatin1String(name))));
    }

private Q_SLOTS:
    void initTestCase()
    {
        qputenv("AIRLOCK_SECRETS_DIR", QFile::encodeName(m_dir.filePath(QStringLiteral("secrets"))));
        qputenv("AIRLOCK_SECRETS_KEYCHAIN", "0");
        qputenv("AIRLOCK_AGENTS_DIR", QFile::encodeName(m_dir.filePath(QStringLiteral("agents"))));
    }

    void secretIsStoredAndNeverShown()
    {
        ui::SecretsDialog dialog;
        dialog.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dialog));
        auto *name = dialog.findChild<QLineEdit *>(QStringLiteral("secretName"));
        auto *value = dialog.findChild<QLineEdit *>(QStringLiteral("secretValue"));
        auto *table = dialog.findChild<QTableWidget *>(QStringLiteral("secretsTable"));
        QVERIFY(name && value && table);
        QCOMPARE(value->echoMode(), QLineEdit::Password);
        QCOMPARE(table->rowCount(), 0);
        QTest::keyClicks(name, QStringLiteral("anthropic"));
        QTest::keyClicks(value, QStringLiteral("sk-ant-gui-secret-4242"));
        QTest::mouseClick(dialog.findChild<QPushButton *>(QStringLiteral("storeSecret")), Qt::LeftButton);
        QTRY_COMPARE(table->rowCount(), 1); // stored off the UI thread
        QTRY_VERIFY(dialog.isEnabled());
        QCOMPARE(table->item(0, 0)->text(), QStringLiteral("anthropic"));
        QVERIFY(value->text().isEmpty());
        // Nowhere on screen: no label, cell or field holds the value.
        for (QLabel *l : dialog.findChildren<QLabel *>())
            QVERIFY(!l->text().contains(QLatin1String("4242")));
        for (int c = 0; c < table->columnCount(); ++c)
            QVERIFY(!table->item(0, c)->text().contains(QLatin1String("4242")));
        QFile stored(m_dir.filePath(QStringLiteral("secrets/anthropic")));
        QVERIFY(stored.open(QIODevice::ReadOnly));
        QCOMPARE(stored.readAll(), QByteArray("sk-ant-gui-secret-4242"));
        QCOMPARE(stored.permissions() & (QFile::ReadGroup | QFile::ReadOther), QFile::Permissions());
        shoot(dialog, "secrets-dialog");
    }

    void newSessionOffersTheInstall()
    {
        ui::NewSessionDialog dialog(m_dir.filePath(QStringLiteral("airlock.db")));
        dialog.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dialog));
        auto *agent = dialog.findChild<QComboBox *>(QStringLiteral("agentChoice"));
        auto *install = dialog.findChild<QPushButton *>(QStringLiteral("installAgent"));
        QVERIFY(agent && install);
        dialog.selectAgent(QStringLiteral("demo"));
        QVERIFY(!install->isVisible());
        dialog.selectAgent(QStringLiteral("claude-code"));
        QVERIFY(install->isVisible());
        QVERIFY2(install->text().contains(QLatin1String("Claude Code")), qPrintable(install->text()));
        shoot(dialog, "new-session-claude");
        // Once the pinned version is in place, there is nothing to install.
        agent::AgentProfile claude;
        for (const auto &p : agent::presetProfiles())
            if (p.name == QLatin1String("claude-code"))
                claude = p;
        const QString bin = agent::installDir(claude.package) + QStringLiteral("/node_modules/.bin");
        QVERIFY(QDir().mkpath(bin));
        QFile program(bin + u'/' + claude.package.bin);
        QVERIFY(program.open(QIODevice::WriteOnly));
        program.write("#!/bin/sh\n");
        program.close();
        program.setPermissions(program.permissions() | QFile::ExeOwner);
        dialog.selectAgent(QStringLiteral("demo"));
        dialog.selectAgent(QStringLiteral("claude-code"));
        QVERIFY(!install->isVisible());
    }
};

QTEST_MAIN(TestAgentSetup)
#include "tst_agentsetup.moc"
