// A Docker daemon reached over TCP with TLS client certificates (DOCKER_HOST tcp://, DOCKER_TLS_VERIFY,
// DOCKER_CERT_PATH): a second dockerd that this test starts on a loopback port, with a CA and
// certificates it makes (second-dockerd.sh). The client talks to it only through verified TLS, a
// daemon signed by another CA and a client without a certificate are refused with the reason, a
// sandbox runs on it, and a daemon on another machine is refused before anything is sent.
#include "dockertestutil.h"

#include <QDir>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <sys/stat.h>

using namespace airlock;
using namespace airlock::docker;
using namespace airlock::docker::test;

namespace {

const QString kScript = QStringLiteral(AIRLOCK_SOURCE_DIR "/tests/docker/second-dockerd.sh");

// A CA and client certificate of their own, unknown to the daemon.
bool makeStrangerCertificates(const QString &dir)
{
    const auto openssl = [&dir](const QStringList &args) {
        QProcess p;
        p.setWorkingDirectory(dir);
        p.start(QStringLiteral("openssl"), args);
        return p.waitForFinished(30000) && p.exitCode() == 0;
    };
    return openssl({QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"), QStringLiteral("rsa:2048"),
                    QStringLiteral("-nodes"), QStringLiteral("-keyout"), QStringLiteral("key.pem"), QStringLiteral("-out"),
                    QStringLiteral("ca.pem"), QStringLiteral("-days"), QStringLiteral("1"), QStringLiteral("-subj"),
                    QStringLiteral("/CN=stranger")})
           && QFile::copy(dir + QStringLiteral("/ca.pem"), dir + QStringLiteral("/cert.pem"));
}

} // namespace

class TestDockerRemote : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_daemonDir;
    quint16 m_port = 0;
    QString m_skip;

    DockerEndpoint endpoint(const QString &certPath) const
    {
        return *DockerEndpoint::parse(QStringLiteral("tcp://127.0.0.1:%1").arg(m_port), true, true, certPath);
    }
    QString clientCerts() const { return m_daemonDir + QStringLiteral("/client"); }

private Q_SLOTS:
    void initTestCase()
    {
        m_daemonDir = m_dir.filePath(QStringLiteral("daemon"));
        QProcess start;
        start.start(QStringLiteral("bash"), {kScript, QStringLiteral("start"), m_daemonDir});
        QVERIFY(start.waitForFinished(90000));
        if (start.exitCode() == 77) {
            m_skip = QString::fromLocal8Bit(start.readAllStandardError()).trimmed();
            return;
        }
        QVERIFY2(start.exitCode() == 0, start.readAllStandardError().constData());
        m_port = quint16(start.readAllStandardOutput().trimmed().toUInt());
        QVERIFY(m_port > 0);
    }

    void init()
    {
        if (!m_skip.isEmpty())
            QSKIP(qPrintable(m_skip));
    }

    void cleanupTestCase()
    {
        if (m_port)
            QProcess::execute(QStringLiteral("bash"), {kScript, QStringLiteral("stop"), m_daemonDir});
    }

    void verifiedTlsWithClientCertificates()
    {
        DockerClient client(endpoint(clientCerts()));
        auto ping = await(client.ping());
        QVERIFY2(ping, qPrintable(ping ? QString() : ping.error().message));
        auto info = await(client.info());
        QVERIFY(info);
        QVERIFY(!info->value(u"ServerVersion").toString().isEmpty());
        // A request with a body and a streamed answer: the offline base image, imported over TLS.
        auto built = await(buildBaseImage(&client, {}), 120000);
        QVERIFY2(built, qPrintable(built ? QString() : built.error().message));
        QVERIFY(await(client.inspectImage(QString::fromLatin1(kBaseImage))));
    }

    void daemonOfAnotherCaIsRefused()
    {
        // The client trusts only a stranger's CA: the real daemon's certificate must not pass.
        const QString stranger = m_dir.filePath(QStringLiteral("stranger"));
        QVERIFY(QDir().mkpath(stranger));
        QVERIFY(makeStrangerCertificates(stranger));
        DockerClient client(endpoint(stranger));
        auto ping = await(client.ping());
        QVERIFY(!ping);
        QVERIFY2(ping.error().message.contains(QLatin1String("TLS handshake")) && ping.error().message.contains(stranger),
                 qPrintable(ping.error().message));
    }

    void clientWithoutCertificateIsRefused()
    {
        const QString caOnly = m_dir.filePath(QStringLiteral("ca-only"));
        QVERIFY(QDir().mkpath(caOnly));
        QVERIFY(QFile::copy(clientCerts() + QStringLiteral("/ca.pem"), caOnly + QStringLiteral("/ca.pem")));
        DockerClient client(endpoint(caOnly));
        auto ping = await(client.ping());
        QVERIFY(!ping);
        QVERIFY2(ping.error().message.contains(QStringLiteral("127.0.0.1:%1").arg(m_port)), qPrintable(ping.error().message));
    }

    void sandboxRunsOnIt()
    {
        QTemporaryDir work;
        QVERIFY(QDir(work.path()).mkpath(QStringLiteral("ws")));
        ::chmod(QFile::encodeName(work.path()).constData(), 0711);
        DockerBackendOptions options;
        options.shimPath = QStringLiteral(AIRLOCK_SHIM_PATH);
        options.runtimeDir = work.filePath(QStringLiteral("run"));
        auto *client = new DockerClient(endpoint(clientCerts()));
        DockerBackend backend(client, options);
        client->setParent(&backend);
        QVERIFY(!backend.unavailableReason());
        sandbox::SandboxSpec spec;
        spec.policy = hardened();
        spec.policyName = QStringLiteral("hardened");
        spec.workspace = work.filePath(QStringLiteral("ws"));
        QString why;
        DockerSandbox *s = start(backend, spec, &why);
        QVERIFY2(s, qPrintable(why));
        const Outcome o = run(s, {QStringLiteral("echo"), QStringLiteral("over TLS")});
        QCOMPARE(o.out, QByteArray("over TLS\n"));
        const QString container = s->containerId();
        QVERIFY(destroyAndWait(backend, s));
        QVERIFY(!await(client->inspectContainer(container))); // gone from the second daemon
    }

    void daemonOnAnotherMachineIsRefusedWithTheReason()
    {
        // TEST-NET-1: nothing is sent there; the refusal comes before any request.
        auto *client = new DockerClient(*DockerEndpoint::parse(QStringLiteral("tcp://192.0.2.1:2376"), true, true, clientCerts()));
        DockerBackend backend(client, {});
        client->setParent(&backend);
        QTemporaryDir work;
        sandbox::SandboxSpec spec;
        spec.policy = hardened();
        spec.workspace = work.path();
        auto made = backend.create(spec);
        QVERIFY(!made);
        QVERIFY2(made.error().message.contains(QLatin1String("runs on another machine")), qPrintable(made.error().message));
    }
};

QTEST_GUILESS_MAIN(TestDockerRemote)
#include "tst_docker_remote.moc"
