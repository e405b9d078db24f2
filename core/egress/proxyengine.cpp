#include "egress/proxyengine.h"

#include "egress/clientconnection.h"
#include "store/eventstore.h"
#include "store/sqlite.h"

#include <QFile>
#include <QJsonDocument>
#include <QLocalServer>
#include <QSslCertificate>
#include <QTimer>

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

Q_LOGGING_CATEGORY(lcEgress, "airlock.egress", QtWarningMsg)

namespace airlock::egress {

namespace {

// Hands accepted descriptors over raw: the proxy does its own non-blocking I/O on them.
class SandboxServer : public QLocalServer
{
public:
    using QLocalServer::QLocalServer;
    std::function<void(qintptr)> onIncoming;

protected:
    void incomingConnection(quintptr fd) override { onIncoming(qintptr(fd)); }
};

constexpr qsizetype kScratchBytes = 256 * 1024;

Result<QList<RuntimeRule>> readRules(store::Statement &stmt)
{
    QList<RuntimeRule> out;
    while (true) {
        auto row = stmt.step();
        if (!row)
            return std::unexpected(row.error());
        if (!*row)
            break;
        store::Event e;
        e.seq = stmt.columnInt(0);
        e.session = stmt.columnText(1);
        e.kind = QString::fromLatin1(kinds::Rule);
        e.payload = QJsonDocument::fromJson(stmt.columnBytes(2)).object();
        e.time = stmt.columnInt(3);
        auto rule = RuntimeRule::fromEvent(e);
        if (!rule) {
            qCWarning(lcEgress).noquote() << "ignored:" << rule.error().message;
            continue;
        }
        out.append(*rule);
    }
    return out;
}

} // namespace

void PostBox::post(std::function<void()> fn)
{
    std::lock_guard lock(m_mutex);
    if (m_target)
        QMetaObject::invokeMethod(m_target, std::move(fn), Qt::QueuedConnection);
}

void PostBox::close()
{
    std::lock_guard lock(m_mutex);
    m_target = nullptr;
}

ProxyEngine::ProxyEngine(Config config, std::shared_ptr<SessionTable> table)
    : m_config(std::move(config)), m_table(std::move(table)), m_postBox(std::make_shared<PostBox>(this))
{
    m_scratch.resize(kScratchBytes);
}

ProxyEngine::~ProxyEngine()
{
    m_postBox->close();
    shutdown();
}

void ProxyEngine::start()
{
    if (m_config.storePath.isEmpty() || m_config.ruleWatchIntervalMs <= 0)
        return;
    openWatch();
    m_watchTimer = new QTimer(this);
    m_watchTimer->setInterval(m_config.ruleWatchIntervalMs);
    QObject::connect(m_watchTimer, &QTimer::timeout, this, &ProxyEngine::pollRules);
    m_watchTimer->start();
}

bool ProxyEngine::openWatch()
{
    if (m_watch)
        return true;
    if (m_config.storePath.isEmpty())
        return false;
    auto db = store::Connection::open(m_config.storePath, store::Connection::Mode::ReadOnly);
    if (!db) {
        qCWarning(lcEgress).noquote() << "runtime rules are not watched:" << db.error().message;
        return false;
    }
    auto last = db->queryInt("SELECT coalesce(max(seq), 0) FROM events");
    if (!last) {
        qCWarning(lcEgress).noquote() << "runtime rules are not watched:" << last.error().message;
        return false;
    }
    m_watch = std::make_unique<store::Connection>(std::move(*db));
    m_watchSeq = *last;
    return true;
}

void ProxyEngine::loadStoredRules(const QString &session)
{
    if (!openWatch())
        return;
    auto stmt = m_watch->prepare("SELECT seq, session, payload, time FROM events "
                                 "WHERE session = ?1 AND kind = 'egress.rule' ORDER BY seq");
    if (!stmt)
        return;
    stmt->bind(1, session);
    auto rules = readRules(*stmt);
    if (!rules) {
        qCWarning(lcEgress).noquote() << "cannot read the runtime rules of" << session << rules.error().message;
        return;
    }
    for (const RuntimeRule &r : std::as_const(*rules))
        applyRule(r);
}

void ProxyEngine::pollRules()
{
    if (!openWatch())
        return;
    auto version = m_watch->queryInt("PRAGMA data_version");
    if (!version || *version == m_watchDataVersion)
        return;
    m_watchDataVersion = *version;
    // The high-water mark first: a rule committed between the two reads is then seen next time.
    auto last = m_watch->queryInt("SELECT coalesce(max(seq), 0) FROM events");
    if (!last || *last <= m_watchSeq)
        return;
    auto stmt = m_watch->prepare("SELECT seq, session, payload, time FROM events "
                                 "WHERE seq > ?1 AND seq <= ?2 AND kind = 'egress.rule' ORDER BY seq");
    if (!stmt)
        return;
    stmt->bind(1, m_watchSeq);
    stmt->bind(2, *last);
    auto rules = readRules(*stmt);
    if (!rules)
        return;
    m_watchSeq = *last;
    for (const RuntimeRule &r : std::as_const(*rules))
        applyRule(r);
}

void ProxyEngine::applyRule(const RuntimeRule &rule)
{
    if (m_table->addRule(rule))
        Q_EMIT ruleAdded(rule);
}

void ProxyEngine::adoptListener(const QString &session, qintptr fd, const QString &path, quint64 dev, quint64 inode)
{
    auto *server = new SandboxServer(this);
    server->onIncoming = [this, session](qintptr client) { accept(session, client); };
    if (!server->listen(fd)) {
        const QString message = QStringLiteral("cannot serve the egress socket %1: %2").arg(path, server->errorString());
        delete server;
        ::close(int(fd));
        Q_EMIT failed(Error{ErrorCode::Io, message});
        return;
    }
    closeSandbox(session);
    m_listeners.insert(session, Listener{server, path, dev, inode, {}});
}

void ProxyEngine::accept(const QString &session, qintptr fd)
{
    const auto it = m_listeners.find(session);
    if (it == m_listeners.end()) {
        ::close(int(fd));
        return;
    }
    if (it->connections.size() >= m_config.limits.maxConnectionsPerSandbox) {
        const QByteArray busy = proxyResponse(503, QStringLiteral("too many connections from this sandbox (%1)")
                                                       .arg(m_config.limits.maxConnectionsPerSandbox));
        [[maybe_unused]] const auto n = ::send(int(fd), busy.constData(), size_t(busy.size()), MSG_NOSIGNAL | MSG_DONTWAIT);
        ::close(int(fd));
        return;
    }
    auto *connection = new ClientConnection(this, session, fd, this);
    it->connections.append(connection);
    QObject::connect(connection, &ClientConnection::finished, this, [this, session](ClientConnection *c) {
        if (auto l = m_listeners.find(session); l != m_listeners.end())
            l->connections.removeOne(c);
        c->deleteLater();
    });
    connection->start();
}

void ProxyEngine::closeSandbox(const QString &session)
{
    const auto it = m_listeners.find(session);
    if (it == m_listeners.end())
        return;
    Listener listener = *it;
    m_listeners.erase(it);
    listener.server->close();
    delete listener.server;
    // The path is removed only while it is still this socket: a new listener may already be there.
    struct stat st{};
    const QByteArray path = QFile::encodeName(listener.path);
    if (!path.isEmpty() && ::lstat(path.constData(), &st) == 0 && quint64(st.st_dev) == listener.dev
        && quint64(st.st_ino) == listener.inode)
        ::unlink(path.constData());
    for (ClientConnection *c : std::as_const(listener.connections)) {
        c->abort(QStringLiteral("the sandbox's egress was closed"));
        delete c;
    }
}

void ProxyEngine::shutdown()
{
    const QStringList sessions = m_listeners.keys();
    for (const QString &s : sessions)
        closeSandbox(s);
    delete m_watchTimer;
    m_watchTimer = nullptr;
    m_watch.reset();
}

QSslConfiguration ProxyEngine::tlsConfiguration(const QString &sessionCaFile)
{
    // One configuration per extra CA file, read once: the file is the policy's (or the proxy's) choice,
    // and re-reading it per connection would let a change in the middle of a session pass unseen.
    const auto found = m_tls.constFind(sessionCaFile);
    if (found != m_tls.constEnd())
        return *found;
    QSslConfiguration c = QSslConfiguration::defaultConfiguration();
    QList<QSslCertificate> authorities = QSslConfiguration::systemCaCertificates();
    for (const QString &file : {m_config.extraCaFile, sessionCaFile}) {
        if (file.isEmpty())
            continue;
        const QList<QSslCertificate> extra = QSslCertificate::fromPath(file, QSsl::Pem);
        if (extra.isEmpty())
            qCWarning(lcEgress).noquote() << "no certificate could be read from" << file;
        authorities += extra;
    }
    c.setCaCertificates(authorities);
    c.setProtocol(QSsl::TlsV1_2OrLater);
    c.setPeerVerifyMode(QSslSocket::VerifyPeer);
    c.setAllowedNextProtocols({QByteArray(QSslConfiguration::NextProtocolHttp1_1)});
    m_tls.insert(sessionCaFile, c);
    return c;
}

void ProxyEngine::reportOpened(const EgressRecord &record)
{
    Q_EMIT connectionOpened(record);
}

void ProxyEngine::reportClosed(const EgressRecord &record)
{
    if (m_config.store) {
        if (auto r = m_config.store->append(record.session, QString::fromLatin1(kinds::Connection), record.toJson()); !r)
            qCWarning(lcEgress).noquote() << "egress event not stored:" << r.error().message;
    }
    Q_EMIT connectionClosed(record);
}

} // namespace airlock::egress
