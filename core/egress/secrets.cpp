#include "egress/secrets.h"
#include "egress/keychain.h"
#include "egress/secretstore.h"

#include <qt6keychain/keychain.h>

namespace airlock::egress {

Result<QByteArray> checkSecretValue(const policy::Secret &secret, QByteArray value)
{
    value = value.trimmed();
    if (value.isEmpty())
        return fail(ErrorCode::NotFound, QStringLiteral("the secret '%1' is empty").arg(secret.name));
    for (const char c : std::as_const(value)) {
        if (c == '\r' || c == '\n' || c == '\0')
            return fail(ErrorCode::InvalidArgument,
                        QStringLiteral("the secret '%1' contains a line break or NUL and cannot go into a "
                                       "header")
                            .arg(secret.name));
    }
    return value;
}

SystemSecretProvider::SystemSecretProvider(QString keychainService) : m_service(std::move(keychainService)) {}

void SystemSecretProvider::fetch(const policy::Secret &secret, Done done)
{
    if (secret.source == policy::Secret::Source::HostEnv) {
        if (!qEnvironmentVariableIsSet(secret.ref.toLocal8Bit().constData())) {
            done(fail(ErrorCode::NotFound, QStringLiteral("the secret '%1' comes from the host variable $%2, "
                                                          "which is not set where Airlock runs")
                                               .arg(secret.name, secret.ref)));
            return;
        }
        done(checkSecretValue(secret, qgetenv(secret.ref.toLocal8Bit().constData())));
        return;
    }
    // Without a keychain, `airlockctl secrets set` keeps the value in a private file: read it first,
    // so no request waits on a keychain that is not there.
    if (const auto file = SecretStore().fileValue(secret.ref)) {
        done(checkSecretValue(secret, *file));
        return;
    }
    if (qEnvironmentVariable("AIRLOCK_SECRETS_KEYCHAIN") == QLatin1String("0")) {
        done(fail(ErrorCode::NotFound, QStringLiteral("the secret '%1' has no file in %2 and the keychain is off "
                                                      "(AIRLOCK_SECRETS_KEYCHAIN=0): store it with airlockctl secrets set %3")
                                           .arg(secret.name, SecretStore::defaultDir(), secret.ref)));
        return;
    }
    auto *job = new QKeychain::ReadPasswordJob(m_service);
    job->setAutoDelete(true);
    job->setKey(secret.ref);
    QObject::connect(job, &QKeychain::Job::finished, job, [secret, done = std::move(done)](QKeychain::Job *j) {
        if (j->error() != QKeychain::NoError) {
            const ErrorCode code = j->error() == QKeychain::EntryNotFound ? ErrorCode::NotFound : ErrorCode::Io;
            // A locked keychain answers "not found" once its unlock prompt fails (no desktop), so ask
            // the bus what is wrong; only on failure, so the way that works costs nothing.
            const QString advice = keychainAdvice(keychainStatus(2000), secret.ref);
            if (!advice.isEmpty()) {
                done(fail(ErrorCode::Io, QStringLiteral("the secret '%1' could not be read: %2").arg(secret.name, advice)));
                return;
            }
            done(fail(code, QStringLiteral("the secret '%1' could not be read from the keychain item '%2': %3%4")
                                .arg(secret.name, secret.ref, j->errorString(),
                                     code == ErrorCode::NotFound
                                         ? QStringLiteral(" (store it with airlockctl secrets set %1)").arg(secret.ref)
                                         : QString())));
            return;
        }
        auto *read = static_cast<QKeychain::ReadPasswordJob *>(j);
        QByteArray value = read->binaryData();
        if (value.isEmpty())
            value = read->textData().toUtf8();
        done(checkSecretValue(secret, std::move(value)));
    });
    job->start();
}

} // namespace airlock::egress
