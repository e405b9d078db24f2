// Rewind: the workspace comes back exactly, nothing is followed out of it, the user's .git is never
// touched, and the rewind itself can be undone.
#include "workspace/checkpointer.h"
#include "workspace/checkpointtree.h"
#include "workspace/jobcontrol.h"
#include "workspacetestutil.h"

#include <QJsonArray>

using namespace airlock;
using namespace airlock::workspace;
using airlock::test::put;

namespace {

class ScriptedControl : public JobControl
{
public:
    bool cancelFromStart = false;
    QString cancelWhen; // cancel once progress with this text is reported
    mutable std::atomic_bool cancelled{false};
    QStringList seen;
    bool isCancelled() const override { return cancelFromStart || cancelled.load(); }
    void progress(qint64, qint64, const QString &what) override
    {
        seen.append(what);
        if (!cancelWhen.isEmpty() && what == cancelWhen)
            cancelled = true;
    }
};

} // namespace

class TestRewind : public QObject
{
    Q_OBJECT

    static Checkpoint take(Checkpointer &c, const QString &session = QStringLiteral("s1"))
    {
        auto r = c.create(CheckpointRequest{session});
        if (!r)
            qWarning() << r.error().message;
        return r ? r->checkpoint : Checkpoint();
    }

    static Result<RewindOutcome> rewind(Checkpointer &c, const QString &to, JobControl *control = nullptr)
    {
        return c.rewind(RewindRequest{QStringLiteral("s1"), to}, control);
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (!test::haveGit())
            QSKIP("git is not installed; the tests build real repositories with it");
    }

    void rewindRestoresExactlyAndCanBeUndone()
    {
        test::Bench b;
        Checkpointer c(*b.store);
        QVERIFY(test::sh(b.workspace, QStringLiteral(
            "printf 'alpha\\n' > a.txt && mkdir -p dir/deeper && printf 'b\\n' > dir/b.txt && printf 'c\\n' > dir/deeper/c.txt "
            "&& printf '#!/bin/sh\\necho run\\n' > run.sh && chmod +x run.sh && ln -s a.txt link && ln -s dir dirlink "
            "&& printf 'bin\\000ary\\001\\002' > blob.bin && printf 'plain\\n' > plain.sh")).exitCode == 0);
        const auto before = test::fingerprint(b.workspace);
        const Checkpoint a = take(c);
        QVERIFY(!a.commit.isEmpty());

        QVERIFY(test::sh(b.workspace, QStringLiteral(
            "printf 'changed\\n' >> a.txt && rm -r dir/deeper && rm dir/b.txt && mv run.sh renamed.sh && chmod -x renamed.sh "
            "&& chmod +x plain.sh && rm link && ln -s dir link && rm dirlink && mkdir dirlink && echo real > dirlink/f "
            "&& mkdir -p new/deep && echo n > new/deep/file.txt && printf 'other' > blob.bin")).exitCode == 0);
        const auto after = test::fingerprint(b.workspace);
        const Checkpoint bcp = take(c);
        QVERIFY(bcp.commit != a.commit);

        auto r = rewind(c, a.commit.left(7));
        AIRLOCK_VERIFY_RESULT(r);
        QCOMPARE(r->commit, a.commit);
        QCOMPARE(r->safety, bcp.commit); // nothing changed since B: B is the safety copy
        QVERIFY(!r->safetyCreated);
        QCOMPARE(test::fingerprint(b.workspace), before);
        QVERIFY(!QFileInfo::exists(b.ws(QStringLiteral("new")))); // emptied folders go too
        QVERIFY(test::isExecutable(b.ws(QStringLiteral("run.sh"))));
        QVERIFY(!test::isExecutable(b.ws(QStringLiteral("plain.sh"))));
        QCOMPARE(test::readLink(b.ws(QStringLiteral("link"))), QStringLiteral("a.txt"));
        QVERIFY(test::isSymlink(b.ws(QStringLiteral("dirlink"))));

        const auto rewound = b.events(QStringLiteral("s1"), QLatin1String(kinds::CheckpointRewound));
        QCOMPARE(rewound.size(), 1);
        QCOMPARE(rewound.first().payload[QStringLiteral("commit")].toString(), a.commit);
        QCOMPARE(rewound.first().payload[QStringLiteral("safety")].toString(), bcp.commit);

        // Undo: rewind to the safety copy.
        auto undo = rewind(c, r->safety);
        AIRLOCK_VERIFY_RESULT(undo);
        QCOMPARE(test::fingerprint(b.workspace), after);

        // The snapshot cache follows the restores: nothing left to record.
        auto again = c.create(CheckpointRequest{QStringLiteral("s1")});
        AIRLOCK_VERIFY_RESULT(again);
        QVERIFY(!again->created);
    }

