// The policy editor's document: every edit undoable, value edits merged, modified state exact.
#include "policy/presets.h"
#include "policydocument.h"

#include <QSignalSpy>
#include <QTest>

using namespace airlock;
using namespace airlock::ui;

class TestPolicyDocument : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void editUndoRedo()
    {
        PolicyDocument doc;
        const auto standard = *policy::findPreset(u"standard");
        doc.load(standard, 1);
        QVERIFY(!doc.isModified());
        QSignalSpy modified(&doc, &PolicyDocument::modifiedChanged);

        doc.edit(QStringLiteral("Network: proxy"), [](policy::Policy &p) { p.network.mode = policy::NetworkMode::None; });
        doc.edit(QStringLiteral("Add domain"), [](policy::Policy &p) { p.network.allow << QStringLiteral("registry.npmjs.org"); });
        QVERIFY(doc.isModified());
        QCOMPARE(modified.size(), 1);
        QCOMPARE(doc.undoStack()->count(), 2);
        doc.edit(QStringLiteral("nothing"), [](policy::Policy &) {});
        QCOMPARE(doc.undoStack()->count(), 2); // a no-op is not an undo step

        doc.undoStack()->undo();
        QCOMPARE(doc.policy().network.allow, standard.network.allow);
        doc.undoStack()->undo();
        QCOMPARE(doc.policy(), standard);
        QVERIFY(!doc.isModified());
        QCOMPARE(modified.size(), 2);
        doc.undoStack()->redo();
        QCOMPARE(doc.policy().network.mode, policy::NetworkMode::None);
    }

    void valueEditsMerge()
    {
        PolicyDocument doc;
        doc.load(*policy::findPreset(u"standard"), 1);
        for (qint64 mib : {100, 200, 300})
            doc.edit(QStringLiteral("Memory"), [mib](policy::Policy &p) { p.resources.memoryBytes = mib << 20; },
                     QStringLiteral("resources.memoryBytes"));
        QCOMPARE(doc.undoStack()->count(), 1);
        QCOMPARE(doc.policy().resources.memoryBytes, qint64(300) << 20);
        doc.undoStack()->undo();
        QCOMPARE(doc.policy(), doc.saved());
    }

    void saveMarksClean()
    {
        PolicyDocument doc;
        doc.load(*policy::findPreset(u"open"), 0);
        doc.replace(QStringLiteral("Preset: hardened"), *policy::findPreset(u"hardened"));
        QVERIFY(doc.isModified());
        doc.markSaved(3);
        QVERIFY(!doc.isModified());
        QCOMPARE(doc.savedVersion(), 3);
        QVERIFY(doc.undoStack()->isClean());
        doc.undoStack()->undo(); // back to open: differs from what was saved
        QVERIFY(doc.isModified());
    }
};

QTEST_GUILESS_MAIN(TestPolicyDocument)
#include "tst_policydocument.moc"
