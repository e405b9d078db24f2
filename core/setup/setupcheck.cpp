#include "setupcheck.h"

#include "docker/dockerbackend.h"
#include "docker/dockerclient.h"
#include "docker/gvisor.h"
#include "egress/keychain.h"
#include "futures.h"
#include "sandbox/localbackend.h"
#include "store/storereader.h"

#include <QStandardPaths>
#include <QTimer>

namespace airlock::setup {

using State = Check::State;

QString stateName(State state)
{
    switch (state) {
    case State::Ok: return QStringLiteral("ok");
    case State::Warn: return QStringLiteral("warn");
    case State::Fail: return QStringLiteral("fail");
    case State::Absent: return QStringLiteral("absent");
    }
    return {};
}

QJsonObject Check::toJson() const
{
    QJsonObject o{{QStringLiteral("check"), name}, {QStringLiteral("state"), stateName(state)}, {QStringLiteral("detail"), detail}};
    if (!fix.isEmpty())
        o.insert(QStringLiteral("fix"), fix);
    return o;
}

namespace {

Check bubblewrap()
{
    sandbox::LocalBackend local;
    if (auto why = local.unavailableReason())
        return {QStringLiteral("bubblewrap"), State::Fail, *why, QStringLiteral("packaging/install-deps.sh")};
    return {QStringLiteral("bubblewrap"), State::Ok, QStringLiteral("local sandboxes run here (open, standard presets)"), {}};
}

Check keychain()
{
    const egress::KeychainStatus status = egress::keychainStatus();
    switch (status.state) {
    case egress::KeychainState::Ready:
        return {QStringLiteral("keychain"), State::Ok, QStringLiteral("secrets are kept in the desktop keychain"), {}};
    case egress::KeychainState::Absent:
        return {QStringLiteral("keychain"), State::Absent,
                QStringLiteral("no keychain on this session's bus: secrets go to private files (0600)"), {}};
    default:
        return {QStringLiteral("keychain"), State::Warn, egress::keychainAdvice(status, {}), {}};
    }
}

Check storeCheck(const QString &path)
{
    auto reader = store::StoreReader::open(path);
    if (!reader)
        return {QStringLiteral("store"), State::Fail, reader.error().message, QStringLiteral("airlockctl db check")};
    return {QStringLiteral("store"), State::Ok, path, {}};
}

} // namespace

SetupChecker::SetupChecker(QString databasePath, QObject *parent) : QObject(parent), m_databasePath(std::move(databasePath)) {}

SetupChecker::~SetupChecker() = default;

void SetupChecker::start()
{
    m_checks = {bubblewrap()};
    m_docker = std::make_unique<docker::DockerBackend>();
    const QString fix = QStringLiteral("packaging/ensure-dockerd.sh");
    if (auto why = m_docker->unavailableReason()) {
        // Later, not now: a caller connects to finished() after start() returns.
        QTimer::singleShot(0, this, [this, why = *why, fix] { dockerDone({QStringLiteral("docker"), State::Absent, why, fix}, {}); });
        return;
    }
    airlock::then(m_docker->probe(), this, [this, fix](const Result<docker::PingInfo> &ping) {
        if (!ping)
            return dockerDone({QStringLiteral("docker"), State::Fail, ping.error().message, fix}, {});
        airlock::then(m_docker->client()->info(), this, [this, fix, api = ping->apiVersion](const Result<QJsonObject> &info) {
            if (!info)
                return dockerDone({QStringLiteral("docker"), State::Fail, info.error().message, fix}, {});
            const bool podman = m_docker->isPodman().value_or(false);
            dockerDone({QStringLiteral("docker"), State::Ok,
                        QStringLiteral("%1 %2, API %3: hardened preset runs here")
                            .arg(podman ? QStringLiteral("podman") : QStringLiteral("Docker"),
                                 info->value(u"ServerVersion").toString(), api),
                        {}},
                       *info);
        });
    });
}

void SetupChecker::dockerDone(Check dockerCheck, const QJsonObject &info)
{
    m_checks << dockerCheck;
    const docker::GvisorStatus gvisor = docker::gvisorStatus(info, QStandardPaths::findExecutable(QStringLiteral("runsc")));
    const State state = gvisor.ready() ? State::Ok
                        : gvisor.state == docker::GvisorStatus::State::NotInstalled || gvisor.state == docker::GvisorStatus::State::NoDocker
                            ? State::Absent
                            : State::Warn;
    m_checks << Check{QStringLiteral("gvisor"), state,
                      gvisor.ready() ? gvisor.detail + QStringLiteral(": gvisor preset runs here") : gvisor.detail, gvisor.fix};
    m_checks << keychain() << storeCheck(m_databasePath);
    Q_EMIT finished(m_checks);
}

} // namespace airlock::setup
