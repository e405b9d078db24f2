// The state file of local sandboxes and the private runtime folder: round trip, and the garbage a
// restarted Airlock might find instead (malformed, truncated, oversized, mistyped, links, others' files).

#include "sandbox/sandboxstate.h"

#include "policy/codec.h"
#include "policy/presets.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <sys/stat.h>
#include <unistd.h>

using namespace airlock;
using namespace airlock::sandbox;

namespace {

LocalSandboxState sample()
{
    LocalSandboxState s;
    s.id = QStringLiteral("sb-0123456789ab");
    s.policyName = QStringLiteral("standard");
    s.policy = *policy::findPreset(u"standard");
    s.policyHash = policy::policyHash(s.policy);
    s.workspace = QStringLiteral("/home/dev/project");
    s.sessionId = QStringLiteral("session-1");
    s.lifecycle = policy::Lifecycle::Persistent;
    s.state = SandboxState::Running;
    s.created = QDateTime::fromMSecsSinceEpoch(1700000000000, Qt::UTC);
    s.deadline = s.created.addSecs(7200);
    s.bwrapPid = 4242;
    s.bwrapStartTime = 987654;
    s.initPid = 4243;
    s.pidNamespace = 4026532181;
    s.ownerPid = 100;
    s.ownerStartTime = 5;
    s.uidMapping = QStringLiteral("1000 -> 1000");
    s.limits.mechanism = LimitMechanism::CgroupV1;
    s.limits.where = QStringLiteral("/sys/fs/cgroup/pids/airlock-sb-0123456789ab");
    s.limits.enforced = {QStringLiteral("processes 1024: cgroup v1 pids.max")};
    s.cgroup = CgroupPlacement{LimitMechanism::CgroupV1, {QStringLiteral("/sys/fs/cgroup/pids/airlock-sb-0123456789ab")}, {},
                               QStringLiteral("/sys/fs/cgroup/pids/airlock-sb-0123456789ab/cgroup.procs")};
    return s;
}

QByteArray mutated(void (*change)(QJsonObject &))
{
    QJsonObject o = QJsonDocument::fromJson(sample().toJson()).object();
    change(o);
    return QJsonDocument(o).toJson();
}

} // namespace

class TestSandboxState : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void roundTrip();
    void rejects_data();
    void rejects();
    void fileIsPrivateAndAtomic();
    void refusesLinksAndBigFiles();
    void privateDir();
};

void TestSandboxState::roundTrip()
{
    const LocalSandboxState s = sample();
    const Result<LocalSandboxState> back = LocalSandboxState::fromJson(s.toJson());
    QVERIFY2(back, back ? "" : qPrintable(back.error().message));
    QCOMPARE(back->id, s.id);
    QCOMPARE(back->policy, s.policy);
    QCOMPARE(back->policyHash, s.policyHash);
    QCOMPARE(back->lifecycle, s.lifecycle);
    QCOMPARE(back->state, s.state);
    QCOMPARE(back->created, s.created);
    QCOMPARE(back->deadline, s.deadline);
    QCOMPARE(back->bwrapPid, s.bwrapPid);
    QCOMPARE(back->bwrapStartTime, s.bwrapStartTime);
    QCOMPARE(back->pidNamespace, s.pidNamespace);
    QCOMPARE(back->limits, s.limits);
    QCOMPARE(back->cgroup.directories, s.cgroup.directories);
    QCOMPARE(back->uidMapping, s.uidMapping);
}

void TestSandboxState::rejects_data()
{
    QTest::addColumn<QByteArray>("json");
    const QByteArray good = sample().toJson();
    QTest::newRow("empty") << QByteArray();
    QTest::newRow("not json") << QByteArray("state: running");
    QTest::newRow("array") << QByteArray("[1, 2]");
    QTest::newRow("truncated") << good.left(good.size() / 2);
    QTest::newRow("oversized") << QByteArray(kMaxStateFileBytes + 1, ' ');
    QTest::newRow("missing id") << mutated([](QJsonObject &o) { o.remove(QStringLiteral("id")); });
    QTest::newRow("id with a slash") << mutated([](QJsonObject &o) { o[QStringLiteral("id")] = QStringLiteral("../x"); });
    QTest::newRow("pid as text") << mutated([](QJsonObject &o) { o[QStringLiteral("bwrapPid")] = QStringLiteral("4242"); });
    QTest::newRow("negative pid") << mutated([](QJsonObject &o) { o[QStringLiteral("bwrapPid")] = -1; });
    QTest::newRow("fractional pid") << mutated([](QJsonObject &o) { o[QStringLiteral("initPid")] = 1.5; });
    QTest::newRow("unknown state") << mutated([](QJsonObject &o) { o[QStringLiteral("state")] = QStringLiteral("dancing"); });
    QTest::newRow("newer version") << mutated([](QJsonObject &o) { o[QStringLiteral("version")] = 2; });
    QTest::newRow("relative workspace") << mutated([](QJsonObject &o) { o[QStringLiteral("workspace")] = QStringLiteral("ws"); });
    QTest::newRow("no creation time") << mutated([](QJsonObject &o) { o[QStringLiteral("created")] = 0; });
    QTest::newRow("broken policy") << mutated([](QJsonObject &o) {
        QJsonObject p = o.value(u"policy").toObject();
        p[QStringLiteral("lifecycle")] = QStringLiteral("forever");
        o[QStringLiteral("policy")] = p;
    });
}

