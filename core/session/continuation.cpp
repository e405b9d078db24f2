#include "continuation.h"
#include "agentaccess.h"

#include "agent/agentcatalogue.h"
#include "policy/policylibrary.h"
#include "sessionowner.h"
#include "store/storereader.h"

namespace airlock::session {

Result<SessionConfig> continuationOf(store::StoreReader &reader, const QString &sessionId)
{
    auto row = reader.existingSession(sessionId);
    if (!row)
        return std::unexpected(row.error());
    const store::SessionRow &s = *row;
    if (isLiveState(s.state))
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("session %1 is %2 in another process; it can be continued once it has ended")
                        .arg(sessionId, s.state));
    if (s.workspace.isEmpty())
        return fail(ErrorCode::InvalidArgument, QStringLiteral("session %1 has no workspace to run in").arg(sessionId));

    SessionConfig config;
    config.id = s.id;
    config.title = s.title;
    config.workspace = s.workspace;
    config.policyName = s.policy;
    config.agent.name = s.agent;

    store::EventQuery q;
    q.session = sessionId;
    q.limit = 100000;
    auto events = reader.events(q);
    if (!events)
        return std::unexpected(events.error());
    bool ranBefore = false;
    QJsonObject fork;
    for (const store::Event &e : *events) {
        if (e.kind == QLatin1String("agent.session") && e.payload.value(QStringLiteral("loadable")).toBool())
            config.loadAcpSession = e.payload.value(QStringLiteral("acpSession")).toString();
        if (e.kind == QLatin1String("turn.started"))
            ranBefore = true;
        if (e.kind == QLatin1String(store::kinds::SessionCreated) && fork.isEmpty())
            fork = e.payload.value(QStringLiteral("fork")).toObject();
    }
    // A fork that has not run yet takes its parent's conversation up to the checkpoint; one that
    // ran has its own turns, which its agent session holds no longer: they are the history then.
    if (!fork.isEmpty() && !ranBefore) {
        config.historyFrom = fork.value(QStringLiteral("session")).toString();
        config.historyUpToSeq = fork.value(QStringLiteral("seq")).toInteger();
    } else if (ranBefore) {
        config.historyFrom = sessionId;
        config.historyUpToSeq = events->isEmpty() ? 0 : events->last().seq;
    }
    return config;
}

Result<void> resolveAgentAndPolicy(store::StoreReader &reader, const QString &databasePath, SessionConfig &config)
{
    auto catalogue = agent::AgentCatalogue::open(databasePath);
    if (!catalogue)
        return std::unexpected(catalogue.error());
    const QString agentName = config.agent.name.isEmpty() ? QStringLiteral("demo") : config.agent.name;
    auto profile = catalogue->find(agentName);
    if (!profile)
        return std::unexpected(profile.error());
    if (!*profile)
        return fail(ErrorCode::NotFound, QStringLiteral("no agent named '%1' (see 'airlockctl agents list')").arg(agentName));
    config.agent = **profile;
    if (config.policyName.isEmpty())
        config.policyName = config.agent.defaultPolicy.isEmpty() ? QStringLiteral("standard") : config.agent.defaultPolicy;
    auto entry = policy::findPolicy(reader, config.policyName);
    if (!entry)
        return std::unexpected(entry.error());
    config.policy = entry->policy;
    // Nothing chosen for this run: what was chosen for this agent before (airlockctl agents model,
    // the New Session dialog).
    if (config.modelEndpoint.isEmpty() && config.upstreamCaFile.isEmpty() && config.agent.model.isSet()) {
        auto remembered = rememberedModel(databasePath, config.agent.name);
        if (!remembered)
            return std::unexpected(remembered.error());
        config.modelEndpoint = remembered->endpoint;
        config.upstreamCaFile = remembered->caFile;
    }
    auto access = fitPolicyToAgent(config.agent, {config.modelEndpoint, config.upstreamCaFile}, config.policy);
    if (!access)
        return std::unexpected(access.error());
    config.agent.command = access->program;
    config.agentEnv = access->env;
    config.setupNotes = access->notes;
    return {};
}

} // namespace airlock::session
