#include "policytestutil.h"

#include "policy/codec.h"

#include <QJsonDocument>
#include <QTemporaryDir>
#include <QTest>

using namespace airlock;
using namespace airlock::policy;
using policytest::doc;

// Declared before the test data: moc does not understand raw string literals, and a "/**" inside one
// would otherwise hide the class from it.
class TestPolicyCodec : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void malformed_data();
    void malformed();
    void minimalDocumentIsTheDefault();
    void roundTripFullPolicy();
    void roundTripNumbers_data();
    void roundTripNumbers();
    void canonicalTextIsStable();
    void errorCollectsEveryIssue();
    void oversizedInput();
    void truncatedInputs();
    void migrationFromVersionZero();
    void migrationKeepsConflictsVisible();
    void validateBuiltValue();
    void hashIsStable();
    void networkPortsAndClasses();
    void loadFile();
};

namespace {

// Every field set to something other than its default, so a round trip exercises all of them.
Policy fullPolicy()
{
    Policy p;
    p.name = QStringLiteral("Everything \"quoted\" — ünïcode");
    p.description = QStringLiteral("Line one\nLine two\twith a tab and a backslash \\");
    p.runtime = {Backend::Docker, QStringLiteral("ghcr.io/example/agent:1.2@sha256:abc"), DockerRuntime::Runsc};
    p.placement = Placement::AgentOnHost;
    p.lifecycle = Lifecycle::Hybrid;
    p.filesystem.workspace = Access::ReadOnly;
    p.filesystem.protectedPaths = {QStringLiteral(".git/hooks"), QStringLiteral("Makefile")};
    p.filesystem.mounts = {{QStringLiteral("~/.cache/pip"), QStringLiteral("/home/agent/.cache/pip"), Access::ReadWrite},
                           {QStringLiteral("/opt/sdk"), QStringLiteral("/opt/sdk"), Access::ReadOnly}};
    p.filesystem.deniedHostPaths = {QStringLiteral("$HOME/.ssh"), QStringLiteral("/opt/sdk/keys")};
    p.filesystem.readOnlyRoot = true;
    p.filesystem.protectionLayer = false;
    p.filesystem.tmpfs = {{QStringLiteral("/tmp"), 100 * 1024 * 1024, true}, {QStringLiteral("/run/cache"), 8192, false}};
    p.network = {NetworkMode::Proxy,
                 {QStringLiteral("registry.npmjs.org"), QStringLiteral("*.github.com:443"), QStringLiteral("pypi.org")},
                 {QStringLiteral("gist.github.com")},
                 true,
                 {5432, 6379},
                 {},
                 QStringLiteral("/etc/ssl/private-gateway-ca.pem")};
    p.secrets = {{QStringLiteral("github"), QStringLiteral("api.github.com"), QStringLiteral("Authorization"),
                  Secret::Source::Keychain, QStringLiteral("airlock/github"), QStringLiteral("Bearer")},
                 {QStringLiteral("npm"), QStringLiteral("registry.npmjs.org"), QStringLiteral("X-Npm-Token"),
                  Secret::Source::HostEnv, QStringLiteral("NPM_TOKEN"), {}}};
    p.environment.passThrough = {QStringLiteral("LANG"), QStringLiteral("TERM")};
    p.environment.set = {{QStringLiteral("CI"), QStringLiteral("1")}, {QStringLiteral("EMPTY"), QString()}};
    p.resources = {qint64(3) << 30, 1.5, 256, 3600, 512 * 1024 * 1024, 1 << 20, 1 << 24, qint64(8) << 30};
    p.privileges = {1000, 1000, true, {QStringLiteral("NET_BIND_SERVICE")}, true, SeccompMode::Custom,
                    QStringLiteral("/etc/airlock/seccomp.json"), true};
    p.guardrails = {40, 300, 1800, 2000000, 12.5, 600};
    p.approvals.defaultDecision = Verdict::Deny;
    p.approvals.rules = {
        {ToolKind::Execute, QStringLiteral("npm test*"), std::nullopt, std::nullopt, Verdict::Allow},
        {ToolKind::Edit, std::nullopt, QStringLiteral("src/**/*.ts"), std::nullopt, Verdict::Ask},
        {ToolKind::Fetch, std::nullopt, std::nullopt, QStringLiteral("*.example.com"), Verdict::Allow},
        {ToolKind::Any, std::nullopt, std::nullopt, std::nullopt, Verdict::Ask},
    };
    return p;
}

} // namespace

