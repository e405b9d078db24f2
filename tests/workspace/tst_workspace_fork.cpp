// Fork: a new session from a checkpoint, in a new folder or in place, linked to its parent, with the
// transcript the agent continues from.
#include "workspace/checkpointer.h"
#include "workspace/checkpointtree.h"
#include "workspacetestutil.h"

using namespace airlock;
using namespace airlock::workspace;
using airlock::test::put;

class TestFork : public QObject
{
    Q_OBJECT

    static Checkpoint take(Checkpointer &c, const QString &session = QStringLiteral("s1"))
    {
        auto r = c.create(CheckpointRequest{session});
        if (!r)
            qWarning() << r.error().message;
        return r ? r->checkpoint : Checkpoint();
    }

    static bool say(test::Bench &b, const QString &session, const QString &kind, const QString &text)
    {
        return b.store->append(session, kind, QJsonObject{{QStringLiteral("text"), text}}) && b.store->flush();
    }

private Q_SLOTS:
    void forkIntoANewFolder()
    {
        test::Bench b;
        Checkpointer c(*b.store);
        QVERIFY(say(b, QStringLiteral("s1"), QStringLiteral("user.message"), QStringLiteral("make a")));
        QVERIFY(put(b.ws(QStringLiteral("a.txt")), "a1\n"));
        QVERIFY(put(b.ws(QStringLiteral("tool")), "#!/bin/sh\n"));
        QVERIFY(test::sh(b.workspace, QStringLiteral("chmod +x tool && ln -s a.txt alias")).exitCode == 0);
        const auto stateA = test::fingerprint(b.workspace);
        const Checkpoint a = take(c);
        QVERIFY(say(b, QStringLiteral("s1"), QStringLiteral("agent.message"), QStringLiteral("later, after a")));
        QVERIFY(put(b.ws(QStringLiteral("a.txt")), "a2\n"));
        QVERIFY(put(b.ws(QStringLiteral("b.txt")), "b\n"));
        const Checkpoint bcp = take(c);
        const auto stateB = test::fingerprint(b.workspace);

        const QString folder = b.dir.filePath(QStringLiteral("fork-here"));
        auto r = c.fork(ForkRequest{QStringLiteral("s1"), a.commit.left(10), QString(), folder, QString()});
        AIRLOCK_VERIFY_RESULT(r);
        QCOMPARE(r->session, QStringLiteral("s1-fork-1"));
        QCOMPARE(r->commit, a.commit);
        QVERIFY(!r->sameFolder);
        QVERIFY(r->safety.isEmpty());
        QCOMPARE(test::fingerprint(folder), stateA);
        QCOMPARE(test::fingerprint(b.workspace), stateB); // the parent's folder is not touched
        QVERIFY(test::isExecutable(folder + QStringLiteral("/tool")));

        auto reader = store::StoreReader::open(b.db);
        QVERIFY(reader);
        const auto row = reader->session(r->session).value();
        QVERIFY(row);
        QCOMPARE(row->parent, QStringLiteral("s1"));
        QCOMPARE(row->workspace, folder);
        QCOMPARE(row->title, QStringLiteral("Session s1 (fork)"));
        const auto created = b.events(r->session, QStringLiteral("session.created"));
        const QJsonObject fork = created.first().payload[QStringLiteral("fork")].toObject();
        QCOMPARE(fork[QStringLiteral("session")].toString(), QStringLiteral("s1"));
        QCOMPARE(fork[QStringLiteral("checkpoint")].toString(), a.commit);
        QCOMPARE(fork[QStringLiteral("seq")].toInteger(), a.afterSeq);
        QCOMPARE(fork[QStringLiteral("folder")].toString(), QStringLiteral("new"));

        // The fork shows as a branch of the parent's history, from either side.
        for (const QString &from : {QStringLiteral("s1"), r->session}) {
            auto tree = loadCheckpointTree(b.db, from);
            AIRLOCK_VERIFY_RESULT(tree);
            QCOMPARE(tree->sessions, (QStringList{QStringLiteral("s1"), r->session}));
            const int na = tree->find(QStringLiteral("s1"), a.commit);
            const int base = tree->find(r->session, a.commit);
            QVERIFY(na >= 0 && base >= 0);
            QCOMPARE(tree->nodes[base].parent, na);
            QCOMPARE(tree->nodes[base].checkpoint.cause, Cause::Fork);
            QCOMPARE(tree->nodes[na].children.size(), 2);
        }

        // Work in the fork builds on the checkpoint; diffs reach across the family.
        QVERIFY(put(folder + QStringLiteral("/a.txt"), "a-fork\n"));
        const Checkpoint f1 = take(c, r->session);
        QCOMPARE(f1.parent, a.commit);
        QCOMPARE(f1.filesTotal, 1);
        auto againstParent = diffCheckpoints(b.db, r->session, f1.commit);
        AIRLOCK_VERIFY_RESULT(againstParent);
        QCOMPARE(againstParent->files.size(), 1);
        QVERIFY(againstParent->files.first().patch.contains(QStringLiteral("+a-fork")));
        auto sibling = diffCheckpoints(b.db, QStringLiteral("s1"), bcp.commit, f1.commit.left(8));
        AIRLOCK_VERIFY_RESULT(sibling);
        QCOMPARE(sibling->files.size(), 2); // a.txt differs, b.txt only in B

        // A rewind in the fork can go back past the fork point, into the parent's history.
        AIRLOCK_VERIFY_RESULT(c.rewind(RewindRequest{r->session, a.commit}));
        QCOMPARE(test::fingerprint(folder), stateA);
    }

