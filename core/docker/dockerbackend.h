#pragma once

#include "docker/dockerclient.h"
#include "docker/dockerstats.h"
#include "docker/reconcile.h"
#include "sandbox/backend.h"

#include <QElapsedTimer>
#include <QFuture>
#include <QHash>
#include <QPromise>

#include <functional>
#include <memory>
#include <QJsonObject>
#include <QPointer>

#include <functional>
#include <optional>

class QLocalSocket;
class QTimer;

// The Docker backend of the sandbox contract (ARCHITECTURE.md): each sandbox is one container made from
// the policy's compiled create body, whose first process is airlock-shim, bind-mounted read-only from the
// host. The shim's control socket appears in a per-sandbox host folder bound at /airlock/control, so
// exec, files and the egress bridge go through ShimClient exactly as in the local backend; Docker itself
// only creates, starts, stops, removes, reports stats and tells when a container dies or runs out of
// memory. Nothing here blocks on the daemon.

namespace airlock::docker {

class AttachStream;
class ShimListener;

class DockerBackend;

struct DockerBackendOptions
{
    QString shimPath;          // the static airlock-shim; empty: AIRLOCK_SHIM, beside the program, /usr/libexec/airlock
    QString runtimeDir;        // where control folders go; empty: $XDG_RUNTIME_DIR/airlock/docker, else /tmp/airlock-UID/docker
    int startTimeoutMs = 30000; // create, start and the shim's socket together
    int statsIntervalMs = 0;   // 0: stats only when asked
};

class DockerSandbox : public sandbox::Sandbox
{
    Q_OBJECT
public:
    ~DockerSandbox() override;

    QString containerId() const { return m_containerId; }
    QString containerName() const { return m_containerName; }
    QString controlDir() const { return m_controlDir; }
    QString image() const { return m_image; }

    void stop(int graceMs = -1) override;
    void destroy() override;
    void stopBecause(const QString &reason) override;

    // Starts a Stopped persistent sandbox's container again and reconnects to its shim.
    void start();

    // On a daemon of another machine the workspace is a copy in a volume there: this makes the host
    // folder match it (remotesandbox.cpp). Elsewhere it has nothing to do.
    QFuture<Result<void>> pullWorkspace() override;
    QFuture<Result<void>> pushWorkspace() override;
    bool isRemote() const { return m_remote; }

    // One sample now; statsUpdated() follows too. Fails unless the container runs.
    QFuture<Result<ContainerStats>> stats();
    std::optional<ContainerStats> lastStats() const { return m_lastStats; }

Q_SIGNALS:
    void statsUpdated(const airlock::docker::ContainerStats &stats);
    // The kernel's OOM killer ended a process in the container; the sandbox may still run.
    void outOfMemory();

protected:
    void shimReady() override;
    void shimLost(const Error &error) override;
    void refreshInfo(sandbox::SandboxInfo &info) const override;

private:
    friend class DockerBackend;
    DockerSandbox(DockerBackend *backend, sandbox::SandboxInfo info, QString controlDir, QString image);

    DockerClient *client() const;
    void launch(const QJsonObject &createBody);
    Result<QJsonObject> adaptForPodman(QJsonObject body) const;
    void create(const QJsonObject &createBody);
    void createUnlessHostRoot(const QJsonObject &createBody);
    void startContainer();
    void attach();
    // Listens for the shim's connection; trustFirst: right after launch, before anything else runs.
    void listenForShim(bool trustFirst);
    void lost(const Error &why);
    void finalize(const Error &why);
    void failWith(const Error &error);
    // A step of the launch came back: false when a destroy or stop asked meanwhile has taken over.
    bool endCreating();
    void finishDestroy();
    void noteEvent(const QString &action, const QJsonObject &attributes);
    void inspectDetails();

