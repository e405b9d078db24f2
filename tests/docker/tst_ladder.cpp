// The ladder benchmark against the real rungs of this machine (bare host, bubblewrap, Docker with runc,
// gVisor): every rung that runs here is measured, every one that cannot says why, nothing it made is
// left behind (finished or canceled), and the stored result survives bad input.
#include "dockertestutil.h"
#include "docker/gvisor.h"
#include "ladder/ladder.h"
#include "sandbox/localbackend.h"
#include "store/eventstore.h"
#include "store/maintenance.h"

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QTimeZone>
#include <QTimer>

using namespace airlock;
using namespace airlock::ladder;

namespace {

LadderOptions quick()
{
    LadderOptions o;
    o.coldRounds = 1;
    o.warmRounds = 3;
    o.fileRounds = 1;
    o.cpuRounds = 1;
    o.files = 2000;
    o.cpuIterations = 50000;
    return o;
}

QStringList ladderFolders()
{
    return QDir(QDir::tempPath()).entryList({QStringLiteral("airlock-ladder-*")}, QDir::Dirs | QDir::NoDotAndDotDot);
}

// Sandboxes the benchmark made that are still there, on either backend (a fresh look, as another process has).
QStringList leftovers()
{
    QStringList out;
    sandbox::LocalBackend local;
    if (!local.unavailableReason()) {
        local.discover();
        for (sandbox::Sandbox *s : local.sandboxes())
            if (s->info().policyName.startsWith(QLatin1String("ladder:")))
                out << QStringLiteral("local ") + s->id();
    }
    if (!docker::test::dockerUnavailable()) {
        docker::DockerBackend docker;
        (void)docker::test::await(docker.reconcile());
        for (sandbox::Sandbox *s : docker.sandboxes())
            if (s->info().policyName.startsWith(QLatin1String("ladder:")))
                out << QStringLiteral("docker ") + s->id();
    }
    return out;
}

// Why gVisor cannot run here, or nothing.
std::optional<QString> gvisorUnavailable()
{
    if (auto why = docker::test::dockerUnavailable())
        return why;
    docker::DockerClient client(docker::DockerEndpoint::fromEnvironment().value_or(docker::DockerEndpoint{}));
    auto info = docker::test::await(client.info());
    const auto status = docker::gvisorStatus(info ? *info : QJsonObject(), QStandardPaths::findExecutable(QStringLiteral("runsc")));
    if (!status.ready())
        return status.detail;
    return std::nullopt;
}

} // namespace

