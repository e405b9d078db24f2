#include "egress/sandboxegress.h"

#include "egress/egressproxy.h"
#include "sandbox/backend.h"

#include <QFile>
#include <QLoggingCategory>

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

Q_DECLARE_LOGGING_CATEGORY(lcEgress)

namespace airlock::egress {

namespace {

constexpr int kRecheckMs = 3000;

// Whether a process listens on the unix socket: a connection is accepted, or queued on a full
// backlog. A file nobody listens on (left by a process that died) refuses.
bool someoneListens(const QString &path)
{
    const QByteArray native = QFile::encodeName(path);
    sockaddr_un addr{};
    if (native.size() >= qsizetype(sizeof addr.sun_path))
        return false;
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, native.constData(), size_t(native.size()) + 1);
    const int r = ::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr);
    const bool listening = r == 0 || errno == EAGAIN || errno == EINPROGRESS;
    ::close(fd); // an empty connection: the other proxy records nothing for it
    return listening;
}

} // namespace

QString servingName(SandboxEgress::Serving serving)
{
    switch (serving) {
    case SandboxEgress::Serving::NotNeeded: return QStringLiteral("not-needed");
    case SandboxEgress::Serving::Here: return QStringLiteral("here");
    case SandboxEgress::Serving::Elsewhere: return QStringLiteral("elsewhere");
    case SandboxEgress::Serving::Unserved: return QStringLiteral("unserved");
    }
    return {};
}

SandboxEgress::SandboxEgress(EgressProxy *proxy, QObject *parent) : QObject(parent), m_proxy(proxy)
{
    m_recheck.setInterval(kRecheckMs);
    connect(&m_recheck, &QTimer::timeout, this, &SandboxEgress::recheck);
}

SandboxEgress::~SandboxEgress()
{
    const QStringList ids = m_entries.keys();
    for (const QString &id : ids)
        detach(id);
}

void SandboxEgress::watch(sandbox::Backend *backend)
{
    connect(backend, &sandbox::Backend::sandboxAdded, this, [this](sandbox::Sandbox *s) { (void)attach(s); });
    connect(backend, &sandbox::Backend::sandboxRemoved, this, [this](const QString &id) {
        detach(id);
        m_entries.remove(id);
    });
    const QList<sandbox::Sandbox *> existing = backend->sandboxes();
    for (sandbox::Sandbox *s : existing)
        (void)attach(s);
}

void SandboxEgress::follow(sandbox::Sandbox *s)
{
    const QString id = s->id();
    Entry &entry = m_entries[id];
    if (entry.sandbox == s)
        return;
    entry.sandbox = s;
    connect(s, &sandbox::Sandbox::stateChanged, this, [this, s](sandbox::SandboxState state) {
        if (state == sandbox::SandboxState::Running || state == sandbox::SandboxState::Starting)
            (void)attach(s);
        else
            detach(s->id());
    });
    connect(s, &QObject::destroyed, this, [this, id] {
        detach(id);
        m_entries.remove(id);
    });
}

Result<SandboxEgress::Serving> SandboxEgress::attach(sandbox::Sandbox *s)
{
    follow(s);
    Entry &entry = m_entries[s->id()];
    if (entry.serving == Serving::Here)
        return Serving::Here;
    const auto &policy = s->policy();
    // From the start on: the proxy is then listening, on a thread of its own, while bwrap sets up,
    // and the sandbox's first connection finds it there.
    const bool live = s->state() == sandbox::SandboxState::Starting || s->isRunning();
    if (!live || (policy && policy->network.mode != policy::NetworkMode::Proxy)) {
        entry.serving = Serving::NotNeeded;
        return Serving::NotNeeded;
    }
    const sandbox::SandboxInfo info = s->info();
    auto unserved = [&](const QString &why) -> Result<Serving> {
        entry.serving = Serving::Unserved;
        const Error error{ErrorCode::Io, tr("sandbox %1 has no network: %2").arg(info.id, why)};
        Q_EMIT failed(info.id, error);
        return std::unexpected(error);
    };
    if (!policy)
        return unserved(tr("the policy it was made with is not known here (it was made by an older Airlock); "
                           "remove it and make it again"));
    if (!m_proxy)
        return unserved(tr("this process has no egress proxy"));
    const QString socketPath = info.controlDir + QStringLiteral("/proxy.sock");
    if (someoneListens(socketPath)) {
        entry.serving = Serving::Elsewhere;
        m_recheck.start();
        return Serving::Elsewhere;
    }
    SandboxSpec spec;
    spec.session = info.sessionId;
    spec.sandbox = info.id;
    spec.socketPath = socketPath;
    spec.policy = *policy;
    // A container's shim runs as another uid, and so does a root launcher's local sandbox (never host
    // uid 0); the control folder itself stays closed to others.
    const bool sameUid = info.backend == QLatin1String("local") && ::geteuid() != 0;
    spec.socketMode = sameUid ? 0600 : 0666;
    if (auto added = m_proxy->addSandbox(spec); !added)
        return unserved(added.error().message);
    entry.key = spec.key();
    entry.serving = Serving::Here;
    qCDebug(lcEgress) << "serving the network of sandbox" << info.id << "as" << entry.key;
    return Serving::Here;
}

void SandboxEgress::detach(const QString &sandboxId)
{
    const auto it = m_entries.find(sandboxId);
    if (it == m_entries.end())
        return;
    if (it->serving == Serving::Here && m_proxy)
        m_proxy->removeSandbox(it->key);
    it->key.clear();
    it->serving = Serving::NotNeeded;
}

SandboxEgress::Serving SandboxEgress::serving(const QString &sandboxId) const
{
    return m_entries.value(sandboxId).serving;
}

void SandboxEgress::recheck()
{
    bool waiting = false;
    const QStringList ids = m_entries.keys();
    for (const QString &id : ids) {
        Entry &entry = m_entries[id];
        if (entry.serving != Serving::Elsewhere || !entry.sandbox)
            continue;
        entry.serving = Serving::NotNeeded;
        const auto now = attach(entry.sandbox);
        waiting = waiting || (now && *now == Serving::Elsewhere);
    }
    if (!waiting)
        m_recheck.stop();
}

} // namespace airlock::egress
