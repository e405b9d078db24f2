// Secrets in a real Secret Service: gnome-keyring-daemon on a D-Bus session bus this test starts, with
// a login keyring of its own. Stored, read back by the proxy's provider, then locked: every way in
// (airlockctl, the proxy, the Secrets dialog) says the keychain is locked and what to do, nothing is
// dropped or moved to a file unasked, and no value shows up in a message. Then a bus whose keychain
// has no collection yet, and one with no keychain at all.
#include "egress/keychain.h"
#include "egress/secrets.h"
#include "egress/secretstore.h"
#include "secretsdialog.h"

#include <QCheckBox>
#include <QDBusConnection>
#include <QDBusConnectionInterface>
#include <QDBusMessage>
#include <QDBusMetaType>
#include <QDBusObjectPath>
#include <QDir>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QProcess>
#include <QPushButton>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace airlock;

// The Secret Service's Secret struct (oayays), to hand gnome-keyring the password when unlocking.
struct KeyringSecret {
    QDBusObjectPath session;
    QByteArray parameters;
    QByteArray value;
    QString contentType;
};

QDBusArgument &operator<<(QDBusArgument &arg, const KeyringSecret &s)
{
    arg.beginStructure();
    arg << s.session << s.parameters << s.value << s.contentType;
    arg.endStructure();
    return arg;
}

const QDBusArgument &operator>>(const QDBusArgument &arg, KeyringSecret &s)
{
    arg.beginStructure();
    arg >> s.session >> s.parameters >> s.value >> s.contentType;
    arg.endStructure();
    return arg;
}

Q_DECLARE_METATYPE(KeyringSecret)

namespace {

const QByteArray kValue = "sk-ant-keychain-value-5150";
const QByteArray kPassword = "airlock-test-keyring-password";

struct Run {
    int exit = -1;
    QByteArray out;
    QByteArray err;
};

QProcessEnvironment homeEnvironment(const QString &home)
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("HOME"), home);
    env.insert(QStringLiteral("XDG_DATA_HOME"), home + QStringLiteral("/.local/share"));
    env.insert(QStringLiteral("XDG_CONFIG_HOME"), home + QStringLiteral("/.config"));
    env.insert(QStringLiteral("XDG_RUNTIME_DIR"), home + QStringLiteral("/run"));
    env.insert(QStringLiteral("AIRLOCK_SECRETS_DIR"), home + QStringLiteral("/secrets"));
    QDir().mkpath(home + QStringLiteral("/.local/share"));
    QDir().mkpath(home + QStringLiteral("/run"));
    QFile::setPermissions(home + QStringLiteral("/run"), QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
    return env;
}

// A private session bus; with serviceDirs false, one on which nothing can be started.
class Bus
{
public:
    // home: the HOME (and XDG folders) of what the bus starts, when not this process's.
    bool start(const QString &dir, bool serviceDirs, const QString &home = {})
    {
        if (!home.isEmpty())
            m_process.setProcessEnvironment(homeEnvironment(home));
        QStringList args{QStringLiteral("--nofork"), QStringLiteral("--print-address=1")};
        if (serviceDirs) {
            args.prepend(QStringLiteral("--session"));
        } else {
            // The system's session configuration without the folders services are started from.
            QFile system(QStringLiteral("/usr/share/dbus-1/session.conf"));
            if (!system.open(QIODevice::ReadOnly))
                return false;
            QByteArray conf = system.readAll();
            conf.replace("<standard_session_servicedirs />", "").replace("<standard_session_servicedirs/>", "");
            conf.replace("unix:tmpdir=/tmp", QByteArray("unix:tmpdir=" + QFile::encodeName(dir)));
            const QString config = dir + QStringLiteral("/bus-without-services.conf");
            QFile f(config);
            if (!f.open(QIODevice::WriteOnly))
                return false;
            f.write(conf);
            f.close();
            args.prepend(QStringLiteral("--config-file=") + config);
        }
        m_process.start(QStringLiteral("dbus-daemon"), args);
        if (!m_process.waitForStarted(5000))
            return false;
        QElapsedTimer clock;
        clock.start();
        while (!m_process.canReadLine() && clock.elapsed() < 10000)
            m_process.waitForReadyRead(500);
        address = QString::fromLatin1(m_process.readLine().trimmed());
        return !address.isEmpty();
    }
    ~Bus()
    {
        m_process.terminate();
        m_process.waitForFinished(3000);
    }
    QString address;

private:
    QProcess m_process;
};

} // namespace

