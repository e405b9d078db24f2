#pragma once

#include "error.h"
#include "sessionrunner.h"

namespace airlock::store {
class StoreReader;
}

namespace airlock::session {

// What it takes to run a stored session again: a fork made from a checkpoint (it has never run) or a
// session that ended. Id, title, workspace and policy name come from the store, with the agent's
// name in config.agent.name (the caller looks up the profile and the policy). A fork that has not run
// yet continues its parent's conversation up to the checkpoint (historyFrom, historyUpToSeq).
// Refused for a session that is still live (starting, running, blocked, idle).
Result<SessionConfig> continuationOf(store::StoreReader &reader, const QString &sessionId);

// Looks up config.agent.name in the agent catalogue (empty: the demo agent) and config.policyName
// among saved policies and presets (empty: the agent's default, else "standard"), and fills in the
// profile and the policy.
Result<void> resolveAgentAndPolicy(store::StoreReader &reader, const QString &databasePath, SessionConfig &config);

} // namespace airlock::session
