// The UI models under QAbstractItemModelTester, fed the way the store's feed feeds them.
#include "eventlistmodel.h"
#include "sessionsmodel.h"

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QTest>

using namespace airlock;
using namespace airlock::ui;

namespace {
store::SessionRow session(const QString &id, const QString &state = QStringLiteral("created"), qint64 seq = 1)
{
    store::SessionRow r;
    r.id = id;
    r.title = QStringLiteral("Session ") + id;
    r.state = state;
    r.lastSeq = seq;
    r.eventCount = seq;
    return r;
}

QList<store::Event> events(qint64 from, qint64 to)
{
    QList<store::Event> out;
    for (qint64 s = from; s <= to; ++s)
        out.append({s, QStringLiteral("a"), QStringLiteral("test.tick"), {{QStringLiteral("n"), s}}, s * 1000});
    return out;
}
} // namespace

class TestModels : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void sessionsMergeKeepsRowsInPlace()
    {
        SessionsModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
        QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
        QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);

        model.merge({session(QStringLiteral("a")), session(QStringLiteral("b"))});
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(inserted.size(), 1);

        // An update and a new session in one delivery: the update is a dataChanged, the new row
        // is appended, nothing is reset.
        model.merge({session(QStringLiteral("b"), QStringLiteral("running"), 5), session(QStringLiteral("c"))});
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(reset.size(), 0);
        QCOMPARE(changed.size(), 1);
        QCOMPARE(changed.first().at(0).toModelIndex().row(), 1);
        QCOMPARE(model.index(1, SessionsModel::State).data().toString(), QStringLiteral("running"));
        QCOMPARE(model.index(1, 0).data(SessionsModel::SessionIdRole).toString(), QStringLiteral("b"));
        QCOMPARE(model.indexOf(QStringLiteral("c")).row(), 2);
        QVERIFY(!model.indexOf(QStringLiteral("zz")).isValid());
        QCOMPARE(model.index(0, SessionsModel::Title).data().toString(), QStringLiteral("Session a"));
        QCOMPARE(model.headerData(SessionsModel::State, Qt::Horizontal).toString(), QStringLiteral("State"));

        // Many updates spread out are coalesced into one signal.
        changed.clear();
        model.merge({session(QStringLiteral("a"), QStringLiteral("idle")), session(QStringLiteral("c"), QStringLiteral("idle"))});
        QCOMPARE(changed.size(), 1);
        QCOMPARE(changed.first().at(0).toModelIndex().row(), 0);
        QCOMPARE(changed.first().at(1).toModelIndex().row(), 2);
        model.merge({});
    }

    void eventListIsBoundedAndIgnoresStaleAnswers()
    {
        EventListModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setCapacity(100);
        model.setSession(QStringLiteral("a"));
        model.setHistory(QStringLiteral("other"), events(1, 10)); // late answer for another session
        QCOMPARE(model.rowCount(), 0);
        model.setHistory(QStringLiteral("a"), events(1, 60));
        QCOMPARE(model.rowCount(), 60);
        model.append(QStringLiteral("a"), events(55, 90)); // overlaps what history held
        QCOMPARE(model.rowCount(), 90);
        QCOMPARE(model.index(89).data(EventListModel::SeqRole).toLongLong(), 90);
        model.append(QStringLiteral("a"), events(91, 150));
        QCOMPARE(model.rowCount(), 100);
        QCOMPARE(model.droppedRows(), 50);
        QCOMPARE(model.index(0).data(EventListModel::SeqRole).toLongLong(), 51);
        QVERIFY(model.index(0).data().toString().contains(QStringLiteral("test.tick")));
        model.append(QStringLiteral("b"), events(151, 160));
        QCOMPARE(model.rowCount(), 100);
        model.setSession(QStringLiteral("b"));
        QCOMPARE(model.rowCount(), 0);
    }
};

QTEST_MAIN(TestModels)
#include "tst_models.moc"
