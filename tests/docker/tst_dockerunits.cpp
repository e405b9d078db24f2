// The Docker backend's pure parts: stats arithmetic, the reconciliation plan, the tar writer, ELF
// dependency reading and the offline base root file system. No daemon needed.
#include "docker/baseimage.h"
#include "docker/dockerstats.h"
#include "docker/elfdeps.h"
#include "docker/reconcile.h"
#include "docker/tarwriter.h"

#include <QJsonDocument>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

using namespace airlock;
using namespace airlock::docker;

namespace {

ContainerRecord container(const QString &sandbox, const QString &session, const QString &lifecycle, const QString &state,
                          const QString &store = QStringLiteral("host:/db"), const QString &owner = QStringLiteral("h:1:1"))
{
    ContainerRecord c;
    c.id = QStringLiteral("c-") + sandbox;
    c.state = state;
    if (!sandbox.isEmpty())
        c.labels.insert(QLatin1String(labels::Sandbox), sandbox);
    c.labels.insert(QLatin1String(labels::Session), session);
    c.labels.insert(QLatin1String(labels::Lifecycle), lifecycle);
    if (!store.isEmpty())
        c.labels.insert(QLatin1String(labels::Store), store);
    c.labels.insert(QLatin1String(labels::Owner), owner);
    return c;
}

// Lists an archive with the host's tar, the independent judge of what we wrote.
QStringList tarList(const QByteArray &archive)
{
    QProcess tar;
    tar.start(QStringLiteral("tar"), {QStringLiteral("-tvf"), QStringLiteral("-")});
    tar.write(archive);
    tar.closeWriteChannel();
    tar.waitForFinished(20000);
    if (tar.exitCode() != 0)
        return {QStringLiteral("tar failed: ") + QString::fromLocal8Bit(tar.readAllStandardError())};
    return QString::fromLocal8Bit(tar.readAllStandardOutput()).split(u'\n', Qt::SkipEmptyParts);
}

} // namespace

class TestDockerUnits : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void stats_data();
    void stats();
    void statsCpuFromPreviousSample();
    void reconcilePlan_data();
    void reconcilePlan();
    void reconcileReportSummary();
    void ownerOfThisProcessIsAlive();
    void tarWriterIsReadByTar();
    void tarWriterRefuses_data();
    void tarWriterRefuses();
    void elfOfDynamicAndStaticPrograms();
    void elfRejectsNonElf();
    void baseRootfs();
};

void TestDockerUnits::stats_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<double>("cpu");
    QTest::addColumn<qint64>("memory");
    QTest::addColumn<qint64>("pids");
    QTest::newRow("cgroup v1") << QByteArray(R"({"id":"abc","read":"2024-05-01T10:00:00.5Z",
        "cpu_stats":{"cpu_usage":{"total_usage":3000000000,"percpu_usage":[1,2]},"system_cpu_usage":20000000000,"online_cpus":2},
        "precpu_stats":{"cpu_usage":{"total_usage":2000000000},"system_cpu_usage":10000000000},
        "memory_stats":{"usage":10485760,"limit":2147483648,"stats":{"total_inactive_file":2097152,"cache":4194304}},
        "pids_stats":{"current":7,"limit":100}})")
                               << 20.0 << qint64(8388608) << qint64(7);
    QTest::newRow("cgroup v2") << QByteArray(R"({"cpu_stats":{"cpu_usage":{"total_usage":500},"system_cpu_usage":2000,"online_cpus":4},
        "precpu_stats":{"cpu_usage":{"total_usage":0},"system_cpu_usage":1000},
        "memory_stats":{"usage":5000,"limit":9000,"stats":{"inactive_file":1000}},"pids_stats":{"current":1}})")
                               << 200.0 << qint64(4000) << qint64(1);
    QTest::newRow("one-shot, no previous") << QByteArray(R"({"cpu_stats":{"cpu_usage":{"total_usage":5},"system_cpu_usage":9,"online_cpus":1},
        "precpu_stats":{"cpu_usage":{}},"memory_stats":{"usage":100,"limit":200,"stats":{}},"pids_stats":{}})")
                                           << -1.0 << qint64(100) << qint64(-1);
    QTest::newRow("stopped container") << QByteArray(R"({"read":"0001-01-01T00:00:00Z","cpu_stats":{},"memory_stats":{}})")
                                       << -1.0 << qint64(-1) << qint64(-1);
}

