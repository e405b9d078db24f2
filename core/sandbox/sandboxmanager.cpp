#include "sandbox/sandboxmanager.h"

#include <algorithm>

namespace airlock::sandbox {

namespace {
// Looking for sandboxes made elsewhere costs a folder listing; every fifth refresh is often enough.
constexpr int kDiscoverEvery = 5;
} // namespace

SandboxManager::SandboxManager(QObject *parent) : QObject(parent)
{
    m_refresh.setInterval(2000);
    connect(&m_refresh, &QTimer::timeout, this, &SandboxManager::refresh);
    m_refresh.start();
}

SandboxManager::~SandboxManager()
{
    // Backends end their own sandboxes; nobody is listening for that any more.
    for (Backend *b : std::as_const(m_backends))
        disconnect(b, nullptr, this, nullptr);
    for (Sandbox *s : std::as_const(m_sandboxes))
        disconnect(s, nullptr, this, nullptr);
    qDeleteAll(m_backends);
}

void SandboxManager::addBackend(Backend *backend)
{
    backend->setParent(nullptr);
    m_backends.append(backend);
    connect(backend, &Backend::sandboxAdded, this, [this](Sandbox *s) { track(s); });
    connect(backend, &Backend::sandboxRemoved, this, [this](const QString &id) {
        if (Sandbox *s = m_sandboxes.take(id)) {
            disconnect(s, nullptr, this, nullptr);
            m_lastProcesses.remove(id);
            Q_EMIT sandboxRemoved(id);
        }
    });
    const QList<Sandbox *> existing = backend->sandboxes();
    for (Sandbox *s : existing)
        track(s);
}

Backend *SandboxManager::backend(const QString &name) const
{
    for (Backend *b : m_backends) {
        if (b->name() == name)
            return b;
    }
    return nullptr;
}

void SandboxManager::track(Sandbox *sandbox)
{
    const QString id = sandbox->id();
    if (m_sandboxes.contains(id))
        return;
    m_sandboxes.insert(id, sandbox);
    connect(sandbox, &Sandbox::infoChanged, this, [this, id] { Q_EMIT sandboxChanged(id); });
    Q_EMIT sandboxAdded(id);
}

QList<SandboxInfo> SandboxManager::sandboxes() const
{
    QList<SandboxInfo> out;
    out.reserve(m_sandboxes.size());
    for (Sandbox *s : m_sandboxes)
        out.append(s->info());
    std::sort(out.begin(), out.end(), [](const SandboxInfo &a, const SandboxInfo &b) {
        return a.created != b.created ? a.created < b.created : a.id < b.id;
    });
    return out;
}

std::optional<SandboxInfo> SandboxManager::info(const QString &id) const
{
    if (Sandbox *s = m_sandboxes.value(id))
        return s->info();
    return std::nullopt;
}

Sandbox *SandboxManager::sandbox(const QString &id) const
{
    return m_sandboxes.value(id);
}

Result<Sandbox *> SandboxManager::find(const QString &id) const
{
    if (Sandbox *s = m_sandboxes.value(id))
        return s;
    return fail(ErrorCode::NotFound, QStringLiteral("there is no sandbox %1").arg(id));
}

Result<Sandbox *> SandboxManager::create(const SandboxSpec &spec)
{
    const QString name = policy::nameOf(spec.policy.runtime.backend);
    Backend *b = backend(name);
    if (!b)
        return fail(ErrorCode::NotFound, QStringLiteral("the %1 backend is not available in this Airlock").arg(name));
    Result<Sandbox *> s = b->create(spec);
    if (s)
        track(*s); // usually done already by sandboxAdded
    return s;
}

Result<void> SandboxManager::stop(const QString &id, int graceMs)
{
    Result<Sandbox *> s = find(id);
    if (!s)
        return std::unexpected(s.error());
    (*s)->stop(graceMs);
    return {};
}

Result<void> SandboxManager::destroy(const QString &id)
{
    Result<Sandbox *> s = find(id);
    if (!s)
        return std::unexpected(s.error());
    (*s)->destroy();
    return {};
}

Result<SandboxProcess *> SandboxManager::exec(const QString &id, const ExecRequest &request)
{
    Result<Sandbox *> s = find(id);
    if (!s)
        return std::unexpected(s.error());
    return (*s)->exec(request);
}

void SandboxManager::discover()
{
    for (Backend *b : std::as_const(m_backends))
        b->discover();
}

void SandboxManager::setRefreshInterval(int ms)
{
    if (ms <= 0) {
        m_refresh.stop();
        return;
    }
    m_refresh.start(ms);
}

void SandboxManager::refresh()
{
    if (++m_refreshCount % kDiscoverEvery == 0)
        discover();
    // Uptime moves for every running sandbox; processes only sometimes. Both are worth a row update.
    const auto all = m_sandboxes;
    for (auto it = all.cbegin(); it != all.cend(); ++it) {
        const SandboxInfo i = it.value()->info();
        const int last = m_lastProcesses.value(it.key(), -2);
        if (i.state == SandboxState::Running || i.processes != last) {
            m_lastProcesses.insert(it.key(), i.processes);
            Q_EMIT sandboxChanged(it.key());
        }
    }
}

} // namespace airlock::sandbox
