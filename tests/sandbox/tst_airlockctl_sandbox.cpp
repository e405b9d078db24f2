// airlockctl exec and airlockctl sandbox create|list|exec|stop|rm, run as a user or script would:
// output streamed, the command's status passed on, sandboxes outliving the command that made them,
// and the events they leave in the store.

#include "sandboxtestutil.h"

#include "policy/codec.h"
#include "store/storereader.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTest>

#include <csignal>

using namespace airlock;
using namespace airlock::sandbox::test;

namespace {

struct Ran
{
    int code = -1;
    QByteArray out;
    QByteArray err;
};

} // namespace

class TestAirlockctlSandbox : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void oneShot_data();
    void oneShot();
    void stdinWithInteractive();
    void interruptedExec_data();
    void interruptedExec();
    void usageErrors_data();
    void usageErrors();
    void lifecycle();
    void cleanupTestCase();

private:
    Ran ctl(const QStringList &args, const QByteArray &input = {});

    QTemporaryDir m_dir;
};

void TestAirlockctlSandbox::initTestCase()
{
    AIRLOCK_REQUIRE_BWRAP();
    QDir(m_dir.path()).mkpath(QStringLiteral("ws"));
    ::chmod(QFile::encodeName(m_dir.path()).constData(), 0755);
    policy::Policy tight = *policy::findPreset(u"standard");
    tight.name = QStringLiteral("tight");
    tight.privileges.uid = 1000;
    tight.privileges.gid = 1000;
    tight.filesystem.readOnlyRoot = true;
    tight.network.mode = policy::NetworkMode::None;
    QFile file(m_dir.filePath(QStringLiteral("tight.json")));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(policy::serializePolicy(tight));
}

void TestAirlockctlSandbox::cleanupTestCase()
{
    // A test that failed half-way may leave a persistent sandbox; it must not outlive the test.
    const QJsonArray left = QJsonDocument::fromJson(ctl({QStringLiteral("sandbox"), QStringLiteral("list"), QStringLiteral("--json")}).out).array();
    for (const QJsonValue &s : left)
        ctl({QStringLiteral("sandbox"), QStringLiteral("rm"), s.toObject().value(u"id").toString()});
}

Ran TestAirlockctlSandbox::ctl(const QStringList &args, const QByteArray &input)
{
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("AIRLOCK_RUNTIME_DIR"), m_dir.filePath(QStringLiteral("run")));
    env.insert(QStringLiteral("AIRLOCK_SHIM"), QStringLiteral(AIRLOCK_SHIM_PATH));
    // No Docker daemon for these runs, whatever this machine has: a Docker policy is refused the same way everywhere.
    env.insert(QStringLiteral("DOCKER_HOST"), QStringLiteral("unix://") + m_dir.filePath(QStringLiteral("no-docker.sock")));
    p.setProcessEnvironment(env);
    p.setWorkingDirectory(m_dir.filePath(QStringLiteral("ws")));
    p.start(QStringLiteral(AIRLOCKCTL_PATH), QStringList{QStringLiteral("--db"), m_dir.filePath(QStringLiteral("airlock.db"))} + args);
    if (!input.isNull()) {
        p.write(input);
        p.closeWriteChannel();
    }
    Ran r;
    if (!p.waitForFinished(60000)) {
        p.kill();
        p.waitForFinished();
        return r;
    }
    r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

