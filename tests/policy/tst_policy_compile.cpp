#include "policytestutil.h"

#include "policy/compiler.h"
#include "policy/presets.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>

using namespace airlock;
using namespace airlock::policy;

// Golden tests for the compilers. Each folder under tests/policy/golden/ holds input.json (a policy),
// optionally context.json (changes to the standard launch context) and the expected outputs:
// bwrap.txt (one argument per line), bwrap-env.txt, bwrap.sh, docker.json and docker-run.sh, or
// bwrap.error.txt / docker.error.txt when compiling is expected to fail.
// Run with AIRLOCK_UPDATE_GOLDEN=1 to rewrite the expected files after an intended change.
class TestPolicyCompile : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void golden_data();
    void golden();
    void secretsNeverLeak();
    void dockerResourceMapping();
    void noProxyNeverExemptsWhatTheProxyServes_data();
    void noProxyNeverExemptsWhatTheProxyServes();
    void contextErrors();
    void deterministic();
    void shellQuoting_data();
    void shellQuoting();
};

namespace {

// Values that must never show up in any output. They sit in the host environment the compilers see.
const QStringList kSecretValues{QStringLiteral("ghp_GOLDENSECRETVALUE0123456789abcdefABCD"),
                                QStringLiteral("npm_GOLDENSECRETVALUE0123456789abcdef"),
                                QStringLiteral("wJalrXUtnFEMI/K7MDENG/bPxRfiCYGOLDENKEY")};

QString goldenRoot()
{
    return QStringLiteral(AIRLOCK_TEST_SOURCE_DIR "/tests/policy/golden");
}

LaunchContext standardContext()
{
    LaunchContext context;
    context.sessionId = QStringLiteral("session-0001");
    context.workspace = QStringLiteral("/home/dev/src/project");
    context.shim = QStringLiteral("/usr/libexec/airlock/airlock-shim");
    context.controlDir = QStringLiteral("/run/user/1000/airlock/session-0001");
    context.home = QStringLiteral("/home/dev");
    context.hostEnvironment = {{QStringLiteral("LANG"), QStringLiteral("en_US.UTF-8")},
                               {QStringLiteral("TERM"), QStringLiteral("xterm-256color")},
                               {QStringLiteral("GITHUB_TOKEN"), kSecretValues.at(0)},
                               {QStringLiteral("NPM_TOKEN"), kSecretValues.at(1)},
                               {QStringLiteral("AWS_SECRET_ACCESS_KEY"), kSecretValues.at(2)}};
    context.existingProtectedPaths = {QStringLiteral(".git/hooks"), QStringLiteral(".git/config")};
    context.version = QStringLiteral("test");
    return context;
}

QByteArray readFile(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

// The few context fields a case may change.
void applyContext(LaunchContext &context, const QJsonObject &changes)
{
    if (changes.contains(u"sandboxWorkspace"))
        context.sandboxWorkspace = changes.value(u"sandboxWorkspace").toString();
    if (changes.contains(u"seccompProfileJson"))
        context.seccompProfileJson = changes.value(u"seccompProfileJson").toString();
    if (changes.contains(u"proxyPort"))
        context.proxyPort = changes.value(u"proxyPort").toInt();
    if (changes.contains(u"existingProtectedPaths")) {
        context.existingProtectedPaths.clear();
        for (const QJsonValue &v : changes.value(u"existingProtectedPaths").toArray())
            context.existingProtectedPaths << v.toString();
    }
}

QByteArray lines(const QStringList &items)
{
    return items.isEmpty() ? QByteArray() : (items.join(u'\n') + u'\n').toUtf8();
}

// Everything the compilers produce for one policy, by output file name.
QMap<QString, QByteArray> compileAll(const Policy &policy, const LaunchContext &context)
{
    QMap<QString, QByteArray> out;
    if (const auto bwrap = compileBwrap(policy, context)) {
        out.insert(QStringLiteral("bwrap.txt"), lines(bwrap->arguments));
        QStringList env;
        for (auto it = bwrap->environment.constBegin(); it != bwrap->environment.constEnd(); ++it)
            env << it.key() + u'=' + it.value();
        out.insert(QStringLiteral("bwrap-env.txt"), lines(env));
        out.insert(QStringLiteral("bwrap.sh"), renderBwrapCommandLine(*bwrap).toUtf8());
    } else {
        out.insert(QStringLiteral("bwrap.error.txt"), bwrap.error().message.toUtf8() + '\n');
    }
    if (const auto docker = compileDockerCreate(policy, context)) {
        out.insert(QStringLiteral("docker.json"), QJsonDocument(*docker).toJson(QJsonDocument::Indented));
        out.insert(QStringLiteral("docker-run.sh"), renderDockerRunCommandLine(*docker).toUtf8());
    } else {
        out.insert(QStringLiteral("docker.error.txt"), docker.error().message.toUtf8() + '\n');
    }
    return out;
}

bool containsSecret(const QByteArray &text)
{
    return std::any_of(kSecretValues.cbegin(), kSecretValues.cend(),
                       [&](const QString &secret) { return text.contains(secret.toUtf8()); });
}

Policy withSecretsPassedThrough()
{
    Policy p = *findPreset(u"hardened");
    p.secrets = {{QStringLiteral("github"), QStringLiteral("api.github.com"), QStringLiteral("Authorization"),
                  Secret::Source::HostEnv, QStringLiteral("GITHUB_TOKEN"), {}},
                 {QStringLiteral("npm"), QStringLiteral("registry.npmjs.org"), QStringLiteral("Authorization"),
                  Secret::Source::HostEnv, QStringLiteral("NPM_TOKEN"), {}},
                 {QStringLiteral("aws"), QStringLiteral("*.amazonaws.com"), QStringLiteral("Authorization"),
                  Secret::Source::HostEnv, QStringLiteral("AWS_SECRET_ACCESS_KEY"), {}}};
    p.environment.passThrough = {QStringLiteral("LANG"), QStringLiteral("GITHUB_TOKEN"), QStringLiteral("NPM_TOKEN"),
                                 QStringLiteral("AWS_SECRET_ACCESS_KEY")};
    return p;
}

} // namespace

void TestPolicyCompile::golden_data()
{
    QTest::addColumn<QString>("folder");
    const QDir root(goldenRoot());
    const QStringList cases = root.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name);
    QVERIFY2(cases.size() >= 6, qPrintable(QStringLiteral("golden cases missing in ") + root.path()));
    for (const QString &name : cases)
        QTest::newRow(qPrintable(name)) << root.filePath(name);
}

