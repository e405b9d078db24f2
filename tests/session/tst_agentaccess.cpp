// Fitting a session's policy to its agent (session/agentaccess.h): the install mounted read-only, the
// model API through the proxy with the key added there, and what is refused, with what to do.
#include "agent/agentinstall.h"
#include "egress/secretstore.h"
#include "policy/presets.h"
#include "session/agentaccess.h"
#include "session/continuation.h"
#include "store/eventstore.h"
#include "store/storereader.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>

using namespace airlock;

class TestAgentAccess : public QObject
{
    Q_OBJECT
    QTemporaryDir m_dir;

    static agent::AgentProfile claude()
    {
        for (const auto &p : agent::presetProfiles())
            if (p.name == QLatin1String("claude-code"))
                return p;
        return {};
    }
    static policy::Policy standard() { return *policy::findPreset(u"standard"); }
    static QString envValue(const QStringList &env, const QString &name)
    {
        for (const QString &e : env)
            if (e.startsWith(name + u'='))
                return e.mid(name.size() + 1);
        return {};
    }

private Q_SLOTS:
    void initTestCase()
    {
        qputenv("AIRLOCK_SECRETS_DIR", QFile::encodeName(m_dir.filePath(QStringLiteral("secrets"))));
        qputenv("AIRLOCK_SECRETS_KEYCHAIN", "0");
        qputenv("AIRLOCK_AGENTS_DIR", QFile::encodeName(m_dir.filePath(QStringLiteral("agents"))));
    }

    void withoutAKeyItSaysHowToStoreOne()
    {
        policy::Policy p = standard();
        const auto r = session::fitPolicyToAgent(claude(), {}, p);
        QVERIFY(!r);
        QVERIFY2(r.error().message.contains(QLatin1String("airlockctl secrets set anthropic")), qPrintable(r.error().message));
    }

    void routesTheModelThroughTheProxy()
    {
        QVERIFY(egress::SecretStore().set(QStringLiteral("anthropic"), "sk-ant-test-value"));
        // Installed: mounted read-only at its own path, and that is the program that runs.
        const agent::AgentProfile profile = claude();
        const QString bin = agent::installDir(profile.package) + QStringLiteral("/node_modules/.bin");
        QVERIFY(QDir().mkpath(bin));
        QFile program(bin + u'/' + profile.package.bin);
        QVERIFY(program.open(QIODevice::WriteOnly));
        program.close();
        program.setPermissions(QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);

        policy::Policy p = standard();
        auto r = session::fitPolicyToAgent(profile, {}, p);
        QVERIFY2(r, qPrintable(r ? QString() : r.error().message));
        QCOMPARE(r->program, program.fileName());
        QVERIFY(p.filesystem.mounts.contains(policy::Mount{agent::installDir(profile.package), agent::installDir(profile.package),
                                                           policy::Access::ReadOnly}));
        QVERIFY(p.network.allow.contains(QStringLiteral("api.anthropic.com:443")));
        QVERIFY(!p.network.allow.contains(QStringLiteral("api.anthropic.com")));
        QCOMPARE(p.secrets.size(), 1);
        QCOMPARE(p.secrets.first().host, QStringLiteral("api.anthropic.com:443"));
        QCOMPARE(p.secrets.first().header, QStringLiteral("x-api-key"));
        QCOMPARE(p.secrets.first().ref, QStringLiteral("anthropic"));
        QCOMPARE(envValue(r->env, QStringLiteral("ANTHROPIC_BASE_URL")), QStringLiteral("http://api.anthropic.com.airlock:443"));
        QCOMPARE(envValue(r->env, QStringLiteral("ANTHROPIC_API_KEY")), session::placeholderKey());
        for (const QString &e : r->env)
            QVERIFY(!e.contains(QLatin1String("sk-ant-test-value")));

        // Another endpoint: a gateway with a port and a path, and a CA for it; a local name adds the
        // loopback class, an IP literal is named exactly.
        p = standard();
        r = session::fitPolicyToAgent(profile, {QStringLiteral("https://localhost:8443/gateway/"), QStringLiteral("/etc/gw-ca.pem")}, p);
        QVERIFY(r);
        QVERIFY(p.network.allow.contains(QStringLiteral("localhost:8443")));
        QVERIFY(p.network.allowAddressClasses.contains(QStringLiteral("loopback")));
        QCOMPARE(p.network.upstreamCaFile, QStringLiteral("/etc/gw-ca.pem"));
        QCOMPARE(envValue(r->env, QStringLiteral("ANTHROPIC_BASE_URL")), QStringLiteral("http://localhost.airlock:8443/gateway"));
        p = standard();
        QVERIFY(session::fitPolicyToAgent(profile, {QStringLiteral("https://127.0.0.1:9443"), {}}, p));
        QVERIFY(p.network.allow.contains(QStringLiteral("127.0.0.1:9443")));
        QVERIFY(p.network.allowAddressClasses.isEmpty());
    }

