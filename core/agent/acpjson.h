#pragma once

#include "error.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QJsonValue>
#include <QStringList>

#include <cmath>
#include <optional>

// Field readers shared by the ACP parsers (internal to core/agent). Required readers record the
// first failure and return a default, so a parser reads every field and checks ok() once.
namespace airlock::agent::acp::json {

inline QString typeName(const QJsonValue &v)
{
    switch (v.type()) {
    case QJsonValue::Null: return QStringLiteral("null");
    case QJsonValue::Bool: return QStringLiteral("a boolean");
    case QJsonValue::Double: return QStringLiteral("a number");
    case QJsonValue::String: return QStringLiteral("a string");
    case QJsonValue::Array: return QStringLiteral("an array");
    case QJsonValue::Object: return QStringLiteral("an object");
    case QJsonValue::Undefined: return QStringLiteral("missing");
    }
    return QStringLiteral("unknown");
}

inline bool isUnsigned(const QJsonValue &v, double max)
{
    if (!v.isDouble())
        return false;
    const double d = v.toDouble();
    return std::isfinite(d) && d >= 0 && std::floor(d) == d && d <= max;
}

class Fields
{
public:
    Fields(const QJsonObject &object, QString where, QStringList *warnings)
        : m_o(object), m_where(std::move(where)), m_warnings(warnings)
    {
    }

    bool ok() const { return !m_error; }
    const Error &error() const { return *m_error; }
    std::unexpected<Error> failure() const { return std::unexpected(*m_error); }
    const QJsonObject &object() const { return m_o; }
    QString path(const QString &key) const { return m_where.isEmpty() ? key : m_where + u'.' + key; }

    void fail(const QString &key, const QString &expected)
    {
        if (!m_error)
            m_error = Error{ErrorCode::InvalidArgument, QStringLiteral("%1 must be %2, not %3")
                                                            .arg(path(key), expected, typeName(m_o.value(key)))};
    }
    void warn(const QString &key, const QString &expected)
    {
        if (m_warnings)
            m_warnings->append(QStringLiteral("%1 ignored: expected %2, got %3")
                                   .arg(path(key), expected, typeName(m_o.value(key))));
    }

    QString string(const QString &key)
    {
        const QJsonValue v = m_o.value(key);
        if (!v.isString())
            fail(key, QStringLiteral("a string"));
        return v.toString();
    }
    QString nonEmpty(const QString &key)
    {
        const QString s = string(key);
        if (ok() && s.isEmpty())
            fail(key, QStringLiteral("a non-empty string"));
        return s;
    }
    // Absent and null give nullopt; a wrong type is a warning.
    std::optional<QString> optString(const QString &key)
    {
        const QJsonValue v = m_o.value(key);
        if (v.isUndefined() || v.isNull())
            return std::nullopt;
        if (!v.isString()) {
            warn(key, QStringLiteral("a string"));
            return std::nullopt;
        }
        return v.toString();
    }
    // Like optString, but a null that is present is reported as an empty string.
    std::optional<QString> nullableString(const QString &key)
    {
        const QJsonValue v = m_o.value(key);
        if (v.isNull())
            return QString();
        return optString(key);
    }
    bool optBool(const QString &key, bool fallback = false)
    {
        const QJsonValue v = m_o.value(key);
        if (v.isUndefined() || v.isNull())
            return fallback;
        if (!v.isBool()) {
            warn(key, QStringLiteral("a boolean"));
            return fallback;
        }
        return v.toBool();
    }
    bool boolean(const QString &key)
    {
        const QJsonValue v = m_o.value(key);
        if (!v.isBool())
            fail(key, QStringLiteral("a boolean"));
        return v.toBool();
    }
    quint64 uint64(const QString &key)
    {
        const QJsonValue v = m_o.value(key);
        if (!isUnsigned(v, 9007199254740992.0))
            fail(key, QStringLiteral("a non-negative integer"));
        return ok() ? quint64(v.toDouble()) : 0;
    }
    std::optional<quint64> optUInt64(const QString &key)
    {
        const QJsonValue v = m_o.value(key);
        if (v.isUndefined() || v.isNull())
            return std::nullopt;
        if (!isUnsigned(v, 9007199254740992.0)) {
            warn(key, QStringLiteral("a non-negative integer"));
            return std::nullopt;
        }
        return quint64(v.toDouble());
    }
    std::optional<quint32> optUInt32(const QString &key)
    {
        const QJsonValue v = m_o.value(key);
        if (v.isUndefined() || v.isNull())
            return std::nullopt;
        if (!isUnsigned(v, 4294967295.0)) {
            warn(key, QStringLiteral("a non-negative 32-bit integer"));
            return std::nullopt;
        }
        return quint32(v.toDouble());
    }
    // A request parameter the schema types strictly (no default on error): a wrong type refuses.
    std::optional<quint32> strictOptUInt32(const QString &key)
    {
        const QJsonValue v = m_o.value(key);
        if (v.isUndefined() || v.isNull())
            return std::nullopt;
        if (!isUnsigned(v, 4294967295.0)) {
            fail(key, QStringLiteral("a non-negative 32-bit integer"));
            return std::nullopt;
        }
        return quint32(v.toDouble());
    }
    QJsonObject object(const QString &key)
    {
        const QJsonValue v = m_o.value(key);
        if (!v.isObject())
            fail(key, QStringLiteral("an object"));
        return v.toObject();
    }
    QJsonArray array(const QString &key)
    {
        const QJsonValue v = m_o.value(key);
        if (!v.isArray())
            fail(key, QStringLiteral("an array"));
        return v.toArray();
    }
    // Absent or null: nullopt; wrong type: warning and nullopt.
    std::optional<QJsonArray> optArray(const QString &key)
    {
        const QJsonValue v = m_o.value(key);
        if (v.isUndefined() || v.isNull())
            return std::nullopt;
        if (!v.isArray()) {
            warn(key, QStringLiteral("an array"));
            return std::nullopt;
        }
        return v.toArray();
    }
    // An enum by its protocol name; a wrong value in an optional field is a warning.
    template<typename E>
    std::optional<E> optEnum(const QString &key, std::optional<E> (*from)(const QString &), const QString &expected)
    {
        const QJsonValue v = m_o.value(key);
        if (v.isUndefined() || v.isNull())
            return std::nullopt;
        std::optional<E> e = v.isString() ? from(v.toString()) : std::nullopt;
        if (!e)
            warnValue(key, expected);
        return e;
    }
    template<typename E>
    E requiredEnum(const QString &key, std::optional<E> (*from)(const QString &), const QString &expected, E fallback)
    {
        const QJsonValue v = m_o.value(key);
        std::optional<E> e = v.isString() ? from(v.toString()) : std::nullopt;
        if (!e) {
            if (!m_error)
                m_error = Error{ErrorCode::InvalidArgument,
                                QStringLiteral("%1 must be one of %2, not %3").arg(path(key), expected, shown(v))};
            return fallback;
        }
        return *e;
    }

private:
    static QString shown(const QJsonValue &v)
    {
        return v.isString() ? u'"' + v.toString().left(60) + u'"' : typeName(v);
    }
    void warnValue(const QString &key, const QString &expected)
    {
        if (m_warnings)
            m_warnings->append(QStringLiteral("%1 ignored: expected one of %2, got %3")
                                   .arg(path(key), expected, shown(m_o.value(key))));
    }

    QJsonObject m_o;
    QString m_where;
    QStringList *m_warnings;
    std::optional<Error> m_error;
};

} // namespace airlock::agent::acp::json
