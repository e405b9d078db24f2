// airlockctl image …: the images Docker sandboxes run: Airlock's own (the offline base, the agent
// image), built from this host's files, and others pulled from a registry.
#include "agent/agentcatalogue.h"
#include "agent/agentinstall.h"
#include "cli.h"
#include "dockercli.h"
#include "docker/agentimage.h"
#include "docker/baseimage.h"
#include "docker/dockerclient.h"
#include "docker/dockererrors.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonObject>
#include <QStandardPaths>

namespace airlock::cli {

namespace {

using docker::DockerClient;
using namespace dockercli;

int imageList(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("List the images on the Docker host."));
    p.addOption(kJson);
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    auto *client = DockerClient::fromEnvironment(qApp);
    auto images = await(client->listImages());
    if (!images)
        return error(images.error());
    if (p.isSet(kJson)) {
        outJson(*images);
        return Ok;
    }
    out(QStringLiteral("%1 %2 %3 %4").arg(QStringLiteral("IMAGE"), -40).arg(QStringLiteral("ID"), -12).arg(QStringLiteral("SIZE"), 10).arg(QStringLiteral("CREATED")));
    for (const QJsonValue &v : *images) {
        const QJsonObject image = v.toObject();
        QStringList tags;
        for (const QJsonValue &t : image.value(u"RepoTags").toArray())
            tags << t.toString();
        if (tags.isEmpty())
            tags << QStringLiteral("<none>");
        const QString created = formatTime(qint64(image.value(u"Created").toDouble()) * 1000);
        const QString size = docker::formatBytes(qint64(image.value(u"Size").toDouble()));
        for (const QString &tag : std::as_const(tags)) {
            // podman names it in full: docker.io/library/airlock-base:latest
            const QString mark = docker::namesImage(tag, docker::kBaseImage)    ? QStringLiteral("  (Airlock's offline base)")
                                 : docker::namesImage(tag, docker::kAgentImage) ? QStringLiteral("  (Airlock's agent image)")
                                                                                : QString();
            out(QStringLiteral("%1 %2 %3 %4%5").arg(tag, -40).arg(shortId(image.value(u"Id").toString()), -12).arg(size, 10).arg(created, mark));
        }
    }
    return Ok;
}

// Builds one of Airlock's images from host files, unless --if-missing and it is there.
int buildImage(const QCommandLineParser &p, const QCommandLineOption &ifMissing, const docker::BaseImageOptions &options)
{
    const QString reference = options.repository + u':' + options.tag;
    auto *client = DockerClient::fromEnvironment(qApp);
    if (p.isSet(ifMissing)) {
        auto existing = await(client->inspectImage(reference));
        if (existing) {
            if (p.isSet(kJson))
                outJson(QJsonObject{{QStringLiteral("image"), reference}, {QStringLiteral("id"), existing->value(u"Id").toString()}, {QStringLiteral("built"), false}});
            else
                out(QStringLiteral("%1 is already there (%2)").arg(reference, shortId(existing->value(u"Id").toString())));
            return Ok;
        }
        if (existing.error().code != ErrorCode::NotFound)
            return error(existing.error());
    }
    QElapsedTimer timer;
    timer.start();
    auto id = await(docker::buildBaseImage(client, options, [&p](const QString &line) {
        if (!p.isSet(kJson))
            note(line);
    }));
    if (!id)
        return error(id.error());
    if (p.isSet(kJson))
        outJson(QJsonObject{{QStringLiteral("image"), reference}, {QStringLiteral("id"), *id}, {QStringLiteral("built"), true},
                            {QStringLiteral("ms"), timer.elapsed()}});
    else
        out(QStringLiteral("built %1 (%2) in %3 ms").arg(reference, shortId(*id)).arg(timer.elapsed()));
    return Ok;
}

void setTag(docker::BaseImageOptions &options, const QString &value)
{
    const qsizetype colon = value.lastIndexOf(u':');
    options.repository = colon > value.lastIndexOf(u'/') ? value.left(colon) : value;
    options.tag = colon > value.lastIndexOf(u'/') ? value.mid(colon + 1) : QStringLiteral("latest");
}

int imageBuildBase(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Build Airlock's minimal base image offline from files on this host (a static busybox, or host programs "
        "with their libraries) and import it into Docker. No registry is needed."));
    const QCommandLineOption tag(QStringLiteral("tag"), QStringLiteral("Repository and tag (default airlock-base:latest)."), QStringLiteral("REPO:TAG"));
    const QCommandLineOption busybox(QStringLiteral("busybox"), QStringLiteral("The busybox to use, or 'none'."), QStringLiteral("PATH"));
    const QCommandLineOption add(QStringLiteral("add"), QStringLiteral("A host program to copy with its libraries (repeatable)."), QStringLiteral("PROGRAM"));
    const QCommandLineOption ifMissing(QStringLiteral("if-missing"), QStringLiteral("Do nothing when the image exists."));
    p.addOptions({tag, busybox, add, ifMissing, kJson});
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    docker::BaseImageOptions options;
    if (p.isSet(tag))
        setTag(options, p.value(tag));
    options.busybox = p.value(busybox);
    for (const QString &program : p.values(add)) {
        const QString path = program.contains(u'/') ? program : QStandardPaths::findExecutable(program);
        if (path.isEmpty())
            return error(QStringLiteral("--add %1: no such program on this host").arg(program), Usage);
        options.programs << path;
    }
    return buildImage(p, ifMissing, options);
}