    void nextCheckpointBranchesFromTheRewindTarget()
    {
        test::Bench b;
        Checkpointer c(*b.store);
        QVERIFY(put(b.ws(QStringLiteral("f")), "1"));
        const Checkpoint one = take(c);
        QVERIFY(put(b.ws(QStringLiteral("f")), "2"));
        const Checkpoint two = take(c);
        QVERIFY(put(b.ws(QStringLiteral("f")), "3")); // unsaved: the rewind's safety copy keeps it
        auto r = rewind(c, one.commit);
        AIRLOCK_VERIFY_RESULT(r);
        QVERIFY(r->safetyCreated);
        QCOMPARE(test::slurp(b.ws(QStringLiteral("f"))), QByteArray("1"));
        QVERIFY(put(b.ws(QStringLiteral("f")), "4"));
        const Checkpoint four = take(c);
        QCOMPARE(four.parent, one.commit);

        auto tree = loadCheckpointTree(b.db, QStringLiteral("s1"));
        AIRLOCK_VERIFY_RESULT(tree);
        const int n1 = tree->find(QStringLiteral("s1"), one.commit);
        QCOMPARE(tree->nodes[n1].children.size(), 2); // two, and now four: a branch
        const int safety = tree->find(QStringLiteral("s1"), r->safety);
        QCOMPARE(tree->nodes[safety].checkpoint.cause, Cause::Safety);
        QCOMPARE(tree->nodes[safety].checkpoint.parent, two.commit);
        QCOMPARE(tree->rewinds.size(), 1);
    }

    void ignoredAndOversizedFilesAreLeftAlone()
    {
        test::Bench b;
        WorkspaceOptions opts;
        opts.maxFileBytes = 100;
        Checkpointer c(*b.store, opts);
        QVERIFY(put(b.ws(QStringLiteral(".gitignore")), "build/\n"));
        QVERIFY(put(b.ws(QStringLiteral("src.c")), "v1"));
        const Checkpoint one = take(c);
        QVERIFY(put(b.ws(QStringLiteral("src.c")), "v2"));
        QVERIFY(put(b.ws(QStringLiteral("build/out.o")), "object"));
        QVERIFY(put(b.ws(QStringLiteral("node_modules/dep/index.js")), "dep"));
        QVERIFY(put(b.ws(QStringLiteral("huge.dat")), QByteArray(500, 'h')));
        auto r = rewind(c, one.commit);
        AIRLOCK_VERIFY_RESULT(r);
        QCOMPARE(test::slurp(b.ws(QStringLiteral("src.c"))), QByteArray("v1"));
        QCOMPARE(test::slurp(b.ws(QStringLiteral("build/out.o"))), QByteArray("object"));
        QCOMPARE(test::slurp(b.ws(QStringLiteral("node_modules/dep/index.js"))), QByteArray("dep"));
        QCOMPARE(test::slurp(b.ws(QStringLiteral("huge.dat"))).size(), 500);
    }

    void symlinksAreNeverFollowed_data()
    {
        QTest::addColumn<QString>("setup");   // run before the checkpoint
        QTest::addColumn<QString>("attack");  // run after it, then rewound
        QTest::addColumn<QString>("expectDir");
        QTest::addColumn<QString>("expectFile");
        QTest::newRow("folder replaced by a symlink out")
            << QStringLiteral("mkdir d && echo in > d/f.txt") << QStringLiteral("rm -r d && ln -s ../outside d")
            << QStringLiteral("d") << QStringLiteral("d/f.txt");
        QTest::newRow("ignored symlink where the checkpoint has a folder")
            << QStringLiteral("mkdir d && echo in > d/f.txt && : > .gitignore")
            << QStringLiteral("rm -r d && ln -s ../outside d && echo d > .gitignore") << QStringLiteral("d")
            << QStringLiteral("d/f.txt");
        QTest::newRow("file replaced by a symlink to a file outside")
            << QStringLiteral("echo mine > secret.txt") << QStringLiteral("rm secret.txt && ln -s ../outside/secret.txt secret.txt")
            << QString() << QStringLiteral("secret.txt");
        QTest::newRow("parent two levels up replaced")
            << QStringLiteral("mkdir -p a/b && echo deep > a/b/c.txt") << QStringLiteral("rm -r a/b && ln -s ../../outside a/b")
            << QStringLiteral("a/b") << QStringLiteral("a/b/c.txt");
        QTest::newRow("outward symlink restored as a symlink")
            << QStringLiteral("ln -s ../outside/secret.txt pointer") << QStringLiteral("rm pointer && echo plain > pointer")
            << QString() << QString();
    }

