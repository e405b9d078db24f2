#pragma once

#include "policy/jsonreader.h"
#include "policy/policy.h"

// Internal to the codec: one reader per policy section. Each validates everything it can see from its
// own section and leaves rejected values at their defaults.

namespace airlock::policy::detail {

void readRuntime(ObjectReader &parent, Runtime &out);
void readFilesystem(ObjectReader &parent, Filesystem &out);
void readNetwork(ObjectReader &parent, Network &out);
void readSecrets(ObjectReader &parent, QList<Secret> &out);
void readEnvironment(ObjectReader &parent, Environment &out);
void readResources(ObjectReader &parent, Resources &out);
void readPrivileges(ObjectReader &parent, Privileges &out);
void readGuardrails(ObjectReader &parent, Guardrails &out);
void readApprovals(ObjectReader &parent, Approvals &out);

} // namespace airlock::policy::detail
