// The JSON-RPC framer and reader: a JsonRpcConnection fed the input as an agent's stdout, in pieces
// (see fuzzinput.h), with handlers that answer at once, hold a request, honour a cancel or close the
// connection, and three calls of its own waiting for answers.
//
// Properties: the line buffer never outgrows the size cap; every line the connection writes back is a
// message its own reader accepts; every call is answered exactly once by the time the input ends.
#include "fuzzinput.h"

#include "agent/jsonrpcconnection.h"

#include <QJsonObject>

#include <memory>
#include <vector>

using namespace airlock;
using namespace airlock::agent;

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    fuzz::initQt();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    auto connection = std::make_unique<JsonRpcConnection>();
    RpcLimits limits;
    limits.maxMessageBytes = 1024;
    limits.maxPendingIncoming = 4;
    limits.closeOnOversize = size > 0 && (data[0] & 0x80);
    connection->setLimits(limits);

    QByteArray written;
    connection->setWriter([&written](const QByteArray &bytes) {
        written.append(bytes);
        return true;
    });

    std::vector<RpcResponder> held;
    connection->handleRequest(QStringLiteral("echo"), [](const QJsonValue &params, const RpcResponder &r) {
        r.respond(params);
    });
    connection->handleRequest(QStringLiteral("hold"), [&held](const QJsonValue &, const RpcResponder &r) {
        held.push_back(r);
    });
    connection->handleRequest(QStringLiteral("cancelme"), [&held](const QJsonValue &, const RpcResponder &r) {
        // By index, not a copy: a copy in its own callback would keep the state alive forever.
        r.onCancelled([&held, index = held.size()] { held[index].respondCancelled(); });
        held.push_back(r);
    });
    connection->handleRequest(QStringLiteral("fail"), [](const QJsonValue &params, const RpcResponder &r) {
        r.respondError(rpc::InvalidParams, QStringLiteral("no"), params);
    });
    int notes = 0;
    connection->handleNotification(QStringLiteral("note"), [&notes](const QJsonValue &) { ++notes; });
    JsonRpcConnection *raw = connection.get();
    connection->handleNotification(QStringLiteral("bye"), [raw](const QJsonValue &) {
        raw->close(Error{ErrorCode::Io, QStringLiteral("bye")});
    });

    int answers[3] = {0, 0, 0};
    for (int i = 0; i < 3; ++i) {
        RpcCallOptions options;
        options.timeoutMs = i == 2 ? 60000 : 0;
        options.idleTimeout = i == 2;
        connection->call(QStringLiteral("session/prompt"), QJsonObject{{QStringLiteral("n"), i}},
                         [&answers, i](const RpcResult &) { ++answers[i]; }, options);
    }
    connection->cancelCall(2);

    for (const QByteArrayView piece : fuzz::pieces(data, size)) {
        connection->receive(piece);
        AIRLOCK_FUZZ_CHECK(connection->bufferedBytes() <= limits.maxMessageBytes);
    }
    connection->finishInput();
    AIRLOCK_FUZZ_CHECK(!connection->isOpen());
    for (const int n : answers)
        AIRLOCK_FUZZ_CHECK(n == 1);

    // Responders outliving their connection must be harmless.
    for (const RpcResponder &r : held)
        r.respond(QJsonValue(1));
    connection.reset();
    held.clear();

    for (const QByteArray &line : written.split('\n')) {
        if (line.isEmpty())
            continue;
        AIRLOCK_FUZZ_CHECK(parseRpcMessage(line).has_value());
    }
    fuzz::settle();
    return 0;
}
