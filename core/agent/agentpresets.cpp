// The built-in agent presets, the check that says whether an agent is installed, and where the
// bundled demo agent and its workspace live.
#include "agentcatalogue.h"
#include "agentinstall.h"

#include <QCoreApplication>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QStandardPaths>

namespace airlock::agent {

namespace {

const QString kNodeHint = QStringLiteral("install Node.js 18 or newer with npm (sudo apt install nodejs npm)");

// The program a profile names, as the preset check needs it: the demo agent is found by location,
// everything else on PATH.
QString resolveProgram(const AgentProfile &profile, const QProcessEnvironment &env)
{
    const QString &command = profile.command;
    // An Airlock-installed adapter: its pinned install, else whatever PATH has of it.
    if (profile.package.isSet() && command == profile.package.bin) {
        if (const QString installed = installedProgram(profile.package); !installed.isEmpty())
            return installed;
    }
    if (command == QLatin1String("airlock-demo-agent")) {
        const QString demo = locateDemoAgent();
        if (!demo.isEmpty())
            return demo;
    }
    if (command.contains(u'/')) {
        const QFileInfo fi(command);
        return fi.isFile() && fi.isExecutable() ? fi.absoluteFilePath() : QString();
    }
    const QStringList path = env.value(QStringLiteral("PATH")).split(u':', Qt::SkipEmptyParts);
    return path.isEmpty() ? QString() : QStandardPaths::findExecutable(command, path);
}

bool inSystemFolders(const QString &path)
{
    for (const char *dir : {"/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/"})
        if (path.startsWith(QLatin1String(dir)))
            return true;
    return false;
}

bool allowed(const QString &name, const QStringList &patterns)
{
    for (const QString &p : patterns) {
        if (p.endsWith(u'*') ? name.startsWith(QStringView(p).chopped(1)) : name == p)
            return true;
    }
    return false;
}

QString firstExisting(const QStringList &candidates, bool wantDir)
{
    for (const QString &c : candidates) {
        if (c.isEmpty())
            continue;
        const QFileInfo fi(c);
        if (wantDir ? fi.isDir() : (fi.isFile() && fi.isExecutable()))
            return fi.canonicalFilePath();
    }
    return {};
}

} // namespace

QList<AgentProfile> presetProfiles()
{
    QList<AgentProfile> out;
    AgentProfile demo;
    demo.name = QStringLiteral("demo");
    demo.title = QStringLiteral("Airlock demo agent");
    demo.description = QStringLiteral("A scripted agent with no model: fixes the failing test of the demo workspace "
                                      "through Airlock's file and terminal methods.");
    demo.command = QStringLiteral("airlock-demo-agent");
    demo.args = {QStringLiteral("--pace-ms"), QStringLiteral("120")};
    // Every tool it uses goes through Airlock's fs/terminal methods, so the sandbox isolates its
    // work even with the agent process on the host.
    demo.placement = Placement::Host;
    demo.defaultPolicy = QStringLiteral("standard");
    demo.installHint = QStringLiteral("airlock-demo-agent is built with Airlock; build the airlock-demo-agent target "
                                      "or set AIRLOCK_DEMO_AGENT to its path");
    out.append(demo);

    // The real agents run their own built-in tools (shell, edits, fetches) inside their own process,
    // so only the sandbox placement isolates them.
    // The real agents run their own built-in tools in their own process, so they run in the sandbox,
    // installed by Airlock (airlockctl agents install NAME) into a folder mounted read-only there. No
    // key of the host passes in: the model API is reached through the proxy, which adds the key.
    AgentProfile claude;
    claude.name = QStringLiteral("claude-code");
    claude.aliases = {QStringLiteral("claude")};
    claude.title = QStringLiteral("Claude Code");
    claude.description = QStringLiteral("Anthropic's Claude Code through Zed's ACP adapter, in the sandbox; its key "
                                        "is added by the proxy and never enters.");
    claude.package = {QStringLiteral("@zed-industries/claude-agent-acp"), QStringLiteral("0.23.1"),
                      QStringLiteral("claude-agent-acp")};
    claude.command = claude.package.bin;
    claude.model = {QStringLiteral("https://api.anthropic.com"), QStringLiteral("anthropic"), QStringLiteral("x-api-key"),
                    QStringLiteral("ANTHROPIC_API_KEY"), QStringLiteral("ANTHROPIC_BASE_URL"), {}};
    // No update checks, telemetry or error reports: they would only be refused by the proxy.
    claude.setEnv = {QStringLiteral("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1"), QStringLiteral("DISABLE_AUTOUPDATER=1")};
    claude.defaultPolicy = QStringLiteral("standard");
    claude.installHint = QStringLiteral("airlockctl agents install claude (needs Node.js 18 or newer with npm), then "
                                        "airlockctl secrets set anthropic");
    out.append(claude);

    // The older adapter, which routes Claude Code's shell through the client's terminal methods.
    AgentProfile claudeOld = claude;
    claudeOld.name = QStringLiteral("claude-code-acp");
    claudeOld.aliases.clear();
    claudeOld.title = QStringLiteral("Claude Code (claude-code-acp)");
    claudeOld.description = QStringLiteral("Claude Code through Zed's older adapter, whose shell commands run through "
                                           "Airlock's terminal methods; in the sandbox, its key added by the proxy.");
    claudeOld.package = {QStringLiteral("@zed-industries/claude-code-acp"), QStringLiteral("0.16.2"),
                         QStringLiteral("claude-code-acp")};
    claudeOld.command = claudeOld.package.bin;
    claudeOld.installHint = QStringLiteral("airlockctl agents install claude-code-acp (needs Node.js 18 or newer with "
                                           "npm), then airlockctl secrets set anthropic");
    out.append(claudeOld);

    AgentProfile codex;
    codex.name = QStringLiteral("codex");
    codex.title = QStringLiteral("Codex");
    codex.description = QStringLiteral("OpenAI's Codex through Zed's ACP adapter, in the sandbox.");
    codex.package = {QStringLiteral("@zed-industries/codex-acp"), QStringLiteral("0.16.0"), QStringLiteral("codex-acp")};
    codex.command = codex.package.bin;
    // It signs in with the key in OPENAI_API_KEY (its ACP auth method openai-api-key, which the
    // session picks because that variable is set: to the placeholder; the proxy sends the real key).
    codex.model = {QStringLiteral("https://api.openai.com/v1"), QStringLiteral("openai"), QStringLiteral("Authorization"),
                   QStringLiteral("OPENAI_API_KEY"), QStringLiteral("OPENAI_BASE_URL"), QStringLiteral("Bearer")};
    codex.defaultPolicy = QStringLiteral("standard");
    codex.installHint = QStringLiteral("airlockctl agents install codex (needs Node.js 18 or newer with npm), then "
                                       "airlockctl secrets set openai");
    out.append(codex);

    AgentProfile gemini;
    gemini.name = QStringLiteral("gemini");
    gemini.title = QStringLiteral("Gemini CLI");
    gemini.description = QStringLiteral("Google's Gemini CLI in its ACP mode, in the sandbox.");
    gemini.package = {QStringLiteral("@google/gemini-cli"), QStringLiteral("0.61.0"), QStringLiteral("gemini")};
    gemini.command = gemini.package.bin;
    gemini.args = {QStringLiteral("--experimental-acp")};
    gemini.model = {QStringLiteral("https://generativelanguage.googleapis.com"), QStringLiteral("gemini"),
                    QStringLiteral("x-goog-api-key"), QStringLiteral("GEMINI_API_KEY"), QStringLiteral("GOOGLE_GEMINI_BASE_URL"), {}};
    gemini.setEnv = {QStringLiteral("GEMINI_CLI_NO_RELAUNCH=true")};
    gemini.defaultPolicy = QStringLiteral("standard");
    gemini.installHint = QStringLiteral("airlockctl agents install gemini (needs Node.js 20 or newer with npm), then "
                                        "airlockctl secrets set gemini");
    out.append(gemini);

    AgentProfile deep;
    deep.name = QStringLiteral("deepagents");
    deep.title = QStringLiteral("Deep Agents");
    deep.description = QStringLiteral("LangChain Deep Agents through deepagents-acp.");
    deep.command = QStringLiteral("deepagents-acp");
    deep.envAllow = {QStringLiteral("ANTHROPIC_API_KEY"), QStringLiteral("OPENAI_API_KEY"), QStringLiteral("LANGSMITH_*")};
    deep.defaultPolicy = QStringLiteral("standard");
    deep.installHint = QStringLiteral("pip install deepagents-acp (or: uv tool install deepagents-acp, or npm install "
                                      "-g deepagents-acp); sign in with ANTHROPIC_API_KEY");
    out.append(deep);

    for (AgentProfile &p : out)
        p.builtIn = true;
    return out;
}

QString placementWarning(const AgentProfile &profile)
{
    if (profile.placement != Placement::Host)
        return {};
    return QStringLiteral("%1 runs on the host: only its fs/* and terminal/* requests run in the sandbox; tools "
                          "built into it run unconfined (each one that changes something is marked \"ran outside "
                          "the sandbox\")")
        .arg(profile.name);
}

Availability checkAvailability(const AgentProfile &profile, const QProcessEnvironment &env)
{
    Availability a;
    a.program = resolveProgram(profile, env);
    if (a.program.isEmpty() && profile.package.isSet()) {
        a.detail = QStringLiteral("%1 %2 is not installed").arg(profile.package.name, profile.package.version);
        a.installHint = profile.installHint;
        return a;
    }
    if (a.program.isEmpty()) {
        a.detail = QStringLiteral("%1 was not found%2").arg(profile.command,
                                                             profile.command.contains(u'/') ? QString()
                                                                                            : QStringLiteral(" on PATH"));
        a.installHint = !profile.installHint.isEmpty()
            ? profile.installHint
            : QStringLiteral("install %1, or store the agent with the full path of its command").arg(profile.command);
        return a;
    }
    a.available = true;
    a.detail = QStringLiteral("runs %1").arg(a.program);
    if (profile.command == QLatin1String("npx")) {
        const QString package = profile.args.value(profile.args.indexOf(QStringLiteral("--yes")) + 1);
        a.detail += QStringLiteral("; npx fetches %1 on first start, which needs the network").arg(package);
    }
    // Checked where it will run: the sandbox sees the system folders and Airlock's install folder
    // (mounted read-only), and nothing else of the host unless the policy mounts it.
    const bool mounted = profile.package.isSet() && a.program.startsWith(installDir(profile.package) + u'/');
    if (profile.placement == Placement::Sandbox && !inSystemFolders(a.program) && !mounted) {
        a.detail += profile.package.isSet()
            ? QStringLiteral("; it lives outside the folders a sandbox sees: airlockctl agents install %1 puts it "
                             "where the sandbox sees it").arg(profile.name)
            : QStringLiteral("; it lives outside the system folders a sandbox sees, so mount its folder read-only "
                             "in the policy or install it system-wide");
    }
    if (profile.placement == Placement::Sandbox && mounted) {
        const QString node = QStandardPaths::findExecutable(QStringLiteral("node"));
        if (node.isEmpty() || !inSystemFolders(QFileInfo(node).canonicalFilePath())) {
            a.available = false;
            a.detail = QStringLiteral("its runtime, node, is not installed in the system folders the sandbox sees");
            a.installHint = kNodeHint;
        }
    }
    return a;
}

Result<AgentLaunch> hostLaunch(const AgentProfile &profile, const QString &workspace, const QProcessEnvironment &hostEnv)
{
    if (auto ok = validateProfile(profile); !ok)
        return std::unexpected(ok.error());
    const Availability a = checkAvailability(profile, hostEnv);
    if (!a.available)
        return fail(ErrorCode::NotFound, QStringLiteral("cannot start %1: %2; %3").arg(profile.name, a.detail, a.installHint));
    AgentLaunch launch;
    launch.program = a.program;
    launch.arguments = profile.args;
    launch.workingDirectory = workspace;
    static const QStringList base{QStringLiteral("PATH"), QStringLiteral("HOME"), QStringLiteral("USER"),
                                  QStringLiteral("LOGNAME"), QStringLiteral("LANG"), QStringLiteral("LANGUAGE"),
                                  QStringLiteral("LC_ALL"), QStringLiteral("LC_CTYPE"), QStringLiteral("TZ"),
                                  QStringLiteral("TMPDIR")};
    for (const QString &key : hostEnv.keys())
        if (base.contains(key) || allowed(key, profile.envAllow))
            launch.environment.insert(key, hostEnv.value(key));
    return launch;
}

QString locateDemoAgent()
{
    const QString name = QStringLiteral("airlock-demo-agent");
    const QString appDir = QCoreApplication::instance() ? QCoreApplication::applicationDirPath() : QString();
    QStringList candidates{qEnvironmentVariable("AIRLOCK_DEMO_AGENT")};
    if (!appDir.isEmpty())
        candidates << appDir + u'/' + name                                   // installed side by side
                   << appDir + QStringLiteral("/../airlock-demo-agent/") + name // the build tree: app/<tool>/
                   << appDir + QStringLiteral("/../app/airlock-demo-agent/") + name
                   << appDir + QStringLiteral("/../libexec/airlock/") + name;   // installed: bin/ and libexec/
    const QString found = firstExisting(candidates, false);
    return found.isEmpty() ? QStandardPaths::findExecutable(name) : found;
}

QString locateDemoWorkspace()
{
    QStringList candidates{qEnvironmentVariable("AIRLOCK_DEMO_WORKSPACE")};
    const QString agent = locateDemoAgent();
    if (!agent.isEmpty()) {
        const QString dir = QFileInfo(agent).absolutePath();
        candidates << dir + QStringLiteral("/demo-workspace")                           // the build tree
                   << dir + QStringLiteral("/../../share/airlock/demo-workspace");       // libexec/airlock/
    }
    if (QCoreApplication::instance())
        candidates << QCoreApplication::applicationDirPath() + QStringLiteral("/../share/airlock/demo-workspace");
    return firstExisting(candidates, true);
}

Result<QString> copyDemoWorkspace(const QString &target)
{
    const QString source = locateDemoWorkspace();
    if (source.isEmpty())
        return fail(ErrorCode::NotFound, QStringLiteral("the demo workspace was not found; set AIRLOCK_DEMO_WORKSPACE "
                                                        "to the resources/demo-workspace folder"));
    QDir dest(target);
    if (dest.exists() && !dest.isEmpty())
        return fail(ErrorCode::InvalidArgument, QStringLiteral("%1 is not empty; choose a new folder for the demo "
                                                               "workspace").arg(target));
    if (!QDir().mkpath(target))
        return fail(ErrorCode::Io, QStringLiteral("cannot create %1").arg(target));
    QDirIterator it(source, QDir::Files | QDir::Hidden | QDir::NoDotAndDotDot, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString from = it.next();
        const QString relative = QDir(source).relativeFilePath(from);
        const QString to = dest.filePath(relative);
        if (!QDir().mkpath(QFileInfo(to).absolutePath()) || !QFile::copy(from, to))
            return fail(ErrorCode::Io, QStringLiteral("cannot copy %1 to %2").arg(from, to));
        // Templates may come from read-only places (an install); the copy is the user's to edit.
        QFile::setPermissions(to, QFile::permissions(to) | QFileDevice::WriteOwner);
    }
    return QFileInfo(target).absoluteFilePath();
}

} // namespace airlock::agent
