#pragma once

#include "policy/codec.h"
#include "policy/policy.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QJsonValue>
#include <QSet>

#include <optional>

// Internal to the codec: strict, path-aware reading of JSON objects that records every problem in a
// shared issue list and leaves the target at its default when a value is rejected.

namespace airlock::policy::detail {

using Check = std::optional<QString> (*)(QStringView);

QString childPath(const QString &parent, QStringView key);
QString indexPath(const QString &parent, qsizetype index);
// "a string", "an array", "null", ...: for "expected X, got Y" messages.
QString describeType(const QJsonValue &value);

struct IntRange {
    qint64 min;
    qint64 max;
};

struct NumberRange {
    double min;          // exclusive lower bound
    double max;          // inclusive upper bound
};

class ObjectReader
{
public:
    ObjectReader(const QJsonObject &object, QString path, QList<Issue> &issues);

    const QString &path() const { return m_path; }
    QList<Issue> &issues() const { return m_issues; }
    // A reader for a nested object, sharing this reader's issue list.
    ObjectReader nested(const QJsonObject &object, const QString &path) const
    {
        return ObjectReader(object, path, m_issues);
    }
    QString pathOf(QStringView key) const { return childPath(m_path, key); }
    void issue(const QString &path, const QString &message) { m_issues.append({path, message}); }

    // Marks the key as known; a missing required key is an issue.
    std::optional<QJsonValue> take(QStringView key, bool required = false);

    void string(QStringView key, QString &out, Check check = nullptr, bool required = false);
    void optionalString(QStringView key, std::optional<QString> &out, Check check);
    void boolean(QStringView key, bool &out);
    void integer(QStringView key, qint64 &out, IntRange range, bool required = false);
    void optionalInteger(QStringView key, std::optional<qint64> &out, IntRange range);
    void optionalNumber(QStringView key, std::optional<double> &out, NumberRange range);
    // Each element checked; duplicates are reported against the first occurrence.
    void stringList(QStringView key, QStringList &out, Check check);
    std::optional<QJsonArray> array(QStringView key);
    std::optional<QJsonObject> object(QStringView key);

    template<typename E>
    void enumeration(QStringView key, E &out, bool required = false)
    {
        const auto value = take(key, required);
        if (!value)
            return;
        if (!value->isString()) {
            expected(pathOf(key), QStringLiteral("a string"), *value);
            return;
        }
        if (const auto parsed = parseEnum<E>(value->toString())) {
            out = *parsed;
            return;
        }
        issue(pathOf(key), u'\'' + value->toString() + QStringLiteral("' is not one of ") + joinedNames<E>());
    }

    // Reports keys no reader asked for, with a suggestion when one is close to a known key.
    void finish();

private:
    void expected(const QString &path, const QString &what, const QJsonValue &got);

    QJsonObject m_object;
    QString m_path;
    QList<Issue> &m_issues;
    QStringList m_known;
};

// QJsonDocument keeps the last of two equal keys without a word; in a policy that would let a second
// "mode" quietly override the first. This scan of already well-formed JSON reports such keys.
QList<Issue> findDuplicateKeys(const QByteArray &json);

std::optional<qint64> readInteger(const QJsonValue &value, const QString &path, IntRange range,
                                  QList<Issue> &issues);
std::optional<QString> readString(const QJsonValue &value, const QString &path, Check check,
                                  QList<Issue> &issues);

} // namespace airlock::policy::detail
