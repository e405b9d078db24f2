#include "policy/policylibrary.h"

#include "policy/codec.h"
#include "policy/presets.h"
#include "store/event.h"
#include "store/eventstore.h"
#include "store/storereader.h"

#include <QJsonDocument>

namespace airlock::policy {

namespace {
Result<PolicyEntry> fromStored(const store::PolicyVersion &v)
{
    auto parsed = parsePolicy(v.document);
    if (!parsed)
        return fail(ErrorCode::Corrupt, QStringLiteral("stored policy %1 version %2 does not parse: %3")
                                            .arg(v.name)
                                            .arg(v.version)
                                            .arg(parsed.error().message.section(u'\n', 0, 0)));
    return PolicyEntry{v.name, v.version, false, v.note, v.created, *parsed};
}
} // namespace

Result<QList<PolicyEntry>> listPolicies(store::StoreReader &reader)
{
    auto stored = reader.policies();
    if (!stored)
        return std::unexpected(stored.error());
    QList<PolicyEntry> out;
    QStringList names;
    for (const Preset &p : presets()) {
        out.append(PolicyEntry{p.id, 0, true, {}, 0, p.policy});
        names.append(p.id);
    }
    for (const auto &v : *stored) {
        auto entry = fromStored(v);
        if (!entry)
            return std::unexpected(entry.error());
        const qsizetype i = names.indexOf(v.name);
        if (i >= 0)
            out[i] = *entry; // a saved version shadows the preset, in the preset's place on the ladder
        else
            out.append(*entry);
    }
    return out;
}

Result<PolicyEntry> findPolicy(store::StoreReader &reader, const QString &name, int version)
{
    auto stored = reader.policy(name, version);
    if (!stored)
        return std::unexpected(stored.error());
    if (*stored)
        return fromStored(**stored);
    if (version == 0) {
        if (auto preset = findPreset(name))
            return PolicyEntry{name, 0, true, {}, 0, *preset};
    }
    if (version > 0)
        return fail(ErrorCode::NotFound, QStringLiteral("policy %1 has no version %2").arg(name).arg(version));
    return fail(ErrorCode::NotFound,
                QStringLiteral("no policy named '%1' (see 'airlockctl policy list')").arg(name));
}

Result<int> savePolicy(store::EventStore &store, store::StoreReader &reader, const QString &name,
                       const Policy &policy, const QString &note)
{
    if (const auto issues = validatePolicy(policy); !issues.isEmpty())
        return fail(ErrorCode::InvalidArgument, formatIssues(issues));
    if (!store::isValidPolicyName(name))
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("'%1' cannot be a policy name (letters, digits, '-', '_', '.')").arg(name));
    // Saving what the newest version already holds makes no new version.
    if (auto latest = reader.policy(name); latest && *latest) {
        if (auto parsed = parsePolicy((*latest)->document); parsed && *parsed == policy)
            return (*latest)->version;
    }
    const QJsonObject document = QJsonDocument::fromJson(serializePolicy(policy)).object();
    auto ticket = store.append({}, QLatin1String(store::kinds::PolicySaved),
                               {{QStringLiteral("name"), name},
                                {QStringLiteral("document"), document},
                                {QStringLiteral("note"), note}});
    if (!ticket)
        return std::unexpected(ticket.error());
    if (auto r = store.flush(); !r)
        return std::unexpected(r.error());
    auto saved = reader.policy(name);
    if (!saved)
        return std::unexpected(saved.error());
    if (!*saved)
        return fail(ErrorCode::Storage, QStringLiteral("policy %1 was saved but cannot be read back").arg(name));
    return (*saved)->version;
}

} // namespace airlock::policy
