#include "docker/dockerbackend.h"
#include "futures.h"

#include "docker/dockererrors.h"
#include "docker/streamframes.h"
#include "policy/codec.h"
#include "sandbox/workspacequota.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QStandardPaths>
#include <QJsonArray>
#include <QTimer>

#include <cerrno>
#include <unistd.h>

namespace airlock::docker {

using sandbox::SandboxState;

DockerBackend::DockerBackend(QObject *parent) : DockerBackend(nullptr, {}, parent) {}

DockerBackend::DockerBackend(DockerClient *client, DockerBackendOptions options, QObject *parent)
    : Backend(parent), m_client(client), m_options(std::move(options))
{
    if (!m_client)
        m_client = DockerClient::fromEnvironment(this);
    qRegisterMetaType<airlock::docker::ContainerStats>();
    qRegisterMetaType<airlock::docker::ReconcileReport>();
    setStatsInterval(m_options.statsIntervalMs);
}

DockerBackend::~DockerBackend()
{
    if (m_eventsCall && m_client)
        m_client->cancel(m_eventsCall);
}

std::optional<QString> DockerBackend::unavailableReason() const
{
    if (const auto &bad = m_client->endpointError())
        return bad->message;
    const DockerEndpoint &e = m_client->endpoint();
    if (e.kind == DockerEndpoint::Kind::Unix) {
        const QByteArray path = QFile::encodeName(e.socketPath);
        if (!QFileInfo::exists(e.socketPath))
            return unixSocketError(e.socketPath, QLocalSocket::ServerNotFoundError, {}).message;
        if (::access(path.constData(), R_OK | W_OK) != 0 && errno == EACCES)
            return unixSocketError(e.socketPath, QLocalSocket::SocketAccessError, {}).message;
    }
    if (e.kind == DockerEndpoint::Kind::Ssh && QStandardPaths::findExecutable(QStringLiteral("ssh")).isEmpty())
        return QStringLiteral("DOCKER_HOST is %1, and ssh is not installed (install openssh-client)").arg(e.display());
    return m_lastFailure;
}

QFuture<Result<PingInfo>> DockerBackend::probe()
{
    return airlock::then(m_client->ping(), this, [this](const Result<PingInfo> &ping) {
        if (ping) {
            m_lastFailure.reset();
            m_podman = ping->podman;
            fetchDaemonInfo();
        } else {
            m_lastFailure = ping.error().message;
        }
        return ping;
    });
}

void DockerBackend::fetchDaemonInfo()
{
    if (m_infoRequested)
        return;
    m_infoRequested = true;
    airlock::then(m_client->info(), this, [this](const Result<QJsonObject> &info) {
        if (info)
            m_daemonInfo = *info;
        else
            m_infoRequested = false; // ask again next time
    });
}

QList<sandbox::Sandbox *> DockerBackend::sandboxes() const
{
    QList<sandbox::Sandbox *> all;
    for (DockerSandbox *s : m_sandboxes)
        all << s;
    return all;
}

DockerSandbox *DockerBackend::findReusable(const sandbox::SandboxSpec &spec) const
{
    if (spec.effectiveLifecycle() != policy::Lifecycle::Persistent)
        return nullptr;
    const QString hash = policy::policyHash(spec.policy);
    const QString workspace = QDir::cleanPath(spec.workspace);
    for (DockerSandbox *s : m_sandboxes) {
        if (s->info().lifecycle != policy::Lifecycle::Persistent)
            continue;
        const SandboxState state = s->state();
        if (state == SandboxState::Destroyed || state == SandboxState::Stopping)
            continue;
        const sandbox::SandboxInfo info = s->info();
        const bool sameId = !spec.id.isEmpty() && info.id == spec.id;
        const bool sameSession = spec.id.isEmpty() && !spec.sessionId.isEmpty() && info.sessionId == spec.sessionId;
        if ((sameId || sameSession) && info.policyHash == hash && info.workspace == workspace)
            return s;
    }
    return nullptr;
}

bool DockerBackend::isRemote() const
{
    // Over TCP the daemon may be anywhere, even behind a loopback port (a tunnel): nothing is bound
    // from this machine, everything is copied.
    return m_client->endpoint().kind != DockerEndpoint::Kind::Unix;
}

Result<sandbox::Sandbox *> DockerBackend::create(const sandbox::SandboxSpec &spec)
{
    const QString policyName = spec.policyName.isEmpty() ? spec.policy.name : spec.policyName;
    if (spec.policy.runtime.backend != policy::Backend::Docker)
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("policy '%1' runs on the local backend; choose a Docker policy (hardened, gvisor) or set "
                                   "runtime.backend to docker")
                        .arg(policyName));
    const QFileInfo workspace(spec.workspace);
    if (!workspace.isAbsolute() || !workspace.isDir())
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("the workspace %1 is not an existing folder given by its absolute path").arg(spec.workspace));
    if (const auto &bad = m_client->endpointError())
        return std::unexpected(*bad);

    if (DockerSandbox *reusable = findReusable(spec)) {
        if (reusable->state() == SandboxState::Stopped || reusable->state() == SandboxState::Failed)
            reusable->start();
        return reusable;
    }
    const QString id = spec.id.isEmpty() ? sandbox::newSandboxId() : spec.id;
    if (!sandbox::isValidSandboxId(id))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("'%1' is not a sandbox id (a-z, 0-9, '.', '_', '-')").arg(id));
    if (sandbox(id))
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("sandbox %1 already exists with another policy or workspace; destroy it first").arg(id));

    auto prepared = prepare(spec, id);
    if (!prepared)
        return std::unexpected(prepared.error());

    sandbox::SandboxInfo info;
    info.id = id;
    info.backend = name();
    info.policyName = policyName;
    info.policyHash = policy::policyHash(spec.policy);
    info.workspace = QDir::cleanPath(spec.workspace);
    info.sessionId = spec.sessionId;
    info.lifecycle = spec.effectiveLifecycle();
    info.state = SandboxState::Starting;
    info.created = QDateTime::currentDateTimeUtc();
    if (spec.policy.resources.wallClockSeconds)
        info.deadline = info.created.addSecs(*spec.policy.resources.wallClockSeconds);
    info.owned = true;

    if (auto kept = keepPolicy(prepared->controlDir, spec.policy); !kept) {
        removeHostSide(prepared->controlDir);
        return std::unexpected(kept.error());
    }
    auto *s = new DockerSandbox(this, info, prepared->controlDir, prepared->image);
    s->setPolicy(spec.policy);
    if (spec.policy.resources.maxOutputBytes)
        s->setDefaultOutputCap(quint64(*spec.policy.resources.maxOutputBytes));
    // No Docker storage option limits a bind-mounted folder; the workspace is watched from here.
    if (const auto limit = spec.policy.resources.workspaceBytes; limit && !spec.workspace.isEmpty())
        new sandbox::WorkspaceWatch(s, spec.workspace, *limit);
    add(s);
    ensureEvents();
    fetchDaemonInfo();
    s->launch(prepared->body);
    return s;
}