class TestLadder : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        if (qEnvironmentVariableIsEmpty("AIRLOCK_SHIM"))
            qputenv("AIRLOCK_SHIM", AIRLOCK_SHIM_PATH);
    }

    void resultJsonRoundTripsAndRatios()
    {
        LadderResult r;
        r.measured = QDateTime::fromMSecsSinceEpoch(1'800'000'000'000, Qt::UTC);
        r.machine = QStringLiteral("test machine");
        r.files = 10000;
        RungResult host{Rung::Host, {}, {}};
        host.medianMs = {1.0, 0.5, 200.0, 100.0};
        RungResult bw{Rung::Bubblewrap, {}, {}};
        bw.medianMs = {80.0, 2.0, 260.0, 101.0};
        RungResult gv{Rung::Gvisor, QStringLiteral("no runtime"), {}};
        r.rungs = {host, bw, gv};
        QCOMPARE(*r.ratio(Rung::Bubblewrap, Workload::ColdStart), 80.0);
        QCOMPARE(*r.ratio(Rung::Bubblewrap, Workload::Files), 1.3);
        QVERIFY(!r.ratio(Rung::Gvisor, Workload::Cpu));
        QVERIFY(!r.ratio(Rung::Docker, Workload::Cpu));

        auto back = LadderResult::fromJson(r.toJson());
        QVERIFY2(back, qPrintable(back ? QString() : back.error().message));
        QCOMPARE(back->toJson(), r.toJson());
        QCOMPARE(back->rung(Rung::Gvisor)->skipped, QStringLiteral("no runtime"));

        const QString table = formatTable(r);
        QVERIFY2(table.contains(QStringLiteral("×80")) && table.contains(QStringLiteral("×1.3")), qPrintable(table));
        QVERIFY2(table.contains(QStringLiteral("gVisor (runsc) skipped: no runtime")), qPrintable(table));
        QCOMPARE(formatRatio(1.0), QStringLiteral("×1"));
        QCOMPARE(formatRatio(0.984), QStringLiteral("×0.98"));
        QCOMPARE(formatRatio(123.4), QStringLiteral("×123"));
    }

    void badStoredResultsSayWhy_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("expected");
        QTest::newRow("not json") << QByteArray("{\"measured\":") << QStringLiteral("not JSON");
        QTest::newRow("array") << QByteArray("[]") << QStringLiteral("not JSON");
        QTest::newRow("no time") << QByteArray(R"({"rungs":[]})") << QStringLiteral("\"measured\"");
        QTest::newRow("no rungs") << QByteArray(R"({"measured":"2026-12-07T10:00:00.000Z"})") << QStringLiteral("\"rungs\"");
        QTest::newRow("unknown rung") << QByteArray(R"({"measured":"2026-12-07T10:00:00.000Z","rungs":[{"rung":"vm"}]})")
                                      << QStringLiteral("unknown rung \"vm\"");
    }

    void badStoredResultsSayWhy()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        const QString db = dir.filePath(QStringLiteral("airlock.db"));
        {
            auto opened = store::EventStore::open(db);
            QVERIFY(opened);
        }
        auto none = loadLadder(db);
        QVERIFY(none && !*none);
        QVERIFY(store::setSetting(db, QStringLiteral("ladder"), QStringLiteral("last"), QString::fromUtf8(json)));
        auto loaded = loadLadder(db);
        QVERIFY(!loaded);
        QVERIFY2(loaded.error().message.contains(expected), qPrintable(loaded.error().message));
    }

    void oddValuesAreDroppedNotTrusted()
    {
        // Negative, infinite and non-number medians are dropped: the rung shows "—", not a made-up ratio.
        const auto parsed = LadderResult::fromJson(QJsonDocument::fromJson(
            R"({"measured":"2026-12-07T10:00:00.000Z","rungs":[{"rung":"host","medianMs":{"cpu":-1,"files":"fast","warm-exec":null}},
                {"rung":"docker","medianMs":{"cpu":5}}]})").object());
        QVERIFY(parsed);
        QVERIFY(!parsed->medianMs(Rung::Host, Workload::Cpu));
        QVERIFY(!parsed->medianMs(Rung::Host, Workload::Files));
        QVERIFY(!parsed->ratio(Rung::Docker, Workload::Cpu));
    }

    void measuresEveryRungThatRunsHere()
    {
        const QStringList foldersBefore = ladderFolders();
        LadderBenchmark bench(quick());
        QSignalSpy finished(&bench, &LadderBenchmark::finished);
        QSignalSpy progress(&bench, &LadderBenchmark::progress);
        bench.start();
        QVERIFY(bench.isRunning());
        QVERIFY(finished.wait(240000));
        QVERIFY(!bench.isRunning());
        const auto result = finished.first().first().value<LadderResult>();
        QCOMPARE(progress.last().at(0).toInt(), bench.totalSteps());
        for (int i = 1; i < progress.size(); ++i)
            QVERIFY(progress.at(i).at(0).toInt() >= progress.at(i - 1).at(0).toInt());

        const std::optional<QString> expectSkipped[] = {
            std::nullopt,
            [] { auto r = sandbox::LocalBackend::probeBwrap(); return r ? std::nullopt : std::optional(r.error().message); }(),
            docker::test::dockerUnavailable(),
            gvisorUnavailable(),
        };
        QCOMPARE(result.rungs.size(), 4);
        for (const RungResult &r : result.rungs) {
            const auto &why = expectSkipped[int(r.rung)];
            if (why) {
                QVERIFY2(!r.skipped.isEmpty(), qPrintable(rungTitle(r.rung) + QStringLiteral(" should say why it cannot run: ") + *why));
                qInfo("%s skipped, as expected here: %s", qPrintable(rungTitle(r.rung)), qPrintable(r.skipped));
                continue;
            }
            QVERIFY2(r.skipped.isEmpty(), qPrintable(rungTitle(r.rung) + QStringLiteral(": ") + r.skipped));
            for (Workload w : kAllWorkloads) {
                QVERIFY2(r.medianMs[int(w)] && *r.medianMs[int(w)] > 0, qPrintable(rungTitle(r.rung) + u' ' + workloadTitle(w)));
                QVERIFY(result.ratio(r.rung, w));
            }
        }
        QCOMPARE(*result.ratio(Rung::Host, Workload::Cpu), 1.0);
        qInfo("\n%s", qPrintable(formatTable(result)));
        QCOMPARE(leftovers(), QStringList());
        QCOMPARE(ladderFolders(), foldersBefore);
    }

    void cancelRemovesWhatItMade()
    {
        const bool docker = !docker::test::dockerUnavailable();
        if (!docker && !sandbox::LocalBackend::probeBwrap())
            QSKIP("neither bubblewrap nor Docker can run here");
        const QStringList foldersBefore = ladderFolders();
        LadderOptions options = quick();
        options.rungs = {Rung::Host, docker ? Rung::Docker : Rung::Bubblewrap};
        options.warmRounds = 50;
        LadderBenchmark bench(options);
        QSignalSpy canceled(&bench, &LadderBenchmark::canceled);
        QSignalSpy finished(&bench, &LadderBenchmark::finished);
        // Canceled while an exec runs in the rung's sandbox for the warm workloads: the hardest thing to clean up.
        connect(&bench, &LadderBenchmark::progress, &bench, [&bench](int, int, const QString &what) {
            if (what.contains(QLatin1String("warm exec 3/")))
                QTimer::singleShot(0, &bench, &LadderBenchmark::cancel);
        });
        bench.start();
        QVERIFY(canceled.wait(180000));
        QCOMPARE(finished.size(), 0);
        QVERIFY(!bench.isRunning());
        QCOMPARE(leftovers(), QStringList());
        QCOMPARE(ladderFolders(), foldersBefore);
    }
};

QTEST_GUILESS_MAIN(TestLadder)
#include "tst_ladder.moc"
