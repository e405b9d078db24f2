// JSON-RPC 2.0 framing over newline-delimited streams: the error table for malformed input, id
// spaces, cancellation, timeouts, size caps (a 50 MB line included) and the end of the stream.
#include "agent/jsonrpcconnection.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QSignalSpy>
#include <QTest>
#include <QTimer>

using namespace airlock;
using namespace airlock::agent;

namespace {

// A connection whose output is captured and whose input is fed by the test.
struct Wire {
    JsonRpcConnection rpc;
    QList<QJsonObject> sent;
    qint64 backlog = 0;

    Wire()
    {
        rpc.setWriter(
            [this](const QByteArray &bytes) {
                const QList<QByteArray> lines = bytes.split('\n');
                for (const QByteArray &line : lines)
                    if (!line.isEmpty())
                        sent.append(QJsonDocument::fromJson(line).object());
                return true;
            },
            [this] { return backlog; });
        rpc.handleRequest(QStringLiteral("echo"), [](const QJsonValue &p, const RpcResponder &r) { r.respond(p); });
    }
    void feed(const QByteArray &line) { rpc.receive(QByteArray(line + '\n')); }
    QJsonObject last() const { return sent.isEmpty() ? QJsonObject() : sent.last(); }
};

QByteArray json(const QJsonObject &o)
{
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

} // namespace

class TestJsonRpc : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void malformedInputGetsTheRightError_data()
    {
        QTest::addColumn<QByteArray>("line");
        QTest::addColumn<int>("code");   // 0: no answer at all
        QTest::addColumn<QJsonValue>("id"); // the id the error carries

        const QJsonValue null(QJsonValue::Null);
        QTest::newRow("not json") << QByteArray("this is not json") << -32700 << null;
        QTest::newRow("truncated object") << QByteArray("{\"jsonrpc\":\"2.0\",\"method\":") << -32700 << null;
        QTest::newRow("trailing garbage") << QByteArray("{\"jsonrpc\":\"2.0\",\"method\":\"m\"} x") << -32700 << null;
        QTest::newRow("invalid utf-8") << QByteArray("{\"jsonrpc\":\"2.0\",\"method\":\"\xff\xfe\"}") << -32700 << null;
        QTest::newRow("deep nesting") << QByteArray(100000, '[') << -32700 << null;
        QTest::newRow("batch") << QByteArray("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\"}]") << -32600 << null;
        QTest::newRow("empty batch") << QByteArray("[]") << -32600 << null;
        QTest::newRow("number") << QByteArray("42") << -32600 << null;
        QTest::newRow("string") << QByteArray("\"hello\"") << -32600 << null;
        QTest::newRow("null") << QByteArray("null") << -32600 << null;
        QTest::newRow("no version") << QByteArray("{\"id\":1,\"method\":\"echo\"}") << -32600 << QJsonValue(1);
        QTest::newRow("wrong version") << QByteArray("{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"echo\"}") << -32600 << QJsonValue(1);
        QTest::newRow("numeric version") << QByteArray("{\"jsonrpc\":2.0,\"id\":\"a\",\"method\":\"echo\"}") << -32600 << QJsonValue(QStringLiteral("a"));
        QTest::newRow("method not a string") << QByteArray("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}") << -32600 << QJsonValue(1);
        QTest::newRow("empty method") << QByteArray("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\"}") << -32600 << QJsonValue(1);
        QTest::newRow("scalar params") << QByteArray("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":5}") << -32600 << QJsonValue(1);
        QTest::newRow("object id") << QByteArray("{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"echo\"}") << -32600 << null;
        QTest::newRow("fractional id") << QByteArray("{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"echo\"}") << -32600 << null;
        QTest::newRow("null request id") << QByteArray("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"echo\"}") << -32600 << null;
        QTest::newRow("huge id") << QByteArray("{\"jsonrpc\":\"2.0\",\"id\":1e300,\"method\":\"echo\"}") << -32600 << null;
        QTest::newRow("method and result") << QByteArray("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"result\":1}") << -32600 << QJsonValue(1);
        QTest::newRow("nothing to do") << QByteArray("{\"jsonrpc\":\"2.0\"}") << -32600 << null;
        QTest::newRow("unknown method") << QByteArray("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"nope\"}") << -32601 << QJsonValue(7);
        QTest::newRow("unknown method, string id") << QByteArray("{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"nope\"}") << -32601 << QJsonValue(QStringLiteral("x"));
        // Responses are never answered, however broken; they are only reported.
        QTest::newRow("result and error") << QByteArray("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1,\"error\":{\"code\":1,\"message\":\"m\"}}") << 0 << null;
        QTest::newRow("error not an object") << QByteArray("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":\"bad\"}") << 0 << null;
        QTest::newRow("error code not integer") << QByteArray("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":\"x\",\"message\":\"m\"}}") << 0 << null;
        QTest::newRow("response without id") << QByteArray("{\"jsonrpc\":\"2.0\",\"result\":{}}") << 0 << null;
        QTest::newRow("response to nothing") << QByteArray("{\"jsonrpc\":\"2.0\",\"id\":77,\"result\":{}}") << 0 << null;
        QTest::newRow("response, bad version") << QByteArray("{\"jsonrpc\":\"3\",\"id\":77,\"result\":{}}") << 0 << null;
    }

