// Airlock normally runs as an ordinary desktop user, CI as root. Run as root, this test makes a test
// account (useradd) and runs the sandbox and both escape suites (bubblewrap and Docker) again as that
// user through setpriv, and
// reports what differs between the two runs: the limits mechanism and the uid mapping. Run as anyone
// else it skips: the other sandbox tests already are the unprivileged run.

#include "kernelprobes.h"
#include <QDir>
#include <QFileInfo>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>

#include <sys/stat.h>
#include <QTest>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

const char *kAccount = "airlock-test";

struct Account
{
    uid_t uid = 0;
    gid_t gid = 0;
};

std::optional<Account> findAccount()
{
    const passwd *pw = ::getpwnam(kAccount);
    if (!pw)
        return std::nullopt;
    return Account{pw->pw_uid, pw->pw_gid};
}

QString binary(const char *relative)
{
    return QStringLiteral(AIRLOCK_TEST_BINARY_DIR "/") + QLatin1StringView(relative);
}

// Whether `account` can reach `path`: every folder on the way must let others (or it) through.
bool reachable(const QString &path, const Account &account)
{
    QProcess p;
    p.start(QStringLiteral("setpriv"), {QStringLiteral("--reuid=%1").arg(account.uid), QStringLiteral("--regid=%1").arg(account.gid),
                                        QStringLiteral("--clear-groups"), QStringLiteral("test"), QStringLiteral("-x"), path});
    return p.waitForFinished(10000) && p.exitCode() == 0;
}

QString summary(const QByteArray &output)
{
    static const QRegularExpression re(QStringLiteral("limits mechanism: ([^;]+); uid mapping: ([^;]+);"));
    const QRegularExpressionMatch m = re.match(QString::fromUtf8(output));
    return m.hasMatch() ? m.captured(1) + QStringLiteral(", uid ") + m.captured(2) : QString();
}

} // namespace

class TestSandboxUnprivileged : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void suiteAsUser_data();
    void suiteAsUser();
    void whatDiffers();

private:
    Account m_account;
    QString m_rootSummary;
    QString m_userSummary;
};

void TestSandboxUnprivileged::initTestCase()
{
    if (::geteuid() != 0)
        QSKIP("not root: the other sandbox tests already ran unprivileged");
    if (QStandardPaths::findExecutable(QStringLiteral("setpriv")).isEmpty())
        QSKIP("setpriv (util-linux) is not installed");
    std::optional<Account> account = findAccount();
    if (!account) {
        QProcess add;
        add.start(QStringLiteral("useradd"), {QStringLiteral("--system"), QStringLiteral("--user-group"), QStringLiteral("--no-create-home"),
                                              QStringLiteral("--shell"), QStringLiteral("/usr/sbin/nologin"), QString::fromLatin1(kAccount)});
        if (!add.waitForFinished(30000) || add.exitCode() != 0)
            QSKIP(qPrintable(QStringLiteral("cannot create the test account %1: %2")
                                 .arg(QLatin1StringView(kAccount), QString::fromLocal8Bit(add.readAllStandardError()).trimmed())));
        account = findAccount();
    }
    if (!account)
        QSKIP("the test account does not exist after useradd");
    m_account = *account;
    if (const auto why = airlock::test::unprivilegedUserNamespacesUnavailable())
        QSKIP(qPrintable(QStringLiteral("the test account cannot make sandboxes: ") + *why));
    if (!reachable(binary("tests/sandbox/tst_localbackend"), m_account))
        QSKIP(qPrintable(QStringLiteral("the build folder %1 is not reachable by %2 (a parent folder is private)")
                             .arg(QStringLiteral(AIRLOCK_TEST_BINARY_DIR), QLatin1StringView(kAccount))));
}

void TestSandboxUnprivileged::suiteAsUser_data()
{
    QTest::addColumn<QString>("test");
    QTest::newRow("tst_localbackend") << binary("tests/sandbox/tst_localbackend");
    QTest::newRow("tst_locallifecycle") << binary("tests/sandbox/tst_locallifecycle");
    QTest::newRow("tst_sandboxmanager") << binary("tests/sandbox/tst_sandboxmanager");
    QTest::newRow("tst_escape") << binary("tests/security/tst_escape");
    QTest::newRow("tst_escape_docker") << binary("tests/security/tst_escape_docker");
}

