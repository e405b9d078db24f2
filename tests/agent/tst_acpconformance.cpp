// Conformance with a third-party ACP agent: the official TypeScript SDK's example agent
// (@agentclientprotocol/sdk@1.9.0, dist/examples/agent.js), run with node and driven through
// AcpClient along its allow path, its reject path and a cancelled turn, in parallel sessions, and
// through `airlockctl run` along both paths with the events checked in the store.
//
// The package is installed on first run with
//   npm install --prefix <build>/npm @agentclientprotocol/sdk@1.9.0
// and reused afterwards. Without node, npm or the registry the test is skipped, saying why.
#include "sandbox/localbackend.h"
#include "agenttestutil.h"
#include "store/storereader.h"
#include "testutil.h"

#include <QDir>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QStandardPaths>

using namespace airlock;
using namespace airlock::agent;
using namespace airlock::agent::acp;
using agenttest::await;
using K = SessionUpdate::Kind;

namespace {
const QString kPackage = QStringLiteral("@agentclientprotocol/sdk");
const QString kVersion = QStringLiteral("1.9.0");
} // namespace

class TestAcpConformance : public QObject
{
    Q_OBJECT

    QString m_node;
    QStringList m_nodeFlags;
    QString m_agentJs;

    static QString installedVersion(const QString &prefix)
    {
        QFile f(prefix + QStringLiteral("/node_modules/@agentclientprotocol/sdk/package.json"));
        if (!f.open(QIODevice::ReadOnly))
            return {};
        return QJsonDocument::fromJson(f.readAll()).object().value(QLatin1String("version")).toString();
    }

    static QString tail(const QByteArray &bytes)
    {
        return QString::fromUtf8(bytes).trimmed().right(400).simplified();
    }

private Q_SLOTS:
    void initTestCase()
    {
        m_node = QStandardPaths::findExecutable(QStringLiteral("node"));
        if (m_node.isEmpty())
            QSKIP("node is not installed, so the SDK's example agent cannot run (apt install nodejs npm)");
        QProcess version;
        version.start(m_node, {QStringLiteral("--version")});
        if (!version.waitForFinished(20000))
            QSKIP("node --version did not answer");
        const QString v = QString::fromUtf8(version.readAllStandardOutput()).trimmed();
        const int major = v.mid(1).section(u'.', 0, 0).toInt();
        if (major < 18)
            QSKIP(qPrintable(QStringLiteral("node %1 is too old for the SDK's example agent (18 or newer)").arg(v)));
        if (major == 18)
            m_nodeFlags << QStringLiteral("--experimental-global-webcrypto"); // the agent uses globalThis.crypto

        const QString prefix = QStringLiteral(AIRLOCK_TEST_BINARY_DIR "/npm");
        if (installedVersion(prefix) != kVersion) {
            const QString npm = QStandardPaths::findExecutable(QStringLiteral("npm"));
            if (npm.isEmpty())
                QSKIP("npm is not installed, so @agentclientprotocol/sdk@1.9.0 cannot be fetched (apt install npm)");
            QDir().mkpath(prefix);
            QProcess install;
            install.setProcessChannelMode(QProcess::MergedChannels);
            install.start(npm, {QStringLiteral("install"), QStringLiteral("--prefix"), prefix, QStringLiteral("--no-audit"),
                                QStringLiteral("--no-fund"), QStringLiteral("--loglevel=error"), kPackage + u'@' + kVersion});
            if (!install.waitForFinished(240000)) {
                install.kill();
                install.waitForFinished();
                QSKIP("npm install of @agentclientprotocol/sdk@1.9.0 did not finish in 4 minutes (is the registry reachable?)");
            }
            if (install.exitCode() != 0 || installedVersion(prefix) != kVersion)
                QSKIP(qPrintable(QStringLiteral("npm could not install @agentclientprotocol/sdk@1.9.0 into %1 (no registry?): %2")
                                     .arg(prefix, tail(install.readAll()))));
        }
        m_agentJs = prefix + QStringLiteral("/node_modules/@agentclientprotocol/sdk/dist/examples/agent.js");
        QVERIFY2(QFile::exists(m_agentJs), qPrintable(m_agentJs + QStringLiteral(" is missing from the package")));
    }

