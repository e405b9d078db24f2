#include "policy/codec.h"

#include "policy/jsonreader.h"
#include "policy/valuechecks.h"
#include "policy/sectionreaders.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>

namespace airlock::policy {

using namespace detail;

namespace {

std::unexpected<QList<Issue>> refuse(const QString &message)
{
    return std::unexpected(QList<Issue>{Issue{{}, message}});
}

std::optional<QString> checkName(QStringView name)
{
    if (auto reason = checkPlainText(name, 200))
        return QStringLiteral("the name ") + *reason;
    return std::nullopt;
}

std::optional<QString> checkDescription(QStringView text)
{
    // Descriptions are prose, so line breaks and tabs are welcome; other control characters are not.
    for (const QChar c : text) {
        if ((c.unicode() < 0x20 && c != u'\n' && c != u'\t') || c.unicode() == 0x7f)
            return QStringLiteral("the description contains control characters");
    }
    if (text.size() > 8000)
        return QStringLiteral("the description is longer than 8000 characters");
    return std::nullopt;
}

bool hasIssueAt(const QList<Issue> &issues, const QString &path)
{
    for (const Issue &issue : issues) {
        if (issue.path == path)
            return true;
    }
    return false;
}

QString jsonErrorText(const QByteArray &json, const QJsonParseError &error)
{
    const QByteArray before = json.left(error.offset);
    const qsizetype line = before.count('\n') + 1;
    const qsizetype column = error.offset - (before.lastIndexOf('\n') + 1) + 1;
    return QStringLiteral("not valid JSON: %1 at line %2, column %3").arg(error.errorString()).arg(line).arg(column);
}

} // namespace

QString Issue::toString() const
{
    return path.isEmpty() ? message : path + QStringLiteral(": ") + message;
}

QString formatIssues(const QList<Issue> &issues)
{
    QStringList lines;
    lines.reserve(issues.size());
    for (const Issue &issue : issues)
        lines << issue.toString();
    return lines.join(u'\n');
}

std::expected<Policy, QList<Issue>> decodePolicy(const QByteArray &json)
{
    if (json.size() > kMaxPolicyBytes) {
        return refuse(QStringLiteral("the document is %1 bytes; a policy may be at most %2 bytes")
                          .arg(json.size())
                          .arg(kMaxPolicyBytes));
    }
    if (json.trimmed().isEmpty())
        return refuse(QStringLiteral("the document is empty"));
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(json, &error);
    if (error.error != QJsonParseError::NoError)
        return refuse(jsonErrorText(json, error));
    if (!document.isObject()) {
        return refuse(QStringLiteral("expected an object at the top level, got ")
                      + describeType(document.isArray() ? QJsonValue(document.array()) : QJsonValue()));
    }
    if (QList<Issue> duplicates = findDuplicateKeys(json); !duplicates.isEmpty())
        return std::unexpected(duplicates);
    auto migrated = migratePolicyDocument(document.object());
    if (!migrated)
        return std::unexpected(QList<Issue>{migrated.error()});

    QList<Issue> issues;
    Policy policy;
    ObjectReader top(*migrated, {}, issues);
    top.take(u"schemaVersion"); // already checked by the migration
    top.string(u"name", policy.name, checkName);
    top.string(u"description", policy.description, checkDescription);
    readRuntime(top, policy.runtime);
    top.enumeration(u"placement", policy.placement);
    top.enumeration(u"lifecycle", policy.lifecycle);
    readFilesystem(top, policy.filesystem);
    readNetwork(top, policy.network);
    readSecrets(top, policy.secrets);
    readEnvironment(top, policy.environment);
    readResources(top, policy.resources);
    readPrivileges(top, policy.privileges);
    readGuardrails(top, policy.guardrails);
    readApprovals(top, policy.approvals);
    top.finish();

    const QString imagePath = QStringLiteral("runtime.image");
    if (policy.runtime.backend == Backend::Docker && policy.runtime.image.isEmpty()
        && !hasIssueAt(issues, imagePath)) {
        issues.append({imagePath, QStringLiteral("is required when the backend is docker")});
    }
    if (!issues.isEmpty())
        return std::unexpected(issues);
    return policy;
}

Result<Policy> parsePolicy(const QByteArray &json)
{
    auto decoded = decodePolicy(json);
    if (!decoded)
        return fail(ErrorCode::InvalidArgument, formatIssues(decoded.error()));
    return std::move(*decoded);
}

Result<Policy> loadPolicyFile(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return fail(ErrorCode::NotFound, QStringLiteral("cannot open %1: %2").arg(path, file.errorString()));
    // Read one byte past the limit so an oversized file is reported without reading all of it.
    const QByteArray json = file.read(kMaxPolicyBytes + 1);
    if (file.error() != QFileDevice::NoError)
        return fail(ErrorCode::Io, QStringLiteral("cannot read %1: %2").arg(path, file.errorString()));
    auto decoded = decodePolicy(json);
    if (!decoded) {
        const QString prefix = QFileInfo(path).fileName() + QStringLiteral(": ");
        QStringList lines;
        for (const Issue &issue : decoded.error())
            lines << prefix + issue.toString();
        return fail(ErrorCode::InvalidArgument, lines.join(u'\n'));
    }
    return std::move(*decoded);
}

QList<Issue> validatePolicy(const Policy &policy)
{
    if (policy.schemaVersion != kSchemaVersion) {
        return {{QStringLiteral("schemaVersion"),
                 QStringLiteral("a policy value is always at version %1; it is %2")
                     .arg(kSchemaVersion)
                     .arg(policy.schemaVersion)}};
    }
    // Going through the text keeps one set of rules and gives every issue its JSON path.
    auto decoded = decodePolicy(serializePolicy(policy));
    return decoded ? QList<Issue>{} : decoded.error();
}

} // namespace airlock::policy
