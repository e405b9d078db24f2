#include "egress/egressproxy.h"

#include "egress/sessiontable.h"
#include "store/event.h"
#include "store/eventstore.h"

#include <QDateTime>
#include <QFile>
#include <QFileInfo>

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace airlock::egress {

namespace {

struct Listening {
    int fd = -1;
    quint64 dev = 0;
    quint64 inode = 0;
};

QString errnoText(int err)
{
    return QString::fromLocal8Bit(std::strerror(err));
}

bool fillAddress(sockaddr_un &addr, const QByteArray &path)
{
    addr = {};
    addr.sun_family = AF_UNIX;
    if (path.size() >= qsizetype(sizeof addr.sun_path))
        return false;
    std::memcpy(addr.sun_path, path.constData(), size_t(path.size()) + 1);
    return true;
}

// A stale socket (nobody accepting) may be replaced; a live one or any other file may not.
Result<void> clearStale(const QString &path, const QByteArray &native)
{
    struct stat st{};
    if (::lstat(native.constData(), &st) != 0)
        return {};
    if (!S_ISSOCK(st.st_mode))
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("%1 exists and is not a socket; Airlock will not replace it").arg(path));
    // Non-blocking, so a live listener with a full backlog answers EAGAIN instead of stalling us.
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un addr;
    fillAddress(addr, native);
    const bool live = probe >= 0
                      && (::connect(probe, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0 || errno == EAGAIN
                          || errno == EINPROGRESS);
    if (probe >= 0)
        ::close(probe);
    if (live)
        return fail(ErrorCode::Busy, QStringLiteral("%1 is already served by another process").arg(path));
    ::unlink(native.constData());
    return {};
}

// Binds under a temporary name, sets the mode, listens, then renames into place: the path existing
// means connections are accepted, and it never exists with looser permissions.
Result<Listening> listenUnix(const QString &path, int mode)
{
    const QByteArray native = QFile::encodeName(QFileInfo(path).absoluteFilePath());
    const QByteArray temp = native + ".tmp" + QByteArray::number(::getpid());
    sockaddr_un addr;
    if (!fillAddress(addr, temp))
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("the socket path %1 is too long (a unix socket path has at most %2 bytes)")
                        .arg(path)
                        .arg(sizeof addr.sun_path - 8));
    if (auto r = clearStale(path, native); !r)
        return std::unexpected(r.error());
    ::unlink(temp.constData());
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return fail(ErrorCode::Io, QStringLiteral("cannot create a socket: ") + errnoText(errno));
    const auto failWith = [&](const QString &what) {
        const int err = errno;
        ::close(fd);
        ::unlink(temp.constData());
        return fail(ErrorCode::Io, QStringLiteral("%1 %2: %3").arg(what, path, errnoText(err)));
    };
    if (::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0)
        return failWith(QStringLiteral("cannot bind"));
    if (::chmod(temp.constData(), mode_t(mode)) != 0)
        return failWith(QStringLiteral("cannot set the permissions of"));
    if (::listen(fd, 128) != 0)
        return failWith(QStringLiteral("cannot listen on"));
    if (::rename(temp.constData(), native.constData()) != 0)
        return failWith(QStringLiteral("cannot move the socket into place at"));
    struct stat st{};
    if (::lstat(native.constData(), &st) != 0)
        return failWith(QStringLiteral("cannot stat"));
    return Listening{fd, quint64(st.st_dev), quint64(st.st_ino)};
}

Result<void> checkSecrets(const policy::Policy &policy)
{
    for (const policy::Secret &s : policy.secrets) {
        const QByteArray header = s.header.toLatin1();
        if (header.isEmpty() || !std::all_of(header.cbegin(), header.cend(), isTokenChar))
            return fail(ErrorCode::InvalidArgument,
                        QStringLiteral("the secret '%1' names '%2', which is not an HTTP header name").arg(s.name, s.header));
    }
    return {};
}

} // namespace

EgressProxy::EgressProxy(Options options, QObject *parent)
    : QObject(parent), m_store(options.store), m_table(std::make_shared<SessionTable>())
{
    qRegisterMetaType<airlock::egress::EgressRecord>();
    qRegisterMetaType<airlock::egress::RuntimeRule>();
    qRegisterMetaType<airlock::Error>();

    ProxyEngine::Config config;
    config.store = options.store;
    config.storePath = options.store && options.ruleWatchIntervalMs > 0 ? options.store->path() : QString();
    config.resolver = options.resolver ? options.resolver : std::make_shared<SystemResolver>();
    config.secrets = options.secrets ? options.secrets : std::make_shared<SystemSecretProvider>();
    config.extraCaFile = options.extraCaFile;
    config.limits = options.limits;
    config.ruleWatchIntervalMs = options.ruleWatchIntervalMs;

    m_engine = new ProxyEngine(std::move(config), m_table);
    m_engine->moveToThread(&m_thread);
    m_thread.setObjectName(QStringLiteral("airlock-egress"));
    // Deleted on its own thread as the thread finishes, with its sockets and timers.
    QObject::connect(&m_thread, &QThread::finished, m_engine, &QObject::deleteLater);
    QObject::connect(m_engine, &ProxyEngine::connectionOpened, this, &EgressProxy::connectionOpened);
    QObject::connect(m_engine, &ProxyEngine::connectionClosed, this, &EgressProxy::connectionClosed);
    QObject::connect(m_engine, &ProxyEngine::ruleAdded, this, &EgressProxy::ruleAdded);
    QObject::connect(m_engine, &ProxyEngine::failed, this, &EgressProxy::failed);
    m_thread.start();
    QMetaObject::invokeMethod(m_engine, &ProxyEngine::start, Qt::QueuedConnection);
}

