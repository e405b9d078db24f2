// The change journal: snapshots that look only at changed folders must record exactly what a full
// scan records. Checked differentially: two sessions share one workspace, one with the journal and
// one without, and after every batch of random changes their snapshot trees must be identical.
#include "workspace/checkpointer.h"
#include "workspace/shadowrepo.h"
#include "workspacetestutil.h"

#include <QRandomGenerator>

using namespace airlock;
using namespace airlock::workspace;
using airlock::test::put;

class TestJournal : public QObject
{
    Q_OBJECT

    static QString treeOf(const test::Bench &b, const QString &session, const QString &commit)
    {
        auto repo = ShadowRepo::open(shadowGitDir(b.db, session), b.workspace, session, {}, ShadowRepo::Mode::Read);
        if (!repo)
            return repo.error().message;
        git_oid id;
        git::fromHex(commit, &id);
        auto c = repo->commit(id);
        return c ? git::toHex(*git_commit_tree_id(c->get())) : c.error().message;
    }

    // The newest snapshot of a session, whether or not this call made a new one.
    static QString snap(Checkpointer &c, const QString &session, qint64 *scanned = nullptr)
    {
        auto r = c.create(CheckpointRequest{session});
        if (!r) {
            qWarning() << r.error().message;
            return {};
        }
        if (scanned)
            *scanned = r->filesScanned;
        return r->checkpoint.commit;
    }

private Q_SLOTS:
    void initTestCase()
    {
        test::Bench probe;
        Checkpointer c(*probe.store);
        if (!c.watch(QStringLiteral("s1")))
            QSKIP("inotify is not available here; snapshots scan everything, which the other tests cover");
    }

    void agreesWithFullScans_data()
    {
        QTest::addColumn<quint32>("seed");
        QTest::newRow("seed 1") << quint32(20240501);
        QTest::newRow("seed 2") << quint32(7);
    }

