// A disk that fills while the store writes, for real: a small tmpfs mounted for the test, filled up
// with a plain file, then freed. Nothing committed may be lost, nothing accepted may vanish without
// a word, and every error names the full file system.
#include "store/eventstore.h"
#include "store/paths.h"
#include "store/schema.h"
#include "store/storereader.h"

#include <QDir>
#include <QFile>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

using namespace airlock;
using namespace airlock::store;

namespace {

// A tmpfs of its own, unmounted when the test ends.
class SmallDisk
{
public:
    explicit SmallDisk(const char *size)
    {
        m_path = m_dir.filePath(QStringLiteral("disk"));
        QDir().mkpath(m_path);
        const QByteArray options = QByteArray("size=") + size + ",mode=0700";
        if (::mount("airlock-test", QFile::encodeName(m_path).constData(), "tmpfs", 0, options.constData()) == 0)
            m_mounted = true;
        else
            m_why = QStringLiteral("cannot mount a tmpfs (%1): the test needs root or CAP_SYS_ADMIN")
                        .arg(QString::fromLocal8Bit(std::strerror(errno)));
    }
    ~SmallDisk()
    {
        if (m_fillFd >= 0)
            ::close(m_fillFd);
        if (m_mounted)
            ::umount2(QFile::encodeName(m_path).constData(), MNT_DETACH);
    }
    bool mounted() const { return m_mounted; }
    const QString &why() const { return m_why; }
    QString file(const QString &name) const { return m_path + u'/' + name; }
    const QString &path() const { return m_path; }