    void symlinksAreNeverFollowed()
    {
        QFETCH(QString, setup);
        QFETCH(QString, attack);
        QFETCH(QString, expectDir);
        QFETCH(QString, expectFile);
        test::Bench b;
        const QString outside = b.dir.filePath(QStringLiteral("outside"));
        QVERIFY(put(outside + QStringLiteral("/secret.txt"), "do not touch\n"));
        QVERIFY(put(outside + QStringLiteral("/f.txt"), "outside f\n"));
        QVERIFY(put(outside + QStringLiteral("/c.txt"), "outside c\n"));
        const auto outsideBefore = test::fingerprint(outside);
        Checkpointer c(*b.store);
        QVERIFY(test::sh(b.workspace, setup).exitCode == 0);
        const auto wanted = test::fingerprint(b.workspace);
        const Checkpoint one = take(c);
        QVERIFY(test::sh(b.workspace, attack).exitCode == 0);
        // The scan must not read through the planted links either: nothing appears behind them.
        const Checkpoint two = take(c);
        for (const FileChange &f : two.files)
            if (f.status != FileStatus::Deleted)
                QVERIFY2(expectDir.isEmpty() || !f.path.startsWith(expectDir + u'/'), qPrintable(f.path));
        AIRLOCK_VERIFY_RESULT(rewind(c, one.commit));
        QCOMPARE(test::fingerprint(outside), outsideBefore);
        QCOMPARE(test::fingerprint(b.workspace), wanted);
        if (!expectDir.isEmpty())
            QVERIFY(!test::isSymlink(b.ws(expectDir)) && QFileInfo(b.ws(expectDir)).isDir());
        if (!expectFile.isEmpty())
            QVERIFY(!test::isSymlink(b.ws(expectFile)));
        if (setup.contains(QLatin1String("pointer")))
            QCOMPARE(test::readLink(b.ws(QStringLiteral("pointer"))), QStringLiteral("../outside/secret.txt"));
    }

    void userRepositoryIsNeverTouched()
    {
        test::Bench b;
        const QString ws = b.workspace;
        auto g = [&](const QStringList &args) {
            const auto r = test::git(ws, args);
            if (r.exitCode != 0)
                qWarning() << args << r.err;
            return r.exitCode == 0;
        };
        QVERIFY(g({QStringLiteral("init"), QStringLiteral("-q"), QStringLiteral("-b"), QStringLiteral("main")}));
        QVERIFY(put(b.ws(QStringLiteral("app.py")), "print('v1')\n"));
        QVERIFY(put(b.ws(QStringLiteral(".gitignore")), "*.log\n"));
        QVERIFY(g({QStringLiteral("add"), QStringLiteral(".")}));
        QVERIFY(g({QStringLiteral("commit"), QStringLiteral("-qm"), QStringLiteral("first")}));
        QVERIFY(g({QStringLiteral("branch"), QStringLiteral("feature")}));
        QVERIFY(put(b.ws(QStringLiteral("app.py")), "print('v2')\n"));
        QVERIFY(g({QStringLiteral("commit"), QStringLiteral("-qam"), QStringLiteral("second")}));
        QVERIFY(g({QStringLiteral("tag"), QStringLiteral("v1")}));
        QVERIFY(put(b.ws(QStringLiteral(".git/hooks/pre-commit")), "#!/bin/sh\nexit 0\n"));
        QVERIFY(test::sh(ws, QStringLiteral("chmod +x .git/hooks/pre-commit")).exitCode == 0);
        QVERIFY(put(b.ws(QStringLiteral("staged.txt")), "staged\n"));
        QVERIFY(g({QStringLiteral("add"), QStringLiteral("staged.txt")})); // an index with uncommitted work
        QVERIFY(g({QStringLiteral("pack-refs"), QStringLiteral("--all")}));
        const QString dotGit = b.ws(QStringLiteral(".git"));
        const auto fp = test::dotGitFingerprint(dotGit);
        QVERIFY(fp.size() > 10);

        Checkpointer c(*b.store);
        const Checkpoint one = take(c);
        QVERIFY(!one.commit.isEmpty());
        for (const FileChange &f : one.files)
            QVERIFY2(!f.path.startsWith(QLatin1String(".git/")), qPrintable(f.path));
        QVERIFY(test::sh(ws, QStringLiteral("echo v3 > app.py && rm staged.txt && echo n > new.txt && echo l > x.log")).exitCode == 0);
        const Checkpoint two = take(c);
        QCOMPARE(test::dotGitFingerprint(dotGit), fp);
        AIRLOCK_VERIFY_RESULT(rewind(c, one.commit));
        QCOMPARE(test::dotGitFingerprint(dotGit), fp);
        AIRLOCK_VERIFY_RESULT(rewind(c, two.commit));
        QCOMPARE(test::dotGitFingerprint(dotGit), fp);

        ForkRequest inPlace{QStringLiteral("s1"), one.commit, QStringLiteral("f1"), QString(), QString()};
        AIRLOCK_VERIFY_RESULT(c.fork(inPlace));
        QCOMPARE(test::dotGitFingerprint(dotGit), fp);
        ForkRequest elsewhere{QStringLiteral("s1"), two.commit, QStringLiteral("f2"), b.dir.filePath(QStringLiteral("copy")), QString()};
        AIRLOCK_VERIFY_RESULT(c.fork(elsewhere));
        QCOMPARE(test::dotGitFingerprint(dotGit), fp);
        QVERIFY(!QFileInfo::exists(b.dir.filePath(QStringLiteral("copy/.git"))));
        AIRLOCK_VERIFY_RESULT(c.create(CheckpointRequest{QStringLiteral("f1")}));
        QCOMPARE(test::dotGitFingerprint(dotGit), fp);
        // And the repository still works as the user left it.
        const auto status = test::git(ws, {QStringLiteral("status"), QStringLiteral("--porcelain")});
        QCOMPARE(status.exitCode, 0);
        QVERIFY(test::git(ws, {QStringLiteral("fsck"), QStringLiteral("--no-progress")}).exitCode == 0);
    }

