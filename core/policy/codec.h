#pragma once

#include "error.h"
#include "policy/policy.h"

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QString>

#include <expected>
#include <span>

// The strict JSON form of a policy. Reading collects every problem it finds instead of stopping at the
// first, each tied to the JSON path of the offending value, so an editor can mark all of them at once
// and a CLI can print them one per line. Writing is canonical: fixed key order, two-space indent, one
// value per line and a final newline, so the text diffs well and parse/serialize round-trip exactly.

namespace airlock::policy {

// Documents larger than this are refused before parsing; real policies are a few kilobytes.
inline constexpr qsizetype kMaxPolicyBytes = 1024 * 1024;

struct Issue {
    QString path;      // e.g. "network.allow[2]"; empty for the document as a whole
    QString message;   // e.g. "'*.' is not a domain pattern"
    // "network.allow[2]: '*.' is not a domain pattern"
    QString toString() const;
    bool operator==(const Issue &) const = default;
};

// One issue per line, in the order they were found.
QString formatIssues(const QList<Issue> &issues);

// Parses and validates, migrating documents written for an older schema version.
std::expected<Policy, QList<Issue>> decodePolicy(const QByteArray &json);
// The same, with the issues folded into one InvalidArgument error (one issue per line).
Result<Policy> parsePolicy(const QByteArray &json);
// Reads a policy file, refusing files over kMaxPolicyBytes without reading them whole.
Result<Policy> loadPolicyFile(const QString &path);

// The canonical text. Every non-optional field is written, optional ones only when set.
QByteArray serializePolicy(const Policy &policy);

// Every rule the parser enforces, applied to a value built in code (an editor's working copy); the
// paths are those the value would have in its JSON form. Empty means valid.
QList<Issue> validatePolicy(const Policy &policy);

// Hex SHA-256 of the canonical text: equal policies hash equal, whatever spelling they were read from.
QString policyHash(const Policy &policy);

// Schema migration. Each step rewrites a document from `fromVersion` to `fromVersion + 1` in place.
struct PolicyMigration {
    int fromVersion;
    const char *summary;
    void (*apply)(QJsonObject &document);
};
std::span<const PolicyMigration> policyMigrations();
// Brings a parsed document up to kSchemaVersion. Documents newer than this build, or without a usable
// schemaVersion, are refused with an issue at "schemaVersion".
std::expected<QJsonObject, Issue> migratePolicyDocument(QJsonObject document);

} // namespace airlock::policy
