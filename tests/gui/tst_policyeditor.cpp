// The policy editor driven through its widgets, offscreen.
#include "mainwindow.h"
#include "policiespanel.h"
#include "policy/presets.h"
#include "policydocument.h"
#include "policyeditor.h"
#include "policypage.h"
#include "policypanels.h"
#include "presetladder.h"
#include "rowtable.h"
#include "sandbox/localbackend.h"
#include "store/eventstore.h"
#include "store/storereader.h"
#include "testutil.h"

#include <QAction>
#include <QApplication>
#include <QAbstractSpinBox>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QToolButton>
#include <QTreeWidget>

using namespace airlock;
using namespace airlock::ui;

namespace {
int pageIndex(PolicyEditor &ed, const QString &section)
{
    for (int i = 0; i < ed.pages().size(); ++i)
        if (ed.pages().at(i)->section() == section)
            return i;
    return -1;
}

QToolButton *tableButton(RowTable *table, const QString &text)
{
    for (auto *b : table->findChildren<QToolButton *>())
        if (b->text() == text)
            return b;
    return nullptr;
}

// Adds a row with the table's own button and types the first cell, as a user would.
void addRowAndType(RowTable *table, const QString &text)
{
    const int before = table->table()->rowCount();
    QTest::mouseClick(tableButton(table, QStringLiteral("Add")), Qt::LeftButton);
    QCOMPARE(table->table()->rowCount(), before + 1);
    QWidget *editor = QApplication::focusWidget();
    QVERIFY(editor);
    QTest::keyClick(editor, Qt::Key_A, Qt::ControlModifier);
    QTest::keyClicks(editor, text);
    QTest::keyClick(editor, Qt::Key_Return); // the delegate commits through a queued call
    QTRY_COMPARE(table->table()->item(before, 0)->text(), text);
}
} // namespace