void TestSandboxUnprivileged::suiteAsUser()
{
    QFETCH(QString, test);
    if (!QFileInfo(test).isExecutable())
        QSKIP(qPrintable(test + QStringLiteral(" is not built")));
    // A user's sandboxes need the workspace protection layer, which opens /dev/fuse as that user.
    // fusermount3 too opens the device as the calling user, by design: its mode is the machine's policy
    // on FUSE. Where it is root's only, everything but the layer is tested as the user.
    struct stat fuse{};
    const bool withoutLayer = ::stat("/dev/fuse", &fuse) != 0 || (fuse.st_mode & (S_IROTH | S_IWOTH)) != (S_IROTH | S_IWOTH);
    if (withoutLayer)
        qInfo("/dev/fuse is not open to other users here (no udev rule making it 0666): the run is without the "
              "protection layer, and the escape suite skips the attacks only the layer stops");
    QTemporaryDir home;
    QVERIFY(::chown(QFile::encodeName(home.path()).constData(), m_account.uid, m_account.gid) == 0);
    QProcessEnvironment env;
    env.insert(QStringLiteral("HOME"), home.path());
    env.insert(QStringLiteral("TMPDIR"), home.path());
    env.insert(QStringLiteral("PATH"), QStringLiteral("/usr/local/bin:/usr/bin:/bin"));
    env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    env.insert(QStringLiteral("LANG"), QStringLiteral("C.UTF-8"));
    if (withoutLayer)
        env.insert(QStringLiteral("AIRLOCK_TEST_WITHOUT_LAYER"), QStringLiteral("1"));
    // The Docker suite runs as a member of the socket's group, as a desktop user of Docker would; where
    // only root may use the socket, it skips with that reason.
    QString groups = QStringLiteral("--clear-groups");
    const bool docker = test.endsWith(QLatin1String("_docker"));
    if (docker) {
        const QString host = qEnvironmentVariable("DOCKER_HOST");
        if (!host.isEmpty())
            env.insert(QStringLiteral("DOCKER_HOST"), host);
        const QString socket = host.startsWith(u"unix://") ? host.mid(7) : QStringLiteral("/var/run/docker.sock");
        struct stat st{};
        if (::stat(QFile::encodeName(socket).constData(), &st) == 0 && st.st_gid != 0)
            groups = QStringLiteral("--groups=%1").arg(st.st_gid);
    }
    QProcess p;
    p.setProcessEnvironment(env);
    p.setWorkingDirectory(home.path());
    p.start(QStringLiteral("setpriv"), {QStringLiteral("--reuid=%1").arg(m_account.uid), QStringLiteral("--regid=%1").arg(m_account.gid),
                                        groups, QStringLiteral("--inh-caps=-all"), QStringLiteral("--"), test});
    QVERIFY(p.waitForStarted());
    if (!p.waitForFinished(docker ? 590000 : 280000)) {
        p.kill();
        p.waitForFinished();
        QFAIL("the suite did not finish as the test account");
    }
    const QByteArray out = p.readAllStandardOutput();
    const QByteArray err = p.readAllStandardError();
    if (test.endsWith(QLatin1String("tst_localbackend")))
        m_userSummary = summary(out);
    if (out.contains("SKIP   : ") && !out.contains("PASS   : "))
        QSKIP(qPrintable(QStringLiteral("skipped as %1: ").arg(QLatin1StringView(kAccount)) + QString::fromUtf8(out).section(QStringLiteral("SKIP   : "), 1).left(300)));
    if (p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0) {
        // QTest cuts long messages: the failures and the end of what it wrote, line by line.
        const QList<QByteArray> lines = QByteArray(out + err).split('\n');
        for (const QByteArray &line : lines) {
            if (line.startsWith("FAIL!") || line.contains("   Loc: ") || line.startsWith("QFATAL") || line.startsWith("Received signal"))
                qWarning("%s", line.constData());
        }
        for (const QByteArray &line : lines.mid(std::max<qsizetype>(0, lines.size() - 12)))
            qWarning("%s", line.constData());
        QFAIL(qPrintable(QStringLiteral("%1 failed as %2 (exit status %3)").arg(test, QLatin1StringView(kAccount)).arg(p.exitCode())));
    }
}

void TestSandboxUnprivileged::whatDiffers()
{
    // The same test function as root, for its report line.
    QProcess p;
    p.start(binary("tests/sandbox/tst_localbackend"), {QStringLiteral("limitsAreReported")});
    QVERIFY(p.waitForFinished(60000));
    m_rootSummary = summary(p.readAllStandardOutput());
    if (m_userSummary.isEmpty())
        QSKIP("the unprivileged run did not report its limits");
    qInfo("as root:           %s", qPrintable(m_rootSummary));
    qInfo("as %s:   %s", kAccount, qPrintable(m_userSummary));
    QVERIFY(!m_rootSummary.isEmpty());
    QVERIFY(m_userSummary.contains(QStringLiteral("uid %1 -> %1").arg(m_account.uid)));
    // As root too, the host side of the mapping is never uid 0.
    QVERIFY2(!m_rootSummary.contains(QStringLiteral("-> 0")), qPrintable(m_rootSummary));
}

QTEST_GUILESS_MAIN(TestSandboxUnprivileged)
#include "tst_sandbox_unprivileged.moc"
