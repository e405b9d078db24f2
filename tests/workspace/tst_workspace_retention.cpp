// Deleting sessions and the retention policy: what goes from the store and from disk, what stays
// (a user's folder, a fork's history), and which sessions are never touched.
#include "session/retention.h"
#include "session/sessionowner.h"
#include "store/maintenance.h"
#include "workspace/checkpointer.h"
#include "workspace/workspaceoptions.h"
#include "workspacetestutil.h"

#include <QStandardPaths>

using namespace airlock;
using namespace airlock::workspace;
using airlock::test::put;

namespace {
constexpr qint64 kDayMs = 24LL * 3600 * 1000;

// A process that has ended: its pid is nobody's (for as long as pids are not reused, which on a
// test machine is long enough).
QJsonObject deadOwner()
{
    QProcess p;
    p.start(QStringLiteral("true"), {});
    p.waitForFinished();
    QJsonObject owner = session::currentOwner();
    owner.insert(QStringLiteral("pid"), qint64(p.processId() > 0 ? p.processId() : 999999));
    owner.insert(QStringLiteral("program"), QStringLiteral("airlockctl"));
    return owner;
}
} // namespace

class TestRetention : public QObject
{
    Q_OBJECT

    static Checkpoint take(Checkpointer &c, const QString &session)
    {
        auto r = c.create(CheckpointRequest{session});
        if (!r)
            qWarning() << r.error().message;
        return r ? r->checkpoint : Checkpoint();
    }

    static store::SessionRow row(test::Bench &b, const QString &id)
    {
        auto reader = store::StoreReader::open(b.db);
        return reader ? reader->existingSession(id).value_or(store::SessionRow()) : store::SessionRow();
    }

    static session::SessionFootprint footprintOf(test::Bench &b, const QString &id)
    {
        auto all = session::footprints(b.db);
        return all ? all->value(id) : session::SessionFootprint();
    }

    static std::optional<QString> blocker(test::Bench &b, const QString &id)
    {
        auto reader = store::StoreReader::open(b.db);
        if (!reader)
            return QStringLiteral("no reader");
        return session::removalBlocker(b.db, *reader, row(b, id));
    }

private Q_SLOTS:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    // The session, its shadow repository and its demo copy go; the user's folder and other sessions stay.
    void deleteRemovesHistoryAndCopy()
    {
        test::Bench b{QString()};
        const QString copy = session::managedWorkspaceRoot() + QStringLiteral("/demo-test-") + QString::number(QCoreApplication::applicationPid());
        session::removeFolder(copy);
        QVERIFY(QDir().mkpath(copy));
        QVERIFY(b.addSession(QStringLiteral("demo1"), copy, {{QStringLiteral("owner"), deadOwner()}}));
        QVERIFY(b.addSession(QStringLiteral("mine"), b.workspace, {{QStringLiteral("owner"), deadOwner()}}));
        Checkpointer c(*b.store);
        QVERIFY(put(copy + QStringLiteral("/a.txt"), QByteArray(20000, 'a')));
        QVERIFY(put(b.ws(QStringLiteral("b.txt")), "b\n"));
        QVERIFY(!take(c, QStringLiteral("demo1")).commit.isEmpty());
        QVERIFY(!take(c, QStringLiteral("mine")).commit.isEmpty());

        const session::SessionFootprint fp = footprintOf(b, QStringLiteral("demo1"));
        QCOMPARE(fp.shadowDir, shadowGitDir(b.db, QStringLiteral("demo1")));
        QVERIFY(fp.shadowBytes > 0);
        QCOMPARE(fp.workspaceCopy, QDir::cleanPath(copy));
        QVERIFY(fp.workspaceBytes >= 20000);
        QVERIFY(fp.storeBytes > 0);
        const session::SessionFootprint mine = footprintOf(b, QStringLiteral("mine"));
        QVERIFY(mine.workspaceCopy.isEmpty());
        QCOMPARE(mine.keptWorkspace, b.workspace);

        QVERIFY(!blocker(b, QStringLiteral("demo1")));
        auto removed = session::removeSession(b.db, fp, QStringLiteral("test"));
        QVERIFY2(removed, removed ? "" : qPrintable(removed.error().message));
        QVERIFY(removed->problems.isEmpty());
        QCOMPARE(removed->freedBytes, fp.total());
        QVERIFY(!QFileInfo::exists(fp.shadowDir));
        QVERIFY(!QFileInfo::exists(fp.shadowDir + QStringLiteral(".lock")));
        QVERIFY(!QFileInfo::exists(copy));

        auto reader = store::StoreReader::open(b.db);
        QVERIFY(reader);
        QVERIFY(!reader->session(QStringLiteral("demo1")).value());
        const QList<store::Event> left = b.events(QStringLiteral("demo1"));
        QCOMPARE(left.size(), 1); // the tombstone
        QCOMPARE(left.first().kind, QStringLiteral("session.deleted"));
        QCOMPARE(left.first().payload[QStringLiteral("events")].toInteger(), removed->purge.events);
        QCOMPARE(left.first().payload[QStringLiteral("workspaceCopy")][QStringLiteral("path")].toString(), fp.workspaceCopy);
        QVERIFY(reader->check().value().ok());

        // The other session, its history and the user's folder are untouched.
        QVERIFY(reader->session(QStringLiteral("mine")).value());
        QVERIFY(QFileInfo::exists(shadowGitDir(b.db, QStringLiteral("mine"))));
        QCOMPARE(test::slurp(b.ws(QStringLiteral("b.txt"))), QByteArray("b\n"));
        auto mineRemoved = session::removeSession(b.db, mine, QStringLiteral("test"));
        QVERIFY(mineRemoved);
        QCOMPARE(test::slurp(b.ws(QStringLiteral("b.txt"))), QByteArray("b\n"));
    }

