#pragma once

#include "error.h"

#include <QHash>
#include <QHostAddress>
#include <QList>
#include <QMutex>
#include <QString>

#include <functional>
#include <memory>

class QThreadPool;

namespace airlock::egress {

// Turns a host name into addresses for the proxy, which then checks and connects to exactly those
// addresses: nothing resolves the name a second time. A seam, so that tests (which have no DNS) can
// say what a name resolves to.
class Resolver
{
public:
    using Done = std::function<void(Result<QList<QHostAddress>>)>;
    virtual ~Resolver() = default;
    // Calls done exactly once, on any thread; the proxy posts the answer back to its own.
    virtual void resolve(const QString &host, Done done) = 0;
};

// getaddrinfo() on a small pool of worker threads, so a slow DNS server stalls no connection but its
// own. Honours /etc/hosts and nsswitch like every other program on the host.
class SystemResolver : public Resolver
{
public:
    explicit SystemResolver(int threads = 4);
    ~SystemResolver() override;
    void resolve(const QString &host, Done done) override;

private:
    std::unique_ptr<QThreadPool> m_pool;
};

// A fixed table, for tests and demos: unknown names fail as NXDOMAIN would.
class StaticResolver : public Resolver
{
public:
    void add(const QString &host, const QList<QHostAddress> &addresses);
    void resolve(const QString &host, Done done) override;
    int lookups() const;

private:
    mutable QMutex m_mutex;
    QHash<QString, QList<QHostAddress>> m_table;
    int m_lookups = 0;
};

} // namespace airlock::egress
