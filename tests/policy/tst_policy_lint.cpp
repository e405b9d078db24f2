#include "policytestutil.h"

#include "policy/linter.h"
#include "policy/presets.h"

#include <QDir>
#include <QJsonDocument>
#include <QJsonObject>
#include <QStandardPaths>
#include <QTest>

using namespace airlock::policy;

// Declared before the test data: moc does not understand raw string literals, and a "/**" inside one
// would otherwise hide the class from it.
class TestPolicyLint : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void baseIsClean();
    void findings_data();
    void findings();
    void titlesNameWhatIsUsedInstead();
    void fixesApplyInAnyOrder();
    void fixingOpenLeavesNothingCritical();
    void lintIsPure();
    void probeDescribesThisMachine();
};

namespace {

// A policy with no findings on a capable host; rows change only what they are about.
const char *const kBase = R"({
    "schemaVersion": 1, "name": "Base",
    "runtime": {"backend": "local"},
    "network": {"mode": "proxy"},
    "resources": {"memoryBytes": 4294967296, "pids": 512},
    "guardrails": {"maxTurns": 50}
})";

// Merges sections into the base, one level deep; null removes a key.
QByteArray withBase(const QByteArray &overrides)
{
    QJsonObject base = QJsonDocument::fromJson(kBase).object();
    const QJsonObject changes = QJsonDocument::fromJson(overrides).object();
    for (auto it = changes.constBegin(); it != changes.constEnd(); ++it) {
        if (it.value().isNull()) {
            base.remove(it.key());
        } else if (it.value().isObject() && base.value(it.key()).isObject()) {
            QJsonObject section = base.value(it.key()).toObject();
            const QJsonObject update = it.value().toObject();
            for (auto field = update.constBegin(); field != update.constEnd(); ++field) {
                if (field.value().isNull())
                    section.remove(field.key());
                else
                    section.insert(field.key(), field.value());
            }
            base.insert(it.key(), section);
        } else {
            base.insert(it.key(), it.value());
        }
    }
    return QJsonDocument(base).toJson();
}

HostFacts factsFrom(const QString &flags)
{
    HostFacts facts{QStringLiteral("/home/dev"), QStringLiteral("/run/user/1000"), true, true, true, true, true};
    const QStringList list = flags.split(u' ', Qt::SkipEmptyParts);
    facts.cgroupsWritable = !list.contains(u"nocgroups");
    facts.bwrapInstalled = !list.contains(u"nobwrap");
    facts.userNamespaces = !list.contains(u"nouserns");
    facts.dockerReachable = !list.contains(u"nodocker");
    facts.runscInstalled = !list.contains(u"norunsc");
    if (list.contains(u"nohome"))
        facts.home.clear();
    facts.launcherIsRoot = list.contains(u"root");
    // "cores=2", "ramMiB=2048", "diskMiB=4096": the size of the machine limits are measured against.
    for (const QString &flag : list) {
        if (flag.startsWith(u"cores="))
            facts.cpuCount = flag.mid(6).toInt();
        else if (flag.startsWith(u"ramMiB="))
            facts.memoryBytes = flag.mid(7).toLongLong() << 20;
        else if (flag.startsWith(u"diskMiB="))
            facts.workspaceDiskBytes = flag.mid(8).toLongLong() << 20;
    }
    return facts;
}

const Finding *findFinding(const QList<Finding> &findings, const QString &id, const QString &path)
{
    for (const Finding &f : findings) {
        if (f.id == id && f.path == path)
            return &f;
    }
    return nullptr;
}

QString describe(const QList<Finding> &findings)
{
    QStringList lines;
    for (const Finding &f : findings)
        lines << nameOf(f.severity) + u' ' + f.id + QStringLiteral(" @ ") + f.path + QStringLiteral(": ") + f.title;
    return lines.join(u'\n');
}

} // namespace

Q_DECLARE_METATYPE(airlock::policy::Severity)

