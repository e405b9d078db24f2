// The ways airlock-demo-agent can be told to misbehave, and its flood mode for benchmarks.
#include "demoturn.h"

#include <QJsonDocument>

#include <csignal>
#include <unistd.h>

using airlock::agent::RpcResult;

namespace demo {

namespace {

QByteArray notification(const QString &sessionId, const QJsonObject &update)
{
    return QJsonDocument(QJsonObject{{QStringLiteral("jsonrpc"), QStringLiteral("2.0")},
                                     {QStringLiteral("method"), QStringLiteral("session/update")},
                                     {QStringLiteral("params"), QJsonObject{{QStringLiteral("sessionId"), sessionId},
                                                                            {QStringLiteral("update"), update}}}})
               .toJson(QJsonDocument::Compact)
        + '\n';
}

} // namespace

void Turn::misbehave()
{
    const Options &o = m_agent->options();
    const QString sid = m_session.id;
    if (o.garbage) {
        // Lines a client must answer with parse or invalid-request errors and otherwise survive.
        static const char *const junk[] = {
            "this is not JSON at all\n",
            "{\"jsonrpc\":\"2.0\",\"method\":\n",
            "[{\"jsonrpc\":\"2.0\",\"method\":\"session/update\"}]\n",
            "{\"jsonrpc\":\"1.0\",\"id\":901,\"method\":\"fs/read_text_file\",\"params\":{}}\n",
            "{\"jsonrpc\":\"2.0\",\"id\":{\"nested\":true},\"method\":\"fs/read_text_file\"}\n",
            "{\"jsonrpc\":\"2.0\",\"id\":9999,\"result\":{}}\n",
            "\"just a string\"\n",
            "\xff\xfe garbage bytes \x01\x02\n",
            "\n",
        };
        for (const char *line : junk)
            m_agent->writeRaw(QByteArray(line));
        // A request for a method the client does not have, and one with params of the wrong type:
        // both must come back as errors, not silence.
        call(QStringLiteral("demo/no_such_method"), {}, [this](const RpcResult &r) {
            say(r ? QStringLiteral(" (the client answered a method it should not know)")
                  : QStringLiteral(" (the client refused my unknown method: %1)").arg(r.error().code));
        });
        call(QStringLiteral("fs/read_text_file"), QJsonObject{{QStringLiteral("path"), 42}}, [this](const RpcResult &r) {
            say(r ? QStringLiteral(" (the client read a file with a numeric path)")
                  : QStringLiteral(" (the client refused a numeric path: %1)").arg(r.error().code));
        });
    }
    if (o.wrongTypes) {
        auto send = [&](const QJsonObject &u) { m_agent->writeRaw(notification(sid, u)); };
        // Required fields of the wrong type: each update must be refused on its own.
        send(QJsonObject{{QStringLiteral("sessionUpdate"), QStringLiteral("tool_call")}, {QStringLiteral("toolCallId"), QStringLiteral("bad-1")},
                         {QStringLiteral("title"), 42}});
        send(QJsonObject{{QStringLiteral("sessionUpdate"), QStringLiteral("plan")}, {QStringLiteral("entries"), QStringLiteral("not a list")}});
        send(QJsonObject{{QStringLiteral("sessionUpdate"), QStringLiteral("usage_update")}, {QStringLiteral("used"), QStringLiteral("many")},
                         {QStringLiteral("size"), 10}});
        send(QJsonObject{{QStringLiteral("sessionUpdate"), QStringLiteral("agent_message_chunk")},
                         {QStringLiteral("content"), QJsonObject{{QStringLiteral("type"), QStringLiteral("text")}, {QStringLiteral("text"), 7}}}});
        m_agent->writeRaw(QByteArrayLiteral("{\"jsonrpc\":\"2.0\",\"method\":\"session/update\",\"params\":{\"sessionId\":5}}\n"));
        // Optional fields of the wrong type: the update is kept, the field falls back to its default.
        send(QJsonObject{{QStringLiteral("sessionUpdate"), QStringLiteral("tool_call")}, {QStringLiteral("toolCallId"), QStringLiteral("odd-1")},
                         {QStringLiteral("title"), QStringLiteral("Oddly typed tool call")}, {QStringLiteral("status"), 5},
                         {QStringLiteral("kind"), QStringLiteral("teleport")}, {QStringLiteral("locations"), QStringLiteral("here")}});
    }
    if (o.unknownUpdates) {
        m_agent->writeRaw(notification(sid, QJsonObject{{QStringLiteral("sessionUpdate"), QStringLiteral("hologram_projection")},
                                                        {QStringLiteral("intensity"), 11}}));
        m_agent->writeRaw(notification(sid, QJsonObject{{QStringLiteral("sessionUpdate"), QStringLiteral("notice")},
                                                        {QStringLiteral("message"), QStringLiteral("from a newer protocol")}}));
        m_agent->rpc()->notify(QStringLiteral("_demo/extension"), QJsonObject{{QStringLiteral("hello"), true}});
    }
    if (o.hugeMessageMB > 0) {
        // Written in pieces, as a real agent's big output would arrive.
        const QByteArray head = QByteArrayLiteral("{\"jsonrpc\":\"2.0\",\"method\":\"session/update\",\"params\":{\"sessionId\":\"")
            + sid.toUtf8() + QByteArrayLiteral("\",\"update\":{\"sessionUpdate\":\"agent_message_chunk\",\"content\":{\"type\":\"text\",\"text\":\"");
        m_agent->writeRaw(head);
        const QByteArray piece(1024 * 1024, 'x');
        for (int i = 0; i < o.hugeMessageMB; ++i)
            m_agent->writeRaw(piece);
        m_agent->writeRaw(QByteArrayLiteral("\"}}}}\n"));
    }
}

void Turn::crash()
{
    // Half a message, then gone without a word: what a segfault in the middle of a write looks like.
    m_agent->writeRaw(QByteArrayLiteral("{\"jsonrpc\":\"2.0\",\"method\":\"session/update\",\"params\":{\"sessionId\":\""));
    ::raise(SIGKILL);
}

void Turn::flood()
{
    // Built as bytes and written in large batches: this mode measures the client, not the agent.
    const int n = m_agent->options().flood;
    toolCall(QStringLiteral("flood-1"), QStringLiteral("A busy tool"), QStringLiteral("other"));
    const QByteArray head = QByteArrayLiteral("{\"jsonrpc\":\"2.0\",\"method\":\"session/update\",\"params\":{\"sessionId\":\"")
        + m_session.id.toUtf8() + QByteArrayLiteral("\",\"update\":");
    QByteArray batch;
    batch.reserve(256 * 1024);
    for (int i = 0; i < n; ++i) {
        batch += head;
        if (i % 2 == 0)
            batch += QByteArrayLiteral("{\"sessionUpdate\":\"agent_message_chunk\",\"content\":{\"type\":\"text\",\"text\":\"chunk ")
                + QByteArray::number(i) + QByteArrayLiteral(" \"}}}}\n");
        else
            batch += QByteArrayLiteral("{\"sessionUpdate\":\"tool_call_update\",\"toolCallId\":\"flood-1\",\"status\":\"in_progress\","
                                       "\"rawOutput\":{\"step\":")
                + QByteArray::number(i) + QByteArrayLiteral("}}}}\n");
        if (batch.size() > 240 * 1024) {
            m_agent->writeRaw(batch);
            batch.clear();
        }
    }
    m_agent->writeRaw(batch);
    m_outTokens += quint64(n);
    finish(QStringLiteral("end_turn"));
}

} // namespace demo
