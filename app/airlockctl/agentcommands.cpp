// airlockctl agents …: the agent catalogue: presets for real ACP agents, the bundled demo agent and
// the user's own commands.
#include "agent/agentcatalogue.h"
#include "agent/agentinstall.h"
#include "cli.h"
#include "session/agentaccess.h"
#include "text/inerttext.h"

#include <QCoreApplication>
#include <QFileInfo>

#include <QJsonArray>
#include <QJsonObject>

#include <cstdio>

namespace airlock::cli {

namespace {

using agent::AgentCatalogue;
using agent::AgentProfile;

const QCommandLineOption kJson(QStringLiteral("json"), QStringLiteral("Print JSON."));

QString commandLine(const AgentProfile &p, const QString &program = {})
{
    QStringList words{program.isEmpty() ? p.command : program};
    for (const QString &a : p.args)
        words.append(a.contains(u' ') || a.isEmpty() ? u'\'' + a + u'\'' : a);
    return words.join(u' ');
}

// The agent by name or alias, or an error that says where to look.
Result<AgentProfile> findAgent(const Context &ctx, const QString &name)
{
    auto catalogue = AgentCatalogue::open(ctx.dbPath);
    if (!catalogue)
        return std::unexpected(catalogue.error());
    auto found = catalogue->find(name);
    if (!found)
        return std::unexpected(found.error());
    if (!*found)
        return fail(ErrorCode::NotFound, QStringLiteral("no agent named '%1' (see 'airlockctl agents list')").arg(name));
    return **found;
}

int list(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("List the agents Airlock can start: presets first, then your own, "
                                               "each with whether it is installed and how to install it if not."));
    p.addOption(kJson);
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    auto catalogue = AgentCatalogue::open(ctx.dbPath);
    if (!catalogue)
        return error(catalogue.error());
    auto profiles = catalogue->list();
    if (!profiles)
        return error(profiles.error());
    QJsonArray array;
    if (!p.isSet(kJson))
        out(QStringLiteral("%1  %2  %3  %4").arg(QStringLiteral("NAME"), -14).arg(QStringLiteral("PLACEMENT"), -9)
                .arg(QStringLiteral("STATUS"), -7).arg(QStringLiteral("COMMAND")));
    for (const AgentProfile &a : std::as_const(*profiles)) {
        const agent::Availability av = agent::checkAvailability(a);
        if (p.isSet(kJson)) {
            array.append(QJsonObject{
                {QStringLiteral("name"), a.name},
                {QStringLiteral("title"), a.title},
                {QStringLiteral("description"), a.description},
                {QStringLiteral("builtIn"), a.builtIn},
                {QStringLiteral("command"), a.command},
                {QStringLiteral("args"), QJsonArray::fromStringList(a.args)},
                {QStringLiteral("envAllow"), QJsonArray::fromStringList(a.envAllow)},
                {QStringLiteral("placement"), agent::nameOf(a.placement)},
                {QStringLiteral("defaultPolicy"), a.defaultPolicy.isEmpty() ? QJsonValue() : QJsonValue(a.defaultPolicy)},
                {QStringLiteral("available"), av.available},
                {QStringLiteral("program"), av.program.isEmpty() ? QJsonValue() : QJsonValue(av.program)},
                {QStringLiteral("detail"), av.detail},
                {QStringLiteral("installHint"), av.installHint.isEmpty() ? QJsonValue() : QJsonValue(av.installHint)},
            });
            continue;
        }
        out(QStringLiteral("%1  %2  %3  %4").arg(a.name, -14).arg(agent::nameOf(a.placement), -9)
                .arg(av.available ? QStringLiteral("ready") : QStringLiteral("missing"), -7)
                .arg(commandLine(a)));
        if (!av.available)
            out(QStringLiteral("%1install: %2").arg(QString(16, u' '), av.installHint));
    }
    if (p.isSet(kJson))
        outJson(array);
    return Ok;
}

int add(const Context &ctx)
{
    // Everything after "--" is the agent's own command line, options and all, untouched by our parser.
    const qsizetype dashes = ctx.args.indexOf(QStringLiteral("--"));
    const QStringList ours = dashes < 0 ? ctx.args : ctx.args.mid(0, dashes);
    QStringList command = dashes < 0 ? QStringList() : ctx.args.mid(dashes + 1);

    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Store an agent: airlockctl agents add NAME [OPTIONS] -- COMMAND [ARGS…]. The command must speak ACP "
        "on stdin/stdout."));
    p.addPositionalArgument(QStringLiteral("name"), QStringLiteral("The agent's name (letters, digits, '-', '_', '.')."));
    p.addOption({QStringLiteral("placement"),
                 QStringLiteral("sandbox (default): the agent itself runs in the sandbox. host: only its file and "
                                "terminal requests do; its built-in tools would run unconfined."),
                 QStringLiteral("WHERE"), QStringLiteral("sandbox")});
    p.addOption({QStringLiteral("env"), QStringLiteral("Pass this host variable to the agent (repeatable; NAME or PREFIX*)."),
                 QStringLiteral("VAR")});
    p.addOption({QStringLiteral("policy"), QStringLiteral("The policy its sessions start with."), QStringLiteral("NAME")});
    p.addOption({QStringLiteral("replace"), QStringLiteral("Replace a stored agent of the same name.")});
    int exit = Ok;
    Context mine = ctx;
    mine.args = ours;
    if (!parse(p, mine, &exit))
        return exit;
    const QStringList positional = p.positionalArguments();
    if (positional.isEmpty())
        return error(QStringLiteral("agents add needs a name, then -- and the command to run"), Usage);
    if (dashes < 0)
        command = positional.mid(1);
    else if (positional.size() > 1)
        return error(QStringLiteral("put the agent's command after --, not before it (%1)").arg(positional.mid(1).join(u' ')), Usage);
    if (command.isEmpty())
        return error(QStringLiteral("agents add %1 needs the command to run after --, e.g. agents add %1 -- my-agent --acp")
                         .arg(positional.first()),
                     Usage);
    auto placement = agent::placementFrom(p.value(QStringLiteral("placement")));
    if (!placement)
        return error(QStringLiteral("--placement takes sandbox or host, not %1").arg(p.value(QStringLiteral("placement"))), Usage);

    AgentProfile profile;
    profile.name = positional.first();
    profile.command = command.takeFirst();
    profile.args = command;
    profile.envAllow = p.values(QStringLiteral("env"));
    profile.placement = *placement;
    profile.defaultPolicy = p.value(QStringLiteral("policy"));
    auto catalogue = AgentCatalogue::open(ctx.dbPath);
    if (!catalogue)
        return error(catalogue.error());
    if (auto saved = catalogue->save(profile, p.isSet(QStringLiteral("replace"))); !saved)
        return error(saved.error());
    out(QStringLiteral("saved agent %1: %2 (%3)").arg(profile.name, commandLine(profile), agent::nameOf(profile.placement)));
    const agent::Availability av = agent::checkAvailability(profile);
    if (!av.available)
        std::fprintf(stderr, "airlockctl: note: %s; %s\n", qPrintable(av.detail), qPrintable(av.installHint));
    if (const QString warning = agent::placementWarning(profile); !warning.isEmpty())
        std::fprintf(stderr, "airlockctl: note: %s\n", qPrintable(warning));
    return Ok;
}

