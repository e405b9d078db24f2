#pragma once

#include <QString>

// The state of the OS keychain as the Secret Service API (org.freedesktop.secrets on the session bus)
// tells it, asked directly: qtkeychain reports a locked or missing collection only as an error text,
// and a user needs to know which of the two it is, and what to do about it.
namespace airlock::egress {

enum class KeychainState {
    Absent,       // no session bus, or no Secret Service on it (nor one it can start)
    Ready,        // the default collection exists and is unlocked
    Locked,       // the default collection exists and is locked
    NoCollection, // a Secret Service runs but has no default collection (no login keyring yet)
};

struct KeychainStatus {
    KeychainState state = KeychainState::Absent;
    QString collection; // the default collection's object path, when there is one
    QString detail;     // what the bus said, when it said something unexpected
};

// Asks the session bus; may start the Secret Service by activation. Bounded by timeoutMs per call.
// AIRLOCK_SECRETS_KEYCHAIN=0 answers Absent without asking.
KeychainStatus keychainStatus(int timeoutMs = 5000);

// One sentence for a user: what is wrong with the keychain and what to do, for a secret named `name`
// (empty for none). Empty when the state is Ready or Absent.
QString keychainAdvice(const KeychainStatus &status, const QString &name = {});

} // namespace airlock::egress
