#pragma once

#include "agent/acpclient.h"
#include "agent/agentcatalogue.h"
#include "testhandler.h"

#include <QDir>
#include <QFutureWatcher>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <optional>

namespace agenttest {

// Waits for a future on the event loop (never a sleep); nullopt when it did not finish in time.
template<typename T>
std::optional<T> await(const QFuture<T> &future, int timeoutMs = 30000)
{
    if (!future.isFinished()) {
        QFutureWatcher<T> watcher;
        QSignalSpy finished(&watcher, &QFutureWatcherBase::finished);
        watcher.setFuture(future);
        if (!future.isFinished())
            finished.wait(timeoutMs);
    }
    if (!future.isFinished() || future.isCanceled() || future.resultCount() == 0)
        return std::nullopt;
    return future.result();
}

inline QString demoAgentPath()
{
#ifdef AIRLOCK_DEMO_AGENT_PATH
    return QStringLiteral(AIRLOCK_DEMO_AGENT_PATH);
#else
    return {};
#endif
}

// Everything a client reported, in order.
struct Recorder {
    QList<airlock::agent::acp::SessionUpdate> updates;
    QList<airlock::Error> rejected;
    QList<QJsonObject> rejectedRaw;
    QList<airlock::Error> protocolErrors;
    QList<std::pair<airlock::agent::acp::ToolCall, bool>> toolCalls; // (call, created)
    QList<airlock::Error> disconnects;
    QStringList stderrLines;

    explicit Recorder(airlock::agent::AcpClient &client)
    {
        using airlock::agent::AcpClient;
        QObject::connect(&client, &AcpClient::sessionUpdate, &client,
                         [this](const airlock::agent::acp::SessionUpdate &u) { updates.append(u); });
        QObject::connect(&client, &AcpClient::updateRejected, &client,
                         [this](const QString &, const airlock::Error &e, const QJsonObject &raw) {
                             rejected.append(e);
                             rejectedRaw.append(raw);
                         });
        QObject::connect(&client, &AcpClient::protocolError, &client,
                         [this](const airlock::Error &e) { protocolErrors.append(e); });
        QObject::connect(&client, &AcpClient::toolCallChanged, &client,
                         [this](const QString &, const airlock::agent::acp::ToolCall &c, bool created) {
                             toolCalls.append({c, created});
                         });
        QObject::connect(&client, &AcpClient::disconnected, &client,
                         [this](const airlock::Error &e) { disconnects.append(e); });
        QObject::connect(&client, &AcpClient::agentStderr, &client, [this](const QString &l) { stderrLines.append(l); });
    }

    QList<airlock::agent::acp::SessionUpdate> ofKind(airlock::agent::acp::SessionUpdate::Kind kind) const
    {
        QList<airlock::agent::acp::SessionUpdate> out;
        for (const auto &u : updates)
            if (u.kind == kind)
                out.append(u);
        return out;
    }
    // The agent's message text, chunks joined.
    QString agentText(const QString &sessionId = {}) const
    {
        QString text;
        for (const auto &u : updates)
            if (u.kind == airlock::agent::acp::SessionUpdate::Kind::AgentMessageChunk
                && (sessionId.isEmpty() || u.sessionId == sessionId))
                text += std::get<airlock::agent::acp::MessageChunk>(u.data).content.text;
        return text;
    }
    QString protocolText() const
    {
        QStringList all;
        for (const auto &e : protocolErrors)
            all.append(e.message);
        return all.join(u'\n');
    }
};

// The error of a failed Result as text for QVERIFY2, which evaluates its message even on success.
template<typename R>
QByteArray why(const R &r)
{
    return r ? QByteArray() : r.error().message.toUtf8();
}

inline QByteArray fileBytes(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// A fresh copy of the demo workspace in dir.
inline QString copyWorkspace(const QTemporaryDir &dir, const QString &name = QStringLiteral("workspace"))
{
    qputenv("AIRLOCK_DEMO_WORKSPACE", QByteArray(AIRLOCK_TEST_SOURCE_DIR "/resources/demo-workspace"));
    auto copied = airlock::agent::copyDemoWorkspace(dir.filePath(name));
    return copied ? QFileInfo(*copied).canonicalFilePath() : QString();
}

inline airlock::agent::AgentLaunch demoLaunch(const QString &workspace, const QStringList &args = {})
{
    airlock::agent::AgentLaunch launch;
    launch.program = demoAgentPath();
    launch.arguments = args;
    launch.environment = QProcessEnvironment::systemEnvironment();
    launch.workingDirectory = workspace;
    return launch;
}

} // namespace agenttest
