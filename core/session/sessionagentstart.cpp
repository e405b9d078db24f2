// Starting the agent (on the host or in the sandbox), attaching the sandbox to the egress proxy, and
// opening or loading its ACP session: the part of SessionRunner that runs before the first turn.
#include "retention.h"
#include "futures.h"
#include "sessionrunner.h"

#include "egress/egressproxy.h"
#include "egress/sandboxegress.h"
#include "policy/sandboxlayout.h"
#include "sandbox/backend.h"

#include <QFileInfo>
#include <QLoggingCategory>
#include <QProcessEnvironment>
#include <QTimer>


Q_DECLARE_LOGGING_CATEGORY(lcSession)

namespace airlock::session {

namespace {
// An agent's output stream is the protocol itself: it must not be capped like a command's output.
constexpr quint64 kAgentOutputCap = quint64(1) << 40;
constexpr int kAgentEofGraceMs = 300; // as long as an agent closing its output to exit may take
// What of an agent's stderr is stored: enough for the story of a failure, not a disk filled by a
// chatty or hostile agent. Past it one line says so and the rest is dropped.
constexpr qint64 kAgentLogCap = 256 * 1024;
constexpr qsizetype kAgentLogLineMax = 4 * 1024;
constexpr qsizetype kAgentLogTailLines = 8;
} // namespace

void SessionRunner::agentLog(const QByteArray &chunk)
{
    for (const char c : chunk) {
        if (c == '\n') {
            agentLogLine(QString::fromUtf8(std::exchange(m_agentLogLine, QByteArray())));
        } else if (m_agentLogLine.size() < kAgentLogLineMax) {
            m_agentLogLine.append(c);
        }
    }
}

void SessionRunner::agentLogLine(const QString &line)
{
    QString text = line;
    if (text.endsWith(u'\r'))
        text.chop(1);
    if (text.trimmed().isEmpty())
        return;
    m_agentLogTail << text.left(600);
    if (m_agentLogTail.size() > kAgentLogTailLines)
        m_agentLogTail.removeFirst();
    if (m_agentLogBytes > kAgentLogCap)
        return;
    m_agentLogBytes += text.size();
    if (m_agentLogBytes > kAgentLogCap) {
        record("agent.log", {{QStringLiteral("line"), tr("[airlock] the agent's log passed %1 KiB; the rest is not stored")
                                                          .arg(kAgentLogCap / 1024)},
                             {QStringLiteral("truncated"), true}});
        return;
    }
    record("agent.log", {{QStringLiteral("line"), text}});
}

QString SessionRunner::agentLogTail() const
{
    return m_agentLogTail.join(u'\n');
}

bool SessionRunner::attachEgress()
{
    sandbox::Sandbox *box = m_sandbox.data();
    if (!m_egress || !box)
        return true;
    if (auto served = m_egress->attach(box); !served) {
        fail(Error{served.error().code, tr("the egress proxy cannot serve the sandbox: %1").arg(served.error().message)});
        return false;
    }
    // Failures on the keyed route to the model, said as they happen: an agent retries a failing
    // model API for minutes before it says anything itself.
    if (egress::EgressProxy *proxy = m_egress->proxy())
        connect(proxy, &egress::EgressProxy::connectionClosed, this, &SessionRunner::modelExchange, Qt::UniqueConnection);
    return true;
}

namespace {

// What a user should do about a failed request to the model API; empty when it did not fail.
QString modelFailure(const egress::EgressRecord &r)
{
    const QString secret = r.secret.section(u',', 0, 0);
    // The proxy could not read the key itself (a locked keychain, a removed secret): nothing went out.
    if (r.status == 502 && r.error.startsWith(QLatin1String("the credential for ")))
        return SessionRunner::tr("the key for the model API at %1 is not available, so no request went out: %2")
            .arg(r.host, r.error.section(QStringLiteral(" is not available: "), 1));
    if (!r.error.isEmpty() && (r.status == 0 || r.status >= 500))
        return SessionRunner::tr("cannot reach the model API at %1: %2").arg(r.host, r.error);
    if (r.status == 401 || r.status == 403)
        return SessionRunner::tr("the model API at %1 refused the key (HTTP %2): store the right one with airlockctl secrets "
                                 "set %3 (or on the Secrets page)")
            .arg(r.host)
            .arg(r.status)
            .arg(secret);
    if (r.status == 429)
        return SessionRunner::tr("the model API at %1 is rate-limiting this key (HTTP 429); the agent retries").arg(r.host);
    if (r.status >= 500)
        return SessionRunner::tr("the model API at %1 failed (HTTP %2); the agent retries").arg(r.host).arg(r.status);
    return {};
}

} // namespace

void SessionRunner::modelExchange(const egress::EgressRecord &exchange)
{
    if (exchange.session != m_config.id || exchange.secret.isEmpty())
        return;
    const QString what = modelFailure(exchange);
    if (what.isEmpty()) {
        m_modelFailures = 0;
        return;
    }
    ++m_modelFailures;
    // One event per kind of failure every 15 s, with how many there were, not one per retry.
    if (what == m_lastModelFailure && m_modelFailureClock.isValid() && m_modelFailureClock.elapsed() < 15000)
        return;
    m_lastModelFailure = what;
    m_modelFailureClock.start();
    record("model.failed", {{QStringLiteral("host"), exchange.host},
                             {QStringLiteral("status"), exchange.status},
                             {QStringLiteral("failures"), m_modelFailures},
                             {QStringLiteral("message"), what}});
}

void SessionRunner::detachEgress()
{
    const sandbox::Sandbox *box = m_sandbox.data(); // read once
    if (m_egress && box)
        m_egress->detach(box->id());
}

void SessionRunner::startAgent()
{
    if (!attachEgress())
        return;
    if (m_config.agent.placement == agent::Placement::Sandbox) {
        startAgentInSandbox();
        return;
    }
    auto launch = agent::hostLaunch(m_config.agent, m_config.workspace);
    if (!launch) {
        fail(launch.error());
        return;
    }
    m_client->start(*launch);
    openAcpSession();
}

QString SessionRunner::agentHome() const
{
    // Kept only where the sandbox is meant to outlive a run, and only for an agent inside it: its
    // own conversation files are what session/load reopens next time.
    if (m_config.policy.lifecycle == policy::Lifecycle::Ephemeral || m_config.agent.placement != agent::Placement::Sandbox)
        return {};
    return keptAgentHome(m_config.databasePath, m_config.id);
}

void SessionRunner::startAgentInSandbox()
{
    sandbox::ExecRequest req;
    req.argv = QStringList{m_config.agent.command} + m_config.agent.args;
    // Its home: the sandbox's own when the policy gives it a tmpfs (owned by the agent's user), else
    // /tmp, the one folder every sandbox can write.
    const QString sandboxHome = QString::fromLatin1(policy::kSandboxHome);
    const auto &tmpfs = m_config.policy.filesystem.tmpfs;
    const bool ownHome = !agentHome().isEmpty()
                         || std::any_of(tmpfs.begin(), tmpfs.end(), [&](const policy::Tmpfs &t) { return t.target == sandboxHome; });
    req.env = {QStringLiteral("HOME=") + (ownHome ? sandboxHome : QStringLiteral("/tmp")),
               QStringLiteral("PATH=/usr/local/bin:/usr/bin:/bin")};
    const QProcessEnvironment host = QProcessEnvironment::systemEnvironment();
    for (const QString &name : m_config.agent.envAllow) {
        if (!name.endsWith(u'*') && host.contains(name))
            req.env << name + u'=' + host.value(name);
    }
    req.env << m_config.agentEnv; // its model route and placeholder key, after anything from the host
    req.inheritEnv = true; // the sandbox's own variables (proxy settings) stay
    req.streamStdin = true;
    req.outputCap = kAgentOutputCap;
    auto process = m_sandbox->exec(req);
    if (!process) {
        fail(process.error());
        return;
    }
    m_agentProcess = *process;
    auto &rpc = m_client->connection();
    rpc.setWriter([this](const QByteArray &bytes) {
        if (!m_agentProcess)
            return false;
        m_agentProcess->writeStdin(bytes);
        return true;
    });
    connect(m_agentProcess, &sandbox::SandboxProcess::stdoutReceived, this,
            [this](const QByteArray &chunk) { m_client->connection().receive(chunk); });
    connect(m_agentProcess, &sandbox::SandboxProcess::stderrReceived, this, &SessionRunner::agentLog);
    auto gone = [this](const QString &why) {
        if (!m_agentLogLine.isEmpty())
            agentLogLine(QString::fromUtf8(std::exchange(m_agentLogLine, QByteArray())));
        QString what = why;
        if (const QString tail = agentLogTail(); !tail.isEmpty())
            what += QStringLiteral("; its last words: ") + tail.right(600).simplified();
        m_client->connection().finishInput(Error{ErrorCode::Io, what});
    };
    connect(m_agentProcess, &sandbox::SandboxProcess::finished, this, [gone](const sandbox::ExitStatus &status) {
        gone(QStringLiteral("it %1").arg(status.reason()));
    });
    // As for an agent on the host: one that closed its output but lives on can say nothing more. A
    // moment's grace lets an agent that is exiting anyway report its exit instead.
    connect(m_agentProcess, &sandbox::SandboxProcess::stdoutClosed, this, [this, gone] {
        QTimer::singleShot(kAgentEofGraceMs, this, [this, gone, process = m_agentProcess] {
            if (process && process == m_agentProcess)
                gone(QStringLiteral("the agent closed its output but is still running; it can say nothing more"));
        });
    });
    connect(m_agentProcess, &sandbox::SandboxProcess::failed, this,
            [gone](const Error &error) { gone(error.message); });
    openAcpSession();
}

void SessionRunner::openAcpSession()
{
    auto init = m_client->initialize();
    airlock::then(init, this, [this](const Result<agent::acp::InitializeResult> &r) {
        if (!r) {
            fail(r.error());
            return;
        }
        m_loadable = r->capabilities.loadSession;
        // An agent that reads its key from a variable this session sets (the placeholder, which the
        // proxy replaces) is told to sign in that way, as editors do; it would refuse session/new.
        QString method;
        for (const agent::acp::AuthMethod &m : r->authMethods) {
            const bool allSet = !m.vars.isEmpty() && std::all_of(m.vars.begin(), m.vars.end(), [this](const QString &var) {
                return std::any_of(m_config.agentEnv.begin(), m_config.agentEnv.end(),
                                   [&](const QString &e) { return e.startsWith(var + u'='); });
            });
            if (m.type == QLatin1String("env_var") && allSet) {
                method = m.id;
                break;
            }
        }
        if (method.isEmpty()) {
            openOrLoadAcpSession();
            return;
        }
        airlock::then(m_client->authenticate(method), this, [this, method](const Result<void> &signedIn) {
            if (!signedIn)
                record("agent.error", {{QStringLiteral("message"),
                                        tr("signing in with %1 failed: %2").arg(method, signedIn.error().message)}});
            openOrLoadAcpSession();
        });
    });
}

void SessionRunner::openOrLoadAcpSession()
{
    if (m_config.loadAcpSession.isEmpty() || !m_loadable) {
        newAcpSession();
        return;
    }
    // Resuming: the agent reopens its own session and replays it (already in the store, so not
    // recorded again). If it cannot, a new session gets the transcript instead.
    m_loading = true;
    airlock::then(m_client->loadSession(m_config.loadAcpSession, m_config.workspace), this, [this](const Result<agent::acp::SessionSetup> &s) {
            m_loading = false;
            if (!s) {
                record("agent.error", {{QStringLiteral("message"),
                                        tr("session/load failed (%1); continuing with the transcript").arg(s.error().message)}});
                newAcpSession();
                return;
            }
            m_agentHasHistory = true;
            acpSessionOpened(m_config.loadAcpSession, true);
        });
}

void SessionRunner::newAcpSession()
{
    airlock::then(m_client->newSession(m_config.workspace), this, [this](const Result<agent::acp::SessionSetup> &s) {
        if (!s) {
            fail(s.error());
            return;
        }
        acpSessionOpened(s->sessionId, false);
    });
}

void SessionRunner::acpSessionOpened(const QString &acpSession, bool loaded)
{
    m_acpSession = acpSession;
    // Remembered so a later run can reopen it with session/load.
    record("agent.session", {{QStringLiteral("acpSession"), acpSession},
                             {QStringLiteral("loadable"), m_loadable},
                             {QStringLiteral("loaded"), loaded}});
    setState(State::Idle);
    Q_EMIT ready();
}

} // namespace airlock::session
