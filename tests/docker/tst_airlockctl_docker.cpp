// airlockctl image … and airlockctl docker … as a user or script runs them, against the real daemon
// (skipped with the reason when there is none), plus the messages when there is no daemon at all.
#include "dockertestutil.h"
#include "testutil.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QProcessEnvironment>
#include <QTemporaryDir>
#include <QtTest>

using namespace airlock;

namespace {

test::Run ctl(const QStringList &args, const QString &dockerHost = {}, int timeoutMs = 120000)
{
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    if (!dockerHost.isEmpty())
        env.insert(QStringLiteral("DOCKER_HOST"), dockerHost);
    p.setProcessEnvironment(env);
    p.start(QStringLiteral(AIRLOCKCTL_PATH), args);
    test::Run r;
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        r.err = "timed out";
        return r;
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

} // namespace

class TestAirlockctlDocker : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void noDaemon_data();
    void noDaemon();
    void statusAndImages();
    void buildBaseIsIdempotent();
    void buildAgentImage();
    void runStreamsAndReturnsTheStatus();
    void runWithMissingImage();
    void pullWithoutRegistry();
    void psAndReconcile();

private:
    void needDocker();
    QTemporaryDir m_dir;
    QString m_db;
    std::optional<QString> m_unavailable;
};

void TestAirlockctlDocker::initTestCase()
{
    m_db = m_dir.filePath(QStringLiteral("airlock.db"));
    m_unavailable = docker::test::dockerUnavailable();
}

void TestAirlockctlDocker::needDocker()
{
    if (m_unavailable)
        QSKIP(qPrintable(*m_unavailable));
}

void TestAirlockctlDocker::noDaemon_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("host");
    QTest::addColumn<QString>("expect");
    QTest::newRow("status, no socket") << QStringList{QStringLiteral("docker"), QStringLiteral("status")}
                                       << QStringLiteral("unix:///nonexistent/docker.sock") << QStringLiteral("docker");
    QTest::newRow("images, refused") << QStringList{QStringLiteral("image"), QStringLiteral("list")}
                                     << QStringLiteral("tcp://127.0.0.1:1") << QStringLiteral("connection refused");
    QTest::newRow("bad DOCKER_HOST") << QStringList{QStringLiteral("docker"), QStringLiteral("ps")}
                                     << QStringLiteral("npipe:////./pipe/docker_engine") << QStringLiteral("only unix://, tcp:// and ssh://");
    QTest::newRow("ssh, no such host") << QStringList{QStringLiteral("docker"), QStringLiteral("ps")}
                                       << QStringLiteral("ssh://nobody@airlock-test.invalid") << QStringLiteral("ssh");
}

void TestAirlockctlDocker::noDaemon()
{
    QFETCH(QStringList, args);
    QFETCH(QString, host);
    QFETCH(QString, expect);
    const test::Run r = ctl(QStringList{QStringLiteral("--db"), m_db} + args, host, 30000);
    QVERIFY(r.exitCode != 0);
    QVERIFY2(r.err.contains(expect.toUtf8()), r.err.constData());
    QVERIFY(r.err.startsWith("airlockctl: "));
    QCOMPARE(r.err.count('\n'), 1); // one line a user can act on
}

void TestAirlockctlDocker::statusAndImages()
{
    needDocker();
    const test::Run status = ctl({QStringLiteral("docker"), QStringLiteral("status")});
    QCOMPARE(status.exitCode, 0);
    QVERIFY2(status.out.contains("base image  airlock-base:latest"), status.out.constData());
    const test::Run json = ctl({QStringLiteral("image"), QStringLiteral("list"), QStringLiteral("--json")});
    QCOMPARE(json.exitCode, 0);
    const QJsonArray images = QJsonDocument::fromJson(json.out).array();
    QVERIFY(QJsonDocument(images).toJson().contains("airlock-base:latest"));
    const test::Run text = ctl({QStringLiteral("image"), QStringLiteral("list")});
    QVERIFY(text.out.contains("(Airlock's offline base)"));
}

void TestAirlockctlDocker::buildBaseIsIdempotent()
{
    needDocker();
    const test::Run r = ctl({QStringLiteral("image"), QStringLiteral("build-base"), QStringLiteral("--if-missing"), QStringLiteral("--json")});
    QCOMPARE(r.exitCode, 0);
    const QJsonObject o = QJsonDocument::fromJson(r.out).object();
    QCOMPARE(o.value(u"built").toBool(), false);
    QCOMPARE(o.value(u"image").toString(), QStringLiteral("airlock-base:latest"));
}

