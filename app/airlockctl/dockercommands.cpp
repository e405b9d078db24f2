// airlockctl docker …: the daemon's state, Airlock's containers, their stats, reconciliation and a
// one-shot run through the Docker backend.
#include "cli.h"
#include "dockercli.h"
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

int dockerRun(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Run one command in a new Docker sandbox and remove it afterwards; the exit status is the command's."));
    const QCommandLineOption policyOption(QStringLiteral("policy"), QStringLiteral("Policy name or .json file (default hardened)."), QStringLiteral("NAME"));
    const QCommandLineOption workspaceOption(QStringLiteral("workspace"), QStringLiteral("Workspace folder (default: the current one)."), QStringLiteral("DIR"));
    const QCommandLineOption imageOption(QStringLiteral("image"), QStringLiteral("Use this image instead of the policy's."), QStringLiteral("IMAGE"));
    p.addOptions({policyOption, workspaceOption, imageOption});
    p.addPositionalArgument(QStringLiteral("command"), QStringLiteral("-- COMMAND ARGS…"));
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    const QStringList argv = p.positionalArguments();
    if (argv.isEmpty())
        return error(QStringLiteral("docker run needs a command after --"), Usage);
    const QString ref = p.isSet(policyOption) ? p.value(policyOption) : QStringLiteral("hardened");
    Result<policy::Policy> chosen = policy::loadPolicyFile(ref);
    if (!ref.endsWith(QLatin1String(".json")) && !ref.contains(u'/')) {
        auto reader = openReader(ctx.dbPath);
        if (!reader)
            return error(reader.error());
        auto entry = policy::findPolicy(*reader, ref);
        chosen = entry ? Result<policy::Policy>(entry->policy) : Result<policy::Policy>(std::unexpected(entry.error()));
    }
    if (!chosen)
        return error(chosen.error());
    if (p.isSet(imageOption))
        chosen->runtime.image = p.value(imageOption);
    auto store = store::EventStore::open(ctx.dbPath);
    if (!store)
        return error(store.error());
    docker::DockerBackend backend;
    backend.setEventStore(store->get());
    sandbox::SandboxSpec spec{*chosen, ref, QDir(p.isSet(workspaceOption) ? p.value(workspaceOption) : QDir::currentPath()).absolutePath(),
                              {}, {}, policy::Lifecycle::Ephemeral};
    auto created = backend.create(spec);
    if (!created)
        return error(created.error());
    auto *box = qobject_cast<docker::DockerSandbox *>(*created);
    QObject::connect(box, &docker::DockerSandbox::outOfMemory, box, [box] {
        note(QStringLiteral("airlockctl: a process in sandbox %1 was killed for running out of memory").arg(box->id()));
    });
    while (box->state() == sandbox::SandboxState::Starting)
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    if (box->state() != sandbox::SandboxState::Running) {
        const QString why = box->info().message;
        (*store)->flush();
        return error(why);
    }
    sandbox::ExecRequest request;
    request.argv = argv;
    request.inheritEnv = true;
    auto process = box->exec(request);
    int status = Failed;
    if (!process) {
        note(QStringLiteral("airlockctl: %1").arg(process.error().message));
    } else {
        bool done = false;
        QObject::connect(*process, &sandbox::SandboxProcess::stdoutReceived, [](const QByteArray &chunk) {
            std::fwrite(chunk.constData(), 1, size_t(chunk.size()), stdout);
        });
        QObject::connect(*process, &sandbox::SandboxProcess::stderrReceived, [](const QByteArray &chunk) {
            std::fwrite(chunk.constData(), 1, size_t(chunk.size()), stderr);
        });
        QObject::connect(*process, &sandbox::SandboxProcess::finished, [&](const sandbox::ExitStatus &s) {
            status = s.exitCode ? *s.exitCode : 128 + s.signal.value_or(0);
            if (s.needsExplaining())
                note(QStringLiteral("airlockctl: the command %1").arg(s.reason()));
            done = true;
        });
        QObject::connect(*process, &sandbox::SandboxProcess::failed, [&](const Error &e) {
            note(QStringLiteral("airlockctl: %1").arg(e.message));
            done = true;
        });
        while (!done)
            QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    }
    std::fflush(stdout);
    const QString id = box->id();
    bool removed = false;
    QObject::connect(&backend, &sandbox::Backend::sandboxRemoved, [&](const QString &gone) { removed = removed || gone == id; });
    box->destroy();
    while (!removed && box->state() != sandbox::SandboxState::Failed)
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    (*store)->flush();
    return status;
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
                  "  docker run [--policy P] [--image I] -- CMD  one command in a fresh Docker sandbox\n",
                  61});