    void malformedInputGetsTheRightError()
    {
        QFETCH(QByteArray, line);
        QFETCH(int, code);
        QFETCH(QJsonValue, id);
        Wire w;
        QSignalSpy errors(&w.rpc, &JsonRpcConnection::protocolError);
        w.feed(line);
        QCOMPARE(errors.size(), 1);
        QVERIFY(!errors.first().first().value<Error>().message.isEmpty());
        if (code == 0) {
            QVERIFY2(w.sent.isEmpty(), json(w.last()).constData());
        } else {
            QCOMPARE(w.sent.size(), 1);
            QCOMPARE(w.last().value(QLatin1String("jsonrpc")).toString(), QStringLiteral("2.0"));
            QCOMPARE(w.last().value(QLatin1String("error")).toObject().value(QLatin1String("code")).toInt(), code);
            QCOMPARE(w.last().value(QLatin1String("id")), id);
        }
        // The connection carries on as if nothing happened.
        w.feed("{\"jsonrpc\":\"2.0\",\"id\":100,\"method\":\"echo\",\"params\":{\"still\":\"here\"}}");
        QVERIFY(w.rpc.isOpen());
        QCOMPARE(w.last().value(QLatin1String("id")).toInt(), 100);
        QCOMPARE(w.last().value(QLatin1String("result")).toObject().value(QLatin1String("still")).toString(), QStringLiteral("here"));
    }

    void blankLinesAndCrlfAreFine()
    {
        Wire w;
        QSignalSpy errors(&w.rpc, &JsonRpcConnection::protocolError);
        w.rpc.receive("\n\r\n   \n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":[1]}\r\n");
        QCOMPARE(errors.size(), 0);
        QCOMPARE(w.sent.size(), 1);
        QCOMPARE(w.last().value(QLatin1String("result")).toArray(), QJsonArray{1});
    }

    void messagesSplitAndJoinedAnyWay()
    {
        Wire w;
        QByteArray stream;
        for (int i = 1; i <= 20; ++i)
            stream += "{\"jsonrpc\":\"2.0\",\"id\":" + QByteArray::number(i) + ",\"method\":\"echo\",\"params\":{\"n\":" + QByteArray::number(i) + "}}\n";
        for (char c : stream) // one byte at a time
            w.rpc.receive(QByteArrayView(&c, 1));
        w.rpc.receive(stream); // and all at once
        QCOMPARE(w.sent.size(), 40);
        QCOMPARE(w.sent.at(19).value(QLatin1String("id")).toInt(), 20);
        QCOMPARE(w.rpc.bufferedBytes(), 0);
    }

