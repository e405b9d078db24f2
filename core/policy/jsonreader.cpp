#include "policy/jsonreader.h"

#include <algorithm>
#include <cmath>

namespace airlock::policy::detail {

namespace {

QString numberText(double value)
{
    return QString::number(value, 'g', 17);
}

// Edit distance, for "did you mean" on misspelt keys; keys are short, so the quadratic cost is fine.
qsizetype editDistance(QStringView a, QStringView b)
{
    QList<qsizetype> previous(b.size() + 1);
    QList<qsizetype> current(b.size() + 1);
    for (qsizetype j = 0; j <= b.size(); ++j)
        previous[j] = j;
    for (qsizetype i = 1; i <= a.size(); ++i) {
        current[0] = i;
        for (qsizetype j = 1; j <= b.size(); ++j) {
            const qsizetype substitution = previous[j - 1] + (a.at(i - 1) == b.at(j - 1) ? 0 : 1);
            current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
        }
        std::swap(previous, current);
    }
    return previous[b.size()];
}

} // namespace

QString childPath(const QString &parent, QStringView key)
{
    if (parent.isEmpty())
        return key.toString();
    return parent + u'.' + key;
}

QString indexPath(const QString &parent, qsizetype index)
{
    return parent + u'[' + QString::number(index) + u']';
}

QString describeType(const QJsonValue &value)
{
    switch (value.type()) {
    case QJsonValue::Null:
        return QStringLiteral("null");
    case QJsonValue::Bool:
        return QStringLiteral("a boolean");
    case QJsonValue::Double:
        return QStringLiteral("a number");
    case QJsonValue::String:
        return QStringLiteral("a string");
    case QJsonValue::Array:
        return QStringLiteral("an array");
    case QJsonValue::Object:
        return QStringLiteral("an object");
    case QJsonValue::Undefined:
        break;
    }
    return QStringLiteral("nothing");
}

std::optional<qint64> readInteger(const QJsonValue &value, const QString &path, IntRange range,
                                  QList<Issue> &issues)
{
    if (!value.isDouble()) {
        issues.append({path, QStringLiteral("expected a whole number, got ") + describeType(value)});
        return std::nullopt;
    }
    const double number = value.toDouble();
    if (!std::isfinite(number) || std::trunc(number) != number) {
        issues.append({path, QStringLiteral("expected a whole number, got ") + numberText(number)});
        return std::nullopt;
    }
    // Beyond ±2^62 a double no longer says which integer was meant; every range here is far smaller.
    if (std::fabs(number) > 4.6e18) {
        issues.append({path, numberText(number) + QStringLiteral(" is out of range (at most ")
                                 + QString::number(range.max) + u')'});
        return std::nullopt;
    }
    const qint64 integer = value.toInteger(static_cast<qint64>(number));
    if (integer < 0 && range.min >= 0) {
        issues.append({path, QStringLiteral("must not be negative, got ") + QString::number(integer)});
        return std::nullopt;
    }
    if (integer < range.min || integer > range.max) {
        issues.append({path, QString::number(integer) + QStringLiteral(" is out of range (")
                                 + QString::number(range.min) + QStringLiteral(" to ")
                                 + QString::number(range.max) + u')'});
        return std::nullopt;
    }
    return integer;
}

std::optional<QString> readString(const QJsonValue &value, const QString &path, Check check,
                                  QList<Issue> &issues)
{
    if (!value.isString()) {
        issues.append({path, QStringLiteral("expected a string, got ") + describeType(value)});
        return std::nullopt;
    }
    QString text = value.toString();
    if (check) {
        if (auto reason = check(text)) {
            issues.append({path, *reason});
            return std::nullopt;
        }
    }
    return text;
}

ObjectReader::ObjectReader(const QJsonObject &object, QString path, QList<Issue> &issues)
    : m_object(object)
    , m_path(std::move(path))
    , m_issues(issues)
{
}

std::optional<QJsonValue> ObjectReader::take(QStringView key, bool required)
{
    m_known.append(key.toString());
    const auto it = m_object.constFind(key);
    if (it == m_object.constEnd()) {
        if (required)
            issue(pathOf(key), QStringLiteral("is required"));
        return std::nullopt;
    }
    return it.value();
}

void ObjectReader::expected(const QString &path, const QString &what, const QJsonValue &got)
{
    issue(path, QStringLiteral("expected ") + what + QStringLiteral(", got ") + describeType(got));
}

void ObjectReader::string(QStringView key, QString &out, Check check, bool required)
{
    if (const auto value = take(key, required)) {
        if (auto text = readString(*value, pathOf(key), check, m_issues))
            out = *text;
    }
}

void ObjectReader::optionalString(QStringView key, std::optional<QString> &out, Check check)
{
    if (const auto value = take(key)) {
        if (auto text = readString(*value, pathOf(key), check, m_issues))
            out = *text;
    }
}

void ObjectReader::boolean(QStringView key, bool &out)
{
    const auto value = take(key);
    if (!value)
        return;
    if (!value->isBool()) {
        expected(pathOf(key), QStringLiteral("true or false"), *value);
        return;
    }
    out = value->toBool();
}

void ObjectReader::integer(QStringView key, qint64 &out, IntRange range, bool required)
{
    if (const auto value = take(key, required)) {
        if (auto number = readInteger(*value, pathOf(key), range, m_issues))
            out = *number;
    }
}

void ObjectReader::optionalInteger(QStringView key, std::optional<qint64> &out, IntRange range)
{
    if (const auto value = take(key)) {
        if (auto number = readInteger(*value, pathOf(key), range, m_issues))
            out = *number;
    }
}

void ObjectReader::optionalNumber(QStringView key, std::optional<double> &out, NumberRange range)
{
    const auto value = take(key);
    if (!value)
        return;
    if (!value->isDouble()) {
        expected(pathOf(key), QStringLiteral("a number"), *value);
        return;
    }
    const double number = value->toDouble();
    if (!std::isfinite(number) || number <= range.min || number > range.max) {
        issue(pathOf(key), numberText(number) + QStringLiteral(" is out of range (more than ")
                               + numberText(range.min) + QStringLiteral(", at most ") + numberText(range.max)
                               + u')');
        return;
    }
    out = number;
}

void ObjectReader::stringList(QStringView key, QStringList &out, Check check)
{
    const auto items = array(key);
    if (!items)
        return;
    const QString listPath = pathOf(key);
    QStringList result;
    QList<qsizetype> positions; // where each kept entry stood, for duplicate messages
    for (qsizetype i = 0; i < items->size(); ++i) {
        const QString itemPath = indexPath(listPath, i);
        auto text = readString(items->at(i), itemPath, check, m_issues);
        if (!text)
            continue;
        if (const qsizetype first = result.indexOf(*text); first >= 0) {
            issue(itemPath, u'\'' + *text + QStringLiteral("' is already listed at ")
                                + indexPath(listPath, positions.at(first)));
            continue;
        }
        result.append(*text);
        positions.append(i);
    }
    out = result;
}

std::optional<QJsonArray> ObjectReader::array(QStringView key)
{
    const auto value = take(key);
    if (!value)
        return std::nullopt;
    if (!value->isArray()) {
        expected(pathOf(key), QStringLiteral("an array"), *value);
        return std::nullopt;
    }
    return value->toArray();
}

std::optional<QJsonObject> ObjectReader::object(QStringView key)
{
    const auto value = take(key);
    if (!value)
        return std::nullopt;
    if (!value->isObject()) {
        expected(pathOf(key), QStringLiteral("an object"), *value);
        return std::nullopt;
    }
    return value->toObject();
}

void ObjectReader::finish()
{
    for (auto it = m_object.constBegin(); it != m_object.constEnd(); ++it) {
        const QString key = it.key();
        if (m_known.contains(key))
            continue;
        QString message = QStringLiteral("unknown key");
        QString best;
        qsizetype bestDistance = 3;
        for (const QString &known : std::as_const(m_known)) {
            const qsizetype distance = editDistance(key.toLower(), known.toLower());
            if (distance < bestDistance) {
                bestDistance = distance;
                best = known;
            }
        }
        if (!best.isEmpty())
            message += QStringLiteral(" (did you mean '") + best + QStringLiteral("'?)");
        issue(pathOf(key), message);
    }
}

namespace {

// Decodes the JSON string starting at json[at] == '"' and leaves `at` on its closing quote.
QString scanString(const QByteArray &json, qsizetype &at)
{
    QString text;
    QByteArray run; // raw UTF-8 between escapes
    for (++at; at < json.size() && json.at(at) != '"'; ++at) {
        if (json.at(at) != '\\') {
            run += json.at(at);
            continue;
        }
        text += QString::fromUtf8(run);
        run.clear();
        const char escape = at + 1 < json.size() ? json.at(++at) : '\0';
        switch (escape) {
        case 'b': text += u'\b'; break;
        case 'f': text += u'\f'; break;
        case 'n': text += u'\n'; break;
        case 'r': text += u'\r'; break;
        case 't': text += u'\t'; break;
        case 'u':
            text += QChar(json.mid(at + 1, 4).toUShort(nullptr, 16));
            at += 4;
            break;
        default: text += QChar::fromLatin1(escape); break;
        }
    }
    return text + QString::fromUtf8(run);
}

} // namespace

QList<Issue> findDuplicateKeys(const QByteArray &json)
{
    struct Frame {
        bool object = false;
        QString path;
        QSet<QString> keys;
        QString key;          // the member being read
        qsizetype index = 0;  // the element being read
        bool expectKey = true;
    };
    QList<Issue> issues;
    QList<Frame> stack;
    const auto childOfTop = [&]() -> QString {
        if (stack.isEmpty())
            return {};
        const Frame &top = stack.last();
        return top.object ? childPath(top.path, top.key) : indexPath(top.path, top.index);
    };
    for (qsizetype at = 0; at < json.size(); ++at) {
        switch (json.at(at)) {
        case '"': {
            const QString text = scanString(json, at);
            if (stack.isEmpty() || !stack.last().object || !stack.last().expectKey)
                break;
            Frame &top = stack.last();
            if (top.keys.contains(text))
                issues.append({childPath(top.path, text), QStringLiteral("appears more than once")});
            top.keys.insert(text);
            top.key = text;
            top.expectKey = false;
            break;
        }
        case '{':
        case '[':
            stack.append(Frame{json.at(at) == '{', childOfTop(), {}, {}, 0, true});
            break;
        case '}':
        case ']':
            if (!stack.isEmpty())
                stack.removeLast();
            break;
        case ',':
            if (!stack.isEmpty()) {
                if (stack.last().object)
                    stack.last().expectKey = true;
                else
                    ++stack.last().index;
            }
            break;
        default:
            break;
        }
    }
    return issues;
}

} // namespace airlock::policy::detail
