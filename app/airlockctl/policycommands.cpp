#include "cli.h"
#include "policy/approvals.h"
#include "policy/codec.h"
#include "policy/compiler.h"
#include "sandbox/seccompfilter.h"
#include "policy/hostfacts.h"
#include "policy/linter.h"
#include "policy/policylibrary.h"
#include "store/eventstore.h"
#include "store/schema.h"
#include "store/storereader.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

#include <cstdio>
#include <unistd.h>

namespace airlock::cli {

namespace {

using policy::Policy;

// NAME is a stored policy or a preset; anything that looks like a path is read as a JSON file.
Result<Policy> resolve(const Context &ctx, const QString &ref, int version)
{
    if (ref.endsWith(QLatin1String(".json")) || ref.contains(u'/'))
        return policy::loadPolicyFile(ref);
    auto reader = openReader(ctx.dbPath);
    if (!reader)
        return std::unexpected(reader.error());
    auto entry = policy::findPolicy(*reader, ref, version);
    if (!entry)
        return std::unexpected(entry.error());
    return entry->policy;
}

bool oneName(QCommandLineParser &p, const Context &ctx, QString *name, int *exit)
{
    if (!parse(p, ctx, exit))
        return false;
    if (p.positionalArguments().size() != 1) {
        *exit = error(QStringLiteral("%1 needs one policy name or .json file").arg(ctx.command), Usage);
        return false;
    }
    *name = p.positionalArguments().first();
    return true;
}

int versionOption(QCommandLineParser &p, int *exit)
{
    if (!p.isSet(QStringLiteral("version")))
        return 0;
    bool ok = false;
    const int v = p.value(QStringLiteral("version")).toInt(&ok);
    if (!ok || v < 1) {
        *exit = error(QStringLiteral("--version takes a version number from 1"), Usage);
        return -1;
    }
    return v;
}

const QCommandLineOption kJson(QStringLiteral("json"), QStringLiteral("Print JSON."));
const QCommandLineOption kVersion(QStringLiteral("version"), QStringLiteral("A saved version (default: newest)."),
                                  QStringLiteral("N"));

int list(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("List policies: built-in presets, least to most isolated, then saved ones."));
    p.addOption(kJson);
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    auto reader = openReader(ctx.dbPath);
    if (!reader)
        return error(reader.error());
    auto entries = policy::listPolicies(*reader);
    if (!entries)
        return error(entries.error());
    QJsonArray array;
    if (!p.isSet(kJson))
        out(QStringLiteral("%1  %2  %3  %4  %5").arg(QStringLiteral("NAME"), -14).arg(QStringLiteral("VERSION"), -8)
                .arg(QStringLiteral("BACKEND"), -7).arg(QStringLiteral("NETWORK"), -7).arg(QStringLiteral("DESCRIPTION")));
    for (const auto &e : *entries) {
        const QString backend = policy::nameOf(e.policy.runtime.backend);
        const QString network = policy::nameOf(e.policy.network.mode);
        const QString version = e.builtIn ? QStringLiteral("built-in") : QString::number(e.version);
        if (p.isSet(kJson)) {
            array.append(QJsonObject{{QStringLiteral("name"), e.name}, {QStringLiteral("version"), e.version},
                                     {QStringLiteral("builtIn"), e.builtIn}, {QStringLiteral("backend"), backend},
                                     {QStringLiteral("network"), network},
                                     {QStringLiteral("description"), e.policy.description},
                                     {QStringLiteral("hash"), policy::policyHash(e.policy)}});
        } else {
            out(QStringLiteral("%1  %2  %3  %4  %5").arg(e.name, -14).arg(version, -8).arg(backend, -7)
                    .arg(network, -7).arg(e.policy.description.section(u'.', 0, 0)));
        }
    }
    if (p.isSet(kJson))
        outJson(array);
    return Ok;
}

int lint(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Name the risks in a policy, with a fix for each where one "
                                               "exists. Exits 1 when any finding is critical."));
    p.addPositionalArgument(QStringLiteral("name"), QStringLiteral("Policy name or .json file."));
    p.addOption(kJson);
    int exit = Ok;
    QString name;
    if (!oneName(p, ctx, &name, &exit))
        return exit;
    auto pol = resolve(ctx, name, 0);
    if (!pol)
        return error(pol.error());
    const auto findings = policy::lint(*pol, policy::probeHostFacts());
    bool critical = false;
    QJsonArray array;
    for (const auto &f : findings) {
        critical = critical || f.severity == policy::Severity::Critical;
        if (p.isSet(kJson)) {
            array.append(QJsonObject{{QStringLiteral("id"), f.id}, {QStringLiteral("severity"), policy::nameOf(f.severity)},
                                     {QStringLiteral("path"), f.path}, {QStringLiteral("title"), f.title},
                                     {QStringLiteral("why"), f.why},
                                     {QStringLiteral("fix"), f.fix ? QJsonValue(f.fix->description) : QJsonValue()}});
        } else {
            out(QStringLiteral("%1  %2: %3").arg(policy::nameOf(f.severity).toUpper(), -8).arg(f.path, f.title));
            out(QStringLiteral("          %1").arg(f.why));
            if (f.fix)
                out(QStringLiteral("          fix: %1").arg(f.fix->description));
        }
    }
    if (p.isSet(kJson))
        outJson(array);
    else if (findings.isEmpty())
        out(QStringLiteral("No findings."));
    return critical ? Failed : Ok;
}

