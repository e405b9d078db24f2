#include "egress/secretstore.h"
#include "egress/keychain.h"

#include <QDateTime>
#include <QDir>
#include <QEventLoop>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QSaveFile>
#include <QStandardPaths>
#include <QTimer>

#include <qt6keychain/keychain.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace airlock::egress {

namespace {

constexpr int kKeychainTimeoutMs = 15000; // a locked keychain may ask its user to unlock it
constexpr qint64 kMaxSecretBytes = 64 * 1024;

// Runs one keychain job to its end (with a timeout), on whatever thread calls.
Result<QByteArray> runJob(QKeychain::Job *job, const QString &what)
{
    job->setAutoDelete(false);
    QEventLoop loop;
    QTimer timeout;
    timeout.setSingleShot(true);
    QObject::connect(&timeout, &QTimer::timeout, &loop, &QEventLoop::quit);
    QObject::connect(job, &QKeychain::Job::finished, &loop, &QEventLoop::quit);
    timeout.start(kKeychainTimeoutMs);
    job->start();
    loop.exec();
    std::unique_ptr<QKeychain::Job> owned(job);
    if (!timeout.isActive())
        return fail(ErrorCode::Io, QStringLiteral("the keychain did not answer within %1 s while %2; is it locked?")
                                            .arg(kKeychainTimeoutMs / 1000)
                                            .arg(what));
    if (job->error() == QKeychain::EntryNotFound)
        return fail(ErrorCode::NotFound, QStringLiteral("the keychain has no such item"));
    if (job->error() != QKeychain::NoError)
        return fail(ErrorCode::Io, QStringLiteral("the keychain refused %1: %2").arg(what, job->errorString()));
    if (auto *read = qobject_cast<QKeychain::ReadPasswordJob *>(job)) {
        QByteArray value = read->binaryData();
        if (value.isEmpty())
            value = read->textData().toUtf8();
        return value;
    }
    return QByteArray();
}

Result<QByteArray> readPrivateFile(const QString &path)
{
    // Opened without following links, and only if it is this user's and nobody else's to read.
    const int fd = ::open(QFile::encodeName(path).constData(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return fail(errno == ENOENT ? ErrorCode::NotFound : ErrorCode::Io,
                    QStringLiteral("cannot read %1: %2").arg(path, QString::fromLocal8Bit(std::strerror(errno))));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 077) != 0
        || st.st_size > kMaxSecretBytes) {
        ::close(fd);
        return fail(ErrorCode::Io,
                    QStringLiteral("%1 is not a private file of this user (it must be a regular file, mode 0600, "
                                   "owned by uid %2); not read")
                        .arg(path)
                        .arg(::geteuid()));
    }
    QByteArray data(qsizetype(st.st_size), '\0');
    qsizetype got = 0;
    while (got < data.size()) {
        const ssize_t n = ::read(fd, data.data() + got, size_t(data.size() - got));
        if (n <= 0)
            break;
        got += n;
    }
    ::close(fd);
    data.truncate(got);
    return data;
}

Result<void> writePrivateFile(const QString &path, const QByteArray &data)
{
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly))
        return fail(ErrorCode::Io, QStringLiteral("cannot write %1: %2").arg(path, f.errorString()));
    f.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    ::fchmod(f.handle(), 0600);
    f.write(data);
    if (!f.commit())
        return fail(ErrorCode::Io, QStringLiteral("cannot write %1: %2").arg(path, f.errorString()));
    return {};
}

} // namespace

QString nameOf(SecretPlace place)
{
    return place == SecretPlace::Keychain ? QStringLiteral("keychain") : QStringLiteral("file");
}

SecretStore::SecretStore(QString dir, QString keychainService)
    : m_dir(dir.isEmpty() ? defaultDir() : std::move(dir)), m_service(std::move(keychainService))
{
}

QString SecretStore::defaultDir()
{
    const QString set = qEnvironmentVariable("AIRLOCK_SECRETS_DIR");
    if (!set.isEmpty())
        return set;
    return QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation) + QStringLiteral("/airlock/secrets");
}

bool SecretStore::isValidName(const QString &name)
{
    static const QRegularExpression re(QStringLiteral("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"));
    return re.match(name).hasMatch();
}

QString SecretStore::filePath(const QString &name) const
{
    return m_dir + u'/' + name;
}

Result<void> SecretStore::ensureDir() const
{
    if (!QDir().mkpath(m_dir))
        return fail(ErrorCode::Io, QStringLiteral("cannot create %1").arg(m_dir));
    if (::chmod(QFile::encodeName(m_dir).constData(), 0700) != 0)
        return fail(ErrorCode::Io, QStringLiteral("cannot make %1 private").arg(m_dir));
    return {};
}

Result<QList<StoredSecret>> SecretStore::list() const
{
    QList<StoredSecret> out;
    auto index = readPrivateFile(m_dir + QStringLiteral("/index.json"));
    if (!index) {
        if (index.error().code == ErrorCode::NotFound)
            return out;
        return std::unexpected(index.error());
    }
    const QJsonArray entries = QJsonDocument::fromJson(*index).object().value(QStringLiteral("secrets")).toArray();
    for (const QJsonValue &v : entries) {
        StoredSecret s;
        s.name = v[QStringLiteral("name")].toString();
        if (!isValidName(s.name))
            continue;
        s.place = v[QStringLiteral("place")].toString() == QLatin1String("keychain") ? SecretPlace::Keychain : SecretPlace::File;
        s.updated = v[QStringLiteral("updated")].toInteger();
        out.append(s);
    }
    return out;
}

