#include "agentaccess.h"

#include "agent/agentinstall.h"
#include "docker/agentimage.h"
#include "egress/secretstore.h"
#include "policy/valuechecks.h"
#include "store/maintenance.h"

#include <QDir>
#include <QFileInfo>
#include <QHostAddress>
#include <QJsonDocument>
#include <QJsonObject>
#include <QUrl>

namespace airlock::session {

QString placeholderKey(const QString &secret)
{
    // Each in its vendor's shape: some clients check the form before they send anything.
    if (secret == QLatin1String("anthropic"))
        return QStringLiteral("sk-ant-airlock-placeholder-the-proxy-adds-the-real-key");
    if (secret == QLatin1String("openai"))
        return QStringLiteral("sk-airlock-placeholder-the-proxy-adds-the-real-key");
    if (secret == QLatin1String("gemini"))
        return QStringLiteral("AIzaAirlockPlaceholderTheProxyAddsKey00"); // AIza and 35 more, as Google's keys
    return QStringLiteral("airlock-placeholder-the-proxy-adds-the-real-key");
}

namespace {
const QString kModelNamespace = QStringLiteral("agent-model");
}

Result<ModelChoice> rememberedModel(const QString &dbPath, const QString &agent)
{
    auto db = store::openForReading(dbPath);
    if (!db)
        return std::unexpected(db.error());
    auto value = store::setting(*db, kModelNamespace, agent);
    if (!value)
        return std::unexpected(value.error());
    if (!*value)
        return ModelChoice{};
    const QJsonObject o = QJsonDocument::fromJson(value->value().toUtf8()).object();
    return ModelChoice{o.value(QStringLiteral("endpoint")).toString(), o.value(QStringLiteral("caFile")).toString()};
}

Result<void> rememberModel(const QString &dbPath, const QString &agent, const ModelChoice &choice)
{
    if (!choice.endpoint.isEmpty()) {
        const QUrl url(choice.endpoint);
        if (!url.isValid() || url.scheme() != QLatin1String("https") || url.host().isEmpty())
            return fail(ErrorCode::InvalidArgument,
                        QStringLiteral("%1 is not an https:// URL; the proxy speaks TLS to the model").arg(choice.endpoint));
    }
    if (!choice.caFile.isEmpty() && !QFileInfo(choice.caFile).isFile())
        return fail(ErrorCode::NotFound, QStringLiteral("the CA bundle %1 is not a file").arg(choice.caFile));
    const QString value = choice.endpoint.isEmpty() && choice.caFile.isEmpty()
                              ? QString()
                              : QString::fromUtf8(QJsonDocument(QJsonObject{{QStringLiteral("endpoint"), choice.endpoint},
                                                                            {QStringLiteral("caFile"), choice.caFile}})
                                                      .toJson(QJsonDocument::Compact));
    return store::setSetting(dbPath, kModelNamespace, agent, value);
}

Result<AgentAccess> fitPolicyToAgent(const agent::AgentProfile &profile, const ModelChoice &choice, policy::Policy &policy)
{
    AgentAccess access;
    access.program = profile.command;
    for (const QString &e : profile.setEnv)
        access.env << e;
    // The keys Airlock keeps in files where no keychain runs are never visible in a sandbox, even under
    // a mounted parent (a policy that mounts ~ read-only).
    const QString secretsDir = QDir::cleanPath(egress::SecretStore::defaultDir());
    const bool underAMount = std::any_of(policy.filesystem.mounts.cbegin(), policy.filesystem.mounts.cend(), [&](const policy::Mount &m) {
        return policy::isSameOrUnder(secretsDir, policy::expandHostPath(m.host, QDir::homePath()));
    });
    if (underAMount && !policy.filesystem.deniedHostPaths.contains(secretsDir))
        policy.filesystem.deniedHostPaths.append(secretsDir);

    if (profile.placement != agent::Placement::Sandbox)
        return access;

    const bool docker = policy.runtime.backend == policy::Backend::Docker;
    if (profile.package.isSet() && profile.command == profile.package.bin) {
        const QString program = agent::installedProgram(profile.package);
        if (!program.isEmpty()) {
            const QString dir = agent::installDir(profile.package);
            // In a container the host path's parents (a 0700 home) would hide it from the agent's user.
            const QString inside = docker ? QString::fromLatin1(docker::kContainerAgentsDir) + u'/' + QFileInfo(dir).fileName() : dir;
            access.program = inside + program.mid(dir.size());
            const policy::Mount mount{dir, inside, policy::Access::ReadOnly};
            if (!policy.filesystem.mounts.contains(mount))
                policy.filesystem.mounts.append(mount);
            if (docker && docker::isOwnImage(policy.runtime.image) && policy.runtime.image != QLatin1String(docker::kAgentImage)) {
                policy.runtime.image = QString::fromLatin1(docker::kAgentImage);
                access.notes << QStringLiteral("the container runs %1 (Airlock's base with node, bash and git; built from this "
                                               "machine's files on first use) so that %2 can run")
                                    .arg(policy.runtime.image, profile.title.isEmpty() ? profile.name : profile.title);
            }
        }
    }

    if (!profile.model.isSet())
        return access;
    const QString endpoint = choice.endpoint.isEmpty() ? profile.model.endpoint : choice.endpoint;
    const QUrl url(endpoint, QUrl::StrictMode);
    if (!url.isValid() || url.scheme() != QLatin1String("https") || url.host().isEmpty() || !url.userInfo().isEmpty()
        || url.hasQuery() || url.hasFragment())
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("the model endpoint '%1' is not an https:// URL with a host (the proxy adds the key "
                                   "only over TLS)")
                        .arg(endpoint.left(200)));
    if (policy.network.mode == policy::NetworkMode::None) {
        policy.network.mode = policy::NetworkMode::Proxy;
        access.notes << QStringLiteral("the policy has no network; %1 reaches its model through the egress proxy, which "
                                       "lets through %2:%3 and nothing else")
                            .arg(profile.title.isEmpty() ? profile.name : profile.title, url.host().toLower())
                            .arg(url.port(443));
    }
    if (policy.network.mode != policy::NetworkMode::Proxy)
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("%1 reaches its model through the egress proxy, which adds the key; the policy's "
                                   "network mode is %2, where the key would have to be inside: choose a policy with "
                                   "mode proxy or none (standard, hardened)")
                        .arg(profile.title.isEmpty() ? profile.name : profile.title, policy::nameOf(policy.network.mode)));
    const egress::SecretStore secrets;
    auto stored = secrets.list();
    if (!stored)
        return std::unexpected(stored.error());
    const bool known = std::any_of(stored->begin(), stored->end(),
                                   [&](const egress::StoredSecret &s) { return s.name == profile.model.secret; });
    if (!known)
        return fail(ErrorCode::NotFound,
                    QStringLiteral("no key is stored for %1: run airlockctl secrets set %2 (or add it on the Secrets "
                                   "page); the proxy adds it to requests to %3, and the agent never sees it")
                        .arg(profile.title.isEmpty() ? profile.name : profile.title, profile.model.secret, url.host()));

    const QString host = url.host().toLower();
    const int port = url.port(443);
    // The endpoint's port only: a bare name would open port 80 too, where no key is ever added.
    const QString pattern = QStringLiteral("%1:%2").arg(host).arg(port);
    if (!policy.network.allow.contains(pattern))
        policy.network.allow.append(pattern);
    // A name on this machine (a local gateway, a test server) resolves to loopback, which the proxy
    // refuses for allowed names unless the class is listed; an IP literal named exactly needs nothing.
    if (host == QLatin1String("localhost") && !policy.network.allowAddressClasses.contains(QStringLiteral("loopback")))
        policy.network.allowAddressClasses.append(QStringLiteral("loopback"));
    const bool secretThere = std::any_of(policy.secrets.begin(), policy.secrets.end(),
                                         [&](const policy::Secret &s) { return s.name == profile.model.secret; });
    if (!secretThere)
        policy.secrets.append({profile.model.secret, pattern, profile.model.header, policy::Secret::Source::Keychain,
                               profile.model.secret, profile.model.scheme});
    if (!choice.caFile.isEmpty())
        policy.network.upstreamCaFile = choice.caFile;

    // http://HOST.airlock:PORT/path through HTTP_PROXY: the proxy speaks TLS to https://HOST:PORT/path.
    // The port is always written: a client that tunnels (CONNECT) would otherwise take http's 80.
    QString base = QStringLiteral("http://%1.airlock:%2").arg(host).arg(port);
    const QString path = url.path();
    if (!path.isEmpty() && path != QLatin1String("/"))
        base += path.endsWith(u'/') ? path.chopped(1) : path;
    access.env << profile.model.keyVariable + u'=' + placeholderKey(profile.model.secret) << profile.model.baseUrlVariable + u'=' + base;
    return access;
}

} // namespace airlock::session
