#pragma once

#include "error.h"

#include <QByteArray>
#include <QJsonObject>
#include <QJsonValue>
#include <QString>

#include <expected>
#include <optional>
#include <variant>

// JSON-RPC 2.0 as ACP uses it: one JSON object per line, no batches. This header holds the message
// values and the strict reader; jsonrpcconnection.h holds the transport.
namespace airlock::agent {

namespace rpc {
inline constexpr int ParseError = -32700;
inline constexpr int InvalidRequest = -32600;
inline constexpr int MethodNotFound = -32601;
inline constexpr int InvalidParams = -32602;
inline constexpr int InternalError = -32603;
inline constexpr int RequestCancelled = -32800; // ACP's answer to $/cancel_request
inline constexpr int AuthRequired = -32000;     // ACP
inline constexpr int ResourceNotFound = -32002; // ACP

// Codes for failures raised on this side (RpcError::local); they never travel on the wire.
inline constexpr int TimedOut = -1;
inline constexpr int ConnectionClosed = -2;
inline constexpr int SendFailed = -3;

inline constexpr auto CancelRequestMethod = "$/cancel_request";
} // namespace rpc

struct RpcError {
    int code = rpc::InternalError;
    QString message;
    QJsonValue data; // undefined when absent
    bool local = false; // raised here (timeout, closed connection), not sent by the peer

    QJsonObject toJson() const;
    // An Error a user can act on, naming the method: "session/prompt failed: … (JSON-RPC error -32603)".
    // Codes map to ErrorCode as: parse/invalid request/params → InvalidArgument, method or resource
    // not found → NotFound, cancelled → Cancelled, everything else → Io.
    Error toError(const QString &method, const QString &peer = QStringLiteral("the agent")) const;
    // The JSON-RPC error a handler's Error becomes on the wire (the inverse of the mapping above).
    static RpcError fromError(const Error &error);
};

using RpcResult = std::expected<QJsonValue, RpcError>;

// A request id as it came: an integer or a string (ACP's RequestId; null is refused for requests).
struct RpcId {
    std::variant<std::monostate, qint64, QString> value;

    bool isNull() const { return std::holds_alternative<std::monostate>(value); }
    QJsonValue toJson() const;
    // "7" or "\"abc\"": unique across both kinds, for maps and messages.
    QString key() const;
    static RpcId fromJson(const QJsonValue &v, bool *ok);
    friend bool operator==(const RpcId &, const RpcId &) = default;
};

struct RpcMessage {
    enum class Type { Request, Notification, Response };
    Type type = Type::Notification;
    RpcId id;            // Request, Response (null for a response to something unreadable)
    QString method;      // Request, Notification
    QJsonValue params;   // object, array or undefined
    QJsonValue result;   // Response, on success
    std::optional<RpcError> error; // Response, on failure
};

// What is wrong with a line, as the JSON-RPC error to answer it with. id is the request's id when it
// could be read, so the peer learns which of its requests was refused.
struct RpcParseFailure {
    RpcError error;
    RpcId id;
    bool answerable = true; // false for a broken response: a response is never answered
};

// Strict: the line must be one JSON object with "jsonrpc":"2.0" and exactly the members its kind
// allows in the types JSON-RPC gives them. Unknown extra members are ignored for forward
// compatibility. Batches (arrays) are refused; ACP does not use them.
std::expected<RpcMessage, RpcParseFailure> parseRpcMessage(QByteArrayView line);

QByteArray encodeRequest(qint64 id, const QString &method, const QJsonValue &params);
QByteArray encodeNotification(const QString &method, const QJsonValue &params);
QByteArray encodeResult(const RpcId &id, const QJsonValue &result);
QByteArray encodeError(const RpcId &id, const RpcError &error);

// "16 MiB", "50.0 MB" style sizes for messages.
QString formatBytes(qint64 bytes);

} // namespace airlock::agent