    void callsAndResponses()
    {
        Wire w;
        std::optional<RpcResult> got;
        const qint64 id = w.rpc.call(QStringLiteral("do"), QJsonObject{{QStringLiteral("x"), 1}},
                                     [&](const RpcResult &r) { got = r; });
        QCOMPARE(id, 1);
        QCOMPARE(w.last().value(QLatin1String("method")).toString(), QStringLiteral("do"));
        QCOMPARE(w.last().value(QLatin1String("id")).toInt(), 1);
        QCOMPARE(w.rpc.pendingCalls(), 1);
        w.feed("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"ok\":true}}");
        QVERIFY(got && got->has_value());
        QVERIFY((*got)->toObject().value(QLatin1String("ok")).toBool());
        QCOMPARE(w.rpc.pendingCalls(), 0);

        got.reset();
        w.rpc.call(QStringLiteral("do"), {}, [&](const RpcResult &r) { got = r; });
        w.feed("{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32000,\"message\":\"sign in\",\"data\":{\"why\":1}}}");
        QVERIFY(got && !got->has_value());
        QCOMPARE(got->error().code, -32000);
        QCOMPARE(got->error().message, QStringLiteral("sign in"));
        QCOMPARE(got->error().data.toObject().value(QLatin1String("why")).toInt(), 1);
        QVERIFY(!got->error().local);
        const Error e = got->error().toError(QStringLiteral("session/new"));
        QVERIFY2(e.message.contains(QLatin1String("session/new")) && e.message.contains(QLatin1String("-32000")),
                 qPrintable(e.message));

        // A late second answer to a finished call is dropped quietly.
        QSignalSpy errors(&w.rpc, &JsonRpcConnection::protocolError);
        w.feed("{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}");
        QCOMPARE(errors.size(), 0);
    }