int compile(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Show exactly what a policy runs: the bubblewrap command or "
                                               "the Docker container it creates."));
    p.addPositionalArgument(QStringLiteral("name"), QStringLiteral("Policy name or .json file."));
    p.addOption({QStringLiteral("backend"), QStringLiteral("local or docker (default: the policy's)."), QStringLiteral("B")});
    p.addOption({QStringLiteral("workspace"), QStringLiteral("The workspace folder (default: the current one)."),
                 QStringLiteral("DIR")});
    p.addOption(kJson);
    int exit = Ok;
    QString name;
    if (!oneName(p, ctx, &name, &exit))
        return exit;
    auto pol = resolve(ctx, name, 0);
    if (!pol)
        return error(pol.error());
    policy::Backend backend = pol->runtime.backend;
    if (p.isSet(QStringLiteral("backend"))) {
        auto b = policy::parseEnum<policy::Backend>(p.value(QStringLiteral("backend")));
        if (!b)
            return error(QStringLiteral("--backend takes %1").arg(policy::joinedNames<policy::Backend>()), Usage);
        backend = *b;
    }
    policy::LaunchContext launch;
    launch.sessionId = QStringLiteral("preview");
    launch.workspace = QDir(p.value(QStringLiteral("workspace")).isEmpty() ? QDir::currentPath()
                                                                          : p.value(QStringLiteral("workspace"))).absolutePath();
    launch.shim = QStringLiteral("/usr/libexec/airlock/airlock-shim");
    launch.controlDir = QStringLiteral("/run/user/%1/airlock/preview").arg(::getuid());
    launch.home = QDir::homePath();
    if (backend == policy::Backend::Local) {
        auto cmd = policy::compileBwrap(*pol, launch);
        if (!cmd)
            return error(cmd.error());
        if (p.isSet(kJson)) {
            QJsonObject env;
            for (auto it = cmd->environment.cbegin(); it != cmd->environment.cend(); ++it)
                env.insert(it.key(), it.value());
            outJson(QJsonObject{{QStringLiteral("arguments"), QJsonArray::fromStringList(cmd->arguments)},
                                {QStringLiteral("environment"), env}});
        } else {
            out(policy::renderBwrapCommandLine(*cmd));
        }
        return Ok;
    }
    launch.seccompProfileJson = QString::fromUtf8(sandbox::dockerSeccompProfile(pol->privileges));
    launch.shimConnects = true; // as the Docker backend launches it
    auto body = policy::compileDockerCreate(*pol, launch);
    if (!body)
        return error(body.error());
    if (p.isSet(kJson))
        std::fputs(QJsonDocument(*body).toJson(QJsonDocument::Indented).constData(), stdout);
    else
        out(policy::renderDockerRunCommandLine(*body));
    return Ok;
}

int check(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Would this tool call be allowed? Prints the decision and the "
                                               "rule that made it; exits 0 for allow, 1 for deny, 3 for ask."));
    p.addPositionalArgument(QStringLiteral("name"), QStringLiteral("Policy name or .json file."));
    p.addOption({QStringLiteral("kind"), QStringLiteral("Tool kind: %1.").arg(policy::joinedNames<policy::ToolKind>()),
                 QStringLiteral("KIND")});
    p.addOption({QStringLiteral("command"), QStringLiteral("The command line (execute)."), QStringLiteral("CMD")});
    p.addOption({QStringLiteral("path"), QStringLiteral("The path it touches."), QStringLiteral("PATH")});
    p.addOption({QStringLiteral("domain"), QStringLiteral("The host it fetches from."), QStringLiteral("HOST")});
    p.addOption(kJson);
    int exit = Ok;
    QString name;
    if (!oneName(p, ctx, &name, &exit))
        return exit;
    auto kind = policy::parseEnum<policy::ToolKind>(p.value(QStringLiteral("kind")));
    if (!kind || *kind == policy::ToolKind::Any)
        return error(QStringLiteral("--kind takes one of: %1").arg(policy::joinedNames<policy::ToolKind>()), Usage);
    auto pol = resolve(ctx, name, 0);
    if (!pol)
        return error(pol.error());
    const policy::ToolCall call{*kind, p.value(QStringLiteral("command")), p.value(QStringLiteral("path")),
                                p.value(QStringLiteral("domain")), {}, {}};
    const auto d = policy::evaluate(pol->approvals, call);
    if (p.isSet(kJson))
        outJson(QJsonObject{{QStringLiteral("decision"), policy::nameOf(d.verdict)},
                            {QStringLiteral("rule"), d.ruleIndex < 0 ? QJsonValue() : QJsonValue(d.ruleIndex + 1)},
                            {QStringLiteral("explanation"), d.explanation}});
    else
        out(QStringLiteral("%1: %2").arg(policy::nameOf(d.verdict), d.explanation));
    switch (d.verdict) {
    case policy::Verdict::Allow: return Ok;
    case policy::Verdict::Deny: return Failed;
    case policy::Verdict::Ask: return 3;
    }
    return Ok;
}