void TestPolicyCodec::malformed_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QStringList>("expected");

    const auto row = [](const char *name, const QByteArray &json, const QStringList &expected) {
        QTest::newRow(name) << json << expected;
    };

    row("empty", "", {"the document is empty"});
    row("whitespace", " \n\t ", {"the document is empty"});
    row("garbage", "policy: yes", {"not valid JSON: illegal value at line 1, column 2"});
    row("binary", QByteArray("\x00\xff\xfe{", 4), {"not valid JSON: illegal value at line 1, column 2"});
    row("truncated string", R"({"schemaVersion": 1, "name": "Half)",
        {"not valid JSON: unterminated string at line 1, column 36"});
    row("truncated object", "{\"schemaVersion\": 1,\n \"network\": {\"mode\": \"none\"",
        {"not valid JSON: unterminated string at line 2, column 28"});
    row("trailing garbage", R"({"schemaVersion": 1} x)", {"not valid JSON: garbage at the end of the document at line 1, column 22"});
    row("top-level array", "[1, 2]", {"expected an object at the top level, got an array"});
    row("no schema version", "{}", {"schemaVersion: is required (this build writes 1)"});
    row("schema version string", R"({"schemaVersion": "1"})", {"schemaVersion: expected a whole number from 0 to 1"});
    row("schema version fraction", R"({"schemaVersion": 1.5})", {"schemaVersion: expected a whole number from 0 to 1"});
    row("schema version newer", R"({"schemaVersion": 7})",
        {"schemaVersion: the document needs schema version 7, but this build reads up to version 1; update Airlock"});
    row("unknown key with suggestion", doc(R"("nmae": "x")"), {"nmae: unknown key (did you mean 'name'?)"});
    row("unknown key", doc(R"("colour": "red")"), {"colour: unknown key"});
    row("duplicate key", doc(R"("network": {"mode": "none", "allow": [], "mode": "host"})"),
        {"network.mode: appears more than once"});
    row("duplicate key in array element",
        doc(R"("approvals": {"rules": [{"decision": "ask"}, {"kind": "read", "decision": "ask", "decision": "allow"}]})"),
        {"approvals.rules[1].decision: appears more than once"});
    row("duplicate key spelt with escapes", R"({"schemaVersion": 1, "name": "a", "n\u0061me": "b"})",
        {"name: appears more than once"});
    row("name wrong type", doc(R"("name": 42)"), {"name: expected a string, got a number"});
    row("name control character", doc(R"("name": "a\u0007b")"), {"name: the name contains control characters"});
    row("bad backend", doc(R"("runtime": {"backend": "podman"})"), {"runtime.backend: 'podman' is not one of local, docker"});
    row("docker without image", doc(R"("runtime": {"backend": "docker"})"),
        {"runtime.image: is required when the backend is docker"});
    row("image with space", doc(R"("runtime": {"backend": "docker", "image": "debian 12"})"),
        {"runtime.image: 'debian 12' is not an image reference: it contains spaces or control characters"});
    row("bad docker runtime", doc(R"("runtime": {"dockerRuntime": "kata"})"),
        {"runtime.dockerRuntime: 'kata' is not one of runc, runsc"});
    row("bad placement", doc(R"("placement": "inside")"), {"placement: 'inside' is not one of agentInSandbox, agentOnHost"});
    row("bad lifecycle", doc(R"("lifecycle": ["ephemeral"])"), {"lifecycle: expected a string, got an array"});
    row("filesystem not object", doc(R"("filesystem": "rw")"), {"filesystem: expected an object, got a string"});
    row("bad workspace mode", doc(R"("filesystem": {"workspace": "rw+"})"), {"filesystem.workspace: 'rw+' is not one of rw, ro"});
    row("protected path escapes", doc(R"("filesystem": {"protectedPaths": [".envrc", "../up"]})"),
        {"filesystem.protectedPaths[1]: '../up' must be a plain relative path (no empty, '.' or '..' parts)"});
    row("protected path absolute", doc(R"("filesystem": {"protectedPaths": ["/etc"]})"),
        {"filesystem.protectedPaths[0]: '/etc' must be relative to the workspace"});
    row("protected path duplicate", doc(R"("filesystem": {"protectedPaths": [".envrc", ".envrc"]})"),
        {"filesystem.protectedPaths[1]: '.envrc' is already listed at filesystem.protectedPaths[0]"});
    row("mount missing target", doc(R"("filesystem": {"mounts": [{"host": "/data"}]})"),
        {"filesystem.mounts[0].target: is required"});
    row("mount relative host", doc(R"("filesystem": {"mounts": [{"host": "data", "target": "/data"}]})"),
        {"filesystem.mounts[0].host: 'data' is not an absolute path or one starting with ~ or $HOME"});
    row("mount other home", doc(R"("filesystem": {"mounts": [{"host": "~root/x", "target": "/x"}]})"),
        {"filesystem.mounts[0].host: '~root/x' names another user's home; only '~' is supported"});
    row("mount unclean host", doc(R"("filesystem": {"mounts": [{"host": "~/cache/", "target": "/c"}]})"),
        {"filesystem.mounts[0].host: '~/cache/' is not in clean form; write '~/cache'"});
    row("mount dotdot", doc(R"("filesystem": {"mounts": [{"host": "/srv/../etc", "target": "/e"}]})"),
        {"filesystem.mounts[0].host: '/srv/../etc' must not contain '..'"});
    row("mount target in proc", doc(R"("filesystem": {"mounts": [{"host": "/data", "target": "/proc/self"}]})"),
        {"filesystem.mounts[0].target: '/proc/self' is inside /proc, which the sandbox sets up itself"});
    row("mount target over airlock", doc(R"("filesystem": {"mounts": [{"host": "/data", "target": "/airlock/shim"}]})"),
        {"filesystem.mounts[0].target: '/airlock/shim' is inside /airlock, which the sandbox sets up itself"});
    row("mount target root", doc(R"("filesystem": {"mounts": [{"host": "/data", "target": "/"}]})"),
        {"filesystem.mounts[0].target: '/' cannot be replaced"});
    row("mount bad access", doc(R"("filesystem": {"mounts": [{"host": "/a", "target": "/a", "access": "readonly"}]})"),
        {"filesystem.mounts[0].access: 'readonly' is not one of rw, ro"});
    row("mount unknown key", doc(R"("filesystem": {"mounts": [{"host": "/a", "target": "/a", "acess": "ro"}]})"),
        {"filesystem.mounts[0].acess: unknown key (did you mean 'access'?)"});
    row("mount not object", doc(R"("filesystem": {"mounts": ["/a:/a"]})"),
        {"filesystem.mounts[0]: expected an object, got a string"});
    row("duplicate mount target",
        doc(R"("filesystem": {"mounts": [{"host": "/a", "target": "/data"}, {"host": "/b", "target": "/data"}]})"),
        {"filesystem.mounts[1].target: '/data' is already used by filesystem.mounts[0]"});
    row("tmpfs over a mount",
        doc(R"("filesystem": {"mounts": [{"host": "/a", "target": "/tmp"}], "tmpfs": [{"target": "/tmp", "sizeBytes": 65536}]})"),
        {"filesystem.tmpfs[0].target: '/tmp' is already used by filesystem.mounts[0]"});
    row("negative tmpfs size", doc(R"("filesystem": {"tmpfs": [{"target": "/tmp", "sizeBytes": -1}]})"),
        {"filesystem.tmpfs[0].sizeBytes: must not be negative, got -1"});
    row("fractional tmpfs size", doc(R"("filesystem": {"tmpfs": [{"target": "/tmp", "sizeBytes": 1.5}]})"),
        {"filesystem.tmpfs[0].sizeBytes: expected a whole number, got 1.5"});
    row("tmpfs without size", doc(R"("filesystem": {"tmpfs": [{"target": "/tmp"}]})"),
        {"filesystem.tmpfs[0].sizeBytes: is required"});
    row("mount inside denied path",
        doc(R"("filesystem": {"mounts": [{"host": "~/.ssh/known_hosts", "target": "/k"}], "deniedHostPaths": ["$HOME/.ssh"]})"),
        {"filesystem.mounts[0].host: '~/.ssh/known_hosts' is inside denied host path '$HOME/.ssh'"});
    row("read-only root not bool", doc(R"("filesystem": {"readOnlyRoot": "yes"})"),
        {"filesystem.readOnlyRoot: expected true or false, got a string"});
    row("allow empty wildcard", doc(R"("network": {"allow": ["example.com", "*.github.com", "*."]})"),
        {"network.allow[2]: '*.' is not a domain pattern"});
    row("deny inner wildcard", doc(R"("network": {"deny": ["a.*.com"]})"),
        {"network.deny[0]: 'a.*.com' is not a domain pattern: '*' may only be the whole leftmost label"});
    row("allow uppercase", doc(R"("network": {"allow": ["Example.com"]})"),
        {"network.allow[0]: 'Example.com' is not a domain pattern: use lowercase"});
    row("allow bad port", doc(R"("network": {"allow": ["example.com:70000"]})"),
        {"network.allow[0]: 'example.com:70000' is not a domain pattern: a port must be a number from 1 to 65535 (several: ':443,8443'; every port: ':*')"});
    row("allow url", doc(R"("network": {"allow": ["https://example.com"]})"),
        {"network.allow[0]: 'https://example.com' is not a domain pattern: a port must be a number from 1 to 65535 (several: ':443,8443'; every port: ':*')"});
    row("allow empty port in list", doc(R"("network": {"allow": ["example.com:443,"]})"),
        {"network.allow[0]: 'example.com:443,' is not a domain pattern: a port must be a number from 1 to 65535 (several: ':443,8443'; every port: ':*')"});
    row("allow port twice in list", doc(R"("network": {"allow": ["example.com:443,443"]})"),
        {"network.allow[0]: 'example.com:443,443' is not a domain pattern: port 443 is listed twice"});
    row("allow star among ports", doc(R"("network": {"allow": ["example.com:443,*"]})"),
        {"network.allow[0]: 'example.com:443,*' is not a domain pattern: a port must be a number from 1 to 65535 (several: ':443,8443'; every port: ':*')"});
    row("unknown address class", doc(R"("network": {"allowAddressClasses": ["loopback", "lan"]})"),
        {"network.allowAddressClasses[1]: 'lan' is not an address class; use one of: loopback, private, link-local, cgnat, metadata, multicast, unspecified, reserved"});
    row("allow duplicate", doc(R"("network": {"allow": ["a.com", "a.com"]})"),
        {"network.allow[1]: 'a.com' is already listed at network.allow[0]"});
    row("allow not array", doc(R"("network": {"allow": "a.com"})"), {"network.allow: expected an array, got a string"});
    row("bad network mode", doc(R"("network": {"mode": "open"})"), {"network.mode: 'open' is not one of none, proxy, host"});
    row("host port zero", doc(R"("network": {"hostPorts": [5432, 0]})"), {"network.hostPorts[1]: 0 is out of range (1 to 65535)"});
    row("host port twice", doc(R"("network": {"hostPorts": [5432, 5432]})"), {"network.hostPorts[1]: port 5432 is listed twice"});
    row("secret with value",
        doc(R"("secrets": [{"name": "gh", "host": "api.github.com", "header": "Authorization", "keychain": "gh", "value": "ghp_x"}])"),
        {"secrets[0].value: a policy never holds secret values; name a keychain item or a host environment variable instead"});
    row("secret two sources",
        doc(R"("secrets": [{"name": "gh", "host": "api.github.com", "header": "Authorization", "keychain": "gh", "hostEnv": "GH"}])"),
        {"secrets[0]: give exactly one source: \"keychain\" or \"hostEnv\""});
    row("secret for every host",
        doc(R"("secrets": [{"name": "gh", "host": "*", "header": "Authorization", "keychain": "gh"}])"),
        {"secrets[0].host: '*' would hand the secret to every host; name the host it is for"});
    row("secret bad header",
        doc(R"("secrets": [{"name": "gh", "host": "api.github.com", "header": "Auth header", "keychain": "gh"}])"),
        {"secrets[0].header: 'Auth header' is not an HTTP header name"});
    row("secret bad scheme",
        doc(R"("secrets": [{"name": "gh", "host": "api.github.com", "header": "Authorization", "scheme": "Bearer x", "keychain": "gh"}])"),
        {"secrets[0].scheme: 'Bearer x' is not an authorization scheme (one word such as Bearer)"});
    row("secret duplicate name",
        doc(R"("secrets": [{"name": "gh", "host": "a.com", "header": "A", "keychain": "a"}, {"name": "gh", "host": "b.com", "header": "B", "keychain": "b"}])"),
        {"secrets[1].name: 'gh' is already used by secrets[0]"});
    row("bad env name", doc(R"("environment": {"passThrough": ["1PATH"]})"),
        {"environment.passThrough[0]: '1PATH' is not an environment variable name"});
    row("reserved env name", doc(R"("environment": {"set": {"AIRLOCK_DEBUG": "1"}})"),
        {"environment.set.AIRLOCK_DEBUG: 'AIRLOCK_DEBUG' is reserved: Airlock sets AIRLOCK_* itself"});
    row("env value number", doc(R"("environment": {"set": {"CI": 1}})"), {"environment.set.CI: expected a string, got a number"});
    row("env set and passed", doc(R"("environment": {"passThrough": ["LANG"], "set": {"LANG": "C"}})"),
        {"environment.set.LANG: 'LANG' is also passed through from the host; keep one of the two"});
    row("negative memory", doc(R"("resources": {"memoryBytes": -1})"), {"resources.memoryBytes: must not be negative, got -1"});
    row("huge memory", doc(R"("resources": {"memoryBytes": 1e30})"),
        {"resources.memoryBytes: 1e+30 is out of range (at most 1099511627776)"});
    row("tiny memory", doc(R"("resources": {"memoryBytes": 1024})"),
        {"resources.memoryBytes: 1024 is out of range (16777216 to 1099511627776)"});
    row("zero cpus", doc(R"("resources": {"cpus": 0})"), {"resources.cpus: 0 is out of range (more than 0, at most 1024)"});
    row("pids as string", doc(R"("resources": {"pids": "100"})"), {"resources.pids: expected a whole number, got a string"});
    row("uid without gid", doc(R"("privileges": {"uid": 1000})"), {"privileges.gid: is required when uid is set"});
    row("capability with prefix", doc(R"("privileges": {"capAdd": ["CAP_SYS_ADMIN"]})"),
        {"privileges.capAdd[0]: 'CAP_SYS_ADMIN': write it without the CAP_ prefix, as 'SYS_ADMIN'"});
    row("unknown capability", doc(R"("privileges": {"capAdd": ["SUPERPOWER"]})"),
        {"privileges.capAdd[0]: 'SUPERPOWER' is not a Linux capability"});
    row("custom seccomp without profile", doc(R"("privileges": {"seccomp": "custom"})"),
        {"privileges.seccompProfile: is required when seccomp is 'custom'"});
    row("profile without custom", doc(R"("privileges": {"seccompProfile": "/etc/p.json"})"),
        {"privileges.seccompProfile: is only used when seccomp is 'custom'"});
    row("negative cost", doc(R"("guardrails": {"maxCostUsd": -1})"),
        {"guardrails.maxCostUsd: -1 is out of range (more than 0, at most 1000000)"});
    row("no idle time", doc(R"("guardrails": {"maxIdleSeconds": 0})"),
        {"guardrails.maxIdleSeconds: 0 is out of range (1 to 2592000)"});
    row("rule without decision", doc(R"("approvals": {"rules": [{"kind": "read"}]})"),
        {"approvals.rules[0].decision: is required"});
    row("rule bad kind", doc(R"("approvals": {"rules": [{"kind": "shell", "decision": "allow"}]})"),
        {"approvals.rules[0].kind: 'shell' is not one of any, read, edit, delete, move, search, execute, think, fetch, other"});
    row("rule bad double star", doc(R"("approvals": {"rules": [{"kind": "edit", "path": "src/**x", "decision": "ask"}]})"),
        {"approvals.rules[0].path: 'src/**x' is not a path glob: '**' must be a whole path segment"});
    row("rule unclosed class", doc(R"("approvals": {"rules": [{"kind": "edit", "path": "src/[ab", "decision": "ask"}]})"),
        {"approvals.rules[0].path: 'src/[ab' is not a path glob: '[' is never closed"});
    row("rule empty command", doc(R"("approvals": {"rules": [{"kind": "execute", "command": " ", "decision": "ask"}]})"),
        {"approvals.rules[0].command: a command pattern cannot be empty"});
    row("rule bad domain", doc(R"("approvals": {"rules": [{"kind": "fetch", "domain": "*", "decision": "ask"}, {"kind": "fetch", "domain": "-a.com", "decision": "ask"}]})"),
        {"approvals.rules[1].domain: '-a.com' is not a domain pattern: a label cannot start or end with '-'"});
    row("bad default decision", doc(R"("approvals": {"default": "maybe"})"),
        {"approvals.default: 'maybe' is not one of allow, ask, deny"});
}

void TestPolicyCodec::malformed()
{
    QFETCH(QByteArray, json);
    QFETCH(QStringList, expected);

    const auto decoded = decodePolicy(json);
    QVERIFY(!decoded);
    QCOMPARE(policytest::issueLines(decoded.error()), expected);

    // The Result form carries the same lines, with the validation error code.
    const auto parsed = parsePolicy(json);
    QVERIFY(!parsed);
    QCOMPARE(parsed.error().code, ErrorCode::InvalidArgument);
    QCOMPARE(parsed.error().message, expected.join(u'\n'));
}

void TestPolicyCodec::minimalDocumentIsTheDefault()
{
    POLICY_PARSE(minimal, doc(""));
    QCOMPARE(minimal, Policy{});
    QCOMPARE(minimal.filesystem.protectedPaths, defaultProtectedPaths());
    QCOMPARE(minimal.network.mode, NetworkMode::Proxy);
    QVERIFY(validatePolicy(Policy{}).isEmpty());
}

void TestPolicyCodec::roundTripFullPolicy()
{
    const Policy original = fullPolicy();
    QVERIFY2(validatePolicy(original).isEmpty(), qPrintable(formatIssues(validatePolicy(original))));
    const QByteArray text = serializePolicy(original);
    POLICY_PARSE(parsed, text);
    QCOMPARE(parsed, original);
    QCOMPARE(serializePolicy(parsed), text);

    // Changing any one section makes the values differ.
    Policy changed = original;
    changed.approvals.rules[1].path = QStringLiteral("src/**");
    QVERIFY(changed != original);
}

void TestPolicyCodec::roundTripNumbers_data()
{
    QTest::addColumn<double>("cpus");
    QTest::newRow("tenth") << 0.1;
    QTest::newRow("third") << 1.0 / 3.0;
    QTest::newRow("whole") << 2.0;
    QTest::newRow("max") << 1024.0;
    QTest::newRow("small") << 0.01;
}

void TestPolicyCodec::roundTripNumbers()
{
    QFETCH(double, cpus);
    Policy p;
    p.resources.cpus = cpus;
    p.guardrails.maxCostUsd = cpus * 7;
    POLICY_PARSE(parsed, serializePolicy(p));
    QCOMPARE(parsed.resources.cpus, std::optional<double>(cpus)); // bit for bit, not fuzzy
    QCOMPARE(parsed.guardrails.maxCostUsd, std::optional<double>(cpus * 7));
}

void TestPolicyCodec::canonicalTextIsStable()
{
    // Key order, indentation and spacing of the canonical form, spelled out once.
    Policy p;
    p.name = QStringLiteral("Tiny");
    p.network.allow = {QStringLiteral("example.com")};
    p.resources.pids = 64;
    p.approvals.rules = {{ToolKind::Read, std::nullopt, std::nullopt, std::nullopt, Verdict::Allow}};
    const QByteArray expected = R"({
  "schemaVersion": 1,
  "name": "Tiny",
  "description": "",
  "runtime": {
    "backend": "local",
    "dockerRuntime": "runc"
  },
  "placement": "agentInSandbox",
  "lifecycle": "ephemeral",
  "filesystem": {
    "workspace": "rw",
    "protectedPaths": [
      ".git/hooks",
      ".git/config",
      ".envrc",
      ".vscode",
      ".idea"
    ],
    "mounts": [],
    "deniedHostPaths": [],
    "readOnlyRoot": false,
    "tmpfs": []
  },
  "network": {
    "mode": "proxy",
    "allow": [
      "example.com"
    ],
    "deny": [],
    "allowIpLiterals": false,
    "hostPorts": []
  },
  "secrets": [],
  "environment": {
    "passThrough": [],
    "set": {}
  },
  "resources": {
    "pids": 64
  },
  "privileges": {
    "dropAllCapabilities": true,
    "capAdd": [],
    "noNewPrivileges": true,
    "seccomp": "default",
    "nestedUserNamespaces": false
  },
  "guardrails": {},
  "approvals": {
    "default": "ask",
    "rules": [
      {
        "kind": "read",
        "decision": "allow"
      }
    ]
  }
}
)";
    QCOMPARE(serializePolicy(p), expected);
    POLICY_PARSE(parsed, expected);
    QCOMPARE(serializePolicy(parsed), expected);

    // A non-canonical spelling of the same policy reads to the same value and writes canonically.
    POLICY_PARSE(loose, QByteArray(R"({"approvals":{"rules":[{"decision":"allow","kind":"read"}]},"resources":{"pids":6.4e1},
        "network":{"allow":["example.com"]},"name":"Tiny","schemaVersion":1})"));
    QCOMPARE(loose, p);
    QCOMPARE(serializePolicy(loose), expected);
}

void TestPolicyCodec::errorCollectsEveryIssue()
{
    const QByteArray json = doc(R"("name": 1, "network": {"mode": "wide", "allow": ["ok.com", "*."]},
        "resources": {"memoryBytes": -5, "cpu": 2}, "approvals": {"rules": [{"kind": "read"}]})");
    const auto parsed = parsePolicy(json);
    QVERIFY(!parsed);
    const QStringList lines = parsed.error().message.split(u'\n');
    const QStringList expected{
        "name: expected a string, got a number",
        "network.mode: 'wide' is not one of none, proxy, host",
        "network.allow[1]: '*.' is not a domain pattern",
        "resources.memoryBytes: must not be negative, got -5",
        "resources.cpu: unknown key (did you mean 'cpus'?)",
        "approvals.rules[0].decision: is required",
    };
    QCOMPARE(lines, expected);
}

void TestPolicyCodec::oversizedInput()
{
    // Valid JSON, just too big: refused before parsing, with the sizes in the message.
    QByteArray json = R"({"schemaVersion": 1, "description": ")";
    json += QByteArray(kMaxPolicyBytes, 'a');
    json += "\"}";
    const auto parsed = parsePolicy(json);
    QVERIFY(!parsed);
    QCOMPARE(parsed.error().message,
             QStringLiteral("the document is %1 bytes; a policy may be at most 1048576 bytes").arg(json.size()));

    // Deep nesting is refused by the JSON reader itself rather than overflowing the stack.
    const QByteArray deep = QByteArray(5000, '[') + QByteArray(5000, ']');
    const auto nested = parsePolicy(deep);
    QVERIFY(!nested);
    QVERIFY2(nested.error().message.startsWith(u"not valid JSON: "), qPrintable(nested.error().message));
}

void TestPolicyCodec::truncatedInputs()
{
    // Every prefix of a real document is either refused with a message or (the whole text) accepted.
    // (A prefix that lacks only the closing newline is the whole document.)
    const QByteArray full = serializePolicy(fullPolicy()).trimmed();
    for (qsizetype length = 0; length < full.size(); length += 7) {
        const auto parsed = parsePolicy(full.left(length));
        QVERIFY2(!parsed, qPrintable(QStringLiteral("prefix of %1 bytes was accepted").arg(length)));
        QVERIFY(!parsed.error().message.isEmpty());
    }
    QVERIFY(parsePolicy(full).has_value());
}

void TestPolicyCodec::migrationFromVersionZero()
{
    POLICY_PARSE(migrated, QByteArray(R"({"schemaVersion": 0, "name": "Old",
        "network": {"mode": "proxy", "allowlist": ["pypi.org"], "denylist": ["evil.example"]}})"));
    QCOMPARE(migrated.schemaVersion, kSchemaVersion);
    QCOMPARE(migrated.network.allow, QStringList{"pypi.org"});
    QCOMPARE(migrated.network.deny, QStringList{"evil.example"});
    // Written back, it is a current document.
    QVERIFY(serializePolicy(migrated).contains("\"schemaVersion\": 1,"));
    QVERIFY(serializePolicy(migrated).contains("\"allow\": ["));

    QCOMPARE(policyMigrations().size(), std::size_t(kSchemaVersion));
    QCOMPARE(policyMigrations().front().fromVersion, 0);
}

void TestPolicyCodec::migrationKeepsConflictsVisible()
{
    // Both spellings: the old key stays and is reported rather than silently dropped.
    const auto decoded = decodePolicy(R"({"schemaVersion": 0, "network": {"allow": ["a.com"], "allowlist": ["b.com"]}})");
    QVERIFY(!decoded);
    QCOMPARE(policytest::issueLines(decoded.error()), QStringList{"network.allowlist: unknown key"});
    // The old name is not accepted in a current document.
    const auto current = decodePolicy(doc(R"("network": {"allowlist": ["a.com"]})"));
    QVERIFY(!current);
}

void TestPolicyCodec::validateBuiltValue()
{
    Policy p;
    p.network.allow = {QStringLiteral("ok.com"), QStringLiteral("*.")};
    p.filesystem.mounts = {{QStringLiteral("/a"), QStringLiteral("/x"), Access::ReadOnly},
                           {QStringLiteral("/b"), QStringLiteral("/x"), Access::ReadOnly}};
    p.privileges.uid = 0;
    p.privileges.gid = 0;
    p.approvals.rules = {{ToolKind::Edit, std::nullopt, QStringLiteral("a/**b"), std::nullopt, Verdict::Ask}};
    QCOMPARE(policytest::issueLines(validatePolicy(p)),
             (QStringList{"filesystem.mounts[1].target: '/x' is already used by filesystem.mounts[0]",
                          "network.allow[1]: '*.' is not a domain pattern",
                          "approvals.rules[0].path: 'a/**b' is not a path glob: '**' must be a whole path segment"}));

    Policy old;
    old.schemaVersion = 0;
    QCOMPARE(validatePolicy(old).size(), 1);
    QCOMPARE(validatePolicy(old).first().path, QStringLiteral("schemaVersion"));
}

void TestPolicyCodec::hashIsStable()
{
    const Policy p = fullPolicy();
    const QString hash = policyHash(p);
    QCOMPARE(hash.size(), 64);
    QCOMPARE(policyHash(fullPolicy()), hash);
    Policy changed = p;
    changed.resources.pids = 257;
    QVERIFY(policyHash(changed) != hash);
    // Key order and whitespace of the input do not matter, only the value.
    POLICY_PARSE(compact, QJsonDocument::fromJson(serializePolicy(p)).toJson(QJsonDocument::Compact));
    QCOMPARE(policyHash(compact), hash);
}

void TestPolicyCodec::loadFile()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString good = dir.filePath(QStringLiteral("good.json"));
    const QString bad = dir.filePath(QStringLiteral("bad.json"));
    const QString big = dir.filePath(QStringLiteral("big.json"));
    for (const auto &[path, content] : {std::pair{good, serializePolicy(fullPolicy())},
                                        std::pair{bad, doc(R"("network": {"mode": "wide"})")},
                                        std::pair{big, QByteArray(3 * kMaxPolicyBytes, ' ')}}) {
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(content);
    }
    QCOMPARE(loadPolicyFile(good).value(), fullPolicy());

    const auto invalid = loadPolicyFile(bad);
    QVERIFY(!invalid);
    QCOMPARE(invalid.error().code, ErrorCode::InvalidArgument);
    QCOMPARE(invalid.error().message, QStringLiteral("bad.json: network.mode: 'wide' is not one of none, proxy, host"));

    const auto oversized = loadPolicyFile(big);
    QVERIFY(!oversized);
    QVERIFY(oversized.error().message.contains(QStringLiteral("at most 1048576 bytes")));

    const auto missing = loadPolicyFile(dir.filePath(QStringLiteral("none.json")));
    QVERIFY(!missing);
    QCOMPARE(missing.error().code, ErrorCode::NotFound);
}

void TestPolicyCodec::networkPortsAndClasses()
{
    Policy p;
    p.network.allow = {QStringLiteral("example.com:8443"), QStringLiteral("*.example.com:443,80"),
                       QStringLiteral("git.example.com:*")};
    p.network.allowAddressClasses = {QStringLiteral("private"), QStringLiteral("loopback")};
    QVERIFY2(validatePolicy(p).isEmpty(), qPrintable(formatIssues(validatePolicy(p))));
    const QByteArray text = serializePolicy(p);
    QVERIFY(text.contains("\"allowAddressClasses\""));
    POLICY_PARSE(parsed, text);
    QCOMPARE(parsed, p);
    // Left out when empty, so policies saved before the key existed keep their text and hash.
    QVERIFY(!serializePolicy(Policy{}).contains("allowAddressClasses"));
}

QTEST_GUILESS_MAIN(TestPolicyCodec)
#include "tst_policy_codec.moc"
