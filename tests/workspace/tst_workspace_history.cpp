// The history as the GUI sees it: the tree, references, diffs, and jobs off the calling thread.
#include "workspace/checkpointjobs.h"
#include "workspace/checkpointtree.h"
#include "workspacetestutil.h"

#include <QFutureWatcher>
#include <QSignalSpy>
#include <QThread>

using namespace airlock;
using namespace airlock::workspace;
using airlock::test::put;

class TestHistory : public QObject
{
    Q_OBJECT

    static Checkpoint take(Checkpointer &c, const QString &session = QStringLiteral("s1"))
    {
        auto r = c.create(CheckpointRequest{session});
        if (!r)
            qWarning() << r.error().message;
        return r ? r->checkpoint : Checkpoint();
    }

    static CheckpointTree handMadeTree()
    {
        CheckpointTree t;
        t.session = QStringLiteral("s");
        const QStringList commits{QStringLiteral("abcd1111") + QString(32, u'0'), QStringLiteral("abcd2222") + QString(32, u'0'),
                                  QStringLiteral("ffff0000") + QString(32, u'1')};
        for (int i = 0; i < commits.size(); ++i) {
            CheckpointNode n;
            n.checkpoint.session = i == 2 ? QStringLiteral("other") : QStringLiteral("s");
            n.checkpoint.commit = commits[i];
            n.parent = i - 1;
            t.nodes.append(n);
        }
        return t;
    }

private Q_SLOTS:
    void resolveReferences_data()
    {
        QTest::addColumn<QString>("ref");
        QTest::addColumn<int>("node"); // -1: an error
        QTest::addColumn<QString>("needle");
        QTest::newRow("unique prefix") << QStringLiteral("abcd1") << 0 << QString();
        QTest::newRow("upper case") << QStringLiteral("ABCD2") << 1 << QString();
        QTest::newRow("ambiguous") << QStringLiteral("abcd") << -1 << QStringLiteral("matches 2");
        QTest::newRow("latest of the session") << QStringLiteral("latest") << 1 << QString();
        QTest::newRow("family member") << QStringLiteral("ffff") << 2 << QString();
        QTest::newRow("full id") << QStringLiteral("ffff0000") + QString(32, u'1') << 2 << QString();
        QTest::newRow("too short") << QStringLiteral("abc") << -1 << QStringLiteral("at least four");
        QTest::newRow("not hex") << QStringLiteral("xyz12") << -1 << QStringLiteral("not a checkpoint");
        QTest::newRow("unknown") << QStringLiteral("1234") << -1 << QStringLiteral("no checkpoint");
        QTest::newRow("too long") << QString(41, u'a') << -1 << QStringLiteral("not a checkpoint");
    }

    void resolveReferences()
    {
        QFETCH(QString, ref);
        QFETCH(int, node);
        QFETCH(QString, needle);
        const CheckpointTree t = handMadeTree();
        auto r = t.resolve(ref, QStringLiteral("s"));
        if (node >= 0) {
            AIRLOCK_VERIFY_RESULT(r);
            QCOMPARE(*r, node);
        } else {
            QVERIFY(!r);
            QVERIFY2(r.error().message.contains(needle), qPrintable(r.error().message));
        }
        QCOMPARE(t.lineage(1), (QList<int>{0, 1}));
    }

    void treeOrderAndMalformedEvents()
    {
        test::Bench b;
        Checkpointer c(*b.store);
        QVERIFY(put(b.ws(QStringLiteral("f")), "1"));
        const Checkpoint one = take(c);
        QVERIFY(b.store->append(QStringLiteral("s1"), QStringLiteral("checkpoint.created"), QJsonObject{{QStringLiteral("commit"), 42}}));
        QVERIFY(put(b.ws(QStringLiteral("f")), "2"));
        const Checkpoint two = take(c);
        auto tree = loadCheckpointTree(b.db, QStringLiteral("s1"));
        AIRLOCK_VERIFY_RESULT(tree);
        QCOMPARE(tree->nodes.size(), 2);
        QCOMPARE(tree->malformed, 1);
        QCOMPARE(tree->roots, QList<int>{0});
        QCOMPARE(tree->nodes[1].parent, 0);
        QCOMPARE(tree->nodes[0].checkpoint.commit, one.commit);
        QCOMPARE(tree->latest(QStringLiteral("s1")), 1);
        QVERIFY(tree->nodes[1].checkpoint.seq > tree->nodes[0].checkpoint.seq);
        QCOMPARE(tree->nodes[1].checkpoint.commit, two.commit);
        auto missing = loadCheckpointTree(b.db, QStringLiteral("nobody"));
        QVERIFY(!missing);
        QCOMPARE(missing.error().code, ErrorCode::NotFound);
    }