    // ---- a daemon on another machine (remotesandbox.cpp) ----
    struct Copy
    {
        QString volume;
        QString target; // in the sandbox
        QString from;   // on this machine
        QString kind;   // workspace, folder, shim
    };
    static QList<Copy> copiesOf(const QJsonObject &hostConfig);
    // After the create: the io container, the copies in, then attach and start.
    void prepareRemote();
    void copyIn(qsizetype index);
    void attachRemote();
    void closeRemoteStream();
    // Brings the workspace back (bringBack, unless read-only), then removes the io container and the
    // volumes; when it cannot be brought back they stay on the daemon. done() follows either way.
    void releaseRemote(bool bringBack, std::function<void()> done);
    QString ioContainerName() const { return m_containerName + QStringLiteral("-io"); }
    void applyDetails(const QJsonObject &inspected); // host pid, user and, when adopted, limits
    QJsonObject eventPayload() const;

    DockerBackend *m_backend; // the parent: it outlives its sandboxes
    QString m_controlDir;
    QString m_image;
    QString m_containerId;
    QString m_containerName;
    QString m_user; // the container's User, "uid:gid"; empty: the image's (root here)
    std::optional<qint64> m_memoryLimit;
    bool m_autoRemove = false;
    ShimListener *m_listener = nullptr;
    QTimer *m_startDeadline = nullptr;
    bool m_stopping = false;
    bool m_creating = false;
    bool m_imageReady = false;
    bool m_runtimeReady = false; // the daemon knows the OCI runtime the policy names
    QString m_goferBinary;       // that runtime's binary when it is gVisor's
    QString m_lastRefusal;       // the last shim connection refused, said once
    bool m_launched = false; // this process created it (not adopted)
    bool m_destroyRequested = false;
    bool m_removed = false;
    bool m_losing = false;
    bool m_finalized = false;
    bool m_oomSeen = false;
    bool m_announced = false;
    QString m_stopReason; // why Airlock stopped it, when it did so on its own
    std::optional<qint64> m_exitCode;
    std::optional<ContainerStats> m_lastStats;
    QElapsedTimer m_clock; // for the debug log of how long each step took
    bool m_remote = false;
    QList<Copy> m_copies;
    QString m_ioContainer;
    AttachStream *m_attach = nullptr;
    QLocalSocket *m_shimPipe = nullptr;
    QByteArray m_shimStderr; // its last lines, for failure messages
    std::optional<QFuture<Result<void>>> m_pulling; // one pull at a time; later asks share it
};

class DockerBackend : public sandbox::Backend
{
    Q_OBJECT
public:
    // A client from DOCKER_HOST and friends.
    explicit DockerBackend(QObject *parent = nullptr);
    DockerBackend(DockerClient *client, DockerBackendOptions options, QObject *parent = nullptr);
    ~DockerBackend() override;

    QString name() const override { return QStringLiteral("docker"); }
    // Cheap, local checks only (DOCKER_HOST, the socket file, its permissions, the last failure seen);
    // probe() asks the daemon itself.
    std::optional<QString> unavailableReason() const override;
    Result<sandbox::Sandbox *> create(const sandbox::SandboxSpec &spec) override;
    QList<sandbox::Sandbox *> sandboxes() const override;
    // Reconciles; the report arrives through reconciled().
    void discover() override;

    DockerClient *client() const { return m_client; }
    const DockerBackendOptions &options() const { return m_options; }

    // Pings the daemon (negotiating the API version) and reads what it can enforce.
    QFuture<Result<PingInfo>> probe();
    // Whether the daemon is podman, once a probe has said; podman's compatible API takes a seccomp
    // profile as a path on its host where Docker takes the profile's text.
    std::optional<bool> isPodman() const { return m_podman; }
    // Reaps containers of unknown or ended sessions and of dead Airlock processes, re-adopts persistent
    // ones, attaches those another live Airlock process uses; records sandbox.destroyed for each reaped
    // container and one docker.reconciled event with the whole report.
    QFuture<Result<ReconcileReport>> reconcile();
    // Where reconcile() learns a session's state; by default the attached event store's sessions table.
    void setSessionLookup(std::function<SessionStatus(const QString &session)> lookup);

