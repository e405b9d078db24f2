#include "egress/resolver.h"

#include <QThreadPool>

#include <netdb.h>
#include <sys/socket.h>

namespace airlock::egress {

namespace {

Result<QList<QHostAddress>> lookup(const QString &host)
{
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo *list = nullptr;
    const QByteArray name = host.toLatin1();
    const int rc = ::getaddrinfo(name.constData(), nullptr, &hints, &list);
    if (rc != 0) {
        const ErrorCode code = rc == EAI_NONAME || rc == EAI_NODATA ? ErrorCode::NotFound : ErrorCode::Io;
        return fail(code, QStringLiteral("cannot resolve %1: %2").arg(host, QString::fromLocal8Bit(::gai_strerror(rc))));
    }
    QList<QHostAddress> out;
    for (const addrinfo *ai = list; ai; ai = ai->ai_next) {
        const QHostAddress a(ai->ai_addr);
        if (!a.isNull() && !out.contains(a))
            out.append(a);
    }
    ::freeaddrinfo(list);
    if (out.isEmpty())
        return fail(ErrorCode::NotFound, QStringLiteral("%1 has no address").arg(host));
    return out;
}

} // namespace

SystemResolver::SystemResolver(int threads) : m_pool(std::make_unique<QThreadPool>())
{
    m_pool->setMaxThreadCount(std::max(1, threads));
    m_pool->setExpiryTimeout(30000);
}

SystemResolver::~SystemResolver()
{
    m_pool->waitForDone();
}

void SystemResolver::resolve(const QString &host, Done done)
{
    m_pool->start([host, done = std::move(done)] { done(lookup(host)); });
}

void StaticResolver::add(const QString &host, const QList<QHostAddress> &addresses)
{
    QMutexLocker lock(&m_mutex);
    m_table.insert(host, addresses);
}

void StaticResolver::resolve(const QString &host, Done done)
{
    QList<QHostAddress> found;
    {
        QMutexLocker lock(&m_mutex);
        ++m_lookups;
        found = m_table.value(host);
    }
    if (found.isEmpty())
        done(fail(ErrorCode::NotFound, QStringLiteral("cannot resolve %1: name not known").arg(host)));
    else
        done(found);
}

int StaticResolver::lookups() const
{
    QMutexLocker lock(&m_mutex);
    return m_lookups;
}

} // namespace airlock::egress