int install(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Install a preset agent's ACP adapter with npm, at the version Airlock pins, into a folder of Airlock's "
        "own (AIRLOCK_AGENTS_DIR, default ~/.local/share/airlock/agents) that sessions mount read-only into the "
        "sandbox. Needs the network (npm's registry) once."));
    p.addPositionalArgument(QStringLiteral("name"), QStringLiteral("The agent: claude, codex or gemini."));
    const QCommandLineOption force(QStringLiteral("force"), QStringLiteral("Install again even if this version is there."));
    p.addOption(force);
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    if (p.positionalArguments().size() != 1)
        return error(QStringLiteral("agents install needs one agent name (see 'airlockctl agents list')"), Usage);
    auto found = findAgent(ctx, p.positionalArguments().first());
    if (!found)
        return error(found.error());
    const AgentProfile profile = *found;
    agent::AgentInstaller installer;
    int status = Failed;
    QObject::connect(&installer, &agent::AgentInstaller::progress, [](const QString &line) {
        std::fprintf(stderr, "  %s\n", qPrintable(text::inertLine(line)));
    });
    QObject::connect(&installer, &agent::AgentInstaller::failed, [&](const Error &e) {
        error(e);
        QCoreApplication::exit(Failed);
    });
    QObject::connect(&installer, &agent::AgentInstaller::installed, [&](const QString &program) {
        {
            out(QStringLiteral("installed %1 %2: %3").arg(profile.name, profile.package.version, program));
            const agent::Availability av = agent::checkAvailability(profile);
            if (!av.available)
                std::fprintf(stderr, "airlockctl: note: %s; %s\n", qPrintable(av.detail), qPrintable(av.installHint));
            if (profile.model.isSet())
                std::fprintf(stderr, "airlockctl: next: airlockctl secrets set %s (the key the proxy adds for it)\n",
                             qPrintable(profile.model.secret));
            status = Ok;
        }
        QCoreApplication::exit(status);
    });
    installer.install(profile, p.isSet(force));
    return QCoreApplication::exec();
}