    void agreesWithFullScans()
    {
        QFETCH(quint32, seed);
        test::Bench b;
        QVERIFY(b.addSession(QStringLiteral("full"), b.workspace));
        WorkspaceOptions opts;
        opts.maxFileBytes = 2000;
        Checkpointer watched(*b.store, opts);
        Checkpointer plain(*b.store, opts);
        QVERIFY(watched.watch(QStringLiteral("s1")));

        QRandomGenerator rng(seed);
        QStringList files, dirs{QString()};
        auto rel = [&](const QString &dir, const QString &name) { return dir.isEmpty() ? name : dir + u'/' + name; };
        for (int i = 0; i < 40; ++i) {
            const QString dir = i % 4 ? QStringLiteral("d%1").arg(i % 4) : QString();
            if (!dirs.contains(dir))
                dirs.append(dir);
            files.append(rel(dir, QStringLiteral("f%1.txt").arg(i)));
            QVERIFY(put(b.ws(files.last()), QByteArray::number(i).repeated(10)));
        }
        QCOMPARE(treeOf(b, QStringLiteral("s1"), snap(watched, QStringLiteral("s1"))),
                 treeOf(b, QStringLiteral("full"), snap(plain, QStringLiteral("full"))));

        int incremental = 0;
        for (int round = 0; round < 25; ++round) {
            const int ops = 1 + int(rng.bounded(6));
            for (int op = 0; op < ops; ++op) {
                const QString any = files.isEmpty() ? QString() : files.at(int(rng.bounded(quint32(files.size()))));
                const QString dir = dirs.at(int(rng.bounded(quint32(dirs.size()))));
                QString cmd;
                switch (rng.bounded(14)) {
                case 0: // a new file, maybe in a new folder
                {
                    const QString d = rng.bounded(3) == 0 ? rel(dir, QStringLiteral("n%1").arg(round)) : dir;
                    const QString f = rel(d, QStringLiteral("new%1_%2").arg(round).arg(op));
                    cmd = QStringLiteral("mkdir -p './%1' && echo %2 > './%3'").arg(d.isEmpty() ? QStringLiteral(".") : d).arg(round).arg(f);
                    if (!dirs.contains(d))
                        dirs.append(d);
                    files.append(f);
                    break;
                }
                case 1: // rewrite in place, same size
                    if (!any.isEmpty())
                        cmd = QStringLiteral("printf %1 | dd of='./%2' bs=1 seek=0 conv=notrunc 2>/dev/null").arg(round % 10).arg(any);
                    break;
                case 2: // append
                    if (!any.isEmpty())
                        cmd = QStringLiteral("echo more >> './%1'").arg(any);
                    break;
                case 3: // delete
                    if (!any.isEmpty()) {
                        cmd = QStringLiteral("rm -f './%1'").arg(any);
                        files.removeAll(any);
                    }
                    break;
                case 4: // rename across folders
                    if (!any.isEmpty()) {
                        const QString to = rel(dir, QStringLiteral("moved%1_%2").arg(round).arg(op));
                        cmd = QStringLiteral("mv './%1' './%2'").arg(any, to);
                        files.removeAll(any);
                        files.append(to);
                    }
                    break;
                case 5: // chmod
                    if (!any.isEmpty())
                        cmd = QStringLiteral("chmod %1 './%2'").arg(rng.bounded(2) ? QStringLiteral("+x") : QStringLiteral("-x"), any);
                    break;
                case 6: // a symlink, or a file replaced by one
                    if (!any.isEmpty())
                        cmd = QStringLiteral("rm -f './%1' && ln -s target%2 './%1'").arg(any).arg(round);
                    break;
                case 7: // rename a whole folder
                    if (!dir.isEmpty()) {
                        const QString to = dir + QStringLiteral("_r%1").arg(round);
                        cmd = QStringLiteral("mv './%1' './%2'").arg(dir, to);
                        for (QString &f : files)
                            if (f.startsWith(dir + u'/'))
                                f = to + f.mid(dir.size());
                        for (QString &d : dirs)
                            if (d == dir || d.startsWith(dir + u'/'))
                                d = to + d.mid(dir.size());
                    }
                    break;
                case 8: // remove a whole folder
                    if (!dir.isEmpty()) {
                        cmd = QStringLiteral("rm -rf './%1'").arg(dir);
                        files.erase(std::remove_if(files.begin(), files.end(), [&](const QString &f) { return f.startsWith(dir + u'/'); }), files.end());
                        dirs.erase(std::remove_if(dirs.begin(), dirs.end(), [&](const QString &d) { return d == dir || d.startsWith(dir + u'/'); }), dirs.end());
                    }
                    break;
                case 9: // touch only
                    if (!any.isEmpty())
                        cmd = QStringLiteral("touch './%1'").arg(any);
                    break;
                case 10: // over the size cap, then maybe back
                    if (!any.isEmpty())
                        cmd = QStringLiteral("head -c %1 /dev/zero | tr '\\\\0' x > './%2'").arg(rng.bounded(2) ? 3000 : 100).arg(any);
                    break;
                case 11: // an ignored folder
                    cmd = QStringLiteral("mkdir -p './%1/node_modules/p' && echo x > './%1/node_modules/p/i.js'").arg(dir.isEmpty() ? QStringLiteral(".") : dir);
                    break;
                case 12: // a file becomes a folder
                    if (!any.isEmpty()) {
                        cmd = QStringLiteral("rm -f './%1' && mkdir -p './%1' && echo in > './%1/inner'").arg(any);
                        files.removeAll(any);
                        files.append(any + QStringLiteral("/inner"));
                        dirs.append(any);
                    }
                    break;
                case 13: // a folder moved out of the workspace and back under another name
                    if (!dir.isEmpty()) {
                        const QString to = dir + QStringLiteral("_back%1").arg(round);
                        cmd = QStringLiteral("mv './%1' ../parked && mv ../parked './%2'").arg(dir, to);
                        for (QString &f : files)
                            if (f.startsWith(dir + u'/'))
                                f = to + f.mid(dir.size());
                        for (QString &d : dirs)
                            if (d == dir || d.startsWith(dir + u'/'))
                                d = to + d.mid(dir.size());
                    }
                    break;
                }
                if (!cmd.isEmpty()) {
                    if (qEnvironmentVariableIsSet("AIRLOCK_JOURNAL_TRACE"))
                        qInfo() << round << cmd;
                    // Some operations do not apply (chmod on a dangling symlink, say); what happened happened.
                    const auto r = test::sh(b.workspace, QStringLiteral("(%1) 2>/dev/null; true").arg(cmd));
                    QVERIFY2(r.exitCode == 0, qPrintable(cmd));
                }
            }
            qint64 scanned = 0, all = 0;
            const QString w = snap(watched, QStringLiteral("s1"), &scanned);
            const QString f = snap(plain, QStringLiteral("full"), &all);
            QVERIFY(!w.isEmpty() && !f.isEmpty());
            if (treeOf(b, QStringLiteral("s1"), w) != treeOf(b, QStringLiteral("full"), f)) {
                auto list = [&](const QString &session, const QString &commit) {
                    return test::git(b.workspace, {QStringLiteral("--git-dir=") + shadowGitDir(b.db, session), QStringLiteral("ls-tree"),
                                                   QStringLiteral("-r"), commit}).out;
                };
                const QList<QByteArray> a = list(QStringLiteral("s1"), w).split('\n'), z = list(QStringLiteral("full"), f).split('\n');
                for (const QByteArray &l : a)
                    if (!z.contains(l))
                        qWarning() << "journal only:" << l;
                for (const QByteArray &l : z)
                    if (!a.contains(l))
                        qWarning() << "full scan only:" << l;
                QFAIL(qPrintable(QStringLiteral("round %1 differs").arg(round)));
            }
            if (scanned < all)
                ++incremental;
        }
        QVERIFY2(incremental > 12, qPrintable(QStringLiteral("only %1 of 25 snapshots were incremental").arg(incremental)));
    }