    // Running, blocked, an owner that lives, a fork that reads the history: each keeps the session.
    void blockers()
    {
        test::Bench b{QString()};
        QVERIFY(b.addSession(QStringLiteral("alive"), b.workspace, {{QStringLiteral("owner"), session::currentOwner()}}));
        QVERIFY(b.addSession(QStringLiteral("scripted"), b.workspace));
        QVERIFY(b.store->append(QStringLiteral("scripted"), QStringLiteral("session.state"), {{QStringLiteral("state"), QStringLiteral("blocked")}}));
        QVERIFY(b.addSession(QStringLiteral("orphan"), b.workspace, {{QStringLiteral("owner"), deadOwner()}}));
        QVERIFY(b.store->append(QStringLiteral("orphan"), QStringLiteral("session.state"), {{QStringLiteral("state"), QStringLiteral("running")}}));
        QVERIFY(b.store->flush());

        auto why = blocker(b, QStringLiteral("alive"));
        QVERIFY(why);
        QVERIFY2(why->contains(QStringLiteral("still running")), qPrintable(*why));
        why = blocker(b, QStringLiteral("scripted"));
        QVERIFY(why);
        QVERIFY2(why->contains(QStringLiteral("blocked")), qPrintable(*why));
        // Its process is gone: "running" is only what the store last heard.
        QVERIFY(!blocker(b, QStringLiteral("orphan")));
        auto reader = store::StoreReader::open(b.db);
        QVERIFY(!session::removalBlocker(b.db, *reader, row(b, QStringLiteral("alive")), QCoreApplication::applicationPid()));

        // A fork reads its parent's objects: the parent waits until the fork is gone.
        QVERIFY(b.addSession(QStringLiteral("parent"), b.workspace, {{QStringLiteral("owner"), deadOwner()}}));
        Checkpointer c(*b.store);
        QVERIFY(put(b.ws(QStringLiteral("x.txt")), "x\n"));
        const Checkpoint cp = take(c, QStringLiteral("parent"));
        QVERIFY(!cp.commit.isEmpty());
        auto forked = c.fork(ForkRequest{QStringLiteral("parent"), cp.commit, QStringLiteral("child"),
                                         b.dir.filePath(QStringLiteral("child")), QString()});
        QVERIFY2(forked, forked ? "" : qPrintable(forked.error().message));
        QCOMPARE(session::dependentForks(b.db, QStringLiteral("parent")), QStringList{QStringLiteral("child")});
        why = blocker(b, QStringLiteral("parent"));
        QVERIFY(why);
        QVERIFY2(why->contains(QStringLiteral("child")), qPrintable(*why));
        QVERIFY(!blocker(b, QStringLiteral("child")));
        QVERIFY(session::removeSession(b.db, footprintOf(b, QStringLiteral("child")), QStringLiteral("test")));
        QVERIFY(!blocker(b, QStringLiteral("parent")));
        // The fork's own folder was the user's choice: it stays.
        QVERIFY(QFileInfo::exists(b.dir.filePath(QStringLiteral("child/x.txt"))));
    }

    void retentionIsStored()
    {
        test::Bench b{QString()};
        QVERIFY(!session::loadRetention(b.db).value().isSet());
        QVERIFY(session::saveRetention(b.db, {7, 3}));
        auto p = session::loadRetention(b.db).value();
        QCOMPARE(p.keepDays, 7);
        QCOMPARE(p.keepSessions, 3);
        auto db = store::openForReading(b.db);
        QVERIFY(db);
        QCOMPARE(store::setting(*db, QStringLiteral("retention"), QStringLiteral("keepDays")).value(), QStringLiteral("7"));
        QVERIFY(session::saveRetention(b.db, {0, 3}));
        QCOMPARE(session::loadRetention(b.db).value().keepDays, 0);
        QVERIFY(!store::setting(*db, QStringLiteral("retention"), QStringLiteral("keepDays")).value());
        QVERIFY(!session::saveRetention(b.db, {-1, 0}));
    }

