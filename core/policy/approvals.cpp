#include "policy/approvals.h"

#include "policy/commandsafety.h"
#include "policy/patterns.h"
#include "sandbox/protectednames.h"

#include <QRegularExpression>

namespace airlock::policy {

namespace {

// The words an allow rule's command pattern may be matched against, or nothing when the command
// cannot be allowed by any pattern (see commandsafety.h).
std::optional<QStringList> allowableWords(const ToolCall &call)
{
    QStringList env = call.env;
    QStringList argv;
    if (call.argv) {
        argv = *call.argv;
    } else {
        const auto plain = plainCommand(call.command);
        if (!plain)
            return std::nullopt;
        env += plain->env;
        argv = plain->argv;
    }
    if (argv.isEmpty() || !riskyVariables(env).isEmpty() || unsafeArguments(argv))
        return std::nullopt;
    return argv;
}

bool allowMatches(const QString &pattern, const ToolCall &call)
{
    const auto words = allowableWords(call);
    if (!words)
        return false;
    if (isCommandGlob(pattern))
        return matchCommand(pattern, words->join(u' '));
    // A prefix of whole words: `git diff` matches `git diff --stat`, never `git difftool`.
    const QStringList head = pattern.split(u' ', Qt::SkipEmptyParts);
    if (head.size() > words->size())
        return false;
    for (qsizetype i = 0; i < head.size(); ++i) {
        if (head.at(i) != words->at(i))
            return false;
    }
    return true;
}

// `FOO=1 rm -rf x` and `'rm' -rf x` run rm as surely as `rm -rf x` does: deny and ask rules see
// each command also without its leading assignments and with its quotes removed.
QStringList denyCandidates(const QString &command)
{
    static const QRegularExpression assignments(QStringLiteral("^(?:[A-Za-z_][A-Za-z0-9_]*=\\S*\\s+)+"));
    QStringList candidates{command};
    if (isCompoundCommand(command))
        candidates += commandSegments(command);
    for (qsizetype i = 0, n = candidates.size(); i < n; ++i) {
        const QString folded = candidates.at(i).simplified();
        const QString bare = QString(folded).remove(assignments);
        if (bare != folded)
            candidates << bare;
        if (const auto plain = plainCommand(folded); plain && !plain->argv.isEmpty())
            candidates << plain->argv.join(u' ');
    }
    return candidates;
}

bool commandMatches(const QString &pattern, const ToolCall &call, Verdict decision)
{
    const QString &command = call.command;
    if (command.trimmed().isEmpty() && !call.argv)
        return false;
    if (decision == Verdict::Allow)
        return allowMatches(pattern, call);
    QStringList candidates = denyCandidates(command);
    if (call.argv)
        candidates << call.argv->join(u' ');
    for (const QString &candidate : std::as_const(candidates)) {
        if (matchCommand(pattern, candidate))
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
    if (rule.command && !commandMatches(*rule.command, call, rule.decision))
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
