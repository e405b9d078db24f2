#pragma once

#include "policy/hostfacts.h"
#include "policy/policy.h"

#include <QList>
#include <QString>

#include <functional>
#include <optional>

// The policy linter: names the risks a valid policy still carries, and what this machine cannot enforce
// as written. Each finding explains why it matters and, where one change removes it, carries a fix.
//
// Fixes are pure: apply() takes a policy and returns the changed copy, so an editor can preview the
// result, push it as one undo step, or apply several fixes from one run in any order. Fixes find what
// they change by value (the mount, the rule, the variable name), not by index, for that reason.

namespace airlock::policy {

enum class Severity { Info, Warning, Critical };

struct Fix {
    QString description;                          // "Remove this mount"
    std::function<Policy(const Policy &)> apply;
};

struct Finding {
    QString id;           // stable, for tests, suppression and the CLI: "network.host"
    Severity severity = Severity::Warning;
    QString path;         // JSON path of the setting, e.g. "filesystem.mounts[0].host"
    QString title;        // one line: "~/.ssh is mounted into the sandbox"
    QString why;          // what could happen, in a sentence or two
    std::optional<Fix> fix;
};

QString nameOf(Severity severity); // "info", "warning", "critical"

// Findings in the order of the policy's sections, then those about this machine.
QList<Finding> lint(const Policy &policy, const HostFacts &facts);

// Applies every available fix in turn; findings without a fix are left alone.
Policy applyFixes(const Policy &policy, const QList<Finding> &findings);

} // namespace airlock::policy