    // gc keeps the newest and the recent, never a live one, and a parent whose fork is kept.
    void gcPlansAndRemoves()
    {
        test::Bench b{QString()};
        const QJsonObject dead{{QStringLiteral("owner"), deadOwner()}};
        for (const char *id : {"old1", "old2", "old3"})
            QVERIFY(b.addSession(QString::fromLatin1(id), b.workspace, dead));
        QVERIFY(b.addSession(QStringLiteral("busy"), b.workspace)); // a script's: its state is taken at its word
        QVERIFY(b.store->append(QStringLiteral("busy"), QStringLiteral("session.state"), {{QStringLiteral("state"), QStringLiteral("blocked")}}));
        QVERIFY(b.store->flush());
        // old1 has a fork, "kid", the newest session: keeping it keeps old1.
        Checkpointer c(*b.store);
        QVERIFY(put(b.ws(QStringLiteral("g.txt")), "g\n"));
        QVERIFY(!take(c, QStringLiteral("old2")).commit.isEmpty());
        QVERIFY(put(b.ws(QStringLiteral("f.txt")), "f\n"));
        const Checkpoint cp = take(c, QStringLiteral("old1"));
        QVERIFY(c.fork(ForkRequest{QStringLiteral("old1"), cp.commit, QStringLiteral("kid"), b.dir.filePath(QStringLiteral("kid")), QString()}));

        const qint64 later = QDateTime::currentMSecsSinceEpoch() + 30 * kDayMs;
        auto plan = session::planGc(b.db, {0, 0}, later);
        QVERIFY(plan);
        QVERIFY(plan->remove.isEmpty()); // no policy: keep everything

        // The newest session (kid, written last) is kept by count.
        session::RetentionPolicy policy{10, 1};
        plan = session::planGc(b.db, policy, later);
        QVERIFY(plan);
        QStringList going;
        for (const auto &fp : plan->remove)
            going << fp.session.id;
        QCOMPARE(going, (QStringList{QStringLiteral("old3"), QStringLiteral("old2")}));
        QStringList kept;
        for (const auto &[fp, why] : plan->kept)
            kept << fp.session.id + u':' + why;
        QCOMPARE(kept.size(), 2);
        QVERIFY2(kept.filter(QStringLiteral("busy:it is blocked")).size() == 1, qPrintable(kept.join(u'|')));
        QVERIFY2(kept.filter(QStringLiteral("old1:its fork kid")).size() == 1, qPrintable(kept.join(u'|')));
        QVERIFY(plan->totalBytes() > 0);

        // Nothing is old enough when the policy counts days from today.
        auto none = session::planGc(b.db, policy, QDateTime::currentMSecsSinceEpoch());
        QVERIFY(none && none->remove.isEmpty());

        const session::GcResult result = session::runGc(b.db, *plan, QStringLiteral("test"));
        QVERIFY2(result.problems.isEmpty(), qPrintable(result.problems.join(u'\n')));
        QCOMPARE(result.removedSessions, going);
        QVERIFY(!QFileInfo::exists(shadowGitDir(b.db, QStringLiteral("old2"))));
        QVERIFY(QFileInfo::exists(shadowGitDir(b.db, QStringLiteral("old1"))));
        auto reader = store::StoreReader::open(b.db);
        QCOMPARE(reader->sessions().value().size(), 3);
        QVERIFY(reader->check().value().ok());

        // With the fork going too, the parent goes after it.
        policy.keepSessions = 0;
        plan = session::planGc(b.db, policy, later);
        going.clear();
        for (const auto &fp : plan->remove)
            going << fp.session.id;
        QCOMPARE(going, (QStringList{QStringLiteral("kid"), QStringLiteral("old1")}));
        QVERIFY(session::runGc(b.db, *plan, QStringLiteral("test")).problems.isEmpty());
        QVERIFY(!QFileInfo::exists(shadowGitDir(b.db, QStringLiteral("old1"))));
    }

    // A folder a deletion could not remove is found again through the tombstone and removed by gc.
    void gcRemovesLeftovers()
    {
        test::Bench b{QString()};
        QVERIFY(b.addSession(QStringLiteral("s1"), b.workspace, {{QStringLiteral("owner"), deadOwner()}}));
        Checkpointer c(*b.store);
        QVERIFY(put(b.ws(QStringLiteral("a.txt")), "a\n"));
        QVERIFY(!take(c, QStringLiteral("s1")).commit.isEmpty());
        const QString shadow = shadowGitDir(b.db, QStringLiteral("s1"));
        session::SessionFootprint fp = footprintOf(b, QStringLiteral("s1"));
        QVERIFY(store::purgeSession(b.db, QStringLiteral("s1"),
                                    {{QStringLiteral("shadow"), QJsonObject{{QStringLiteral("path"), shadow}}}}));
        QVERIFY(QFileInfo::exists(shadow));
        auto plan = session::planGc(b.db, {}, QDateTime::currentMSecsSinceEpoch());
        QVERIFY(plan);
        QCOMPARE(plan->leftovers, QStringList{shadow});
        QVERIFY(session::runGc(b.db, *plan, QStringLiteral("test")).problems.isEmpty());
        QVERIFY(!QFileInfo::exists(shadow));
        QVERIFY(QFileInfo::exists(b.ws(QStringLiteral("a.txt"))));
    }
};

QTEST_GUILESS_MAIN(TestRetention)
#include "tst_workspace_retention.moc"
