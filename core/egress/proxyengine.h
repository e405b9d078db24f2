#pragma once

#include "egress/egressrecord.h"
#include "egress/httphead.h"
#include "egress/resolver.h"
#include "egress/secrets.h"
#include "egress/sessiontable.h"

#include <QHash>
#include <QLoggingCategory>
#include <QObject>
#include <QSslConfiguration>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>

Q_DECLARE_LOGGING_CATEGORY(lcEgress)

class QLocalServer;
class QTimer;

namespace airlock::store {
class EventStore;
class Connection;
}

namespace airlock::egress {

class ClientConnection;

// Posts work to the proxy thread from any thread (a resolver's worker, say) and drops it once the
// engine is gone, so a late answer never reaches a deleted object.
class PostBox
{
public:
    explicit PostBox(QObject *target) : m_target(target) {}
    void post(std::function<void()> fn);
    void close();

private:
    std::mutex m_mutex;
    QObject *m_target;
};

struct ProxyLimits {
    HeadLimits head;
    int headTimeoutMs = 30000;       // a request head must arrive within this, once started
    int idleTimeoutMs = 120000;      // a kept-alive connection with no new request is closed
    int connectTimeoutMs = 15000;    // resolution, connect and TLS handshake together
    int maxConnectionsPerSandbox = 256;
    qint64 highWaterBytes = 1 << 20; // stop reading a side while the other has this much queued
};

// The part of the proxy that lives on its thread: listeners, connections, the store watcher. Only
// EgressProxy talks to it, through queued calls; connections reach back through the accessors.
class ProxyEngine : public QObject
{
    Q_OBJECT
public:
    struct Config {
        store::EventStore *store = nullptr;
        QString storePath;                       // where runtime rules are watched; empty: not watched
        std::shared_ptr<Resolver> resolver;
        std::shared_ptr<SecretProvider> secrets;
        QString extraCaFile;
        ProxyLimits limits;
        int ruleWatchIntervalMs = 250;
    };

    ProxyEngine(Config config, std::shared_ptr<SessionTable> table);
    ~ProxyEngine() override;

    // Proxy thread only.
    void start();
    // Serves an already listening socket; path is removed on close if it is still that socket's.
    void adoptListener(const QString &session, qintptr fd, const QString &path, quint64 dev, quint64 inode);
    void closeSandbox(const QString &session);
    void loadStoredRules(const QString &session);
    void pollRules();
    void shutdown();

    const Config &config() const { return m_config; }
    const ProxyLimits &limits() const { return m_config.limits; }
    SessionTable &table() { return *m_table; }
    quint64 nextId() { return ++m_lastId; }
    const std::shared_ptr<PostBox> &postBox() const { return m_postBox; }
    // TLS towards upstreams: the system store, the proxy's extra CA file and the session's (policy) one.
    QSslConfiguration tlsConfiguration(const QString &sessionCaFile = {});
    // One read buffer for every connection: they all run on this thread, one at a time.
    char *scratch() { return m_scratch.data(); }
    qint64 scratchSize() const { return qint64(m_scratch.size()); }

    void reportOpened(const EgressRecord &record);
    void reportClosed(const EgressRecord &record);

Q_SIGNALS:
    void connectionOpened(const airlock::egress::EgressRecord &record);
    void connectionClosed(const airlock::egress::EgressRecord &record);
    void ruleAdded(const airlock::egress::RuntimeRule &rule);
    void failed(const airlock::Error &error);

private:
    struct Listener {
        QLocalServer *server = nullptr;
        QString path;
        quint64 dev = 0;
        quint64 inode = 0;
        QList<ClientConnection *> connections;
    };
    void accept(const QString &session, qintptr fd);
    void applyRule(const RuntimeRule &rule);
    bool openWatch();

    Config m_config;
    std::shared_ptr<SessionTable> m_table;
    std::shared_ptr<PostBox> m_postBox;
    QHash<QString, Listener> m_listeners;
    quint64 m_lastId = 0;
    QHash<QString, QSslConfiguration> m_tls; // by the session's extra CA file
    QByteArray m_scratch;
    std::unique_ptr<store::Connection> m_watch;
    qint64 m_watchDataVersion = -1;
    qint64 m_watchSeq = 0;
    QTimer *m_watchTimer = nullptr;
};

} // namespace airlock::egress
