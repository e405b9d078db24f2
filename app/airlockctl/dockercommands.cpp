// airlockctl docker …: the daemon's state, Airlock's containers, their stats, reconciliation and a
// one-shot run through the Docker backend.
#include "cli.h"
#include "dockercli.h"
#include "sandboxhost.h"
#include "docker/baseimage.h"
#include "docker/dockerbackend.h"
#include "docker/dockerclient.h"
#include "docker/dockererrors.h"
#include "policy/codec.h"
#include "policy/policylibrary.h"
#include "store/eventstore.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QStandardPaths>
#include <QJsonArray>
#include <QJsonObject>

#include <cstdio>

namespace airlock::cli {

namespace {

using docker::DockerClient;
using namespace dockercli;

// ---- docker ----

QJsonObject containerJson(const docker::ContainerRecord &c)
{
    using namespace docker::labels;
    return QJsonObject{{QStringLiteral("sandbox"), c.sandboxId()},
                       {QStringLiteral("container"), c.id.left(12)},
                       {QStringLiteral("state"), c.state},
                       {QStringLiteral("session"), c.label(Session)},
                       {QStringLiteral("lifecycle"), c.label(Lifecycle)},
                       {QStringLiteral("policy"), c.label(PolicyName)},
                       {QStringLiteral("image"), c.image},
                       {QStringLiteral("workspace"), c.label(Workspace)}};
}

Result<QList<docker::ContainerRecord>> airlockContainers(DockerClient *client)
{
    auto list = await(client->listContainers({{QStringLiteral("label"), {QLatin1String(docker::labels::Version)}}}, true));
    if (!list)
        return std::unexpected(list.error());
    QList<docker::ContainerRecord> records;
    for (const QJsonValue &v : *list)
        records << docker::ContainerRecord::fromJson(v.toObject());
    return records;
}

int dockerStatus(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Is the Docker daemon reachable, which API does it speak, is the base image there?"));
    p.addOption(kJson);
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    auto *client = DockerClient::fromEnvironment(qApp);
    auto ping = await(client->ping());
    if (!ping)
        return error(ping.error());
    auto version = await(client->version());
    auto base = await(client->inspectImage(QString::fromLatin1(docker::kBaseImage)));
    auto containers = airlockContainers(client);
    QJsonObject o{{QStringLiteral("endpoint"), client->endpoint().display()},
                  {QStringLiteral("api"), ping->usedVersion},
                  {QStringLiteral("apiOffered"), ping->apiVersion},
                  {QStringLiteral("podman"), ping->podman},
                  {QStringLiteral("server"), version ? version->value(u"Version").toString() : QString()},
                  {QStringLiteral("baseImage"), base ? shortId(base->value(u"Id").toString()) : QString()},
                  {QStringLiteral("containers"), containers ? int(containers->size()) : -1}};
    if (p.isSet(kJson)) {
        outJson(o);
        return Ok;
    }
    out(QStringLiteral("daemon      %1 (%2 %3, API %4 of %5)")
            .arg(o.value(u"endpoint").toString(), ping->podman ? QStringLiteral("podman") : QStringLiteral("Docker"),
                 o.value(u"server").toString(), ping->usedVersion, ping->apiVersion));
    out(QStringLiteral("base image  %1").arg(base ? QStringLiteral("%1 (%2)").arg(QLatin1String(docker::kBaseImage), o.value(u"baseImage").toString())
                                                  : QStringLiteral("missing: run 'airlockctl image build-base'")));
    out(QStringLiteral("containers  %1 made by Airlock").arg(o.value(u"containers").toInt()));
    return Ok;
}

int dockerPs(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("List the containers Airlock made on the Docker host."));
    p.addOption(kJson);
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    auto containers = airlockContainers(DockerClient::fromEnvironment(qApp));
    if (!containers)
        return error(containers.error());
    QJsonArray all;
    for (const auto &c : std::as_const(*containers))
        all.append(containerJson(c));
    if (p.isSet(kJson)) {
        outJson(all);
        return Ok;
    }
    for (const auto &c : std::as_const(*containers))
        out(QStringLiteral("%1 %2 %3 %4 %5").arg(c.sandboxId(), -18).arg(c.id.left(12), -12).arg(c.state, -9)
                .arg(c.label(docker::labels::Lifecycle), -10).arg(c.label(docker::labels::PolicyName)));
    return Ok;
}

int dockerStats(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("One sample of CPU, memory and processes of each running Airlock container."));
    p.addOption(kJson);
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    auto *client = DockerClient::fromEnvironment(qApp);
    auto containers = airlockContainers(client);
    if (!containers)
        return error(containers.error());
    QJsonArray all;
    for (const auto &c : std::as_const(*containers)) {
        if (!c.running() || (!p.positionalArguments().isEmpty() && !p.positionalArguments().contains(c.sandboxId())))
            continue;
        auto raw = await(client->containerStats(c.id));
        auto stats = raw ? docker::parseStats(*raw) : Result<docker::ContainerStats>(std::unexpected(raw.error()));
        if (!stats)
            return error(stats.error());
        stats->sandboxId = c.sandboxId();
        stats->containerId = c.id;
        all.append(stats->toJson());
        if (!p.isSet(kJson))
            out(QStringLiteral("%1 cpu %2%  memory %3 of %4  processes %5")
                    .arg(c.sandboxId(), -18)
                    .arg(stats->cpuPercent < 0 ? QStringLiteral("-") : QString::number(stats->cpuPercent, 'f', 1))
                    .arg(docker::formatBytes(stats->memoryBytes), docker::formatBytes(stats->memoryLimit))
                    .arg(stats->pids));
    }
    if (p.isSet(kJson))
        outJson(all);
    return Ok;
}