    void refusesWhatWouldSendTheKeyInTheClear()
    {
        QVERIFY(egress::SecretStore().set(QStringLiteral("anthropic"), "sk-ant-test-value"));
        for (const QString &bad : {QStringLiteral("http://api.anthropic.com"), QStringLiteral("https://user:pw@api.anthropic.com"),
                                   QStringLiteral("ftp://x"), QStringLiteral("https://"), QStringLiteral("api.anthropic.com")}) {
            policy::Policy p = standard();
            const auto r = session::fitPolicyToAgent(claude(), {bad, {}}, p);
            QVERIFY2(!r, qPrintable(bad));
            QVERIFY(r.error().message.contains(QLatin1String("https://")));
        }
        // Host networking would need the key inside; refused.
        policy::Policy host = standard();
        host.network.mode = policy::NetworkMode::Host;
        const auto r = session::fitPolicyToAgent(claude(), {}, host);
        QVERIFY(!r);
        QVERIFY(r.error().message.contains(QLatin1String("mode proxy")));
    }

    // No network at all: the proxy with the model as its only name, said in the notes.
    void aPolicyWithoutNetworkOpensOnlyTheModel()
    {
        QVERIFY(egress::SecretStore().set(QStringLiteral("anthropic"), "sk-ant-test-value"));
        policy::Policy none = standard();
        none.network.mode = policy::NetworkMode::None;
        none.network.allow.clear();
        const auto r = session::fitPolicyToAgent(claude(), {}, none);
        QVERIFY(r);
        QCOMPARE(none.network.mode, policy::NetworkMode::Proxy);
        QCOMPARE(none.network.allow, QStringList{QStringLiteral("api.anthropic.com:443")});
        QCOMPARE(r->notes.size(), 1);
        QVERIFY2(r->notes.constFirst().contains(QLatin1String("api.anthropic.com:443 and nothing else")), qPrintable(r->notes.constFirst()));
    }

    // On Docker (Hardened): the install appears under /opt/airlock/agents, where the container's user
    // can reach it, and Airlock's base image becomes its agent image; another image is left alone.
    void dockerGetsTheAgentImageAndAReachableInstall()
    {
        QVERIFY(egress::SecretStore().set(QStringLiteral("anthropic"), "sk-ant-test-value"));
        const agent::AgentProfile profile = claude();
        const QString dir = agent::installDir(profile.package);
        QVERIFY(QDir().mkpath(dir + QStringLiteral("/node_modules/.bin")));
        QFile program(dir + QStringLiteral("/node_modules/.bin/") + profile.package.bin);
        QVERIFY(program.open(QIODevice::WriteOnly));
        program.close();
        QVERIFY(program.setPermissions(program.permissions() | QFile::ExeOwner));
        policy::Policy hardened = *policy::findPreset(u"hardened");
        QCOMPARE(hardened.runtime.image, QStringLiteral("airlock-base:latest"));
        const auto r = session::fitPolicyToAgent(profile, {}, hardened);
        QVERIFY2(r, r ? "" : qPrintable(r.error().message));
        const QString inside = QStringLiteral("/opt/airlock/agents/") + QFileInfo(dir).fileName();
        QCOMPARE(r->program, inside + QStringLiteral("/node_modules/.bin/") + profile.package.bin);
        QVERIFY(hardened.filesystem.mounts.contains(policy::Mount{dir, inside, policy::Access::ReadOnly}));
        QCOMPARE(hardened.runtime.image, QStringLiteral("airlock-agent:latest"));
        QCOMPARE(hardened.network.mode, policy::NetworkMode::Proxy);
        QCOMPARE(r->notes.size(), 2);

        policy::Policy own = *policy::findPreset(u"hardened");
        own.runtime.image = QStringLiteral("node:20-bookworm");
        QVERIFY(session::fitPolicyToAgent(profile, {}, own));
        QCOMPARE(own.runtime.image, QStringLiteral("node:20-bookworm"));
    }

