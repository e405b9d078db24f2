// airlockctl doctor: what this machine can run, rung by rung (bubblewrap, Docker, gVisor), the
// keychain and the store, each with what to do about it.
#include "cli.h"
#include "dockercli.h"
#include "docker/dockerbackend.h"
#include "docker/dockerclient.h"
#include "docker/gvisor.h"
#include "egress/keychain.h"
#include "sandbox/localbackend.h"
#include "store/storereader.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QStandardPaths>

#include <cstdio>

namespace airlock::cli {

namespace {

struct Check {
    QString name;
    QString state; // ok, warn, fail, absent
    QString detail;
    QString fix;

    QJsonObject toJson() const
    {
        QJsonObject o{{QStringLiteral("check"), name}, {QStringLiteral("state"), state}, {QStringLiteral("detail"), detail}};
        if (!fix.isEmpty())
            o.insert(QStringLiteral("fix"), fix);
        return o;
    }
};

Check bubblewrap()
{
    sandbox::LocalBackend local;
    if (auto why = local.unavailableReason())
        return {QStringLiteral("bubblewrap"), QStringLiteral("fail"), *why, QStringLiteral("packaging/install-deps.sh")};
    return {QStringLiteral("bubblewrap"), QStringLiteral("ok"), QStringLiteral("local sandboxes run here (open, standard presets)"), {}};
}

// Docker and, through its /info, gVisor.
QList<Check> dockerAndGvisor()
{
    docker::DockerBackend backend;
    const QString runsc = QStandardPaths::findExecutable(QStringLiteral("runsc"));
    QJsonObject info;
    Check dockerCheck{QStringLiteral("docker"), QStringLiteral("ok"), {}, {}};
    if (auto why = backend.unavailableReason()) {
        dockerCheck = {QStringLiteral("docker"), QStringLiteral("absent"), *why, QStringLiteral("packaging/ensure-dockerd.sh")};
    } else if (auto ping = dockercli::await(backend.probe()); !ping) {
        dockerCheck = {QStringLiteral("docker"), QStringLiteral("fail"), ping.error().message, QStringLiteral("packaging/ensure-dockerd.sh")};
    } else if (auto answered = dockercli::await(backend.client()->info()); !answered) {
        dockerCheck = {QStringLiteral("docker"), QStringLiteral("fail"), answered.error().message, QStringLiteral("packaging/ensure-dockerd.sh")};
    } else {
        info = *answered;
        dockerCheck.detail = QStringLiteral("%1 %2, API %3: hardened preset runs here")
                                 .arg(backend.isPodman().value_or(false) ? QStringLiteral("podman") : QStringLiteral("Docker"),
                                      info.value(u"ServerVersion").toString(), ping->apiVersion);
    }
    const docker::GvisorStatus gvisor = docker::gvisorStatus(info, runsc);
    QString state = gvisor.ready() ? QStringLiteral("ok")
                    : gvisor.state == docker::GvisorStatus::State::NotInstalled || gvisor.state == docker::GvisorStatus::State::NoDocker
                        ? QStringLiteral("absent")
                        : QStringLiteral("warn");
    return {dockerCheck, Check{QStringLiteral("gvisor"), state,
                               gvisor.ready() ? gvisor.detail + QStringLiteral(": gvisor preset runs here") : gvisor.detail, gvisor.fix}};
}

Check keychain()
{
    const egress::KeychainStatus status = egress::keychainStatus();
    const QString advice = egress::keychainAdvice(status, {});
    switch (status.state) {
    case egress::KeychainState::Ready:
        return {QStringLiteral("keychain"), QStringLiteral("ok"), QStringLiteral("secrets are kept in the desktop keychain"), {}};
    case egress::KeychainState::Absent:
        return {QStringLiteral("keychain"), QStringLiteral("absent"),
                QStringLiteral("no keychain on this session's bus: secrets go to private files (0600)"), {}};
    default:
        return {QStringLiteral("keychain"), QStringLiteral("warn"), advice, {}};
    }
}

Check storeCheck(const Context &ctx)
{
    auto reader = store::StoreReader::open(ctx.dbPath);
    if (!reader)
        return {QStringLiteral("store"), QStringLiteral("fail"), reader.error().message, QStringLiteral("airlockctl db check")};
    return {QStringLiteral("store"), QStringLiteral("ok"), ctx.dbPath, {}};
}

int runDoctor(const QString &, const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("What this machine can run: bubblewrap, Docker and gVisor, the keychain and the "
                                               "store, each with what to do about it. Exit status 1 when local sandboxes cannot run."));
    p.addOption(dockercli::kJson);
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    QList<Check> checks{bubblewrap()};
    checks += dockerAndGvisor();
    checks << keychain() << storeCheck(ctx);
    if (p.isSet(dockercli::kJson)) {
        QJsonArray array;
        for (const Check &c : std::as_const(checks))
            array.append(c.toJson());
        outJson(array);
    } else {
        for (const Check &c : std::as_const(checks)) {
            out(QStringLiteral("%1 %2 %3").arg(c.name, -10).arg(c.state, -6).arg(c.detail));
            if (!c.fix.isEmpty())
                out(QStringLiteral("%1 %2 fix: %3").arg(QString(), -10).arg(QString(), -6).arg(c.fix));
        }
    }
    return checks.first().state == QLatin1String("ok") ? Ok : Failed;
}

} // namespace

AIRLOCKCTL_GROUP({QStringLiteral("doctor"), {QString()}, runDoctor,
                  "  doctor [--json]                             what this machine can run (bubblewrap, Docker, gVisor),\n"
                  "                                              the keychain and the store, with fixes\n",
                  2});

} // namespace airlock::cli