void TestDockerUnits::stats()
{
    QFETCH(QByteArray, json);
    QFETCH(double, cpu);
    QFETCH(qint64, memory);
    QFETCH(qint64, pids);
    auto s = parseStats(QJsonDocument::fromJson(json).object());
    QVERIFY2(s.has_value(), qPrintable(s ? QString() : s.error().message));
    QCOMPARE(s->cpuPercent, cpu);
    QCOMPARE(s->memoryBytes, memory);
    QCOMPARE(s->pids, pids);
    QVERIFY(s->toJson().contains(u"memoryLimit"));
    QVERIFY(!parseStats(QJsonObject{{QStringLiteral("message"), QStringLiteral("no")}}));
}

void TestDockerUnits::statsCpuFromPreviousSample()
{
    const auto sample = [](int total, int system) {
        return QJsonDocument::fromJson(QStringLiteral(R"({"cpu_stats":{"cpu_usage":{"total_usage":%1},"system_cpu_usage":%2,"online_cpus":2},
            "precpu_stats":{},"memory_stats":{}})").arg(total).arg(system).toUtf8()).object();
    };
    auto first = parseStats(sample(100, 1000));
    QVERIFY(first && first->cpuPercent < 0);
    auto second = parseStats(sample(150, 1100), &*first);
    QVERIFY(second);
    QCOMPARE(second->cpuPercent, 100.0); // 50 of 100 ns, times 2 CPUs
}

void TestDockerUnits::reconcilePlan_data()
{
    using K = ReconcileAction::Kind;
    QTest::addColumn<ContainerRecord>("record");
    QTest::addColumn<int>("kind");
    QTest::addColumn<QString>("reason");
    const QString alive = QStringLiteral("alive:1:1");
    QTest::newRow("unknown session") << container(QStringLiteral("sb-1"), QStringLiteral("s-gone"), QStringLiteral("persistent"), QStringLiteral("running"))
                                     << int(K::Reap) << QStringLiteral("not in the store");
    QTest::newRow("ended session") << container(QStringLiteral("sb-2"), QStringLiteral("s-ended"), QStringLiteral("persistent"), QStringLiteral("exited"))
                                   << int(K::Reap) << QStringLiteral("has ended");
    QTest::newRow("persistent, live session, stopped") << container(QStringLiteral("sb-3"), QStringLiteral("s-live"), QStringLiteral("persistent"), QStringLiteral("exited"))
                                                       << int(K::Adopt) << QStringLiteral("stopped");
    QTest::newRow("persistent, no session, running") << container(QStringLiteral("sb-4"), QString(), QStringLiteral("persistent"), QStringLiteral("running"))
                                                     << int(K::Adopt) << QStringLiteral("running");
    QTest::newRow("ephemeral of a live process") << container(QStringLiteral("sb-5"), QString(), QStringLiteral("ephemeral"), QStringLiteral("running"), QStringLiteral("host:/db"), alive)
                                                 << int(K::Attach) << QStringLiteral("another Airlock process");
    QTest::newRow("ephemeral a live process is still starting") << container(QStringLiteral("sb-9"), QString(), QStringLiteral("ephemeral"), QStringLiteral("created"), QStringLiteral("host:/db"), alive)
                                                                << int(K::Leave) << QStringLiteral("is starting or stopping it");
    QTest::newRow("ephemeral of a dead process") << container(QStringLiteral("sb-6"), QStringLiteral("s-live"), QStringLiteral("ephemeral"), QStringLiteral("running"))
                                                 << int(K::Reap) << QStringLiteral("is gone");
    QTest::newRow("hybrid, exited") << container(QStringLiteral("sb-7"), QString(), QStringLiteral("hybrid"), QStringLiteral("exited"))
                                    << int(K::Reap) << QStringLiteral("no longer running");
    QTest::newRow("another store") << container(QStringLiteral("sb-8"), QStringLiteral("s-gone"), QStringLiteral("ephemeral"), QStringLiteral("running"), QStringLiteral("other:/db"))
                                   << int(K::Leave) << QStringLiteral("another Airlock database");
    QTest::newRow("already managed") << container(QStringLiteral("sb-known"), QString(), QStringLiteral("ephemeral"), QStringLiteral("running"))
                                     << int(K::Leave) << QStringLiteral("already managed");
    QTest::newRow("no sandbox label") << container(QString(), QString(), QStringLiteral("ephemeral"), QStringLiteral("running"))
                                      << int(K::Reap) << QStringLiteral("no sandbox id");
}

