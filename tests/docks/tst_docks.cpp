// The Sandboxes, Egress and Checkpoints docks, driven through their widgets against real components.
#include "docktestutil.h"
#include "sandbox/sandboxtestutil.h"

#include "checkpointspanel.h"
#include "diffview.h"
#include "egress/egressproxy.h"
#include "egress/egressrecord.h"
#include "egressmodel.h"
#include "egresspanel.h"
#include "execconsole.h"
#include "forkdialog.h"
#include "policy/policylibrary.h"
#include "sandbox/localbackend.h"
#include "sandbox/sandboxmanager.h"
#include "sandboxesmodel.h"
#include "newsandboxdialog.h"
#include "sandboxespanel.h"
#include "store/eventstore.h"
#include "store/storereader.h"
#include "theme.h"
#include "workspace/checkpointer.h"

#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QDateTime>
#include <QDialogButtonBox>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QStackedWidget>
#include <QStandardPaths>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTreeWidget>

#include <sys/stat.h>

using namespace airlock;
using namespace airlock::ui;

namespace {

bool writeFile(const QString &path, const QByteArray &bytes)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size();
}

QByteArray readFile(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// A store file with sessions in it, as the window would have.
struct StoreBench {
    QTemporaryDir dir;
    QString db;
    std::unique_ptr<store::EventStore> store;

    StoreBench()
    {
        QDir().mkpath(dir.filePath(QStringLiteral("data")));
        db = dir.filePath(QStringLiteral("data/airlock.db"));
        if (auto s = store::EventStore::open(db))
            store = std::move(*s);
    }
    bool addSession(const QString &id, const QString &workspace = {})
    {
        const QJsonObject payload{{QStringLiteral("title"), QStringLiteral("Session %1").arg(id)},
                                  {QStringLiteral("agent"), QStringLiteral("demo")},
                                  {QStringLiteral("policy"), QStringLiteral("standard")},
                                  {QStringLiteral("workspace"), workspace.isEmpty() ? dir.path() : workspace}};
        return store->append(id, QStringLiteral("session.created"), payload) && store->flush();
    }
    QList<store::Event> events(const QString &session, const QString &kind)
    {
        QList<store::Event> out;
        auto reader = store::StoreReader::open(db);
        if (!reader)
            return out;
        store::EventQuery q;
        q.session = session;
        q.limit = 10000;
        for (const store::Event &e : reader->events(q).value_or(QList<store::Event>()))
            if (e.kind == kind)
                out.append(e);
        return out;
    }
};

egress::EgressRecord record(const QString &session, const QString &method, const QString &host, quint16 port,
                            egress::Verdict decision, const QString &rule, int status, qint64 up, qint64 down)
{
    static quint64 id = 0;
    egress::EgressRecord r;
    r.id = ++id;
    r.session = session;
    r.method = method;
    r.host = host;
    r.port = port;
    r.route = method == QLatin1String("CONNECT") ? egress::Route::Connect : egress::Route::Http;
    r.decision = decision;
    r.rule = rule;
    r.reason = decision == egress::Verdict::Allow ? QStringLiteral("the policy allows %1").arg(host)
                                                  : QStringLiteral("%1 is not on the allow list").arg(host);
    r.status = status;
    r.bytesUp = up;
    r.bytesDown = down;
    r.started = QDateTime::currentMSecsSinceEpoch() - 5000 + qint64(id) * 100;
    r.durationMs = decision == egress::Verdict::Allow ? 180 + qint64(id) * 7 : 0;
    return r;
}

// A folder with ws/ and run/ for a local backend's sandboxes, and the backend's options for it.
sandbox::LocalBackendOptions localSandboxes(const QTemporaryDir &dir)
{
    QDir(dir.path()).mkpath(QStringLiteral("ws"));
    QDir(dir.path()).mkpath(QStringLiteral("run"));
    ::chmod(QFile::encodeName(dir.path()).constData(), 0711); // a root launcher's sandbox user passes through
    sandbox::LocalBackendOptions options;
    options.runtimeRoot = dir.filePath(QStringLiteral("run"));
#ifdef AIRLOCK_SHIM_PATH
    options.shim = QStringLiteral(AIRLOCK_SHIM_PATH);
#endif
    return options;
}

} // namespace