class TestPolicyEditor : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_db;
    std::unique_ptr<store::EventStore> m_store;

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QSettings().clear();
        m_db = m_dir.filePath(QStringLiteral("editor.db"));
        auto s = store::EventStore::open(m_db);
        QVERIFY(s);
        m_store = std::move(*s);
    }

    // The walk-through: proxy, a domain, a ~/.ssh mount, its finding fixed, undo, save.
    void clickThroughAndSave()
    {
        PolicyEditor ed(m_db, m_store.get());
        QVERIFY(ed.openPolicy(QStringLiteral("open")));
        ed.show();
        QApplication::setActiveWindow(&ed);
        QVERIFY(QTest::qWaitForWindowActive(&ed));

        // Network page, chosen in the section list with the mouse.
        auto *sections = ed.findChild<QListWidget *>(QStringLiteral("policySections"));
        const int network = pageIndex(ed, QStringLiteral("network"));
        QTest::mouseClick(sections->viewport(), Qt::LeftButton, {}, sections->visualItemRect(sections->item(network)).center());
        QCOMPARE(ed.currentPage(), network);
        auto *mode = ed.findChild<QComboBox *>(QStringLiteral("field_network.mode"));
        QCOMPARE(mode->currentData().toString(), QStringLiteral("host"));
        mode->setFocus();
        QTest::keyClick(mode, Qt::Key_Up); // host → proxy
        QCOMPARE(ed.document()->policy().network.mode, policy::NetworkMode::Proxy);

        auto *allow = ed.findChild<RowTable *>(QStringLiteral("field_network.allow"));
        addRowAndType(allow, QStringLiteral("registry.npmjs.org"));
        QCOMPARE(ed.document()->policy().network.allow, QStringList{QStringLiteral("registry.npmjs.org")});

        // Filesystem page: mount ~/.ssh.
        ed.showPage(pageIndex(ed, QStringLiteral("filesystem")));
        auto *mounts = ed.findChild<RowTable *>(QStringLiteral("field_filesystem.mounts"));
        addRowAndType(mounts, QStringLiteral("~/.ssh"));
        QCOMPARE(ed.document()->policy().filesystem.mounts.size(), 1);
        QCOMPARE(ed.document()->policy().filesystem.mounts.first().host, QStringLiteral("~/.ssh"));

        // The finding appears; select it and press its fix.
        auto *findings = ed.findChild<QTreeWidget *>(QStringLiteral("findingsList"));
        QTreeWidgetItem *sshItem = nullptr;
        QTRY_VERIFY((sshItem = [&]() -> QTreeWidgetItem * {
            for (int i = 0; i < findings->topLevelItemCount(); ++i) {
                auto *it = findings->topLevelItem(i);
                if (it->text(1).startsWith(QLatin1String("filesystem.mounts[0]")) && it->text(0).contains(QLatin1String(".ssh")))
                    return it;
            }
            return nullptr;
        }()));
        findings->setCurrentItem(sshItem);
        auto *fix = ed.findChild<QPushButton *>(QStringLiteral("applyFix"));
        QVERIFY(fix->isEnabled());
        QTest::mouseClick(fix, Qt::LeftButton);
        QVERIFY(ed.document()->policy().filesystem.mounts.isEmpty());
        QTRY_COMPARE(mounts->table()->rowCount(), 0);

        // Undo brings the mount back, in the table too.
        QTest::keySequence(&ed, QKeySequence::Undo);
        QCOMPARE(ed.document()->policy().filesystem.mounts.size(), 1);
        QCOMPARE(mounts->table()->rowCount(), 1);
        QCOMPARE(mounts->table()->item(0, 0)->text(), QStringLiteral("~/.ssh"));

        // Activating a finding with the keyboard shows its field.
        ed.showPage(0);
        QTRY_VERIFY(findings->topLevelItemCount() > 0);
        for (int i = 0; i < findings->topLevelItemCount(); ++i)
            if (findings->topLevelItem(i)->text(1).startsWith(QLatin1String("filesystem.mounts[0]")))
                findings->setCurrentItem(findings->topLevelItem(i));
        findings->setFocus();
        QTest::keyClick(findings, Qt::Key_Return);
        QCOMPARE(ed.currentPage(), pageIndex(ed, QStringLiteral("filesystem")));
        QCOMPARE(mounts->table()->currentRow(), 0);

        QVERIFY(ed.save(QStringLiteral("from the test")));
        auto reader = store::StoreReader::open(m_db);
        QVERIFY(reader);
        auto saved = reader->policy(QStringLiteral("open"));
        QVERIFY(saved && *saved);
        QCOMPARE((*saved)->version, 1);
        QCOMPARE((*saved)->note, QStringLiteral("from the test"));
        const QJsonObject doc = QJsonDocument::fromJson((*saved)->document).object();
        QCOMPARE(doc[QStringLiteral("network")][QStringLiteral("mode")].toString(), QStringLiteral("proxy"));
        QCOMPARE(doc[QStringLiteral("network")][QStringLiteral("allow")].toArray().first().toString(),
                 QStringLiteral("registry.npmjs.org"));
        QCOMPARE(doc[QStringLiteral("filesystem")][QStringLiteral("mounts")].toArray().first()[QStringLiteral("host")].toString(),
                 QStringLiteral("~/.ssh"));
        QVERIFY(!ed.document()->isModified());
        QVERIFY(!ed.isWindowModified());
    }

    void presetLadderAndUndoMerge()
    {
        PolicyEditor ed(m_db, m_store.get());
        QVERIFY(ed.openPolicy(QStringLiteral("standard")));
        QTest::mouseClick(ed.findChild<QPushButton *>(QStringLiteral("preset_hardened")), Qt::LeftButton);
        QCOMPARE(ed.document()->policy(), *policy::findPreset(u"hardened"));
        ed.findChild<QAction *>(QStringLiteral("actionUndo"))->trigger();
        QCOMPARE(ed.document()->policy(), *policy::findPreset(u"standard"));

        // Typing a name is one undo step, not one per key.
        ed.showPage(pageIndex(ed, QStringLiteral("general")));
        auto *name = ed.findChild<QLineEdit *>(QStringLiteral("field_name"));
        const int steps = ed.document()->undoStack()->index();
        name->selectAll();
        QTest::keyClicks(name, QStringLiteral("Team sandbox"));
        QCOMPARE(ed.document()->policy().name, QStringLiteral("Team sandbox"));
        QCOMPARE(ed.document()->undoStack()->index(), steps + 1);
    }

    void livePanels()
    {
        PolicyEditor ed(m_db, m_store.get());
        QVERIFY(ed.openPolicy(QStringLiteral("hardened")));
        QVERIFY2(ed.dockerPanel()->text().startsWith(QLatin1String("docker run")), qPrintable(ed.dockerPanel()->text().left(300)));
        QVERIFY(ed.bwrapPanel()->text().contains(QLatin1String("bwrap")));
        QVERIFY(ed.diffPanel()->text().startsWith(QLatin1String("No changes")));

        auto *kind = ed.findChild<QComboBox *>(QStringLiteral("testerKind"));
        kind->setCurrentText(QStringLiteral("fetch"));
        QTest::keyClicks(ed.findChild<QLineEdit *>(QStringLiteral("testerDomain")), QStringLiteral("evil.example"));
        QVERIFY2(ed.testerPanel()->result().contains(QLatin1String("DENY")), qPrintable(ed.testerPanel()->result()));

        ed.document()->edit(QStringLiteral("pids"), [](policy::Policy &p) { p.resources.pids = 50; });
        QTRY_VERIFY(ed.diffPanel()->text().contains(QLatin1String("+")));
        QTRY_VERIFY(ed.dockerPanel()->text().contains(QLatin1String("--pids-limit 50")));
    }

    void invalidValuesBlockSaving()
    {
        PolicyEditor ed(m_db, m_store.get());
        QVERIFY(ed.openPolicy(QStringLiteral("standard")));
        ed.show();
        QApplication::setActiveWindow(&ed);
        QVERIFY(QTest::qWaitForWindowActive(&ed));
        ed.showPage(pageIndex(ed, QStringLiteral("network")));
        addRowAndType(ed.findChild<RowTable *>(QStringLiteral("field_network.allow")), QStringLiteral("*."));
        QTRY_VERIFY(ed.findingsPanel()->errorCount() > 0);
        QVERIFY(!ed.save());
        auto reader = store::StoreReader::open(m_db);
        QVERIFY(!reader->policy(QStringLiteral("standard")).value()); // nothing saved
    }

    void importAndExport()
    {
        PolicyEditor ed(m_db, m_store.get());
        QVERIFY(ed.openPolicy(QStringLiteral("hardened")));
        const QString file = m_dir.filePath(QStringLiteral("exported.json"));
        QVERIFY(ed.exportFile(file));
        QFile f(file);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QByteArray text = f.readAll();
        f.close();
        QVERIFY(text.contains("\"pids\": 100"));
        text.replace("\"pids\": 100", "\"pids\": 42");
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(text);
        f.close();
        QVERIFY(ed.importFile(file));
        QCOMPARE(ed.document()->policy().resources.pids, 42);
        QVERIFY(ed.document()->isModified());
        ed.document()->undoStack()->undo(); // an import is one undoable step
        QCOMPARE(ed.document()->policy().resources.pids, 100);
    }

    void keyboardReachesEveryPage()
    {
        PolicyEditor ed(m_db, m_store.get());
        QVERIFY(ed.openPolicy(QStringLiteral("standard")));
        ed.show();
        QApplication::setActiveWindow(&ed);
        QVERIFY(QTest::qWaitForWindowActive(&ed));
        for (int i = 0; i < ed.pages().size(); ++i) {
            QTest::keyClick(&ed, Qt::Key(Qt::Key_1 + i), Qt::ControlModifier);
            QCOMPARE(ed.currentPage(), i);
            for (QWidget *w : ed.pages().at(i)->findChildren<QWidget *>()) {
                const bool insideSpinBox = qobject_cast<QAbstractSpinBox *>(w->parentWidget());
                if ((qobject_cast<QLineEdit *>(w) || qobject_cast<QComboBox *>(w)) && !insideSpinBox
                    && w->isVisibleTo(ed.pages().at(i)))
                    QVERIFY2(!w->accessibleName().isEmpty(), qPrintable(w->objectName()));
            }
        }
    }

    void openFromTheMainWindow()
    {
        MainWindow w(m_db, m_store.get());
        auto *list = w.policiesPanel()->list();
        QTRY_VERIFY(list->count() >= 4);
        PolicyEditor *ed = w.policiesPanel()->edit(QStringLiteral("gvisor"));
        QVERIFY(ed);
        QVERIFY(ed->windowTitle().contains(QLatin1String("gvisor")));
        ed->document()->edit(QStringLiteral("pids"), [](policy::Policy &p) { p.resources.pids = 77; });
        QVERIFY(ed->save());
        QTRY_VERIFY(list->findItems(QStringLiteral("version 1"), Qt::MatchContains).size() >= 1);
        ed->close();

        // A policy saved by another process (airlockctl) appears without a restart.
        const QString file = m_dir.filePath(QStringLiteral("fromcli.json"));
        QVERIFY(ed->exportFile(file));
        auto r = test::run(QStringLiteral(AIRLOCKCTL_PATH), {QStringLiteral("--db"), m_db, QStringLiteral("policy"),
                                                             QStringLiteral("import"), file});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QTRY_VERIFY(!list->findItems(QStringLiteral("fromcli"), Qt::MatchContains).isEmpty());
    }

    // The ladder's Measure button: progress, a result under each preset that is kept in the store, and
    // Cancel, which stops the run, removes its sandboxes and keeps the earlier figures.
    void ladderMeasureAndCancel()
    {
        if (auto bwrap = sandbox::LocalBackend::probeBwrap(); !bwrap)
            QSKIP(qPrintable(QStringLiteral("bubblewrap cannot run here: ") + bwrap.error().message));
        qputenv("AIRLOCK_SHIM", AIRLOCK_SHIM_PATH);
        ladder::LadderOptions options;
        options.rungs = {ladder::Rung::Host, ladder::Rung::Bubblewrap};
        options.coldRounds = 1;
        options.warmRounds = 3;
        options.fileRounds = 1;
        options.cpuRounds = 1;
        options.files = 2000;
        options.cpuIterations = 50000;
        {
            PolicyEditor ed(m_db, m_store.get());
            PresetLadder *ladder = ed.presetLadder();
            ladder->setOptions(options);
            auto *measure = ladder->findChild<QPushButton *>(QStringLiteral("measureLadder"));
            auto *progress = ladder->findChild<QProgressBar *>(QStringLiteral("ladderProgress"));
            QVERIFY(measure && progress);
            ed.show();
            QVERIFY(QTest::qWaitForWindowExposed(&ed));
            QCOMPARE(ladder->costText(QStringLiteral("standard")), QStringLiteral("not measured"));

            QSignalSpy measured(ladder, &PresetLadder::measured);
            QTest::mouseClick(measure, Qt::LeftButton);
            QVERIFY(ladder->isMeasuring());
            QVERIFY(progress->isVisible());
            QCOMPARE(measure->text(), QStringLiteral("&Cancel"));
            QVERIFY(measured.wait(120000));
            QVERIFY(!progress->isVisible());
            const QString standard = ladder->costText(QStringLiteral("standard"));
            QVERIFY2(standard.contains(QStringLiteral("start ×")) && standard.contains(QStringLiteral("files ×"))
                         && standard.contains(QStringLiteral("CPU ×")),
                     qPrintable(standard));
            QCOMPARE(ladder->costText(QStringLiteral("open")), standard); // the same rung
            QCOMPARE(ladder->costText(QStringLiteral("hardened")), QStringLiteral("not measured"));
            // Both lines of every figure are shown in full once the layout has caught up.
            auto *cost = ladder->findChild<QLabel *>(QStringLiteral("ladderCost_standard"));
            QTRY_VERIFY(cost->height() >= cost->sizeHint().height() && cost->width() >= cost->sizeHint().width());
            QVERIFY(QDir().mkpath(QStringLiteral(AIRLOCK_SCREENSHOT_DIR)));
            QVERIFY(ed.grab().save(QDir(QStringLiteral(AIRLOCK_SCREENSHOT_DIR)).filePath(QStringLiteral("policy-ladder-measured.png"))));

            // Again, canceled halfway through the bubblewrap rung.
            QSignalSpy canceled(ladder, &PresetLadder::measureCanceled);
            auto *state = ladder->findChild<QLabel *>(QStringLiteral("ladderState"));
            QTest::mouseClick(measure, Qt::LeftButton);
            QTRY_VERIFY_WITH_TIMEOUT(state->text().contains(QLatin1String("bubblewrap")), 60000);
            QTest::mouseClick(measure, Qt::LeftButton);
            QVERIFY(canceled.wait(60000));
            QCOMPARE(measure->text(), QStringLiteral("&Measure"));
            QVERIFY(measure->isEnabled());
            QCOMPARE(ladder->costText(QStringLiteral("standard")), standard); // the earlier figures stay
            sandbox::LocalBackend local;
            local.discover();
            for (sandbox::Sandbox *s : local.sandboxes())
                QVERIFY2(!s->info().policyName.startsWith(QLatin1String("ladder:")), qPrintable(s->id()));
        }
        // Kept in the store: a new editor shows the same figures.
        PolicyEditor again(m_db, m_store.get());
        QVERIFY(again.presetLadder()->result());
        QVERIFY(again.presetLadder()->costText(QStringLiteral("standard")).contains(QStringLiteral("start ×")));
    }

    void screenshotsOfEveryPage()
    {
        PolicyEditor ed(m_db, m_store.get());
        QVERIFY(ed.openPolicy(QStringLiteral("standard")));
        ed.resize(1280, 820);
        ed.show();
        QVERIFY(QTest::qWaitForWindowExposed(&ed));
        const QString dir = QStringLiteral(AIRLOCK_SCREENSHOT_DIR);
        QVERIFY(QDir().mkpath(dir));
        const QStringList tabs{QStringLiteral("findings"), QStringLiteral("bwrap"), QStringLiteral("docker"),
                               QStringLiteral("changes"), QStringLiteral("tester")};
        for (int i = 0; i < ed.pages().size(); ++i) {
            ed.showPage(i);
            ed.sideTabs()->setCurrentIndex(i % tabs.size()); // every side panel appears in some shot
            QCoreApplication::processEvents();
            const QString file = QDir(dir).filePath(QStringLiteral("policy-%1-%2.png")
                                                        .arg(ed.pages().at(i)->section(), tabs.at(i % tabs.size())));
            QVERIFY(ed.grab().save(file));
        }
    }
};

QTEST_MAIN(TestPolicyEditor)
#include "tst_policyeditor.moc"