    // A policy that mounts the home folder does not show the key files kept where no keychain runs.
    void secretsAreNeverUnderAMount()
    {
        qputenv("AIRLOCK_SECRETS_DIR", QFile::encodeName(QDir::homePath() + QStringLiteral("/.local/share/airlock/secrets")));
        policy::Policy p = standard();
        p.filesystem.mounts.append({QStringLiteral("~"), QStringLiteral("/home/me"), policy::Access::ReadOnly});
        agent::AgentProfile host = claude();
        host.placement = agent::Placement::Host; // also for an agent on the host, whose commands run in the sandbox
        QVERIFY(session::fitPolicyToAgent(host, {}, p));
        QVERIFY(p.filesystem.deniedHostPaths.contains(QDir::homePath() + QStringLiteral("/.local/share/airlock/secrets")));
        qputenv("AIRLOCK_SECRETS_DIR", QFile::encodeName(m_dir.filePath(QStringLiteral("secrets"))));
    }

    void theModelChosenForAnAgentIsKept()
    {
        // Chosen once (airlockctl agents model, the New Session dialog), used by every later session of
        // the agent that does not choose for itself; a run's own choice wins.
        const QString db = m_dir.filePath(QStringLiteral("model.db"));
        QVERIFY(store::EventStore::open(db));
        auto reader = store::StoreReader::open(db);
        QVERIFY(reader);
        QVERIFY(egress::SecretStore().set(QStringLiteral("anthropic"), "sk-ant-test-value"));
        QVERIFY(!session::rememberModel(db, QStringLiteral("claude-code"), {QStringLiteral("http://gw.corp/"), {}}));
        QVERIFY(!session::rememberModel(db, QStringLiteral("claude-code"), {QStringLiteral("https://gw.corp/"), QStringLiteral("/no/such.pem")}));
        const QString ca = m_dir.filePath(QStringLiteral("gw-ca.pem"));
        QFile caFile(ca);
        QVERIFY(caFile.open(QIODevice::WriteOnly));
        caFile.close();
        QVERIFY(session::rememberModel(db, QStringLiteral("claude-code"), {QStringLiteral("https://gw.corp:8443/anthropic"), ca}));
        session::SessionConfig config;
        config.agent.name = QStringLiteral("claude");
        config.policyName = QStringLiteral("standard");
        QVERIFY(session::resolveAgentAndPolicy(*reader, db, config));
        QCOMPARE(config.modelEndpoint, QStringLiteral("https://gw.corp:8443/anthropic"));
        QCOMPARE(config.policy.network.upstreamCaFile, ca);
        QVERIFY(config.policy.network.allow.contains(QStringLiteral("gw.corp:8443")));
        QVERIFY(config.agentEnv.contains(QStringLiteral("ANTHROPIC_BASE_URL=http://gw.corp.airlock:8443/anthropic")));
        session::SessionConfig own;
        own.agent.name = QStringLiteral("claude");
        own.policyName = QStringLiteral("standard");
        own.modelEndpoint = QStringLiteral("https://api.anthropic.com");
        QVERIFY(session::resolveAgentAndPolicy(*reader, db, own));
        QVERIFY(own.policy.network.allow.contains(QStringLiteral("api.anthropic.com:443")));
        QVERIFY(session::rememberModel(db, QStringLiteral("claude-code"), {}));
        QCOMPARE(session::rememberedModel(db, QStringLiteral("claude-code"))->endpoint, QString());
    }

    void placeholdersHaveTheirVendorsShape()
    {
        QVERIFY(session::placeholderKey(QStringLiteral("anthropic")).startsWith(QLatin1String("sk-ant-")));
        QVERIFY(session::placeholderKey(QStringLiteral("openai")).startsWith(QLatin1String("sk-")));
        const QString gemini = session::placeholderKey(QStringLiteral("gemini"));
        QVERIFY(gemini.startsWith(QLatin1String("AIza")));
        QCOMPARE(gemini.size(), 39);
        for (const QString &secret : {QStringLiteral("anthropic"), QStringLiteral("openai"), QStringLiteral("gemini"), QStringLiteral("x")})
            QVERIFY(session::placeholderKey(secret).toLower().contains(QLatin1String("placeholder")));
    }
};

QTEST_GUILESS_MAIN(TestAgentAccess)
#include "tst_agentaccess.moc"