void TestDockerUnits::reconcilePlan()
{
    QFETCH(ContainerRecord, record);
    QFETCH(int, kind);
    QFETCH(QString, reason);
    ReconcileInput input;
    input.containers = {record};
    input.known = {QStringLiteral("sb-known")};
    input.storeIdentity = QStringLiteral("host:/db");
    input.session = [](const QString &s) {
        if (s == QLatin1String("s-live"))
            return SessionStatus::Live;
        if (s == QLatin1String("s-ended"))
            return SessionStatus::Ended;
        return SessionStatus::Unknown;
    };
    input.ownerAlive = [](const QString &owner) { return owner.startsWith(QLatin1String("alive:")); };
    const QList<ReconcileAction> plan = planReconcile(input);
    QCOMPARE(plan.size(), 1);
    QCOMPARE(int(plan.first().kind), kind);
    QVERIFY2(plan.first().reason.contains(reason), qPrintable(plan.first().reason));
}

void TestDockerUnits::reconcileReportSummary()
{
    ReconcileReport report;
    report.entries << ReconcileReport::Entry{QStringLiteral("reaped"), QStringLiteral("sb-1"), QStringLiteral("c1"), {}, {}}
                   << ReconcileReport::Entry{QStringLiteral("reaped"), QStringLiteral("sb-2"), QStringLiteral("c2"), {}, {}}
                   << ReconcileReport::Entry{QStringLiteral("adopted"), QStringLiteral("sb-3"), QStringLiteral("c3"), {}, {}};
    QCOMPARE(report.summary(), QStringLiteral("Docker: 2 containers reaped, 1 persistent sandbox re-adopted."));
    QCOMPARE(report.toJson().value(u"containers").toArray().size(), 3);
    QCOMPARE(ReconcileReport().summary(), QStringLiteral("Docker: no Airlock containers were left from earlier runs."));
    QCOMPARE(sessionStatusOf(QStringLiteral("ended")), SessionStatus::Ended);
    QCOMPARE(sessionStatusOf(QStringLiteral("blocked")), SessionStatus::Live);
}

void TestDockerUnits::ownerOfThisProcessIsAlive()
{
    const QString me = currentOwner();
    QCOMPARE(me.count(u':'), 2);
    QVERIFY(ownerAlive(me));
    QStringList parts = me.split(u':');
    parts[2] = QStringLiteral("1"); // same pid, another start time: a reused pid
    QVERIFY(!ownerAlive(parts.join(u':')));
    QVERIFY(!ownerAlive(QStringLiteral("garbage")));
}

void TestDockerUnits::tarWriterIsReadByTar()
{
    TarWriter tar;
    QVERIFY(tar.addDirectory(QStringLiteral("/etc")));
    QVERIFY(tar.addFile(QStringLiteral("etc/passwd"), "root:x:0:0::/root:/bin/sh\n"));
    QVERIFY(tar.addDirectory(QStringLiteral("home/agent"), 0755, 1000, 1000));
    QVERIFY(tar.addSymlink(QStringLiteral("bin"), QStringLiteral("usr/bin")));
    const QString deep = QStringLiteral("usr/lib/") + QString(60, u'a') + u'/' + QString(70, u'b');
    QVERIFY(tar.addFile(deep, QByteArray(1000, 'x'), 0755));
    QVERIFY(tar.contains(QStringLiteral("/etc/passwd")));
    const QStringList listing = tarList(tar.finish());
    QCOMPARE(listing.size(), 5);
    QVERIFY2(listing.at(0).startsWith(QLatin1String("drwxr-xr-x root/root")), qPrintable(listing.at(0)));
    QVERIFY(listing.at(2).contains(QLatin1String("1000/1000")) || listing.at(2).contains(QLatin1String("agent/agent")));
    QVERIFY2(listing.at(3).contains(QLatin1String("bin -> usr/bin")), qPrintable(listing.at(3)));
    QVERIFY2(listing.at(4).contains(deep) && listing.at(4).contains(QLatin1String("1000")), qPrintable(listing.at(4)));

    // Past what ustar's fields hold, a pax record carries the name and the link target, which tar reads.
    TarWriter longer;
    const QString name = QString(120, u'n') + u'/' + QString(180, u'm');
    const QString target = QStringLiteral("/") + QString(150, u't');
    QVERIFY(longer.addFile(name, "x"));
    QVERIFY(longer.addSymlink(QStringLiteral("link"), target));
    const QStringList long_ = tarList(longer.finish());
    QCOMPARE(long_.size(), 2);
    QVERIFY2(long_.at(0).endsWith(name), qPrintable(long_.at(0)));
    QVERIFY2(long_.at(1).endsWith(QStringLiteral("link -> ") + target), qPrintable(long_.at(1)));
}