class TestDocks : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void sandboxes();
    void newSandboxFromTheDock();
    void egressLog();
    void egressActions();
    void checkpoints();
};

void TestDocks::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    applyTheme(Theme::Light);
}

// A real bubblewrap sandbox through SandboxManager: its row, the console, Ctrl+C, Stop and Destroy.
void TestDocks::sandboxes()
{
    AIRLOCK_REQUIRE_BWRAP();
    QTemporaryDir dir;
    const sandbox::LocalBackendOptions options = localSandboxes(dir);
    sandbox::SandboxManager manager;
    manager.setRefreshInterval(500);
    manager.addBackend(new sandbox::LocalBackend(options));

    SandboxesPanel panel(&manager);
    QAbstractItemModelTester tester(panel.model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    panel.resize(1100, 560);
    panel.show();
    panel.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&panel));
    auto *stack = panel.findChild<QStackedWidget *>();
    auto *empty = panel.findChild<QLabel *>(QStringLiteral("sandboxesEmpty"));
    QVERIFY(stack && empty);
    QCOMPARE(stack->currentWidget(), empty);
    QVERIFY(!panel.accessibleDescription().isEmpty());

    sandbox::SandboxSpec spec;
    spec.policy = sandbox::test::testPolicy();
    spec.policyName = QStringLiteral("standard");
    spec.workspace = QDir(dir.filePath(QStringLiteral("ws"))).canonicalPath();
    spec.sessionId = QStringLiteral("demo-1");
    Result<sandbox::Sandbox *> made = manager.create(spec);
    QVERIFY2(made, made ? "" : qPrintable(made.error().message));
    const QString id = (*made)->id();
    QTRY_COMPARE(panel.model()->rowCount(), 1);
    QCOMPARE(stack->currentWidget(), panel.view());
    QTRY_COMPARE_WITH_TIMEOUT(panel.model()->data(panel.model()->index(0, SandboxesModel::State)).toString(),
                              QStringLiteral("running"), 15000);
    const auto cell = [&](int column) { return panel.model()->data(panel.model()->index(0, column)).toString(); };
    QCOMPARE(cell(SandboxesModel::Backend), QStringLiteral("local"));
    QVERIFY(cell(SandboxesModel::Name).contains(QStringLiteral("demo-1")));
    QCOMPARE(cell(SandboxesModel::Policy), QStringLiteral("standard"));
    QCOMPARE(cell(SandboxesModel::Lifecycle), QStringLiteral("ephemeral"));
    QCOMPARE(cell(SandboxesModel::Limits), sandbox::mechanismName((*made)->info().limits.mechanism));
    QCOMPARE(panel.selectedId(), id);

    // Output streams in; the exit status ends it.
    ExecConsole *console = panel.console();
    auto *run = panel.findChild<QPushButton *>(QStringLiteral("execRun"));
    QTRY_VERIFY(run->isEnabled());
    console->commandLine()->setFocus();
    QTest::keyClicks(console->commandLine(), QStringLiteral("sh -c 'echo hello from the sandbox; echo oops >&2; exit 3'"));
    QSignalSpy finished(console, &ExecConsole::commandFinished);
    QTest::keyClick(console->commandLine(), Qt::Key_Return);
    QVERIFY(finished.wait(15000));
    QVERIFY(console->output()->toPlainText().contains(QStringLiteral("hello from the sandbox")));
    QVERIFY(console->output()->toPlainText().contains(QStringLiteral("oops")));
    QVERIFY2(console->output()->toPlainText().contains(QStringLiteral("exited with status 3")), qPrintable(console->output()->toPlainText()));

    // Quotes as in a shell; an unterminated one is refused before anything runs.
    console->commandLine()->clear();
    QTest::keyClicks(console->commandLine(), QStringLiteral("printf \"%s|%s\\n\" 'a b' c\\ d"));
    QTest::keyClick(console->commandLine(), Qt::Key_Return);
    QVERIFY(finished.wait(15000));
    QVERIFY2(console->output()->toPlainText().contains(QStringLiteral("a b|c d")), qPrintable(console->output()->toPlainText()));
    console->commandLine()->clear();
    QTest::keyClicks(console->commandLine(), QStringLiteral("echo 'oops"));
    QTest::keyClick(console->commandLine(), Qt::Key_Return);
    auto *execError = panel.findChild<QLabel *>(QStringLiteral("execError"));
    QVERIFY(execError->isVisible() && execError->text().contains(QStringLiteral("quote")));

    // Ctrl+C in the command line kills a running command.
    console->commandLine()->clear();
    QTest::keyClicks(console->commandLine(), QStringLiteral("sleep 60"));
    QTest::keyClick(console->commandLine(), Qt::Key_Return);
    auto *stopCommand = panel.findChild<QPushButton *>(QStringLiteral("execStop"));
    QTRY_VERIFY(stopCommand->isEnabled());
    QTest::keyClick(console->commandLine(), Qt::Key_C, Qt::ControlModifier);
    QVERIFY(finished.wait(15000));
    QVERIFY2(console->output()->toPlainText().contains(QStringLiteral("killed by SIG")), qPrintable(console->output()->toPlainText()));
    QVERIFY(!stopCommand->isEnabled());

    console->commandLine()->clear();
    QTest::keyClicks(console->commandLine(), QStringLiteral("ls -la /"));
    QTest::keyClick(console->commandLine(), Qt::Key_Return);
    QVERIFY(finished.wait(15000));
    QTRY_VERIFY(!cell(SandboxesModel::Uptime).isEmpty());
    QVERIFY(airlock::test::saveScreenshot(&panel, QStringLiteral("sandboxes-dock.png")));

    // Stop keeps the row; Delete asks, then destroys it.
    auto *stop = panel.findChild<QPushButton *>(QStringLiteral("sandboxStop"));
    QVERIFY(stop->isEnabled());
    QTest::mouseClick(stop, Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(cell(SandboxesModel::State).section(u':', 0, 0), QStringLiteral("stopped"), 15000);
    QVERIFY(!run->isEnabled());
    // Return still tries, and says plainly why nothing ran.
    console->commandLine()->clear();
    QTest::keyClicks(console->commandLine(), QStringLiteral("true"));
    QTest::keyClick(console->commandLine(), Qt::Key_Return);
    QVERIFY(execError->isVisible());
    QVERIFY2(execError->text().startsWith(QStringLiteral("Could not run the command in ") + id), qPrintable(execError->text()));

    bool asked = false;
    airlock::test::whenModal([&](QWidget *box) {
        asked = true;
        auto *yes = box->findChild<QPushButton *>(QStringLiteral("confirmDestroy"));
        QVERIFY(yes);
        yes->click();
    });
    panel.view()->setFocus();
    QTest::keyClick(panel.view(), Qt::Key_Delete);
    QVERIFY(asked);
    QTRY_COMPARE_WITH_TIMEOUT(panel.model()->rowCount(), 0, 15000);
    QCOMPARE(stack->currentWidget(), empty);
    QVERIFY(!QDir(dir.filePath(QStringLiteral("run/sandboxes/")) + id).exists());
}

