#include "policytestutil.h"

#include "policy/linter.h"
#include "policy/presets.h"

#include <QFile>
#include <QTest>

using namespace airlock::policy;

// Declared before the test data: moc does not understand raw string literals, and a "/**" inside one
// would otherwise hide the class from it.
class TestPolicyPresets : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void ladderOrder();
    void filesAreCanonical_data();
    void filesAreCanonical();
    void open();
    void standard();
    void hardened();
    void gvisorIsHardenedUnderRunsc();
    void ladderGetsQuieter();
    void lookup();
};

namespace {

// A machine on which every setting can be enforced, so only the policy's own risks show.
HostFacts capableHost()
{
    return {QStringLiteral("/home/dev"), QStringLiteral("/run/user/1000"), true, true, true, true, true};
}

QByteArray readFile(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

int seriousFindings(const Policy &policy)
{
    int count = 0;
    for (const Finding &f : lint(policy, capableHost()))
        count += f.severity == Severity::Info ? 0 : 1;
    return count;
}

bool hasFinding(const QList<Finding> &findings, const QString &id, Severity severity)
{
    return std::any_of(findings.cbegin(), findings.cend(),
                       [&](const Finding &f) { return f.id == id && f.severity == severity; });
}

} // namespace

void TestPolicyPresets::ladderOrder()
{
    QStringList ids;
    for (const Preset &preset : presets())
        ids << preset.id;
    QCOMPARE(ids, (QStringList{"open", "standard", "hardened", "gvisor"}));
    QStringList names;
    for (const Preset &preset : presets())
        names << preset.policy.name;
    QCOMPARE(names, (QStringList{"Open", "Standard local sandbox", "Hardened container", "gVisor container"}));
}

void TestPolicyPresets::filesAreCanonical_data()
{
    QTest::addColumn<QString>("id");
    for (const char *id : {"open", "standard", "hardened", "gvisor"})
        QTest::newRow(id) << QString::fromLatin1(id);
}

void TestPolicyPresets::filesAreCanonical()
{
    QFETCH(QString, id);
    const QByteArray embedded = readFile(QStringLiteral(":/policies/") + id + QStringLiteral(".json"));
    QVERIFY(!embedded.isEmpty());
    // The embedded copy is the file in the source tree, and the file is in canonical form, so editing a
    // preset through the codec produces a clean diff.
    QCOMPARE(embedded, readFile(QStringLiteral(AIRLOCK_TEST_SOURCE_DIR "/resources/policies/") + id + QStringLiteral(".json")));
    POLICY_PARSE(policy, embedded);
    QCOMPARE(serializePolicy(policy), embedded);
    QVERIFY(validatePolicy(policy).isEmpty());
    QVERIFY(!policy.description.isEmpty());
}

void TestPolicyPresets::open()
{
    const Policy p = *findPreset(u"open");
    QCOMPARE(p.runtime.backend, Backend::Local);
    QCOMPARE(p.network.mode, NetworkMode::Host);
    QCOMPARE(p.resources, Resources{});
    QCOMPARE(p.approvals.defaultDecision, Verdict::Allow);
    // "Warns loudly": the open network and unasked commands are both critical.
    const QList<Finding> findings = lint(p, capableHost());
    QVERIFY(hasFinding(findings, QStringLiteral("network.host"), Severity::Critical));
    QVERIFY(hasFinding(findings, QStringLiteral("approvals.execute-open-network"), Severity::Critical));
    QVERIFY(hasFinding(findings, QStringLiteral("resources.no-memory-limit"), Severity::Warning));
}

void TestPolicyPresets::standard()
{
    const Policy p = *findPreset(u"standard");
    QCOMPARE(p.runtime.backend, Backend::Local);
    QCOMPARE(p.filesystem.workspace, Access::ReadWrite);
    QCOMPARE(p.filesystem.protectedPaths, defaultProtectedPaths());
    QCOMPARE(p.network.mode, NetworkMode::Proxy);
    QVERIFY(p.network.allow.isEmpty());
    QVERIFY(p.resources.memoryBytes && p.resources.pids && p.resources.wallClockSeconds);
    QCOMPARE(p.approvals.defaultDecision, Verdict::Ask);
}

void TestPolicyPresets::hardened()
{
    const Policy p = *findPreset(u"hardened");
    QCOMPARE(p.runtime.backend, Backend::Docker);
    QCOMPARE(p.runtime.dockerRuntime, DockerRuntime::Runc);
    QVERIFY(!p.runtime.image.isEmpty());
    QVERIFY(p.privileges.dropAllCapabilities);
    QVERIFY(p.privileges.capAdd.isEmpty());
    QVERIFY(p.privileges.noNewPrivileges);
    QVERIFY(p.filesystem.readOnlyRoot);
    QCOMPARE(p.filesystem.workspace, Access::ReadOnly);
    QCOMPARE(p.filesystem.tmpfs.first(), (Tmpfs{QStringLiteral("/tmp"), 100 * 1024 * 1024, true}));
    QCOMPARE(p.network.mode, NetworkMode::None);
    QCOMPARE(p.resources.memoryBytes, std::optional<qint64>(qint64(2) << 30));
    QCOMPARE(p.resources.cpus, std::optional<double>(2.0));
    QCOMPARE(p.resources.pids, std::optional<qint64>(100));
    QCOMPARE(p.privileges.uid, std::optional<qint64>(1000));
    QCOMPARE(p.privileges.gid, std::optional<qint64>(1000));
}

void TestPolicyPresets::gvisorIsHardenedUnderRunsc()
{
    Policy gvisor = *findPreset(u"gvisor");
    const Policy hardened = *findPreset(u"hardened");
    QCOMPARE(gvisor.runtime.dockerRuntime, DockerRuntime::Runsc);
    gvisor.runtime.dockerRuntime = DockerRuntime::Runc;
    gvisor.name = hardened.name;
    gvisor.description = hardened.description;
    QCOMPARE(gvisor, hardened);
}

void TestPolicyPresets::ladderGetsQuieter()
{
    QList<int> counts;
    for (const Preset &preset : presets())
        counts << seriousFindings(preset.policy);
    QVERIFY2(counts.first() >= 4, "the open preset should draw several warnings");
    for (qsizetype i = 1; i < counts.size(); ++i)
        QCOMPARE(counts.at(i), 0);
}

void TestPolicyPresets::lookup()
{
    QVERIFY(findPreset(u"standard").has_value());
    QCOMPARE(findPreset(u"standard")->name, QStringLiteral("Standard local sandbox"));
    QVERIFY(!findPreset(u"Standard").has_value());
    QVERIFY(!findPreset(u"nope").has_value());
}

QTEST_GUILESS_MAIN(TestPolicyPresets)
#include "tst_policy_presets.moc"