void TestDockerUnits::tarWriterRefuses_data()
{
    QTest::addColumn<QString>("path");
    QTest::newRow("escape") << QStringLiteral("../etc/passwd");
    QTest::newRow("inner escape") << QStringLiteral("usr/../../x");
    QTest::newRow("empty") << QStringLiteral("/");
}

void TestDockerUnits::tarWriterRefuses()
{
    QFETCH(QString, path);
    TarWriter tar;
    QVERIFY(!tar.addFile(path, "x"));
    QVERIFY(tar.addFile(QStringLiteral("ok"), "x"));
    QVERIFY(!tar.addFile(QStringLiteral("ok"), "x")); // twice
}

void TestDockerUnits::elfOfDynamicAndStaticPrograms()
{
    auto ls = readElf(QStringLiteral("/bin/ls"));
    QVERIFY2(ls.has_value(), qPrintable(ls ? QString() : ls.error().message));
    QVERIFY(!ls->interpreter.isEmpty());
    QVERIFY(ls->needed.contains(QStringLiteral("libc.so.6")));
    auto closure = dependencyClosure(QStringLiteral("/bin/ls"));
    QVERIFY(closure.has_value());
    QVERIFY(std::any_of(closure->begin(), closure->end(), [](const QString &f) { return f.endsWith(QLatin1String("/libc.so.6")); }));
    QVERIFY(closure->contains(ls->interpreter));
#ifdef AIRLOCK_SHIM_PATH
    auto shim = readElf(QStringLiteral(AIRLOCK_SHIM_PATH));
    QVERIFY(shim.has_value());
    QVERIFY2(shim->interpreter.isEmpty(), "airlock-shim must be static to run in any image");
    QCOMPARE(dependencyClosure(QStringLiteral(AIRLOCK_SHIM_PATH))->size(), 1);
#endif
}

void TestDockerUnits::elfRejectsNonElf()
{
    QTemporaryDir dir;
    const QString script = dir.filePath(QStringLiteral("script"));
    QFile f(script);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("#!/bin/sh\necho hi\n");
    f.close();
    auto elf = readElf(script);
    QVERIFY(!elf);
    QVERIFY(elf.error().message.contains(QLatin1String("not an ELF file")));
    QFile truncated(dir.filePath(QStringLiteral("trunc")));
    QVERIFY(truncated.open(QIODevice::WriteOnly));
    truncated.write(QByteArray("\x7f" "ELF\x02\x01\x01", 7) + QByteArray(57, '\0') + QByteArray(8, '\xff'));
    truncated.close();
    QVERIFY(!readElf(truncated.fileName()));
    QVERIFY(!readElf(dir.filePath(QStringLiteral("missing"))));
}

void TestDockerUnits::baseRootfs()
{
    BaseImageOptions options;
    if (!QFileInfo::exists(QStringLiteral("/usr/bin/busybox")) && !QFileInfo::exists(QStringLiteral("/bin/busybox")))
        options.busybox = QStringLiteral("none"); // the host-programs fallback is tested instead
    auto rootfs = assembleBaseRootfs(options);
    QVERIFY2(rootfs.has_value(), qPrintable(rootfs ? QString() : rootfs.error().message));
    const QStringList listing = tarList(rootfs->tar);
    const QString all = listing.join(u'\n');
    for (const char *must : {" etc/passwd", " tmp/", " home/agent/", " airlock/shim", " airlock/control/"})
        QVERIFY2(all.contains(QLatin1String(must)), must);
    QVERIFY(all.contains(QLatin1String("usr/bin/sh")) || all.contains(QLatin1String(" bin/sh")));
    QVERIFY(rootfs->summary.contains(QLatin1String("entries")));
    // Host programs come with their loader and libraries.
    options.busybox = QStringLiteral("none");
    options.programs = {QStringLiteral("/bin/sh"), QStringLiteral("/bin/ls")};
    auto programs = assembleBaseRootfs(options);
    QVERIFY2(programs.has_value(), qPrintable(programs ? QString() : programs.error().message));
    const QString listed = tarList(programs->tar).join(u'\n');
    QVERIFY(listed.contains(QLatin1String("libc.so.6")));
    QVERIFY(listed.contains(QLatin1String("ld-linux")));
}

QTEST_GUILESS_MAIN(TestDockerUnits)
#include "tst_dockerunits.moc"
