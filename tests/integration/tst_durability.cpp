// Durability, for real: a child process appends in a loop and is killed with SIGKILL at random
// moments. After every kill the file must pass integrity_check, hold every event the child was told
// was committed, and keep an unbroken sequence.
#include "store/schema.h"
#include "store/storereader.h"

#include <QMap>
#include <QProcess>
#include <QRandomGenerator>
#include <QSet>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <limits>
#include <memory>
#include <vector>

using namespace airlock::store;

class TestDurability : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void survivesSigkill()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("durable.db"));
        const quint32 seed = QRandomGenerator::global()->generate();
        qInfo("seed %u", seed); // printed so a failure can be replayed
        QRandomGenerator rng(seed);
        constexpr int kills = 24;
        qint64 nextN = 1;
        qint64 maxCommitted = 0;
        for (int round = 0; round < kills; ++round) {
            QProcess child;
            child.setProcessChannelMode(QProcess::SeparateChannels);
            child.start(QStringLiteral(STORE_APPENDER_PATH),
                        {path, QString::number(nextN), QString::number(rng.generate())});
            QVERIFY2(child.waitForStarted(), qPrintable(child.errorString()));
            // Wait for a random number of committed bursts, then kill wherever the child is.
            const int wantLines = 1 + int(rng.bounded(12));
            int lines = 0;
            QByteArray buffer;
            while (lines < wantLines) {
                QVERIFY2(child.waitForReadyRead(20000), child.readAllStandardError().constData());
                buffer += child.readAllStandardOutput();
                lines = int(buffer.count('\n'));
            }
            ::kill(pid_t(child.processId()), SIGKILL);
            QVERIFY(child.waitForFinished(10000));
            QCOMPARE(child.exitStatus(), QProcess::CrashExit);
            buffer += child.readAllStandardOutput();
            for (const QByteArray &line : buffer.split('\n')) {
                if (line.startsWith("committed "))
                    maxCommitted = std::max(maxCommitted, line.mid(10).toLongLong());
            }

            // A fresh connection recovers the WAL and must find everything it was promised.
            auto reader = StoreReader::open(path);
            QVERIFY2(reader, qPrintable(reader ? QString() : reader.error().message));
            auto report = reader->check();
            QVERIFY(report);
            QVERIFY2(report->integrityOk, qPrintable(report->integrityMessages.join(u'\n')));
            QVERIFY2(report->seqContiguous, "sequence numbers have gaps");
            // The child writes n = 1, 2, 3 … in order, so the log must hold exactly 1..count.
            QVERIFY2(report->events >= maxCommitted,
                     qPrintable(QStringLiteral("round %1: %2 events stored but %3 were reported committed")
                                    .arg(round).arg(report->events).arg(maxCommitted)));
            EventQuery q;
            q.newest = true;
            q.limit = 1;
            auto last = reader->events(q);
            QVERIFY(last && !last->isEmpty());
            QCOMPARE(last->first().payload.value(QStringLiteral("n")).toInteger(), report->events);
            QCOMPARE(last->first().seq, report->events);
            nextN = report->events + 1;
        }
        qInfo("%d kills, %lld events committed and found", kills, maxCommitted);
    }

    // One long writer and eight processes that keep opening and closing the store and a reader, as
    // `airlockctl run` beside the GUI and a shell loop of commands do. Every process must finish
    // without an error, the file must pass the integrity check and hold everything reported
    // committed. (Closing a stray descriptor of the file once dropped a process's locks, and the
    // others then removed the WAL under it: "database disk image is malformed".)
    void sharedByManyProcesses()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("shared.db"));
        constexpr int churners = 8;
        const QString ms = QString::number(12000);
        std::vector<std::unique_ptr<QProcess>> children;
        auto start = [&](const QStringList &args) {
            auto child = std::make_unique<QProcess>();
            child->start(QStringLiteral(STORE_APPENDER_PATH), args);
            QVERIFY2(child->waitForStarted(), qPrintable(child->errorString()));
            children.push_back(std::move(child));
        };
        start({QStringLiteral("--writer"), path, ms});
        for (int i = 0; i < churners; ++i)
            start({QStringLiteral("--churn"), path, ms, QString::number(i)});

        QMap<QString, qint64> committed; // session -> events reported committed
        QStringList errors;
        for (size_t i = 0; i < children.size(); ++i) {
            QProcess &child = *children[i];
            QVERIFY2(child.waitForFinished(120000), "a child did not finish in two minutes");
            const QString session = i == 0 ? QStringLiteral("writer") : QStringLiteral("churn-%1").arg(i - 1);
            const QByteArray err = child.readAllStandardError().trimmed();
            if (child.exitStatus() != QProcess::NormalExit || child.exitCode() != 0)
                errors << QStringLiteral("%1 exited with %2: %3").arg(session).arg(child.exitCode()).arg(QString::fromLocal8Bit(err));
            const QByteArray outText = child.readAllStandardOutput();
            for (const QByteArray &line : outText.split('\n'))
                if (line.startsWith("committed "))
                    committed[session] = line.mid(10).toLongLong();
        }

        auto reader = StoreReader::open(path);
        QVERIFY2(reader, qPrintable(reader ? QString() : reader.error().message));
        auto report = reader->check();
        QVERIFY2(report, qPrintable(report ? QString() : report.error().message));
        qint64 reported = 0;
        for (auto it = committed.cbegin(); it != committed.cend(); ++it) {
            reported += it.value();
            EventQuery q;
            q.session = it.key();
            q.limit = std::numeric_limits<int>::max();
            auto events = reader->events(q);
            if (!events) {
                errors << events.error().message;
                continue;
            }
            if (events->size() != it.value())
                errors << QStringLiteral("%1: %2 events stored, %3 reported committed")
                              .arg(it.key()).arg(events->size()).arg(it.value());
        }
        qInfo("%lld events committed by %d processes, %lld in the file; integrity: %s", reported, churners + 1,
              report->events, qPrintable(report->integrityMessages.join(QStringLiteral("; ")).left(300)));
        QVERIFY2(report->integrityOk, qPrintable(report->integrityMessages.join(u'\n').left(2000)));
        QVERIFY2(report->seqContiguous, "sequence numbers have gaps");
        QVERIFY2(errors.isEmpty(), qPrintable(errors.join(u'\n')));
        QCOMPARE(committed.size(), churners + 1);
    }
};

QTEST_GUILESS_MAIN(TestDurability)
#include "tst_durability.moc"
