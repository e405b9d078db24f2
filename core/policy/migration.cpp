#include "policy/codec.h"

#include <QJsonValue>

#include <array>
#include <cmath>

namespace airlock::policy {

namespace {

// Version 0 is the pre-release draft layout. It differs from version 1 in one place: the network lists
// were called "allowlist" and "denylist". Keeping the step means the migration path is exercised by
// tests before the first real layout change needs it.
void renameNetworkLists(QJsonObject &document)
{
    QJsonObject network = document.value(QStringLiteral("network")).toObject();
    if (!document.value(QStringLiteral("network")).isObject())
        return; // a wrong type is reported by the reader, with the right path
    for (const auto &[from, to] : {std::pair{QStringLiteral("allowlist"), QStringLiteral("allow")},
                                   std::pair{QStringLiteral("denylist"), QStringLiteral("deny")}}) {
        // When both spellings are present the old one is left in place, so it shows up as unknown.
        if (network.contains(from) && !network.contains(to))
            network.insert(to, network.take(from));
    }
    document.insert(QStringLiteral("network"), network);
}

constexpr std::array<PolicyMigration, 1> kMigrations{{
    {0, "network.allowlist/denylist renamed to network.allow/deny", &renameNetworkLists},
}};

static_assert(kMigrations.back().fromVersion + 1 == kSchemaVersion,
              "every schema version needs a migration step from the one before");

} // namespace

std::span<const PolicyMigration> policyMigrations()
{
    return kMigrations;
}

std::expected<QJsonObject, Issue> migratePolicyDocument(QJsonObject document)
{
    const QString key = QStringLiteral("schemaVersion");
    if (!document.contains(key))
        return std::unexpected(Issue{key, QStringLiteral("is required (this build writes %1)").arg(kSchemaVersion)});
    const QJsonValue value = document.value(key);
    const double number = value.toDouble(-1);
    if (!value.isDouble() || std::trunc(number) != number || number < 0) {
        return std::unexpected(Issue{key, QStringLiteral("expected a whole number from 0 to %1").arg(kSchemaVersion)});
    }
    if (number > kSchemaVersion) {
        return std::unexpected(Issue{key, QStringLiteral("the document needs schema version %1, but this build "
                                                         "reads up to version %2; update Airlock")
                                              .arg(qint64(std::min(number, 1e15)))
                                              .arg(kSchemaVersion)});
    }
    int version = int(number);
    for (const PolicyMigration &step : kMigrations) {
        if (step.fromVersion < version)
            continue;
        step.apply(document);
        version = step.fromVersion + 1;
    }
    document.insert(key, version);
    return document;
}

} // namespace airlock::policy