    void idSpacesAreIndependent()
    {
        Wire w;
        std::optional<RpcResult> ours;
        w.rpc.call(QStringLiteral("ours"), {}, [&](const RpcResult &r) { ours = r; });
        // The peer numbers its own requests from 1 too; its request 1 is not our call 1.
        w.feed("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":{\"from\":\"peer\"}}");
        QVERIFY(!ours);
        QCOMPARE(w.last().value(QLatin1String("result")).toObject().value(QLatin1String("from")).toString(), QStringLiteral("peer"));
        w.feed("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"for us\"}");
        QVERIFY(ours && ours->has_value());
        QCOMPARE((*ours)->toString(), QStringLiteral("for us"));

        // 1 and "1" are different ids.
        QList<RpcResponder> held;
        w.rpc.handleRequest(QStringLiteral("hold"), [&](const QJsonValue &, const RpcResponder &r) { held.append(r); });
        w.feed("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"hold\"}");
        w.feed("{\"jsonrpc\":\"2.0\",\"id\":\"5\",\"method\":\"hold\"}");
        QCOMPARE(held.size(), 2);
        QCOMPARE(w.rpc.pendingIncoming(), 2);
        // The same id again while the first is pending is refused.
        w.feed("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"hold\"}");
        QCOMPARE(held.size(), 2);
        QCOMPARE(w.last().value(QLatin1String("error")).toObject().value(QLatin1String("code")).toInt(), -32600);
        held[1].respond(QStringLiteral("string five"));
        QCOMPARE(w.last().value(QLatin1String("id")).toString(), QStringLiteral("5"));
        held[0].respond(QStringLiteral("number five"));
        QCOMPARE(w.last().value(QLatin1String("id")).toInt(), 5);
        held[0].respond(QStringLiteral("twice")); // ignored
        QCOMPARE(w.last().value(QLatin1String("result")).toString(), QStringLiteral("number five"));
        QCOMPARE(w.rpc.pendingIncoming(), 0);
    }

    void notificationsAreNeverAnswered()
    {
        Wire w;
        QJsonValue seen;
        w.rpc.handleNotification(QStringLiteral("note"), [&](const QJsonValue &p) { seen = p; });
        w.feed("{\"jsonrpc\":\"2.0\",\"method\":\"note\",\"params\":{\"a\":1}}");
        w.feed("{\"jsonrpc\":\"2.0\",\"method\":\"unknown/note\"}");
        w.feed("{\"jsonrpc\":\"2.0\",\"method\":\"$/progress\",\"params\":{}}");
        QCOMPARE(seen.toObject().value(QLatin1String("a")).toInt(), 1);
        QVERIFY(w.sent.isEmpty());
        QVERIFY(w.rpc.notify(QStringLiteral("out"), QJsonObject{{QStringLiteral("b"), 2}}));
        QVERIFY(!w.last().contains(QLatin1String("id")));
    }

    void peerCancelsItsRequest()
    {
        Wire w;
        RpcResponder held;
        bool cancelled = false;
        w.rpc.handleRequest(QStringLiteral("slow"), [&](const QJsonValue &, const RpcResponder &r) {
            held = r;
            r.onCancelled([&] {
                cancelled = true;
                held.respondCancelled();
            });
        });
        w.feed("{\"jsonrpc\":\"2.0\",\"id\":\"job\",\"method\":\"slow\"}");
        QVERIFY(held.isPending());
        w.feed("{\"jsonrpc\":\"2.0\",\"method\":\"$/cancel_request\",\"params\":{\"requestId\":\"other\"}}");
        w.feed("{\"jsonrpc\":\"2.0\",\"method\":\"$/cancel_request\",\"params\":{\"requestId\":42}}");
        QVERIFY(!cancelled);
        w.feed("{\"jsonrpc\":\"2.0\",\"method\":\"$/cancel_request\",\"params\":{\"requestId\":\"job\"}}");
        QVERIFY(cancelled);
        QVERIFY(held.isCancelled());
        QCOMPARE(w.last().value(QLatin1String("id")).toString(), QStringLiteral("job"));
        QCOMPARE(w.last().value(QLatin1String("error")).toObject().value(QLatin1String("code")).toInt(), rpc::RequestCancelled);
        // Cancelling something already answered does nothing.
        w.feed("{\"jsonrpc\":\"2.0\",\"method\":\"$/cancel_request\",\"params\":{\"requestId\":\"job\"}}");
        QCOMPARE(w.sent.size(), 1);
    }

    void weCancelOurCall()
    {
        Wire w;
        std::optional<RpcResult> got;
        const qint64 id = w.rpc.call(QStringLiteral("long"), {}, [&](const RpcResult &r) { got = r; });
        QVERIFY(w.rpc.cancelCall(id));
        QCOMPARE(w.last().value(QLatin1String("method")).toString(), QStringLiteral("$/cancel_request"));
        QCOMPARE(w.last().value(QLatin1String("params")).toObject().value(QLatin1String("requestId")).toInt(), int(id));
        QVERIFY(!got); // still waiting for the peer's answer
        w.feed("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32800,\"message\":\"Request cancelled\"}}");
        QVERIFY(got && !got->has_value());
        QCOMPARE(got->error().toError(QStringLiteral("long")).code, ErrorCode::Cancelled);
        QVERIFY(!w.rpc.cancelCall(id));
    }

    void droppedRequestsAreStillAnswered()
    {
        Wire w;
        w.rpc.handleRequest(QStringLiteral("forget"), [](const QJsonValue &, const RpcResponder &) {});
        w.feed("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"forget\"}");
        QCOMPARE(w.last().value(QLatin1String("id")).toInt(), 3);
        QCOMPARE(w.last().value(QLatin1String("error")).toObject().value(QLatin1String("code")).toInt(), rpc::InternalError);
        QCOMPARE(w.rpc.pendingIncoming(), 0);
    }

    void tooManyRequestsInFlight()
    {
        Wire w;
        w.rpc.setLimits(RpcLimits{16 * 1024 * 1024, 2, 64 * 1024 * 1024, false});
        QList<RpcResponder> held;
        w.rpc.handleRequest(QStringLiteral("hold"), [&](const QJsonValue &, const RpcResponder &r) { held.append(r); });
        for (int i = 1; i <= 3; ++i)
            w.feed("{\"jsonrpc\":\"2.0\",\"id\":" + QByteArray::number(i) + ",\"method\":\"hold\"}");
        QCOMPARE(held.size(), 2);
        QCOMPARE(w.last().value(QLatin1String("id")).toInt(), 3);
        QCOMPARE(w.last().value(QLatin1String("error")).toObject().value(QLatin1String("code")).toInt(), rpc::InternalError);
    }

    void timeoutFailsTheCallAndTellsThePeer()
    {
        Wire w;
        std::optional<RpcResult> got;
        w.rpc.call(QStringLiteral("slow"), {}, [&](const RpcResult &r) { got = r; }, RpcCallOptions{50, false});
        QTRY_VERIFY_WITH_TIMEOUT(got.has_value(), 5000);
        QVERIFY(!got->has_value());
        QVERIFY(got->error().local);
        QCOMPARE(got->error().code, rpc::TimedOut);
        QCOMPARE(w.last().value(QLatin1String("method")).toString(), QStringLiteral("$/cancel_request"));
        QCOMPARE(w.rpc.pendingCalls(), 0);
    }

    void idleTimeoutCountsSilenceOnly()
    {
        Wire w;
        std::optional<RpcResult> got;
        w.rpc.call(QStringLiteral("turn"), {}, [&](const RpcResult &r) { got = r; }, RpcCallOptions{200, true});
        // Chatter every 40 ms for 600 ms keeps it alive well past its 200 ms.
        QTimer chatter;
        int ticks = 0;
        QObject::connect(&chatter, &QTimer::timeout, [&] {
            ++ticks;
            w.feed("{\"jsonrpc\":\"2.0\",\"method\":\"progress\"}");
        });
        chatter.start(40);
        QTRY_VERIFY_WITH_TIMEOUT(ticks >= 15, 5000);
        chatter.stop();
        QVERIFY(!got);
        // While the peer waits for our answer to its request, its silence does not count.
        RpcResponder held;
        w.rpc.handleRequest(QStringLiteral("ask"), [&](const QJsonValue &, const RpcResponder &r) { held = r; });
        w.feed("{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ask\"}");
        QTest::qWait(500); // three idle periods with the clock stopped; nothing must fire
        QVERIFY(!got);
        held.respond(true);
        QTRY_VERIFY_WITH_TIMEOUT(got.has_value(), 5000);
        QCOMPARE(got->error().code, rpc::TimedOut);
        QVERIFY(got->error().message.contains(QLatin1String("silent")));
    }

    void oversizedLineIsDroppedWhileStreaming()
    {
        // 50 MB in 64 KiB pieces against the default 16 MiB cap: never buffered past the cap.
        Wire w;
        QSignalSpy errors(&w.rpc, &JsonRpcConnection::protocolError);
        std::optional<RpcResult> pending;
        w.rpc.call(QStringLiteral("still-waiting"), {}, [&](const RpcResult &r) { pending = r; });
        const QByteArray head = "{\"jsonrpc\":\"2.0\",\"method\":\"note\",\"params\":{\"text\":\"";
        w.rpc.receive(head);
        const QByteArray piece(64 * 1024, 'x');
        qsizetype maxBuffered = 0;
        for (int i = 0; i < 50 * 1000 * 1000 / piece.size(); ++i) {
            w.rpc.receive(piece);
            maxBuffered = std::max(maxBuffered, w.rpc.bufferedBytes());
        }
        w.rpc.receive("\"}}\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":[\"after\"]}\n");
        QVERIFY(maxBuffered <= w.rpc.limits().maxMessageBytes);
        QCOMPARE(errors.size(), 1);
        const QString message = errors.first().first().value<Error>().message;
        QVERIFY2(message.contains(QLatin1String("16 MiB")), qPrintable(message));
        QCOMPARE(w.sent.at(1).value(QLatin1String("error")).toObject().value(QLatin1String("code")).toInt(), -32600);
        QCOMPARE(w.last().value(QLatin1String("result")).toArray(), QJsonArray{QStringLiteral("after")});
        QVERIFY(w.rpc.isOpen());
        QVERIFY(!pending); // the call is untouched
        QCOMPARE(w.rpc.bufferedBytes(), 0);
    }

    void oversizedLineCanCloseTheConnection()
    {
        Wire w;
        w.rpc.setLimits(RpcLimits{1024, 256, 64 * 1024 * 1024, true});
        QSignalSpy closed(&w.rpc, &JsonRpcConnection::closed);
        std::optional<RpcResult> pending;
        w.rpc.call(QStringLiteral("x"), {}, [&](const RpcResult &r) { pending = r; });
        w.rpc.receive(QByteArray(2000, 'y'));
        QCOMPARE(closed.size(), 1);
        QVERIFY(!w.rpc.isOpen());
        QVERIFY(pending && !pending->has_value());
        QCOMPARE(pending->error().code, rpc::ConnectionClosed);
        QVERIFY(pending->error().message.contains(QLatin1String("1 KiB")));
    }

    void capIsExact()
    {
        Wire w;
        w.rpc.setLimits(RpcLimits{200, 256, 64 * 1024 * 1024, false});
        QSignalSpy errors(&w.rpc, &JsonRpcConnection::protocolError);
        auto line = [](int size) {
            QByteArray l = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":[\"";
            const QByteArray tail = "\"]}";
            l += QByteArray(size - l.size() - tail.size(), 'a') + tail;
            return l;
        };
        w.feed(line(200));
        QCOMPARE(errors.size(), 0);
        QVERIFY(w.last().contains(QLatin1String("result")));
        w.feed(line(201));
        QCOMPARE(errors.size(), 1);
    }

    void ourOwnOversizedMessagesAreRefused()
    {
        Wire w;
        w.rpc.setLimits(RpcLimits{1024, 256, 64 * 1024 * 1024, false});
        std::optional<RpcResult> got;
        const qint64 id = w.rpc.call(QStringLiteral("big"), QJsonObject{{QStringLiteral("data"), QString(4096, u'z')}},
                                     [&](const RpcResult &r) { got = r; });
        QCOMPARE(id, 0);
        QVERIFY(got && !got->has_value());
        QCOMPARE(got->error().code, rpc::SendFailed);
        QVERIFY(w.sent.isEmpty());
        // An answer that would be too big becomes an error the peer can read.
        w.rpc.handleRequest(QStringLiteral("bigAnswer"), [](const QJsonValue &, const RpcResponder &r) {
            r.respond(QString(4096, u'z'));
        });
        w.feed("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"bigAnswer\"}");
        QCOMPARE(w.last().value(QLatin1String("error")).toObject().value(QLatin1String("code")).toInt(), rpc::InternalError);
    }

    void aPeerThatDoesNotReadIsNotFedForever()
    {
        Wire w;
        w.backlog = 100 * 1024 * 1024;
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("is not reading its input")));
        std::optional<RpcResult> got;
        QCOMPARE(w.rpc.call(QStringLiteral("x"), {}, [&](const RpcResult &r) { got = r; }), 0);
        QVERIFY(got && got->error().code == rpc::SendFailed);
        QVERIFY(w.sent.isEmpty());
    }