void TestPolicyCompile::golden()
{
    QFETCH(QString, folder);
    const QDir dir(folder);
    POLICY_PARSE(policy, readFile(dir.filePath(QStringLiteral("input.json"))));
    LaunchContext context = standardContext();
    if (dir.exists(QStringLiteral("context.json")))
        applyContext(context, QJsonDocument::fromJson(readFile(dir.filePath(QStringLiteral("context.json")))).object());

    const QMap<QString, QByteArray> actual = compileAll(policy, context);
    for (auto it = actual.constBegin(); it != actual.constEnd(); ++it)
        QVERIFY2(!containsSecret(it.value()), qPrintable(it.key() + QStringLiteral(" contains a secret value")));

    QStringList expectedNames = dir.entryList(QDir::Files, QDir::Name);
    expectedNames.removeAll(QStringLiteral("input.json"));
    expectedNames.removeAll(QStringLiteral("context.json"));

    if (qEnvironmentVariableIntValue("AIRLOCK_UPDATE_GOLDEN") == 1) {
        for (const QString &stale : std::as_const(expectedNames))
            QFile::remove(dir.filePath(stale));
        for (auto it = actual.constBegin(); it != actual.constEnd(); ++it) {
            QFile file(dir.filePath(it.key()));
            QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
            file.write(it.value());
        }
        QSKIP("golden files rewritten");
    }

    QCOMPARE(expectedNames, QStringList(actual.keys()));
    for (auto it = actual.constBegin(); it != actual.constEnd(); ++it) {
        const QByteArray expected = readFile(dir.filePath(it.key()));
        if (it.value() != expected) {
            // Line by line, so the failure names the first difference instead of two walls of text.
            const QList<QByteArray> got = it.value().split('\n');
            const QList<QByteArray> want = expected.split('\n');
            for (qsizetype i = 0; i < std::max(got.size(), want.size()); ++i) {
                const QByteArray a = got.value(i, "<missing>");
                const QByteArray b = want.value(i, "<missing>");
                QVERIFY2(a == b, qPrintable(QStringLiteral("%1 line %2:\n  actual:   %3\n  expected: %4")
                                                .arg(it.key())
                                                .arg(i + 1)
                                                .arg(QString::fromUtf8(a), QString::fromUtf8(b))));
            }
        }
    }
}

