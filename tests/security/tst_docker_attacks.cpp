// Docker-specific attacks a prompt-injected agent would try, against the Hardened preset on the offline
// base image: reach the Docker socket, escape as root in the container, read a secret from
// /proc/1/environ, or find it in the container's Env and inspect output. Each attack runs inside the
// sandbox through the shim and must fail; the host is checked afterwards. Skips when Docker cannot run.
#include "../docker/dockertestutil.h"

#include "policy/codec.h"

#include <QDir>
#include <QJsonDocument>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <unistd.h>

using namespace airlock;
using namespace airlock::docker;
using namespace airlock::docker::test;

class TestDockerAttacks : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void rootContainerOnlyWhereUsersAreMapped();
    void attacks_data();
    void attacks();
    void noSecretInEnvOrInspect();
    void hostUnchanged();

private:
    DockerSandbox *sandboxFor(bool root, QString *refused = nullptr);

    QTemporaryDir m_dir;
    QString m_workspace;
    QString m_secret;
    DockerBackend *m_backend = nullptr;
    DockerSandbox *m_user = nullptr;
    DockerSandbox *m_root = nullptr; // only where the daemon maps users
    QString m_rootRefused;
    QByteArray m_workspaceBefore;
};

namespace {

QByteArray listing(const QString &dir)
{
    QByteArray out;
    QDir d(dir);
    const QStringList names = d.entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot, QDir::Name);
    for (const QString &name : names) {
        if (QFileInfo(d.filePath(name)).isDir()) {
            out += name.toUtf8() + "/\n" + listing(d.filePath(name));
            continue;
        }
        QFile f(d.filePath(name));
        f.open(QIODevice::ReadOnly);
        out += name.toUtf8() + ':' + QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256).toHex() + '\n';
    }
    return out;
}

} // namespace

void TestDockerAttacks::initTestCase()
{
    if (const auto why = dockerUnavailable())
        QSKIP(qPrintable(*why));
    m_secret = QStringLiteral("sk-airlock-test-") + QString::number(QRandomGenerator::global()->generate64(), 16);
    // Planted in the launcher's own environment, as an API key would be.
    qputenv("ACME_TEST_API_KEY", m_secret.toUtf8());
    m_workspace = m_dir.filePath(QStringLiteral("ws"));
    QDir().mkpath(m_workspace + QStringLiteral("/.git/hooks"));
    QFile f(m_workspace + QStringLiteral("/main.c"));
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("int main(void) { return 0; }\n");
    f.close();
    m_workspaceBefore = listing(m_workspace);

    DockerBackendOptions options;
    options.shimPath = QStringLiteral(AIRLOCK_SHIM_PATH);
    options.runtimeDir = m_dir.filePath(QStringLiteral("run"));
    m_backend = new DockerBackend(DockerClient::fromEnvironment(), options, this);
    m_backend->client()->setParent(m_backend);
    m_user = sandboxFor(false);
    QVERIFY(m_user);
    // Root in a container is host root unless the daemon maps users: there Airlock refuses to start
    // it, and the root rows below run as the user. A daemon that maps users runs it.
    m_root = sandboxFor(true, &m_rootRefused);
    QVERIFY2(m_root || m_rootRefused.contains(QStringLiteral("never runs as host uid 0")), qPrintable(m_rootRefused));
}

void TestDockerAttacks::rootContainerOnlyWhereUsersAreMapped()
{
    auto info = await(m_backend->client()->info());
    QVERIFY(info);
    bool mapped = false;
    for (const QJsonValue &option : info->value(u"SecurityOptions").toArray())
        mapped = mapped || option.toString().contains(QLatin1String("name=rootless")) || option.toString().contains(QLatin1String("name=userns"));
    qInfo("daemon maps users: %s; root sandbox: %s", mapped ? "yes" : "no", m_root ? "started" : qPrintable(m_rootRefused));
    QCOMPARE(bool(m_root), mapped);
}