class TestKeychain : public QObject
{
    Q_OBJECT
    QTemporaryDir m_dir;
    std::unique_ptr<Bus> m_bus;
    std::unique_ptr<QProcess> m_keyring;

    QString path(const QString &rel) const { return m_dir.filePath(rel); }

    // The keyring daemon, its login keyring unlocked with the password on stdin (the way a PAM
    // login does it).
    bool startKeyring()
    {
        stopKeyring();
        m_keyring = std::make_unique<QProcess>();
        m_keyring->setProcessChannelMode(QProcess::ForwardedErrorChannel);
        m_keyring->start(QStringLiteral("gnome-keyring-daemon"),
                         {QStringLiteral("--foreground"), QStringLiteral("--unlock"), QStringLiteral("--components=secrets")});
        if (!m_keyring->waitForStarted(5000))
            return false;
        m_keyring->write(kPassword);
        m_keyring->closeWriteChannel();
        // Asked only once the name is on the bus: asking earlier would make the bus start another one.
        auto *bus = QDBusConnection::sessionBus().interface();
        return QTest::qWaitFor([bus] { return bus->isServiceRegistered(QStringLiteral("org.freedesktop.secrets")); }, 15000)
            && egress::keychainStatus().state == egress::KeychainState::Ready;
    }
    void stopKeyring()
    {
        if (!m_keyring)
            return;
        m_keyring->terminate();
        m_keyring->waitForFinished(5000);
        m_keyring.reset();
        // The name goes with the process; wait for the bus to say so before the next start.
        auto *bus = QDBusConnection::sessionBus().interface();
        QTRY_VERIFY_WITH_TIMEOUT(!bus->isServiceRegistered(QStringLiteral("org.freedesktop.secrets")), 5000);
    }
    bool lock()
    {
        const auto status = egress::keychainStatus();
        QDBusMessage m = QDBusMessage::createMethodCall(QStringLiteral("org.freedesktop.secrets"), QStringLiteral("/org/freedesktop/secrets"),
                                                        QStringLiteral("org.freedesktop.Secret.Service"), QStringLiteral("Lock"));
        m << QVariant::fromValue(QList<QDBusObjectPath>{QDBusObjectPath(status.collection)});
        const QDBusMessage reply = QDBusConnection::sessionBus().call(m, QDBus::Block, 5000);
        return reply.type() == QDBusMessage::ReplyMessage && egress::keychainStatus().state == egress::KeychainState::Locked;
    }

    // What a login does: hands gnome-keyring the password (its own interface; the standard Unlock
    // would want a prompt, and there is no desktop here). The daemon keeps running, so this process's
    // keychain connection stays valid.
    bool unlock()
    {
        auto bus = QDBusConnection::sessionBus();
        const QString service = QStringLiteral("org.freedesktop.secrets"), root = QStringLiteral("/org/freedesktop/secrets");
        QDBusMessage open = QDBusMessage::createMethodCall(service, root, QStringLiteral("org.freedesktop.Secret.Service"),
                                                           QStringLiteral("OpenSession"));
        open << QStringLiteral("plain") << QVariant::fromValue(QDBusVariant(QString()));
        const QDBusMessage opened = bus.call(open, QDBus::Block, 5000);
        if (opened.type() != QDBusMessage::ReplyMessage || opened.arguments().size() < 2)
            return false;
        KeyringSecret secret{opened.arguments().at(1).value<QDBusObjectPath>(), {}, kPassword, QStringLiteral("text/plain")};
        QDBusMessage m = QDBusMessage::createMethodCall(service, root, QStringLiteral("org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface"),
                                                        QStringLiteral("UnlockWithMasterPassword"));
        m << QVariant::fromValue(QDBusObjectPath(egress::keychainStatus().collection)) << QVariant::fromValue(secret);
        const QDBusMessage reply = bus.call(m, QDBus::Block, 5000);
        if (reply.type() != QDBusMessage::ReplyMessage)
            qWarning() << "unlock:" << reply.errorMessage();
        return egress::keychainStatus().state == egress::KeychainState::Ready;
    }