    void forkInPlaceKeepsTheParentsState()
    {
        test::Bench b;
        Checkpointer c(*b.store);
        QVERIFY(put(b.ws(QStringLiteral("f.txt")), "one\n"));
        const Checkpoint one = take(c);
        QVERIFY(put(b.ws(QStringLiteral("f.txt")), "two\n"));
        QVERIFY(put(b.ws(QStringLiteral("extra.txt")), "unsaved\n"));
        const auto before = test::fingerprint(b.workspace);
        auto r = c.fork(ForkRequest{QStringLiteral("s1"), one.commit, QStringLiteral("alt"), QString(), QStringLiteral("Try again")});
        AIRLOCK_VERIFY_RESULT(r);
        QVERIFY(r->sameFolder);
        QCOMPARE(r->workspace, b.workspace);
        QCOMPARE(test::slurp(b.ws(QStringLiteral("f.txt"))), QByteArray("one\n"));
        QVERIFY(!QFileInfo::exists(b.ws(QStringLiteral("extra.txt"))));
        // The parent's unsaved state became its safety checkpoint.
        QVERIFY(!r->safety.isEmpty());
        auto tree = loadCheckpointTree(b.db, QStringLiteral("s1"));
        AIRLOCK_VERIFY_RESULT(tree);
        const int safety = tree->find(QStringLiteral("s1"), r->safety);
        QVERIFY(safety >= 0);
        QCOMPARE(tree->nodes[safety].checkpoint.cause, Cause::Safety);
        QVERIFY(tree->nodes[safety].checkpoint.label.contains(QStringLiteral("alt")));
        // The fork starts with the parent's stat cache: nothing needs reading again.
        auto next = c.create(CheckpointRequest{QStringLiteral("alt")});
        AIRLOCK_VERIFY_RESULT(next);
        QVERIFY(!next->created);
        // Rewinding the parent to its safety copy brings the folder back.
        AIRLOCK_VERIFY_RESULT(c.rewind(RewindRequest{QStringLiteral("s1"), r->safety}));
        QCOMPARE(test::fingerprint(b.workspace), before);
    }

    void forkOfAFork()
    {
        test::Bench b;
        Checkpointer c(*b.store);
        QVERIFY(put(b.ws(QStringLiteral("x")), "0"));
        const Checkpoint zero = take(c);
        const QString f1dir = b.dir.filePath(QStringLiteral("f1"));
        auto f1 = c.fork(ForkRequest{QStringLiteral("s1"), zero.commit, QStringLiteral("f1"), f1dir, QString()});
        AIRLOCK_VERIFY_RESULT(f1);
        QVERIFY(put(f1dir + QStringLiteral("/x"), "1"));
        const Checkpoint one = take(c, QStringLiteral("f1"));
        const QString f2dir = b.dir.filePath(QStringLiteral("f2"));
        auto f2 = c.fork(ForkRequest{QStringLiteral("f1"), one.commit, QStringLiteral("f2"), f2dir, QString()});
        AIRLOCK_VERIFY_RESULT(f2);
        QCOMPARE(test::slurp(f2dir + QStringLiteral("/x")), QByteArray("1"));
        // Every ancestor's objects are one hop away.
        const QByteArray alternates = test::slurp(shadowGitDir(b.db, QStringLiteral("f2")) + QStringLiteral("/objects/info/alternates"));
        QVERIFY(alternates.contains("/shadow/f1.git/objects"));
        QVERIFY(alternates.contains("/shadow/s1.git/objects"));
        // f2 can go all the way back to the first session's checkpoint.
        AIRLOCK_VERIFY_RESULT(c.rewind(RewindRequest{QStringLiteral("f2"), zero.commit}));
        QCOMPARE(test::slurp(f2dir + QStringLiteral("/x")), QByteArray("0"));
        auto tree = loadCheckpointTree(b.db, QStringLiteral("f2"));
        AIRLOCK_VERIFY_RESULT(tree);
        QCOMPARE(tree->sessions, (QStringList{QStringLiteral("s1"), QStringLiteral("f1"), QStringLiteral("f2")}));
        QCOMPARE(tree->roots.size(), 1);
    }