void TestSandboxState::rejects()
{
    QFETCH(QByteArray, json);
    const Result<LocalSandboxState> s = LocalSandboxState::fromJson(json);
    QVERIFY(!s);
    QVERIFY(!s.error().message.isEmpty());
}

void TestSandboxState::fileIsPrivateAndAtomic()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("state.json"));
    QVERIFY(writeStateFile(path, sample()));
    QCOMPARE(QFileInfo(path).permissions() & (QFile::ReadGroup | QFile::ReadOther | QFile::WriteGroup | QFile::WriteOther),
             QFileDevice::Permissions());
    QVERIFY(!QFileInfo::exists(path + QStringLiteral(".tmp")));
    LocalSandboxState changed = sample();
    changed.state = SandboxState::Stopped;
    QVERIFY(writeStateFile(path, changed));
    QCOMPARE(readStateFile(path)->state, SandboxState::Stopped);
    QCOMPARE(readStateFile(dir.filePath(QStringLiteral("missing.json"))).error().code, ErrorCode::NotFound);
}

void TestSandboxState::refusesLinksAndBigFiles()
{
    QTemporaryDir dir;
    const QString real = dir.filePath(QStringLiteral("real.json"));
    QVERIFY(writeStateFile(real, sample()));
    const QString link = dir.filePath(QStringLiteral("link.json"));
    QVERIFY(QFile::link(real, link));
    QVERIFY(!readStateFile(link));
    const QString big = dir.filePath(QStringLiteral("big.json"));
    QFile f(big);
    QVERIFY(f.open(QIODevice::WriteOnly));
    QVERIFY(f.resize(kMaxStateFileBytes + 10));
    f.close();
    QVERIFY(!readStateFile(big));
    QVERIFY(!readStateFile(dir.path())); // a folder
}

void TestSandboxState::privateDir()
{
    QTemporaryDir dir;
    const QString made = dir.filePath(QStringLiteral("made"));
    QVERIFY(ensurePrivateDir(made));
    QCOMPARE(QFileInfo(made).permissions() & (QFile::ReadOther | QFile::ExeOther | QFile::ReadGroup), QFileDevice::Permissions());
    const QString open = dir.filePath(QStringLiteral("open"));
    QVERIFY(QDir().mkdir(open));
    ::chmod(QFile::encodeName(open).constData(), 0777);
    QVERIFY(ensurePrivateDir(open)); // tightened
    QCOMPARE(QFileInfo(open).permissions() & QFile::WriteOther, QFileDevice::Permissions());
    const QString link = dir.filePath(QStringLiteral("link"));
    QVERIFY(QFile::link(made, link));
    QVERIFY(!ensurePrivateDir(link));
    const QString file = dir.filePath(QStringLiteral("file"));
    QFile(file).open(QIODevice::WriteOnly);
    QVERIFY(!ensurePrivateDir(file));
    if (::geteuid() == 0) {
        const QString foreign = dir.filePath(QStringLiteral("foreign"));
        QVERIFY(QDir().mkdir(foreign));
        QVERIFY(::chown(QFile::encodeName(foreign).constData(), 65534, 65534) == 0);
        QVERIFY(!ensurePrivateDir(foreign));
    }
    qputenv("AIRLOCK_RUNTIME_DIR", QFile::encodeName(dir.filePath(QStringLiteral("runtime"))));
    if (::geteuid() == 0) {
        // As root the sandboxes run as another user, which must pass through every folder above.
        const Result<QString> closed = sandboxRuntimeRoot();
        QVERIFY(!closed);
        QVERIFY2(closed.error().message.contains(dir.path()) && closed.error().message.contains(QStringLiteral("0700")),
                 qPrintable(closed.error().message));
        QVERIFY(::chmod(QFile::encodeName(dir.path()).constData(), 0711) == 0);
    }
    const Result<QString> root = sandboxRuntimeRoot();
    QVERIFY2(root, root ? "" : qPrintable(root.error().message));
    QVERIFY(QFileInfo(*root + QStringLiteral("/sandboxes")).isDir());
    qunsetenv("AIRLOCK_RUNTIME_DIR");
}

QTEST_GUILESS_MAIN(TestSandboxState)
#include "tst_sandboxstate.moc"