    void allowRejectAndCancelPaths()
    {
        QTemporaryDir dir;
        AcpClient client;
        TestHandler handler(dir.path());
        agenttest::Recorder seen(client);
        client.setHandler(&handler);
        AgentLaunch launch;
        launch.program = m_node;
        launch.arguments = m_nodeFlags + QStringList{m_agentJs};
        launch.environment = QProcessEnvironment::systemEnvironment();
        launch.workingDirectory = dir.path();
        client.start(launch);

        auto init = await(client.initialize(), 30000);
        QVERIFY(init);
        QVERIFY2(*init, agenttest::why(*init).constData());
        QCOMPARE((*init)->protocolVersion, 1);
        QVERIFY(!(*init)->capabilities.loadSession);

        QStringList ids;
        for (int i = 0; i < 3; ++i) {
            auto s = await(client.newSession(dir.path()));
            QVERIFY(s);
            QVERIFY2(*s, agenttest::why(*s).constData());
            ids.append((*s)->sessionId);
        }
        const QString allow = ids[0], reject = ids[1], cancelled = ids[2];
        QVERIFY(allow != reject);
        handler.answerFor.insert(allow, TestHandler::Answer::AllowOnce);
        handler.answerFor.insert(reject, TestHandler::Answer::RejectOnce);

        auto mode = await(client.setMode(allow, QStringLiteral("default")));
        QVERIFY(mode && *mode);
        auto config = await(client.setConfigOption(allow, QStringLiteral("model"), QStringLiteral("x")));
        QVERIFY(config && !*config);
        QCOMPARE(config->error().code, ErrorCode::NotFound); // method not found: the example has no config options
        auto load = await(client.loadSession(allow, dir.path()));
        QVERIFY(load && !*load); // it does not offer session/load; refused without asking

        const QList<ContentBlock> prompt{ContentBlock::fromText(QStringLiteral("Improve the configuration.")),
                                         ContentBlock::fromResourceLink(QUrl::fromLocalFile(dir.filePath(QStringLiteral("config.json"))).toString(),
                                                                        QStringLiteral("config.json"))};
        // Three turns at once: the example waits a second between steps.
        auto allowed = client.prompt(allow, prompt);
        auto rejected = client.prompt(reject, prompt);
        auto stopped = client.prompt(cancelled, prompt);
        QTRY_VERIFY_WITH_TIMEOUT(std::any_of(seen.updates.cbegin(), seen.updates.cend(),
                                             [&](const SessionUpdate &u) { return u.sessionId == cancelled; }),
                                 20000);
        client.cancel(cancelled);

        auto a = await(allowed, 60000);
        auto r = await(rejected, 60000);
        auto c = await(stopped, 60000);
        QVERIFY(a && r && c);
        QVERIFY2(*a, agenttest::why(*a).constData());
        QVERIFY2(*r, agenttest::why(*r).constData());
        QVERIFY2(*c, agenttest::why(*c).constData());
        QCOMPARE((*a)->stopReason, StopReason::EndTurn);
        QCOMPARE((*r)->stopReason, StopReason::EndTurn);
        QCOMPARE((*c)->stopReason, StopReason::Cancelled);

        // Both paths read the project, then asked before editing.
        for (const QString &id : {allow, reject}) {
            const AcpSessionState *state = client.session(id);
            const ToolCall *read = state->toolCall(QStringLiteral("call_1"));
            QVERIFY(read);
            QCOMPARE(read->kind, ToolKind::Read);
            QCOMPARE(read->status, ToolStatus::Completed);
            QCOMPARE(read->locations.first().path, QStringLiteral("/project/README.md"));
            QCOMPARE(read->content.size(), 1);
            QVERIFY(read->content.first().content.text.startsWith(QLatin1String("# My Project")));
            QCOMPARE(state->toolCall(QStringLiteral("call_2"))->kind, ToolKind::Edit);
            QVERIFY(seen.agentText(id).startsWith(QLatin1String("I'll help you with that.")));
        }
        QCOMPARE(handler.permissions.size(), 2);
        for (const PermissionRequest &p : std::as_const(handler.permissions)) {
            QCOMPARE(p.toolCall.id, QStringLiteral("call_2"));
            QCOMPARE(p.options.size(), 2);
            QCOMPARE(p.options[0].kind, PermissionKind::AllowOnce);
            QCOMPARE(p.options[1].kind, PermissionKind::RejectOnce);
        }
        // The allow path applied the change, the reject path left it.
        QCOMPARE(client.session(allow)->toolCall(QStringLiteral("call_2"))->status, ToolStatus::Completed);
        QVERIFY(client.session(allow)->toolCall(QStringLiteral("call_2"))->rawOutput.toObject().value(QLatin1String("success")).toBool());
        QVERIFY(seen.agentText(allow).endsWith(QLatin1String("The changes have been applied.")));
        QCOMPARE(client.session(reject)->toolCall(QStringLiteral("call_2"))->status, ToolStatus::Pending);
        QVERIFY(seen.agentText(reject).endsWith(QLatin1String("I'll skip the configuration update.")));
        QVERIFY(!seen.agentText(cancelled).contains(QLatin1String("Perfect")));

        QVERIFY(seen.rejected.isEmpty());
        QVERIFY2(seen.protocolErrors.isEmpty(), qPrintable(seen.protocolText()));
        for (const SessionUpdate &u : std::as_const(seen.updates))
            QVERIFY2(u.warnings.isEmpty(), qPrintable(u.warnings.join(u'\n')));

        QSignalSpy finished(client.process(), &AgentProcess::finished);
        client.stop(2000);
        QVERIFY(finished.wait(10000));
    }