// History, live following, filters and the bound.
// New… in the Sandboxes dock: a wrong folder is said in the dialog (nothing typed is lost), then the
// sandbox is made from the chosen policy, selected, and runs a command from the console.
void TestDocks::newSandboxFromTheDock()
{
    AIRLOCK_REQUIRE_BWRAP();
    QTemporaryDir dir;
    const sandbox::LocalBackendOptions options = localSandboxes(dir);
    sandbox::SandboxManager manager;
    manager.addBackend(new sandbox::LocalBackend(options));
    SandboxesPanel panel(&manager);
    panel.setPolicySource([] {
        policy::PolicyEntry e;
        e.name = QStringLiteral("standard");
        e.policy = sandbox::test::testPolicy();
        return QList<policy::PolicyEntry>{e};
    });
    panel.resize(1000, 500);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));

    QTest::mouseClick(panel.findChild<QPushButton *>(QStringLiteral("sandboxNew")), Qt::LeftButton);
    NewSandboxDialog *dialog = panel.newSandboxDialog();
    QVERIFY(dialog);
    QTRY_VERIFY(dialog->isVisible());
    auto *folder = dialog->findChild<QLineEdit *>(QStringLiteral("newSandboxWorkspace"));
    auto *create = dialog->findChild<QPushButton *>(QStringLiteral("newSandboxCreate"));
    auto *error = dialog->findChild<QLabel *>(QStringLiteral("newSandboxError"));
    QVERIFY(folder && create && error);
    folder->setText(dir.filePath(QStringLiteral("missing")));
    QTest::mouseClick(create, Qt::LeftButton);
    QVERIFY(dialog->isVisible());
    QVERIFY(error->isVisible());
    QVERIFY2(error->text().contains(QLatin1String("does not exist")), qPrintable(error->text()));
    QCOMPARE(folder->text(), dir.filePath(QStringLiteral("missing")));
    QVERIFY(QDir().mkpath(QStringLiteral(AIRLOCK_SCREENSHOT_DIR)));
    QVERIFY(dialog->grab().save(QDir(QStringLiteral(AIRLOCK_SCREENSHOT_DIR)).filePath(QStringLiteral("new-sandbox.png"))));

    const QString ws = QDir(dir.filePath(QStringLiteral("ws"))).canonicalPath();
    folder->setText(ws);
    QTest::mouseClick(create, Qt::LeftButton);
    QTRY_VERIFY(!panel.newSandboxDialog());
    QCOMPARE(manager.sandboxes().size(), 1);
    const sandbox::SandboxInfo info = manager.sandboxes().first();
    QCOMPARE(info.workspace, ws);
    QCOMPARE(info.policyName, QStringLiteral("standard"));
    QCOMPARE(info.lifecycle, policy::Lifecycle::Persistent);
    QCOMPARE(panel.selectedId(), info.id);
    QTRY_VERIFY_WITH_TIMEOUT(manager.info(info.id)->state == sandbox::SandboxState::Running, 15000);
    QVERIFY(manager.destroy(info.id));
    QTRY_COMPARE_WITH_TIMEOUT(manager.sandboxes().size(), 0, 15000);
}

