#pragma once

#include "error.h"
#include "policy/policy.h"

#include <QByteArray>
#include <QObject>

#include <functional>
#include <memory>

namespace airlock::egress {

// Reads a policy secret's value where the policy says it lives. A seam, so tests and other front ends
// can supply values without a desktop keychain.
class SecretProvider
{
public:
    using Done = std::function<void(Result<QByteArray>)>;
    virtual ~SecretProvider() = default;
    // Called on the proxy thread, which runs an event loop; done is called exactly once, on that
    // thread, possibly before fetch() returns.
    virtual void fetch(const policy::Secret &secret, Done done) = 0;
};

// Host environment variables (read at each request, so a changed variable takes effect) and the OS
// keychain through qtkeychain (service `keychainService`, key = the secret's ref). No value is
// cached; the keychain is asked for every request that needs it.
class SystemSecretProvider : public SecretProvider
{
public:
    explicit SystemSecretProvider(QString keychainService = QStringLiteral(AIRLOCK_APP_ID));
    void fetch(const policy::Secret &secret, Done done) override;

private:
    QString m_service;
};

// A value may go into a header only if it cannot end the header: no CR, LF or NUL, and not empty.
Result<QByteArray> checkSecretValue(const policy::Secret &secret, QByteArray value);

} // namespace airlock::egress
