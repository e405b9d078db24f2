#include "demoagent.h"

#include "demoturn.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>

using airlock::agent::RpcResponder;
namespace rpc = airlock::agent::rpc;

namespace demo {

namespace {

QString str(const char *s)
{
    return QString::fromLatin1(s);
}

} // namespace

Agent::Agent(const Options &options, airlock::agent::JsonRpcConnection *rpc, RawWriter raw, QObject *parent)
    : QObject(parent), m_options(options), m_rpc(rpc), m_raw(std::move(raw))
{
    m_rpc->setPeerName(QStringLiteral("the client"));
    auto on = [this](const char *method, void (Agent::*fn)(const QJsonValue &, const RpcResponder &)) {
        m_rpc->handleRequest(str(method), [this, fn](const QJsonValue &p, const RpcResponder &r) {
            if (!m_mute)
                (this->*fn)(p, r);
            else
                m_silenced.append(r); // held, so the client is never told: that is the point
        });
    };
    on("initialize", &Agent::onInitialize);
    on("authenticate", &Agent::onAuthenticate);
    on("session/new", &Agent::onNewSession);
    on("session/load", &Agent::onLoadSession);
    on("session/prompt", &Agent::onPrompt);
    on("session/set_mode", &Agent::onSetMode);
    on("session/set_config_option", &Agent::onSetConfigOption);
    m_rpc->handleNotification(QStringLiteral("session/cancel"), [this](const QJsonValue &p) { onCancel(p); });
}

void Agent::onInitialize(const QJsonValue &params, const RpcResponder &r)
{
    if (m_options.silence == Options::Silence::Initialize) {
        m_mute = true;
        m_silenced.append(r);
        return;
    }
    const int version = params.toObject().value(QLatin1String("protocolVersion")).toInt(-1);
    if (version < 0) {
        r.respondError(rpc::InvalidParams, QStringLiteral("Invalid params: protocolVersion is required"));
        return;
    }
    QJsonArray auth;
    if (m_options.requireAuth)
        auth.append(QJsonObject{{QStringLiteral("id"), QStringLiteral("demo-token")},
                                {QStringLiteral("name"), QStringLiteral("Demo sign-in")},
                                {QStringLiteral("description"), QStringLiteral("Any caller may sign in; it only "
                                                                               "shows the authenticate step")}});
    r.respond(QJsonObject{
        {QStringLiteral("protocolVersion"), 1},
        {QStringLiteral("agentCapabilities"),
         QJsonObject{{QStringLiteral("loadSession"), true},
                     {QStringLiteral("promptCapabilities"), QJsonObject{{QStringLiteral("image"), false},
                                                                        {QStringLiteral("audio"), false},
                                                                        {QStringLiteral("embeddedContext"), true}}}}},
        {QStringLiteral("authMethods"), auth},
        {QStringLiteral("agentInfo"), QJsonObject{{QStringLiteral("name"), QStringLiteral("airlock-demo-agent")},
                                                  {QStringLiteral("title"), QStringLiteral("Airlock demo agent")},
                                                  {QStringLiteral("version"), QStringLiteral(AIRLOCK_VERSION)}}},
    });
}

void Agent::onAuthenticate(const QJsonValue &params, const RpcResponder &r)
{
    if (params.toObject().value(QLatin1String("methodId")).toString() != QLatin1String("demo-token")) {
        r.respondError(rpc::InvalidParams, QStringLiteral("Invalid params: the only sign-in method is demo-token"));
        return;
    }
    m_authenticated = true;
    r.respond(QJsonObject{});
}

bool Agent::authorised(const RpcResponder &r) const
{
    if (!m_options.requireAuth || m_authenticated)
        return true;
    r.respondError(rpc::AuthRequired, QStringLiteral("Authentication required: call authenticate with demo-token"));
    return false;
}

QJsonObject Agent::modeState(const Session &session) const
{
    return QJsonObject{
        {QStringLiteral("currentModeId"), session.mode},
        {QStringLiteral("availableModes"),
         QJsonArray{QJsonObject{{QStringLiteral("id"), QStringLiteral("ask")}, {QStringLiteral("name"), QStringLiteral("Ask")},
                                {QStringLiteral("description"), QStringLiteral("Ask before every edit")}},
                    QJsonObject{{QStringLiteral("id"), QStringLiteral("auto")},
                                {QStringLiteral("name"), QStringLiteral("Auto-edit")},
                                {QStringLiteral("description"), QStringLiteral("Edit without asking")}}}},
    };
}

QJsonArray Agent::configOptions(const Session &session) const
{
    return QJsonArray{
        QJsonObject{{QStringLiteral("id"), QStringLiteral("verbosity")},
                    {QStringLiteral("name"), QStringLiteral("Verbosity")},
                    {QStringLiteral("type"), QStringLiteral("select")},
                    {QStringLiteral("currentValue"), session.verbosity},
                    {QStringLiteral("options"),
                     QJsonArray{QJsonObject{{QStringLiteral("value"), QStringLiteral("terse")},
                                            {QStringLiteral("name"), QStringLiteral("Terse")}},
                                QJsonObject{{QStringLiteral("value"), QStringLiteral("normal")},
                                            {QStringLiteral("name"), QStringLiteral("Normal")}}}}},
        QJsonObject{{QStringLiteral("id"), QStringLiteral("upstream_check")},
                    {QStringLiteral("name"), QStringLiteral("Check upstream")},
                    {QStringLiteral("description"), QStringLiteral("Try to fetch the upstream version at the end")},
                    {QStringLiteral("type"), QStringLiteral("boolean")},
                    {QStringLiteral("currentValue"), session.upstreamCheck}},
    };
}

void Agent::onNewSession(const QJsonValue &params, const RpcResponder &r)
{
    if (!authorised(r))
        return;
    const QString cwd = params.toObject().value(QLatin1String("cwd")).toString();
    if (!QDir::isAbsolutePath(cwd)) {
        r.respondError(rpc::InvalidParams, QStringLiteral("Invalid params: cwd must be an absolute path"));
        return;
    }
    auto s = std::make_unique<Session>();
    do {
        s->id = QStringLiteral("demo-%1").arg(m_nextSession++);
    } while (m_sessions.count(s->id)
             || (!m_options.stateDir.isEmpty() && QFile::exists(QDir(m_options.stateDir).filePath(s->id + QStringLiteral(".jsonl")))));
    s->cwd = cwd;
    Session &session = *s;
    m_sessions.emplace(s->id, std::move(s));
    r.respond(QJsonObject{{QStringLiteral("sessionId"), session.id},
                          {QStringLiteral("modes"), modeState(session)},
                          {QStringLiteral("configOptions"), configOptions(session)}});
    sendUpdate(session, QJsonObject{
        {QStringLiteral("sessionUpdate"), QStringLiteral("available_commands_update")},
        {QStringLiteral("availableCommands"),
         QJsonArray{QJsonObject{{QStringLiteral("name"), QStringLiteral("fix-tests")},
                                {QStringLiteral("description"), QStringLiteral("Find and fix the failing test")}},
                    QJsonObject{{QStringLiteral("name"), QStringLiteral("echo")},
                                {QStringLiteral("description"), QStringLiteral("Repeat the text back")},
                                {QStringLiteral("input"), QJsonObject{{QStringLiteral("hint"), QStringLiteral("text to repeat")}}}}}},
    });
}

void Agent::onLoadSession(const QJsonValue &params, const RpcResponder &r)
{
    if (!authorised(r))
        return;
    const QJsonObject o = params.toObject();
    const QString id = o.value(QLatin1String("sessionId")).toString();
    auto it = m_sessions.find(id);
    if (it == m_sessions.end()) {
        auto s = std::make_unique<Session>();
        s->id = id;
        if (!restore(*s)) {
            r.respondError(rpc::ResourceNotFound, QStringLiteral("Resource not found: no session %1").arg(id));
            return;
        }
        it = m_sessions.emplace(id, std::move(s)).first;
    }
    Session &session = *it->second;
    session.cwd = o.value(QLatin1String("cwd")).toString(session.cwd);
    // The whole conversation again, in order, then the answer.
    for (const QJsonObject &update : std::as_const(session.history))
        m_rpc->notify(QStringLiteral("session/update"),
                      QJsonObject{{QStringLiteral("sessionId"), session.id}, {QStringLiteral("update"), update}});
    r.respond(QJsonObject{{QStringLiteral("modes"), modeState(session)},
                          {QStringLiteral("configOptions"), configOptions(session)}});
}

Session *Agent::findSession(const QJsonValue &params, const RpcResponder &r)
{
    const QString id = params.toObject().value(QLatin1String("sessionId")).toString();
    auto it = m_sessions.find(id);
    if (it == m_sessions.end()) {
        r.respondError(rpc::ResourceNotFound, QStringLiteral("Resource not found: no session %1").arg(id));
        return nullptr;
    }
    return it->second.get();
}

void Agent::onPrompt(const QJsonValue &params, const RpcResponder &r)
{
    Session *session = findSession(params, r);
    if (!session)
        return;
    if (m_options.silence == Options::Silence::Prompt) {
        m_mute = true;
        m_silenced.append(r);
        return;
    }
    const QJsonValue prompt = params.toObject().value(QLatin1String("prompt"));
    if (!prompt.isArray() || prompt.toArray().isEmpty()) {
        r.respondError(rpc::InvalidParams, QStringLiteral("Invalid params: prompt must be a non-empty array"));
        return;
    }
    if (session->turn) {
        r.respondError(rpc::InvalidRequest, QStringLiteral("Invalid request: a turn is already running"));
        return;
    }
    for (const QJsonValue &block : prompt.toArray())
        sendUpdate(*session, QJsonObject{{QStringLiteral("sessionUpdate"), QStringLiteral("user_message_chunk")},
                                         {QStringLiteral("content"), block}},
                   /*echo=*/false);
    session->turn = new Turn(this, *session, prompt.toArray(), r);
    session->turn->start();
}

void Agent::onCancel(const QJsonValue &params)
{
    auto it = m_sessions.find(params.toObject().value(QLatin1String("sessionId")).toString());
    if (it != m_sessions.end() && it->second->turn)
        it->second->turn->cancel();
}

void Agent::onSetMode(const QJsonValue &params, const RpcResponder &r)
{
    Session *session = findSession(params, r);
    if (!session)
        return;
    const QString mode = params.toObject().value(QLatin1String("modeId")).toString();
    if (mode != QLatin1String("ask") && mode != QLatin1String("auto")) {
        r.respondError(rpc::InvalidParams, QStringLiteral("Invalid params: no mode %1 (ask or auto)").arg(mode));
        return;
    }
    session->mode = mode;
    r.respond(QJsonObject{});
    sendUpdate(*session, QJsonObject{{QStringLiteral("sessionUpdate"), QStringLiteral("current_mode_update")},
                                     {QStringLiteral("currentModeId"), mode}});
}

void Agent::onSetConfigOption(const QJsonValue &params, const RpcResponder &r)
{
    Session *session = findSession(params, r);
    if (!session)
        return;
    const QJsonObject o = params.toObject();
    const QString id = o.value(QLatin1String("configId")).toString();
    const QJsonValue value = o.value(QLatin1String("value"));
    if (id == QLatin1String("verbosity")
        && (value == QJsonValue(QStringLiteral("terse")) || value == QJsonValue(QStringLiteral("normal")))) {
        session->verbosity = value.toString();
    } else if (id == QLatin1String("upstream_check") && value.isBool()) {
        session->upstreamCheck = value.toBool();
    } else {
        r.respondError(rpc::InvalidParams, QStringLiteral("Invalid params: no option %1 with that value").arg(id));
        return;
    }
    r.respond(QJsonObject{{QStringLiteral("configOptions"), configOptions(*session)}});
    sendUpdate(*session, QJsonObject{{QStringLiteral("sessionUpdate"), QStringLiteral("config_option_update")},
                                     {QStringLiteral("configOptions"), configOptions(*session)}});
}

void Agent::sendUpdate(Session &session, const QJsonObject &update, bool echo)
{
    session.history.append(update);
    persist(session, update);
    if (echo)
        m_rpc->notify(QStringLiteral("session/update"),
                      QJsonObject{{QStringLiteral("sessionId"), session.id}, {QStringLiteral("update"), update}});
}

void Agent::persist(const Session &session, const QJsonObject &update) const
{
    if (m_options.stateDir.isEmpty())
        return;
    QDir().mkpath(m_options.stateDir);
    QFile f(QDir(m_options.stateDir).filePath(session.id + QStringLiteral(".jsonl")));
    if (!f.open(QIODevice::WriteOnly | QIODevice::Append))
        return; // a demo without its history is still a demo
    if (f.size() == 0)
        f.write(QJsonDocument(QJsonObject{{QStringLiteral("cwd"), session.cwd}}).toJson(QJsonDocument::Compact) + '\n');
    f.write(QJsonDocument(update).toJson(QJsonDocument::Compact) + '\n');
}

bool Agent::restore(Session &session) const
{
    if (m_options.stateDir.isEmpty() || session.id.contains(u'/') || session.id.startsWith(u'.'))
        return false;
    QFile f(QDir(m_options.stateDir).filePath(session.id + QStringLiteral(".jsonl")));
    if (!f.open(QIODevice::ReadOnly))
        return false;
    bool first = true;
    while (!f.atEnd()) {
        const QJsonObject o = QJsonDocument::fromJson(f.readLine()).object();
        if (first)
            session.cwd = o.value(QLatin1String("cwd")).toString();
        else if (!o.isEmpty())
            session.history.append(o);
        first = false;
    }
    return true;
}

} // namespace demo