void TestPolicyCompile::secretsNeverLeak()
{
    const Policy policy = withSecretsPassedThrough();
    LaunchContext context = standardContext();
    const auto bwrap = compileBwrap(policy, context);
    QVERIFY(bwrap);
    QVERIFY(!containsSecret(bwrap->arguments.join(u'\n').toUtf8()));
    for (const QString &value : bwrap->environment)
        QVERIFY(!containsSecret(value.toUtf8()));
    QVERIFY(!bwrap->environment.contains(QStringLiteral("GITHUB_TOKEN")));
    QCOMPARE(bwrap->environment.value(QStringLiteral("LANG")), QStringLiteral("en_US.UTF-8"));
    QVERIFY(!containsSecret(renderBwrapCommandLine(*bwrap).toUtf8()));

    const auto docker = compileDockerCreate(policy, context);
    QVERIFY(docker);
    const QByteArray body = QJsonDocument(*docker).toJson();
    QVERIFY(!containsSecret(body));
    QVERIFY(!body.contains("GITHUB_TOKEN"));
    QVERIFY(!containsSecret(renderDockerRunCommandLine(*docker).toUtf8()));
}

void TestPolicyCompile::noProxyNeverExemptsWhatTheProxyServes_data()
{
    QTest::addColumn<QList<int>>("hostPorts");
    QTest::addColumn<QStringList>("allow");
    QTest::addColumn<QString>("noProxy");
    const QString loopback = QStringLiteral("localhost,127.0.0.1,::1");
    QTest::newRow("nothing on loopback") << QList<int>{} << QStringList{QStringLiteral("api.anthropic.com")} << loopback;
    QTest::newRow("a host port") << QList<int>{8443} << QStringList{} << QString();
    QTest::newRow("127.0.0.1 allowed") << QList<int>{} << QStringList{QStringLiteral("127.0.0.1:8443")} << QString();
    QTest::newRow("localhost allowed") << QList<int>{} << QStringList{QStringLiteral("localhost")} << QString();
}

// A client that honours NO_PROXY connects directly to what it lists. Inside the sandbox that is the
// sandbox's own empty loopback: a model endpoint on the host's loopback (reached through the proxy)
// would be refused with no egress record. And the policy's own variables cannot list an allowed host.
void TestPolicyCompile::noProxyNeverExemptsWhatTheProxyServes()
{
    QFETCH(QList<int>, hostPorts);
    QFETCH(QStringList, allow);
    QFETCH(QString, noProxy);
    Policy policy = *findPreset(u"standard");
    policy.network.hostPorts = hostPorts;
    policy.network.allow += allow;
    policy.environment.set.insert(QStringLiteral("NO_PROXY"), QStringLiteral("api.anthropic.com"));
    policy.environment.set.insert(QStringLiteral("no_proxy"), QStringLiteral("*"));
    const auto bwrap = compileBwrap(policy, standardContext());
    QVERIFY2(bwrap, qPrintable(bwrap ? QString() : bwrap.error().message));
    QCOMPARE(bwrap->environment.value(QStringLiteral("NO_PROXY")), noProxy);
    QCOMPARE(bwrap->environment.value(QStringLiteral("no_proxy")), noProxy);
}

void TestPolicyCompile::dockerResourceMapping()
{
    Policy policy = *findPreset(u"hardened");
    policy.resources.cpus = 1.5;
    policy.resources.memoryBytes = qint64(3) << 30;
    policy.lifecycle = Lifecycle::Persistent;
    const auto body = compileDockerCreate(policy, standardContext());
    QVERIFY(body);
    const QJsonObject host = body->value(u"HostConfig").toObject();
    QCOMPARE(host.value(u"NanoCpus").toInteger(), qint64(1500000000));
    QCOMPARE(host.value(u"Memory").toInteger(), qint64(3) << 30);
    QCOMPARE(host.value(u"MemorySwap").toInteger(), host.value(u"Memory").toInteger());
    QCOMPARE(host.value(u"AutoRemove").toBool(), false);
    QCOMPARE(host.value(u"CapDrop").toArray(), QJsonArray{QStringLiteral("ALL")});
    QCOMPARE(body->value(u"Labels").toObject().value(u"airlock.policy-hash").toString(), policyHash(policy));
    QVERIFY(renderDockerRunCommandLine(*body).contains(QStringLiteral("--cpus 1.5 ")));
}

