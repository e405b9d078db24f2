#include "jsonrpc.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>

#include <cmath>

namespace airlock::agent {

namespace {

// JSON numbers are doubles here; an id must be an integer a double holds exactly.
constexpr double kMaxExactInteger = 9007199254740992.0; // 2^53

bool isIntegral(const QJsonValue &v)
{
    if (!v.isDouble())
        return false;
    const double d = v.toDouble();
    return std::isfinite(d) && std::floor(d) == d && std::fabs(d) <= kMaxExactInteger;
}

QByteArray frame(const QJsonObject &object)
{
    QByteArray bytes = QJsonDocument(object).toJson(QJsonDocument::Compact);
    bytes.append('\n');
    return bytes;
}

RpcParseFailure invalid(const QString &why, RpcId id = {}, bool answerable = true)
{
    return RpcParseFailure{RpcError{rpc::InvalidRequest, QStringLiteral("Invalid request: ") + why, {}, false},
                           std::move(id), answerable};
}

QString describe(const QJsonValue &v)
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

} // namespace

QJsonObject RpcError::toJson() const
{
    QJsonObject o{{QStringLiteral("code"), code}, {QStringLiteral("message"), message}};
    if (!data.isUndefined())
        o.insert(QStringLiteral("data"), data);
    return o;
}

Error RpcError::toError(const QString &method, const QString &peer) const
{
    if (local)
        return Error{code == rpc::RequestCancelled ? ErrorCode::Cancelled : ErrorCode::Io,
                     QStringLiteral("%1: %2").arg(method, message)};
    ErrorCode c = ErrorCode::Io;
    switch (code) {
    case rpc::ParseError:
    case rpc::InvalidRequest:
    case rpc::InvalidParams: c = ErrorCode::InvalidArgument; break;
    case rpc::MethodNotFound:
    case rpc::ResourceNotFound: c = ErrorCode::NotFound; break;
    case rpc::RequestCancelled: c = ErrorCode::Cancelled; break;
    default: break;
    }
    QString text = message.trimmed().isEmpty() ? QStringLiteral("no message") : message.trimmed();
    if (code == rpc::AuthRequired)
        text += QStringLiteral("; the agent needs you to sign in (authenticate) first");
    return Error{c, QStringLiteral("%1 refused %2: %3 (JSON-RPC error %4)").arg(peer, method, text).arg(code)};
}

RpcError RpcError::fromError(const Error &error)
{
    int code = rpc::InternalError;
    switch (error.code) {
    case ErrorCode::InvalidArgument: code = rpc::InvalidParams; break;
    case ErrorCode::NotFound: code = rpc::ResourceNotFound; break;
    case ErrorCode::Cancelled: code = rpc::RequestCancelled; break;
    default: break;
    }
    return RpcError{code, error.message, {}, false};
}

QJsonValue RpcId::toJson() const
{
    if (const auto *n = std::get_if<qint64>(&value))
        return QJsonValue(double(*n));
    if (const auto *s = std::get_if<QString>(&value))
        return QJsonValue(*s);
    return QJsonValue(QJsonValue::Null);
}

QString RpcId::key() const
{
    if (const auto *n = std::get_if<qint64>(&value))
        return QString::number(*n);
    if (const auto *s = std::get_if<QString>(&value))
        return u'"' + *s + u'"';
    return QStringLiteral("null");
}

RpcId RpcId::fromJson(const QJsonValue &v, bool *ok)
{
    *ok = true;
    if (v.isString())
        return RpcId{v.toString()};
    if (isIntegral(v))
        return RpcId{qint64(v.toDouble())};
    if (v.isNull())
        return RpcId{};
    *ok = false;
    return RpcId{};
}

std::expected<RpcMessage, RpcParseFailure> parseRpcMessage(QByteArrayView line)
{
    QJsonParseError perr;
    const QJsonDocument doc = QJsonDocument::fromJson(line.toByteArray(), &perr);
    if (perr.error != QJsonParseError::NoError) {
        // QJsonDocument holds only objects and arrays; a lone scalar is valid JSON, just not a
        // message, and JSON-RPC answers that with "invalid request" rather than "parse error".
        QJsonParseError again;
        const QJsonDocument wrapped = QJsonDocument::fromJson(QByteArray('[' + line.toByteArray() + ']'), &again);
        if (again.error == QJsonParseError::NoError && wrapped.array().size() == 1)
            return std::unexpected(invalid(QStringLiteral("a message must be a JSON object")));
        return std::unexpected(RpcParseFailure{
            RpcError{rpc::ParseError,
                     QStringLiteral("Parse error: %1 at byte %2").arg(perr.errorString()).arg(perr.offset), {}, false},
            {}, true});
    }
    if (doc.isArray())
        return std::unexpected(invalid(QStringLiteral("batches are not supported; send one message per line")));
    if (!doc.isObject())
        return std::unexpected(invalid(QStringLiteral("a message must be a JSON object")));
    const QJsonObject o = doc.object();

    const QJsonValue idValue = o.value(QLatin1String("id"));
    bool idOk = false;
    const RpcId id = RpcId::fromJson(idValue, &idOk);
    const bool hasId = !idValue.isUndefined();
    const bool hasMethod = o.contains(QLatin1String("method"));
    const bool hasResult = o.contains(QLatin1String("result"));
    const bool hasError = o.contains(QLatin1String("error"));
    const bool isResponse = !hasMethod && (hasResult || hasError);
    // Only a request's id is echoed in the error; a broken response is reported, never answered.
    const RpcId replyId = (hasMethod && idOk) ? id : RpcId{};

    if (o.value(QLatin1String("jsonrpc")) != QJsonValue(QStringLiteral("2.0")))
        return std::unexpected(invalid(QStringLiteral("\"jsonrpc\" must be \"2.0\""), replyId, !isResponse));

    RpcMessage m;
    if (hasMethod) {
        const QJsonValue method = o.value(QLatin1String("method"));
        if (!method.isString() || method.toString().isEmpty())
            return std::unexpected(invalid(QStringLiteral("\"method\" must be a non-empty string, not %1")
                                               .arg(describe(method)), replyId));
        if (hasResult || hasError)
            return std::unexpected(invalid(QStringLiteral("a message cannot have both \"method\" and \"%1\"")
                                               .arg(hasResult ? QStringLiteral("result") : QStringLiteral("error")),
                                           replyId));
        const QJsonValue params = o.value(QLatin1String("params"));
        // null is read as "no params": JSON-RPC forbids it, but some SDKs send it and it is unambiguous.
        if (!params.isUndefined() && !params.isNull() && !params.isObject() && !params.isArray())
            return std::unexpected(invalid(QStringLiteral("\"params\" must be an object or an array, not %1")
                                               .arg(describe(params)), replyId));
        if (hasId && (!idOk || id.isNull()))
            return std::unexpected(invalid(QStringLiteral("a request id must be an integer or a string, not %1")
                                               .arg(describe(idValue))));
        m.type = hasId ? RpcMessage::Type::Request : RpcMessage::Type::Notification;
        m.id = id;
        m.method = method.toString();
        m.params = params.isNull() ? QJsonValue(QJsonValue::Undefined) : params;
        return m;
    }
    if (!isResponse)
        return std::unexpected(invalid(QStringLiteral("a message needs \"method\", \"result\" or \"error\"")));
    if (hasResult && hasError)
        return std::unexpected(invalid(QStringLiteral("a response cannot have both \"result\" and \"error\""), {}, false));
    if (!hasId || !idOk)
        return std::unexpected(invalid(QStringLiteral("a response needs an integer or string \"id\", not %1")
                                           .arg(describe(idValue)), {}, false));
    m.type = RpcMessage::Type::Response;
    m.id = id;
    if (hasResult) {
        if (id.isNull())
            return std::unexpected(invalid(QStringLiteral("a successful response cannot have a null id"), {}, false));
        m.result = o.value(QLatin1String("result"));
        return m;
    }
    const QJsonValue err = o.value(QLatin1String("error"));
    const QJsonObject eo = err.toObject();
    if (!err.isObject() || !isIntegral(eo.value(QLatin1String("code")))
        || !eo.value(QLatin1String("message")).isString())
        return std::unexpected(invalid(QStringLiteral("\"error\" must be an object with an integer \"code\" and "
                                                      "a string \"message\""), {}, false));
    const double code = eo.value(QLatin1String("code")).toDouble();
    if (code < double(std::numeric_limits<int>::min()) || code > double(std::numeric_limits<int>::max()))
        return std::unexpected(invalid(QStringLiteral("the error code is out of range"), {}, false));
    m.error = RpcError{int(code), eo.value(QLatin1String("message")).toString(), eo.value(QLatin1String("data")), false};
    return m;
}

QByteArray encodeRequest(qint64 id, const QString &method, const QJsonValue &params)
{
    QJsonObject o{{QStringLiteral("jsonrpc"), QStringLiteral("2.0")}, {QStringLiteral("id"), double(id)},
                  {QStringLiteral("method"), method}};
    if (!params.isUndefined() && !params.isNull())
        o.insert(QStringLiteral("params"), params);
    return frame(o);
}

QByteArray encodeNotification(const QString &method, const QJsonValue &params)
{
    QJsonObject o{{QStringLiteral("jsonrpc"), QStringLiteral("2.0")}, {QStringLiteral("method"), method}};
    if (!params.isUndefined() && !params.isNull())
        o.insert(QStringLiteral("params"), params);
    return frame(o);
}

QByteArray encodeResult(const RpcId &id, const QJsonValue &result)
{
    return frame(QJsonObject{{QStringLiteral("jsonrpc"), QStringLiteral("2.0")}, {QStringLiteral("id"), id.toJson()},
                             {QStringLiteral("result"), result.isUndefined() ? QJsonValue(QJsonValue::Null) : result}});
}

QByteArray encodeError(const RpcId &id, const RpcError &error)
{
    return frame(QJsonObject{{QStringLiteral("jsonrpc"), QStringLiteral("2.0")}, {QStringLiteral("id"), id.toJson()},
                             {QStringLiteral("error"), error.toJson()}});
}

QString formatBytes(qint64 bytes)
{
    if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0)
        return QStringLiteral("%1 MiB").arg(bytes / (1024 * 1024));
    if (bytes >= 1000 * 1000)
        return QStringLiteral("%1 MB").arg(double(bytes) / 1e6, 0, 'f', 1);
    if (bytes >= 1024 && bytes % 1024 == 0)
        return QStringLiteral("%1 KiB").arg(bytes / 1024);
    return QStringLiteral("%1 bytes").arg(bytes);
}

} // namespace airlock::agent