EgressProxy::~EgressProxy()
{
    QMetaObject::invokeMethod(m_engine, &ProxyEngine::shutdown, Qt::BlockingQueuedConnection);
    m_thread.quit();
    m_thread.wait();
}

Result<void> EgressProxy::addSandbox(const Sandbox &sandbox)
{
    const QString key = sandbox.key();
    if (!store::isValidSessionId(key))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("'%1' is not a session or sandbox id").arg(key));
    if (!sandbox.session.isEmpty() && !sandbox.sandbox.isEmpty() && !store::isValidSessionId(sandbox.sandbox))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("'%1' is not a sandbox id").arg(sandbox.sandbox));
    if (m_table->contains(key))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("the egress proxy already serves %1").arg(key));
    if (auto r = checkSecrets(sandbox.policy); !r)
        return r;
    auto listening = listenUnix(sandbox.socketPath, sandbox.socketMode);
    if (!listening)
        return std::unexpected(listening.error());
    m_table->setPolicy(key, sandbox.policy);
    m_table->setOrigin(key, !sandbox.session.isEmpty(), sandbox.sandbox);
    const bool isSession = !sandbox.session.isEmpty();
    const QString path = QFileInfo(sandbox.socketPath).absoluteFilePath();
    const Listening l = *listening;
    ProxyEngine *engine = m_engine;
    // Queued in this order, so the session's stored rules are in force before its first connection.
    if (isSession)
        QMetaObject::invokeMethod(engine, [engine, key] { engine->loadStoredRules(key); }, Qt::QueuedConnection);
    QMetaObject::invokeMethod(engine, [engine, key, l, path] {
        engine->adoptListener(key, qintptr(l.fd), path, l.dev, l.inode);
    }, Qt::QueuedConnection);
    return {};
}

void EgressProxy::removeSandbox(const QString &session)
{
    m_table->remove(session);
    ProxyEngine *engine = m_engine;
    QMetaObject::invokeMethod(engine, [engine, session] { engine->closeSandbox(session); }, Qt::QueuedConnection);
}

Result<void> EgressProxy::setPolicy(const QString &session, const policy::Policy &policy)
{
    if (!m_table->contains(session))
        return fail(ErrorCode::NotFound, QStringLiteral("the egress proxy does not serve session %1").arg(session));
    if (auto r = checkSecrets(policy); !r)
        return r;
    m_table->setPolicy(session, policy);
    return {};
}

Result<RuntimeRule> EgressProxy::addRule(const QString &session, Verdict verdict, const QString &pattern,
                                         const QString &origin, const QString &note)
{
    auto normalized = RuntimeRule::normalizePattern(pattern);
    if (!normalized)
        return std::unexpected(normalized.error());
    if (!m_table->contains(session))
        return fail(ErrorCode::NotFound, QStringLiteral("the egress proxy does not serve session %1").arg(session));
    RuntimeRule rule;
    rule.session = session;
    rule.verdict = verdict;
    rule.pattern = *normalized;
    rule.origin = origin;
    rule.note = note;
    rule.time = QDateTime::currentMSecsSinceEpoch();
    if (!m_table->addRule(rule))
        return rule; // already in force
    if (const auto state = m_table->get(session); m_store && state && state->isSession) {
        if (auto r = m_store->append(session, QString::fromLatin1(kinds::Rule), rule.toJson()); !r)
            qCWarning(lcEgress).noquote() << "egress rule in force but not stored:" << r.error().message;
    }
    Q_EMIT ruleAdded(rule);
    return rule;
}

QList<RuntimeRule> EgressProxy::rules(const QString &session) const
{
    const auto state = m_table->get(session);
    return state ? state->runtime : QList<RuntimeRule>{};
}

Result<Decision> EgressProxy::decide(const QString &session, const QString &host, quint16 port) const
{
    const auto state = m_table->get(session);
    if (!state)
        return fail(ErrorCode::NotFound, QStringLiteral("the egress proxy does not serve session %1").arg(session));
    auto normalized = normalizeHost(host);
    if (!normalized)
        return std::unexpected(normalized.error());
    return egress::decide(state->rules, *normalized, port);
}

QStringList EgressProxy::sessions() const
{
    return m_table->sessions();
}

} // namespace airlock::egress
