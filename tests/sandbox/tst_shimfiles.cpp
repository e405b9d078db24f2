// The real airlock-shim's file operations, confined to its workspace, and its proxy bridge.

#include "shimharness.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHostAddress>
#include <QLocalServer>
#include <QLocalSocket>
#include <QSignalSpy>
#include <QTcpSocket>
#include <QTest>

#include <sys/stat.h>

using namespace airlock;
using namespace airlock::sandbox;
using namespace airlock::sandbox::test;

namespace {

bool writeHostFile(const QString &path, const QByteArray &data)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(data) == data.size();
}

bool isEscapeRefusal(const Error &error)
{
    return error.code == ErrorCode::InvalidArgument && error.message.contains(u"outside the workspace");
}

} // namespace

class TestShimFiles : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<ShimHarness> m_shim;
    std::unique_ptr<ShimClient> m_client;

    bool startShim(const QStringList &args = {})
    {
        m_client = std::make_unique<ShimClient>();
        return m_shim->start(args) && m_shim->connect(*m_client);
    }

private Q_SLOTS:
    void init() { m_shim = std::make_unique<ShimHarness>(); }

    void cleanup()
    {
        if (m_client && m_client->isReady())
            await(m_client->shutdown(0));
        m_client.reset();
        m_shim.reset();
    }

    void writeReadListStat()
    {
        QVERIFY(startShim());
        WriteOptions parents;
        parents.makeParents = true;
        const Result<quint64> written = await(m_client->writeFile(QStringLiteral("a/b/c.txt"), "hello shim", parents));
        QVERIFY(written);
        QCOMPARE(*written, quint64(10));
        QFile onHost(m_shim->workspace() + QStringLiteral("/a/b/c.txt"));
        QVERIFY(onHost.open(QIODevice::ReadOnly));
        QCOMPARE(onHost.readAll(), QByteArray("hello shim"));

        QCOMPARE(await(m_client->readFile(QStringLiteral("a/b/c.txt"))).value_or("?"), QByteArray("hello shim"));
        QCOMPARE(await(m_client->readFile(QStringLiteral("a/b/c.txt"), 6, 3)).value_or("?"), QByteArray("shi"));
        // Absolute paths inside the workspace are the same files.
        QCOMPARE(await(m_client->readFile(m_shim->workspace() + QStringLiteral("/a/b/c.txt"))).value_or("?"),
                 QByteArray("hello shim"));

        WriteOptions append;
        append.mode = wire::WriteMode::Append;
        QVERIFY(await(m_client->writeFile(QStringLiteral("a/b/c.txt"), "!", append)));
        QCOMPARE(await(m_client->readFile(QStringLiteral("a/b/c.txt"))).value_or("?"), QByteArray("hello shim!"));

        WriteOptions createNew;
        createNew.mode = wire::WriteMode::CreateNew;
        const Result<quint64> exists = await(m_client->writeFile(QStringLiteral("a/b/c.txt"), "x", createNew));
        QVERIFY(!exists);
        QCOMPARE(await(m_client->readFile(QStringLiteral("a/b/c.txt"))).value_or("?"), QByteArray("hello shim!"));

        const Result<FileStat> st = await(m_client->stat(QStringLiteral("a/b/c.txt")));
        QVERIFY(st);
        QCOMPARE(st->type, wire::FileType::Regular);
        QCOMPARE(st->size, quint64(11));
        const mode_t mask = ::umask(0);
        ::umask(mask);
        QCOMPARE(st->permissions, 0644u & ~mask);
        QVERIFY(st->modified.isValid());
        QCOMPARE(await(m_client->stat(QStringLiteral("a"))).value().type, wire::FileType::Directory);

        QVERIFY(QFile::link(QStringLiteral("c.txt"), m_shim->workspace() + QStringLiteral("/a/b/link")));
        const Result<DirListing> listing = await(m_client->listDir(QStringLiteral("a/b")));
        QVERIFY(listing);
        QCOMPARE(listing->entries.size(), 2);
        QVERIFY(!listing->truncated);
        for (const DirEntry &e : listing->entries) {
            if (e.name == u"c.txt") {
                QCOMPARE(e.stat.type, wire::FileType::Regular);
                QCOMPARE(e.stat.size, quint64(11));
            } else {
                QCOMPARE(e.name, QStringLiteral("link"));
                QCOMPARE(e.stat.type, wire::FileType::Symlink);
                QCOMPARE(e.stat.linkTarget, QStringLiteral("c.txt"));
            }
        }
        QCOMPARE(await(m_client->listDir(QString())).value().entries.size(), 1); // the root: "a"
    }

    void largeFilesRoundTrip()
    {
        QVERIFY(startShim());
        QByteArray big(3 * 1024 * 1024 + 17, Qt::Uninitialized);
        for (qsizetype i = 0; i < big.size(); ++i)
            big[i] = static_cast<char>((i * 131) >> 3);
        QCOMPARE(await(m_client->writeFile(QStringLiteral("big.bin"), big)).value_or(0), quint64(big.size()));
        QCOMPARE(QFileInfo(m_shim->workspace() + QStringLiteral("/big.bin")).size(), big.size());
        const Result<QByteArray> back = await(m_client->readFile(QStringLiteral("big.bin")));
        QVERIFY(back);
        QVERIFY(*back == big);
        const Result<QByteArray> limited = await(m_client->readFile(QStringLiteral("big.bin"), 0, 1000));
        QCOMPARE(limited.value_or("?"), big.left(1000));
    }

    void fileErrors()
    {
        QVERIFY(startShim());
        QDir(m_shim->workspace()).mkpath(QStringLiteral("dir"));
        const Result<QByteArray> missing = await(m_client->readFile(QStringLiteral("nope.txt")));
        QVERIFY(!missing);
        QCOMPARE(missing.error().code, ErrorCode::NotFound);
        QVERIFY(!await(m_client->readFile(QStringLiteral("dir"))));
        QVERIFY(!await(m_client->writeFile(QStringLiteral("dir"), "x")));
        QCOMPARE(await(m_client->listDir(QStringLiteral("nope"))).error().code, ErrorCode::NotFound);
        QVERIFY(!await(m_client->writeFile(QStringLiteral("no/parents/here.txt"), "x")));
    }

    void pathEscapesAreRefused_data()
    {
        QTest::addColumn<bool>("openat2");
        QTest::newRow("openat2") << true;
        QTest::newRow("o_nofollow walk") << false;
    }

    void pathEscapesAreRefused()
    {
        QFETCH(bool, openat2);
        const QString ws = m_shim->workspace();
        const QString outside = m_shim->dir();
        QVERIFY(writeHostFile(outside + QStringLiteral("/secret.txt"), "secret"));
        QVERIFY(writeHostFile(ws + QStringLiteral("/inside.txt"), "inside"));
        QDir(ws).mkpath(QStringLiteral("sub/deeper"));
        QVERIFY(QFile::link(QStringLiteral("/etc"), ws + QStringLiteral("/abs")));
        QVERIFY(QFile::link(QStringLiteral(".."), ws + QStringLiteral("/up")));
        QVERIFY(QFile::link(QStringLiteral("deeper/../../.."), ws + QStringLiteral("/sub/sneaky")));
        QVERIFY(QFile::link(QStringLiteral("../created.txt"), ws + QStringLiteral("/dangling")));
        QVERIFY(QFile::link(QStringLiteral("inside.txt"), ws + QStringLiteral("/good")));
        QVERIFY(QFile::link(QStringLiteral("../../sub"), ws + QStringLiteral("/sub/deeper/back")));
        QVERIFY(startShim(openat2 ? QStringList() : QStringList{QStringLiteral("--no-openat2")}));
        QCOMPARE(m_client->shimInfo().capabilities.contains(u"fs.openat2"), openat2);

        const QStringList escapes{
            QStringLiteral("../secret.txt"),
            QStringLiteral("sub/../../secret.txt"),
            QStringLiteral("/etc/passwd"),
            outside + QStringLiteral("/secret.txt"),
            QStringLiteral("abs/passwd"),
            QStringLiteral("up/secret.txt"),
            QStringLiteral("sub/sneaky/secret.txt"),
        };
        for (const QString &path : escapes) {
            const Result<QByteArray> read = await(m_client->readFile(path));
            QVERIFY2(!read && isEscapeRefusal(read.error()), qPrintable(path));
            const Result<FileStat> st = await(m_client->stat(path));
            QVERIFY2(!st && isEscapeRefusal(st.error()), qPrintable(path));
        }
        for (const QString &path : {QStringLiteral("up"), QStringLiteral("abs"), QStringLiteral("sub/sneaky")}) {
            const Result<DirListing> list = await(m_client->listDir(path));
            QVERIFY2(!list && isEscapeRefusal(list.error()), qPrintable(path));
        }
        WriteOptions parents;
        parents.makeParents = true;
        for (const QString &path : {QStringLiteral("up/evil.txt"), QStringLiteral("abs/evil.txt"),
                                    QStringLiteral("dangling"), QStringLiteral("up/newdir/evil.txt"),
                                    QStringLiteral("../evil.txt")}) {
            const Result<quint64> w = await(m_client->writeFile(path, "evil", parents));
            QVERIFY2(!w && isEscapeRefusal(w.error()), qPrintable(path));
        }
        QVERIFY(!QFileInfo::exists(outside + QStringLiteral("/evil.txt")));
        QVERIFY(!QFileInfo::exists(outside + QStringLiteral("/created.txt")));
        QVERIFY(!QFileInfo::exists(outside + QStringLiteral("/newdir")));

        // Symlinks that stay inside work, and a link itself can be looked at without following it.
        QCOMPARE(await(m_client->readFile(QStringLiteral("good"))).value_or("?"), QByteArray("inside"));
        QVERIFY(await(m_client->writeFile(QStringLiteral("sub/deeper/back/made.txt"), "ok")));
        QVERIFY(QFileInfo::exists(ws + QStringLiteral("/sub/made.txt")));
        const Result<FileStat> link = await(m_client->stat(QStringLiteral("up"), false));
        QVERIFY(link);
        QCOMPARE(link->type, wire::FileType::Symlink);
        QCOMPARE(link->linkTarget, QStringLiteral(".."));
        QCOMPARE(await(m_client->listDir(QStringLiteral("sub/deeper/back/.."))).value().entries.size(), 6);
    }

    void proxyBridgeForwardsBothWays()
    {
        QLocalServer proxy;
        const QString proxyPath = m_shim->dir() + QStringLiteral("/egress.sock");
        QVERIFY(proxy.listen(proxyPath));
        // The stand-in proxy echoes, and closes its side when the client has closed its own.
        QObject::connect(&proxy, &QLocalServer::newConnection, &proxy, [&proxy] {
            while (QLocalSocket *s = proxy.nextPendingConnection()) {
                QObject::connect(s, &QLocalSocket::readyRead, s, [s] { s->write(s->readAll()); });
                QObject::connect(s, &QLocalSocket::disconnected, s, &QObject::deleteLater);
            }
        });
        QVERIFY(startShim({QStringLiteral("--proxy-socket"), proxyPath, QStringLiteral("--proxy-port"), QStringLiteral("0")}));
        const quint16 port = m_client->shimInfo().proxyPort;
        QVERIFY(port > 0);
        QVERIFY(m_client->shimInfo().capabilities.contains(u"proxy-bridge"));

        QTcpSocket tcp;
        tcp.connectToHost(QHostAddress::LocalHost, port);
        QVERIFY(tcp.waitForConnected(5000));
        QByteArray payload(1024 * 1024, Qt::Uninitialized);
        for (qsizetype i = 0; i < payload.size(); ++i)
            payload[i] = static_cast<char>(i % 251);
        tcp.write(payload);
        QByteArray echoed;
        QVERIFY(QTest::qWaitFor([&] {
            echoed += tcp.readAll();
            return echoed.size() >= payload.size();
        }, 10000));
        QVERIFY(echoed == payload);

        // Closing the sandbox side reaches the proxy.
        QLocalSocket *served = proxy.findChild<QLocalSocket *>();
        QVERIFY(served);
        QSignalSpy servedGone(served, &QLocalSocket::disconnected);
        tcp.disconnectFromHost();
        QVERIFY(servedGone.wait(5000));
    }

    void proxyBridgeWithoutProxy()
    {
        const QString proxyPath = m_shim->dir() + QStringLiteral("/egress.sock");
        QVERIFY(startShim({QStringLiteral("--proxy-socket"), proxyPath, QStringLiteral("--proxy-port"), QStringLiteral("0")}));
        // Nobody listens on the proxy socket: the connection is accepted and closed, nothing hangs.
        QTcpSocket tcp;
        tcp.connectToHost(QHostAddress::LocalHost, m_client->shimInfo().proxyPort);
        QVERIFY(tcp.waitForConnected(5000));
        QTRY_COMPARE_WITH_TIMEOUT(tcp.state(), QAbstractSocket::UnconnectedState, 5000);
        QVERIFY(await(m_client->ping()));
    }

    void noBridgeWithoutProxySocket()
    {
        QVERIFY(startShim());
        QCOMPARE(m_client->shimInfo().proxyPort, quint16(0));
        QVERIFY(!m_client->shimInfo().capabilities.contains(u"proxy-bridge"));
    }
};

QTEST_GUILESS_MAIN(TestShimFiles)
#include "tst_shimfiles.moc"
