#include "policy/approvals.h"
#include "policy/lintchecks.h"

// Findings about approval rules: rules that cannot match, rules that an earlier rule hides, and
// letting arbitrary commands run unasked while the network is open.

namespace airlock::policy::detail {

namespace {

// Which fields a tool call of each kind carries; Other and Any may carry all of them.
bool carriesCommand(ToolKind kind)
{
    return kind == ToolKind::Execute || kind == ToolKind::Other || kind == ToolKind::Any;
}

bool carriesPath(ToolKind kind)
{
    switch (kind) {
    case ToolKind::Read:
    case ToolKind::Edit:
    case ToolKind::Delete:
    case ToolKind::Move:
    case ToolKind::Search:
    case ToolKind::Other:
    case ToolKind::Any:
        return true;
    case ToolKind::Execute:
    case ToolKind::Think:
    case ToolKind::Fetch:
        break;
    }
    return false;
}

bool carriesDomain(ToolKind kind)
{
    return kind == ToolKind::Fetch || kind == ToolKind::Other || kind == ToolKind::Any;
}

// Why a rule cannot match anything, or an empty string when it can.
QString impossibility(const ApprovalRule &rule)
{
    const QString kind = nameOf(rule.kind);
    if (rule.command && !carriesCommand(rule.kind))
        return QStringLiteral("%1 calls carry no command").arg(kind);
    if (rule.path && !carriesPath(rule.kind))
        return QStringLiteral("%1 calls carry no path").arg(kind);
    if (rule.domain && !carriesDomain(rule.kind))
        return QStringLiteral("%1 calls carry no domain").arg(kind);
    return {};
}

QString ruleLabel(const Approvals &approvals, int index)
{
    const ApprovalRule &rule = approvals.rules.at(index);
    return QStringLiteral("rule %1 (%2 %3)").arg(index + 1).arg(nameOf(rule.decision), describeRule(rule));
}

bool networkIsOpen(const Network &network)
{
    if (network.mode == NetworkMode::Host)
        return true;
    if (network.mode == NetworkMode::None)
        return false;
    return std::any_of(network.allow.cbegin(), network.allow.cend(),
                       [](const QString &p) { return p == u"*" || p.startsWith(u"*:"); });
}

Fix removeRule(const ApprovalRule &rule)
{
    return makeFix(QStringLiteral("Remove the rule"), [rule](Policy &p) { p.approvals.rules.removeOne(rule); });
}

} // namespace

void lintApprovals(const Policy &policy, QList<Finding> &out)
{
    const Approvals &approvals = policy.approvals;
    QList<bool> impossible(approvals.rules.size(), false);
    for (int i = 0; i < approvals.rules.size(); ++i) {
        const QString reason = impossibility(approvals.rules.at(i));
        if (reason.isEmpty())
            continue;
        impossible[i] = true;
        out.append({QStringLiteral("approvals.never-matches"), Severity::Warning,
                    QStringLiteral("approvals.rules[%1]").arg(i),
                    QStringLiteral("Rule %1 can never match").arg(i + 1),
                    reason + QStringLiteral(", so the rule has no effect and may hide a mistake."),
                    removeRule(approvals.rules.at(i))});
    }

    const QList<int> order = evaluationOrder(approvals);
    for (qsizetype k = 0; k < order.size(); ++k) {
        const int index = order.at(k);
        if (impossible.at(index))
            continue;
        for (qsizetype m = 0; m < k; ++m) {
            const int earlier = order.at(m);
            if (impossible.at(earlier) || !ruleCovers(approvals.rules.at(earlier), approvals.rules.at(index)))
                continue;
            const bool same = approvals.rules.at(earlier).decision == approvals.rules.at(index).decision;
            out.append({QStringLiteral("approvals.shadowed"), same ? Severity::Info : Severity::Warning,
                        QStringLiteral("approvals.rules[%1]").arg(index),
                        same ? QStringLiteral("Rule %1 is redundant").arg(index + 1)
                             : QStringLiteral("Rule %1 never applies").arg(index + 1),
                        QStringLiteral("%1 is checked first and matches every call that %2 would.")
                            .arg(ruleLabel(approvals, earlier), ruleLabel(approvals, index))
                            + (same ? QString() : QStringLiteral(" Deny rules are checked before ask rules, and "
                                                                 "ask rules before allow rules.")),
                        removeRule(approvals.rules.at(index))});
            break;
        }
    }

    if (!networkIsOpen(policy.network))
        return;
    // Commands that can run anything; if one of them is allowed, all code is effectively allowed.
    static const QStringList probes{QStringLiteral("sh -c true"), QStringLiteral("bash -c true"),
                                    QStringLiteral("python3 -c pass"), QStringLiteral("node -e 0"),
                                    QStringLiteral("curl https://example.com")};
    for (const QString &probe : probes) {
        const Decision decision = evaluate(approvals, ToolCall{ToolKind::Execute, probe, {}, {}, {}, {}});
        if (decision.verdict != Verdict::Allow)
            continue;
        const bool byRule = decision.ruleIndex >= 0;
        const QString path = byRule ? QStringLiteral("approvals.rules[%1]").arg(decision.ruleIndex)
                                    : QStringLiteral("approvals.default");
        Fix fix = byRule ? makeFix(QStringLiteral("Ask before running these commands"),
                                   [rule = approvals.rules.at(decision.ruleIndex)](Policy &p) {
                                       const qsizetype at = p.approvals.rules.indexOf(rule);
                                       if (at >= 0)
                                           p.approvals.rules[at].decision = Verdict::Ask;
                                   })
                         : makeFix(QStringLiteral("Ask by default"),
                                   [](Policy &p) { p.approvals.defaultDecision = Verdict::Ask; });
        out.append({QStringLiteral("approvals.execute-open-network"), Severity::Critical, path,
                    QStringLiteral("Any command runs without asking while the network is open"),
                    QStringLiteral("'%1' is %2. Together with an open network, text the agent reads (a README, "
                                   "an issue, a web page) can make it run code that sends your files anywhere.")
                        .arg(probe, decision.explanation),
                    fix});
        return;
    }
}

} // namespace airlock::policy::detail
