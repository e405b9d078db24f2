#pragma once

#include "error.h"
#include "policy/policy.h"
#include "sandbox/shimprotocol.h"
#include "store/eventstore.h"

#include <QDateTime>
#include <QFuture>
#include <QHash>
#include <QJsonObject>
#include <QObject>
#include <QPointer>

#include <optional>


// The sandbox contract (ARCHITECTURE.md): a backend turns a policy and a workspace into an isolated
// environment whose first process is airlock-shim, reachable over its control socket. Everything a
// caller does inside (exec, files) goes through the shim, so only starting, stopping, finding and
// removing sandboxes differ between backends; the Docker backend derives from the same two classes.

namespace airlock::sandbox {

class ShimClient;

enum class SandboxState {
    Starting,  // being launched, or being re-attached after a restart
    Running,   // the shim answers
    Stopping,
    Stopped,   // nothing runs; its record stays until destroyed
    Failed,    // it could not start or its shim broke; nothing runs
    Destroyed, // every host-side trace is gone
};
QString stateName(SandboxState state);
std::optional<SandboxState> parseState(QStringView text);

// How memory, process and CPU limits are enforced, strongest first.
enum class LimitMechanism { SystemdScope, CgroupV2, CgroupV1, Rlimits, None };
QString mechanismName(LimitMechanism mechanism); // systemd-scope, cgroup-v2, cgroup-v1, rlimits, none
std::optional<LimitMechanism> parseMechanism(QStringView text);

// What a sandbox's limits really are, for the UI, the CLI and the event log.
struct LimitReport
{
    LimitMechanism mechanism = LimitMechanism::None;
    QString where;             // the cgroup folder(s) or systemd unit, when there is one
    QStringList enforced;      // "memory 256 MiB: cgroup v1 memory.limit_in_bytes"
    QStringList unenforced;    // asked for by the policy, but nothing here can enforce it, and why

    QJsonObject toJson() const;
    static LimitReport fromJson(const QJsonObject &object);
    bool operator==(const LimitReport &) const = default;
};

struct SandboxSpec
{
    policy::Policy policy;
    QString policyName;        // how the user knows it: a preset id or a saved name
    QString workspace;         // host folder, absolute
    QString sessionId;         // empty: not part of a session
    QString id;                // empty: the backend picks one
    // The CLI's sandboxes must outlive the command that made them, whatever the policy says.
    std::optional<policy::Lifecycle> lifecycle;
    // A host folder kept as the sandbox's home (/home/agent) across runs of one session; the backend
    // creates it and gives it to the user the sandbox runs as. Empty: the policy's tmpfs, or none.
    QString agentHome = {};

    policy::Lifecycle effectiveLifecycle() const { return lifecycle.value_or(policy.lifecycle); }
};

// A snapshot for lists: everything the Sandboxes dock and `airlockctl sandbox list` show.
struct SandboxInfo
{
    QString id;
    QString backend;
    QString policyName;
    QString policyHash;
    QString workspace;
    QString sessionId;
    policy::Lifecycle lifecycle = policy::Lifecycle::Ephemeral;
    SandboxState state = SandboxState::Starting;
    QString message;           // why it failed or stopped
    LimitReport limits;
    QDateTime created;         // UTC
    QDateTime deadline;        // the policy's wall clock runs out; invalid when none
    qint64 uptimeMs = 0;       // while it runs
    int processes = -1;        // -1: unknown
    qint64 hostPid = 0;        // the outermost process on this host; 0 when none
    QString uidMapping;        // "0 -> 1000": the uid inside and the host uid it stands for
    QString controlDir;        // the host folder bound at /airlock/control (shim and proxy sockets)
    bool owned = true;         // false: another Airlock process started it and ends it

    QJsonObject toJson() const;
};

// One command running in a sandbox. It belongs to the sandbox; delete it (deleteLater) once it has
// finished or failed, or leave it to go with the sandbox.
class SandboxProcess : public QObject
{
    Q_OBJECT
public:
    quint32 requestId() const { return m_id; }
    qint64 pid() const { return m_pid; } // inside the sandbox; 0 until started()
    bool isFinished() const { return m_done; }
    const std::optional<ExitStatus> &exitStatus() const { return m_status; }

