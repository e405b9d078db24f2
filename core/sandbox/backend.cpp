#include "sandbox/backend.h"

#include "sandbox/shimclient.h"
#include "store/eventstore.h"

#include <QJsonArray>

#include <csignal>
#include <QLoggingCategory>
#include <QPromise>
#include <QRandomGenerator>

Q_LOGGING_CATEGORY(lcSandbox, "airlock.sandbox", QtWarningMsg)

namespace airlock::sandbox {

namespace {

struct StateName
{
    SandboxState state;
    const char *name;
};
constexpr StateName kStateNames[] = {
    {SandboxState::Starting, "starting"}, {SandboxState::Running, "running"},
    {SandboxState::Stopping, "stopping"}, {SandboxState::Stopped, "stopped"},
    {SandboxState::Failed, "failed"},     {SandboxState::Destroyed, "destroyed"},
};

struct MechanismName
{
    LimitMechanism mechanism;
    const char *name;
};
constexpr MechanismName kMechanismNames[] = {
    {LimitMechanism::SystemdScope, "systemd-scope"}, {LimitMechanism::CgroupV2, "cgroup-v2"},
    {LimitMechanism::CgroupV1, "cgroup-v1"},         {LimitMechanism::Rlimits, "rlimits"},
    {LimitMechanism::None, "none"},
};

QJsonArray toArray(const QStringList &list)
{
    return QJsonArray::fromStringList(list);
}

QStringList toStringList(const QJsonValue &value)
{
    QStringList out;
    const QJsonArray array = value.toArray();
    for (const QJsonValue &v : array) {
        if (v.isString())
            out << v.toString();
    }
    return out;
}

template<typename T>
QFuture<Result<T>> failedFuture(const Error &error)
{
    QPromise<Result<T>> promise;
    QFuture<Result<T>> future = promise.future();
    promise.start();
    promise.addResult(Result<T>(std::unexpected(error)));
    promise.finish();
    return future;
}

} // namespace

QString stateName(SandboxState state)
{
    for (const auto &entry : kStateNames) {
        if (entry.state == state)
            return QString::fromLatin1(entry.name);
    }
    return {};
}

std::optional<SandboxState> parseState(QStringView text)
{
    for (const auto &entry : kStateNames) {
        if (text == QLatin1StringView(entry.name))
            return entry.state;
    }
    return std::nullopt;
}

QString mechanismName(LimitMechanism mechanism)
{
    for (const auto &entry : kMechanismNames) {
        if (entry.mechanism == mechanism)
            return QString::fromLatin1(entry.name);
    }
    return {};
}

std::optional<LimitMechanism> parseMechanism(QStringView text)
{
    for (const auto &entry : kMechanismNames) {
        if (text == QLatin1StringView(entry.name))
            return entry.mechanism;
    }
    return std::nullopt;
}

QJsonObject LimitReport::toJson() const
{
    return QJsonObject{{QStringLiteral("mechanism"), mechanismName(mechanism)},
                       {QStringLiteral("where"), where},
                       {QStringLiteral("enforced"), toArray(enforced)},
                       {QStringLiteral("unenforced"), toArray(unenforced)}};
}

LimitReport LimitReport::fromJson(const QJsonObject &object)
{
    LimitReport report;
    report.mechanism = parseMechanism(object.value(u"mechanism").toString()).value_or(LimitMechanism::None);
    report.where = object.value(u"where").toString();
    report.enforced = toStringList(object.value(u"enforced"));
    report.unenforced = toStringList(object.value(u"unenforced"));
    return report;
}

QJsonObject SandboxInfo::toJson() const
{
    QJsonObject o{{QStringLiteral("id"), id},
                  {QStringLiteral("backend"), backend},
                  {QStringLiteral("policy"), policyName},
                  {QStringLiteral("policyHash"), policyHash},
                  {QStringLiteral("workspace"), workspace},
                  {QStringLiteral("lifecycle"), policy::nameOf(lifecycle)},
                  {QStringLiteral("state"), stateName(state)},
                  {QStringLiteral("limits"), limits.toJson()},
                  {QStringLiteral("created"), created.toMSecsSinceEpoch()},
                  {QStringLiteral("uptimeMs"), uptimeMs},
                  {QStringLiteral("processes"), processes},
                  {QStringLiteral("hostPid"), hostPid},
                  {QStringLiteral("uidMapping"), uidMapping},
                  {QStringLiteral("owned"), owned}};
    if (!sessionId.isEmpty())
        o.insert(QStringLiteral("session"), sessionId);
    if (!message.isEmpty())
        o.insert(QStringLiteral("message"), message);
    if (deadline.isValid())
        o.insert(QStringLiteral("deadline"), deadline.toMSecsSinceEpoch());
    return o;
}

// ---- SandboxProcess ----

SandboxProcess::SandboxProcess(ShimClient *client, quint32 id, QObject *parent)
    : QObject(parent), m_client(client), m_id(id)
{
}

void SandboxProcess::writeStdin(QByteArrayView data)
{
    if (m_client && !m_done)
        m_client->writeStdin(m_id, data);
}

void SandboxProcess::closeStdin()
{
    if (m_client && !m_done)
        m_client->closeStdin(m_id);
}

QFuture<Result<void>> SandboxProcess::kill(int signal, int graceMs)
{
    if (!m_client || m_done)
        return failedFuture<void>(Error{ErrorCode::InvalidArgument, QStringLiteral("the process has already ended")});
    return m_client->kill(m_id, signal, graceMs);
}

// ---- Sandbox ----

Sandbox::Sandbox(SandboxInfo info, QObject *parent) : QObject(parent), m_info(std::move(info)) {}

Sandbox::~Sandbox() = default;

SandboxInfo Sandbox::info() const
{
    SandboxInfo copy = m_info;
    refreshInfo(copy);
    return copy;
}

void Sandbox::refreshInfo(SandboxInfo &info) const
{
    if (info.state == SandboxState::Running && info.created.isValid())
        info.uptimeMs = std::max<qint64>(0, info.created.msecsTo(QDateTime::currentDateTimeUtc()));
    else
        info.uptimeMs = 0;
}

void Sandbox::setState(SandboxState state, const QString &message)
{
    if (m_info.state == state && m_info.message == message)
        return;
    const bool changed = m_info.state != state;
    m_info.state = state;
    m_info.message = message;
    if (changed)
        Q_EMIT stateChanged(state);
    Q_EMIT infoChanged();
}

Error Sandbox::notRunning() const
{
    return Error{ErrorCode::InvalidArgument,
                 QStringLiteral("sandbox %1 is %2, not running").arg(m_info.id, stateName(m_info.state))};
}

int Sandbox::runningProcesses() const
{
    int n = 0;
    for (const QPointer<SandboxProcess> &p : m_processes) {
        const SandboxProcess *process = p.data();
        n += process && !process->isFinished() ? 1 : 0;
    }
    return n;
}

ShimClient *Sandbox::newShimClient()
{
    disconnectShim();
    m_client = new ShimClient(this);
    routeExecSignals();
    connect(m_client, &ShimClient::ready, this, [this] { shimReady(); });
    // A failed connect reports errorOccurred only; an established one that ends reports disconnected.
    connect(m_client, &ShimClient::errorOccurred, this, [this](const Error &error) { shimLost(error); });
    connect(m_client, &ShimClient::disconnected, this, [this] {
        shimLost(Error{ErrorCode::Io, QStringLiteral("the connection to the shim of sandbox %1 closed").arg(m_info.id)});
    });
    return m_client;
}

void Sandbox::connectShim(const QString &socketPath, int timeoutMs)
{
    newShimClient()->connectToShim(socketPath, timeoutMs);
}

void Sandbox::useShimConnection(qintptr fd, const QString &from, int timeoutMs)
{
    newShimClient()->useConnection(fd, from, timeoutMs);
}

void Sandbox::disconnectShim()
{
    if (!m_client)
        return;
    ShimClient *client = std::exchange(m_client, nullptr);
    // Callers (stop, destroy) already know why; the client's goodbye signals would only repeat it.
    disconnect(client, nullptr, this, nullptr);
    const Error gone{ErrorCode::Cancelled, QStringLiteral("sandbox %1 was stopped").arg(m_info.id)};
    QList<SandboxProcess *> running;
    for (const QPointer<SandboxProcess> &process : std::as_const(m_processes)) {
        if (SandboxProcess *p = process.data())
            running.append(p);
    }
    m_processes.clear();
    for (SandboxProcess *p : std::as_const(running)) {
        if (!p->m_done) {
            p->m_done = true;
            Q_EMIT p->failed(gone);
        }
    }
    client->disconnectFromShim();
    client->deleteLater();
}

SandboxProcess *Sandbox::process(quint32 id) const
{
    return m_processes.value(id).data();
}

void Sandbox::routeExecSignals()
{
    connect(m_client, &ShimClient::execStarted, this, [this](quint32 id, qint64 pid) {
        if (SandboxProcess *p = process(id)) {
            p->m_pid = pid;
            Q_EMIT p->started(pid);
        }
    });
    connect(m_client, &ShimClient::stdoutReceived, this, [this](quint32 id, const QByteArray &chunk) {
        if (SandboxProcess *p = process(id))
            Q_EMIT p->stdoutReceived(chunk);
    });
    connect(m_client, &ShimClient::stdoutClosed, this, [this](quint32 id) {
        if (SandboxProcess *p = process(id))
            Q_EMIT p->stdoutClosed();
    });
    connect(m_client, &ShimClient::stderrReceived, this, [this](quint32 id, const QByteArray &chunk) {
        if (SandboxProcess *p = process(id))
            Q_EMIT p->stderrReceived(chunk);
    });
    connect(m_client, &ShimClient::execFinished, this, [this](quint32 id, const ExitStatus &status) {
        SandboxProcess *p = process(id);
        m_processes.remove(id);
        if (p) {
            ExitStatus judged = status;
            // Only a SIGKILL nobody here asked for can be the OOM killer's.
            if (status.signal == SIGKILL && !status.timedOut && !status.killed && !status.outputCapStopped
                && p->m_oomKillsAtStart) {
                if (const std::optional<quint64> now = oomKills(); now && *now > *p->m_oomKillsAtStart)
                    judged.outOfMemory = true;
            }
            p->m_done = true;
            p->m_status = judged;
            Q_EMIT p->finished(judged);
        }
    });
    connect(m_client, &ShimClient::execFailed, this, [this](quint32 id, const Error &error) {
        SandboxProcess *p = process(id);
        m_processes.remove(id);
        if (p && !p->m_done) {
            p->m_done = true;
            Q_EMIT p->failed(error);
        }
    });
}

Result<SandboxProcess *> Sandbox::exec(const ExecRequest &request)
{
    if (m_info.state != SandboxState::Running || !m_client)
        return std::unexpected(notRunning());
    ExecRequest effective = request;
    if (!effective.outputCap)
        effective.outputCap = m_defaultOutputCap;
    Result<quint32> id = m_client->exec(effective);
    if (!id)
        return std::unexpected(id.error());
    auto *p = new SandboxProcess(m_client, *id, this);
    p->m_oomKillsAtStart = oomKills();
    m_processes.insert(*id, p);
    return p;
}

QFuture<Result<QByteArray>> Sandbox::readFile(const QString &path, quint64 offset, std::optional<quint64> maxBytes)
{
    if (m_info.state != SandboxState::Running || !m_client)
        return failedFuture<QByteArray>(notRunning());
    return m_client->readFile(path, offset, maxBytes);
}

QFuture<Result<quint64>> Sandbox::writeFile(const QString &path, const QByteArray &data, const WriteOptions &options)
{
    if (m_info.state != SandboxState::Running || !m_client)
        return failedFuture<quint64>(notRunning());
    return m_client->writeFile(path, data, options);
}

QFuture<Result<DirListing>> Sandbox::listDir(const QString &path)
{
    if (m_info.state != SandboxState::Running || !m_client)
        return failedFuture<DirListing>(notRunning());
    return m_client->listDir(path);
}

QFuture<Result<FileStat>> Sandbox::stat(const QString &path, bool followLinks)
{
    if (m_info.state != SandboxState::Running || !m_client)
        return failedFuture<FileStat>(notRunning());
    return m_client->stat(path, followLinks);
}

QFuture<Result<void>> Sandbox::pullWorkspace()
{
    return QtFuture::makeReadyFuture(Result<void>());
}

QFuture<Result<void>> Sandbox::pushWorkspace()
{
    return QtFuture::makeReadyFuture(Result<void>());
}

// ---- Backend ----

Sandbox *Backend::sandbox(const QString &id) const
{
    const QList<Sandbox *> all = sandboxes();
    for (Sandbox *s : all) {
        if (s->id() == id)
            return s;
    }
    return nullptr;
}

void Backend::record(const QString &session, const QString &kind, const QJsonObject &payload) const
{
    store::EventStore *store = m_store.data();
    if (!store)
        return;
    if (auto ticket = store->append(session, kind, payload); !ticket)
        qCWarning(lcSandbox) << "cannot record" << kind << ticket.error().message;
}

bool isValidSandboxId(QStringView id)
{
    if (id.isEmpty() || id.size() > 64)
        return false;
    const auto alnum = [](QChar c) { return (c >= u'a' && c <= u'z') || (c >= u'0' && c <= u'9'); };
    if (!alnum(id.front()))
        return false;
    for (QChar c : id) {
        if (!alnum(c) && c != u'-' && c != u'_' && c != u'.')
            return false;
    }
    return true;
}

QString newSandboxId()
{
    const quint64 r = QRandomGenerator::system()->generate64();
    return QStringLiteral("sb-") + QString::number(r & 0xffffffffffffULL, 16).rightJustified(12, u'0');
}

} // namespace airlock::sandbox
