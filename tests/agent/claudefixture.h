// What the tests with the real Claude Code share: airlockctl on the test's store, a test CA made with
// openssl, and the project's fake Anthropic Messages API (tests/helpers/fake-anthropic) over TLS,
// playing a script of turns and logging every request.
#pragma once

#include "sandbox/localbackend.h"
#include "session/runfixture.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRandomGenerator>
#include <QStandardPaths>
#include <QTest>

namespace airlock::test {

inline const QString kFakeServer = QStringLiteral(AIRLOCK_TEST_SOURCE_DIR "/tests/helpers/fake-anthropic/server.mjs");

inline QByteArray readAll(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

inline QByteArray storeBytes(const QString &db)
{
    QByteArray all;
    for (const QString &suffix : {QString(), QStringLiteral("-wal"), QStringLiteral("-shm")})
        all += readAll(db + suffix);
    return all;
}

class ClaudeFixture : public RunFixture
{
protected:
    QByteArray m_key;
    QString m_ca, m_cert, m_certKey;
    QProcess m_fake;
    int m_port = 0;
    QString m_log;

    // As the fixture's, with what to write to its stdin (a secret's value).
    Run ctl(const QStringList &args, int timeoutMs = 180000, const QByteArray &input = {})
    {
        QProcess p;
        p.start(QStringLiteral(AIRLOCKCTL_PATH), QStringList{QStringLiteral("--db"), m_db} + args);
        if (!input.isNull()) {
            p.write(input);
            p.closeWriteChannel();
        }
        Run r;
        if (!p.waitForFinished(timeoutMs)) {
            p.kill();
            p.waitForFinished();
            r.exitCode = -1;
        } else {
            r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
        }
        r.out = p.readAllStandardOutput();
        r.err = p.readAllStandardError();
        return r;
    }
    bool openssl(const QStringList &args)
    {
        QProcess p;
        p.setWorkingDirectory(m_dir.path());
        p.start(QStringLiteral("openssl"), args);
        return p.waitForFinished(60000) && p.exitCode() == 0;
    }
    // The fake Messages API with this script, on a port of its choosing.
    bool startFake(const QJsonArray &turns)
    {
        stopFake();
        const QString script = m_dir.filePath(QStringLiteral("script.json"));
        QFile f(script);
        if (!f.open(QIODevice::WriteOnly))
            return false;
        f.write(QJsonDocument(QJsonObject{{QStringLiteral("turns"), turns}}).toJson());
        f.close();
        m_log = m_dir.filePath(QStringLiteral("upstream.log"));
        QFile::remove(m_log);
        const QString portFile = m_dir.filePath(QStringLiteral("port"));
        QFile::remove(portFile);
        m_fake.start(QStringLiteral("node"), {kFakeServer, QStringLiteral("--port"), QStringLiteral("0"), QStringLiteral("--log"), m_log,
                                              QStringLiteral("--script"), script, QStringLiteral("--cert"), m_cert,
                                              QStringLiteral("--key"), m_certKey, QStringLiteral("--port-file"), portFile});
        if (!QTest::qWaitFor([&] { return QFile::exists(portFile) || m_fake.state() == QProcess::NotRunning; }, 20000))
            return false;
        m_port = readAll(portFile).toInt();
        return m_port > 0;
    }
    void stopFake()
    {
        if (m_fake.state() != QProcess::NotRunning) {
            m_fake.terminate();
            if (!m_fake.waitForFinished(5000))
                m_fake.kill();
            m_fake.waitForFinished();
        }
    }
    QList<QJsonObject> upstreamRequests()
    {
        QList<QJsonObject> out;
        for (const QByteArray &line : readAll(m_log).split('\n')) {
            const QJsonObject o = QJsonDocument::fromJson(line).object();
            if (o.contains(QStringLiteral("headers")))
                out << o;
        }
        return out;
    }

    // The test's folders, the CA and the server certificate, the real key in the secret store; skips
    // (and says why) without node, npm, openssl or a working bubblewrap.
    void prepareClaude()
    {
        QVERIFY(m_dir.isValid());
        prepareFolders(); // the sandbox's user passes through; a runtime folder of the test's own
        m_db = m_dir.filePath(QStringLiteral("airlock.db"));
        if (QStandardPaths::findExecutable(QStringLiteral("node")).isEmpty()
            || QStandardPaths::findExecutable(QStringLiteral("npm")).isEmpty())
            QSKIP("node and npm are not installed, so Claude Code cannot run (apt install nodejs npm)");
        if (QStandardPaths::findExecutable(QStringLiteral("openssl")).isEmpty())
            QSKIP("openssl is not installed, so no test CA can be made for the fake upstream (apt install openssl)");
        if (QStandardPaths::findExecutable(QStringLiteral("bwrap")).isEmpty())
            QSKIP("bubblewrap is not installed (apt install bubblewrap), so no sandbox can start");
        if (const auto probe = sandbox::LocalBackend::probeBwrap(); !probe)
            QSKIP(qPrintable(QStringLiteral("bubblewrap cannot create sandboxes here: ") + probe.error().message));
        qputenv("AIRLOCK_AGENTS_DIR", AIRLOCK_TEST_BINARY_DIR "/agents-cache");
        qputenv("AIRLOCK_SECRETS_DIR", QFile::encodeName(m_dir.filePath(QStringLiteral("secrets"))));
        qputenv("AIRLOCK_SECRETS_KEYCHAIN", "0");
        // A test CA, and a certificate for localhost signed by it.
        m_ca = m_dir.filePath(QStringLiteral("ca.pem"));
        m_cert = m_dir.filePath(QStringLiteral("server.pem"));
        m_certKey = m_dir.filePath(QStringLiteral("server.key"));
        QFile ext(m_dir.filePath(QStringLiteral("ext.cnf")));
        QVERIFY(ext.open(QIODevice::WriteOnly));
        ext.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
        ext.close();
        QVERIFY(openssl({QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"), QStringLiteral("rsa:2048"),
                         QStringLiteral("-nodes"), QStringLiteral("-keyout"), QStringLiteral("ca.key"), QStringLiteral("-out"), m_ca,
                         QStringLiteral("-days"), QStringLiteral("2"), QStringLiteral("-subj"), QStringLiteral("/CN=Airlock e2e CA")}));
        QVERIFY(openssl({QStringLiteral("req"), QStringLiteral("-newkey"), QStringLiteral("rsa:2048"), QStringLiteral("-nodes"),
                         QStringLiteral("-keyout"), m_certKey, QStringLiteral("-out"), QStringLiteral("server.csr"),
                         QStringLiteral("-subj"), QStringLiteral("/CN=localhost")}));
        QVERIFY(openssl({QStringLiteral("x509"), QStringLiteral("-req"), QStringLiteral("-in"), QStringLiteral("server.csr"),
                         QStringLiteral("-CA"), m_ca, QStringLiteral("-CAkey"), QStringLiteral("ca.key"), QStringLiteral("-CAcreateserial"),
                         QStringLiteral("-out"), m_cert, QStringLiteral("-days"), QStringLiteral("2"), QStringLiteral("-extfile"),
                         QStringLiteral("ext.cnf")}));
        // The real key: random, so finding it anywhere means it leaked from here.
        m_key = "sk-ant-e2e-" + QByteArray::number(QRandomGenerator::system()->generate64(), 36) + "-real";
        const auto set = ctl({QStringLiteral("secrets"), QStringLiteral("set"), QStringLiteral("anthropic")}, 30000, m_key + '\n');
        QVERIFY2(set.exitCode == 0, set.err.constData());
        QVERIFY(!set.out.contains(m_key) && !set.err.contains(m_key));
    }

    // The claude-agent-acp adapter, from npm on first use (cached in the build folder after); false
    // when npm's registry cannot be reached (the caller skips, saying kClaudeNotInstalled).
    bool installClaude()
    {
        return ctl({QStringLiteral("agents"), QStringLiteral("install"), QStringLiteral("claude")}, 400000).exitCode == 0;
    }
    static constexpr const char *kClaudeNotInstalled = "the adapter could not be installed from npm (is the registry reachable?)";
};

} // namespace airlock::test