int dockerReconcile(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Remove containers of unknown or ended sessions and of Airlock processes that are gone; keep persistent ones."));
    p.addOption(kJson);
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    auto store = store::EventStore::open(ctx.dbPath);
    if (!store)
        return error(store.error());
    docker::DockerBackend backend;
    backend.setEventStore(store->get());
    auto report = await(backend.reconcile());
    if (!report)
        return error(report.error());
    (*store)->flush();
    if (p.isSet(kJson)) {
        outJson(report->toJson());
        return Ok;
    }
    out(report->summary());
    for (const auto &e : std::as_const(report->entries))
        out(QStringLiteral("  %1 %2 (%3): %4").arg(e.action, -8).arg(e.sandbox, e.container.left(12), e.reason));
    return Ok;
}

// The same command as `airlockctl exec`, with the hardened policy by default and --image.
int dockerRun(const Context &ctx)
{
    return runOneShot(ctx, OneShotDefaults{QStringLiteral("hardened"), true});
}

int runDocker(const QString &verb, const Context &ctx)
{
    if (verb == QLatin1String("status"))
        return dockerStatus(ctx);
    if (verb == QLatin1String("ps"))
        return dockerPs(ctx);
    if (verb == QLatin1String("stats"))
        return dockerStats(ctx);
    if (verb == QLatin1String("reconcile"))
        return dockerReconcile(ctx);
    return dockerRun(ctx);
}

} // namespace

} // namespace airlock::cli

AIRLOCKCTL_GROUP({QStringLiteral("docker"), {QStringLiteral("status"), QStringLiteral("ps"), QStringLiteral("stats"),
                                             QStringLiteral("reconcile"), QStringLiteral("run")},
                  airlock::cli::runDocker,
                  "  docker status [--json]                      the daemon, its API version, the base image\n"
                  "  docker ps|stats [--json]                    Airlock's containers; cpu, memory, processes\n"
                  "  docker reconcile [--json]                   reap leftovers, re-adopt persistent sandboxes\n"
                  "  docker run [--policy P] [--image I] -- CMD  airlockctl exec with the hardened policy by default\n",
                  61});
