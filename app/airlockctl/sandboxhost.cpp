#include "sandboxhost.h"

#include "dockercli.h"
#include "docker/dockerbackend.h"
#include "egress/egressproxy.h"
#include "egress/sandboxegress.h"
#include "policy/codec.h"
#include "sandbox/localbackend.h"
#include "store/eventstore.h"

#include <QEventLoop>
#include <QPointer>
#include <QTimer>

namespace airlock::cli {

Result<policy::PolicyEntry> resolvePolicy(const Context &ctx, const QString &ref)
{
    if (ref.endsWith(QLatin1String(".json")) || ref.contains(u'/')) {
        auto p = policy::loadPolicyFile(ref);
        if (!p)
            return std::unexpected(p.error());
        policy::PolicyEntry entry;
        entry.name = ref;
        entry.policy = *p;
        return entry;
    }
    auto reader = openReader(ctx.dbPath);
    if (!reader)
        return std::unexpected(reader.error());
    return policy::findPolicy(*reader, ref);
}

SandboxHost::SandboxHost(store::EventStore *store) : m_store(store), m_local(std::make_unique<sandbox::LocalBackend>())
{
    m_local->setEventStore(store);
}

SandboxHost::~SandboxHost()
{
    m_egress.reset(); // closes the sockets it serves, before the backends and the proxy go
}

docker::DockerBackend &SandboxHost::docker()
{
    if (!m_docker) {
        m_docker = std::make_unique<docker::DockerBackend>();
        m_docker->setEventStore(m_store);
        QObject::connect(m_docker.get(), &sandbox::Backend::sandboxAdded, m_docker.get(), [](sandbox::Sandbox *s) {
            if (auto *box = qobject_cast<docker::DockerSandbox *>(s))
                QObject::connect(box, &docker::DockerSandbox::outOfMemory, box, [box] {
                    dockercli::note(QStringLiteral("airlockctl: a process in sandbox %1 was killed for running out of memory").arg(box->id()));
                });
        });
    }
    return *m_docker;
}

Result<sandbox::Backend *> SandboxHost::backendFor(const policy::Policy &policy)
{
    sandbox::Backend *backend = policy.runtime.backend == policy::Backend::Docker ? static_cast<sandbox::Backend *>(&docker())
                                                                                  : m_local.get();
    if (auto why = backend->unavailableReason())
        return fail(ErrorCode::Io, QStringLiteral("the policy runs on the %1 backend, which cannot run here: %2").arg(backend->name(), *why));
    return backend;
}

Result<sandbox::Sandbox *> SandboxHost::create(const sandbox::SandboxSpec &spec)
{
    auto backend = backendFor(spec.policy);
    if (!backend)
        return std::unexpected(backend.error());
    return (*backend)->create(spec);
}

Result<sandbox::Sandbox *> SandboxHost::find(const QString &id)
{
    auto local = m_local->attach(id);
    if (local || local.error().code != ErrorCode::NotFound)
        return local;
    if (docker().unavailableReason())
        return local;
    if (sandbox::Sandbox *known = docker().sandbox(id))
        return known;
    // Adopts the daemon's containers of persistent sandboxes (and of live Airlock processes).
    (void)dockercli::await(docker().reconcile());
    if (sandbox::Sandbox *adopted = docker().sandbox(id))
        return adopted;
    return fail(ErrorCode::NotFound, QStringLiteral("no sandbox named %1, on bubblewrap or on Docker").arg(id));
}

QList<sandbox::Sandbox *> SandboxHost::all(QStringList *skipped)
{
    m_local->discover();
    QList<sandbox::Sandbox *> out = m_local->sandboxes();
    if (auto why = docker().unavailableReason()) {
        if (skipped)
            *skipped << QStringLiteral("docker: ") + *why;
        return out;
    }
    if (auto reconciled = dockercli::await(docker().reconcile()); !reconciled) {
        if (skipped)
            *skipped << QStringLiteral("docker: ") + reconciled.error().message;
        return out;
    }
    return out + docker().sandboxes();
}

Result<void> SandboxHost::serveNetwork(sandbox::Sandbox *s)
{
    const auto &policy = s->policy();
    if (policy && policy->network.mode != policy::NetworkMode::Proxy)
        return {};
    if (!m_egress) {
        egress::ProxyOptions options;
        options.store = m_store;
        m_proxy = std::make_unique<egress::EgressProxy>(options);
        m_egress = std::make_unique<egress::SandboxEgress>(m_proxy.get());
    }
    auto served = m_egress->attach(s);
    if (!served)
        return std::unexpected(served.error());
    return {};
}

sandbox::SandboxState stateOf(const QPointer<sandbox::Sandbox> &guard)
{
    const sandbox::Sandbox *s = guard.data(); // read once: a backend deletes what it has removed
    return s ? s->state() : sandbox::SandboxState::Destroyed;
}

bool waitWhileStarting(sandbox::Sandbox *s, int timeoutMs)
{
    QPointer<sandbox::Sandbox> guard(s);
    const auto state = [&] { return stateOf(guard); };
    QTimer timeout;
    timeout.setSingleShot(true);
    QEventLoop loop;
    QObject::connect(&timeout, &QTimer::timeout, &loop, &QEventLoop::quit);
    QObject::connect(s, &sandbox::Sandbox::stateChanged, &loop, [&] {
        if (state() != sandbox::SandboxState::Starting)
            loop.quit();
    });
    QObject::connect(s, &QObject::destroyed, &loop, &QEventLoop::quit);
    if (state() == sandbox::SandboxState::Starting) {
        if (timeoutMs >= 0)
            timeout.start(timeoutMs);
        loop.exec();
    }
    return state() == sandbox::SandboxState::Running;
}

bool waitDestroyed(sandbox::Sandbox *s, int timeoutMs)
{
    QPointer<sandbox::Sandbox> guard(s);
    const auto gone = [&] { return stateOf(guard) == sandbox::SandboxState::Destroyed; };
    QEventLoop loop;
    QTimer timeout;
    timeout.setSingleShot(true);
    QObject::connect(&timeout, &QTimer::timeout, &loop, &QEventLoop::quit);
    QObject::connect(s, &QObject::destroyed, &loop, &QEventLoop::quit);
    QObject::connect(s, &sandbox::Sandbox::stateChanged, &loop, [&](sandbox::SandboxState st) {
        // A sandbox whose removal failed stays Failed: waiting longer changes nothing.
        if (st == sandbox::SandboxState::Destroyed || st == sandbox::SandboxState::Failed)
            loop.quit();
    });
    s->destroy();
    if (!gone()) {
        timeout.start(timeoutMs);
        loop.exec();
    }
    return gone();
}

} // namespace airlock::cli