    // airlockctl with this test's environment, or another bus and home.
    Run ctl(const QStringList &args, const QByteArray &stdinData = {}, const QString &busAddress = {}, const QString &home = {})
    {
        QProcess p;
        QProcessEnvironment env = home.isEmpty() ? QProcessEnvironment::systemEnvironment() : homeEnvironment(home);
        if (!busAddress.isEmpty())
            env.insert(QStringLiteral("DBUS_SESSION_BUS_ADDRESS"), busAddress);
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(AIRLOCKCTL_PATH), args);
        if (!p.waitForStarted(5000))
            return {};
        p.write(stdinData);
        p.closeWriteChannel();
        if (!p.waitForFinished(60000))
            p.kill();
        return {p.exitCode(), p.readAllStandardOutput(), p.readAllStandardError()};
    }

    Result<QByteArray> readThroughProvider()
    {
        policy::Secret s;
        s.name = QStringLiteral("anthropic");
        s.source = policy::Secret::Source::Keychain;
        s.ref = QStringLiteral("anthropic");
        egress::SystemSecretProvider provider;
        std::optional<Result<QByteArray>> got;
        provider.fetch(s, [&](Result<QByteArray> r) { got = std::move(r); });
        if (!QTest::qWaitFor([&] { return got.has_value(); }, 30000))
            return fail(ErrorCode::Io, QStringLiteral("the provider did not answer in 30 s"));
        return *got;
    }

    // No file under the test's folders holds the value in the clear (the keyring file is encrypted).
    void valueInNoFile()
    {
        QDirIterator it(m_dir.path(), QDir::Files | QDir::Hidden, QDirIterator::Subdirectories);
        while (it.hasNext()) {
            QFile f(it.next());
            if (f.open(QIODevice::ReadOnly))
                QVERIFY2(!f.readAll().contains(kValue), qPrintable(f.fileName()));
        }
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (QStandardPaths::findExecutable(QStringLiteral("dbus-daemon")).isEmpty())
            QSKIP("skipped: dbus-daemon is not installed (packaging/install-deps.sh --tests installs it)");
        if (QStandardPaths::findExecutable(QStringLiteral("gnome-keyring-daemon")).isEmpty())
            QSKIP("skipped: gnome-keyring-daemon is not installed (packaging/install-deps.sh --tests installs it)");
        QVERIFY(m_dir.isValid());
        qDBusRegisterMetaType<KeyringSecret>();
        QDir().mkpath(path(QStringLiteral("home/.local/share")));
        QDir().mkpath(path(QStringLiteral("run")));
        QFile::setPermissions(path(QStringLiteral("run")), QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
        qputenv("HOME", QFile::encodeName(path(QStringLiteral("home"))));
        qputenv("XDG_DATA_HOME", QFile::encodeName(path(QStringLiteral("home/.local/share"))));
        qputenv("XDG_CONFIG_HOME", QFile::encodeName(path(QStringLiteral("home/.config"))));
        qputenv("XDG_RUNTIME_DIR", QFile::encodeName(path(QStringLiteral("run"))));
        qputenv("AIRLOCK_SECRETS_DIR", QFile::encodeName(path(QStringLiteral("secrets"))));
        qunsetenv("AIRLOCK_SECRETS_KEYCHAIN");
        m_bus = std::make_unique<Bus>();
        QVERIFY(m_bus->start(m_dir.path(), true));
        // Before this process's first use of the session bus, which Qt then keeps.
        qputenv("DBUS_SESSION_BUS_ADDRESS", m_bus->address.toLatin1());
        QVERIFY(QDBusConnection::sessionBus().isConnected());
        QVERIFY2(startKeyring(), "gnome-keyring-daemon did not come up with an unlocked login keyring");
    }

    void cleanupTestCase()
    {
        stopKeyring();
        m_bus.reset();
    }

    void storedInTheKeychain()
    {
        egress::SecretStore store;
        QCOMPARE(egress::keychainStatus().state, egress::KeychainState::Ready);
        auto place = store.set(QStringLiteral("anthropic"), kValue);
        QVERIFY2(place, place ? "" : qPrintable(place.error().message));
        QCOMPARE(*place, egress::SecretPlace::Keychain);
        QVERIFY(!QFile::exists(store.filePath(QStringLiteral("anthropic"))));
        auto read = readThroughProvider();
        QVERIFY2(read, read ? "" : qPrintable(read.error().message));
        QCOMPARE(*read, kValue);
        const Run list = ctl({QStringLiteral("secrets"), QStringLiteral("list"), QStringLiteral("--json")});
        QCOMPARE(list.exit, 0);
        const QJsonObject o = QJsonDocument::fromJson(list.out).object();
        QCOMPARE(o[QStringLiteral("keychain")].toString(), QStringLiteral("ready"));
        QCOMPARE(o[QStringLiteral("secrets")][0][QStringLiteral("place")].toString(), QStringLiteral("keychain"));
        // Through the CLI too, from stdin.
        const Run set = ctl({QStringLiteral("secrets"), QStringLiteral("set"), QStringLiteral("openai")}, "sk-openai-kc-77\n");
        QCOMPARE(set.exit, 0);
        QVERIFY2(set.out.contains("in the keychain"), set.out.constData());
        valueInNoFile();
    }

    void lockedKeychainSaysWhatToDo()
    {
        QVERIFY(lock());
        // Storing: refused with what to do, not put in a file unasked.
        QElapsedTimer clock;
        clock.start();
        const Run set = ctl({QStringLiteral("secrets"), QStringLiteral("set"), QStringLiteral("anthropic")}, "sk-ant-new-value\n");
        QVERIFY(set.exit != 0);
        QVERIFY2(set.err.contains("locked") && set.err.contains("airlockctl secrets set anthropic --file"), set.err.constData());
        QVERIFY(!QFile::exists(path(QStringLiteral("secrets/anthropic"))));
        QVERIFY2(clock.elapsed() < 10000, "a locked keychain must not make the command wait for a prompt");
        // Removing: refused, and the name stays listed (its value is still in the keychain).
        const Run rm = ctl({QStringLiteral("secrets"), QStringLiteral("rm"), QStringLiteral("anthropic")});
        QVERIFY(rm.exit != 0);
        QVERIFY2(rm.err.contains("nothing was removed") && rm.err.contains("locked"), rm.err.constData());
        const Run list = ctl({QStringLiteral("secrets"), QStringLiteral("list")});
        QCOMPARE(list.exit, 0);
        QVERIFY(list.out.contains("anthropic"));
        QVERIFY2(list.err.contains("keychain is locked"), list.err.constData());
        // The proxy's read says locked, never the value.
        auto read = readThroughProvider();
        QVERIFY(!read);
        QVERIFY2(read.error().message.contains(QLatin1String("locked")), qPrintable(read.error().message));
        QVERIFY(!read.error().message.toUtf8().contains(kValue));
        // Asked for a file, it goes to one.
        const Run file = ctl({QStringLiteral("secrets"), QStringLiteral("set"), QStringLiteral("gemini"), QStringLiteral("--file")}, "gm-x\n");
        QCOMPARE(file.exit, 0);
        QVERIFY2(file.out.contains("as asked"), file.out.constData());
        QVERIFY(QFile::exists(path(QStringLiteral("secrets/gemini"))));
    }

    void dialogSaysLockedAndOffersTheFile()
    {
        QCOMPARE(egress::keychainStatus().state, egress::KeychainState::Locked);
        ui::SecretsDialog dialog;
        dialog.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dialog));
        QLabel *where = nullptr;
        for (QLabel *l : dialog.findChildren<QLabel *>())
            if (l->wordWrap())
                where = l;
        QVERIFY(where);
        QTRY_VERIFY2(where->text().contains(QLatin1String("locked")), qPrintable(where->text()));
        auto *toFile = dialog.findChild<QCheckBox *>(QStringLiteral("secretToFile"));
        QVERIFY(toFile && toFile->isEnabled());
        QVERIFY(!toFile->isChecked());
        QTest::mouseClick(toFile, Qt::LeftButton);
        QTest::keyClicks(dialog.findChild<QLineEdit *>(QStringLiteral("secretName")), QStringLiteral("github"));
        QTest::keyClicks(dialog.findChild<QLineEdit *>(QStringLiteral("secretValue")), QStringLiteral("ghp-dialog-1"));
        QTest::mouseClick(dialog.findChild<QPushButton *>(QStringLiteral("storeSecret")), Qt::LeftButton);
        auto *table = dialog.findChild<QTableWidget *>(QStringLiteral("secretsTable"));
        QTRY_COMPARE(table->rowCount(), 4); // anthropic, openai, gemini, github
        QTRY_VERIFY(dialog.isEnabled());
        QVERIFY(QFile::exists(path(QStringLiteral("secrets/github"))));
        QDir().mkpath(QStringLiteral(AIRLOCK_SCREENSHOT_DIR));
        QVERIFY(dialog.grab().toImage().save(QStringLiteral(AIRLOCK_SCREENSHOT_DIR "/secrets-dialog-locked.png")));
    }

    void unlockedAgainAllIsThere()
    {
        QVERIFY(unlock());
        auto read = readThroughProvider();
        QVERIFY2(read, read ? "" : qPrintable(read.error().message));
        QCOMPARE(*read, kValue);
        const Run rm = ctl({QStringLiteral("secrets"), QStringLiteral("rm"), QStringLiteral("anthropic")});
        QCOMPARE(rm.exit, 0);
        auto gone = readThroughProvider();
        QVERIFY(!gone);
        QCOMPARE(gone.error().code, ErrorCode::NotFound);
        valueInNoFile();
    }

    void keychainWithoutCollection()
    {
        // A fresh home on a bus of its own: the keychain starts on demand with no login keyring, as on
        // a machine nobody has logged in to with a desktop.
        const QString home = path(QStringLiteral("home-nocollection"));
        Bus bus;
        QVERIFY(bus.start(m_dir.path(), true, home));
        const Run set = ctl({QStringLiteral("secrets"), QStringLiteral("set"), QStringLiteral("anthropic")}, "sk-x\n", bus.address, home);
        QVERIFY(set.exit != 0);
        QVERIFY2(set.err.contains("no default collection") && set.err.contains("--file"), set.err.constData());
        const Run file = ctl({QStringLiteral("secrets"), QStringLiteral("set"), QStringLiteral("anthropic"), QStringLiteral("--file")},
                             "sk-x\n", bus.address, home);
        QCOMPARE(file.exit, 0);
        const Run list = ctl({QStringLiteral("secrets"), QStringLiteral("list"), QStringLiteral("--json")}, {}, bus.address, home);
        QCOMPARE(QJsonDocument::fromJson(list.out).object()[QStringLiteral("keychain")].toString(), QStringLiteral("no-collection"));
        // The keychain the bus started leaves with the bus.
    }

    void noKeychainAtAll()
    {
        const QString home = path(QStringLiteral("home-nokeychain"));
        Bus bus;
        QVERIFY(bus.start(m_dir.path(), false, home));
        const Run set = ctl({QStringLiteral("secrets"), QStringLiteral("set"), QStringLiteral("anthropic")}, "sk-y\n", bus.address, home);
        QCOMPARE(set.exit, 0);
        QVERIFY2(set.out.contains("no keychain runs here"), set.out.constData());
        const Run forced = ctl({QStringLiteral("secrets"), QStringLiteral("set"), QStringLiteral("anthropic"), QStringLiteral("--keychain")},
                               "sk-y\n", bus.address, home);
        QVERIFY(forced.exit != 0);
        QVERIFY2(forced.err.contains("no keychain runs here"), forced.err.constData());
    }
};

QTEST_MAIN(TestKeychain)
#include "tst_keychain.moc"