void TestDocks::egressLog()
{
    StoreBench bench;
    QVERIFY(bench.store);
    QVERIFY(bench.addSession(QStringLiteral("s1")));
    QVERIFY(bench.addSession(QStringLiteral("s2")));
    using egress::Verdict;
    const QString kind = QString::fromLatin1(egress::kinds::Connection);
    const QList<egress::EgressRecord> past = {
        record(QStringLiteral("s1"), QStringLiteral("CONNECT"), QStringLiteral("api.github.com"), 443, Verdict::Allow,
               QStringLiteral("policy allow api.github.com"), 200, 2300, 48000),
        record(QStringLiteral("s1"), QStringLiteral("GET"), QStringLiteral("pypi.org"), 80, Verdict::Allow,
               QStringLiteral("policy allow pypi.org"), 301, 410, 920),
        record(QStringLiteral("s1"), QStringLiteral("CONNECT"), QStringLiteral("evil.example.com"), 443, Verdict::Deny,
               QStringLiteral("default deny"), 403, 0, 0),
        record(QStringLiteral("s2"), QStringLiteral("CONNECT"), QStringLiteral("registry.npmjs.org"), 443, Verdict::Allow,
               QStringLiteral("policy allow *.npmjs.org"), 200, 5100, 1250000),
    };
    for (const auto &r : past)
        QVERIFY(bench.store->append(r.session, kind, r.toJson()));
    QVERIFY(bench.store->append(QStringLiteral("s1"), QStringLiteral("message.user"), {{QStringLiteral("text"), QStringLiteral("hi")}}));
    QVERIFY(bench.store->flush());

    EgressPanel panel(bench.db, bench.store.get());
    QAbstractItemModelTester tester(panel.model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    QAbstractItemModelTester filterTester(panel.filter(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    panel.resize(1150, 380);
    panel.show();
    panel.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&panel));
    QTRY_COMPARE(panel.model()->rowCount(), 4);
    QCOMPARE(panel.model()->data(panel.model()->index(2, EgressModel::Host)).toString(), QStringLiteral("evil.example.com:443"));
    QCOMPARE(panel.model()->data(panel.model()->index(2, EgressModel::Decision)).toString(), QStringLiteral("deny"));

    // New events follow without a reload.
    const auto later = record(QStringLiteral("s2"), QStringLiteral("CONNECT"), QStringLiteral("tracker.example.net"), 443,
                              Verdict::Deny, QStringLiteral("default deny"), 403, 0, 0);
    QVERIFY(bench.store->append(later.session, kind, later.toJson()));
    QTRY_COMPARE(panel.model()->rowCount(), 5);

    auto *session = panel.findChild<QComboBox *>(QStringLiteral("egressSessionFilter"));
    auto *host = panel.findChild<QLineEdit *>(QStringLiteral("egressHostFilter"));
    auto *decision = panel.findChild<QComboBox *>(QStringLiteral("egressDecisionFilter"));
    QVERIFY(session && host && decision);
    QCOMPARE(session->count(), 3); // all, s1, s2
    session->setCurrentIndex(session->findData(QStringLiteral("s2")));
    QCOMPARE(panel.filter()->rowCount(), 2);
    decision->setCurrentIndex(decision->findData(QStringLiteral("deny")));
    QCOMPARE(panel.filter()->rowCount(), 1);
    session->setCurrentIndex(0);
    QCOMPARE(panel.filter()->rowCount(), 2);
    QTest::keyClicks(host, QStringLiteral("EVIL"));
    QCOMPARE(panel.filter()->rowCount(), 1);
    QTest::keyClicks(host, QStringLiteral("-nothing"));
    QCOMPARE(panel.filter()->rowCount(), 0);
    QVERIFY(panel.findChild<QLabel *>(QStringLiteral("egressEmpty"))->isVisible());
    host->clear();
    decision->setCurrentIndex(0);
    QCOMPARE(panel.filter()->rowCount(), 5);
    panel.view()->selectRow(2);
    QVERIFY(airlock::test::saveScreenshot(&panel, QStringLiteral("egress-dock.png")));

    // Bounded: the oldest rows leave.
    panel.model()->setCapacity(3);
    QCOMPARE(panel.model()->rowCount(), 3);
    for (int i = 0; i < 4; ++i) {
        const auto r = record(QStringLiteral("s1"), QStringLiteral("GET"), QStringLiteral("h%1.example.org").arg(i), 80,
                              Verdict::Allow, QStringLiteral("policy allow *.example.org"), 200, 10, 10);
        QVERIFY(bench.store->append(r.session, kind, r.toJson()));
    }
    QTRY_COMPARE(panel.model()->data(panel.model()->index(2, EgressModel::Host)).toString(), QStringLiteral("h3.example.org:80"));
    QCOMPARE(panel.model()->rowCount(), 3);
}

// "Allow for this session" reaches a proxy through the store alone, as from another process, and
// "Allow always" saves a policy version.
void TestDocks::egressActions()
{
    StoreBench bench;
    QVERIFY(bench.store);
    QVERIFY(bench.addSession(QStringLiteral("s1")));
    QVERIFY(bench.addSession(QStringLiteral("s2")));
    egress::ProxyOptions options;
    options.store = bench.store.get();
    egress::EgressProxy proxy(options);
    const policy::Policy standard = *policy::findPreset(u"standard");
    QVERIFY(proxy.addSandbox({QStringLiteral("s1"), bench.dir.filePath(QStringLiteral("s1.sock")), standard}));
    auto before = proxy.decide(QStringLiteral("s1"), QStringLiteral("evil.example.com"), 443);
    QVERIFY(before && !before->allowed());

    using egress::Verdict;
    const QString kind = QString::fromLatin1(egress::kinds::Connection);
    const auto ok = record(QStringLiteral("s1"), QStringLiteral("GET"), QStringLiteral("pypi.org"), 80, Verdict::Allow,
                           QStringLiteral("policy allow pypi.org"), 200, 100, 100);
    const auto denied = record(QStringLiteral("s1"), QStringLiteral("CONNECT"), QStringLiteral("evil.example.com"), 443,
                               Verdict::Deny, before->rule, 403, 0, 0);
    const auto denied2 = record(QStringLiteral("s2"), QStringLiteral("CONNECT"), QStringLiteral("docs.example.dev"), 443,
                                Verdict::Deny, QStringLiteral("default deny"), 403, 0, 0);
    for (const auto &r : {ok, denied, denied2})
        QVERIFY(bench.store->append(r.session, kind, r.toJson()));
    QVERIFY(bench.store->flush());

    EgressPanel panel(bench.db, bench.store.get()); // no proxy: the store carries the rule
    panel.resize(1000, 360);
    panel.show();
    panel.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&panel));
    QTRY_COMPARE(panel.model()->rowCount(), 3);
    auto *allowSession = panel.findChild<QPushButton *>(QStringLiteral("egressAllowSession"));
    auto *allowAlways = panel.findChild<QPushButton *>(QStringLiteral("egressAllowAlways"));
    panel.view()->selectRow(0);
    QVERIFY(!allowSession->isEnabled()); // allowed rows offer nothing
    panel.view()->selectRow(1);
    QVERIFY(allowSession->isEnabled() && allowAlways->isEnabled());

    // From the keyboard: A on the log.
    panel.view()->setFocus();
    QTest::keyClick(panel.view(), Qt::Key_A);
    QTRY_COMPARE(bench.events(QStringLiteral("s1"), QString::fromLatin1(egress::kinds::Rule)).size(), 1);
    const auto rule = egress::RuntimeRule::fromEvent(bench.events(QStringLiteral("s1"), QString::fromLatin1(egress::kinds::Rule)).first());
    QVERIFY(rule);
    QCOMPARE(rule->pattern, QStringLiteral("evil.example.com"));
    QCOMPARE(rule->origin, QStringLiteral("gui"));
    QTRY_VERIFY_WITH_TIMEOUT(proxy.decide(QStringLiteral("s1"), QStringLiteral("evil.example.com"), 443)->allowed(), 5000);
    QVERIFY(!panel.findChild<QLabel *>(QStringLiteral("egressError"))->isVisible());

    // Allow always: a new version of the session's policy with the host on its allow list.
    panel.view()->selectRow(2);
    QSignalSpy saved(&panel, &EgressPanel::policySaved);
    QTest::mouseClick(allowAlways, Qt::LeftButton);
    QCOMPARE(saved.size(), 1);
    QCOMPARE(saved.first().at(0).toString(), QStringLiteral("standard"));
    auto reader = store::StoreReader::open(bench.db);
    QVERIFY(reader);
    auto entry = policy::findPolicy(*reader, QStringLiteral("standard"));
    QVERIFY(entry);
    QCOMPARE(entry->version, saved.first().at(1).toInt());
    QVERIFY(entry->policy.network.allow.contains(QStringLiteral("docs.example.dev")));
    QTRY_COMPARE(bench.events(QStringLiteral("s2"), QString::fromLatin1(egress::kinds::Rule)).size(), 1);
    QVERIFY(panel.findChild<QLabel *>(QStringLiteral("egressStatus"))->text().contains(QStringLiteral("version")));

    // A host the policy itself denies cannot be allowed for a session; the panel says so.
    const auto policyDenied = record(QStringLiteral("s1"), QStringLiteral("CONNECT"), QStringLiteral("blocked.example.com"), 443,
                                     Verdict::Deny, QStringLiteral("policy deny blocked.example.com"), 403, 0, 0);
    QVERIFY(bench.store->append(policyDenied.session, kind, policyDenied.toJson()));
    QTRY_COMPARE(panel.model()->rowCount(), 4);
    panel.view()->selectRow(3);
    QTest::mouseClick(allowSession, Qt::LeftButton);
    auto *error = panel.findChild<QLabel *>(QStringLiteral("egressError"));
    QVERIFY(error->isVisible());
    QVERIFY(error->text().contains(QStringLiteral("policy denies blocked.example.com")));
    QCOMPARE(bench.events(QStringLiteral("s1"), QString::fromLatin1(egress::kinds::Rule)).size(), 1);
}

