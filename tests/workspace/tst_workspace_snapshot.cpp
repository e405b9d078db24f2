// Snapshots: what a checkpoint records, what it leaves out, and what it costs when nothing changed.
#include "workspace/checkpointer.h"
#include "workspace/checkpointtree.h"
#include "workspace/scanner.h"
#include "workspace/shadowrepo.h"
#include "workspacetestutil.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QScopeGuard>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace airlock;
using namespace airlock::workspace;
using airlock::test::put;

class TestSnapshot : public QObject
{
    Q_OBJECT

    static Checkpoint snap(test::Bench &b, Checkpointer &c, Cause cause = Cause::Manual, bool *created = nullptr)
    {
        CheckpointRequest req;
        req.session = QStringLiteral("s1");
        req.cause = cause;
        auto r = c.create(req);
        if (!r) {
            qWarning() << r.error().message;
            return {};
        }
        if (created)
            *created = r->created;
        Q_UNUSED(b);
        return r->checkpoint;
    }

    static const FileChange *file(const Checkpoint &c, const QString &path)
    {
        for (const FileChange &f : c.files)
            if (f.path == path)
                return &f;
        return nullptr;
    }

    // The paths a checkpoint's tree holds, read back through libgit2.
    static QStringList treePaths(const test::Bench &b, const QString &session, const QString &commit)
    {
        auto repo = ShadowRepo::open(shadowGitDir(b.db, session), b.workspace, session, {}, ShadowRepo::Mode::Read);
        if (!repo)
            return {QStringLiteral("<%1>").arg(repo.error().message)};
        git_oid id;
        git::fromHex(commit, &id);
        auto tree = repo->treeOf(id);
        if (!tree)
            return {QStringLiteral("<%1>").arg(tree.error().message)};
        QStringList out;
        git_tree_walk(
            tree->get(), GIT_TREEWALK_PRE,
            [](const char *root, const git_tree_entry *e, void *payload) {
                if (git_tree_entry_type(e) != GIT_OBJECT_TREE)
                    static_cast<QStringList *>(payload)->append(QString::fromUtf8(root) + QString::fromUtf8(git_tree_entry_name(e)));
                return 0;
            },
            &out);
        out.sort();
        return out;
    }

private Q_SLOTS:
    void firstSnapshotRecordsEverything()
    {
        test::Bench b;
        QVERIFY(put(b.ws(QStringLiteral("README.md")), "hello\nworld\n"));
        QVERIFY(put(b.ws(QStringLiteral("src/main.c")), "int main() { return 0; }\n"));
        Checkpointer c(*b.store);
        CheckpointRequest req;
        req.session = QStringLiteral("s1");
        req.cause = Cause::ToolCall;
        req.turn = 2;
        req.toolCallId = QStringLiteral("tc_7");
        req.afterSeq = 1;
        auto r = c.create(req);
        AIRLOCK_VERIFY_RESULT(r);
        QVERIFY(r->created);
        const Checkpoint &cp = r->checkpoint;
        QCOMPARE(cp.commit.size(), 40);
        QVERIFY(cp.parent.isEmpty());
        QCOMPARE(cp.filesTotal, 2);
        QCOMPARE(file(cp, QStringLiteral("README.md"))->added, 2);
        QCOMPARE(file(cp, QStringLiteral("README.md"))->status, FileStatus::Added);
        QVERIFY(cp.seq > 0);

        const auto events = b.events(QStringLiteral("s1"), QLatin1String(kinds::CheckpointCreated));
        QCOMPARE(events.size(), 1);
        const QJsonObject p = events.first().payload;
        QCOMPARE(p[QStringLiteral("commit")].toString(), cp.commit);
        QCOMPARE(p[QStringLiteral("afterSeq")].toInteger(), 1);
        QCOMPARE(p[QStringLiteral("turn")].toInt(), 2);
        QCOMPARE(p[QStringLiteral("toolCallId")].toString(), QStringLiteral("tc_7"));
        QCOMPARE(p[QStringLiteral("cause")].toString(), QStringLiteral("tool"));
        QVERIFY(p[QStringLiteral("parent")].isNull());
        QCOMPARE(p[QStringLiteral("files")].toArray().size(), 2);
        QCOMPARE(treePaths(b, QStringLiteral("s1"), cp.commit), (QStringList{QStringLiteral("README.md"), QStringLiteral("src/main.c")}));
        // The shadow repository lives beside the database, not in the workspace.
        QVERIFY(QFileInfo::exists(shadowGitDir(b.db, QStringLiteral("s1")) + QStringLiteral("/HEAD")));
        QVERIFY(shadowGitDir(b.db, QStringLiteral("s1")).startsWith(QFileInfo(b.db).absolutePath()));
        QCOMPARE(QDir(b.workspace).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden).size(), 2);
    }

    void unchangedTreeCostsOneStatPerFile()
    {
        test::Bench b;
        for (int i = 0; i < 200; ++i)
            QVERIFY(put(b.ws(QStringLiteral("d%1/f%2.txt").arg(i % 10).arg(i)), QByteArray::number(i)));
        Checkpointer c(*b.store);
        CheckpointRequest req{QStringLiteral("s1")};
        AIRLOCK_VERIFY_RESULT(c.create(req));
        // The first snapshot's files may be racy (written in the same tick); the second settles them.
        auto second = c.create(req);
        AIRLOCK_VERIFY_RESULT(second);
        QVERIFY(!second->created);
        auto third = c.create(req);
        AIRLOCK_VERIFY_RESULT(third);
        QVERIFY(!third->created);
        QCOMPARE(third->filesScanned, qint64(200));
        QCOMPARE(third->filesHashed, qint64(0));
        QCOMPARE(b.events(QStringLiteral("s1"), QLatin1String(kinds::CheckpointCreated)).size(), 1);

        // Touching a file moves its stat but not its content: read once, no checkpoint, then free.
        QVERIFY(test::sh(b.workspace, QStringLiteral("sleep 0.01; touch d3/f3.txt")).exitCode == 0);
        auto touched = c.create(req);
        AIRLOCK_VERIFY_RESULT(touched);
        QVERIFY(!touched->created);
        QCOMPARE(touched->filesHashed, qint64(1));
    }

    void shellCommandsAreCaptured()
    {
        test::Bench b;
        QVERIFY(put(b.ws(QStringLiteral("edit.txt")), "one\ntwo\n"));
        QVERIFY(put(b.ws(QStringLiteral("gone.txt")), "bye\n"));
        QVERIFY(put(b.ws(QStringLiteral("old-name.txt")), QByteArray("a fairly long line so rename detection has something\n").repeated(5)));
        QVERIFY(put(b.ws(QStringLiteral("tool.sh")), "#!/bin/sh\necho hi\n"));
        Checkpointer c(*b.store);
        const Checkpoint first = snap(b, c, Cause::Start);
        QVERIFY(!first.commit.isEmpty());
        const auto r = test::sh(b.workspace, QStringLiteral(
            "echo three >> edit.txt && rm gone.txt && mv old-name.txt new-name.txt && chmod +x tool.sh "
            "&& mkdir -p made/by/shell && printf 'x\\ny\\n' > made/by/shell/out.txt && ln -s edit.txt link"));
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const Checkpoint second = snap(b, c, Cause::ToolCall);
        QCOMPARE(second.parent, first.commit);
        QCOMPARE(file(second, QStringLiteral("edit.txt"))->status, FileStatus::Modified);
        QCOMPARE(file(second, QStringLiteral("edit.txt"))->added, 1);
        QCOMPARE(file(second, QStringLiteral("gone.txt"))->status, FileStatus::Deleted);
        QCOMPARE(file(second, QStringLiteral("gone.txt"))->removed, 1);
        QCOMPARE(file(second, QStringLiteral("new-name.txt"))->status, FileStatus::Renamed);
        QCOMPARE(file(second, QStringLiteral("new-name.txt"))->oldPath, QStringLiteral("old-name.txt"));
        const FileChange *mode = file(second, QStringLiteral("tool.sh"));
        QVERIFY(mode);
        QCOMPARE(mode->oldMode, quint32(0100644));
        QCOMPARE(mode->newMode, quint32(0100755));
        QCOMPARE(file(second, QStringLiteral("made/by/shell/out.txt"))->added, 2);
        QCOMPARE(file(second, QStringLiteral("link"))->newMode, quint32(0120000));
        QCOMPARE(second.filesTotal, 6);
    }

    void ignoredPaths_data()
    {
        QTest::addColumn<QStringList>("create");
        QTest::addColumn<QStringList>("kept");
        const auto l = [](std::initializer_list<const char *> items) {
            QStringList out;
            for (const char *i : items)
                out.append(QString::fromLatin1(i));
            return out;
        };
        QTest::newRow("gitignore") << l({".gitignore=*.log\nbuild/\n", "app.log", "build/out.o", "src/a.c"})
                                   << l({".gitignore", "src/a.c"});
        QTest::newRow("nested gitignore") << l({"sub/.gitignore=secret.txt\n", "sub/secret.txt", "secret.txt"})
                                          << l({"secret.txt", "sub/.gitignore"});
        QTest::newRow("negation") << l({".gitignore=*.tmp\n!keep.tmp\n", "a.tmp", "keep.tmp"})
                                  << l({".gitignore", "keep.tmp"});
        QTest::newRow("airlock defaults") << l({"node_modules/left-pad/index.js", "pkg/node_modules/x.js", ".venv/bin/python",
                                                "app/__pycache__/m.pyc", "m.pyc", "package-lock.json"})
                                          << l({"package-lock.json"});
        // libgit2 drops a negation that negates nothing in its own file, so a .gitignore cannot
        // re-include what Airlock's list leaves out; WorkspaceOptions::ignore can (README.md).
        QTest::newRow("gitignore cannot re-include a default") << l({".gitignore=!node_modules/\n", "node_modules/mine.js"})
                                                               << l({".gitignore"});
        QTest::newRow("every .git") << l({".git/config", "vendor/lib/.git/HEAD", "vendor/lib/code.c", "x/.git"})
                                    << l({"vendor/lib/code.c"});
    }

    void ignoredPaths()
    {
        QFETCH(QStringList, create);
        QFETCH(QStringList, kept);
        test::Bench b;
        for (const QString &spec : std::as_const(create)) {
            const QString path = spec.section(u'=', 0, 0);
            const QString content = spec.contains(u'=') ? spec.section(u'=', 1) : path;
            QVERIFY(put(b.ws(path), content.toUtf8()));
        }
        Checkpointer c(*b.store);
        const Checkpoint cp = snap(b, c);
        QVERIFY(!cp.commit.isEmpty());
        QStringList want = kept;
        want.sort();
        QCOMPARE(treePaths(b, QStringLiteral("s1"), cp.commit), want);
    }

    void trackedFileStaysTrackedWhenIgnoredLater()
    {
        test::Bench b;
        QVERIFY(put(b.ws(QStringLiteral("notes.log")), "v1\n"));
        Checkpointer c(*b.store);
        snap(b, c);
        QVERIFY(put(b.ws(QStringLiteral(".gitignore")), "*.log\n"));
        QVERIFY(test::sh(b.workspace, QStringLiteral("echo v2 >> notes.log")).exitCode == 0);
        const Checkpoint cp = snap(b, c);
        QVERIFY(file(cp, QStringLiteral("notes.log")));
        QCOMPARE(file(cp, QStringLiteral("notes.log"))->status, FileStatus::Modified);
    }

    void oversizedFilesAreSkipped()
    {
        test::Bench b;
        WorkspaceOptions opts;
        opts.maxFileBytes = 1000;
        Checkpointer c(*b.store, opts);
        QVERIFY(put(b.ws(QStringLiteral("small.txt")), QByteArray(1000, 'a')));
        QVERIFY(put(b.ws(QStringLiteral("big.bin")), QByteArray(1001, 'b')));
        const Checkpoint first = snap(b, c);
        QCOMPARE(treePaths(b, QStringLiteral("s1"), first.commit), QStringList{QStringLiteral("small.txt")});
        QCOMPARE(first.skippedTotal, 1);
        QCOMPARE(first.skipped.first().path, QStringLiteral("big.bin"));
        QCOMPARE(first.skipped.first().size, qint64(1001));
        QCOMPARE(first.skipped.first().reason, QStringLiteral("size"));
        const auto events = b.events(QStringLiteral("s1"), QLatin1String(kinds::CheckpointCreated));
        QCOMPARE(events.last().payload[QStringLiteral("skipped")].toArray().first()[QStringLiteral("path")].toString(),
                 QStringLiteral("big.bin"));

        // A saved file that grows past the cap leaves the snapshot, marked skipped, not deleted.
        QVERIFY(put(b.ws(QStringLiteral("small.txt")), QByteArray(5000, 'c')));
        const Checkpoint grown = snap(b, c);
        QVERIFY(treePaths(b, QStringLiteral("s1"), grown.commit).isEmpty());
        QCOMPARE(file(grown, QStringLiteral("small.txt"))->status, FileStatus::Skipped);
        QCOMPARE(grown.skippedTotal, 2);
        // Back under the cap, it is saved again.
        QVERIFY(put(b.ws(QStringLiteral("small.txt")), "tiny\n"));
        const Checkpoint shrunk = snap(b, c);
        QCOMPARE(file(shrunk, QStringLiteral("small.txt"))->status, FileStatus::Added);
        QVERIFY(QFileInfo::exists(b.ws(QStringLiteral("big.bin"))));
    }

    void rapidRewritesOfTheSameSizeAreSeen()
    {
        // Rewrites faster than the file system clock keep size and maybe mtime: the racy rule must
        // still catch every one of them.
        test::Bench b;
        Checkpointer c(*b.store);
        QVERIFY(put(b.ws(QStringLiteral("counter")), "0000"));
        snap(b, c);
        for (int i = 1; i <= 20; ++i) {
            QVERIFY(put(b.ws(QStringLiteral("counter")), QByteArray::number(i).rightJustified(4, '0')));
            bool created = false;
            const Checkpoint cp = snap(b, c, Cause::ToolCall, &created);
            QVERIFY2(created, qPrintable(QStringLiteral("rewrite %1 was missed").arg(i)));
            QCOMPARE(file(cp, QStringLiteral("counter"))->status, FileStatus::Modified);
        }
    }

    void staleCacheCannotResurrectFiles_data()
    {
        QTest::addColumn<bool>("keepMarker"); // index.head from the same moment as the stale index, or lost
        QTest::newRow("cache and marker from before") << true;
        QTest::newRow("marker lost") << false;
    }

    // A crash after the head moved but before the cache was saved leaves the cache behind. A file
    // added in that snapshot and deleted afterwards must still leave the next one.
    void staleCacheCannotResurrectFiles()
    {
        QFETCH(bool, keepMarker);
        test::Bench b;
        Checkpointer c(*b.store);
        QVERIFY(put(b.ws(QStringLiteral("a.txt")), "a"));
        snap(b, c);
        const QString git = shadowGitDir(b.db, QStringLiteral("s1"));
        QVERIFY(QFile::copy(git + QStringLiteral("/index"), b.dir.filePath(QStringLiteral("old-index"))));
        QVERIFY(QFile::copy(git + QStringLiteral("/index.head"), b.dir.filePath(QStringLiteral("old-marker"))));
        QVERIFY(put(b.ws(QStringLiteral("dir/added.txt")), "added"));
        const Checkpoint second = snap(b, c);
        QVERIFY(file(second, QStringLiteral("dir/added.txt")));
        QVERIFY(QFile::remove(git + QStringLiteral("/index")) && QFile::remove(git + QStringLiteral("/index.head")));
        QVERIFY(QFile::copy(b.dir.filePath(QStringLiteral("old-index")), git + QStringLiteral("/index")));
        if (keepMarker)
            QVERIFY(QFile::copy(b.dir.filePath(QStringLiteral("old-marker")), git + QStringLiteral("/index.head")));
        QVERIFY(test::sh(b.workspace, QStringLiteral("rm -r dir")).exitCode == 0);
        const Checkpoint third = snap(b, c);
        QCOMPARE(treePaths(b, QStringLiteral("s1"), third.commit), QStringList{QStringLiteral("a.txt")});
        QCOMPARE(file(third, QStringLiteral("dir/added.txt"))->status, FileStatus::Deleted);
    }

    void fileAndFolderSwapPlaces()
    {
        test::Bench b;
        Checkpointer c(*b.store);
        QVERIFY(put(b.ws(QStringLiteral("thing")), "a file\n"));
        QVERIFY(put(b.ws(QStringLiteral("box/inner.txt")), "inside\n"));
        snap(b, c);
        QVERIFY(test::sh(b.workspace, QStringLiteral("rm thing && mkdir thing && echo now > thing/child && rm -r box && echo flat > box"))
                    .exitCode == 0);
        const Checkpoint cp = snap(b, c);
        QCOMPARE(treePaths(b, QStringLiteral("s1"), cp.commit), (QStringList{QStringLiteral("box"), QStringLiteral("thing/child")}));
    }

    void unusualNames()
    {
        test::Bench b;
        Checkpointer c(*b.store);
        const QStringList names{QStringLiteral("with space.txt"), QStringLiteral("ünïcødé/файл.md"), QStringLiteral("-dash"),
                                QStringLiteral("a'quote\"s"), QStringLiteral(".hidden")};
        for (const QString &n : names)
            QVERIFY(put(b.ws(n), n.toUtf8()));
        const Checkpoint cp = snap(b, c);
        QStringList want = names;
        want.sort();
        QStringList got = treePaths(b, QStringLiteral("s1"), cp.commit);
        QCOMPARE(got, want);
    }

    // A hostile agent makes a chain of 2,000 empty folders (which no stat cache remembers, so every
    // checkpoint meets them new). Each checkpoint must stay cheap and say where it stopped looking.
    void deepFolderChainIsCapped()
    {
        test::Bench b;
        QVERIFY(put(b.ws(QStringLiteral("top.txt")), "top\n"));
        const QByteArray root = QFile::encodeName(b.workspace);
        int fd = ::open(root.constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        QVERIFY(fd >= 0);
        constexpr int kLevels = 2000;
        for (int i = 0; i < kLevels; ++i) {
            // By descriptor: the whole path is longer than PATH_MAX allows one call to name.
            QVERIFY(::mkdirat(fd, "d", 0755) == 0);
            const int next = ::openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            ::close(fd);
            QVERIFY(next >= 0);
            fd = next;
        }
        ::close(fd);
        Checkpointer c(*b.store);
        QElapsedTimer clock;
        clock.start();
        const Checkpoint first = snap(b, c, Cause::Start);
        QVERIFY(!first.commit.isEmpty());
        const Checkpoint second = snap(b, c, Cause::Manual);
        // Before the cap one such checkpoint took minutes of CPU; a generous bound for a busy machine.
        QVERIFY2(clock.elapsed() < 30000, qPrintable(QStringLiteral("%1 ms").arg(clock.elapsed())));
        QCOMPARE(treePaths(b, QStringLiteral("s1"), first.commit), QStringList{QStringLiteral("top.txt")});
        QCOMPARE(first.skippedTotal, 1);
        QCOMPARE(first.skipped.first().reason, QStringLiteral("depth"));
        QCOMPARE(first.skipped.first().path.count(u'/') + 1, kMaxScanDepth + 1);
        const auto events = b.events(QStringLiteral("s1"), QLatin1String(kinds::CheckpointCreated));
        QCOMPARE(events.first().payload[QStringLiteral("skipped")].toArray().first()[QStringLiteral("reason")].toString(),
                 QStringLiteral("depth"));
        Q_UNUSED(second);
    }

    void emptyWorkspace()
    {
        test::Bench b;
        Checkpointer c(*b.store);
        bool created = false;
        const Checkpoint cp = snap(b, c, Cause::Start, &created);
        QVERIFY(created);
        QCOMPARE(cp.filesTotal, 0);
        QVERIFY(treePaths(b, QStringLiteral("s1"), cp.commit).isEmpty());
    }

    void allowEmptyRecordsAnyway()
    {
        test::Bench b;
        Checkpointer c(*b.store);
        QVERIFY(put(b.ws(QStringLiteral("a")), "a"));
        const Checkpoint first = snap(b, c);
        CheckpointRequest req{QStringLiteral("s1")};
        req.allowEmpty = true;
        req.label = QStringLiteral("before the risky bit");
        auto r = c.create(req);
        AIRLOCK_VERIFY_RESULT(r);
        QVERIFY(r->created);
        QCOMPARE(r->checkpoint.parent, first.commit);
        QCOMPARE(r->checkpoint.filesTotal, 0);
        QCOMPARE(r->checkpoint.label, QStringLiteral("before the risky bit"));
    }

    // A database kept in the workspace, and a runtime folder there, are Airlock's own: a snapshot
    // never reads them (closing a descriptor of the database would drop this process's SQLite
    // locks, and other processes would then remove its WAL) and a rewind never writes them.
    void airlocksOwnFilesAreLeftOut()
    {
        test::Bench b(QStringLiteral("s1"), QStringLiteral("data")); // the workspace holds the database
        QVERIFY(b.store);
        QVERIFY(QFileInfo::exists(b.ws(QStringLiteral("airlock.db-wal"))));
        const QByteArray runtimeBefore = qgetenv("AIRLOCK_RUNTIME_DIR");
        qputenv("AIRLOCK_RUNTIME_DIR", QFile::encodeName(b.ws(QStringLiteral("run"))));
        const auto restoreEnv = qScopeGuard([&] {
            if (runtimeBefore.isEmpty())
                qunsetenv("AIRLOCK_RUNTIME_DIR");
            else
                qputenv("AIRLOCK_RUNTIME_DIR", runtimeBefore);
        });
        QVERIFY(put(b.ws(QStringLiteral("run/sandboxes/x/state.json")), "{}"));
        QVERIFY(put(b.ws(QStringLiteral("README.md")), "one\n"));
        Checkpointer c(*b.store);
        const Checkpoint first = snap(b, c);
        QVERIFY(!first.commit.isEmpty());
        QCOMPARE(treePaths(b, QStringLiteral("s1"), first.commit), QStringList{QStringLiteral("README.md")});

        for (int i = 0; i < 50; ++i)
            QVERIFY(b.store->append(QStringLiteral("s1"), QStringLiteral("test.tick"), {{QStringLiteral("n"), i}}));
        AIRLOCK_VERIFY_RESULT(b.store->flush());
        QVERIFY(put(b.ws(QStringLiteral("README.md")), "two\n"));
        const Checkpoint second = snap(b, c);
        QCOMPARE(treePaths(b, QStringLiteral("s1"), second.commit), QStringList{QStringLiteral("README.md")});
        QCOMPARE(second.filesTotal, 1);

        auto rewound = c.rewind(RewindRequest{QStringLiteral("s1"), first.commit});
        AIRLOCK_VERIFY_RESULT(rewound);
        QCOMPARE(test::slurp(b.ws(QStringLiteral("README.md"))), QByteArray("one\n"));
        QVERIFY(QFileInfo::exists(b.ws(QStringLiteral("run/sandboxes/x/state.json"))));
        // The store went on working through all of it, and its file is whole.
        QVERIFY(b.store->append(QStringLiteral("s1"), QStringLiteral("test.tick"), {}));
        AIRLOCK_VERIFY_RESULT(b.store->flush());
        auto reader = store::StoreReader::open(b.db);
        AIRLOCK_VERIFY_RESULT(reader);
        auto report = reader->check();
        AIRLOCK_VERIFY_RESULT(report);
        QVERIFY2(report->ok(), qPrintable(report->integrityMessages.join(u'\n')));
        QVERIFY(report->events >= 54);
    }

    void errorsAreClear_data()
    {
        QTest::addColumn<QString>("session");
        QTest::addColumn<QString>("workspace");
        QTest::addColumn<int>("code");
        QTest::addColumn<QString>("needle");
        QTest::newRow("no such session") << QStringLiteral("nope") << QString() << int(ErrorCode::NotFound) << QStringLiteral("no session nope");
        QTest::newRow("no workspace") << QStringLiteral("bare") << QString() << int(ErrorCode::InvalidArgument) << QStringLiteral("no workspace");
        QTest::newRow("workspace gone") << QStringLiteral("gone") << QStringLiteral("/nonexistent/airlock-ws") << int(ErrorCode::NotFound)
                                        << QStringLiteral("not there");
    }

    void errorsAreClear()
    {
        QFETCH(QString, session);
        QFETCH(QString, workspace);
        QFETCH(int, code);
        QFETCH(QString, needle);
        test::Bench b;
        QVERIFY(b.addSession(QStringLiteral("bare"), QString()));
        QVERIFY(b.addSession(QStringLiteral("gone"), QStringLiteral("/nonexistent/airlock-ws")));
        Checkpointer c(*b.store);
        auto r = c.create(CheckpointRequest{session});
        QVERIFY(!r);
        QCOMPARE(int(r.error().code), code);
        QVERIFY2(r.error().message.contains(needle), qPrintable(r.error().message));
    }
};

QTEST_GUILESS_MAIN(TestSnapshot)
#include "tst_workspace_snapshot.moc"
