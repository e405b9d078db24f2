#pragma once

#include "agent/jsonrpcconnection.h"

#include <QJsonArray>
#include <QObject>
#include <QPointer>

#include <functional>
#include <map>
#include <memory>

namespace demo {

// What the command line asked for: pacing, persistence, and the ways to misbehave.
struct Options {
    int paceMs = 0;
    QString stateDir;        // where session histories are kept for session/load; memory only if empty
    bool requireAuth = false;
    bool garbage = false;    // junk lines and malformed messages in the middle of a turn
    bool wrongTypes = false; // session/updates with fields of the wrong type
    bool unknownUpdates = false;
    bool repeatToolCall = false; // announce the same tool call id twice
    int hugeMessageMB = 0;   // one agent_message_chunk this many MB long
    bool crashMidTurn = false;
    enum class Silence { None, Initialize, Prompt } silence = Silence::None;
    int flood = 0;           // a turn that is only this many updates, as fast as they go
    QString script;          // a turn that is the steps of this JSON file (demoscript.cpp)
};

class Turn;

struct Session {
    QString id;
    QString cwd;
    QString mode = QStringLiteral("ask");
    QString verbosity = QStringLiteral("normal");
    bool upstreamCheck = true;
    bool titled = false;
    bool alwaysAllowEdits = false;
    bool neverEdit = false;
    quint64 tokens = 0;
    QPointer<Turn> turn;
    QList<QJsonObject> history; // every update sent, user prompts included, for session/load
};

// The ACP agent side of airlock-demo-agent: sessions, modes, config options, history and replay.
// The turn itself is scripted in Turn.
class Agent : public QObject
{
    Q_OBJECT
public:
    using RawWriter = std::function<void(const QByteArray &)>;
    Agent(const Options &options, airlock::agent::JsonRpcConnection *rpc, RawWriter raw, QObject *parent = nullptr);

    const Options &options() const { return m_options; }
    airlock::agent::JsonRpcConnection *rpc() const { return m_rpc; }
    void writeRaw(const QByteArray &bytes) const { m_raw(bytes); }
    // Sends a session/update (unless echo is false) and keeps it for replay.
    void sendUpdate(Session &session, const QJsonObject &update, bool echo = true);
    QJsonObject modeState(const Session &session) const;
    QJsonArray configOptions(const Session &session) const;

private:
    void onInitialize(const QJsonValue &params, const airlock::agent::RpcResponder &r);
    void onAuthenticate(const QJsonValue &params, const airlock::agent::RpcResponder &r);
    void onNewSession(const QJsonValue &params, const airlock::agent::RpcResponder &r);
    void onLoadSession(const QJsonValue &params, const airlock::agent::RpcResponder &r);
    void onPrompt(const QJsonValue &params, const airlock::agent::RpcResponder &r);
    void onCancel(const QJsonValue &params);
    void onSetMode(const QJsonValue &params, const airlock::agent::RpcResponder &r);
    void onSetConfigOption(const QJsonValue &params, const airlock::agent::RpcResponder &r);
    Session *findSession(const QJsonValue &params, const airlock::agent::RpcResponder &r);
    bool authorised(const airlock::agent::RpcResponder &r) const;
    void persist(const Session &session, const QJsonObject &update) const;
    bool restore(Session &session) const;

    Options m_options;
    airlock::agent::JsonRpcConnection *m_rpc;
    RawWriter m_raw;
    std::map<QString, std::unique_ptr<Session>> m_sessions;
    bool m_authenticated = false;
    bool m_mute = false; // --silence reached: answer nothing, send nothing
    QList<airlock::agent::RpcResponder> m_silenced; // held unanswered (a dropped one would be answered)
    int m_nextSession = 1;
};

} // namespace demo
