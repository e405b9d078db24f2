#pragma once

#include "sandbox/backend.h"
#include "sandbox/limiter.h"

#include <QElapsedTimer>
#include <QHash>
#include <QPointer>

namespace airlock::sandbox {

class LocalSandbox;

struct LocalBackendOptions
{
    QString bwrap;                           // empty: bwrap on PATH
    QString shim;                            // empty: $AIRLOCK_SHIM, else found near the application
    QString runtimeRoot;                     // empty: sandboxRuntimeRoot()
    std::optional<LimitMechanism> limits;    // forced; empty: $AIRLOCK_LIMITS, else the best available
    int startTimeoutMs = 10000;
    int stopGraceMs = 2000;                  // SIGTERM to SIGKILL when stopping
};

// Sandboxes on this machine with bubblewrap (see the README of core/policy for the mounts). bwrap is
// started with only the compiled environment and no secret in its argv, with the seccomp program on
// fd 3, the host-bound control socket on fd 4 and bwrap's --info-fd on 5, in its own session, with
// the limits of limits.h. Each sandbox keeps a state file (sandboxstate.h), so a persistent one is
// found again after a restart while its shim lives.
//
// Ownership: ephemeral and hybrid sandboxes die with the process that made them (bwrap
// --die-with-parent) and this backend removes them when it is destroyed; persistent ones are left
// running. Sandboxes another process owns are listed and usable, but not ended when we go.
class LocalBackend : public Backend
{
    Q_OBJECT
public:
    explicit LocalBackend(LocalBackendOptions options = {}, QObject *parent = nullptr);
    ~LocalBackend() override;

    QString name() const override { return QStringLiteral("local"); }
    std::optional<QString> unavailableReason() const override;
    Result<Sandbox *> create(const SandboxSpec &spec) override;
    QList<Sandbox *> sandboxes() const override;
    void discover() override;

    // Finds one sandbox by id (as discover() would) without touching the others.
    Result<Sandbox *> attach(const QString &id);

    // Runs bwrap once with fresh namespaces; the error says why it cannot work here (for tests and
    // diagnostics: containers often forbid user namespaces).
    static Result<void> probeBwrap(const QString &bwrap = {});

    const LocalBackendOptions &options() const { return m_options; }
    Result<QString> runtimeRoot() const;
    QString bwrapPath() const;
    QString shimPath() const;

    // The limiter sandboxes are prepared with (probed once).
    const Limiter &limiter() const;
    // Processes per pid namespace, from one scan of /proc at most every 500 ms.
    int processesInNamespace(quint64 pidNamespace) const;

private:
    friend class LocalSandbox;
    void adopt(LocalSandbox *sandbox);
    void forget(const QString &id);
    void recordEvent(const QString &session, const QString &kind, const QJsonObject &payload) const
    {
        record(session, kind, payload);
    }
    Result<Sandbox *> discoverOne(const QString &dir);

    LocalBackendOptions m_options;
    QString m_bwrap;
    QString m_shim;
    mutable std::optional<Limiter> m_limiter;
    QHash<QString, QPointer<LocalSandbox>> m_sandboxes;
    mutable QHash<quint64, int> m_nsCounts;
    mutable QElapsedTimer m_nsScanAge;
};

} // namespace airlock::sandbox