int model(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Show or set the model API an agent's sessions use (a corporate gateway, a test server) and a CA bundle "
        "the proxy trusts for it, beside the system store. Kept in the store for every later session of the agent; "
        "a run's --model-endpoint and --upstream-ca still win."));
    p.addPositionalArgument(QStringLiteral("name"), QStringLiteral("The agent: claude, codex, gemini …"));
    const QCommandLineOption endpoint(QStringLiteral("endpoint"), QStringLiteral("The model API, https://HOST[:PORT][/PATH]."),
                                      QStringLiteral("URL"));
    const QCommandLineOption ca(QStringLiteral("upstream-ca"), QStringLiteral("A PEM file of CAs for that endpoint."),
                                QStringLiteral("FILE"));
    const QCommandLineOption reset(QStringLiteral("reset"), QStringLiteral("Back to the vendor's API and the system store."));
    p.addOptions({endpoint, ca, reset, kJson});
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    if (p.positionalArguments().size() != 1)
        return error(QStringLiteral("agents model needs one agent name"), Usage);
    if (p.isSet(reset) && (p.isSet(endpoint) || p.isSet(ca)))
        return error(QStringLiteral("--reset takes no --endpoint or --upstream-ca"), Usage);
    auto found = findAgent(ctx, p.positionalArguments().first());
    if (!found)
        return error(found.error());
    const AgentProfile profile = *found;
    if (!profile.model.isSet())
        return error(QStringLiteral("%1 does not reach a model through Airlock's proxy, so it has no model endpoint to set")
                         .arg(profile.name));
    auto chosen = session::rememberedModel(ctx.dbPath, profile.name);
    if (!chosen)
        return error(chosen.error());
    if (p.isSet(reset) || p.isSet(endpoint) || p.isSet(ca)) {
        session::ModelChoice next = p.isSet(reset) ? session::ModelChoice{} : *chosen;
        if (p.isSet(endpoint))
            next.endpoint = p.value(endpoint);
        if (p.isSet(ca))
            next.caFile = p.value(ca).isEmpty() ? QString() : QFileInfo(p.value(ca)).absoluteFilePath();
        if (auto r = session::rememberModel(ctx.dbPath, profile.name, next); !r)
            return error(r.error());
        *chosen = next;
    }
    const QString shown = chosen->endpoint.isEmpty() ? profile.model.endpoint : chosen->endpoint;
    if (p.isSet(kJson)) {
        outJson(QJsonObject{{QStringLiteral("agent"), profile.name},
                            {QStringLiteral("endpoint"), shown},
                            {QStringLiteral("default"), chosen->endpoint.isEmpty()},
                            {QStringLiteral("upstreamCa"), chosen->caFile},
                            {QStringLiteral("secret"), profile.model.secret}});
        return Ok;
    }
    out(QStringLiteral("%1: %2%3, key from secret %4%5")
            .arg(profile.name, shown, chosen->endpoint.isEmpty() ? QStringLiteral(" (the vendor's)") : QString(),
                 profile.model.secret,
                 chosen->caFile.isEmpty() ? QString() : QStringLiteral(", CA bundle %1").arg(chosen->caFile)));
    return Ok;
}

int remove(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Remove a stored agent. Presets cannot be removed."));
    p.addPositionalArgument(QStringLiteral("name"), QStringLiteral("The agent's name."));
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    if (p.positionalArguments().size() != 1)
        return error(QStringLiteral("agents remove needs one agent name"), Usage);
    const QString name = p.positionalArguments().first();
    auto catalogue = AgentCatalogue::open(ctx.dbPath);
    if (!catalogue)
        return error(catalogue.error());
    auto removed = catalogue->remove(name);
    if (!removed)
        return error(removed.error());
    if (!*removed) {
        const auto presets = agent::presetProfiles();
        const bool preset = std::any_of(presets.begin(), presets.end(), [&](const AgentProfile &a) { return a.name == name; });
        return error(preset ? QStringLiteral("%1 is a built-in preset and cannot be removed").arg(name)
                            : QStringLiteral("no stored agent named %1").arg(name));
    }
    out(QStringLiteral("removed agent %1").arg(name));
    return Ok;
}

} // namespace

static int runAgents(const QString &verb, const Context &ctx)
{
    if (verb == QLatin1String("list")) return list(ctx);
    if (verb == QLatin1String("add")) return add(ctx);
    if (verb == QLatin1String("remove")) return remove(ctx);
    if (verb == QLatin1String("install")) return install(ctx);
    if (verb == QLatin1String("model")) return model(ctx);
    return error(QStringLiteral("unknown command 'agents %1'").arg(verb), Usage);
}

AIRLOCKCTL_GROUP({QStringLiteral("agents"), {QStringLiteral("list"), QStringLiteral("add"), QStringLiteral("remove"),
                                               QStringLiteral("install"), QStringLiteral("model")}, runAgents,
                  "  agents list [--json]                        presets and stored agents, installed or not\n"
                  "  agents add NAME [--placement sandbox|host] [--env VAR] [--policy P] [--replace] -- COMMAND ARGS…\n"
                  "                                              store an agent's command\n"
                  "  agents remove NAME                          remove a stored agent\n"
                  "  agents install NAME [--force]               install a preset's adapter (npm, pinned version)\n"
                  "  agents model NAME [--endpoint URL] [--upstream-ca FILE] [--reset]\n"
                  "                                              the model API its sessions use (kept per agent)\n",
                  40});

} // namespace airlock::cli
