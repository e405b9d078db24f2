// Setting up a real agent from the window: the Secrets dialog (File › Secrets…) stores a key without
// showing it anywhere, and the New Session dialog offers to install a preset's adapter until it is
// installed. Screenshots of both go to build/<preset>/screenshots.
#include "agent/agentinstall.h"
#include "secretsdialog.h"
#include "session/agentaccess.h"
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

    void newSessionKeepsTheModelChosen()
    {
        // The model API row: for an agent whose key the proxy adds, the vendor's as the placeholder;
        // what is typed (a gateway and its CA) is kept for that agent's next session.
        const QString db = m_dir.filePath(QStringLiteral("airlock.db"));
        const QString ca = m_dir.filePath(QStringLiteral("gateway-ca.pem"));
        QFile caFile(ca);
        QVERIFY(caFile.open(QIODevice::WriteOnly));
        caFile.close();
        {
            ui::NewSessionDialog dialog(db);
            dialog.show();
            QVERIFY(QTest::qWaitForWindowExposed(&dialog));
            auto *endpoint = dialog.findChild<QLineEdit *>(QStringLiteral("modelEndpoint"));
            auto *caEdit = dialog.findChild<QLineEdit *>(QStringLiteral("modelCa"));
            QVERIFY(endpoint && caEdit);
            dialog.selectAgent(QStringLiteral("demo"));
            QVERIFY(!endpoint->isVisible());
            dialog.selectAgent(QStringLiteral("claude-code"));
            QVERIFY(endpoint->isVisible());
            QVERIFY2(endpoint->placeholderText().contains(QLatin1String("https://api.anthropic.com")), qPrintable(endpoint->placeholderText()));
            QTest::keyClicks(endpoint, QStringLiteral("https://gateway.corp:8443/anthropic"));
            QTest::keyClicks(caEdit, ca);
            QTest::keyClicks(dialog.findChild<QLineEdit *>(QStringLiteral("workspaceEdit")), m_dir.path());
            shoot(dialog, "new-session-model");
            const auto config = dialog.config();
            QVERIFY2(config, config ? "" : qPrintable(config.error().message));
            QCOMPARE(config->modelEndpoint, QStringLiteral("https://gateway.corp:8443/anthropic"));
            QCOMPARE(config->policy.network.upstreamCaFile, ca);
            QVERIFY(config->policy.network.allow.contains(QStringLiteral("gateway.corp:8443")));
        }
        ui::NewSessionDialog again(db);
        again.selectAgent(QStringLiteral("claude-code"));
        QCOMPARE(again.findChild<QLineEdit *>(QStringLiteral("modelEndpoint"))->text(), QStringLiteral("https://gateway.corp:8443/anthropic"));
        QCOMPARE(again.findChild<QLineEdit *>(QStringLiteral("modelCa"))->text(), ca);
        // Emptied, it is the vendor's again.
        again.findChild<QLineEdit *>(QStringLiteral("modelEndpoint"))->clear();
        again.findChild<QLineEdit *>(QStringLiteral("modelCa"))->clear();
        QTest::keyClicks(again.findChild<QLineEdit *>(QStringLiteral("workspaceEdit")), m_dir.path());
        const auto vendor = again.config();
        QVERIFY2(vendor, vendor ? "" : qPrintable(vendor.error().message));
        QVERIFY(vendor->policy.network.allow.contains(QStringLiteral("api.anthropic.com:443")));
        QCOMPARE(session::rememberedModel(db, QStringLiteral("claude-code"))->endpoint, QString());
    }
};

QTEST_MAIN(TestAgentSetup)
#include "tst_agentsetup.moc"
