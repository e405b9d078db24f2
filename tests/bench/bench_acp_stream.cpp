// How fast the ACP client takes in session/update notifications: a synthetic agent
// (airlock-demo-agent --flood N) streams N updates over a real pipe, and the same N lines are fed to
// a client in memory (parsing, typing and folding only, no pipe, no agent).
//
//   bench_acp_stream [N] [--agent PATH]     (default N = 100000; the agent from the build tree)
#include "agent/acpclient.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QJsonDocument>
#include <QTemporaryDir>

#include <cstdio>

using namespace airlock::agent;

namespace {

template<typename T>
T wait(const QFuture<T> &future)
{
    if (!future.isFinished()) {
        QFutureWatcher<T> watcher;
        QEventLoop loop;
        QObject::connect(&watcher, &QFutureWatcherBase::finished, &loop, &QEventLoop::quit);
        watcher.setFuture(future);
        if (!future.isFinished())
            loop.exec();
    }
    return future.result();
}

QString peakMemory()
{
    QFile f(QStringLiteral("/proc/self/status"));
    if (!f.open(QIODevice::ReadOnly))
        return QStringLiteral("?");
    for (const QByteArray &line : f.readAll().split('\n'))
        if (line.startsWith("VmHWM:"))
            return QString::fromLatin1(line.mid(6).simplified());
    return QStringLiteral("?");
}

void report(const char *what, int n, qint64 ns)
{
    std::printf("%-46s %8d updates in %8.1f ms = %9.0f updates/s\n", what, n, double(ns) / 1e6, n / (double(ns) / 1e9));
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QStringList args = QCoreApplication::arguments().mid(1);
    QString agent = qEnvironmentVariable("AIRLOCK_DEMO_AGENT");
    if (const qsizetype at = args.indexOf(QStringLiteral("--agent")); at >= 0 && at + 1 < args.size()) {
        agent = args.at(at + 1);
        args.remove(at, 2);
    }
    if (agent.isEmpty())
        agent = QCoreApplication::applicationDirPath() + QStringLiteral("/../../app/airlock-demo-agent/airlock-demo-agent");
    agent = QFileInfo(agent).absoluteFilePath();
    const int n = args.isEmpty() ? 100000 : args.first().toInt();
    if (n <= 0 || !QFileInfo(agent).isExecutable()) {
        std::fprintf(stderr, "usage: bench_acp_stream [N] [--agent PATH-TO-airlock-demo-agent]\n");
        return 2;
    }
    QTemporaryDir dir;

    // 1. End to end: agent process → pipe → JSON-RPC framing → typed update → session state.
    AcpClient client;
    int updates = 0;
    QObject::connect(&client, &AcpClient::sessionUpdate, [&](const acp::SessionUpdate &) { ++updates; });
    AgentLaunch launch{agent, {QStringLiteral("--flood"), QString::number(n)}, QProcessEnvironment::systemEnvironment(), dir.path()};
    client.start(launch);
    const auto init = wait(client.initialize());
    const auto session = init ? wait(client.newSession(dir.path())) : std::unexpected(init.error());
    if (!session) {
        std::fprintf(stderr, "the agent did not start: %s\n", qPrintable(session.error().message));
        return 1;
    }
    updates = 0;
    QElapsedTimer t;
    t.start();
    const auto result = wait(client.prompt(session->sessionId, {acp::ContentBlock::fromText(QStringLiteral("go"))}));
    const qint64 pipeNs = t.nsecsElapsed();
    if (!result) {
        std::fprintf(stderr, "the turn failed: %s\n", qPrintable(result.error().message));
        return 1;
    }
    report("agent process over a pipe (end to end)", updates, pipeNs);

    // 2. The client alone: the same kind of lines, fed from memory.
    QList<QByteArray> lines;
    lines.reserve(n);
    for (int i = 0; i < n; ++i) {
        const QJsonObject update = i % 2 == 0
            ? QJsonObject{{QStringLiteral("sessionUpdate"), QStringLiteral("agent_message_chunk")},
                          {QStringLiteral("content"), QJsonObject{{QStringLiteral("type"), QStringLiteral("text")}, {QStringLiteral("text"), QStringLiteral("chunk %1 ").arg(i)}}}}
            : QJsonObject{{QStringLiteral("sessionUpdate"), QStringLiteral("tool_call_update")}, {QStringLiteral("toolCallId"), QStringLiteral("flood-1")},
                          {QStringLiteral("status"), QStringLiteral("in_progress")}, {QStringLiteral("rawOutput"), QJsonObject{{QStringLiteral("step"), i}}}};
        lines.append(QJsonDocument(QJsonObject{{QStringLiteral("jsonrpc"), QStringLiteral("2.0")}, {QStringLiteral("method"), QStringLiteral("session/update")},
                                               {QStringLiteral("params"), QJsonObject{{QStringLiteral("sessionId"), QStringLiteral("mem")}, {QStringLiteral("update"), update}}}})
                         .toJson(QJsonDocument::Compact) + '\n');
    }
    AcpClient memory;
    memory.connection().setWriter([](const QByteArray &) { return true; });
    int seen = 0;
    QObject::connect(&memory, &AcpClient::sessionUpdate, [&](const acp::SessionUpdate &) { ++seen; });
    auto open = memory.newSession(dir.path());
    memory.connection().receive("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"sessionId\":\"mem\"}}\n");
    t.restart();
    for (const QByteArray &line : std::as_const(lines))
        memory.connection().receive(line);
    report("client alone (framing, parsing, state)", seen, t.nsecsElapsed());
    std::printf("peak resident memory: %s\n", qPrintable(peakMemory()));
    client.stop(1000);
    return 0;
}
