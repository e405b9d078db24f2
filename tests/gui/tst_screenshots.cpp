// Saves PNGs of the main window in the light and the dark palette, with a few sessions in it, so a
// person can look at what the app shows. The README's screenshot comes from here.
#include "thread/threadmodel.h"
#include "mainwindow.h"
#include "sessionsmodel.h"
#include "store/eventstore.h"
#include "threadview.h"

#include <QDir>
#include <QJsonArray>
#include <QJsonObject>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

using namespace airlock;

class TestScreenshots : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void mainWindow()
    {
        QStandardPaths::setTestModeEnabled(true);
        QSettings().clear();
        QTemporaryDir dir;
        const QString db = dir.filePath(QStringLiteral("shots.db"));
        {
            auto store = store::EventStore::open(db);
            QVERIFY(store);
            auto &s = **store;
            auto created = [&](const char *id, const char *title, const char *policy, const char *agent) {
                QVERIFY(s.append(QString::fromLatin1(id), QStringLiteral("session.created"),
                                 {{QStringLiteral("title"), QString::fromLatin1(title)},
                                  {QStringLiteral("policy"), QString::fromLatin1(policy)},
                                  {QStringLiteral("agent"), QString::fromLatin1(agent)},
                                  {QStringLiteral("workspace"), QStringLiteral("/home/dev/src/webshop")}}));
            };
            created("s-7f3a", "Fix flaky checkout test", "standard", "claude-code");
            created("s-91c2", "Upgrade to React 19", "hardened", "codex");
            created("s-b07e", "Audit dependencies", "gvisor", "gemini");
            const QString id = QStringLiteral("s-7f3a");
            QVERIFY(s.append(id, QStringLiteral("session.state"), {{QStringLiteral("state"), QStringLiteral("running")}}));
            auto update = [&](const QJsonObject &u) {
                QVERIFY(s.append(id, QStringLiteral("agent.update"), {{QStringLiteral("update"), u}}));
            };
            auto text = [](const char *t) {
                return QJsonObject{{QStringLiteral("type"), QStringLiteral("text")}, {QStringLiteral("text"), QString::fromUtf8(t)}};
            };
            QVERIFY(s.append(id, QStringLiteral("turn.started"),
                             {{QStringLiteral("turn"), 1},
                              {QStringLiteral("prompt"), QJsonArray{text("The checkout test fails one run in five. Find out why and fix it.")}}}));
            update({{QStringLiteral("sessionUpdate"), QStringLiteral("agent_thought_chunk")},
                    {QStringLiteral("content"), text("A flaky test usually means shared state or timing. Run it in a loop first.")}});
            update({{QStringLiteral("sessionUpdate"), QStringLiteral("plan")},
                    {QStringLiteral("entries"),
                     QJsonArray{QJsonObject{{QStringLiteral("content"), QStringLiteral("Reproduce the failure")}, {QStringLiteral("status"), QStringLiteral("completed")}},
                                QJsonObject{{QStringLiteral("content"), QStringLiteral("Find the shared state")}, {QStringLiteral("status"), QStringLiteral("in_progress")}},
                                QJsonObject{{QStringLiteral("content"), QStringLiteral("Fix and run the suite")}, {QStringLiteral("status"), QStringLiteral("pending")}}}}});
            update({{QStringLiteral("sessionUpdate"), QStringLiteral("agent_message_chunk")},
                    {QStringLiteral("content"), text("I'll run the test 20 times ")}});
            update({{QStringLiteral("sessionUpdate"), QStringLiteral("agent_message_chunk")},
                    {QStringLiteral("content"), text("to see how often it fails.")}});
            update({{QStringLiteral("sessionUpdate"), QStringLiteral("tool_call")}, {QStringLiteral("toolCallId"), QStringLiteral("t1")},
                    {QStringLiteral("title"), QStringLiteral("npm test -- checkout --repeat 20")}, {QStringLiteral("kind"), QStringLiteral("execute")},
                    {QStringLiteral("status"), QStringLiteral("in_progress")},
                    {QStringLiteral("rawInput"), QJsonObject{{QStringLiteral("command"), QStringLiteral("npm test -- checkout --repeat 20")}}}});
            update({{QStringLiteral("sessionUpdate"), QStringLiteral("tool_call_update")}, {QStringLiteral("toolCallId"), QStringLiteral("t1")},
                    {QStringLiteral("status"), QStringLiteral("completed")},
                    {QStringLiteral("content"), QJsonArray{QJsonObject{{QStringLiteral("type"), QStringLiteral("content")},
                                                                       {QStringLiteral("content"), text("4 of 20 runs failed: cart total was 0")}}}}});
            QVERIFY(s.append(id, QStringLiteral("permission.requested"),
                             {{QStringLiteral("request"), 1},
                              {QStringLiteral("toolCall"), QJsonObject{{QStringLiteral("title"), QStringLiteral("Edit src/cart.ts")}, {QStringLiteral("kind"), QStringLiteral("edit")}}},
                              {QStringLiteral("explanation"), QStringLiteral("asked by default decision")}}));
            QVERIFY(s.append(QStringLiteral("s-91c2"), QStringLiteral("session.state"),
                             {{QStringLiteral("state"), QStringLiteral("blocked")}}));
            QVERIFY(s.append(QStringLiteral("s-b07e"), QStringLiteral("session.state"),
                             {{QStringLiteral("state"), QStringLiteral("ended")}}));
            QVERIFY(s.flush());
        }

        ui::MainWindow w(db);
        w.resize(1280, 800);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QTRY_COMPARE(w.sessionsModel()->rowCount(), 3);
        w.selectSession(QStringLiteral("s-7f3a"));
        QTRY_COMPARE(w.threadView()->model()->rowCount(), 8);

        const QString outDir = QStringLiteral(AIRLOCK_SCREENSHOT_DIR);
        QVERIFY(QDir().mkpath(outDir));
        for (ui::Theme theme : {ui::Theme::Light, ui::Theme::Dark}) {
            w.setTheme(theme);
            QCoreApplication::processEvents();
            const QImage shot = w.grab().toImage();
            QVERIFY(!shot.isNull());
            QCOMPARE(shot.size(), w.size() * w.devicePixelRatio());
            const QString file = QDir(outDir).filePath(QStringLiteral("main-window-%1.png").arg(ui::themeName(theme)));
            QVERIFY(shot.save(file));
            qInfo("saved %s", qPrintable(file));
        }
    }
};

QTEST_MAIN(TestScreenshots)
#include "tst_screenshots.moc"
