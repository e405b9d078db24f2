#include "toolrouter.h"

#include "policy/protection.h"
#include "sandbox/backend.h"
#include "sessionrunner.h"
#include "store/eventstore.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QUrl>

namespace airlock::session {

namespace {
policy::ToolKind toPolicyKind(agent::acp::ToolKind kind)
{
    using K = agent::acp::ToolKind;
    switch (kind) {
    case K::Read: return policy::ToolKind::Read;
    case K::Edit: return policy::ToolKind::Edit;
    case K::Delete: return policy::ToolKind::Delete;
    case K::Move: return policy::ToolKind::Move;
    case K::Search: return policy::ToolKind::Search;
    case K::Execute: return policy::ToolKind::Execute;
    case K::Think: return policy::ToolKind::Think;
    case K::Fetch: return policy::ToolKind::Fetch;
    default: return policy::ToolKind::Other;
    }
}

// The options Airlock offers for its own questions (file and terminal requests).
QJsonArray ownOptions()
{
    auto option = [](const char *id, const char *name, const char *kind) {
        return QJsonObject{{QStringLiteral("optionId"), QString::fromLatin1(id)},
                           {QStringLiteral("name"), QString::fromLatin1(name)},
                           {QStringLiteral("kind"), QString::fromLatin1(kind)}};
    };
    return {option("allow", "Allow", "allow_once"), option("allow-always", "Always allow", "allow_always"),
            option("reject", "Deny", "reject_once"), option("reject-always", "Always deny", "reject_always")};
}

QString kindOf(const QJsonArray &options, const QString &optionId)
{
    for (const QJsonValue &v : options)
        if (v.toObject().value(QStringLiteral("optionId")).toString() == optionId)
            return v.toObject().value(QStringLiteral("kind")).toString();
    return {};
}

QString firstOfKind(const QList<agent::acp::PermissionOption> &options, bool allow)
{
    using P = agent::acp::PermissionKind;
    for (const auto &o : options)
        if (allow ? o.kind == P::AllowOnce : o.kind == P::RejectOnce)
            return o.id;
    for (const auto &o : options)
        if (allow ? o.kind == P::AllowAlways : o.kind == P::RejectAlways)
            return o.id;
    return {};
}

QString sliceLines(const QString &text, std::optional<quint32> line, std::optional<quint32> limit)
{
    if (!line && !limit)
        return text;
    QStringList lines = text.split(u'\n');
    const qsizetype from = line ? std::max<qsizetype>(0, qsizetype(*line) - 1) : 0;
    const qsizetype count = limit ? qsizetype(*limit) : lines.size();
    return lines.mid(from, count).join(u'\n');
}
} // namespace

ToolRouter::ToolRouter(SessionRunner *runner) : QObject(runner), m_runner(runner) {}

QString ToolRouter::insideWorkspace(const QString &path, QString *error) const
{
    const QString workspace = QDir::cleanPath(m_runner->m_config.workspace);
    const QString clean = QDir::cleanPath(path);
    if (clean == workspace || clean.startsWith(workspace + u'/'))
        return clean;
    *error = tr("%1 is outside the session's workspace (%2)").arg(path, workspace);
    return {};
}

void ToolRouter::gate(const policy::ToolCall &call, const QString &title, const QJsonObject &toolCall,
                      std::function<void()> go, std::function<void(const QString &)> refuse)
{
    // "Always" answers given in this session come first, then the policy's rules.
    policy::Approvals approvals = m_runner->m_config.policy.approvals;
    approvals.rules = m_sessionRules + approvals.rules;
    const policy::Decision d = policy::evaluate(approvals, call);
    if (d.verdict == policy::Verdict::Allow) {
        go();
        return;
    }
    if (d.verdict == policy::Verdict::Deny) {
        refuse(d.explanation);
        return;
    }
    QJsonObject described = toolCall;
    if (!described.contains(QStringLiteral("title")))
        described.insert(QStringLiteral("title"), title);
    park(call, described, ownOptions(), d,
         [go, refuse](const QString &optionId, const QString &) {
             if (optionId.startsWith(QLatin1String("allow")))
                 go();
             else
                 refuse(QStringLiteral("denied by the user"));
         },
         [refuse] { refuse(QStringLiteral("cancelled")); });
}

QString ToolRouter::park(const policy::ToolCall &call, const QJsonObject &toolCall, const QJsonArray &options,
                         const policy::Decision &decision,
                         std::function<void(const QString &, const QString &)> resolve, std::function<void()> cancel)
{
    const QString request = QString::number(++m_nextRequest);
    m_open.insert(request, Open{options, call, std::move(resolve), std::move(cancel)});
    m_runner->record(store::kinds::PermissionRequested,
                     {{QStringLiteral("request"), request}, {QStringLiteral("toolCall"), toolCall},
                      {QStringLiteral("options"), options},
                      {QStringLiteral("rule"), decision.ruleIndex < 0 ? QString() : QString::number(decision.ruleIndex + 1)},
                      {QStringLiteral("explanation"), decision.explanation}});
    if (m_runner->m_state == SessionRunner::State::Running)
        m_runner->setState(SessionRunner::State::Blocked);
    return request;
}

bool ToolRouter::answer(const QString &request, const QString &optionId, const QString &by)
{
    auto it = m_open.find(request);
    if (it == m_open.end())
        return false;
    const Open open = *it;
    m_open.erase(it);
    const QString kind = kindOf(open.options, optionId);
    const bool allow = kind.startsWith(QLatin1String("allow"));
    // "Always" becomes a rule for the rest of the session, as narrow as the call: its kind, and for a
    // command or a fetch the command line or the host (never "anything"). It is recorded, so the
    // thread and the CLI show it, and removeSessionRule() takes it back.
    if (kind.endsWith(QLatin1String("always"))) {
        policy::ApprovalRule rule;
        rule.kind = open.call.kind == policy::ToolKind::Any ? policy::ToolKind::Other : open.call.kind;
        if (rule.kind == policy::ToolKind::Execute && !open.call.command.isEmpty())
            rule.command = open.call.command;
        if (rule.kind == policy::ToolKind::Fetch && !open.call.domain.isEmpty())
            rule.domain = open.call.domain;
        if ((rule.kind == policy::ToolKind::Delete || rule.kind == policy::ToolKind::Move) && !open.call.path.isEmpty())
            rule.path = open.call.path;
        rule.decision = allow ? policy::Verdict::Allow : policy::Verdict::Deny;
        m_sessionRules.prepend(rule);
        m_runner->record("approval.rule", {{QStringLiteral("action"), QStringLiteral("added")},
                                           {QStringLiteral("request"), request},
                                           {QStringLiteral("rule"), describeRule(rule)},
                                           {QStringLiteral("by"), by}});
    }
    decided(request, allow ? QStringLiteral("allow") : QStringLiteral("deny"), by,
            kind.endsWith(QLatin1String("always")) ? tr("and for the rest of this session") : QString(), optionId);
    if (m_open.isEmpty() && m_runner->m_state == SessionRunner::State::Blocked)
        m_runner->setState(SessionRunner::State::Running);
    open.resolve(optionId, by);
    return true;
}

QJsonObject ToolRouter::describeRule(const policy::ApprovalRule &rule)
{
    QJsonObject o{{QStringLiteral("kind"), policy::nameOf(rule.kind)}, {QStringLiteral("decision"), policy::nameOf(rule.decision)}};
    if (rule.command)
        o.insert(QStringLiteral("command"), *rule.command);
    if (rule.path)
        o.insert(QStringLiteral("path"), *rule.path);
    if (rule.domain)
        o.insert(QStringLiteral("domain"), *rule.domain);
    return o;
}

bool ToolRouter::removeSessionRule(int index, const QString &by)
{
    if (index < 0 || index >= m_sessionRules.size())
        return false;
    const policy::ApprovalRule rule = m_sessionRules.takeAt(index);
    m_runner->record("approval.rule", {{QStringLiteral("action"), QStringLiteral("removed")},
                                       {QStringLiteral("rule"), describeRule(rule)},
                                       {QStringLiteral("by"), by}});
    return true;
}

void ToolRouter::answerFromStore(const QList<store::ApprovalRow> &open)
{
    for (const store::ApprovalRow &row : open) {
        if (row.session == m_runner->id() && !row.answer.isEmpty() && m_open.contains(row.request))
            answer(row.request, row.answer, row.answeredBy.isEmpty() ? QStringLiteral("user") : row.answeredBy);
    }
}

void ToolRouter::decided(const QString &request, const QString &decision, const QString &by,
                         const QString &explanation, const QString &optionId)
{
    QJsonObject p{{QStringLiteral("request"), request}, {QStringLiteral("decision"), decision},
                  {QStringLiteral("by"), by}, {QStringLiteral("explanation"), explanation}};
    if (!optionId.isEmpty())
        p.insert(QStringLiteral("outcome"), QJsonObject{{QStringLiteral("outcome"), QStringLiteral("selected")},
                                                        {QStringLiteral("optionId"), optionId}});
    m_runner->record(store::kinds::PermissionDecided, p);
}

void ToolRouter::cancelAll()
{
    const auto open = m_open;
    m_open.clear();
    for (auto it = open.cbegin(); it != open.cend(); ++it) {
        decided(it.key(), QStringLiteral("cancelled"), QStringLiteral("airlock"), tr("the turn ended"));
        it->cancel();
    }
}

void ToolRouter::requestPermission(const agent::acp::PermissionRequest &request,
                                   agent::AcpReply<agent::acp::PermissionOutcome> reply)
{
    const auto &tc = request.toolCall;
    policy::ToolCall call;
    call.kind = tc.kind ? toPolicyKind(*tc.kind) : policy::ToolKind::Other;
    const QJsonObject input = tc.rawInput.value_or(QJsonValue()).toObject();
    call.command = input.value(QStringLiteral("command")).toString();
    if (call.command.isEmpty() && call.kind == policy::ToolKind::Execute)
        call.command = tc.title.value_or(QString());
    if (tc.locations && !tc.locations->isEmpty())
        call.path = tc.locations->first().path;
    const QString url = input.value(QStringLiteral("url")).toString();
    if (!url.isEmpty())
        call.domain = QUrl(url).host();
    QJsonArray options;
    for (const auto &o : request.options)
        options.append(QJsonObject{{QStringLiteral("optionId"), o.id}, {QStringLiteral("name"), o.name},
                                   {QStringLiteral("kind"), agent::acp::nameOf(o.kind)}});
    const QJsonObject toolCall = request.raw.value(QStringLiteral("toolCall")).toObject();

    policy::Approvals approvals = m_runner->m_config.policy.approvals;
    approvals.rules = m_sessionRules + approvals.rules;
    const policy::Decision d = policy::evaluate(approvals, call);
    if (d.verdict != policy::Verdict::Ask) {
        const QString option = firstOfKind(request.options, d.verdict == policy::Verdict::Allow);
        const QString id = QString::number(++m_nextRequest);
        m_runner->record(store::kinds::PermissionRequested,
                         {{QStringLiteral("request"), id}, {QStringLiteral("toolCall"), toolCall},
                          {QStringLiteral("options"), options}, {QStringLiteral("explanation"), d.explanation}});
        decided(id, d.verdict == policy::Verdict::Allow ? QStringLiteral("allow") : QStringLiteral("deny"),
                d.ruleIndex < 0 ? QStringLiteral("policy-default") : QStringLiteral("rule"), d.explanation, option);
        reply.ok(option.isEmpty() ? agent::acp::PermissionOutcome::cancel() : agent::acp::PermissionOutcome::select(option));
        return;
    }
    const QString id = park(call, toolCall, options, d,
                            [reply](const QString &optionId, const QString &) {
                                reply.ok(agent::acp::PermissionOutcome::select(optionId));
                            },
                            [reply] { reply.ok(agent::acp::PermissionOutcome::cancel()); });
    // The agent may withdraw the question (turn cancelled): close it in the inbox too.
    reply.onCancelled([this, id] {
        if (m_open.remove(id))
            decided(id, QStringLiteral("cancelled"), QStringLiteral("agent"), tr("the agent withdrew the request"));
    });
}

void ToolRouter::readTextFile(const agent::acp::ReadTextFileRequest &request, agent::AcpReply<QString> reply)
{
    ++m_routed;
    QString error;
    const QString path = insideWorkspace(request.path, &error);
    if (path.isEmpty()) {
        reply.fail(Error{ErrorCode::InvalidArgument, error});
        return;
    }
    policy::ToolCall call{policy::ToolKind::Read, {}, path, {}};
    gate(call, tr("Read %1").arg(path), {{QStringLiteral("kind"), QStringLiteral("read")}},
         [this, path, request, reply] {
             if (!m_runner->m_sandbox) {
                 reply.fail(Error{ErrorCode::Io, tr("the sandbox is gone")});
                 return;
             }
             m_runner->m_sandbox->readFile(path).then(this, [request, reply](const Result<QByteArray> &r) {
                 if (!r)
                     reply.fail(r.error());
                 else
                     reply.ok(sliceLines(QString::fromUtf8(*r), request.line, request.limit));
             });
         },
         [reply](const QString &why) { reply.fail(Error{ErrorCode::InvalidArgument, why}); });
}

void ToolRouter::writeTextFile(const agent::acp::WriteTextFileRequest &request, agent::AcpReply<void> reply)
{
    ++m_routed;
    QString error;
    const QString path = insideWorkspace(request.path, &error);
    if (path.isEmpty()) {
        reply.fail(Error{ErrorCode::InvalidArgument, error});
        return;
    }
    // Refused before any question: no answer, rule or "always" may open a protected name.
    const QString pattern = policy::protectedMatch(policy::protectedNames(m_runner->m_config.policy.filesystem),
                                                   policy::workspaceRelative(m_runner->m_config.workspace, path));
    if (!pattern.isEmpty()) {
        reply.fail(Error{ErrorCode::InvalidArgument, policy::protectedRefusal(path, pattern)});
        return;
    }
    policy::ToolCall call{policy::ToolKind::Edit, {}, path, {}};
    gate(call, tr("Write %1").arg(path), {{QStringLiteral("kind"), QStringLiteral("edit")},
                                          {QStringLiteral("locations"), QJsonArray{QJsonObject{{QStringLiteral("path"), path}}}}},
         [this, path, request, reply] {
             if (!m_runner->m_sandbox) {
                 reply.fail(Error{ErrorCode::Io, tr("the sandbox is gone")});
                 return;
             }
             sandbox::WriteOptions options;
             options.makeParents = true;
             m_runner->m_sandbox->writeFile(path, request.content.toUtf8(), options)
                 .then(this, [reply](const Result<quint64> &r) {
                     if (!r)
                         reply.fail(r.error());
                     else
                         reply.ok();
                 });
         },
         [reply](const QString &why) { reply.fail(Error{ErrorCode::InvalidArgument, why}); });
}

void ToolRouter::createTerminal(const agent::acp::CreateTerminalRequest &request, agent::AcpReply<QString> reply)
{
    ++m_routed;
    const QString commandLine = (QStringList{request.command} + request.args).join(u' ');
    QString cwd = request.cwd;
    if (!cwd.isEmpty()) {
        QString error;
        cwd = insideWorkspace(cwd, &error);
        if (cwd.isEmpty()) {
            reply.fail(Error{ErrorCode::InvalidArgument, error});
            return;
        }
    }
    policy::ToolCall call{policy::ToolKind::Execute, commandLine, cwd, {}};
    gate(call, tr("Run %1").arg(commandLine),
         {{QStringLiteral("kind"), QStringLiteral("execute")}, {QStringLiteral("rawInput"), QJsonObject{{QStringLiteral("command"), commandLine}}}},
         [this, request, cwd, reply] {
             if (!m_runner->m_sandbox) {
                 reply.fail(Error{ErrorCode::Io, tr("the sandbox is gone")});
                 return;
             }
             sandbox::ExecRequest exec;
             exec.argv = QStringList{request.command} + request.args;
             for (const auto &v : request.env)
                 exec.env << v.name + u'=' + v.value;
             exec.inheritEnv = true;
             exec.cwd = cwd;
             auto process = m_runner->m_sandbox->exec(exec);
             if (!process) {
                 reply.fail(process.error());
                 return;
             }
             const QString id = QStringLiteral("term-%1").arg(++m_nextTerminal);
             Terminal &t = m_terminals[id];
             t.process = *process;
             t.limit = request.outputByteLimit.value_or(1 << 20);
             auto append = [this, id](const QByteArray &chunk) {
                 Terminal *term = terminal(id);
                 if (!term)
                     return;
                 term->output += chunk;
                 if (quint64(term->output.size()) > term->limit) { // keep the tail, as ACP asks
                     term->output = term->output.right(qsizetype(term->limit));
                     term->truncated = true;
                 }
             };
             connect(*process, &sandbox::SandboxProcess::stdoutReceived, this, append);
             connect(*process, &sandbox::SandboxProcess::stderrReceived, this, append);
             connect(*process, &sandbox::SandboxProcess::finished, this, [this, id](const sandbox::ExitStatus &s) {
                 Terminal *term = terminal(id);
                 if (!term)
                     return;
                 agent::acp::TerminalExitStatus exit;
                 if (s.exitCode)
                     exit.exitCode = quint32(*s.exitCode);
                 if (s.signal)
                     exit.signal = QString::number(*s.signal);
                 term->exit = exit;
                 for (const auto &waiting : std::as_const(term->waiting))
                     waiting.ok(exit);
                 term->waiting.clear();
             });
             reply.ok(id);
         },
         [reply](const QString &why) { reply.fail(Error{ErrorCode::InvalidArgument, why}); });
}

ToolRouter::Terminal *ToolRouter::terminal(const QString &id)
{
    auto it = m_terminals.find(id);
    return it == m_terminals.end() ? nullptr : &*it;
}

void ToolRouter::terminalOutput(const agent::acp::TerminalRequest &request, agent::AcpReply<agent::acp::TerminalOutput> reply)
{
    Terminal *t = terminal(request.terminalId);
    if (!t) {
        reply.fail(Error{ErrorCode::NotFound, tr("no terminal %1").arg(request.terminalId)});
        return;
    }
    agent::acp::TerminalOutput out;
    out.output = QString::fromUtf8(t->output);
    out.truncated = t->truncated;
    out.exitStatus = t->exit;
    reply.ok(out);
}

void ToolRouter::waitForTerminalExit(const agent::acp::TerminalRequest &request,
                                     agent::AcpReply<agent::acp::TerminalExitStatus> reply)
{
    Terminal *t = terminal(request.terminalId);
    if (!t) {
        reply.fail(Error{ErrorCode::NotFound, tr("no terminal %1").arg(request.terminalId)});
        return;
    }
    if (t->exit)
        reply.ok(*t->exit);
    else
        t->waiting.append(reply);
}

void ToolRouter::killTerminal(const agent::acp::TerminalRequest &request, agent::AcpReply<void> reply)
{
    Terminal *t = terminal(request.terminalId);
    if (!t) {
        reply.fail(Error{ErrorCode::NotFound, tr("no terminal %1").arg(request.terminalId)});
        return;
    }
    if (t->process && !t->exit)
        t->process->kill();
    reply.ok();
}

void ToolRouter::releaseTerminal(const agent::acp::TerminalRequest &request, agent::AcpReply<void> reply)
{
    Terminal *t = terminal(request.terminalId);
    if (!t) {
        reply.fail(Error{ErrorCode::NotFound, tr("no terminal %1").arg(request.terminalId)});
        return;
    }
    if (t->process && !t->exit)
        t->process->kill();
    m_terminals.remove(request.terminalId);
    reply.ok();
}

void ToolRouter::killAllTerminals()
{
    for (auto &t : m_terminals)
        if (t.process && !t.exit)
            t.process->kill();
}

} // namespace airlock::session