void DockerBackend::add(DockerSandbox *sandbox)
{
    m_sandboxes.append(sandbox);
    connect(sandbox, &DockerSandbox::statsUpdated, this,
            [this, sandbox](const ContainerStats &stats) { Q_EMIT statsUpdated(sandbox->id(), stats); });
    Q_EMIT sandboxAdded(sandbox);
}

void DockerBackend::forget(DockerSandbox *sandbox)
{
    const QString id = sandbox->id();
    m_sandboxes.removeAll(sandbox);
    Q_EMIT sandboxRemoved(id);
    sandbox->deleteLater();
}

void DockerBackend::recordFor(const DockerSandbox *sandbox, const char *kind, const QJsonObject &payload) const
{
    record(sandbox->info().sessionId, QString::fromLatin1(kind), payload);
}

DockerSandbox *DockerBackend::adopt(const ContainerRecord &container, bool owned)
{
    sandbox::SandboxInfo info;
    info.id = container.sandboxId();
    info.backend = name();
    info.policyName = container.label(labels::PolicyName);
    info.policyHash = container.label(labels::PolicyHash);
    info.workspace = container.label(labels::Workspace);
    info.sessionId = container.label(labels::Session);
    info.lifecycle = policy::parseEnum<policy::Lifecycle>(container.label(labels::Lifecycle)).value_or(policy::Lifecycle::Persistent);
    info.state = SandboxState::Stopped;
    info.created = QDateTime::fromSecsSinceEpoch(container.created, Qt::UTC);
    info.owned = owned;
    info.message = container.running() ? QString() : QStringLiteral("stopped; adopted from an earlier run");
    QString controlDir = container.label(labels::ControlDir);
    if (controlDir.isEmpty())
        controlDir = runtimeDir() + u'/' + info.id;
    auto *s = new DockerSandbox(this, info, controlDir, container.image);
    s->m_containerId = container.id;
    if (auto kept = keptPolicy(controlDir, info.policyHash))
        s->setPolicy(*kept);
    if (const qint64 cap = container.label(labels::OutputCap).toLongLong(); cap > 0)
        s->setDefaultOutputCap(quint64(cap));
    if (const qint64 limit = container.label(labels::WorkspaceBytes).toLongLong(); limit > 0 && !info.workspace.isEmpty())
        new sandbox::WorkspaceWatch(s, info.workspace, limit);
    s->m_stopping = !container.running();
    add(s);
    ensureEvents();
    if (container.running())
        s->attach();
    else
        s->inspectDetails();
    return s;
}