void TestPolicyCompile::contextErrors()
{
    const Policy standard = *findPreset(u"standard");
    LaunchContext relative = standardContext();
    relative.workspace = QStringLiteral("src/project");
    QCOMPARE(compileBwrap(standard, relative).error().message,
             QStringLiteral("launch context: workspace 'src/project' is not a clean absolute path"));

    LaunchContext noShim = standardContext();
    noShim.shim.clear();
    QCOMPARE(compileBwrap(standard, noShim).error().message, QStringLiteral("launch context: shim is not set"));

    LaunchContext inProc = standardContext();
    inProc.sandboxWorkspace = QStringLiteral("/proc/ws");
    QVERIFY(compileBwrap(standard, inProc).error().message.startsWith(u"the workspace cannot be mounted: "));

    Policy overWorkspace = standard;
    overWorkspace.filesystem.mounts = {{QStringLiteral("/srv"), QStringLiteral("/home/dev/src/project"), Access::ReadOnly}};
    QCOMPARE(compileBwrap(overWorkspace, standardContext()).error().message,
             QStringLiteral("filesystem.mounts[0].target: '/home/dev/src/project' is where the workspace is mounted"));

    Policy deniedMount = standard;
    deniedMount.filesystem.mounts = {{QStringLiteral("/home/dev/.ssh/config"), QStringLiteral("/ssh"), Access::ReadOnly}};
    deniedMount.filesystem.deniedHostPaths = {QStringLiteral("~/.ssh")};
    QVERIFY(validatePolicy(deniedMount).isEmpty()); // without a home the two spellings look unrelated
    QCOMPARE(compileBwrap(deniedMount, standardContext()).error().message,
             QStringLiteral("filesystem.mounts[0].host: '/home/dev/.ssh/config' is inside denied host path '~/.ssh'"));

    Policy invalid = standard;
    invalid.network.allow = {QStringLiteral("*.")};
    const auto refused = compileDockerCreate(invalid, standardContext());
    QVERIFY(!refused);
    QCOMPARE(refused.error().code, ErrorCode::InvalidArgument);
    QCOMPARE(refused.error().message, QStringLiteral("runtime.image is not set; Docker needs an image to run"));
    QCOMPARE(compileBwrap(invalid, standardContext()).error().message,
             QStringLiteral("the policy is not valid:\nnetwork.allow[0]: '*.' is not a domain pattern"));

    Policy strict = *findPreset(u"hardened");
    strict.privileges.seccomp = SeccompMode::Strict;
    QCOMPARE(compileDockerCreate(strict, standardContext()).error().message,
             QStringLiteral("launch context: seccomp 'strict' needs the profile text (seccompProfileJson)"));
}

void TestPolicyCompile::deterministic()
{
    for (const Preset &preset : presets()) {
        const auto first = compileAll(preset.policy, standardContext());
        const auto second = compileAll(preset.policy, standardContext());
        QCOMPARE(first, second);
    }
}

void TestPolicyCompile::shellQuoting_data()
{
    QTest::addColumn<QString>("word");
    QTest::addColumn<QString>("quoted");
    QTest::newRow("plain") << "--ro-bind" << "--ro-bind";
    QTest::newRow("path") << "/usr/lib/x86_64-linux-gnu" << "/usr/lib/x86_64-linux-gnu";
    QTest::newRow("assignment") << "LANG=en_US.UTF-8" << "LANG=en_US.UTF-8";
    QTest::newRow("empty") << "" << "''";
    QTest::newRow("space") << "a b" << "'a b'";
    QTest::newRow("single quote") << "it's" << "'it'\\''s'";
    QTest::newRow("dollar") << "$HOME" << "'$HOME'";
    QTest::newRow("glob") << "*.txt" << "'*.txt'";
    QTest::newRow("json") << "seccomp={\"a\":1}" << "'seccomp={\"a\":1}'";
}

void TestPolicyCompile::shellQuoting()
{
    QFETCH(QString, word);
    QFETCH(QString, quoted);
    QCOMPARE(shellQuote(word), quoted);
}

QTEST_GUILESS_MAIN(TestPolicyCompile)
#include "tst_policy_compile.moc"
