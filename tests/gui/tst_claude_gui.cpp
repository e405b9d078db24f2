// The real Claude Code from the window, as a user starts it: File › New Session…, Claude Code, a
// workspace, the model API (here the project's fake Anthropic API over TLS with a test CA), Start. Its
// shell asks in the Approvals dock and is allowed there; it runs in the bubblewrap sandbox (the fake
// upstream sees the sandbox's host name in the tool's result) with the key outside; the thread shows
// the command and the answer. The finished window is saved as claude-session.png (the README's
// screenshot). Skipped, saying why, without node, npm's registry, openssl or bubblewrap.
#include "agent/claudefixture.h"

#include "approvalspanel.h"
#include "mainwindow.h"
#include "session/newsessiondialog.h"
#include "session/sessioncontroller.h"
#include "store/eventstore.h"
#include "thread/threadmodel.h"
#include "threadview.h"

#include <QAbstractItemView>
#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QTimer>
#include <QTreeWidget>

#include <sys/stat.h>

using namespace airlock;
using namespace airlock::ui;

class TestClaudeGui : public test::ClaudeFixture
{
    Q_OBJECT
    std::unique_ptr<store::EventStore> m_store;

    int count(const QString &kind) // in the newest session
    {
        const auto events = lastSessionEvents();
        return int(std::count_if(events.begin(), events.end(), [&](const store::Event &e) { return e.kind == kind; }));
    }

private Q_SLOTS:
    void initTestCase()
    {
        prepareClaude();
        if (QTest::currentTestFailed())
            return;
        if (!installClaude())
            QSKIP(kClaudeNotInstalled);
        QStandardPaths::setTestModeEnabled(true);
        QSettings().clear();
        auto s = store::EventStore::open(m_db);
        QVERIFY(s);
        m_store = std::move(*s);
    }

    void cleanupTestCase()
    {
        stopFake();
    }

    void claudeFromNewSession()
    {
        const QJsonObject look{{QStringLiteral("command"), QStringLiteral("hostname; cat /proc/1/comm; ls")},
                               {QStringLiteral("description"), QStringLiteral("See where this runs")}};
        QVERIFY(startFake({QJsonObject{{QStringLiteral("tool"), QJsonObject{{QStringLiteral("name"), QStringLiteral("Bash")},
                                                                            {QStringLiteral("input"), look}}}},
                           QJsonObject{{QStringLiteral("text"), QStringLiteral("This runs in a sandbox called airlock; the "
                                                                               "project has a README.")}}}));
        const QString ws = m_dir.filePath(QStringLiteral("project"));
        QVERIFY(QDir().mkpath(ws));
        ::chmod(QFile::encodeName(ws).constData(), 0777);
        QFile readme(ws + QStringLiteral("/README.md"));
        QVERIFY(readme.open(QIODevice::WriteOnly));
        readme.write("# A project\n");
        readme.close();

        MainWindow w(m_db, m_store.get());
        w.resize(1400, 900);
        w.show();
        QApplication::setActiveWindow(&w);
        QVERIFY(QTest::qWaitForWindowActive(&w));
        bool dialogSeen = false;
        QTimer::singleShot(0, this, [&] {
            auto *dialog = qobject_cast<NewSessionDialog *>(QApplication::activeModalWidget());
            QVERIFY(dialog);
            dialogSeen = true;
            dialog->selectAgent(QStringLiteral("claude-code"));
            QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("workspaceEdit")), ws);
            QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("modelEndpoint")), QStringLiteral("https://localhost:%1").arg(m_port));
            QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("modelCa")), m_ca);
            auto *prompt = dialog->findChild<QPlainTextEdit *>(QStringLiteral("firstPrompt"));
            prompt->clear();
            QTest::keyClicks(prompt, QStringLiteral("Where does this run, and what is in the project?"));
            QTest::mouseClick(dialog->findChild<QDialogButtonBox *>()->button(QDialogButtonBox::Ok), Qt::LeftButton);
        });
        w.findChild<QAction *>(QStringLiteral("actionNewSession"))->trigger();
        QVERIFY(dialogSeen);
        QTRY_VERIFY_WITH_TIMEOUT(!w.threadView()->currentSession().isEmpty(), 20000);
        const QString id = w.threadView()->currentSession();
        QVERIFY(w.sessions()->runner(id));

        // The Standard preset asks before a command: allowed once, from the Approvals dock.
        ApprovalsPanel *approvals = w.approvalsPanel();
        int answered = 0;
        auto turnOver = [&] { return count(QStringLiteral("turn.ended")) >= 1; };
        while (!turnOver()) {
            QVERIFY2(QTest::qWaitFor([&] { return approvals->openCount() > 0 || turnOver(); }, 120000),
                     "neither a request nor the end of the turn came");
            if (approvals->openCount() == 0)
                continue;
            approvals->list()->setCurrentItem(approvals->list()->topLevelItem(0));
            QTest::mouseClick(approvals->findChild<QPushButton *>(QStringLiteral("answer_allow_once")), Qt::LeftButton);
            ++answered;
            QTRY_VERIFY_WITH_TIMEOUT(approvals->openCount() == 0, 10000);
        }
        QCOMPARE(answered, 1);
        QVERIFY(m_store->flush());
        // The command ran in the sandbox: its output, as Claude Code sent it back to the model.
        QByteArray results;
        for (const QJsonObject &o : upstreamRequests())
            results += QJsonDocument(o.value(QStringLiteral("lastUser")).toObject()).toJson();
        QVERIFY2(results.contains("airlock") && results.contains("README.md"), results.left(2000).constData());
        QVERIFY(!results.contains(m_key));
        for (const QJsonObject &o : upstreamRequests())
            if (o.value(QStringLiteral("url")).toString().startsWith(QLatin1String("/v1/messages")))
                QCOMPARE(o.value(QStringLiteral("headers")).toObject().value(QStringLiteral("x-api-key")).toString().toUtf8(), m_key);
        // The thread has caught up with the store: the answer is its last word.
        auto threadSays = [&](const QString &text) {
            const QAbstractItemModel *m = w.threadView()->model();
            for (int r = 0; r < m->rowCount(); ++r)
                if (m->index(r, 0).data(Qt::DisplayRole).toString().contains(text))
                    return true;
            return false;
        };
        QTRY_VERIFY_WITH_TIMEOUT(threadSays(QStringLiteral("a sandbox called airlock")), 20000);
        QVERIFY(!test::storeBytes(m_db).contains(m_key));
        // The end of the thread in view: the command's card, its result, the answer.
        for (QAbstractItemView *view : w.threadView()->findChildren<QAbstractItemView *>())
            view->scrollToBottom();
        QDir().mkpath(QStringLiteral(AIRLOCK_SCREENSHOT_DIR));
        QVERIFY(w.grab().save(QStringLiteral(AIRLOCK_SCREENSHOT_DIR "/claude-session.png")));
        w.sessions()->runner(id)->stop(QStringLiteral("the test ended it"));
    }
};

QTEST_MAIN(TestClaudeGui)
#include "tst_claude_gui.moc"
