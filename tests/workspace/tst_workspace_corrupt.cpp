// A damaged shadow repository: a clear error that says where and what to do, a checkpoint.failed in
// the history, and not one event lost.
#include "workspace/checkpointer.h"
#include "workspace/checkpointtree.h"
#include "workspacetestutil.h"

#include <QDirIterator>

using namespace airlock;
using namespace airlock::workspace;
using airlock::test::put;

class TestCorrupt : public QObject
{
    Q_OBJECT

    static QString looseObject(const QString &gitDir, const QString &hex)
    {
        return gitDir + QStringLiteral("/objects/") + hex.left(2) + u'/' + hex.mid(2);
    }

private Q_SLOTS:
    void damage_data()
    {
        QTest::addColumn<QString>("what");
        QTest::addColumn<bool>("recovers"); // the stat cache is only a cache: damage there heals
        QTest::newRow("garbage in the head ref") << QStringLiteral("ref") << false;
        QTest::newRow("head commit truncated") << QStringLiteral("commit") << false;
        QTest::newRow("head commit missing") << QStringLiteral("commit-gone") << false;
        QTest::newRow("a tree object is garbage") << QStringLiteral("tree") << false;
        QTest::newRow("objects folder gone") << QStringLiteral("objects") << false;
        QTest::newRow("garbage config") << QStringLiteral("config") << false;
        QTest::newRow("garbage index") << QStringLiteral("index") << true;
        QTest::newRow("truncated index") << QStringLiteral("index-short") << true;
    }

    void damage()
    {
        QFETCH(QString, what);
        QFETCH(bool, recovers);
        test::Bench b;
        Checkpointer c(*b.store);
        QVERIFY(put(b.ws(QStringLiteral("a.txt")), "a\n"));
        QVERIFY(put(b.ws(QStringLiteral("sub/b.txt")), "b\n"));
        auto first = c.create(CheckpointRequest{QStringLiteral("s1")});
        AIRLOCK_VERIFY_RESULT(first);
        const QString gitDir = shadowGitDir(b.db, QStringLiteral("s1"));
        const Checkpoint cp = first->checkpoint;

        if (what == QLatin1String("ref")) {
            QVERIFY(put(gitDir + QStringLiteral("/refs/heads/checkpoints"), "this is not an object id\n"));
        } else if (what == QLatin1String("commit")) {
            QFile f(looseObject(gitDir, cp.commit));
            QVERIFY(f.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner));
            QVERIFY(f.resize(7));
        } else if (what == QLatin1String("commit-gone")) {
            QVERIFY(QFile::remove(looseObject(gitDir, cp.commit)));
        } else if (what == QLatin1String("tree")) {
            QFile f(looseObject(gitDir, cp.tree));
            QVERIFY(f.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner));
            QVERIFY(put(f.fileName(), "garbage, not zlib"));
        } else if (what == QLatin1String("objects")) {
            QVERIFY(QDir(gitDir + QStringLiteral("/objects")).removeRecursively());
        } else if (what == QLatin1String("config")) {
            QVERIFY(put(gitDir + QStringLiteral("/config"), "[core\nthis is = = not a config ["));
        } else if (what == QLatin1String("index")) {
            QVERIFY(put(gitDir + QStringLiteral("/index"), "DIRC garbage garbage garbage"));
        } else if (what == QLatin1String("index-short")) {
            QFile f(gitDir + QStringLiteral("/index"));
            QVERIFY(f.resize(f.size() / 2));
        }
        QVERIFY(put(b.ws(QStringLiteral("a.txt")), "a changed\n"));

        auto reader = store::StoreReader::open(b.db);
        QVERIFY(reader);
        const qint64 eventsBefore = reader->lastSeq().value();
        auto second = c.create(CheckpointRequest{QStringLiteral("s1")});
        if (recovers) {
            AIRLOCK_VERIFY_RESULT(second);
            QVERIFY(second->created);
            QVERIFY(second->cacheRebuilt);
            QCOMPARE(second->checkpoint.filesTotal, 1); // only a.txt, even with the cache gone
            QCOMPARE(second->checkpoint.parent, cp.commit);
            return;
        }
        QVERIFY(!second);
        const QString message = second.error().message;
        QVERIFY2(message.contains(gitDir), qPrintable(message));
        QVERIFY2(message.contains(QStringLiteral("damaged")), qPrintable(message));
        QVERIFY2(message.contains(QStringLiteral("events are not affected")), qPrintable(message));
        QCOMPARE(second.error().code, ErrorCode::Corrupt);

        // Nothing already stored was lost, the store is sound, and the failure is on record.
        const auto check = reader->check();
        QVERIFY(check && check->ok());
        const auto failed = b.events(QStringLiteral("s1"), QLatin1String(kinds::CheckpointFailed));
        QCOMPARE(failed.size(), 1);
        QVERIFY(failed.first().payload[QStringLiteral("error")].toString().contains(QStringLiteral("damaged")));
        QCOMPARE(failed.first().payload[QStringLiteral("code")].toString(), QStringLiteral("corrupt"));
        QCOMPARE(reader->lastSeq().value(), eventsBefore + 1);
        QVERIFY(b.store->append(QStringLiteral("s1"), QStringLiteral("agent.message"), {{QStringLiteral("text"), QStringLiteral("still here")}}));
        QVERIFY(b.store->flush());
        QCOMPARE(reader->lastSeq().value(), eventsBefore + 2);

        // The history still lists from the store; rewinds and diffs fail with the same advice.
        auto tree = loadCheckpointTree(b.db, QStringLiteral("s1"));
        AIRLOCK_VERIFY_RESULT(tree);
        QCOMPARE(tree->nodes.size(), 1);
        QCOMPARE(tree->failures.size(), 1);
        auto rewind = c.rewind(RewindRequest{QStringLiteral("s1"), cp.commit});
        QVERIFY(!rewind);
        QVERIFY2(rewind.error().message.contains(gitDir), qPrintable(rewind.error().message));
        QCOMPARE(test::slurp(b.ws(QStringLiteral("a.txt"))), QByteArray("a changed\n")); // workspace untouched

        // Moving the damaged history away, as the message says, starts a new one.
        QVERIFY(QDir().rename(gitDir, gitDir + QStringLiteral(".damaged")));
        auto fresh = c.create(CheckpointRequest{QStringLiteral("s1")});
        AIRLOCK_VERIFY_RESULT(fresh);
        QVERIFY(fresh->created);
        QVERIFY(fresh->checkpoint.parent.isEmpty());
    }

    void unreadableWorkspaceFileIsSkippedNotFatal()
    {
        if (::geteuid() == 0)
            QSKIP("root reads files whatever their permissions; nothing to skip");
        test::Bench b;
        Checkpointer c(*b.store);
        QVERIFY(put(b.ws(QStringLiteral("ok.txt")), "fine"));
        QVERIFY(put(b.ws(QStringLiteral("locked.txt")), "secret"));
        QVERIFY(QFile::setPermissions(b.ws(QStringLiteral("locked.txt")), QFileDevice::WriteOwner));
        auto r = c.create(CheckpointRequest{QStringLiteral("s1")});
        AIRLOCK_VERIFY_RESULT(r);
        QCOMPARE(r->checkpoint.skippedTotal, 1);
        QCOMPARE(r->checkpoint.skipped.first().reason, QStringLiteral("unreadable"));
    }
};

QTEST_GUILESS_MAIN(TestCorrupt)
#include "tst_workspace_corrupt.moc"