void TestPolicyLint::baseIsClean()
{
    POLICY_PARSE(base, withBase("{}"));
    const QList<Finding> findings = lint(base, factsFrom({}));
    QVERIFY2(findings.isEmpty(), qPrintable(describe(findings)));
}

void TestPolicyLint::findings_data()
{
    QTest::addColumn<QByteArray>("sections");
    QTest::addColumn<QString>("facts");
    QTest::addColumn<QString>("id");
    QTest::addColumn<QString>("path");
    QTest::addColumn<bool>("present");
    QTest::addColumn<Severity>("severity");

    const auto row = [](const char *name, const char *sections, const char *facts, const char *id, const char *path,
                        bool present, Severity severity) {
        QTest::newRow(name) << QByteArray(sections) << QString::fromUtf8(facts) << QString::fromUtf8(id)
                            << QString::fromUtf8(path) << present << severity;
    };
    const auto C = Severity::Critical;
    const auto W = Severity::Warning;
    const auto I = Severity::Info;

    // Filesystem.
    row("ssh mounted", R"({"filesystem": {"mounts": [{"host": "~/.ssh", "target": "/s"}]}})", "",
        "filesystem.sensitive-mount", "filesystem.mounts[0].host", true, C);
    row("aws below $HOME", R"({"filesystem": {"mounts": [{"host": "$HOME/.aws/credentials", "target": "/c"}]}})", "",
        "filesystem.sensitive-mount", "filesystem.mounts[0].host", true, C);
    row("kube by absolute path", R"({"filesystem": {"mounts": [{"host": "/tmp/x", "target": "/x"}, {"host": "/home/dev/.kube", "target": "/k"}]}})",
        "", "filesystem.sensitive-mount", "filesystem.mounts[1].host", true, C);
    row("config", R"({"filesystem": {"mounts": [{"host": "~/.config", "target": "/c"}]}})", "",
        "filesystem.sensitive-mount", "filesystem.mounts[0].host", true, C);
    row("gnupg", R"({"filesystem": {"mounts": [{"host": "~/.gnupg", "target": "/g"}]}})", "",
        "filesystem.sensitive-mount", "filesystem.mounts[0].host", true, C);
    row("docker socket", R"({"filesystem": {"mounts": [{"host": "/var/run/docker.sock", "target": "/var/run/docker.sock"}]}})", "",
        "filesystem.sensitive-mount", "filesystem.mounts[0].host", true, C);
    row("rootless docker socket", R"({"filesystem": {"mounts": [{"host": "/run/user/1000/docker.sock", "target": "/d.sock"}]}})", "",
        "filesystem.sensitive-mount", "filesystem.mounts[0].host", true, C);
    row("ssh without a known home", R"({"filesystem": {"mounts": [{"host": "~/.ssh", "target": "/s"}]}})", "nohome",
        "filesystem.sensitive-mount", "filesystem.mounts[0].host", true, C);
    row("unrelated mount", R"({"filesystem": {"mounts": [{"host": "~/src/lib", "target": "/lib2"}]}})", "",
        "filesystem.sensitive-mount", "filesystem.mounts[0].host", false, C);
    row("home exposes ssh", R"({"filesystem": {"mounts": [{"host": "~", "target": "/h"}]}})", "",
        "filesystem.exposes-sensitive", "filesystem.mounts[0].host", true, C);
    row("home with denials", R"({"filesystem": {"mounts": [{"host": "~", "target": "/h"}], "deniedHostPaths": ["~/.ssh", "~/.aws", "~/.config", "~/.gnupg", "~/.kube", "~/.docker", "~/.netrc", "~/.git-credentials", "~/.password-store", "~/.local"]}})",
        "", "filesystem.exposes-sensitive", "filesystem.mounts[0].host", false, C);
    row("root exposes socket", R"({"filesystem": {"mounts": [{"host": "/", "target": "/host"}]}})", "",
        "filesystem.exposes-sensitive", "filesystem.mounts[0].host", true, C);
    row("home writable", R"({"filesystem": {"mounts": [{"host": "$HOME", "target": "/h", "access": "rw"}]}})", "",
        "filesystem.home-writable", "filesystem.mounts[0].access", true, C);
    row("home parent writable", R"({"filesystem": {"mounts": [{"host": "/home", "target": "/h", "access": "rw"}]}})", "",
        "filesystem.home-writable", "filesystem.mounts[0].access", true, C);
    row("bashrc writable", R"({"filesystem": {"mounts": [{"host": "~/.bashrc", "target": "/b", "access": "rw"}]}})", "",
        "filesystem.shell-rc-writable", "filesystem.mounts[0].access", true, C);
    row("zshrc read-only", R"({"filesystem": {"mounts": [{"host": "~/.zshrc", "target": "/z"}]}})", "",
        "filesystem.shell-rc-writable", "filesystem.mounts[0].access", false, C);
    row("protection layer opted out", R"({"filesystem": {"protectionLayer": false}})", "",
        "filesystem.protection-layer", "filesystem.protectionLayer", true, W);
    row("protected paths dropped: the built-in list stays", R"({"filesystem": {"protectedPaths": []}})", "",
        "filesystem.protection-layer", "filesystem.protectionLayer", false, W);
    row("read-only workspace needs none", R"({"filesystem": {"workspace": "ro", "protectionLayer": false}})", "",
        "filesystem.protection-layer", "filesystem.protectionLayer", false, W);
    row("tmp size twice", R"({"filesystem": {"tmpfs": [{"target": "/tmp", "sizeBytes": 65536}]}, "resources": {"tmpBytes": 1048576}})", "",
        "resources.tmp-ignored", "resources.tmpBytes", true, I);

    // Network.
    row("host network", R"({"network": {"mode": "host"}})", "", "network.host", "network.mode", true, C);
    row("allow everything", R"({"network": {"allow": ["pypi.org", "*"]}})", "", "network.allow-all", "network.allow[1]", true, W);
    row("allow every https", R"({"network": {"allow": ["*:443"]}})", "", "network.allow-all", "network.allow[0]", true, W);
    row("host ports without proxy", R"({"network": {"mode": "none", "hostPorts": [5432]}})", "",
        "network.host-ports-unused", "network.hostPorts", true, I);

    // Secrets and environment.
    row("secret passed through", R"({"secrets": [{"name": "gh", "host": "api.github.com", "header": "Authorization", "hostEnv": "GITHUB_TOKEN"}],
        "environment": {"passThrough": ["GITHUB_TOKEN"]}})", "", "secrets.passed-through", "environment.passThrough[0]", true, C);
    row("key-like name passed", R"({"environment": {"passThrough": ["LANG", "OPENAI_API_KEY"]}})", "",
        "environment.secret-name", "environment.passThrough[1]", true, W);
    row("author is not a secret", R"({"environment": {"passThrough": ["GIT_AUTHOR_NAME"]}})", "",
        "environment.secret-name", "environment.passThrough[0]", false, W);
    row("key in a fixed value", R"({"environment": {"set": {"GH": "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"}}})", "",
        "environment.secret-value", "environment.set.GH", true, C);
    row("high-entropy fixed value", R"({"environment": {"set": {"X": "q8Zr2mK5vN1pL7tW3yH9cB4dF6gJ0sXa"}}})", "",
        "environment.secret-value", "environment.set.X", true, C);
    row("harmless fixed value", R"({"environment": {"set": {"CI": "1", "NODE_ENV": "test"}}})", "",
        "environment.secret-value", "environment.set.CI", false, C);
    // A placeholder key with a secret that adds the real one is safe; without any secret it is not a
    // leak but will not work; a real-looking key that merely mentions nothing stays critical.
    row("placeholder covered by a secret", R"({"secrets": [{"name": "anthropic", "host": "api.anthropic.com", "header": "x-api-key", "keychain": "anthropic"}],
        "network": {"allow": ["api.anthropic.com"]}, "environment": {"set": {"ANTHROPIC_API_KEY": "sk-ant-airlock-placeholder-the-proxy-adds-the-real-key"}}})", "",
        "environment.placeholder-key", "environment.set.ANTHROPIC_API_KEY", true, I);
    row("placeholder is not critical", R"({"secrets": [{"name": "anthropic", "host": "api.anthropic.com", "header": "x-api-key", "keychain": "anthropic"}],
        "network": {"allow": ["api.anthropic.com"]}, "environment": {"set": {"ANTHROPIC_API_KEY": "sk-ant-airlock-placeholder-the-proxy-adds-the-real-key"}}})", "",
        "environment.secret-value", "environment.set.ANTHROPIC_API_KEY", false, C);
    row("placeholder with no secret", R"({"environment": {"set": {"ANTHROPIC_API_KEY": "placeholder"}}})", "",
        "environment.placeholder-key", "environment.set.ANTHROPIC_API_KEY", true, W);
    row("real key beside a secret", R"({"secrets": [{"name": "anthropic", "host": "api.anthropic.com", "header": "x-api-key", "keychain": "anthropic"}],
        "environment": {"set": {"ANTHROPIC_API_KEY": "sk-ant-api03-q8Zr2mK5vN1pL7tW3yH9cB4dF6gJ0sXa"}}})", "",
        "environment.secret-value", "environment.set.ANTHROPIC_API_KEY", true, C);

    // Resources and privileges.
    row("no memory limit", R"({"resources": {"memoryBytes": null}})", "", "resources.no-memory-limit", "resources.memoryBytes", true, W);
    row("no process limit", R"({"resources": {"pids": null}})", "", "resources.no-pids-limit", "resources.pids", true, W);
    row("root in docker", R"({"runtime": {"backend": "docker", "image": "debian:12"}, "privileges": {"uid": 0, "gid": 0}})", "",
        "privileges.root", "privileges.uid", true, C);
    row("root locally", R"({"privileges": {"uid": 0, "gid": 0}})", "", "privileges.root", "privileges.uid", true, W);
    row("image user", R"({"runtime": {"backend": "docker", "image": "debian:12"}})", "", "privileges.image-user", "privileges.uid", true, W);
    row("capabilities kept", R"({"privileges": {"dropAllCapabilities": false}})", "",
        "privileges.capabilities-kept", "privileges.dropAllCapabilities", true, W);
    row("sys_admin", R"({"privileges": {"uid": 0, "gid": 0, "capAdd": ["SYS_ADMIN"]}})", "",
        "privileges.dangerous-capability", "privileges.capAdd[0]", true, C);
    row("net_bind_service is fine", R"({"privileges": {"uid": 0, "gid": 0, "capAdd": ["NET_BIND_SERVICE"]}})", "",
        "privileges.dangerous-capability", "privileges.capAdd[0]", false, C);
    row("new privileges in docker", R"({"runtime": {"backend": "docker", "image": "debian:12"}, "privileges": {"uid": 1, "gid": 1, "noNewPrivileges": false}})", "",
        "privileges.new-privileges", "privileges.noNewPrivileges", true, W);
    row("seccomp off", R"({"privileges": {"seccomp": "unconfined"}})", "", "privileges.seccomp-unconfined", "privileges.seccomp", true, W);
    row("nested user namespaces", R"({"privileges": {"nestedUserNamespaces": true}})", "",
        "privileges.nested-userns", "privileges.nestedUserNamespaces", true, W);
    row("no guardrails", R"({"guardrails": null})", "", "guardrails.none", "guardrails", true, I);
    row("agents stopped when they think", R"({"guardrails": {"maxIdleSeconds": 5}})", "",
        "guardrails.idle-short", "guardrails.maxIdleSeconds", true, W);
    row("five minutes of silence", R"({"guardrails": {"maxIdleSeconds": 300}})", "",
        "guardrails.idle-short", "guardrails.maxIdleSeconds", false, W);
    row("silence beyond the wall clock", R"({"guardrails": {"maxIdleSeconds": 9000, "maxWallClockSeconds": 7200}})", "",
        "guardrails.idle-unreachable", "guardrails.maxIdleSeconds", true, I);

    // Approval rules.
    row("read rule with command", R"({"approvals": {"rules": [{"kind": "read", "command": "cat", "decision": "allow"}]}})", "",
        "approvals.never-matches", "approvals.rules[0]", true, W);
    row("fetch rule with path", R"({"approvals": {"rules": [{"kind": "fetch", "path": "src/**", "decision": "deny"}]}})", "",
        "approvals.never-matches", "approvals.rules[0]", true, W);
    row("allow hidden by deny", R"({"approvals": {"rules": [{"kind": "execute", "decision": "deny"}, {"kind": "execute", "command": "npm test", "decision": "allow"}]}})", "",
        "approvals.shadowed", "approvals.rules[1]", true, W);
    row("allow hidden by later deny", R"({"approvals": {"rules": [{"kind": "execute", "command": "npm test", "decision": "allow"}, {"kind": "any", "decision": "deny"}]}})", "",
        "approvals.shadowed", "approvals.rules[0]", true, W);
    row("redundant allow", R"({"approvals": {"rules": [{"kind": "read", "decision": "allow"}, {"kind": "read", "path": "src/**", "decision": "allow"}]}})", "",
        "approvals.shadowed", "approvals.rules[1]", true, I);
    row("narrow deny before wide allow", R"({"approvals": {"rules": [{"kind": "execute", "command": "rm*", "decision": "allow"}, {"kind": "execute", "command": "rm -rf*", "decision": "deny"}]}})", "",
        "approvals.shadowed", "approvals.rules[0]", false, W);
    row("commands free on host network", R"({"network": {"mode": "host"}, "approvals": {"default": "allow"}})", "",
        "approvals.execute-open-network", "approvals.default", true, C);
    row("commands free through open proxy", R"({"network": {"allow": ["*"]}, "approvals": {"rules": [{"kind": "execute", "decision": "allow"}]}})", "",
        "approvals.execute-open-network", "approvals.rules[0]", true, C);
    row("commands free without network", R"({"network": {"mode": "none"}, "approvals": {"default": "allow"}})", "",
        "approvals.execute-open-network", "approvals.default", false, C);
    row("only npm test free on host network", R"({"network": {"mode": "host"}, "approvals": {"rules": [{"kind": "execute", "command": "npm test", "decision": "allow"}]}})", "",
        "approvals.execute-open-network", "approvals.rules[0]", false, C);

    // This machine and backend.
    // Limits that are no limit on this machine.
    row("cpus as many as cores", R"({"resources": {"cpus": 4}})", "cores=2", "host.no-limit", "resources.cpus", true, W);
    row("cpus fewer than cores", R"({"resources": {"cpus": 1}})", "cores=2", "host.no-limit", "resources.cpus", false, W);
    row("cpus, cores unknown", R"({"resources": {"cpus": 64}})", "", "host.no-limit", "resources.cpus", false, W);
    row("cpus on docker too", R"({"runtime": {"backend": "docker", "image": "debian"}, "resources": {"cpus": 2}})", "cores=2",
        "host.no-limit", "resources.cpus", true, W);
    row("memory over the RAM", R"({"resources": {"memoryBytes": 4294967296}})", "ramMiB=2048", "host.no-limit",
        "resources.memoryBytes", true, W);
    row("memory under the RAM", R"({"resources": {"memoryBytes": 1073741824}})", "ramMiB=2048", "host.no-limit",
        "resources.memoryBytes", false, W);
    row("tmp over the RAM", R"({"resources": {"tmpBytes": 4294967296}})", "ramMiB=2048", "host.no-limit",
        "resources.tmpBytes", true, W);
    row("file over the disk", R"({"resources": {"maxFileBytes": 8589934592}})", "diskMiB=4096", "host.no-limit",
        "resources.maxFileBytes", true, W);
    row("file under the disk", R"({"resources": {"maxFileBytes": 1073741824}})", "diskMiB=4096", "host.no-limit",
        "resources.maxFileBytes", false, W);
    row("workspace over the disk", R"({"resources": {"workspaceBytes": 8589934592}})", "diskMiB=4096", "host.no-limit",
        "resources.workspaceBytes", true, W);
    row("workspace under the disk", R"({"resources": {"workspaceBytes": 1073741824}})", "diskMiB=4096", "host.no-limit",
        "resources.workspaceBytes", false, W);
    row("root launcher says who runs", "{}", "root", "host.sandbox-user", "privileges.uid", true, I);
    row("user launcher says nothing", "{}", "", "host.sandbox-user", "privileges.uid", false, I);
    row("memory without cgroups", "{}", "nocgroups", "host.limit-fallback", "resources.memoryBytes", true, W);
    row("pids without cgroups", "{}", "nocgroups", "host.limit-fallback", "resources.pids", true, W);
    row("cpus without cgroups", R"({"resources": {"cpus": 2}})", "nocgroups", "host.limit-fallback", "resources.cpus", true, W);
    row("memory with cgroups", "{}", "", "host.limit-fallback", "resources.memoryBytes", false, W);
    row("no bwrap", "{}", "nobwrap", "host.bwrap-missing", "runtime.backend", true, C);
    row("no user namespaces", "{}", "nouserns", "host.no-userns", "runtime.backend", true, C);
    row("docker unreachable", R"({"runtime": {"backend": "docker", "image": "debian:12"}, "privileges": {"uid": 1, "gid": 1}})", "nodocker",
        "host.docker-unreachable", "runtime.backend", true, W);
    row("runsc missing", R"({"runtime": {"backend": "docker", "image": "debian:12", "dockerRuntime": "runsc"}, "privileges": {"uid": 1, "gid": 1}})", "norunsc",
        "host.runsc-missing", "runtime.dockerRuntime", true, C);
    row("runsc present", R"({"runtime": {"backend": "docker", "image": "debian:12", "dockerRuntime": "runsc"}, "privileges": {"uid": 1, "gid": 1}})", "",
        "host.runsc-missing", "runtime.dockerRuntime", false, C);
    row("runsc on local", R"({"runtime": {"dockerRuntime": "runsc"}})", "", "backend.runsc-ignored", "runtime.dockerRuntime", true, W);
    row("image on local", R"({"runtime": {"image": "debian:12"}})", "", "backend.image-ignored", "runtime.image", true, I);
    row("new privileges on local", R"({"privileges": {"noNewPrivileges": false}})", "",
        "backend.no-new-privs-forced", "privileges.noNewPrivileges", true, I);
    row("custom seccomp on local", R"({"privileges": {"seccomp": "custom", "seccompProfile": "/etc/p.json"}})", "",
        "backend.custom-seccomp", "privileges.seccompProfile", true, W);
    row("capabilities need root", R"({"privileges": {"capAdd": ["NET_BIND_SERVICE"]}})", "",
        "backend.caps-need-root", "privileges.capAdd", true, I);
    row("nested userns in docker, custom profile", R"({"runtime": {"backend": "docker", "image": "debian:12"}, "privileges": {"uid": 1, "gid": 1, "nestedUserNamespaces": true, "seccomp": "custom", "seccompProfile": "/etc/p.json"}})", "",
        "backend.nested-userns-docker", "privileges.nestedUserNamespaces", true, I);
    row("nested userns in docker, Airlock's filter", R"({"runtime": {"backend": "docker", "image": "debian:12"}, "privileges": {"uid": 1, "gid": 1, "nestedUserNamespaces": true}})", "",
        "backend.nested-userns-docker", "privileges.nestedUserNamespaces", false, I);
}

void TestPolicyLint::findings()
{
    QFETCH(QByteArray, sections);
    QFETCH(QString, facts);
    QFETCH(QString, id);
    QFETCH(QString, path);
    QFETCH(bool, present);
    QFETCH(Severity, severity);

    POLICY_PARSE(policy, withBase(sections));
    const HostFacts host = factsFrom(facts);
    const QList<Finding> findings = lint(policy, host);
    const Finding *finding = findFinding(findings, id, path);
    QVERIFY2((finding != nullptr) == present, qPrintable(describe(findings)));
    if (!finding)
        return;
    QCOMPARE(finding->severity, severity);
    QVERIFY(!finding->title.isEmpty());
    QVERIFY(finding->why.endsWith(u'.'));
    if (!finding->fix)
        return;

    // A fix gives a valid policy without the finding, and leaves its input alone.
    const Policy before = policy;
    const Policy fixed = finding->fix->apply(policy);
    QCOMPARE(policy, before);
    QVERIFY(fixed != policy);
    QVERIFY2(validatePolicy(fixed).isEmpty(), qPrintable(formatIssues(validatePolicy(fixed))));
    const QList<Finding> after = lint(fixed, host);
    QVERIFY2(!findFinding(after, id, path), qPrintable(describe(after)));
}

void TestPolicyLint::titlesNameWhatIsUsedInstead()
{
    POLICY_PARSE(policy, withBase("{}"));
    const QList<Finding> findings = lint(policy, factsFrom(QStringLiteral("nocgroups")));
    const Finding *memory = findFinding(findings, QStringLiteral("host.limit-fallback"), QStringLiteral("resources.memoryBytes"));
    QVERIFY(memory);
    QCOMPARE(memory->title, QStringLiteral("Memory limit enforced with RLIMIT_AS instead of cgroups"));
    QVERIFY(!memory->fix); // nothing in the policy can fix the machine
}

void TestPolicyLint::fixesApplyInAnyOrder()
{
    POLICY_PARSE(policy, withBase(R"({"filesystem": {"mounts": [{"host": "~/.ssh", "target": "/s"},
        {"host": "/srv/data", "target": "/data"}, {"host": "~/.aws", "target": "/a"}]}})"));
    QList<Finding> findings = lint(policy, factsFrom({}));
    QCOMPARE(findings.size(), 2);
    const Policy forward = applyFixes(policy, findings);
    std::reverse(findings.begin(), findings.end());
    const Policy backward = applyFixes(policy, findings);
    QCOMPARE(forward, backward);
    QCOMPARE(forward.filesystem.mounts.size(), 1);
    QCOMPARE(forward.filesystem.mounts.first().host, QStringLiteral("/srv/data"));
}

void TestPolicyLint::fixingOpenLeavesNothingCritical()
{
    const Policy open = *findPreset(u"open");
    const HostFacts host = factsFrom({});
    const Policy fixed = applyFixes(open, lint(open, host));
    QVERIFY(validatePolicy(fixed).isEmpty());
    const QList<Finding> after = lint(fixed, host);
    QVERIFY2(after.isEmpty(), qPrintable(describe(after)));
    QCOMPARE(fixed.network.mode, NetworkMode::Proxy);
    QVERIFY(fixed.resources.memoryBytes.has_value());
}

void TestPolicyLint::lintIsPure()
{
    const Policy open = *findPreset(u"open");
    const QList<Finding> first = lint(open, factsFrom({}));
    const QList<Finding> second = lint(open, factsFrom({}));
    QCOMPARE(describe(first), describe(second));
}

void TestPolicyLint::probeDescribesThisMachine()
{
    const HostFacts facts = probeHostFacts();
    QCOMPARE(facts.home, QDir::homePath());
    QCOMPARE(facts.bwrapInstalled, !QStandardPaths::findExecutable(QStringLiteral("bwrap")).isEmpty());
}

QTEST_GUILESS_MAIN(TestPolicyLint)
#include "tst_policy_lint.moc"