    void rewindsKeepTheJournalHonest()
    {
        test::Bench b;
        Checkpointer c(*b.store);
        QVERIFY(c.watch(QStringLiteral("s1")));
        QVERIFY(put(b.ws(QStringLiteral("a/one.txt")), "1"));
        QVERIFY(put(b.ws(QStringLiteral("b/two.txt")), "2"));
        auto first = c.create(CheckpointRequest{QStringLiteral("s1")});
        AIRLOCK_VERIFY_RESULT(first);
        QVERIFY(test::sh(b.workspace, QStringLiteral("echo changed > a/one.txt && rm -r b && mkdir c && echo 3 > c/three.txt")).exitCode == 0);
        AIRLOCK_VERIFY_RESULT(c.create(CheckpointRequest{QStringLiteral("s1")}));
        AIRLOCK_VERIFY_RESULT(c.rewind(RewindRequest{QStringLiteral("s1"), first->checkpoint.commit}));
        // The rewind's own writes are in the journal: the next snapshot finds the restored state.
        auto after = c.create(CheckpointRequest{QStringLiteral("s1")});
        AIRLOCK_VERIFY_RESULT(after);
        QVERIFY(!after->created);
        QVERIFY(put(b.ws(QStringLiteral("b/two.txt")), "2 again"));
        after = c.create(CheckpointRequest{QStringLiteral("s1")});
        AIRLOCK_VERIFY_RESULT(after);
        QVERIFY(after->created);
        QCOMPARE(after->checkpoint.filesTotal, 1);
        QCOMPARE(after->checkpoint.parent, first->checkpoint.commit);
        QVERIFY(after->filesScanned < 3);
    }

    void gitignoreChangesForceAFullScan()
    {
        test::Bench b;
        Checkpointer c(*b.store);
        QVERIFY(c.watch(QStringLiteral("s1")));
        for (int i = 0; i < 30; ++i)
            QVERIFY(put(b.ws(QStringLiteral("d%1/f%2").arg(i % 3).arg(i)), "x"));
        AIRLOCK_VERIFY_RESULT(c.create(CheckpointRequest{QStringLiteral("s1")}));
        QVERIFY(put(b.ws(QStringLiteral("d0/f0")), "changed"));
        auto r = c.create(CheckpointRequest{QStringLiteral("s1")});
        AIRLOCK_VERIFY_RESULT(r);
        QVERIFY2(r->filesScanned < 30, qPrintable(QString::number(r->filesScanned)));
        QVERIFY(put(b.ws(QStringLiteral(".gitignore")), "d1/\n"));
        r = c.create(CheckpointRequest{QStringLiteral("s1")});
        AIRLOCK_VERIFY_RESULT(r);
        QCOMPARE(r->filesScanned, qint64(31)); // all of it again: d1's files stay tracked, .gitignore is new
        QCOMPARE(r->checkpoint.filesTotal, 1);
    }

    void skippedFilesAreRemembered()
    {
        test::Bench b;
        WorkspaceOptions opts;
        opts.maxFileBytes = 100;
        Checkpointer c(*b.store, opts);
        QVERIFY(c.watch(QStringLiteral("s1")));
        QVERIFY(put(b.ws(QStringLiteral("big/huge.bin")), QByteArray(500, 'h')));
        QVERIFY(put(b.ws(QStringLiteral("small/a.txt")), "a"));
        auto r = c.create(CheckpointRequest{QStringLiteral("s1")});
        AIRLOCK_VERIFY_RESULT(r);
        QCOMPARE(r->checkpoint.skippedTotal, 1);
        QVERIFY(put(b.ws(QStringLiteral("small/a.txt")), "b"));
        r = c.create(CheckpointRequest{QStringLiteral("s1")});
        AIRLOCK_VERIFY_RESULT(r);
        QCOMPARE(r->checkpoint.skippedTotal, 1); // not looked at this time, still not saved
        QVERIFY(test::sh(b.workspace, QStringLiteral("rm -r big && echo c > small/a.txt")).exitCode == 0);
        r = c.create(CheckpointRequest{QStringLiteral("s1")});
        AIRLOCK_VERIFY_RESULT(r);
        QCOMPARE(r->checkpoint.skippedTotal, 0);
    }
};

QTEST_GUILESS_MAIN(TestJournal)
#include "tst_workspace_journal.moc"