    void writeStdin(QByteArrayView data);
    void closeStdin();
    // signal 0: SIGTERM to its process group, SIGKILL after graceMs (-1: the request's own grace).
    QFuture<Result<void>> kill(int signal = 0, int graceMs = -1);

Q_SIGNALS:
    void started(qint64 pid);
    void stdoutReceived(const QByteArray &chunk);
    void stderrReceived(const QByteArray &chunk);
    // It closed its stdout and runs on: nothing more comes on stdout (finished() follows later).
    void stdoutClosed();
    void finished(const airlock::sandbox::ExitStatus &status);
    // It never ran (no such program, bad cwd) or the sandbox went away under it.
    void failed(const airlock::Error &error);

private:
    friend class Sandbox;
    SandboxProcess(ShimClient *client, quint32 id, QObject *parent);

    QPointer<ShimClient> m_client;
    quint32 m_id = 0;
    qint64 m_pid = 0;
    bool m_done = false;
    std::optional<ExitStatus> m_status;
    std::optional<quint64> m_oomKillsAtStart; // the sandbox's OOM kill count when it started
};

// A sandbox of any backend. The base class owns the connection to the shim and serves exec and
// files through it; a backend supplies launching, stopping and removing.
class Sandbox : public QObject
{
    Q_OBJECT
public:
    ~Sandbox() override;

    SandboxInfo info() const;
    QString id() const { return m_info.id; }
    SandboxState state() const { return m_info.state; }
    bool isRunning() const { return m_info.state == SandboxState::Running; }
    // The policy it was made with: what its network, limits and backend follow. Nothing when it
    // cannot be known (a Docker sandbox adopted from a version that did not keep it).
    const std::optional<policy::Policy> &policy() const { return m_policy; }

    // argv, env, cwd, stdin, timeout and output cap as in ExecRequest; env entries are added to the
    // sandbox's own environment when inheritEnv is set. Fails at once unless the sandbox is running.
    Result<SandboxProcess *> exec(const ExecRequest &request);

    // Paths are relative to the workspace, or absolute inside it; nothing outside is reachable.
    QFuture<Result<QByteArray>> readFile(const QString &path, quint64 offset = 0,
                                         std::optional<quint64> maxBytes = std::nullopt);
    QFuture<Result<quint64>> writeFile(const QString &path, const QByteArray &data,
                                       const WriteOptions &options = {});
    QFuture<Result<DirListing>> listDir(const QString &path);
    QFuture<Result<FileStat>> stat(const QString &path, bool followLinks = true);

    // Brings the workspace back to its host folder when the sandbox works on a copy of it (Docker on
    // another machine); the rest work on the folder itself and have nothing to do. Checkpoints ask for
    // it before each snapshot.
    virtual QFuture<Result<void>> pullWorkspace();
    // The other way, after the host folder changed under a running sandbox (a rewind): its copy is made
    // to match the folder. Nothing to do for the rest.
    virtual QFuture<Result<void>> pushWorkspace();

    // Ends every process (SIGTERM, SIGKILL after graceMs); the record stays, state Stopped.
    virtual void stop(int graceMs = -1) = 0;
    // Stops it if needed and removes every host-side trace; state Destroyed, then the backend drops it.
    virtual void destroy() = 0;
    // A limit Airlock watches (not the kernel) was passed: stops it (a persistent one) or destroys it,
    // with reason as what its state, events and callers say.
    virtual void stopBecause(const QString &reason) = 0;

Q_SIGNALS:
    void stateChanged(airlock::sandbox::SandboxState state);
    // Processes, limits or anything else in info() changed.
    void infoChanged();

protected:
    explicit Sandbox(SandboxInfo info, QObject *parent = nullptr);