// A real workspace: Checkpoint Now, a checkpoint from elsewhere arriving live, diffs, rewind, fork.
void TestDocks::checkpoints()
{
    StoreBench bench;
    QVERIFY(bench.store);
    const QString ws = bench.dir.filePath(QStringLiteral("ws"));
    QVERIFY(writeFile(ws + QStringLiteral("/README.md"), "# Demo\n\nA small project.\n"));
    QVERIFY(writeFile(ws + QStringLiteral("/src/main.py"), "def main():\n    print('hello')\n\nmain()\n"));
    QVERIFY(bench.addSession(QStringLiteral("s1"), ws));

    CheckpointsPanel panel(bench.db, bench.store.get());
    panel.resize(760, 720);
    panel.show();
    panel.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&panel));
    auto *empty = panel.findChild<QLabel *>(QStringLiteral("checkpointsEmpty"));
    QVERIFY(empty->isVisible());
    QSignalSpy loaded(&panel, &CheckpointsPanel::historyLoaded);
    panel.setSession(QStringLiteral("s1"));
    QVERIFY(loaded.wait(10000));
    QVERIFY(empty->isVisible());
    QVERIFY(empty->text().contains(QStringLiteral("no checkpoints yet")));

    QSignalSpy actions(&panel, &CheckpointsPanel::actionFinished);
    QTest::mouseClick(panel.findChild<QPushButton *>(QStringLiteral("checkpointNow")), Qt::LeftButton);
    QVERIFY(actions.wait(20000));
    QVERIFY2(actions.last().at(0).toBool(), qPrintable(actions.last().at(1).toString()));
    QTRY_COMPARE(panel.tree().nodes.size(), 1);
    QVERIFY(!empty->isVisible());
    const QString first = panel.tree().nodes.first().checkpoint.commit;

    // The agent changes files and the session checkpoints them (another writer of the store).
    QVERIFY(writeFile(ws + QStringLiteral("/src/main.py"),
                      "import sys\n\ndef main(argv):\n    print('hello', argv)\n\nmain(sys.argv)\n"));
    QVERIFY(writeFile(ws + QStringLiteral("/src/util.py"), "def add(a, b):\n    return a + b\n"));
    QVERIFY(QFile::remove(ws + QStringLiteral("/README.md")));
    workspace::Checkpointer other(*bench.store);
    workspace::CheckpointRequest turn(QStringLiteral("s1"), workspace::Cause::Turn);
    turn.turn = 1;
    auto made = other.create(turn);
    QVERIFY2(made && made->created, made ? "" : qPrintable(made.error().message));
    QTRY_COMPARE_WITH_TIMEOUT(panel.tree().nodes.size(), 2, 10000);
    QCOMPARE(panel.selectedCommit(), made->checkpoint.commit); // the newest is shown

    DiffView *diff = panel.diffView();
    QTRY_COMPARE(diff->fileCount(), 3);
    QVERIFY(diff->fileList()->topLevelItem(0)->text(0).contains(QStringLiteral("README.md")));
    diff->fileList()->setCurrentItem(diff->fileList()->topLevelItem(1));
    QVERIFY(diff->patchView()->toPlainText().contains(QStringLiteral("+import sys")));
    QVERIFY(diff->patchView()->toPlainText().contains(QStringLiteral("-def main():")));
    QVERIFY(panel.historyView()->topLevelItem(1)->text(2).contains(QStringLiteral("3 files")));
    QVERIFY(airlock::test::saveScreenshot(&panel, QStringLiteral("checkpoints-dock.png")));
    applyTheme(Theme::Dark);
    QApplication::processEvents();
    QVERIFY(airlock::test::saveScreenshot(&panel, QStringLiteral("checkpoints-dock-dark.png")));
    applyTheme(Theme::Light);

    // Compare with: the first checkpoint against the newest.
    QSignalSpy diffs(&panel, &CheckpointsPanel::diffLoaded);
    QVERIFY(panel.selectCommit(first));
    QVERIFY(diffs.wait(10000));
    auto *compare = panel.compareCombo();
    compare->setCurrentIndex(compare->findData(made->checkpoint.commit));
    QVERIFY(diffs.wait(10000));
    QCOMPARE(diff->fileCount(), 3);

    // Rewind to the first, after confirming; a safety checkpoint holds the state before.
    bool asked = false;
    airlock::test::whenModal([&](QWidget *box) {
        asked = true;
        auto *label = box->findChild<QLabel *>(QStringLiteral("qt_msgbox_informativelabel"));
        QVERIFY(label && label->text().contains(QStringLiteral("safety checkpoint")));
        box->findChild<QPushButton *>(QStringLiteral("confirmRewind"))->click();
    });
    QTest::mouseClick(panel.findChild<QPushButton *>(QStringLiteral("checkpointRewind")), Qt::LeftButton);
    QVERIFY(asked);
    QVERIFY(actions.wait(20000));
    QVERIFY2(actions.last().at(0).toBool(), qPrintable(actions.last().at(1).toString()));
    QVERIFY(actions.last().at(1).toString().contains(QStringLiteral("undo")));
    QCOMPARE(readFile(ws + QStringLiteral("/README.md")), QByteArray("# Demo\n\nA small project.\n"));
    QVERIFY(!QFile::exists(ws + QStringLiteral("/src/util.py")));
    QTRY_VERIFY(panel.tree().rewinds.size() == 1);
    QTRY_VERIFY(panel.historyView()->topLevelItem(0)->text(0).contains(QStringLiteral("rewound here")));

    // Fork the first checkpoint into a new folder.
    const QString forkFolder = bench.dir.filePath(QStringLiteral("forked"));
    QVERIFY(panel.selectCommit(first));
    airlock::test::whenModal([&](QWidget *dialog) {
        auto *fork = qobject_cast<ForkDialog *>(dialog);
        QVERIFY(fork);
        fork->folderEdit()->setText(forkFolder);
        fork->findChild<QDialogButtonBox *>()->button(QDialogButtonBox::Ok)->click();
    });
    QSignalSpy forked(&panel, &CheckpointsPanel::sessionForked);
    QTest::mouseClick(panel.findChild<QPushButton *>(QStringLiteral("checkpointFork")), Qt::LeftButton);
    QVERIFY(forked.wait(20000));
    QCOMPARE(readFile(forkFolder + QStringLiteral("/src/main.py")), QByteArray("def main():\n    print('hello')\n\nmain()\n"));
    // The fork's base shows as a branch from the checkpoint it started at (the rewind needed no safety
    // checkpoint: nothing had changed since turn 1).
    const QString forkSession = forked.first().first().toString();
    QTRY_VERIFY(panel.tree().sessions.contains(forkSession));
    QCOMPARE(panel.tree().nodes.size(), 3);
    QTreeWidgetItem *firstItem = panel.historyView()->topLevelItem(0);
    QCOMPARE(firstItem->childCount(), 1);
    QVERIFY(firstItem->child(0)->text(0).contains(forkSession));
    QVERIFY(airlock::test::saveScreenshot(&panel, QStringLiteral("checkpoints-dock-branches.png")));

    // A session that has no workspace history says so, and Checkpoint Now says why it cannot.
    panel.setSession(QStringLiteral("nobody"));
    QTRY_VERIFY(empty->isVisible());
    QTest::mouseClick(panel.findChild<QPushButton *>(QStringLiteral("checkpointNow")), Qt::LeftButton);
    QVERIFY(actions.wait(20000));
    QVERIFY(!actions.last().at(0).toBool());
    auto *error = panel.findChild<QLabel *>(QStringLiteral("checkpointsError"));
    QVERIFY(error->isVisible());
    QVERIFY(error->text().startsWith(QStringLiteral("No checkpoint was taken: ")));
}

QTEST_MAIN(TestDocks)
#include "tst_docks.moc"
