#pragma once

#include "error.h"

#include <QHash>
#include <QObject>
#include <QPointer>
#include <QTimer>

namespace airlock::sandbox {
class Backend;
class Sandbox;
} // namespace airlock::sandbox

namespace airlock::egress {

class EgressProxy;

// The network half of a sandbox, for every way a sandbox starts: a session, `airlockctl exec`,
// `sandbox create`/`exec`, `docker run`, the exec console, the hub. A sandbox whose policy sends its
// network through the proxy gets its socket on the process's one EgressProxy as soon as it runs,
// and loses it when it stops; the records of a sandbox in a session go to that session.
//
// A sandbox lives longer than the process that made it (a persistent one, or one another Airlock
// process runs): its socket is served by whichever Airlock process attaches first. One that finds
// the socket served by another live process leaves it alone and looks again every few seconds, so
// the sandbox's network comes back here once that process has gone.
class SandboxEgress : public QObject
{
    Q_OBJECT
public:
    enum class Serving {
        NotNeeded, // its policy has no proxy (network none or host), or it does not run
        Here,      // this process's proxy serves its socket
        Elsewhere, // another Airlock process does
        Unserved,  // nobody does: its policy is unknown, or the socket could not be served (failed())
    };

    explicit SandboxEgress(EgressProxy *proxy, QObject *parent = nullptr);
    ~SandboxEgress() override;

    EgressProxy *proxy() const { return m_proxy; }

    // Every sandbox the backend has now or makes later is attached while it runs.
    void watch(sandbox::Backend *backend);
    // Attaches now, if it runs and its policy asks for the proxy; idempotent. Call it before starting
    // anything in the sandbox that may use the network, so the first connection finds the proxy.
    Result<Serving> attach(sandbox::Sandbox *sandbox);
    void detach(const QString &sandboxId);
    Serving serving(const QString &sandboxId) const;

Q_SIGNALS:
    // The sandbox's network cannot be served; its programs get closed connections.
    void failed(const QString &sandboxId, const airlock::Error &error);

private:
    struct Entry
    {
        QPointer<sandbox::Sandbox> sandbox;
        QString key; // the proxy's name for it, when served here
        Serving serving = Serving::NotNeeded;
    };
    void follow(sandbox::Sandbox *sandbox);
    void recheck();

    QPointer<EgressProxy> m_proxy;
    QHash<QString, Entry> m_entries;
    QTimer m_recheck;
};

QString servingName(SandboxEgress::Serving serving); // not-needed, here, elsewhere, unserved

} // namespace airlock::egress