void DockerBackend::discover()
{
    reconcile();
}

void DockerBackend::setSessionLookup(std::function<SessionStatus(const QString &)> lookup)
{
    m_sessionLookup = std::move(lookup);
}

QFuture<Result<ContainerStats>> DockerBackend::stats(const QString &sandboxId)
{
    auto *s = qobject_cast<DockerSandbox *>(sandbox(sandboxId));
    if (!s)
        return QtFuture::makeReadyFuture(Result<ContainerStats>(
            fail(ErrorCode::NotFound, QStringLiteral("no Docker sandbox %1").arg(sandboxId))));
    return s->stats();
}

void DockerBackend::setStatsInterval(int ms)
{
    m_options.statsIntervalMs = std::max(0, ms);
    if (m_options.statsIntervalMs == 0) {
        if (m_statsTimer)
            m_statsTimer->stop();
        return;
    }
    if (!m_statsTimer) {
        m_statsTimer = new QTimer(this);
        connect(m_statsTimer, &QTimer::timeout, this, [this] {
            for (DockerSandbox *s : std::as_const(m_sandboxes)) {
                if (s->isRunning())
                    s->stats();
            }
        });
    }
    m_statsTimer->start(m_options.statsIntervalMs);
}

void DockerBackend::ensureEvents()
{
    if (m_eventsCall)
        return;
    HttpRequest r;
    r.path = "/events?filters=" + DockerClient::filtersQuery({{QStringLiteral("type"), {QStringLiteral("container")}},
                                                              {QStringLiteral("label"), {QLatin1String(labels::Sandbox)}}});
    r.timeoutMs = 0;
    auto lines = std::make_shared<JsonLineSplitter>();
    HttpHandlers handlers;
    handlers.onData = [this, lines](QByteArrayView bytes) {
        lines->feed(bytes);
        while (true) {
            auto line = lines->next();
            if (!line || !*line)
                break;
            onEvent(**line);
        }
    };
    handlers.onDone = [this](const Result<HttpResponse> &) {
        m_eventsCall = 0;
        // The daemon restarted or the stream broke: listen again while anything is alive.
        bool anyLive = false;
        for (DockerSandbox *s : std::as_const(m_sandboxes))
            anyLive = anyLive || s->state() == SandboxState::Running || s->state() == SandboxState::Starting;
        if (!anyLive)
            return;
        if (!m_eventsRetry) {
            m_eventsRetry = new QTimer(this);
            m_eventsRetry->setSingleShot(true);
            connect(m_eventsRetry, &QTimer::timeout, this, &DockerBackend::ensureEvents);
        }
        m_eventsRetry->start(1000);
    };
    m_eventsCall = m_client->send(r, this, std::move(handlers));
}

void DockerBackend::onEvent(const QJsonObject &event)
{
    QString action = event.value(u"Action").toString();
    if (action.isEmpty())
        action = event.value(u"status").toString();
    const QJsonObject actor = event.value(u"Actor").toObject();
    const QJsonObject attributes = actor.value(u"Attributes").toObject();
    const QString sandboxId = attributes.value(QLatin1StringView(labels::Sandbox)).toString();
    const QString containerId = actor.value(u"ID").toString();
    for (DockerSandbox *s : std::as_const(m_sandboxes)) {
        if (s->id() == sandboxId || (!containerId.isEmpty() && s->containerId() == containerId)) {
            s->noteEvent(action, attributes);
            return;
        }
    }
}

SessionStatus DockerBackend::sessionStatus(const QString &session) const
{
    if (session.isEmpty())
        return SessionStatus::None;
    if (m_sessionLookup)
        return m_sessionLookup(session);
    return SessionStatus::Live;
}

} // namespace airlock::docker
