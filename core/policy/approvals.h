#pragma once

#include "policy/policy.h"

#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

// The approval rule engine: which tool calls run at once, which wait for a person, which are refused.
//
// Rules are tried in a fixed order that does not depend on where a rule sits in the list: every deny
// rule first, then every ask rule, then every allow rule, each group in list order, and the first rule
// that matches decides. So an allow rule can never override a deny rule, whatever the list order.
//
// Command patterns are read with the decision in mind, because a command line can chain several
// commands. An allow rule's command pattern never matches a compound line (`npm test; curl x | sh`),
// so such lines fall through to ask or deny. Deny and ask rules match a compound line when their
// pattern matches the whole line or any one of its commands, with or without the variables it sets.
//
// An allow rule's command pattern is matched against the words the command receives, and only when
// nothing around them can change what runs: no shell syntax beyond plain quoted words, no variable
// but a few harmless ones (locale, terminal, time zone), and, for the read-only commands Airlock knows
// (ls, grep, find, sed, git diff …), only options on that command's safe list (commandsafety.h).

namespace airlock::policy {

struct ToolCall {
    ToolKind kind = ToolKind::Other;
    QString command;   // execute: the command line (a shell reads it), or argv quoted for display
    QString path;      // workspace-relative when inside the workspace, absolute otherwise
    QString domain;    // fetch: `host` or `host:port`
    // execute, when the exact argv is known (terminal/create: no shell reads it). Without it the
    // command line is read as a shell would.
    std::optional<QStringList> argv;
    QStringList env;   // NAME=value set for the command by the request
};

struct Decision {
    Verdict verdict = Verdict::Ask;
    int ruleIndex = -1;    // index into Approvals::rules, or -1 for the default decision
    QString explanation;   // "allowed by rule 3: execute npm test*" (rules are numbered from 1 here)
};

Decision evaluate(const Approvals &approvals, const ToolCall &call);

// A call that would change a protected name (core/sandbox/protectednames.h) is never allowed by a
// rule or an "always" answer, nor by an allow default: it is asked, or denied by a deny rule.
bool changesProtectedName(const ToolCall &call);

// Whether one rule applies to a call, with the compound-command reading described above.
bool ruleMatches(const ApprovalRule &rule, const ToolCall &call);

// Rule indexes in the order evaluate() tries them.
QList<int> evaluationOrder(const Approvals &approvals);

// "execute npm test*", "delete path .git/**", "fetch domain *.github.com", "any tool".
QString describeRule(const ApprovalRule &rule);

// True when every call `inner` matches is surely matched by `outer` (decisions are not compared).
// Conservative: an unclear case answers false.
bool ruleCovers(const ApprovalRule &outer, const ApprovalRule &inner);

} // namespace airlock::policy
