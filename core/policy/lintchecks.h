#pragma once

#include "policy/linter.h"

// Internal to the linter: one function per area, each appending its findings.

namespace airlock::policy::detail {

void lintFilesystem(const Policy &policy, const HostFacts &facts, QList<Finding> &out);
void lintNetwork(const Policy &policy, QList<Finding> &out);
void lintSecretsAndEnvironment(const Policy &policy, QList<Finding> &out);
void lintResources(const Policy &policy, QList<Finding> &out);
void lintPrivileges(const Policy &policy, QList<Finding> &out);
void lintGuardrails(const Policy &policy, QList<Finding> &out);
void lintApprovals(const Policy &policy, QList<Finding> &out);
void lintHost(const Policy &policy, const HostFacts &facts, QList<Finding> &out);

// Builds a fix from a function that edits a copy in place.
template<typename Edit>
Fix makeFix(QString description, Edit edit)
{
    return Fix{std::move(description), [edit](const Policy &policy) {
                   Policy changed = policy;
                   edit(changed);
                   return changed;
               }};
}

} // namespace airlock::policy::detail
