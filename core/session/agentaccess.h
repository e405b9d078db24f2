#pragma once

#include "agent/agentcatalogue.h"
#include "error.h"
#include "policy/policy.h"

#include <QStringList>

// What a sandboxed agent needs from its sandbox that its policy does not say, added to the session's
// copy of the policy (never to the stored one): its Airlock-installed adapter mounted read-only, and
// its model API reached through the egress proxy's TLS route, which adds the key from the secret store.
// The agent is given a placeholder key and a base URL that points at the route; the real key never
// enters the sandbox.
namespace airlock::session {

struct ModelChoice {
    QString endpoint; // empty: the agent's default (the vendor's API)
    QString caFile;   // PEM trusted for that endpoint with the system store; empty for none
};

struct AgentAccess {
    QStringList env;   // NAME=value for the agent process
    QString program;   // the program to start (the installed adapter when there is one)
    QStringList notes; // what was changed in the session's policy that the user would not expect
};

// The placeholder the agent holds instead of the key kept under `secret` (anthropic, openai, gemini …);
// shaped like that vendor's keys, so clients that check the form accept it, and named so no one
// mistakes it for one.
QString placeholderKey(const QString &secret = QStringLiteral("anthropic"));

// The model endpoint and CA bundle chosen for an agent, kept in the store (kv namespace
// "agent-model") so every later session of that agent uses them until changed; empty when none is
// set. Remembering an empty choice forgets it.
Result<ModelChoice> rememberedModel(const QString &dbPath, const QString &agent);
Result<void> rememberModel(const QString &dbPath, const QString &agent, const ModelChoice &choice);

// Fits the session's policy to the agent (see above). On Docker, the install folder appears at
// docker::kContainerAgentsDir and Airlock's base image becomes its agent image (node, bash, git). A
// policy without network gets the proxy with the model's host:port as its only name: an agent cannot
// work without its model, and nothing else is opened (said in notes). Fails, saying what to do, when the
// endpoint is not https, the network mode is host, or the key is not stored.
Result<AgentAccess> fitPolicyToAgent(const agent::AgentProfile &profile, const ModelChoice &choice, policy::Policy &policy);

} // namespace airlock::session