int imageBuildAgent(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Build the image agents run in on Docker (airlock-agent:latest): the offline base with node, bash, git, "
        "coreutils and the CA certificates, taken from this host. The agent's adapter is not in it: sessions "
        "mount the folder 'airlockctl agents install' made, read-only. Sessions build it on first use too."));
    p.addPositionalArgument(QStringLiteral("agent"), QStringLiteral("Optional: the agent it is for; checks that it runs on node and is installed."), QStringLiteral("[AGENT]"));
    const QCommandLineOption tag(QStringLiteral("tag"), QStringLiteral("Repository and tag (default airlock-agent:latest)."), QStringLiteral("REPO:TAG"));
    const QCommandLineOption ifMissing(QStringLiteral("if-missing"), QStringLiteral("Do nothing when the image exists."));
    p.addOptions({tag, ifMissing, kJson});
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    if (p.positionalArguments().size() > 1)
        return error(QStringLiteral("image build-agent takes at most one agent name"), Usage);
    if (!p.positionalArguments().isEmpty()) {
        const QString name = p.positionalArguments().constFirst();
        auto catalogue = agent::AgentCatalogue::open(ctx.dbPath);
        if (!catalogue)
            return error(catalogue.error());
        auto found = catalogue->find(name);
        if (!found)
            return error(found.error());
        if (!*found)
            return error(QStringLiteral("no agent named '%1' (see 'airlockctl agents list')").arg(name));
        const agent::AgentProfile profile = **found;
        if (!profile.package.isSet())
            return error(QStringLiteral("%1 is not installed by Airlock (no npm package in its profile); the agent image "
                                        "carries node for adapters that 'airlockctl agents install' puts in place")
                             .arg(name),
                         Usage);
        if (agent::installedProgram(profile.package).isEmpty() && !p.isSet(kJson))
            note(QStringLiteral("note: %1 is not installed yet; run 'airlockctl agents install %1' before a session").arg(name));
    }
    auto options = docker::agentImageOptions();
    if (!options)
        return error(options.error());
    if (p.isSet(tag))
        setTag(*options, p.value(tag));
    return buildImage(p, ifMissing, *options);
}

int imagePull(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Pull an image from its registry, showing progress."));
    p.addOption(kJson);
    p.addPositionalArgument(QStringLiteral("reference"), QStringLiteral("e.g. debian:bookworm-slim"));
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    if (p.positionalArguments().size() != 1)
        return error(QStringLiteral("image pull needs one image reference"), Usage);
    const QString reference = p.positionalArguments().first();
    auto *client = DockerClient::fromEnvironment(qApp);
    QString lastLine;
    auto result = await(client->pullImage(reference, [&](const docker::ProgressLine &line) {
        if (p.isSet(kJson)) {
            outJson(line.raw);
            return;
        }
        QString text = line.id.isEmpty() ? line.status : QStringLiteral("%1: %2").arg(line.id, line.status);
        if (line.total > 0)
            text += QStringLiteral(" %1/%2").arg(docker::formatBytes(line.current), docker::formatBytes(line.total));
        if (text != lastLine)
            note(text);
        lastLine = text;
    }));
    if (!result) {
        Error e = result.error();
        const QString m = e.message;
        if (m.contains(QLatin1String("dial tcp")) || m.contains(QLatin1String("lookup")) || m.contains(QLatin1String("connection refused"))
            || m.contains(QLatin1String("timeout")))
            e.message = m + QStringLiteral(" — no registry is reachable from the Docker host; build the offline base image "
                                           "with 'airlockctl image build-base' instead");
        return error(e);
    }
    if (!p.isSet(kJson))
        out(QStringLiteral("pulled %1").arg(reference));
    return Ok;
}

int runImage(const QString &verb, const Context &ctx)
{
    if (verb == QLatin1String("list"))
        return imageList(ctx);
    if (verb == QLatin1String("build-base"))
        return imageBuildBase(ctx);
    if (verb == QLatin1String("build-agent"))
        return imageBuildAgent(ctx);
    return imagePull(ctx);
}

} // namespace

} // namespace airlock::cli

AIRLOCKCTL_GROUP({QStringLiteral("image"), {QStringLiteral("list"), QStringLiteral("build-base"), QStringLiteral("build-agent"), QStringLiteral("pull")},
                  airlock::cli::runImage,
                  "  image list [--json]                         images on the Docker host\n"
                  "  image build-base [--tag T] [--add PROGRAM] [--if-missing]\n"
                  "                                              the offline base image, from host files\n"
                  "  image build-agent [AGENT] [--if-missing]    the agent image: base + node, bash, git, coreutils\n"
                  "  image pull REF [--json]                     pull an image, with progress\n",
                  60});