    QFuture<Result<ContainerStats>> stats(const QString &sandboxId);
    // Builds one of Airlock's own images (agentimage.h) when the daemon lacks it; any other image is
    // left alone. Concurrent calls for one image share a build; note() of the first hears its progress.
    QFuture<Result<void>> ensureOwnImage(const QString &image, std::function<void(const QString &)> note = {});
    // Samples every running sandbox this often (0: never); each sample comes through statsUpdated().
    void setStatsInterval(int ms);

    QString shimPath() const;
    QString runtimeDir() const;
    // The daemon is reached over the network (tcp://): sandboxes work on copies in volumes there, and
    // reach their shim through an attach stream (remotesandbox.cpp).
    bool isRemote() const;
    // host:path of the attached event store, the airlock.store label; empty without one.
    QString storeIdentity() const;

Q_SIGNALS:
    void reconciled(const airlock::docker::ReconcileReport &report);
    void statsUpdated(const QString &sandboxId, const airlock::docker::ContainerStats &stats);

private:
    friend class DockerSandbox;
    struct Prepared
    {
        QJsonObject body;
        QString controlDir;
        QString image;
    };
    Result<Prepared> prepare(const sandbox::SandboxSpec &spec, const QString &id) const;
    Result<QString> makeControlDir(const QString &id) const;
    // An idmapped view of a root-owned workspace, beside the control folder (the container never sees it).
    static QString workspaceViewPoint(const QString &controlDir);
    // Unmounts the protection layer and the workspace view of a sandbox, whichever exist.
    static void releaseHostMounts(const QString &controlDir);
    // Everything a sandbox has on this host: its mounts, its control folder and its kept policy.
    static void removeHostSide(const QString &controlDir);
    // The policy a sandbox was made with, kept beside its control folder (the container never sees
    // it) so that a later Airlock process that adopts the sandbox applies the same network rules.
    static QString policyFile(const QString &controlDir);
    static Result<void> keepPolicy(const QString &controlDir, const policy::Policy &policy);
    static std::optional<policy::Policy> keptPolicy(const QString &controlDir, const QString &expectedHash);
    // Opens the folder to the container's user (uid:gid from its User; empty: root) and no one else.
    static Result<void> setupControlDir(const QString &path);
    sandbox::LimitReport limitsFor(const policy::Policy &policy, const QString &containerName) const;
    sandbox::LimitReport limitsFor(const QJsonObject &hostConfig, const QString &containerName) const;
    DockerSandbox *findReusable(const sandbox::SandboxSpec &spec) const;
    DockerSandbox *adopt(const ContainerRecord &container, bool owned);
    void add(DockerSandbox *sandbox);
    void forget(DockerSandbox *sandbox);
    void ensureEvents();
    void onEvent(const QJsonObject &event);
    void fetchDaemonInfo();
    SessionStatus sessionStatus(const QString &session) const;
    void recordFor(const DockerSandbox *sandbox, const char *kind, const QJsonObject &payload) const;

    DockerClient *m_client = nullptr;
    DockerBackendOptions m_options;
    QList<DockerSandbox *> m_sandboxes; // each leaves the list before it is deleted
    std::function<SessionStatus(const QString &)> m_sessionLookup;
    QJsonObject m_daemonInfo;
    QHash<QString, QList<std::shared_ptr<QPromise<Result<void>>>>> m_imageWaiters;
    std::optional<bool> m_podman;
    bool m_infoRequested = false;
    mutable std::optional<QString> m_lastFailure;
    quint64 m_eventsCall = 0;
    QTimer *m_eventsRetry = nullptr;
    QTimer *m_statsTimer = nullptr;
};

// Event kinds this backend adds to the sandbox.* ones.
namespace events {
inline constexpr auto SandboxOom = "sandbox.oom";             // payload: sandbox, backend, container, memoryLimit
inline constexpr auto DockerReconciled = "docker.reconciled"; // payload: ReconcileReport::toJson()
} // namespace events

} // namespace airlock::docker