    void endOfStream_data()
    {
        QTest::addColumn<QByteArray>("tail");
        QTest::addColumn<bool>("handled");
        QTest::newRow("complete last line without newline") << QByteArray("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":5}") << true;
        QTest::newRow("truncated last line") << QByteArray("{\"jsonrpc\":\"2.0\",\"id\":1,\"res") << false;
    }

    void endOfStream()
    {
        QFETCH(QByteArray, tail);
        QFETCH(bool, handled);
        Wire w;
        QList<RpcResult> results;
        w.rpc.call(QStringLiteral("a"), {}, [&](const RpcResult &r) { results.append(r); });
        w.rpc.call(QStringLiteral("b"), {}, [&](const RpcResult &r) { results.append(r); });
        QSignalSpy errors(&w.rpc, &JsonRpcConnection::protocolError);
        QSignalSpy closed(&w.rpc, &JsonRpcConnection::closed);
        w.rpc.receive(tail);
        QVERIFY(results.isEmpty());
        w.rpc.finishInput(Error{ErrorCode::Io, QStringLiteral("the peer went away")});
        QCOMPARE(closed.size(), 1);
        QCOMPARE(results.size(), 2);
        QCOMPARE(results.first().has_value(), handled);
        QCOMPARE(errors.size(), handled ? 0 : 1);
        if (!handled)
            QVERIFY(errors.first().first().value<Error>().message.contains(QLatin1String("middle of a message")));
        QCOMPARE(results.last().error().code, rpc::ConnectionClosed);
        QCOMPARE(results.last().error().message, QStringLiteral("the peer went away"));
        // After the end, nothing more goes out and calls fail at once.
        std::optional<RpcResult> late;
        QCOMPARE(w.rpc.call(QStringLiteral("c"), {}, [&](const RpcResult &r) { late = r; }), 0);
        QVERIFY(late && !late->has_value());
        QVERIFY(!w.rpc.notify(QStringLiteral("n")));
    }

