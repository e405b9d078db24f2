#include "policy/approvals.h"

#include "policy/patterns.h"
#include "sandbox/protectednames.h"

namespace airlock::policy {

namespace {

bool commandMatches(const QString &pattern, const QString &command, Verdict decision)
{
    if (command.trimmed().isEmpty())
        return false;
    if (!isCompoundCommand(command))
        return matchCommand(pattern, command);
    if (decision == Verdict::Allow)
        return false;
    if (matchCommand(pattern, command))
        return true;
    for (const QString &segment : commandSegments(command)) {
        if (matchCommand(pattern, segment))
            return true;
    }
    return false;
}

QString verdictPast(Verdict verdict)
{
    switch (verdict) {
    case Verdict::Allow:
        return QStringLiteral("allowed");
    case Verdict::Ask:
        return QStringLiteral("asked");
    case Verdict::Deny:
        return QStringLiteral("denied");
    }
    return {};
}

template<typename Covers>
bool fieldCovers(const std::optional<QString> &outer, const std::optional<QString> &inner, Covers covers)
{
    if (!outer)
        return true;
    return inner && covers(*outer, *inner);
}

} // namespace

bool changesProtectedName(const ToolCall &call)
{
    if (call.path.isEmpty() || call.kind == ToolKind::Read || call.kind == ToolKind::Search
        || call.kind == ToolKind::Think || call.kind == ToolKind::Fetch)
        return false;
    static const protect::ProtectedNames names;
    return names.covers(call.path.toStdString());
}

bool ruleMatches(const ApprovalRule &rule, const ToolCall &call)
{
    if (rule.kind != ToolKind::Any && rule.kind != call.kind)
        return false;
    if (rule.decision == Verdict::Allow && changesProtectedName(call))
        return false;
    if (rule.command && !commandMatches(*rule.command, call.command, rule.decision))
        return false;
    if (rule.path && !matchPathGlob(*rule.path, call.path))
        return false;
    if (rule.domain && (call.domain.isEmpty() || !matchDomain(*rule.domain, call.domain)))
        return false;
    return true;
}

QList<int> evaluationOrder(const Approvals &approvals)
{
    QList<int> order;
    order.reserve(approvals.rules.size());
    for (const Verdict verdict : {Verdict::Deny, Verdict::Ask, Verdict::Allow}) {
        for (int i = 0; i < approvals.rules.size(); ++i) {
            if (approvals.rules.at(i).decision == verdict)
                order.append(i);
        }
    }
    return order;
}

Decision evaluate(const Approvals &approvals, const ToolCall &call)
{
    for (const int index : evaluationOrder(approvals)) {
        const ApprovalRule &rule = approvals.rules.at(index);
        if (ruleMatches(rule, call)) {
            return {rule.decision, index,
                    verdictPast(rule.decision) + QStringLiteral(" by rule ") + QString::number(index + 1)
                        + QStringLiteral(": ") + describeRule(rule)};
        }
    }
    if (approvals.defaultDecision == Verdict::Allow && changesProtectedName(call))
        return {Verdict::Ask, -1, QStringLiteral("asked: %1 is a protected name, which no rule allows").arg(call.path)};
    return {approvals.defaultDecision, -1, verdictPast(approvals.defaultDecision) + QStringLiteral(" by default decision")};
}

QString describeRule(const ApprovalRule &rule)
{
    QString text = rule.kind == ToolKind::Any ? QStringLiteral("any tool") : nameOf(rule.kind);
    if (rule.command)
        text += u' ' + *rule.command;
    if (rule.path)
        text += QStringLiteral(" path ") + *rule.path;
    if (rule.domain)
        text += QStringLiteral(" domain ") + *rule.domain;
    return text;
}

bool ruleCovers(const ApprovalRule &outer, const ApprovalRule &inner)
{
    if (outer.kind != ToolKind::Any && outer.kind != inner.kind)
        return false;
    // An allow rule's command pattern skips compound lines that a deny or ask rule would still match.
    if (outer.command && outer.decision == Verdict::Allow && inner.decision != Verdict::Allow)
        return false;
    return fieldCovers(outer.command, inner.command, commandCovers)
           && fieldCovers(outer.path, inner.path, pathGlobCovers)
           && fieldCovers(outer.domain, inner.domain, domainCovers);
}

} // namespace airlock::policy
