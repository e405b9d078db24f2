// The main window, offscreen: live sessions from another process, selection, keyboard, themes,
// saved layout, and a clear error for a bad database.
#include "aboutdialog.h"
#include "setupdialog.h"
#include "egress/egressrecord.h"
#include "policydocument.h"
#include "policyeditor.h"
#include "approvalspanel.h"
#include "store/storereader.h"
#include "thread/threadmodel.h"
#include "mainwindow.h"
#include "sessionsmodel.h"
#include "store/eventstore.h"
#include "testutil.h"
#include "threadview.h"

#include <QAction>
#include <QApplication>
#include <QDir>
#include <QDockWidget>
#include <QJsonArray>
#include <QJsonDocument>
#include <QMenuBar>
#include <QSignalSpy>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTreeWidget>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QJsonObject>
#include <QTableView>
#include <QTreeView>
#include <QUndoStack>

using namespace airlock;
using namespace airlock::ui;

class TestMainWindow : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_db;
    std::unique_ptr<store::EventStore> m_store;

    void ctl(const QStringList &args)
    {
        auto r = test::run(QStringLiteral(AIRLOCKCTL_PATH), QStringList{QStringLiteral("--db"), m_db} + args);
        QVERIFY2(r.exitCode == 0, r.err.constData());
    }
    void appendFromOtherProcess(const QString &session, const QString &kind, const QString &payload)
    {
        ctl({QStringLiteral("events"), QStringLiteral("append"), QStringLiteral("--session"), session,
             QStringLiteral("--kind"), kind, QStringLiteral("--payload"), payload});
    }

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QSettings().clear();
        m_db = m_dir.filePath(QStringLiteral("gui.db"));
        auto s = store::EventStore::open(m_db); // as the app's main() does before the window
        QVERIFY(s);
        m_store = std::move(*s);
    }

    void sessionsAppearFromAnotherProcess()
    {
        MainWindow w(m_db);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QCOMPARE(w.sessionsModel()->rowCount(), 0);

        appendFromOtherProcess(QStringLiteral("alpha"), QStringLiteral("session.created"),
                               QStringLiteral("{\"title\":\"Fix the login bug\",\"policy\":\"standard\"}"));
        appendFromOtherProcess(QStringLiteral("beta"), QStringLiteral("session.created"),
                               QStringLiteral("{\"title\":\"Write release notes\"}"));
        QTRY_COMPARE(w.sessionsModel()->rowCount(), 2);
        QTreeView *view = w.findChild<QTreeView *>(QStringLiteral("sessionsView"));
        QVERIFY(view);
        QCOMPARE(view->model()->rowCount(), 2);

        // Click the first session: its thread shows its events.
        const QModelIndex first = view->model()->index(0, 0);
        QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, view->visualRect(first).center());
        QCOMPARE(w.threadView()->currentSession(), QStringLiteral("alpha"));
        QTRY_COMPARE(w.threadView()->model()->rowCount(), 1);
        auto *title = w.findChild<QLabel *>(QStringLiteral("threadTitle"));
        QCOMPARE(title->text(), QStringLiteral("Fix the login bug"));

        // Another process changes the session: the row and the open thread follow, selection stays.
        appendFromOtherProcess(QStringLiteral("alpha"), QStringLiteral("session.state"),
                               QStringLiteral("{\"state\":\"running\"}"));
        QTRY_COMPARE(w.sessionsModel()->index(0, SessionsModel::State).data().toString(), QStringLiteral("running"));
        QTRY_COMPARE(w.threadView()->model()->rowCount(), 2);
        QCOMPARE(view->currentIndex().row(), 0);
        appendFromOtherProcess(QStringLiteral("beta"), QStringLiteral("agent.message"), QStringLiteral("{\"text\":\"hi\"}"));
        QTRY_COMPARE(w.sessionsModel()->index(1, SessionsModel::Events).data().toInt(), 2);
        QCOMPARE(w.threadView()->model()->rowCount(), 2); // another session's event is not shown here

        // The filter narrows the list.
        auto *filter = w.findChild<QLineEdit *>(QStringLiteral("sessionFilter"));
        QTest::keyClicks(filter, QStringLiteral("release"));
        QCOMPARE(view->model()->rowCount(), 1);
        filter->clear();
        QCOMPARE(view->model()->rowCount(), 2);
    }

    void approvalsFromAnotherProcess()
    {
        MainWindow w(m_db, m_store.get());
        w.show();
        QApplication::setActiveWindow(&w);
        QVERIFY(QTest::qWaitForWindowActive(&w));
        const QString options = QStringLiteral(
            "[{\"optionId\":\"ok\",\"name\":\"Allow\",\"kind\":\"allow_once\"},"
            "{\"optionId\":\"always\",\"name\":\"Always allow\",\"kind\":\"allow_always\"},"
            "{\"optionId\":\"no\",\"name\":\"Deny\",\"kind\":\"reject_once\"}]");
        for (int r : {1, 2})
            appendFromOtherProcess(QStringLiteral("alpha"), QStringLiteral("permission.requested"),
                                   QStringLiteral("{\"request\":%1,\"toolCall\":{\"title\":\"Edit src/%1.ts\",\"kind\":\"edit\"},"
                                                  "\"options\":%2,\"explanation\":\"asked by default decision\"}")
                                       .arg(r)
                                       .arg(options));
        auto *panel = w.approvalsPanel();
        QTRY_COMPARE(panel->openCount(), 2);
        auto *dock = w.findChild<QDockWidget *>(QStringLiteral("approvalsDock"));
        QCOMPARE(dock->windowTitle(), QStringLiteral("Approvals (2)"));

        // Click the first request's Allow button; the answer lands in the store.
        auto *allow = panel->findChild<QPushButton *>(QStringLiteral("answer_allow_once"));
        QVERIFY(allow);
        QTest::mouseClick(allow, Qt::LeftButton);
        QVERIFY(m_store->flush());
        // The second one by key: D denies.
        panel->list()->setCurrentItem(panel->list()->topLevelItem(1));
        panel->list()->setFocus();
        QTest::keyClick(panel->list(), Qt::Key_D);
        QVERIFY(m_store->flush());
        auto reader = store::StoreReader::open(m_db);
        auto rows = reader->approvals().value();
        QCOMPARE(rows.size(), 2);
        QCOMPARE(rows.at(0).answer, QStringLiteral("ok"));
        QCOMPARE(rows.at(1).answer, QStringLiteral("no"));

        // When the session acts, the rows close.
        for (int r : {1, 2})
            appendFromOtherProcess(QStringLiteral("alpha"), QStringLiteral("permission.decided"),
                                   QStringLiteral("{\"request\":%1,\"decision\":\"allow\",\"by\":\"user\"}").arg(r));
        QTRY_COMPARE(panel->openCount(), 0);
        QCOMPARE(dock->windowTitle(), QStringLiteral("Approvals"));
    }

    void keyboard()
    {
        MainWindow w(m_db);
        w.show();
        QApplication::setActiveWindow(&w);
        QVERIFY(QTest::qWaitForWindowActive(&w));
        QTRY_COMPARE(w.sessionsModel()->rowCount(), 2);
        auto *filter = w.findChild<QLineEdit *>(QStringLiteral("sessionFilter"));
        QTest::keyClick(&w, Qt::Key_F, Qt::ControlModifier);
        QTRY_VERIFY(filter->hasFocus());

        // Ctrl+N brings a dock forward, even when it was closed.
        auto *egress = w.findChild<QDockWidget *>(QStringLiteral("egressDock"));
        egress->close();
        QVERIFY(!egress->isVisible());
        QTest::keyClick(&w, Qt::Key_5, Qt::ControlModifier);
        QTRY_VERIFY(egress->isVisible());

        // Arrow keys move through sessions.
        auto *view = w.findChild<QTreeView *>(QStringLiteral("sessionsView"));
        view->setFocus();
        view->setCurrentIndex(view->model()->index(0, 0));
        QTest::keyClick(view, Qt::Key_Down);
        QCOMPARE(w.threadView()->currentSession(), QStringLiteral("beta"));
    }

    void themeSwitchIsSaved()
    {
        {
            MainWindow w(m_db);
            w.findChild<QAction *>(QStringLiteral("actionTheme_dark"))->trigger();
            QCOMPARE(w.theme(), Theme::Dark);
            QVERIFY(QApplication::palette().color(QPalette::Window).lightness() < 80);
            QCOMPARE(QApplication::style()->name().toLower(), QStringLiteral("fusion"));
        }
        {
            MainWindow w(m_db); // a new window starts dark
            QCOMPARE(w.theme(), Theme::Dark);
            w.findChild<QAction *>(QStringLiteral("actionTheme_light"))->trigger();
            QVERIFY(QApplication::palette().color(QPalette::Window).lightness() > 200);
        }
        QCOMPARE(QSettings().value(QStringLiteral("ui/theme")).toString(), QStringLiteral("light"));
    }

    void layoutIsSaved()
    {
        {
            MainWindow w(m_db);
            w.show();
            QVERIFY(QTest::qWaitForWindowExposed(&w));
            w.resize(1111, 777);
            w.findChild<QDockWidget *>(QStringLiteral("sandboxesDock"))->close();
            w.close(); // saves
        }
        MainWindow w(m_db);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QCOMPARE(w.size(), QSize(1111, 777));
        QVERIFY(!w.findChild<QDockWidget *>(QStringLiteral("sandboxesDock"))->isVisible());
        QVERIFY(w.findChild<QDockWidget *>(QStringLiteral("approvalsDock"))->isVisible());
    }

    void docksSayWhatTheyWillHold()
    {
        MainWindow w(m_db);
        for (const char *name : {"checkpointsDock", "egressDock", "sandboxesDock"}) {
            auto *dock = w.findChild<QDockWidget *>(QString::fromLatin1(name));
            QVERIFY2(dock, name);
            QVERIFY(!dock->widget()->accessibleDescription().isEmpty());
        }
    }

    void aboutDialog()
    {
        AboutDialog about(m_db);
        QString all;
        for (auto *label : about.findChildren<QLabel *>())
            all += label->text();
        QVERIFY(all.contains(QStringLiteral(AIRLOCK_VERSION)));
        QVERIFY(all.contains(m_db));
        QVERIFY(all.contains(QStringLiteral("SQLite")));
    }

    // Help > Check Setup shows the same checks as `airlockctl doctor`, in the same order and states.
    void checkSetupMatchesDoctor()
    {
        MainWindow window(m_db, m_store.get());
        QVERIFY(window.findChild<QAction *>(QStringLiteral("actionCheckSetup")));
        auto r = test::run(QStringLiteral(AIRLOCKCTL_PATH), {QStringLiteral("--db"), m_db, QStringLiteral("doctor"), QStringLiteral("--json")}, 60000);
        const QJsonArray doctor = QJsonDocument::fromJson(r.out).array();
        QCOMPARE(doctor.size(), 5);
        QCOMPARE(r.exitCode, doctor.at(0)[QStringLiteral("state")].toString() == QLatin1String("ok") ? 0 : 1);

        SetupDialog dialog(m_db);
        QSignalSpy checked(&dialog, &SetupDialog::checked);
        QVERIFY(dialog.isChecking());
        QVERIFY(checked.wait(60000));
        const auto checks = checked.first().first().value<QList<setup::Check>>();
        QCOMPARE(checks.size(), doctor.size());
        QCOMPARE(dialog.table()->topLevelItemCount(), doctor.size());
        for (int i = 0; i < checks.size(); ++i) {
            QCOMPARE(checks.at(i).name, doctor.at(i)[QStringLiteral("check")].toString());
            QCOMPARE(setup::stateName(checks.at(i).state), doctor.at(i)[QStringLiteral("state")].toString());
            QVERIFY(!dialog.table()->topLevelItem(i)->text(2).isEmpty());
        }
        QCOMPARE(checks.last().name, QStringLiteral("store"));
        QCOMPARE(checks.last().state, setup::Check::State::Ok);
        dialog.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dialog));
        QVERIFY(QDir().mkpath(QStringLiteral(AIRLOCK_SCREENSHOT_DIR)));
        QVERIFY(dialog.grab().save(QDir(QStringLiteral(AIRLOCK_SCREENSHOT_DIR)).filePath(QStringLiteral("check-setup.png"))));
        // Check Again runs them once more.
        auto *again = dialog.findChild<QPushButton *>(QStringLiteral("setupCheckAgain"));
        QTest::mouseClick(again, Qt::LeftButton);
        QVERIFY(!again->isEnabled());
        QVERIFY(checked.wait(60000));
        QVERIFY(again->isEnabled());
    }

    void badDatabaseIsReported()
    {
        const QString garbage = m_dir.filePath(QStringLiteral("garbage.db"));
        QFile f(garbage);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("definitely not sqlite");
        f.close();
        MainWindow w(garbage);
        w.show();
        auto *error = w.findChild<QLabel *>(QStringLiteral("storeError"));
        QTRY_VERIFY(error->isVisible());
        QVERIFY(error->text().contains(garbage));
    }

    void allowAlwaysGoesThroughThePolicyEditor()
    {
        // A session on a saved policy, and a connection its proxy refused.
        const QString file = m_dir.filePath(QStringLiteral("team.json"));
        {
            auto shown = test::run(QStringLiteral(AIRLOCKCTL_PATH), {QStringLiteral("--db"), m_db, QStringLiteral("policy"),
                                                                     QStringLiteral("export"), QStringLiteral("standard"),
                                                                     QStringLiteral("-o"), file});
            QVERIFY2(shown.exitCode == 0, shown.err.constData());
        }
        ctl({QStringLiteral("policy"), QStringLiteral("import"), file, QStringLiteral("--name"), QStringLiteral("team")});
        appendFromOtherProcess(QStringLiteral("egress-s"), QStringLiteral("session.created"),
                               QStringLiteral("{\"title\":\"egress\",\"policy\":\"team\"}"));
        egress::EgressRecord denied;
        denied.session = QStringLiteral("egress-s");
        denied.method = QStringLiteral("CONNECT");
        denied.host = QStringLiteral("api.wanted.test");
        denied.port = 443;
        denied.decision = egress::Verdict::Deny;
        denied.rule = QStringLiteral("default deny");
        denied.status = 403;
        QVERIFY(m_store->append(QStringLiteral("egress-s"), QLatin1String(egress::kinds::Connection), denied.toJson()));
        QVERIFY(m_store->flush());

        MainWindow w(m_db, m_store.get());
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        auto *egressDock = w.findChild<QDockWidget *>(QStringLiteral("egressDock"));
        egressDock->show();
        egressDock->raise();
        auto *table = egressDock->findChild<QTableView *>();
        QVERIFY(table);
        QTRY_COMPARE(table->model()->rowCount(), 1);
        table->selectRow(0);
        auto *allowAlways = egressDock->findChild<QPushButton *>(QStringLiteral("egressAllowAlways"));
        QVERIFY(allowAlways);
        QTRY_VERIFY(allowAlways->isEnabled());
        QTest::mouseClick(allowAlways, Qt::LeftButton);

        // The editor opened on the policy, made the change as one undoable step, and saved version 2.
        PolicyEditor *editor = nullptr;
        QTRY_VERIFY((editor = w.findChild<PolicyEditor *>()) != nullptr);
        QCOMPARE(editor->policyName(), QStringLiteral("team"));
        QCOMPARE(editor->document()->savedVersion(), 2);
        QVERIFY(editor->document()->policy().network.allow.contains(QStringLiteral("api.wanted.test")));
        QCOMPARE(editor->document()->undoStack()->count(), 1);
        auto reader = store::StoreReader::open(m_db);
        auto saved = reader->policy(QStringLiteral("team"));
        QVERIFY(saved && *saved);
        QCOMPARE((*saved)->version, 2);
        QVERIFY((*saved)->document.contains("api.wanted.test"));
        // Undo takes it back out of the editor's copy (saving would make version 3).
        editor->document()->undoStack()->undo();
        QVERIFY(!editor->document()->policy().network.allow.contains(QStringLiteral("api.wanted.test")));
        editor->document()->undoStack()->redo();
        editor->close();
    }

    void longThreadOpensWithTheNewestAndPagesBack()
    {
        // 5,000 tool calls: the thread opens with the newest 2,000, "Show earlier events" pages the
        // rest in from the store, and the order stays the session's own.
        QVERIFY(m_store->append(QStringLiteral("long"), QStringLiteral("session.created"), {{QStringLiteral("title"), QStringLiteral("long")}}));
        for (int i = 1; i <= 5000; ++i) {
            QJsonObject update{{QStringLiteral("sessionUpdate"), QStringLiteral("tool_call")},
                               {QStringLiteral("toolCallId"), QStringLiteral("call-%1").arg(i)},
                               {QStringLiteral("title"), QStringLiteral("Step %1").arg(i)},
                               {QStringLiteral("kind"), QStringLiteral("read")},
                               {QStringLiteral("status"), QStringLiteral("completed")}};
            QVERIFY(m_store->append(QStringLiteral("long"), QStringLiteral("agent.update"), {{QStringLiteral("update"), update}}));
        }
        QVERIFY(m_store->flush());
        MainWindow w(m_db, m_store.get());
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QTRY_VERIFY(w.sessionsModel()->indexOf(QStringLiteral("long")).isValid());
        w.selectSession(QStringLiteral("long"));
        ThreadModel *model = w.threadView()->model();
        QTRY_COMPARE(model->rowCount(), 2000);
        QCOMPARE(model->item(0).title, QStringLiteral("Step 3001"));
        auto *earlier = w.threadView()->findChild<QPushButton *>(QStringLiteral("showEarlier"));
        QVERIFY(earlier);
        QTRY_VERIFY(earlier->isVisible());
        QTest::mouseClick(earlier, Qt::LeftButton);
        QCOMPARE(model->rowCount(), 4000);
        QCOMPARE(model->item(0).title, QStringLiteral("Step 1001"));
        QCOMPARE(model->item(3999).title, QStringLiteral("Step 5000"));
        QTest::mouseClick(earlier, Qt::LeftButton);
        QCOMPARE(model->rowCount(), 5001); // and the session.created notice
        QCOMPARE(model->item(1).title, QStringLiteral("Step 1"));
        QVERIFY(!earlier->isVisible()); // nothing older
    }
};

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