Result<void> SecretStore::writeIndex(const QList<StoredSecret> &entries) const
{
    QJsonArray list;
    for (const StoredSecret &s : entries)
        list.append(QJsonObject{{QStringLiteral("name"), s.name}, {QStringLiteral("place"), nameOf(s.place)},
                                {QStringLiteral("updated"), s.updated}});
    return writePrivateFile(m_dir + QStringLiteral("/index.json"),
                            QJsonDocument(QJsonObject{{QStringLiteral("secrets"), list}}).toJson());
}

Result<SecretPlace> SecretStore::set(const QString &name, const QByteArray &value, std::optional<SecretPlace> where)
{
    if (!isValidName(name))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("'%1' is not a secret name: use letters, digits, '.', '_' "
                                                               "and '-', at most 64")
                                                    .arg(name.left(80)));
    const QByteArray trimmed = value.trimmed();
    if (trimmed.isEmpty())
        return fail(ErrorCode::InvalidArgument, QStringLiteral("the value is empty"));
    if (trimmed.size() > kMaxSecretBytes || trimmed.contains('\n') || trimmed.contains('\r') || trimmed.contains('\0'))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("the value has a line break or NUL in it, or is over 64 KiB, "
                                                               "so it cannot go into a header"));
    auto entries = list();
    if (!entries)
        return std::unexpected(entries.error());
    if (auto ok = ensureDir(); !ok)
        return std::unexpected(ok.error());
    SecretPlace place = SecretPlace::File;
    if (where != SecretPlace::File) {
        const KeychainStatus keychain = keychainStatus();
        if (keychain.state == KeychainState::Absent && where == SecretPlace::Keychain)
            return fail(ErrorCode::Io, QStringLiteral("no keychain runs here (no Secret Service on the session bus)%1")
                                                    .arg(keychain.detail.isEmpty() ? QString() : QStringLiteral(": ") + keychain.detail));
        if (keychain.state == KeychainState::Locked || keychain.state == KeychainState::NoCollection)
            return fail(ErrorCode::Io, QStringLiteral("cannot store '%1': %2").arg(name, keychainAdvice(keychain, name)));
        if (keychain.state == KeychainState::Ready)
            place = SecretPlace::Keychain;
    }
    if (place == SecretPlace::Keychain) {
        auto *job = new QKeychain::WritePasswordJob(m_service);
        job->setKey(name);
        job->setBinaryData(trimmed);
        if (auto r = runJob(job, QStringLiteral("storing '%1'").arg(name)); !r) {
            // Locked between the question and the write: say it the same way.
            const QString advice = keychainAdvice(keychainStatus(), name);
            return fail(r.error().code, advice.isEmpty() ? r.error().message : QStringLiteral("cannot store '%1': %2").arg(name, advice));
        }
        QFile::remove(filePath(name));
    } else if (auto r = writePrivateFile(filePath(name), trimmed); !r) {
        return std::unexpected(r.error());
    }
    entries->removeIf([&](const StoredSecret &s) { return s.name == name; });
    entries->append({name, place, QDateTime::currentMSecsSinceEpoch()});
    if (auto r = writeIndex(*entries); !r)
        return std::unexpected(r.error());
    return place;
}

std::optional<QByteArray> SecretStore::fileValue(const QString &name) const
{
    if (!isValidName(name))
        return std::nullopt;
    auto r = readPrivateFile(filePath(name));
    if (!r)
        return std::nullopt;
    return r->trimmed();
}

Result<bool> SecretStore::remove(const QString &name)
{
    if (!isValidName(name))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("'%1' is not a secret name").arg(name.left(80)));
    auto entries = list();
    if (!entries)
        return std::unexpected(entries.error());
    const auto entry = std::find_if(entries->cbegin(), entries->cend(), [&](const StoredSecret &s) { return s.name == name; });
    const bool inKeychain = entry == entries->cend() || entry->place == SecretPlace::Keychain;
    bool found = false;
    if (inKeychain) {
        const KeychainStatus keychain = keychainStatus();
        if (keychain.state == KeychainState::Ready) {
            auto *job = new QKeychain::DeletePasswordJob(m_service);
            job->setKey(name);
            auto r = runJob(job, QStringLiteral("removing '%1'").arg(name));
            if (r)
                found = true;
            else if (r.error().code != ErrorCode::NotFound)
                return std::unexpected(r.error());
        } else if (entry != entries->cend() && keychain.state != KeychainState::Absent) {
            // Dropping the name while the value stays in a locked keychain would only hide it.
            return fail(ErrorCode::Io, QStringLiteral("'%1' is in the keychain, which is %2; nothing was removed: unlock the "
                                                      "keychain and try again")
                                           .arg(name, keychain.state == KeychainState::Locked ? QStringLiteral("locked")
                                                                                              : QStringLiteral("without its collection")));
        }
    }
    found |= QFile::remove(filePath(name));
    const qsizetype before = entries->size();
    entries->removeIf([&](const StoredSecret &s) { return s.name == name; });
    found |= entries->size() != before;
    if (entries->size() != before) {
        if (auto r = writeIndex(*entries); !r)
            return std::unexpected(r.error());
    }
    return found;
}

} // namespace airlock::egress
