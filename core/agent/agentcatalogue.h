#pragma once

#include "agentprocess.h"
#include "error.h"
#include "store/sqlite.h"

#include <QProcessEnvironment>
#include <QStringList>

#include <optional>

// The agents Airlock can start: built-in presets for real ACP agents and the bundled demo agent, and
// profiles the user stored (the agent_profiles table). A stored profile named like a preset shadows it.
namespace airlock::agent {

// Where the agent process runs. An agent whose tools all go through the client's fs/* and terminal/*
// methods is isolated by the sandbox even on the host; one with built-in tools is isolated only when
// the agent itself runs in the sandbox.
enum class Placement { Sandbox, Host };
QString nameOf(Placement placement);
std::optional<Placement> placementFrom(const QString &name);

// How a sandboxed agent reaches its model: through the egress proxy's TLS route, which adds the key
// from the secret store, so the sandbox holds only a placeholder and a base URL pointing at the route.
struct ModelAccess {
    QString endpoint;        // the vendor's API, e.g. https://api.anthropic.com; settable per run
    QString secret;          // the stored secret holding the key (airlockctl secrets set NAME)
    QString header;          // the header the key goes in, e.g. x-api-key
    QString keyVariable;     // the agent's key variable, set to a placeholder inside
    QString baseUrlVariable; // the agent's base URL variable, set to the route
    QString scheme;          // put before the key in the header ("Bearer"); empty: the key alone
    bool isSet() const { return !endpoint.isEmpty() && !secret.isEmpty(); }
};

// An adapter installed with npm into a folder of Airlock's own, at a pinned version, and mounted
// read-only into the sandbox (airlockctl agents install NAME).
struct NpmPackage {
    QString name;    // @zed-industries/claude-agent-acp
    QString version; // pinned: what Airlock was tested with
    QString bin;     // the program in node_modules/.bin
    bool isSet() const { return !name.isEmpty(); }
};

struct AgentProfile {
    QString name;         // the key: letters, digits, '-', '_', '.'
    QString title;        // for people; the name when empty
    QString description;
    QString command;      // a program name looked up on PATH, or an absolute path
    QStringList args;
    QStringList envAllow; // host variables passed to the agent: exact names, or prefixes ending in '*'
    Placement placement = Placement::Sandbox;
    QString defaultPolicy; // a policy name, or empty for the user's default
    bool builtIn = false;
    QString installHint;   // presets: how to get the agent
    QStringList aliases;   // other names it answers to (claude for claude-code)
    NpmPackage package;    // presets installed by Airlock
    QStringList setEnv;    // NAME=value given to the agent (presets: quieting its update checks)
    ModelAccess model;     // presets whose model key the proxy injects
    qint64 created = 0;
    qint64 updated = 0;
};

struct Availability {
    bool available = false;
    QString program;     // the absolute path that would run, when found
    QString detail;      // what was found, or what is missing
    QString installHint; // when missing: what to run to get it
};

// Refuses a profile that cannot be stored or started, naming the field.
Result<void> validateProfile(const AgentProfile &profile);

// The presets, in the order they are listed: demo, claude-code, claude-code-acp, codex, gemini, deepagents.
QList<AgentProfile> presetProfiles();

// Is the profile's program there? For a sandboxed agent, also says when the program lives outside the
// system folders a sandbox sees.
Availability checkAvailability(const AgentProfile &profile,
                               const QProcessEnvironment &env = QProcessEnvironment::systemEnvironment());

// What placing the agent on the host means, said before a session starts (empty for sandboxed ones):
// only its fs/* and terminal/* requests run in the sandbox; tools built into it do not.
QString placementWarning(const AgentProfile &profile);

// The launch for running the profile on the host: the program resolved on PATH, only the base
// variables (PATH, HOME, locale …) and the allowlisted ones from hostEnv, in workspace.
Result<AgentLaunch> hostLaunch(const AgentProfile &profile, const QString &workspace,
                               const QProcessEnvironment &hostEnv = QProcessEnvironment::systemEnvironment());

// The airlock-demo-agent binary: $AIRLOCK_DEMO_AGENT, next to the running program, in the build
// tree, in libexec, then PATH. Empty when not found.
QString locateDemoAgent();
// The bundled demo workspace (a template; copy it before a session edits it). Empty when not found.
QString locateDemoWorkspace();
// Copies the demo workspace into target (created; must be empty if it exists); returns its path.
Result<QString> copyDemoWorkspace(const QString &target);

class AgentCatalogue
{
public:
    // Opens (creating or upgrading) the database at dbPath.
    static Result<AgentCatalogue> open(const QString &dbPath);

    // Presets first (in their order), then stored profiles by name; a stored profile replaces the
    // preset of the same name in place.
    Result<QList<AgentProfile>> list();
    Result<std::optional<AgentProfile>> find(const QString &name);
    // Stores a new profile; refuses a name already stored unless replace is true.
    Result<void> save(const AgentProfile &profile, bool replace = false);
    // Removes a stored profile; false when there was none (presets cannot be removed).
    Result<bool> remove(const QString &name);

private:
    explicit AgentCatalogue(store::Connection db) : m_db(std::move(db)) {}
    Result<QList<AgentProfile>> stored();
    store::Connection m_db;
};

} // namespace airlock::agent