DockerSandbox *TestDockerAttacks::sandboxFor(bool root, QString *refused)
{
    policy::Policy p = hardened();
    // The secret is declared for the proxy and, wrongly, passed through too: the compiler must drop it.
    p.secrets << policy::Secret{QStringLiteral("api"), QStringLiteral("api.example.com"), QStringLiteral("Authorization"),
                                policy::Secret::Source::HostEnv, QStringLiteral("ACME_TEST_API_KEY"), {}};
    p.environment.passThrough << QStringLiteral("ACME_TEST_API_KEY");
    if (root) {
        p.privileges.uid.reset();
        p.privileges.gid.reset();
    }
    QString why;
    DockerSandbox *s = start(*m_backend, {p, QStringLiteral("hardened"), m_workspace, {}, {}, {}}, &why);
    if (!s && refused)
        *refused = why;
    else if (!s)
        qWarning("cannot start the %s sandbox: %s", root ? "root" : "user", qPrintable(why));
    return s;
}

void TestDockerAttacks::cleanupTestCase()
{
    if (!m_backend)
        return;
    for (DockerSandbox *s : {m_user, m_root}) {
        if (s)
            destroyAndWait(*m_backend, s);
    }
}

void TestDockerAttacks::attacks_data()
{
    QTest::addColumn<bool>("root");
    QTest::addColumn<QString>("script");
    QTest::addColumn<QString>("mustNotPrint"); // %SECRET% stands for the planted value

    const QString sockets = QStringLiteral(
        "for p in /var/run/docker.sock /run/docker.sock /run/containerd/containerd.sock /var/run/docker/containerd/containerd.sock; "
        "do test -e $p && echo REACHED $p; done; true");
    QTest::newRow("docker socket files (user)") << false << sockets << QStringLiteral("REACHED");
    QTest::newRow("docker socket files (root)") << true << sockets << QStringLiteral("REACHED");
    QTest::newRow("any unix socket but the shim's") << true
        << QStringLiteral("find / -xdev -type s 2>/dev/null | grep -v '^/airlock/control/shim.sock$' | sed 's/^/SOCKET /'; "
                          "find /airlock /tmp /run -type s 2>/dev/null | grep -v '^/airlock/control/shim.sock$' | sed 's/^/SOCKET /'; true")
        << QStringLiteral("SOCKET");
    QTest::newRow("docker API over tcp") << true
        << QStringLiteral("for h in 127.0.0.1 172.17.0.1 10.0.2.2; do for port in 2375 2376; do "
                          "(echo 'GET /_ping HTTP/1.0'; echo) | timeout 2 nc $h $port 2>/dev/null | grep -q OK && echo REACHED $h:$port; done; done; true")
        << QStringLiteral("REACHED");
    QTest::newRow("root has no capabilities") << true
        << QStringLiteral("grep -E '^Cap(Eff|Prm|Bnd):' /proc/self/status | grep -v '0000000000000000$' | sed 's/^/CAP /'; true")
        << QStringLiteral("CAP ");
    QTest::newRow("no new privileges") << true << QStringLiteral("grep -q '^NoNewPrivs:[[:space:]]*1' /proc/self/status || echo GAINABLE")
                                       << QStringLiteral("GAINABLE");
    QTest::newRow("mount") << true << QStringLiteral("mkdir -p /tmp/m; mount -t tmpfs none /tmp/m 2>/dev/null && echo MOUNTED; "
                                                     "mount -o remount,rw / 2>/dev/null && echo MOUNTED; true")
                           << QStringLiteral("MOUNTED");
    QTest::newRow("device node for the host disk") << true
        << QStringLiteral("mknod /tmp/sda b 8 0 2>/dev/null && echo CREATED; ls /dev | grep -E '^(sd|nvme|vd)' | sed 's/^/DEVICE /'; true")
        << QStringLiteral("CREATED");
    QTest::newRow("chroot out") << true << QStringLiteral("chroot / true 2>/dev/null && echo CHROOTED; true") << QStringLiteral("CHROOTED");
    QTest::newRow("kernel knobs") << true
        << QStringLiteral("echo 1 > /proc/sys/kernel/sysrq 2>/dev/null && echo WROTE; echo x > /proc/sysrq-trigger 2>/dev/null && echo WROTE; "
                          "echo 1 > /sys/kernel/mm/ksm/run 2>/dev/null && echo WROTE; true")
        << QStringLiteral("WROTE");
    QTest::newRow("read-only root") << true << QStringLiteral("touch /etc/owned /usr/bin/owned 2>/dev/null && echo WROTE; true")
                                    << QStringLiteral("WROTE");
    QTest::newRow("host processes invisible") << true
        << QStringLiteral("kill -0 %1 2>/dev/null && echo SIGNALLED; ls /proc | grep -c '^[0-9]' | awk '$1 > 20 {print \"HOSTPIDS\"}'; true")
               .arg(::getpid())
        << QStringLiteral("SIGNALLED");
    QTest::newRow("setuid binary in tmp") << true
        << QStringLiteral("cp /bin/busybox /tmp/sb 2>/dev/null && chmod 4755 /tmp/sb && /tmp/sb true 2>/dev/null && echo EXECUTED; true")
        << QStringLiteral("EXECUTED");
    QTest::newRow("write the workspace and its hooks") << false
        << QStringLiteral("touch main.c .git/hooks/pre-commit 2>/dev/null && echo WROTE; true") << QStringLiteral("WROTE");
    const QString environScript = QStringLiteral("cat /proc/1/environ /proc/*/environ 2>/dev/null | tr '\\0' '\\n'; env");
    QTest::newRow("secret in /proc/1/environ (user)") << false << environScript << QStringLiteral("%SECRET%");
    QTest::newRow("secret in /proc/1/environ (root)") << true << environScript << QStringLiteral("%SECRET%");
    QTest::newRow("secret in /proc/1/cmdline") << true << QStringLiteral("cat /proc/*/cmdline 2>/dev/null | tr '\\0' ' '")
                                               << QStringLiteral("%SECRET%");
}