    void cancellingStopsOnlyBeforeWriting()
    {
        test::Bench b;
        Checkpointer c(*b.store);
        QVERIFY(put(b.ws(QStringLiteral("f")), "1"));
        const Checkpoint one = take(c);
        QVERIFY(put(b.ws(QStringLiteral("f")), "2"));
        const Checkpoint two = take(c);

        ScriptedControl early;
        early.cancelFromStart = true;
        auto r = rewind(c, one.commit, &early);
        QVERIFY(!r);
        QCOMPARE(r.error().code, ErrorCode::Cancelled);
        QCOMPARE(test::slurp(b.ws(QStringLiteral("f"))), QByteArray("2"));
        QVERIFY(b.events(QStringLiteral("s1"), QLatin1String(kinds::CheckpointRewound)).isEmpty());
        QVERIFY(b.events(QStringLiteral("s1"), QLatin1String(kinds::CheckpointFailed)).isEmpty());

        // Once files are being written, a cancel is too late: the rewind completes.
        ScriptedControl late;
        late.cancelWhen = QStringLiteral("Restoring files");
        r = rewind(c, one.commit, &late);
        AIRLOCK_VERIFY_RESULT(r);
        QVERIFY(late.seen.contains(QStringLiteral("Restoring files")));
        QCOMPARE(test::slurp(b.ws(QStringLiteral("f"))), QByteArray("1"));
        Q_UNUSED(two);
    }

    void badReferences_data()
    {
        QTest::addColumn<QString>("ref");
        QTest::addColumn<int>("code");
        QTest::newRow("not hex") << QStringLiteral("zzzz") << int(ErrorCode::InvalidArgument);
        QTest::newRow("too short") << QStringLiteral("ab") << int(ErrorCode::InvalidArgument);
        QTest::newRow("unknown") << QStringLiteral("deadbeef") << int(ErrorCode::NotFound);
        QTest::newRow("empty") << QString() << int(ErrorCode::InvalidArgument);
    }

    void badReferences()
    {
        QFETCH(QString, ref);
        QFETCH(int, code);
        test::Bench b;
        Checkpointer c(*b.store);
        QVERIFY(put(b.ws(QStringLiteral("f")), "1"));
        take(c);
        auto r = rewind(c, ref);
        QVERIFY(!r);
        QCOMPARE(int(r.error().code), code);
        QCOMPARE(test::slurp(b.ws(QStringLiteral("f"))), QByteArray("1"));
    }
};

QTEST_GUILESS_MAIN(TestRewind)
#include "tst_workspace_rewind.moc"