void TestAirlockctlSandbox::oneShot_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<int>("code");
    QTest::addColumn<QByteArray>("out");
    QTest::addColumn<QByteArray>("err");
    const QString sh = QStringLiteral("sh");
    const QString c = QStringLiteral("-c");
    QTest::newRow("output and status") << QStringList{QStringLiteral("exec"), QStringLiteral("--"), sh, c, QStringLiteral("echo out; echo err >&2; exit 7")}
                                       << 7 << QByteArray("out\n") << QByteArray("err\n");
    // A policy file: the uid inside follows it, the root is read-only, there is no network at all.
    QTest::newRow("policy file and env") << QStringList{QStringLiteral("exec"), QStringLiteral("--policy"), m_dir.filePath(QStringLiteral("tight.json")),
                                                        QStringLiteral("--env"), QStringLiteral("GREETING=hi"), QStringLiteral("--"), sh, c,
                                                        QStringLiteral("echo $GREETING $HOME $(id -u); touch /usr/x 2>/dev/null || echo ro")}
                                         << 0 << QByteArray("hi /home/agent 1000\nro\n") << QByteArray();
    QTest::newRow("docker policy") << QStringList{QStringLiteral("exec"), QStringLiteral("--policy"), QStringLiteral("hardened"),
                                                  QStringLiteral("--"), QStringLiteral("true")}
                                   << 125 << QByteArray() << QByteArray("airlockctl: the policy runs on the docker backend, which cannot run here: ");
    QTest::newRow("killed by a signal") << QStringList{QStringLiteral("exec"), QStringLiteral("--"), sh, c, QStringLiteral("kill -9 $$")}
                                        << 137 << QByteArray() << QByteArray();
    QTest::newRow("timeout") << QStringList{QStringLiteral("exec"), QStringLiteral("--timeout"), QStringLiteral("0.3"), QStringLiteral("--"),
                                            QStringLiteral("sleep"), QStringLiteral("30")}
                             << 124 << QByteArray() << QByteArray("airlockctl: the command timed out\n");
    QTest::newRow("not found") << QStringList{QStringLiteral("exec"), QStringLiteral("--"), QStringLiteral("no-such-command")} << 127
                               << QByteArray() << QByteArray();
    QTest::newRow("workspace") << QStringList{QStringLiteral("exec"), QStringLiteral("--workspace"), m_dir.filePath(QStringLiteral("ws")),
                                              QStringLiteral("--"), QStringLiteral("pwd")}
                               << 0 << (QDir(m_dir.filePath(QStringLiteral("ws"))).canonicalPath() + u'\n').toUtf8() << QByteArray();
}

void TestAirlockctlSandbox::oneShot()
{
    QFETCH(QStringList, args);
    QFETCH(int, code);
    QFETCH(QByteArray, out);
    QFETCH(QByteArray, err);
    const Ran r = ctl(args);
    QCOMPARE(r.code, code);
    QCOMPARE(r.out, out);
    if (err.endsWith(": ")) // the rest says why, in the daemon's words
        QVERIFY2(r.err.startsWith(err), r.err.constData());
    else if (!err.isEmpty())
        QCOMPARE(r.err, err);
    if (code == 125)
        return; // nothing was made
    // One-shot sandboxes leave nothing behind.
    QVERIFY(QDir(m_dir.filePath(QStringLiteral("run/sandboxes"))).isEmpty());
}

void TestAirlockctlSandbox::stdinWithInteractive()
{
    QCOMPARE(ctl({QStringLiteral("exec"), QStringLiteral("-i"), QStringLiteral("--"), QStringLiteral("tr"), QStringLiteral("a-z"),
                  QStringLiteral("A-Z")},
                 "piped in\n")
                 .out,
             QByteArray("PIPED IN\n"));
    // Without -i the command sees an empty stdin rather than waiting for ours.
    QCOMPARE(ctl({QStringLiteral("exec"), QStringLiteral("--"), QStringLiteral("wc"), QStringLiteral("-c")}, "ignored").out,
             QByteArray("0\n"));
}

void TestAirlockctlSandbox::interruptedExec_data()
{
    QTest::addColumn<int>("signal");
    QTest::addColumn<int>("presses");
    QTest::newRow("SIGINT") << SIGINT << 1;
    QTest::newRow("SIGTERM") << SIGTERM << 1;
    // A command that ignores the first: the second stops waiting for it.
    QTest::newRow("SIGINT twice") << SIGINT << 2;
}