    // The same agent driven the way a user drives it: `airlockctl run`, with the edit approved by a
    // rule flag on one run and refused on the other; what happened is checked in the store.
    void allowAndRejectThroughAirlockctl()
    {
#ifndef AIRLOCKCTL_PATH
        QSKIP("airlockctl is not built");
#else
        if (QStandardPaths::findExecutable(QStringLiteral("bwrap")).isEmpty())
            QSKIP("bubblewrap is not installed, so airlockctl cannot start a session's sandbox");
        if (const auto probe = sandbox::LocalBackend::probeBwrap(); !probe)
            QSKIP(qPrintable(QStringLiteral("bubblewrap cannot create sandboxes here, so airlockctl cannot start a session's sandbox: ")
                             + probe.error().message));
        QTemporaryDir dir;
        const QString db = dir.filePath(QStringLiteral("conformance.db"));
        auto ctl = [&](const QStringList &args) {
            return test::run(QStringLiteral(AIRLOCKCTL_PATH), QStringList{QStringLiteral("--db"), db} + args, 120000);
        };
        auto added = ctl(QStringList{QStringLiteral("agents"), QStringLiteral("add"), QStringLiteral("sdk-example"), QStringLiteral("--placement"),
                                     QStringLiteral("host"), QStringLiteral("--"), m_node} + m_nodeFlags + QStringList{m_agentJs});
        QVERIFY2(added.exitCode == 0, added.err.constData());
        for (const bool allow : {true, false}) {
            QDir().mkpath(dir.filePath(QStringLiteral("ws")));
            const auto r = ctl({QStringLiteral("run"), QStringLiteral("--agent"), QStringLiteral("sdk-example"), QStringLiteral("--workspace"),
                                dir.filePath(QStringLiteral("ws")), allow ? QStringLiteral("--approve") : QStringLiteral("--deny"),
                                QStringLiteral("edit"), QStringLiteral("--json"), QStringLiteral("Improve the configuration.")});
            QVERIFY2(r.exitCode == 0, QByteArray(r.out + r.err).constData());
            auto reader = store::StoreReader::open(db);
            QVERIFY(reader);
            auto sessions = reader->sessions();
            QVERIFY(sessions && !sessions->isEmpty());
            store::EventQuery q;
            q.session = std::max_element(sessions->begin(), sessions->end(), [](const auto &a, const auto &b) {
                            return a.firstSeq < b.firstSeq;
                        })->id;
            q.limit = 100000;
            auto events = reader->events(q);
            QVERIFY(events);
            QString text, decision, by, stopReason, finalState;
            for (const store::Event &e : *events) {
                const QJsonObject u = e.payload.value(QStringLiteral("update")).toObject();
                if (e.kind == QLatin1String("agent.update") && u.value(QStringLiteral("sessionUpdate")).toString() == QLatin1String("agent_message_chunk"))
                    text += u.value(QStringLiteral("content")).toObject().value(QStringLiteral("text")).toString();
                if (e.kind == QLatin1String("permission.decided")) {
                    decision = e.payload.value(QStringLiteral("decision")).toString();
                    by = e.payload.value(QStringLiteral("by")).toString();
                }
                if (e.kind == QLatin1String("turn.ended"))
                    stopReason = e.payload.value(QStringLiteral("stopReason")).toString();
                if (e.kind == QLatin1String("session.state"))
                    finalState = e.payload.value(QStringLiteral("state")).toString();
            }
            QCOMPARE(decision, allow ? QStringLiteral("allow") : QStringLiteral("deny"));
            QCOMPARE(by, QStringLiteral("rule"));
            QCOMPARE(stopReason, QStringLiteral("end_turn"));
            QCOMPARE(finalState, QStringLiteral("ended"));
            QVERIFY2(text.endsWith(allow ? QLatin1String("The changes have been applied.") : QLatin1String("I'll skip the configuration update.")),
                     qPrintable(text));
        }
#endif
    }
};

QTEST_GUILESS_MAIN(TestAcpConformance)
#include "tst_acpconformance.moc"