    void runsOnAnyDevice()
    {
        // cat hands every line back: our request returns to us as the peer's, our handler answers it,
        // and that answer returns as the response to our own call.
        const QString cat = QStandardPaths::findExecutable(QStringLiteral("cat"));
        if (cat.isEmpty())
            QSKIP("no cat on PATH to loop a pipe back");
        QProcess loop;
        loop.start(cat, {});
        QVERIFY(loop.waitForStarted());
        JsonRpcConnection rpc;
        rpc.setDevice(&loop);
        rpc.handleRequest(QStringLiteral("echo"), [](const QJsonValue &p, const RpcResponder &r) { r.respond(p); });
        std::optional<RpcResult> got;
        rpc.call(QStringLiteral("echo"), QJsonObject{{QStringLiteral("round"), QStringLiteral("trip")}},
                 [&](const RpcResult &r) { got = r; });
        QTRY_VERIFY_WITH_TIMEOUT(got.has_value(), 10000);
        QVERIFY(got->has_value());
        QCOMPARE((*got)->toObject().value(QLatin1String("round")).toString(), QStringLiteral("trip"));
        // The end of the device's input ends the connection.
        QSignalSpy closed(&rpc, &JsonRpcConnection::closed);
        loop.closeWriteChannel();
        QVERIFY(closed.wait(10000));
        QVERIFY(!rpc.isOpen());
        loop.waitForFinished();
    }

    void handlersMayCloseOrReenter()
    {
        Wire w;
        w.rpc.handleNotification(QStringLiteral("bye"), [&](const QJsonValue &) {
            w.rpc.close(Error{ErrorCode::Io, QStringLiteral("closed by a handler")});
        });
        // Two messages in one read: the second must not be handled after the first closed.
        w.rpc.receive("{\"jsonrpc\":\"2.0\",\"method\":\"bye\"}\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\"}\n");
        QVERIFY(!w.rpc.isOpen());
        QVERIFY(w.sent.isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestJsonRpc)
#include "tst_jsonrpc.moc"