    void diffs()
    {
        test::Bench b;
        Checkpointer c(*b.store);
        QVERIFY(put(b.ws(QStringLiteral("text.txt")), "line 1\nline 2\nline 3\n"));
        QVERIFY(put(b.ws(QStringLiteral("image.png")), QByteArray("\x89PNG\r\n\x1a\n\0\0\0", 11)));
        QVERIFY(put(b.ws(QStringLiteral("long.txt")), QByteArray("x\n").repeated(5000)));
        const Checkpoint one = take(c);
        QVERIFY(put(b.ws(QStringLiteral("text.txt")), "line 1\nline two\nline 3\nline 4\n"));
        QVERIFY(put(b.ws(QStringLiteral("image.png")), QByteArray("\x89PNG\r\n\x1a\n\1\1\1", 11)));
        QVERIFY(put(b.ws(QStringLiteral("long.txt")), QByteArray("y\n").repeated(5000)));
        const Checkpoint two = take(c);
        QVERIFY(put(b.ws(QStringLiteral("text.txt")), "line 1\n"));
        const Checkpoint three = take(c);

        auto d = diffCheckpoints(b.db, QStringLiteral("s1"), two.commit);
        AIRLOCK_VERIFY_RESULT(d);
        QCOMPARE(d->from.commit, one.commit);
        QCOMPARE(d->files.size(), 3);
        const FileDiff *text = nullptr, *image = nullptr;
        for (const FileDiff &f : d->files) {
            if (f.change.path == QLatin1String("text.txt"))
                text = &f;
            if (f.change.path == QLatin1String("image.png"))
                image = &f;
        }
        QVERIFY(text && image);
        QCOMPARE(text->change.added, 2);
        QCOMPARE(text->change.removed, 1);
        QVERIFY(text->patch.startsWith(QStringLiteral("diff --git a/text.txt b/text.txt")));
        QVERIFY(text->patch.contains(QStringLiteral("\n-line 2\n")));
        QVERIFY(text->patch.contains(QStringLiteral("\n+line two\n")));
        QVERIFY(image->change.binary);

        // Any two checkpoints, either way round; patches cut at a line end when long.
        DiffOptions small;
        small.maxPatchBytes = 1000;
        d = diffCheckpoints(b.db, QStringLiteral("s1"), three.commit.left(6), one.commit.left(6), small);
        AIRLOCK_VERIFY_RESULT(d);
        QCOMPARE(d->from.commit, one.commit);
        for (const FileDiff &f : d->files) {
            if (f.change.path == QLatin1String("long.txt")) {
                QVERIFY(f.patchTruncated);
                QVERIFY(f.patch.size() <= 1000);
                QVERIFY(f.patch.endsWith(u'\n'));
            }
        }
        // The first checkpoint against nothing: everything is added.
        d = diffCheckpoints(b.db, QStringLiteral("s1"), one.commit);
        AIRLOCK_VERIFY_RESULT(d);
        QVERIFY(d->from.commit.isEmpty());
        QCOMPARE(d->files.size(), 3);
        QCOMPARE(d->linesAdded, 3 + 5000);
        // Stats only.
        DiffOptions stats;
        stats.patches = false;
        d = diffCheckpoints(b.db, QStringLiteral("s1"), two.commit, QString(), stats);
        AIRLOCK_VERIFY_RESULT(d);
        QVERIFY(d->files.first().patch.isEmpty());
        QCOMPARE(d->linesAdded, 2 + 5000);
    }

