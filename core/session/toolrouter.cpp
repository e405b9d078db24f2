#include "toolrouter.h"
#include "futures.h"

#include "policy/patterns.h"
#include "requestedcall.h"
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

// The first offered option of one of these kinds, in the order given; options are judged by their
// kind only, never by their name or place in the list.
QString optionOfKind(const QJsonArray &options, std::initializer_list<const char *> kinds)
{
    for (const char *kind : kinds)
        for (const QJsonValue &v : options)
            if (v.toObject().value(QStringLiteral("kind")).toString() == QLatin1String(kind))
                return v.toObject().value(QStringLiteral("optionId")).toString();
    return {};
}

QString rejectOption(const QJsonArray &options)
{
    return optionOfKind(options, {"reject_once", "reject_always"});
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

policy::Approvals ToolRouter::rules() const
{
    // "Always" answers given in this session come first, then the policy's rules.
    policy::Approvals approvals = m_runner->m_config.policy.approvals;
    approvals.rules = m_sessionRules + approvals.rules;
    return approvals;
}

void ToolRouter::gate(const RequestedCall &call, const QString &title, const QJsonObject &toolCall,
                      std::function<void()> go, std::function<void(const QString &)> refuse)
{
    const policy::Decision d = evaluateRequested(rules(), call);
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
    const QJsonArray options = ownOptions();
    park(call, described, options, d,
         [go, refuse, options](const QString &optionId, const QString &) {
             if (kindOf(options, optionId).startsWith(QLatin1String("allow")))
                 go();
             else
                 refuse(QStringLiteral("denied by the user"));
         },
         [refuse] { refuse(QStringLiteral("cancelled")); });
}

QJsonObject ToolRouter::withReading(QJsonObject toolCall, const RequestedCall &call)
{
    // The agent's own tool call as sent, plus Airlock's reading of what runs under a key of its own
    // (replacing anything the agent put there).
    toolCall.insert(QStringLiteral("airlock"), call.shown(toolCall.value(QStringLiteral("title")).toString()));
    return toolCall;
}

QString ToolRouter::park(const RequestedCall &call, const QJsonObject &toolCall, const QJsonArray &options,
                         const policy::Decision &decision,
                         std::function<void(const QString &, const QString &)> resolve, std::function<void()> cancel)
{
    const QString request = QString::number(++m_nextRequest);
    m_open.insert(request, Open{options, call.call, call.commandUnknown, std::move(resolve), std::move(cancel)});
    m_runner->record(store::kinds::PermissionRequested,
                     {{QStringLiteral("request"), request}, {QStringLiteral("toolCall"), withReading(toolCall, call)},
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
    // An answer that names no offered option (an empty one, one from another request, a typo in the
    // store) is a deny: a reject option if the agent offered one, else the request ends cancelled.
    QString chosen = optionId;
    QString kind = kindOf(open.options, chosen);
    if (kind.isEmpty()) {
        chosen = rejectOption(open.options);
        kind = kindOf(open.options, chosen);
    }
    const bool allow = kind.startsWith(QLatin1String("allow"));
    // "Always" for a call that says nothing about what it runs or where it goes would become a rule
    // for every command or every host, and a command with `*`, `?` or `[` in it would become a glob
    // wider than the call: such an answer is taken as "this once".
    const bool unbounded = (open.call.kind == policy::ToolKind::Execute
                            && (open.commandUnknown || open.call.command.isEmpty() || policy::isCommandGlob(open.call.command)))
        || (open.call.kind == policy::ToolKind::Fetch && open.call.domain.isEmpty());
    // "Always" becomes a rule for the rest of the session, as narrow as the call: its kind, and for a
    // command or a fetch the command line or the host (never "anything"). It is recorded, so the
    // thread and the CLI show it, and removeSessionRule() takes it back.
    if (kind.endsWith(QLatin1String("always")) && !(allow && unbounded)) {
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
    QString note;
    if (kind.endsWith(QLatin1String("always")))
        note = allow && unbounded ? tr("this once: the call does not say what it runs, so no rule was made")
                                  : tr("and for the rest of this session");
    decided(request, allow ? QStringLiteral("allow") : QStringLiteral("deny"), by, note, chosen, kind);
    if (m_open.isEmpty() && m_runner->m_state == SessionRunner::State::Blocked)
        m_runner->setState(SessionRunner::State::Running);
    if (chosen.isEmpty())
        open.cancel();
    else
        open.resolve(chosen, by);
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
                         const QString &explanation, const QString &optionId, const QString &optionKind)
{
    // The outcome is exactly what the agent is sent: the option and its kind, or "cancelled".
    QJsonObject p{{QStringLiteral("request"), request}, {QStringLiteral("decision"), decision},
                  {QStringLiteral("by"), by}, {QStringLiteral("explanation"), explanation}};
    if (!optionId.isEmpty())
        p.insert(QStringLiteral("outcome"), QJsonObject{{QStringLiteral("outcome"), QStringLiteral("selected")},
                                                        {QStringLiteral("optionId"), optionId},
                                                        {QStringLiteral("kind"), optionKind}});
    else
        p.insert(QStringLiteral("outcome"), QJsonObject{{QStringLiteral("outcome"), QStringLiteral("cancelled")}});
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
    // Decided on the tool call as the client knows it (its announcements and this request together),
    // and on what it runs, not on its title.
    agent::acp::ToolCall merged;
    const agent::AcpSessionState *state = m_runner->m_client->session(request.sessionId);
    if (const agent::acp::ToolCall *known = state ? state->toolCall(request.toolCall.id) : nullptr) {
        merged = *known;
    } else {
        merged.id = request.toolCall.id;
        request.toolCall.applyTo(merged);
    }
    const RequestedCall call = readRequestedCall(merged, m_runner->m_config.workspace);
    QJsonArray options;
    for (const auto &o : request.options)
        options.append(QJsonObject{{QStringLiteral("optionId"), o.id}, {QStringLiteral("name"), o.name},
                                   {QStringLiteral("kind"), agent::acp::nameOf(o.kind)}});
    QJsonObject toolCall = request.raw.value(QStringLiteral("toolCall")).toObject();
    if (!toolCall.contains(QStringLiteral("title")) && !merged.title.isEmpty())
        toolCall.insert(QStringLiteral("title"), merged.title);

    const policy::Decision d = evaluateRequested(rules(), call);
    // A rule's allow answers "allow once" and nothing wider; with no such option the person decides.
    // A deny answers with a reject option, or ends the request cancelled.
    const QString option = d.verdict == policy::Verdict::Allow ? optionOfKind(options, {"allow_once"})
        : d.verdict == policy::Verdict::Deny                   ? rejectOption(options)
                                                               : QString();
    if (d.verdict == policy::Verdict::Deny || (d.verdict == policy::Verdict::Allow && !option.isEmpty())) {
        const QString id = QString::number(++m_nextRequest);
        m_runner->record(store::kinds::PermissionRequested,
                         {{QStringLiteral("request"), id}, {QStringLiteral("toolCall"), withReading(toolCall, call)},
                          {QStringLiteral("options"), options}, {QStringLiteral("explanation"), d.explanation}});
        decided(id, d.verdict == policy::Verdict::Allow ? QStringLiteral("allow") : QStringLiteral("deny"),
                d.ruleIndex < 0 ? QStringLiteral("policy-default") : QStringLiteral("rule"), d.explanation, option,
                kindOf(options, option));
        if (d.verdict == policy::Verdict::Deny)
            m_refusedCalls.insert(request.toolCall.id);
        reply.ok(option.isEmpty() ? agent::acp::PermissionOutcome::cancel() : agent::acp::PermissionOutcome::select(option));
        return;
    }
    const QString toolCallId = request.toolCall.id;
    const QString id = park(call, toolCall, options, d,
                            [this, reply, options, toolCallId](const QString &optionId, const QString &) {
                                if (!kindOf(options, optionId).startsWith(QLatin1String("allow")))
                                    m_refusedCalls.insert(toolCallId);
                                reply.ok(agent::acp::PermissionOutcome::select(optionId));
                            },
                            [this, reply, toolCallId] {
                                m_refusedCalls.insert(toolCallId);
                                reply.ok(agent::acp::PermissionOutcome::cancel());
                            });
    // The agent may withdraw the question (turn cancelled): close it in the inbox too.
    reply.onCancelled([this, id, toolCallId] {
        m_refusedCalls.insert(toolCallId);
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
    RequestedCall call;
    call.call.kind = policy::ToolKind::Read;
    call.paths << policyPath(path, m_runner->m_config.workspace);
    gate(call, tr("Read %1").arg(path), {{QStringLiteral("kind"), QStringLiteral("read")}},
         [this, path, request, reply] {
             if (!m_runner->m_sandbox) {
                 reply.fail(Error{ErrorCode::Io, tr("the sandbox is gone")});
                 return;
             }
             airlock::then(m_runner->m_sandbox->readFile(path), this, [request, reply](const Result<QByteArray> &r) {
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
    RequestedCall call;
    call.call.kind = policy::ToolKind::Edit;
    call.paths << policyPath(path, m_runner->m_config.workspace);
    gate(call, tr("Write %1").arg(path), {{QStringLiteral("kind"), QStringLiteral("edit")},
                                          {QStringLiteral("locations"), QJsonArray{QJsonObject{{QStringLiteral("path"), path}}}}},
         [this, path, request, reply] {
             if (!m_runner->m_sandbox) {
                 reply.fail(Error{ErrorCode::Io, tr("the sandbox is gone")});
                 return;
             }
             sandbox::WriteOptions options;
             options.makeParents = true;
             airlock::then(m_runner->m_sandbox->writeFile(path, request.content.toUtf8(), options), this, [reply](const Result<quint64> &r) {
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
    QString cwd = request.cwd;
    if (!cwd.isEmpty()) {
        QString error;
        cwd = insideWorkspace(cwd, &error);
        if (cwd.isEmpty()) {
            reply.fail(Error{ErrorCode::InvalidArgument, error});
            return;
        }
    }
    // Decided on, and shown as, exactly what the sandbox is asked to run: this argv (no shell reads
    // it), or a shell line run by `sh -c` and read as a shell reads it; these variables, this folder.
    QStringList env;
    for (const auto &v : request.env)
        env << v.name + u'=' + v.value;
    const QString workspace = m_runner->m_config.workspace;
    const RequestedCall call = terminalCall(request.command, request.args, env, policyPath(cwd, workspace));
    QJsonObject rawInput{{QStringLiteral("command"), request.command},
                         {QStringLiteral("args"), QJsonArray::fromStringList(request.args)}};
    if (!env.isEmpty())
        rawInput.insert(QStringLiteral("env"), QJsonArray::fromStringList(env));
    if (!cwd.isEmpty())
        rawInput.insert(QStringLiteral("cwd"), cwd);
    // What runs is what was decided on: that argv, or the shell line through `sh -c`.
    const QStringList argv = call.call.argv ? *call.call.argv
                                            : QStringList{QStringLiteral("/bin/sh"), QStringLiteral("-c"), request.command};
    gate(call, tr("Run %1").arg(call.call.command),
         {{QStringLiteral("kind"), QStringLiteral("execute")}, {QStringLiteral("rawInput"), rawInput}},
         [this, request, argv, cwd, reply] {
             if (!m_runner->m_sandbox) {
                 reply.fail(Error{ErrorCode::Io, tr("the sandbox is gone")});
                 return;
             }
             sandbox::ExecRequest exec;
             exec.argv = argv;
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
                 agent::acp::TerminalExitStatus exit;
                 if (s.exitCode)
                     exit.exitCode = quint32(*s.exitCode);
                 if (s.signal)
                     exit.signal = sandbox::signalName(*s.signal);
                 // The agent sees why, not just a bare 137: a limit it hit is something it can avoid.
                 const bool explain = s.signal || s.outputCapStopped || s.timedOut;
                 terminalEnded(id, exit, explain ? tr("the command ended: %1").arg(s.reason()) : QString());
             });
             // It never ran (no such program, a bad folder) or the sandbox went away: the exit a
             // shell gives a command it cannot run, and why, at once — not at the agent's timeout.
             connect(*process, &sandbox::SandboxProcess::failed, this, [this, id](const Error &error) {
                 agent::acp::TerminalExitStatus exit;
                 exit.exitCode = 127;
                 terminalEnded(id, exit, tr("the command could not run: %1").arg(error.message));
             });
             reply.ok(id);
         },
         [reply](const QString &why) { reply.fail(Error{ErrorCode::InvalidArgument, why}); });
}

void ToolRouter::terminalEnded(const QString &id, const agent::acp::TerminalExitStatus &exit, const QString &why)
{
    Terminal *term = terminal(id);
    if (!term || term->exit)
        return;
    if (!why.isEmpty())
        term->output += QStringLiteral("\n[airlock] %1\n").arg(why).toUtf8();
    term->exit = exit;
    const auto waiting = std::exchange(term->waiting, {});
    for (const auto &w : waiting)
        w.ok(exit);
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