    // Writes a file until the disk refuses another byte.
    bool fill()
    {
        m_fillFd = ::open(QFile::encodeName(file(QStringLiteral("filler"))).constData(),
                          O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (m_fillFd < 0)
            return false;
        const QByteArray chunk(4096, 'f');
        for (;;) {
            const ssize_t n = ::write(m_fillFd, chunk.constData(), size_t(chunk.size()));
            if (n < 0)
                return errno == ENOSPC;
            if (n < chunk.size()) // the last bytes that fitted; the next write says ENOSPC
                continue;
        }
    }
    void free()
    {
        if (m_fillFd >= 0)
            ::ftruncate(m_fillFd, 0);
    }

private:
    QTemporaryDir m_dir;
    QString m_path;
    QString m_why;
    bool m_mounted = false;
    int m_fillFd = -1;
};

QJsonObject tick(qint64 n)
{
    return QJsonObject{{QStringLiteral("n"), n}, {QStringLiteral("fill"), QString(400, u'x')}};
}

} // namespace

class TestStoreDiskFull : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        qRegisterMetaType<airlock::Error>();
    }

    // The writer meets a full disk: it says so (naming the file system), keeps every event in
    // memory, and writes them all, in order, once space is back.
    void writerWaitsForSpace()
    {
        SmallDisk disk("2m");
        if (!disk.mounted())
            QSKIP(qPrintable(disk.why()));
        const QString path = disk.file(QStringLiteral("airlock.db"));
        auto opened = EventStore::open(path);
        QVERIFY2(opened, qPrintable(opened ? QString() : opened.error().message));
        EventStore &store = **opened;
        qint64 n = 0;
        for (int i = 0; i < 100; ++i)
            QVERIFY(store.append(QStringLiteral("full"), QStringLiteral("test.tick"), tick(++n)));
        QVERIFY(store.flush());

        QVERIFY(disk.fill());
        QSignalSpy failed(&store, &EventStore::writeFailed);
        QSignalSpy resumed(&store, &EventStore::writeResumed);
        for (int i = 0; i < 3000; ++i)
            QVERIFY(store.append(QStringLiteral("full"), QStringLiteral("test.tick"), tick(++n)));
        QTRY_VERIFY_WITH_TIMEOUT(!failed.isEmpty(), 20000); // it may come while the events are appended
        const auto error = failed.first().first().value<airlock::Error>();
        QVERIFY(isNoSpace(error));
        QVERIFY2(error.message.contains(QStringLiteral("no space left on %1").arg(disk.path())), qPrintable(error.message));
        QVERIFY(store.writeError());
        QVERIFY(store.pendingEvents() > 0);
        auto flushed = store.flush();
        QVERIFY(!flushed);
        QVERIFY(isNoSpace(flushed.error()));

        // Other users of the file hear the same: a command that writes, and a new database there.
        {
            auto other = EventStore::open(path);
            QVERIFY2(other, qPrintable(other ? QString() : other.error().message));
            QVERIFY((*other)->append(QStringLiteral("other"), QStringLiteral("test.tick"), {}));
            auto r = (*other)->flush();
            QVERIFY(!r);
            QVERIFY2(r.error().message.contains(QStringLiteral("no space left on %1").arg(disk.path())),
                     qPrintable(r.error().message));
            auto closed = (*other)->close(std::chrono::milliseconds(0));
            QVERIFY(!closed);
            QVERIFY2(closed.error().message.startsWith(QStringLiteral("1 events could not be written")),
                     qPrintable(closed.error().message));
            auto fresh = openDatabase(disk.file(QStringLiteral("new.db")));
            QVERIFY(!fresh);
            QVERIFY(isNoSpace(fresh.error()));
            QVERIFY2(fresh.error().message.contains(QStringLiteral("no space left on %1").arg(disk.path())),
                     qPrintable(fresh.error().message));
        }
        QCOMPARE(resumed.size(), 0);

        disk.free();
        QTRY_VERIFY_WITH_TIMEOUT(!resumed.isEmpty(), 20000);
        auto drained = store.drain(std::chrono::seconds(20));
        QVERIFY2(drained, qPrintable(drained ? QString() : drained.error().message));
        QCOMPARE(store.pendingEvents(), quint64(0));
        QVERIFY(!store.writeError());

        auto reader = StoreReader::open(path);
        QVERIFY2(reader, qPrintable(reader ? QString() : reader.error().message));
        auto report = reader->check();
        QVERIFY(report);
        QVERIFY2(report->ok(), qPrintable(report->integrityMessages.join(u'\n')));
        EventQuery q;
        q.session = QStringLiteral("full");
        q.limit = 100000;
        auto events = reader->events(q);
        QVERIFY(events);
        QCOMPARE(events->size(), qsizetype(n));
        for (qsizetype i = 0; i < events->size(); ++i)
            QCOMPARE(events->at(i).payload.value(QStringLiteral("n")).toInteger(), i + 1);
    }

    // Memory for waiting events is bounded: past it append() refuses with the reason, and closing
    // on a disk that stays full says how many events are lost. What was committed stays.
    void boundedAndLoud()
    {
        SmallDisk disk("1m");
        if (!disk.mounted())
            QSKIP(qPrintable(disk.why()));
        const QString path = disk.file(QStringLiteral("airlock.db"));
        auto opened = EventStore::open(path);
        QVERIFY2(opened, qPrintable(opened ? QString() : opened.error().message));
        std::unique_ptr<EventStore> store = std::move(*opened);
        for (int i = 0; i < 20; ++i)
            QVERIFY(store->append(QStringLiteral("full"), QStringLiteral("test.tick"), tick(i)));
        QVERIFY(store->flush());

        QVERIFY(disk.fill());
        store->setMaxPendingBytes(64 * 1024);
        QSignalSpy failed(store.get(), &EventStore::writeFailed);
        QVERIFY(store->append(QStringLiteral("full"), QStringLiteral("test.tick"), tick(-1)));
        QTRY_VERIFY_WITH_TIMEOUT(!failed.isEmpty(), 20000);
        airlock::Result<quint64> refused;
        int accepted = 0;
        for (; accepted < 10000; ++accepted) {
            refused = store->append(QStringLiteral("full"), QStringLiteral("test.tick"), tick(accepted));
            if (!refused)
                break;
        }
        QVERIFY(!refused);
        QVERIFY(accepted > 50 && accepted < 400);
        QVERIFY(isNoSpace(refused.error()));
        QVERIFY2(refused.error().message.contains(QStringLiteral("no space left on %1").arg(disk.path())),
                 qPrintable(refused.error().message));
        QVERIFY2(refused.error().message.contains(QStringLiteral("%1 events already wait").arg(accepted + 1)),
                 qPrintable(refused.error().message));

        auto closed = store->close(std::chrono::milliseconds(300));
        QVERIFY(!closed);
        QVERIFY(isNoSpace(closed.error()));
        QVERIFY2(closed.error().message.startsWith(QStringLiteral("%1 events could not be written to %2").arg(accepted + 1).arg(path)),
                 qPrintable(closed.error().message));
        QVERIFY(!store->append(QStringLiteral("full"), QStringLiteral("test.tick"), {}));
        store.reset();

        disk.free();
        auto reader = StoreReader::open(path);
        QVERIFY2(reader, qPrintable(reader ? QString() : reader.error().message));
        auto report = reader->check();
        QVERIFY(report);
        QVERIFY2(report->ok(), qPrintable(report->integrityMessages.join(u'\n')));
        QCOMPARE(report->events, 20);
    }
};

QTEST_GUILESS_MAIN(TestStoreDiskFull)
#include "tst_store_diskfull.moc"