    // Connects to the shim; shimReady() or shimLost() follows.
    void connectShim(const QString &socketPath, int timeoutMs);
    // Over a connection the shim made to us; takes the descriptor.
    void useShimConnection(qintptr fd, const QString &from, int timeoutMs);
    void disconnectShim();
    ShimClient *shim() const { return m_client; }
    virtual void shimReady() = 0;
    virtual void shimLost(const Error &error) = 0;

    void setState(SandboxState state, const QString &message = {});
    void setPolicy(const policy::Policy &policy) { m_policy = policy; }
    // The output cap of execs that do not set one (the policy's maxOutputBytes).
    void setDefaultOutputCap(std::optional<quint64> cap) { m_defaultOutputCap = cap; }
    SandboxInfo &mutableInfo() { return m_info; }
    // Live figures a backend computes on demand (processes); called by info().
    virtual void refreshInfo(SandboxInfo &info) const;
    // OOM kills in the sandbox's memory cgroup so far, when the backend can read them: a SIGKILL
    // during which the count rose is reported as out of memory.
    virtual std::optional<quint64> oomKills() const { return std::nullopt; }
    Error notRunning() const;
    // Execs started through this object that have not ended yet.
    int runningProcesses() const;

private:
    void routeExecSignals();
    ShimClient *newShimClient();
    SandboxProcess *process(quint32 id) const;

    SandboxInfo m_info;
    std::optional<policy::Policy> m_policy;
    std::optional<quint64> m_defaultOutputCap;
    ShimClient *m_client = nullptr;
    QHash<quint32, QPointer<SandboxProcess>> m_processes;
};

// Makes sandboxes of one kind and finds the ones an earlier run left behind.
class Backend : public QObject
{
    Q_OBJECT
public:
    using QObject::QObject;

    virtual QString name() const = 0; // "local", "docker"
    // Why this backend cannot run here, or nothing when it can.
    virtual std::optional<QString> unavailableReason() const = 0;

    // Validates, prepares and starts a sandbox; it is Starting, and stateChanged() reports Running or
    // Failed. Errors here (bad workspace, policy that does not compile, no bwrap) mean nothing started.
    virtual Result<Sandbox *> create(const SandboxSpec &spec) = 0;
    virtual QList<Sandbox *> sandboxes() const = 0;
    Sandbox *sandbox(const QString &id) const;

    // Looks for sandboxes this backend does not know yet (an earlier run, another Airlock process):
    // live ones are attached, stopped persistent ones listed, and the remains of dead ones removed.
    virtual void discover() = 0;

    // sandbox.created / sandbox.stopped / sandbox.destroyed / sandbox.failed go here when set. Held
    // weakly: a store destroyed first simply stops receiving them.
    void setEventStore(store::EventStore *store) { m_store = store; }
    store::EventStore *eventStore() const { return m_store.data(); }

Q_SIGNALS:
    void sandboxAdded(airlock::sandbox::Sandbox *sandbox);
    void sandboxRemoved(const QString &id);

protected:
    void record(const QString &session, const QString &kind, const QJsonObject &payload) const;

private:
    QPointer<store::EventStore> m_store;
};

// Event kinds a backend appends; payloads carry sandbox, backend, policy, policyHash and limits.
namespace events {
inline constexpr auto SandboxCreated = "sandbox.created";
inline constexpr auto SandboxStopped = "sandbox.stopped";
inline constexpr auto SandboxDestroyed = "sandbox.destroyed";
inline constexpr auto SandboxFailed = "sandbox.failed";
// Long preparation the user should see (building an image): payload sandbox, backend, text.
inline constexpr auto SandboxProgress = "sandbox.progress";
} // namespace events

// Sandbox ids: 1-64 of [a-z0-9._-], starting with a letter or digit, so they are safe in paths,
// cgroup and unit names.
bool isValidSandboxId(QStringView id);
QString newSandboxId();

} // namespace airlock::sandbox

Q_DECLARE_METATYPE(airlock::sandbox::SandboxState)