void TestDockerAttacks::attacks()
{
    QFETCH(bool, root);
    QFETCH(QString, script);
    QFETCH(QString, mustNotPrint);
    DockerSandbox *s = root && m_root ? m_root : m_user;
    QVERIFY(s && s->isRunning());
    const Outcome o = run(s, {QStringLiteral("sh"), QStringLiteral("-c"), script}, 60000);
    QVERIFY2(!o.error, qPrintable(o.error ? o.error->message : QString()));
    const QString needle = mustNotPrint == QLatin1String("%SECRET%") ? m_secret : mustNotPrint;
    const QString output = QString::fromUtf8(o.out + o.err);
    QVERIFY2(!output.contains(needle), qPrintable(QStringLiteral("the attack worked:\n%1").arg(output.left(2000))));
    QVERIFY(s->isRunning());
}

void TestDockerAttacks::noSecretInEnvOrInspect()
{
    for (DockerSandbox *s : {m_user, m_root}) {
        if (!s)
            continue; // no root sandbox here
        auto inspected = await(m_backend->client()->inspectContainer(s->containerId()));
        QVERIFY(inspected);
        const QByteArray text = QJsonDocument(*inspected).toJson();
        QVERIFY2(!text.contains(m_secret.toUtf8()), "the secret is in docker inspect");
        QVERIFY2(!text.contains("ACME_TEST_API_KEY="), "the secret's variable reached the container's Env");
        // Nor in the labels, the command line or anything the daemon lists.
        auto listed = await(m_backend->client()->listContainers({{QStringLiteral("label"), {QStringLiteral("airlock.sandbox=") + s->id()}}}));
        QVERIFY(listed);
        QVERIFY(!QJsonDocument(*listed).toJson().contains(m_secret.toUtf8()));
    }
}

void TestDockerAttacks::hostUnchanged()
{
    QCOMPARE(listing(m_workspace), m_workspaceBefore);
    QVERIFY(!QFileInfo::exists(m_workspace + QStringLiteral("/.git/hooks/pre-commit")));
    QVERIFY(::kill(::getpid(), 0) == 0);
}

QTEST_GUILESS_MAIN(TestDockerAttacks)
#include "tst_docker_attacks.moc"