// The agent image, under a tag of the test's own (sessions may be using airlock-agent:latest): node,
// bash and git run in it as the agent's user, with no registry.
void TestAirlockctlDocker::buildAgentImage()
{
    needDocker();
    const QString tag = QStringLiteral("airlock-agent-test:%1").arg(QCoreApplication::applicationPid());
    const test::Run r = ctl({QStringLiteral("image"), QStringLiteral("build-agent"), QStringLiteral("claude"), QStringLiteral("--tag"), tag},
                            {}, 180000);
    if (r.exitCode != 0 && r.err.contains("sudo apt install"))
        QSKIP(qPrintable(QStringLiteral("a program the agent image carries is not installed here: ") + QString::fromUtf8(r.err)));
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QVERIFY2(r.err.contains("host programs") && r.out.contains(QByteArray("built " + tag.toUtf8())), QByteArray(r.out + r.err).constData());
    QDir().mkpath(m_dir.filePath(QStringLiteral("ws-agent")));
    const test::Run run = ctl({QStringLiteral("--db"), m_db, QStringLiteral("docker"), QStringLiteral("run"), QStringLiteral("--image"), tag,
                               QStringLiteral("--workspace"), m_dir.filePath(QStringLiteral("ws-agent")), QStringLiteral("--"),
                               QStringLiteral("bash"), QStringLiteral("-c"),
                               QStringLiteral("node -e 'console.log(typeof fetch)'; git --version | cut -c1-11; test -s /etc/ssl/certs/ca-certificates.crt && echo certs")});
    QVERIFY2(run.exitCode == 0, QByteArray(run.out + run.err).constData());
    QCOMPARE(run.out, QByteArray("function\ngit version\ncerts\n"));
    const test::Run unknown = ctl({QStringLiteral("image"), QStringLiteral("build-agent"), QStringLiteral("no-such-agent")});
    QCOMPARE(unknown.exitCode, 1);
    QVERIFY2(unknown.err.contains("no agent named 'no-such-agent'"), unknown.err.constData());
    QProcess rmi;
    rmi.start(QStringLiteral("docker"), {QStringLiteral("rmi"), QStringLiteral("-f"), tag});
    rmi.waitForFinished(60000);
}

void TestAirlockctlDocker::runStreamsAndReturnsTheStatus()
{
    needDocker();
    QDir().mkpath(m_dir.filePath(QStringLiteral("ws")));
    const test::Run r = ctl({QStringLiteral("--db"), m_db, QStringLiteral("docker"), QStringLiteral("run"), QStringLiteral("--image"),
                             QStringLiteral("airlock-base:latest"), QStringLiteral("--workspace"), m_dir.filePath(QStringLiteral("ws")),
                             QStringLiteral("--"), QStringLiteral("sh"), QStringLiteral("-c"),
                             QStringLiteral("echo out; echo err >&2; id -u; exit 3")});
    QVERIFY2(r.exitCode == 3, r.err.constData());
    QCOMPARE(r.out, QByteArray("out\n1000\n"));
    QCOMPARE(r.err, QByteArray("err\n"));
    const test::Run events = ctl({QStringLiteral("--db"), m_db, QStringLiteral("events"), QStringLiteral("tail")});
    QVERIFY2(events.out.contains("sandbox.created") && events.out.contains("sandbox.destroyed"), events.out.constData());
}

void TestAirlockctlDocker::runWithMissingImage()
{
    needDocker();
    const test::Run r = ctl({QStringLiteral("--db"), m_db, QStringLiteral("docker"), QStringLiteral("run"), QStringLiteral("--image"),
                             QStringLiteral("airlock-test-missing:none"), QStringLiteral("--workspace"), m_dir.path(),
                             QStringLiteral("--"), QStringLiteral("true")});
    QCOMPARE(r.exitCode, 125); // as airlockctl exec (and docker run itself) say "the sandbox failed"
    QVERIFY2(r.err.contains("airlockctl image build-base"), r.err.constData());
}

void TestAirlockctlDocker::pullWithoutRegistry()
{
    needDocker();
    const test::Run r = ctl({QStringLiteral("image"), QStringLiteral("pull"), QStringLiteral("127.0.0.1:1/airlock/none:none")}, {}, 60000);
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("build-base"), r.err.constData());
}

void TestAirlockctlDocker::psAndReconcile()
{
    needDocker();
    const test::Run ps = ctl({QStringLiteral("docker"), QStringLiteral("ps"), QStringLiteral("--json")});
    QCOMPARE(ps.exitCode, 0);
    QVERIFY(QJsonDocument::fromJson(ps.out).isArray());
    const test::Run r = ctl({QStringLiteral("--db"), m_db, QStringLiteral("docker"), QStringLiteral("reconcile"), QStringLiteral("--json")});
    QCOMPARE(r.exitCode, 0);
    QVERIFY(QJsonDocument::fromJson(r.out).object().value(u"summary").toString().startsWith(QLatin1String("Docker: ")));
}

QTEST_GUILESS_MAIN(TestAirlockctlDocker)
#include "tst_airlockctl_docker.moc"