void TestAirlockctlSandbox::interruptedExec()
{
    // Ctrl-C or SIGTERM while a command runs: it is stopped, the sandbox removed, and the exit
    // status is 128 + the signal, as a shell reports it.
    QFETCH(int, signal);
    QFETCH(int, presses);
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("AIRLOCK_RUNTIME_DIR"), m_dir.filePath(QStringLiteral("run")));
    env.insert(QStringLiteral("AIRLOCK_SHIM"), QStringLiteral(AIRLOCK_SHIM_PATH));
    p.setProcessEnvironment(env);
    p.setWorkingDirectory(m_dir.filePath(QStringLiteral("ws")));
    const QString script = presses == 1 ? QStringLiteral("echo ready; exec sleep 600")
                                        : QStringLiteral("trap '' INT TERM; echo ready; while :; do sleep 1; done");
    p.start(QStringLiteral(AIRLOCKCTL_PATH), {QStringLiteral("--db"), m_dir.filePath(QStringLiteral("airlock.db")), QStringLiteral("exec"),
                                              QStringLiteral("--"), QStringLiteral("sh"), QStringLiteral("-c"), script});
    QVERIFY(p.waitForStarted());
    QByteArray out;
    QVERIFY2(QTest::qWaitFor([&] {
                 out += p.readAllStandardOutput();
                 return out.contains("ready") || p.state() == QProcess::NotRunning;
             }, 30000),
             p.readAllStandardError().constData());
    QVERIFY2(out.contains("ready"), p.readAllStandardError().constData());
    for (int i = 0; i < presses; ++i)
        ::kill(pid_t(p.processId()), signal);
    QVERIFY(p.waitForFinished(30000));
    QCOMPARE(p.exitStatus(), QProcess::NormalExit);
    QCOMPARE(p.exitCode(), 128 + signal);
    const QStringList left = QDir(m_dir.filePath(QStringLiteral("run/sandboxes"))).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    QVERIFY2(left.isEmpty(), qPrintable(left.join(u' ')));
}

void TestAirlockctlSandbox::usageErrors_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<int>("code");
    QTest::newRow("no command") << QStringList{QStringLiteral("exec")} << 2;
    QTest::newRow("bad timeout") << QStringList{QStringLiteral("exec"), QStringLiteral("--timeout"), QStringLiteral("soon"), QStringLiteral("--"), QStringLiteral("true")} << 2;
    QTest::newRow("bad env") << QStringList{QStringLiteral("exec"), QStringLiteral("--env"), QStringLiteral("NOEQUALS"), QStringLiteral("--"), QStringLiteral("true")} << 2;
    QTest::newRow("unknown policy") << QStringList{QStringLiteral("exec"), QStringLiteral("--policy"), QStringLiteral("no-such-policy"), QStringLiteral("--"), QStringLiteral("true")} << 1;
    QTest::newRow("missing workspace") << QStringList{QStringLiteral("exec"), QStringLiteral("--workspace"), QStringLiteral("/no/such/dir"), QStringLiteral("--"), QStringLiteral("true")} << 125;
    QTest::newRow("sandbox without verb") << QStringList{QStringLiteral("sandbox")} << 2;
    QTest::newRow("exec without name") << QStringList{QStringLiteral("sandbox"), QStringLiteral("exec")} << 2;
    QTest::newRow("rm unknown") << QStringList{QStringLiteral("sandbox"), QStringLiteral("rm"), QStringLiteral("ghost")} << 1;
}

void TestAirlockctlSandbox::usageErrors()
{
    QFETCH(QStringList, args);
    QFETCH(int, code);
    const Ran r = ctl(args);
    QCOMPARE(r.code, code);
    // The last line says what is wrong, on one line a script can show (a missing verb prints the usage first).
    const QList<QByteArray> lines = r.err.trimmed().split('\n');
    QVERIFY2(lines.last().startsWith("airlockctl: "), r.err.constData());
}

