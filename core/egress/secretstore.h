#pragma once

#include "error.h"

#include <QByteArray>
#include <QList>
#include <QString>

#include <optional>

// Where Airlock keeps the credentials its egress proxy injects (model API keys, tokens): the OS
// keychain (a Secret Service on the session bus, through qtkeychain) when one runs, else a file only
// the user can read, which every command says. Values never leave this store except into a header the
// proxy writes upstream; names are listed from an index beside the files, as a keychain cannot list.
namespace airlock::egress {

enum class SecretPlace { Keychain, File };

struct StoredSecret {
    QString name;
    SecretPlace place = SecretPlace::File;
    qint64 updated = 0; // ms since the epoch
};

class SecretStore
{
public:
    // dir: where the index (and, without a keychain, the values) live; empty for defaultDir().
    explicit SecretStore(QString dir = {}, QString keychainService = QStringLiteral(AIRLOCK_APP_ID));

    // $AIRLOCK_SECRETS_DIR, else $XDG_DATA_HOME/airlock/secrets (~/.local/share/airlock/secrets).
    static QString defaultDir();
    // Whether a keychain runs, and in what state: egress/keychain.h.
    // How a secret name is spelled: letters, digits, '-', '_' and '.', 1–64 characters.
    static bool isValidName(const QString &name);

    // Stores the value where asked, or (no place given) in the keychain if one runs, else in the file;
    // returns where. A keychain that runs but is locked or has no collection is an error that says
    // what to do (unlock it, or choose the file), never a silent fall back to the file. A value in the
    // other place is removed, so one name has one value.
    Result<SecretPlace> set(const QString &name, const QByteArray &value, std::optional<SecretPlace> where = std::nullopt);
    // Removes the value wherever it is; false when there was none. A value in a locked keychain is an
    // error, and the name stays listed.
    Result<bool> remove(const QString &name);
    Result<QList<StoredSecret>> list() const;

    // Only the file: for the proxy thread, which must not wait on the keychain to learn there is a file.
    std::optional<QByteArray> fileValue(const QString &name) const;
    QString filePath(const QString &name) const;

private:
    Result<void> ensureDir() const;
    Result<void> writeIndex(const QList<StoredSecret> &entries) const;
    QString m_dir;
    QString m_service;
};

QString nameOf(SecretPlace place);

} // namespace airlock::egress
