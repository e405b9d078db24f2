#include "egress/keychain.h"

#include <QDBusConnection>
#include <QDBusConnectionInterface>
#include <QDBusMessage>
#include <QDBusObjectPath>
#include <QDBusVariant>

namespace airlock::egress {

namespace {

const QString kService = QStringLiteral("org.freedesktop.secrets");
const QString kServicePath = QStringLiteral("/org/freedesktop/secrets");

} // namespace

KeychainStatus keychainStatus(int timeoutMs)
{
    KeychainStatus status;
    if (qEnvironmentVariable("AIRLOCK_SECRETS_KEYCHAIN") == QLatin1String("0"))
        return status;
    QDBusConnection bus = QDBusConnection::sessionBus();
    if (!bus.isConnected() || !bus.interface())
        return status;
    if (!bus.interface()->isServiceRegistered(kService)) {
        const auto activatable = bus.interface()->activatableServiceNames();
        if (!activatable.isValid() || !activatable.value().contains(kService))
            return status;
    }
    // The default collection is where qtkeychain keeps items; asking for it starts the service.
    QDBusMessage alias = QDBusMessage::createMethodCall(kService, kServicePath, QStringLiteral("org.freedesktop.Secret.Service"),
                                                        QStringLiteral("ReadAlias"));
    alias << QStringLiteral("default");
    const QDBusMessage aliasReply = bus.call(alias, QDBus::Block, timeoutMs);
    if (aliasReply.type() != QDBusMessage::ReplyMessage || aliasReply.arguments().isEmpty()) {
        status.detail = aliasReply.errorMessage().isEmpty() ? aliasReply.errorName() : aliasReply.errorMessage();
        return status; // a service that cannot start or answer is as good as none
    }
    status.collection = aliasReply.arguments().constFirst().value<QDBusObjectPath>().path();
    if (status.collection.isEmpty() || status.collection == QLatin1String("/")) {
        status.state = KeychainState::NoCollection;
        status.collection.clear();
        return status;
    }
    QDBusMessage get = QDBusMessage::createMethodCall(kService, status.collection, QStringLiteral("org.freedesktop.DBus.Properties"),
                                                      QStringLiteral("Get"));
    get << QStringLiteral("org.freedesktop.Secret.Collection") << QStringLiteral("Locked");
    const QDBusMessage locked = bus.call(get, QDBus::Block, timeoutMs);
    if (locked.type() != QDBusMessage::ReplyMessage || locked.arguments().isEmpty()) {
        // gnome-keyring names "login" as the default before any login keyring exists.
        status.state = KeychainState::NoCollection;
        status.detail = locked.errorMessage();
        return status;
    }
    status.state = locked.arguments().constFirst().value<QDBusVariant>().variant().toBool() ? KeychainState::Locked
                                                                                            : KeychainState::Ready;
    return status;
}

QString keychainAdvice(const KeychainStatus &status, const QString &name)
{
    const QString fileCommand = QStringLiteral("airlockctl secrets set %1 --file").arg(name.isEmpty() ? QStringLiteral("NAME") : name);
    switch (status.state) {
    case KeychainState::Locked:
        return QStringLiteral("the keychain is locked: unlock it (your desktop's keyring asks for its password; without a "
                              "desktop, gnome-keyring-daemon --unlock reads it from stdin) and try again, or keep the secret "
                              "in a file only you can read: %1")
            .arg(fileCommand);
    case KeychainState::NoCollection:
        return QStringLiteral("the keychain runs but has no default collection to keep secrets in (nobody has logged in to a "
                              "desktop here): create one with your keyring tool, or keep the secret in a file only you can "
                              "read: %1")
            .arg(fileCommand);
    case KeychainState::Absent:
    case KeychainState::Ready:
        break;
    }
    return {};
}

} // namespace airlock::egress