    void transcriptUpToTheCheckpoint()
    {
        test::Bench b;
        Checkpointer c(*b.store);
        QVERIFY(say(b, QStringLiteral("s1"), QStringLiteral("user.message"), QStringLiteral("first")));
        QVERIFY(say(b, QStringLiteral("s1"), QStringLiteral("agent.message"), QStringLiteral("second")));
        QVERIFY(put(b.ws(QStringLiteral("f")), "1"));
        const Checkpoint cp = take(c);
        QVERIFY(say(b, QStringLiteral("s1"), QStringLiteral("agent.message"), QStringLiteral("after the checkpoint")));
        auto f = c.fork(ForkRequest{QStringLiteral("s1"), cp.commit, QStringLiteral("child"), b.dir.filePath(QStringLiteral("c")), QString()});
        AIRLOCK_VERIFY_RESULT(f);
        QCOMPARE(f->transcriptSeq, cp.afterSeq);
        QVERIFY(say(b, QStringLiteral("child"), QStringLiteral("user.message"), QStringLiteral("in the child")));
        auto g = c.fork(ForkRequest{QStringLiteral("child"), QStringLiteral("latest"), QStringLiteral("grandchild"),
                                    b.dir.filePath(QStringLiteral("g")), QString()});
        AIRLOCK_VERIFY_RESULT(g);

        auto t = forkTranscript(b.db, QStringLiteral("child"));
        AIRLOCK_VERIFY_RESULT(t);
        QStringList texts;
        for (const auto &e : *t)
            if (e.kind.endsWith(QLatin1String(".message")))
                texts.append(e.payload[QStringLiteral("text")].toString());
        QCOMPARE(texts, (QStringList{QStringLiteral("first"), QStringLiteral("second")}));
        QVERIFY(t->first().kind == QLatin1String("session.created"));

        t = forkTranscript(b.db, QStringLiteral("grandchild"));
        AIRLOCK_VERIFY_RESULT(t);
        texts.clear();
        for (const auto &e : *t)
            if (e.kind.endsWith(QLatin1String(".message")))
                texts.append(e.payload[QStringLiteral("text")].toString());
        // The grandchild forked at the child's base checkpoint, before "in the child".
        QCOMPARE(texts, (QStringList{QStringLiteral("first"), QStringLiteral("second")}));

        t = forkTranscript(b.db, QStringLiteral("s1"));
        AIRLOCK_VERIFY_RESULT(t);
        QVERIFY(t->isEmpty());
    }

    void refusals_data()
    {
        QTest::addColumn<QString>("folder"); // relative to the test root; "=ws/…" inside the workspace
        QTest::addColumn<QString>("id");
        QTest::addColumn<QString>("ref");
        QTest::addColumn<QString>("needle");
        QTest::newRow("folder not empty") << QStringLiteral("full") << QString() << QStringLiteral("latest") << QStringLiteral("not an empty folder");
        QTest::newRow("folder inside the workspace") << QStringLiteral("ws/sub") << QString() << QStringLiteral("latest") << QStringLiteral("overlaps");
        QTest::newRow("workspace inside the folder") << QStringLiteral(".") << QString() << QStringLiteral("latest") << QStringLiteral("not an empty folder");
        QTest::newRow("id taken") << QStringLiteral("new") << QStringLiteral("s1") << QStringLiteral("latest") << QStringLiteral("exists already");
        QTest::newRow("bad id") << QStringLiteral("new") << QStringLiteral("no/slashes") << QStringLiteral("latest") << QStringLiteral("not a session id");
        QTest::newRow("unknown checkpoint") << QStringLiteral("new") << QString() << QStringLiteral("abcdef12") << QStringLiteral("no checkpoint");
    }

    void refusals()
    {
        QFETCH(QString, folder);
        QFETCH(QString, id);
        QFETCH(QString, ref);
        QFETCH(QString, needle);
        test::Bench b;
        QVERIFY(put(b.dir.filePath(QStringLiteral("full/thing")), "x"));
        Checkpointer c(*b.store);
        QVERIFY(put(b.ws(QStringLiteral("f")), "1"));
        take(c);
        const QString target = folder == QLatin1String(".") ? b.dir.path() : b.dir.filePath(folder);
        auto r = c.fork(ForkRequest{QStringLiteral("s1"), ref, id, target, QString()});
        QVERIFY(!r);
        QVERIFY2(r.error().message.contains(needle), qPrintable(r.error().message));
        auto reader = store::StoreReader::open(b.db);
        QCOMPARE(reader->sessions()->size(), 1);
        QVERIFY(!QFileInfo::exists(b.dir.filePath(QStringLiteral("new"))));
        QVERIFY(!QFileInfo::exists(shadowGitDir(b.db, QStringLiteral("s1-fork-1"))));
    }

    void generatedIdsCountUp()
    {
        test::Bench b;
        Checkpointer c(*b.store);
        QVERIFY(put(b.ws(QStringLiteral("f")), "1"));
        const Checkpoint cp = take(c);
        for (int i = 1; i <= 3; ++i) {
            auto r = c.fork(ForkRequest{QStringLiteral("s1"), cp.commit, QString(), b.dir.filePath(QStringLiteral("f%1").arg(i)), QString()});
            AIRLOCK_VERIFY_RESULT(r);
            QCOMPARE(r->session, QStringLiteral("s1-fork-%1").arg(i));
        }
    }
};

QTEST_GUILESS_MAIN(TestFork)
#include "tst_workspace_fork.moc"