    void jobsReportProgressAndPostResultsBack()
    {
        test::Bench b;
        for (int i = 0; i < 600; ++i)
            QVERIFY(put(b.ws(QStringLiteral("d%1/f%2").arg(i % 20).arg(i)), QByteArray::number(i)));
        CheckpointJobs jobs(*b.store);
        auto job = jobs.create(CheckpointRequest{QStringLiteral("s1"), Cause::Start});
        QFutureWatcher<Result<CheckpointOutcome>> watcher;
        QSignalSpy finished(&watcher, &QFutureWatcherBase::finished);
        QSignalSpy texts(&watcher, &QFutureWatcherBase::progressTextChanged);
        watcher.setFuture(job.future());
        QVERIFY(finished.wait(60000) || finished.size() == 1);
        const auto result = job.future().result();
        AIRLOCK_VERIFY_RESULT(result);
        QVERIFY(result->created);
        QCOMPARE(result->checkpoint.filesTotal, 600);
        QVERIFY(texts.size() >= 1);
        QCOMPARE(texts.first().first().toString(), QStringLiteral("Scanning the workspace"));

        // A continuation runs on the thread of its context object: the GUI's.
        QThread *where = nullptr;
        QSignalSpy treeDone(&watcher, &QFutureWatcherBase::finished);
        QFutureWatcher<void> chained;
        QSignalSpy chainedDone(&chained, &QFutureWatcherBase::finished);
        chained.setFuture(jobs.tree(QStringLiteral("s1")).future().then(this, [&](const Result<CheckpointTree> &t) {
            where = QThread::currentThread();
            QCOMPARE(t->nodes.size(), 1);
        }));
        QVERIFY(chainedDone.wait(10000) || chainedDone.size() == 1);
        QCOMPARE(where, QThread::currentThread());
    }

    void jobsForOneSessionRunInOrder()
    {
        test::Bench b;
        QVERIFY(put(b.ws(QStringLiteral("f")), "x"));
        CheckpointJobs jobs(*b.store, {}, 4);
        QList<Job<CheckpointOutcome>> all;
        for (int i = 0; i < 6; ++i) {
            CheckpointRequest req{QStringLiteral("s1"), Cause::ToolCall};
            req.toolCallId = QStringLiteral("tc%1").arg(i);
            req.allowEmpty = true;
            all.append(jobs.create(req));
        }
        QString parent;
        for (int i = 0; i < all.size(); ++i) {
            all[i].future().waitForFinished();
            const auto r = all[i].future().result();
            AIRLOCK_VERIFY_RESULT(r);
            QCOMPARE(r->checkpoint.toolCallId, QStringLiteral("tc%1").arg(i));
            if (i > 0)
                QCOMPARE(r->checkpoint.parent, parent);
            parent = r->checkpoint.commit;
        }
    }

    void cancelledJobsSaySo()
    {
        test::Bench b;
        for (int i = 0; i < 300; ++i)
            QVERIFY(put(b.ws(QStringLiteral("f%1").arg(i)), QByteArray::number(i)));
        CheckpointJobs jobs(*b.store);
        auto first = jobs.create(CheckpointRequest{QStringLiteral("s1")});
        auto second = jobs.create(CheckpointRequest{QStringLiteral("s1")});
        second.cancel(); // still queued behind the first
        first.future().waitForFinished();
        second.future().waitForFinished();
        AIRLOCK_VERIFY_RESULT(first.future().result());
        const auto r = second.future().result();
        QVERIFY(!r);
        QCOMPARE(r.error().code, ErrorCode::Cancelled);
        QVERIFY(b.events(QStringLiteral("s1"), QStringLiteral("checkpoint.failed")).isEmpty());
    }

    void destroyingTheRunnerWaits()
    {
        test::Bench b;
        for (int i = 0; i < 300; ++i)
            QVERIFY(put(b.ws(QStringLiteral("f%1").arg(i)), QByteArray::number(i)));
        QFuture<Result<CheckpointOutcome>> f;
        {
            CheckpointJobs jobs(*b.store);
            f = jobs.create(CheckpointRequest{QStringLiteral("s1")}).future();
        }
        QVERIFY(f.isFinished());
        const auto r = f.result();
        // Closing cancels: either it finished before, or it stopped and said so.
        QVERIFY(r || r.error().code == ErrorCode::Cancelled);
    }
};

QTEST_GUILESS_MAIN(TestHistory)
#include "tst_workspace_history.moc"
