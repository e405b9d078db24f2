#pragma once
// What airlockctl's sandbox commands (exec, sandbox …, docker run) share: both backends, the policy a
// command names, and the egress proxy that serves the network of the sandboxes this process runs.
#include "cli.h"
#include "policy/policylibrary.h"
#include "sandbox/backend.h"

#include <QPointer>

#include <memory>

namespace airlock::docker {
class DockerBackend;
}
namespace airlock::egress {
class EgressProxy;
class SandboxEgress;
} // namespace airlock::egress
namespace airlock::sandbox {
class LocalBackend;
}
namespace airlock::store {
class EventStore;
}

namespace airlock::cli {

// A saved policy, a preset, or a policy file (a name ending in .json or holding a '/').
Result<policy::PolicyEntry> resolvePolicy(const Context &ctx, const QString &ref);

class SandboxHost
{
public:
    // Sandboxes record their sandbox.* events, and the proxy its egress events, in the store (may be null).
    explicit SandboxHost(store::EventStore *store);
    ~SandboxHost();

    // The backend the policy names, or why it cannot run here.
    Result<sandbox::Backend *> backendFor(const policy::Policy &policy);
    // Creates a sandbox on the policy's backend.
    Result<sandbox::Sandbox *> create(const sandbox::SandboxSpec &spec);
    // A sandbox made earlier (by `sandbox create`, another airlockctl or the window), on either backend.
    Result<sandbox::Sandbox *> find(const QString &id);
    // Every sandbox of both backends; a backend that cannot run here is skipped with a note in skipped.
    QList<sandbox::Sandbox *> all(QStringList *skipped);

    // Serves the running sandbox's network as its policy says: through this process's egress proxy,
    // unless another live Airlock process serves it already. Call before running anything in it.
    Result<void> serveNetwork(sandbox::Sandbox *sandbox);

    sandbox::LocalBackend &local() { return *m_local; }
    docker::DockerBackend &docker();

private:
    store::EventStore *m_store;
    std::unique_ptr<sandbox::LocalBackend> m_local;
    std::unique_ptr<docker::DockerBackend> m_docker; // made when first needed
    std::unique_ptr<egress::EgressProxy> m_proxy;    // made for the first sandbox with a proxy-mode policy
    std::unique_ptr<egress::SandboxEgress> m_egress;
};

// Its state; Destroyed once the object is gone (a backend deletes what it has removed).
sandbox::SandboxState stateOf(const QPointer<sandbox::Sandbox> &guard);
// Waits while the sandbox starts; true when it runs.
bool waitWhileStarting(sandbox::Sandbox *s, int timeoutMs = 60000);
// Destroys it and waits until it is gone; true when it is.
bool waitDestroyed(sandbox::Sandbox *s, int timeoutMs = 20000);

// `airlockctl exec` with its defaults: `docker run` is the same command with the hardened policy and
// an --image option.
struct OneShotDefaults
{
    QString policy = QStringLiteral("standard");
    bool imageOption = false;
};
int runOneShot(const Context &ctx, const OneShotDefaults &defaults);

} // namespace airlock::cli