int import(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Check a policy file strictly and save it as the next version."));
    p.addPositionalArgument(QStringLiteral("file"), QStringLiteral("The .json file."));
    p.addOption({QStringLiteral("name"), QStringLiteral("Save under this name instead of the file's."), QStringLiteral("NAME")});
    p.addOption({QStringLiteral("note"), QStringLiteral("What changed, kept with the version."), QStringLiteral("TEXT")});
    int exit = Ok;
    QString file;
    if (!oneName(p, ctx, &file, &exit))
        return exit;
    auto pol = policy::loadPolicyFile(file);
    if (!pol) {
        // Every problem, one a line, then the one-line summary.
        std::fprintf(stderr, "%s\n", qPrintable(pol.error().message));
        return error(QStringLiteral("%1 was not imported").arg(file), Failed);
    }
    const QString name = p.isSet(QStringLiteral("name")) ? p.value(QStringLiteral("name"))
                                                         : QFileInfo(file).completeBaseName();
    auto store = store::EventStore::open(ctx.dbPath);
    if (!store)
        return error(store.error());
    auto reader = store::StoreReader::open(ctx.dbPath);
    if (!reader)
        return error(reader.error());
    auto version = policy::savePolicy(**store, *reader, name, *pol, p.value(QStringLiteral("note")));
    if (!version)
        return error(version.error());
    out(QStringLiteral("saved %1 version %2").arg(name).arg(*version));
    return Ok;
}

int exportPolicy(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Print a policy as canonical JSON, or write it to a file."));
    p.addPositionalArgument(QStringLiteral("name"), QStringLiteral("Policy name or .json file."));
    p.addOption(kVersion);
    p.addOption({{QStringLiteral("o"), QStringLiteral("output")}, QStringLiteral("The file to write."), QStringLiteral("FILE")});
    int exit = Ok;
    QString name;
    if (!oneName(p, ctx, &name, &exit))
        return exit;
    const int version = versionOption(p, &exit);
    if (version < 0)
        return exit;
    auto pol = resolve(ctx, name, version);
    if (!pol)
        return error(pol.error());
    const QByteArray text = policy::serializePolicy(*pol);
    if (!p.isSet(QStringLiteral("output"))) {
        std::fputs(text.constData(), stdout);
        return Ok;
    }
    QSaveFile f(p.value(QStringLiteral("output")));
    if (!f.open(QIODevice::WriteOnly) || f.write(text) != text.size() || !f.commit())
        return error(QStringLiteral("cannot write %1: %2").arg(f.fileName(), f.errorString()));
    return Ok;
}

} // namespace

static int runPolicy(const QString &verb, const Context &ctx)
{
    if (verb == QLatin1String("list")) return list(ctx);
    if (verb == QLatin1String("lint")) return lint(ctx);
    if (verb == QLatin1String("compile")) return compile(ctx);
    if (verb == QLatin1String("check")) return check(ctx);
    if (verb == QLatin1String("import")) return import(ctx);
    if (verb == QLatin1String("show") || verb == QLatin1String("export"))
        return exportPolicy(ctx); // the same command; export reads better with -o
    return error(QStringLiteral("unknown command 'policy %1'").arg(verb), Usage);
}

AIRLOCKCTL_GROUP({QStringLiteral("policy"), {QStringLiteral("list"), QStringLiteral("show"), QStringLiteral("lint"), QStringLiteral("compile"),
                         QStringLiteral("check"), QStringLiteral("import"), QStringLiteral("export")}, runPolicy,
                  "  policy list [--json]                        presets and saved policies\n"
              "  policy show|export NAME [--version N] [-o FILE]\n"
              "                                              the policy as canonical JSON\n"
              "  policy lint NAME [--json]                   risks, each with a fix where one exists\n"
              "  policy compile NAME [--backend local|docker] [--workspace DIR] [--json]\n"
              "                                              exactly what the policy runs\n"
              "  policy check NAME --kind K [--command C] [--path P] [--domain D]\n"
              "                                              would this tool call be allowed?\n"
              "  policy import FILE [--name N] [--note T]    save a JSON file as the next version\n",
                  30});

} // namespace airlock::cli