void TestAirlockctlSandbox::lifecycle()
{
    const Ran made = ctl({QStringLiteral("sandbox"), QStringLiteral("create"), QStringLiteral("--name"), QStringLiteral("dev"),
                          QStringLiteral("--json")});
    QCOMPARE(made.code, 0);
    const QJsonObject info = QJsonDocument::fromJson(made.out).object();
    QCOMPARE(info.value(u"id").toString(), QStringLiteral("dev"));
    QCOMPARE(info.value(u"lifecycle").toString(), QStringLiteral("persistent"));
    QVERIFY(!info.value(u"limits").toObject().value(u"mechanism").toString().isEmpty());

    // It outlived the command that made it; state is kept between execs.
    QCOMPARE(ctl({QStringLiteral("sandbox"), QStringLiteral("exec"), QStringLiteral("dev"), QStringLiteral("--"), QStringLiteral("sh"),
                  QStringLiteral("-c"), QStringLiteral("echo kept > /tmp/note")})
                 .code,
             0);
    const Ran read = ctl({QStringLiteral("sandbox"), QStringLiteral("exec"), QStringLiteral("dev"), QStringLiteral("--"), QStringLiteral("cat"),
                          QStringLiteral("/tmp/note")});
    QCOMPARE(read.out, QByteArray("kept\n"));
    QCOMPARE(ctl({QStringLiteral("sandbox"), QStringLiteral("exec"), QStringLiteral("dev"), QStringLiteral("--"), QStringLiteral("false")}).code, 1);

    const Ran listed = ctl({QStringLiteral("sandbox"), QStringLiteral("list"), QStringLiteral("--json")});
    const QJsonArray all = QJsonDocument::fromJson(listed.out).array();
    QCOMPARE(all.size(), 1);
    QCOMPARE(all.first().toObject().value(u"state").toString(), QStringLiteral("running"));
    QVERIFY(all.first().toObject().value(u"processes").toInt() >= 1);
    const Ran table = ctl({QStringLiteral("sandbox"), QStringLiteral("list")});
    QVERIFY(table.out.startsWith("NAME"));
    QVERIFY(table.out.contains("dev "));

    QCOMPARE(ctl({QStringLiteral("sandbox"), QStringLiteral("stop"), QStringLiteral("dev")}).code, 0);
    const QJsonArray stopped = QJsonDocument::fromJson(ctl({QStringLiteral("sandbox"), QStringLiteral("list"), QStringLiteral("--json")}).out).array();
    QCOMPARE(stopped.first().toObject().value(u"state").toString(), QStringLiteral("stopped"));
    QVERIFY(ctl({QStringLiteral("sandbox"), QStringLiteral("exec"), QStringLiteral("dev"), QStringLiteral("--"), QStringLiteral("true")}).code != 0);

    QCOMPARE(ctl({QStringLiteral("sandbox"), QStringLiteral("rm"), QStringLiteral("dev")}).code, 0);
    QCOMPARE(QJsonDocument::fromJson(ctl({QStringLiteral("sandbox"), QStringLiteral("list"), QStringLiteral("--json")}).out).array().size(), 0);
    QVERIFY(QDir(m_dir.filePath(QStringLiteral("run/sandboxes"))).isEmpty());

    auto reader = store::StoreReader::open(m_dir.filePath(QStringLiteral("airlock.db")));
    QVERIFY(reader);
    store::EventQuery q;
    q.limit = 10000;
    const auto events = reader->events(q);
    QVERIFY(events);
    int created = 0, destroyed = 0;
    for (const auto &e : *events) {
        if (e.payload.value(u"sandbox").toString() != u"dev")
            continue;
        created += e.kind == u"sandbox.created";
        destroyed += e.kind == u"sandbox.destroyed";
    }
    QCOMPARE(created, 1);
    QCOMPARE(destroyed, 1);
}

QTEST_GUILESS_MAIN(TestAirlockctlSandbox)
#include "tst_airlockctl_sandbox.moc"
