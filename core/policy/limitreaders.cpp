#include "policy/sectionreaders.h"

#include "policy/patterns.h"
#include "policy/valuechecks.h"

namespace airlock::policy::detail {

namespace {

constexpr qint64 kMiB = 1024 * 1024;
constexpr qint64 kTiB = qint64(1) << 40;
constexpr qint64 kThirtyDays = 30 * 24 * 3600;

} // namespace

void readResources(ObjectReader &parent, Resources &out)
{
    const auto object = parent.object(u"resources");
    if (!object)
        return;
    ObjectReader r = parent.nested(*object, parent.pathOf(u"resources"));
    // Docker refuses memory limits under 6 MiB; below 16 MiB nothing useful starts anyway.
    r.optionalInteger(u"memoryBytes", out.memoryBytes, {16 * kMiB, kTiB});
    r.optionalNumber(u"cpus", out.cpus, {0.0, 1024.0});
    if (out.cpus && *out.cpus < 0.01) {
        r.issue(r.pathOf(u"cpus"), QStringLiteral("must be at least 0.01"));
        out.cpus.reset();
    }
    r.optionalInteger(u"pids", out.pids, {1, 4194304});
    r.optionalInteger(u"wallClockSeconds", out.wallClockSeconds, {1, kThirtyDays});
    r.optionalInteger(u"tmpBytes", out.tmpBytes, {kMiB, kTiB});
    r.optionalInteger(u"maxFileBytes", out.maxFileBytes, {1, kTiB * 64});
    r.optionalInteger(u"maxOutputBytes", out.maxOutputBytes, {1024, kTiB});
    r.optionalInteger(u"workspaceBytes", out.workspaceBytes, {kMiB, kTiB * 64});
    r.finish();
}

void readPrivileges(ObjectReader &parent, Privileges &out)
{
    const auto object = parent.object(u"privileges");
    if (!object)
        return;
    ObjectReader r = parent.nested(*object, parent.pathOf(u"privileges"));
    // 2^32 - 1 is the kernel's "no id" value, so the largest usable id is one less.
    r.optionalInteger(u"uid", out.uid, {0, 4294967294});
    r.optionalInteger(u"gid", out.gid, {0, 4294967294});
    // Docker gives a bare uid group 0, so a uid without a gid would quietly mean the root group.
    if (object->contains(u"uid") != object->contains(u"gid")) {
        const bool hasUid = object->contains(u"uid");
        r.issue(r.pathOf(hasUid ? u"gid" : u"uid"),
                hasUid ? QStringLiteral("is required when uid is set") : QStringLiteral("is required when gid is set"));
    }
    r.boolean(u"dropAllCapabilities", out.dropAllCapabilities);
    r.stringList(u"capAdd", out.capAdd, checkCapability);
    r.boolean(u"noNewPrivileges", out.noNewPrivileges);
    r.enumeration(u"seccomp", out.seccomp);
    r.string(u"seccompProfile", out.seccompProfile, [](QStringView path) -> std::optional<QString> {
        if (!path.startsWith(u'/'))
            return u'\'' + path.toString() + QStringLiteral("' is not an absolute path");
        return checkHostPath(path);
    });
    const bool hasProfile = object->contains(u"seccompProfile");
    if (out.seccomp == SeccompMode::Custom && !hasProfile)
        r.issue(r.pathOf(u"seccompProfile"), QStringLiteral("is required when seccomp is 'custom'"));
    if (out.seccomp != SeccompMode::Custom && hasProfile) {
        r.issue(r.pathOf(u"seccompProfile"), QStringLiteral("is only used when seccomp is 'custom'"));
        out.seccompProfile.clear();
    }
    r.boolean(u"nestedUserNamespaces", out.nestedUserNamespaces);
    r.finish();
}

void readGuardrails(ObjectReader &parent, Guardrails &out)
{
    const auto object = parent.object(u"guardrails");
    if (!object)
        return;
    ObjectReader r = parent.nested(*object, parent.pathOf(u"guardrails"));
    r.optionalInteger(u"maxTurns", out.maxTurns, {1, 1000000});
    r.optionalInteger(u"maxToolCalls", out.maxToolCalls, {1, 10000000});
    r.optionalInteger(u"maxWallClockSeconds", out.maxWallClockSeconds, {1, kThirtyDays});
    r.optionalInteger(u"maxTokens", out.maxTokens, {1, qint64(1000000000000)});
    r.optionalNumber(u"maxCostUsd", out.maxCostUsd, {0.0, 1000000.0});
    r.optionalInteger(u"maxIdleSeconds", out.maxIdleSeconds, {1, kThirtyDays});
    r.finish();
}

void readApprovals(ObjectReader &parent, Approvals &out)
{
    const auto object = parent.object(u"approvals");
    if (!object)
        return;
    ObjectReader r = parent.nested(*object, parent.pathOf(u"approvals"));
    QList<Issue> &issues = r.issues();
    r.enumeration(u"default", out.defaultDecision);
    QList<ApprovalRule> rules;
    if (const auto items = r.array(u"rules")) {
        const QString listPath = r.pathOf(u"rules");
        for (qsizetype i = 0; i < items->size(); ++i) {
            const QString path = indexPath(listPath, i);
            if (!items->at(i).isObject()) {
                r.issue(path, QStringLiteral("expected an object, got ") + describeType(items->at(i)));
                continue;
            }
            const qsizetype before = issues.size();
            ObjectReader a = r.nested(items->at(i).toObject(), path);
            ApprovalRule rule;
            a.enumeration(u"kind", rule.kind);
            a.optionalString(u"command", rule.command, checkCommandPattern);
            a.optionalString(u"path", rule.path, checkPathGlob);
            a.optionalString(u"domain", rule.domain, checkDomainPattern);
            a.enumeration(u"decision", rule.decision, true);
            a.finish();
            if (issues.size() == before)
                rules.append(rule);
        }
        out.rules = rules;
    }
    r.finish();
}

} // namespace airlock::policy::detail
