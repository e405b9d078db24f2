#include "demoturn.h"

#include <QDir>
#include <QRegularExpression>
#include <QTimer>
#include <QUrl>

using airlock::agent::RpcResult;

namespace demo {

namespace {

// The bug the demo workspace ships with, and its fix (resources/demo-workspace/slugify.sh).
const QString kBuggyLine = QStringLiteral("        | tr -cs 'A-Za-z0-9' '-' \\");
const QString kFixedLines = QStringLiteral("        | tr 'A-Z' 'a-z' \\\n        | tr -cs 'a-z0-9' '-' \\");
const QString kUpstream = QStringLiteral("https://example.com/slugify/VERSION");

QJsonObject text(const QString &t)
{
    return QJsonObject{{QStringLiteral("type"), QStringLiteral("text")}, {QStringLiteral("text"), t}};
}

QJsonArray textContent(const QString &t)
{
    return QJsonArray{QJsonObject{{QStringLiteral("type"), QStringLiteral("content")}, {QStringLiteral("content"), text(t)}}};
}

quint64 tokensOf(const QString &s)
{
    return quint64(s.size() + 3) / 4;
}

} // namespace

Turn::Turn(Agent *agent, Session &session, QJsonArray prompt, airlock::agent::RpcResponder responder)
    : QObject(agent), m_agent(agent), m_session(session), m_prompt(std::move(prompt)), m_responder(std::move(responder))
{
}

QString Turn::path(const QString &relative) const
{
    return QDir(m_session.cwd).filePath(relative);
}

bool Turn::terse() const
{
    return m_session.verbosity == QLatin1String("terse");
}

void Turn::start()
{
    QString words;
    for (const QJsonValue &v : std::as_const(m_prompt)) {
        const QJsonObject b = v.toObject();
        const QString type = b.value(QLatin1String("type")).toString();
        if (type == QLatin1String("text")) {
            words += b.value(QLatin1String("text")).toString();
        } else if (type == QLatin1String("resource_link")) {
            const QUrl url(b.value(QLatin1String("uri")).toString());
            if (url.isLocalFile() && m_links.size() < 3)
                m_links.append(url.toLocalFile());
        }
    }
    m_inTokens += tokensOf(words);
    if (m_agent->options().flood > 0)
        return next(&Turn::flood);
    if (!m_agent->options().script.isEmpty())
        return next(&Turn::scripted);
    if (words.startsWith(QLatin1String("/echo ")))
        return echo(words.mid(6));
    next(&Turn::intro);
}

void Turn::cancel()
{
    m_cancelled = true;
}

void Turn::next(Step step)
{
    QTimer::singleShot(m_agent->options().paceMs, this, [this, step] {
        if (!stopIfCancelled())
            (this->*step)();
    });
}

bool Turn::stopIfCancelled()
{
    if (!m_cancelled)
        return false;
    finish(QStringLiteral("cancelled"));
    return true;
}

void Turn::finish(const QString &stopReason)
{
    if (m_finished)
        return;
    m_finished = true;
    m_session.tokens += m_inTokens + m_outTokens;
    m_responder.respond(QJsonObject{
        {QStringLiteral("stopReason"), stopReason},
        {QStringLiteral("usage"), QJsonObject{{QStringLiteral("totalTokens"), double(m_inTokens + m_outTokens)},
                                              {QStringLiteral("inputTokens"), double(m_inTokens)},
                                              {QStringLiteral("outputTokens"), double(m_outTokens)},
                                              {QStringLiteral("thoughtTokens"), double(m_thoughtTokens)}}},
    });
    deleteLater();
}

void Turn::update(const QJsonObject &u)
{
    m_agent->sendUpdate(m_session, u);
}

void Turn::say(const QString &t, bool thought)
{
    (thought ? m_thoughtTokens : m_outTokens) += tokensOf(t);
    update(QJsonObject{{QStringLiteral("sessionUpdate"),
                        thought ? QStringLiteral("agent_thought_chunk") : QStringLiteral("agent_message_chunk")},
                       {QStringLiteral("content"), text(t)}});
}

void Turn::plan(int done, bool inProgress)
{
    static const char *const steps[] = {"Read slugify.sh and its test cases", "Run the tests to see what fails",
                                        "Fix the bug", "Run the tests again", "Check for a newer upstream version"};
    QJsonArray entries;
    for (int i = 0; i < 5; ++i) {
        const QString status = i < done ? QStringLiteral("completed")
            : (i == done && inProgress)  ? QStringLiteral("in_progress")
                                         : QStringLiteral("pending");
        entries.append(QJsonObject{{QStringLiteral("content"), QString::fromLatin1(steps[i])},
                                   {QStringLiteral("priority"), i < 4 ? QStringLiteral("high") : QStringLiteral("low")},
                                   {QStringLiteral("status"), status}});
    }
    update(QJsonObject{{QStringLiteral("sessionUpdate"), QStringLiteral("plan")}, {QStringLiteral("entries"), entries}});
}

void Turn::toolCall(const QString &id, const QString &title, const QString &kind, const QJsonObject &extra)
{
    QJsonObject u{{QStringLiteral("sessionUpdate"), QStringLiteral("tool_call")},
                  {QStringLiteral("toolCallId"), id},
                  {QStringLiteral("title"), title},
                  {QStringLiteral("kind"), kind},
                  {QStringLiteral("status"), QStringLiteral("pending")}};
    for (auto it = extra.begin(); it != extra.end(); ++it)
        u.insert(it.key(), it.value());
    update(u);
}

void Turn::toolUpdate(const QString &id, const QJsonObject &fields)
{
    QJsonObject u{{QStringLiteral("sessionUpdate"), QStringLiteral("tool_call_update")}, {QStringLiteral("toolCallId"), id}};
    for (auto it = fields.begin(); it != fields.end(); ++it)
        u.insert(it.key(), it.value());
    update(u);
}

void Turn::call(const QString &method, QJsonObject params, std::function<void(const RpcResult &)> done)
{
    params.insert(QStringLiteral("sessionId"), m_session.id);
    QPointer<Turn> self(this);
    m_agent->rpc()->call(method, params, [self, done = std::move(done)](const RpcResult &r) {
        const Turn *turn = self.data();
        if (turn && !turn->m_finished)
            done(r);
    });
}

void Turn::readFile(const QString &file, std::function<void(const RpcResult &)> done, int line, int limit)
{
    QJsonObject params{{QStringLiteral("path"), file}};
    if (line > 0)
        params.insert(QStringLiteral("line"), line);
    if (limit > 0)
        params.insert(QStringLiteral("limit"), limit);
    call(QStringLiteral("fs/read_text_file"), params, std::move(done));
}

void Turn::runCommand(const QString &id, const QString &title, const QString &kind, const QStringList &argv,
                      std::function<void(const Run &)> done)
{
    toolCall(id, title, kind, QJsonObject{{QStringLiteral("rawInput"), QJsonObject{{QStringLiteral("command"), argv.join(u' ')}}}});
    QJsonObject create{{QStringLiteral("command"), argv.first()},
                       {QStringLiteral("args"), QJsonArray::fromStringList(argv.mid(1))},
                       {QStringLiteral("cwd"), m_session.cwd},
                       {QStringLiteral("outputByteLimit"), 64 * 1024}};
    call(QStringLiteral("terminal/create"), create, [this, id, kind, done](const RpcResult &created) {
        Run run;
        if (!created || created->toObject().value(QLatin1String("terminalId")).toString().isEmpty()) {
            run.error = created ? QStringLiteral("the client gave no terminal id") : created.error().message;
            toolUpdate(id, QJsonObject{{QStringLiteral("status"), QStringLiteral("failed")},
                                       {QStringLiteral("content"), textContent(run.error)}});
            return done(run);
        }
        run.started = true;
        const QString terminal = created->toObject().value(QLatin1String("terminalId")).toString();
        const QJsonObject which{{QStringLiteral("terminalId"), terminal}};
        toolUpdate(id, QJsonObject{{QStringLiteral("status"), QStringLiteral("in_progress")},
                                   {QStringLiteral("content"), QJsonArray{QJsonObject{{QStringLiteral("type"), QStringLiteral("terminal")},
                                                                                      {QStringLiteral("terminalId"), terminal}}}}});
        call(QStringLiteral("terminal/wait_for_exit"), which, [this, id, kind, done, which, run](const RpcResult &exited) mutable {
            if (exited) {
                run.exitCode = exited->toObject().value(QLatin1String("exitCode")).toInt(-1);
                run.signal = exited->toObject().value(QLatin1String("signal")).toString();
            } else {
                run.error = exited.error().message;
            }
            call(QStringLiteral("terminal/output"), which, [this, id, kind, done, which, run](const RpcResult &out) mutable {
                if (out)
                    run.output = out->toObject().value(QLatin1String("output")).toString();
                m_inTokens += tokensOf(run.output);
                call(QStringLiteral("terminal/release"), which, [](const RpcResult &) {});
                // A test run that finds failures still completed; a fetch that could not connect did not.
                const bool ok = run.error.isEmpty() && run.signal.isEmpty()
                    && (kind != QLatin1String("fetch") || run.exitCode == 0);
                toolUpdate(id, QJsonObject{{QStringLiteral("status"), ok ? QStringLiteral("completed") : QStringLiteral("failed")},
                                           {QStringLiteral("rawOutput"), QJsonObject{{QStringLiteral("exitCode"), run.exitCode},
                                                                                     {QStringLiteral("output"), run.output.right(4000)}}}});
                done(run);
            });
        });
    });
}

void Turn::echo(const QString &words)
{
    say(words);
    finish(QStringLiteral("end_turn"));
}

void Turn::intro()
{
    if (!m_session.titled) {
        m_session.titled = true;
        update(QJsonObject{{QStringLiteral("sessionUpdate"), QStringLiteral("session_info_update")},
                           {QStringLiteral("title"), QStringLiteral("Fix the failing slugify test")}});
    }
    say(QStringLiteral("The user wants the failing test fixed. "), true);
    say(QStringLiteral("I'll read the code and the test cases before touching anything."), true);
    plan(0);
    say(terse() ? QStringLiteral("Looking at the project.") : QStringLiteral("Let me look at the project first."));
    misbehave();
    next(m_links.isEmpty() ? &Turn::readCode : &Turn::readLinks);
}

void Turn::readLinks()
{
    const QString file = m_links.takeFirst();
    const QString id = QStringLiteral("call-link-%1").arg(m_links.size() + 1);
    toolCall(id, QStringLiteral("Read %1").arg(QDir(m_session.cwd).relativeFilePath(file)), QStringLiteral("read"),
             QJsonObject{{QStringLiteral("locations"), QJsonArray{QJsonObject{{QStringLiteral("path"), file}}}}});
    readFile(file, [this, id, file](const RpcResult &r) {
        if (r) {
            const QString content = r->toObject().value(QLatin1String("content")).toString();
            m_inTokens += tokensOf(content);
            toolUpdate(id, QJsonObject{{QStringLiteral("status"), QStringLiteral("completed")}});
            say(QStringLiteral("You pointed me at %1; it starts with: %2\n")
                    .arg(QDir(m_session.cwd).relativeFilePath(file), content.section(u'\n', 0, 0).left(200)));
        } else {
            toolUpdate(id, QJsonObject{{QStringLiteral("status"), QStringLiteral("failed")},
                                       {QStringLiteral("content"), textContent(r.error().message)}});
            say(QStringLiteral("I could not read %1: %2\n").arg(file, r.error().message));
        }
        next(m_links.isEmpty() ? &Turn::readCode : &Turn::readLinks);
    }, 1, 20);
}

void Turn::readCode()
{
    const QString file = path(QStringLiteral("slugify.sh"));
    toolCall(QStringLiteral("call-1"), QStringLiteral("Read slugify.sh"), QStringLiteral("read"),
             QJsonObject{{QStringLiteral("locations"), QJsonArray{QJsonObject{{QStringLiteral("path"), file}}}},
                         {QStringLiteral("rawInput"), QJsonObject{{QStringLiteral("path"), file}}}});
    if (m_agent->options().repeatToolCall)
        toolCall(QStringLiteral("call-1"), QStringLiteral("Read slugify.sh (announced again)"), QStringLiteral("read"),
                 QJsonObject{{QStringLiteral("status"), QStringLiteral("in_progress")}});
    readFile(file, [this, file](const RpcResult &r) {
        if (!r) {
            toolUpdate(QStringLiteral("call-1"), QJsonObject{{QStringLiteral("status"), QStringLiteral("failed")},
                                                            {QStringLiteral("content"), textContent(r.error().message)}});
            say(QStringLiteral("I cannot read slugify.sh (%1), so I stop here.").arg(r.error().message));
            return finish(QStringLiteral("end_turn"));
        }
        m_source = r->toObject().value(QLatin1String("content")).toString();
        m_inTokens += tokensOf(m_source);
        toolUpdate(QStringLiteral("call-1"), QJsonObject{{QStringLiteral("status"), QStringLiteral("completed")},
                                                        {QStringLiteral("content"), textContent(m_source.left(2000))}});
        if (m_agent->options().crashMidTurn)
            return crash();
        const QString cases = path(QStringLiteral("tests/cases.txt"));
        toolCall(QStringLiteral("call-2"), QStringLiteral("Read tests/cases.txt"), QStringLiteral("read"),
                 QJsonObject{{QStringLiteral("locations"), QJsonArray{QJsonObject{{QStringLiteral("path"), cases}, {QStringLiteral("line"), 1}}}}});
        readFile(cases, [this](const RpcResult &c) {
            const QString body = c ? c->toObject().value(QLatin1String("content")).toString() : c.error().message;
            m_inTokens += tokensOf(body);
            toolUpdate(QStringLiteral("call-2"),
                       QJsonObject{{QStringLiteral("status"), c ? QStringLiteral("completed") : QStringLiteral("failed")},
                                   {QStringLiteral("content"), textContent(body.left(2000))}});
            plan(1);
            next(&Turn::firstTestRun);
        }, 1, 50);
    });
}

void Turn::firstTestRun()
{
    say(QStringLiteral(" Now the tests."));
    runCommand(QStringLiteral("call-3"), QStringLiteral("Run the tests"), QStringLiteral("execute"),
               {QStringLiteral("sh"), QStringLiteral("tests/run.sh")}, [this](const Run &run) {
                   if (!run.started) {
                       say(QStringLiteral(" I could not run the tests: %1").arg(run.error));
                       return finish(QStringLiteral("end_turn"));
                   }
                   static const QRegularExpression summary(QStringLiteral("(\\d+) passed, (\\d+) failed"));
                   const auto m = summary.match(run.output);
                   m_firstResult = m.hasMatch() ? m.captured(0) : QStringLiteral("exit status %1").arg(run.exitCode);
                   plan(2);
                   if (run.exitCode == 0) {
                       say(QStringLiteral(" The tests pass already (%1); there is nothing to fix.").arg(m_firstResult));
                       return next(&Turn::checkUpstream);
                   }
                   say(QStringLiteral(" The tests fail: %1.").arg(m_firstResult));
                   next(&Turn::proposeFix);
               });
}

void Turn::proposeFix()
{
    say(QStringLiteral("Every failing case has capital letters in it: slugify never lowercases. "), true);
    say(QStringLiteral("One `tr 'A-Z' 'a-z'` before the dash step fixes it."), true);
    const QStringList lines = m_source.split(u'\n');
    const qsizetype at = lines.indexOf(kBuggyLine);
    if (at < 0 || m_session.neverEdit) {
        say(at < 0 ? QStringLiteral(" This slugify.sh is not the version I know, so I leave it alone.")
                   : QStringLiteral(" You told me never to edit files, so I leave the fix to you."));
        return next(&Turn::checkUpstream);
    }
    m_fixLine = int(at) + 1;
    QStringList fixed = lines;
    fixed[at] = kFixedLines;
    m_fixed = fixed.join(u'\n');
    const QString file = path(QStringLiteral("slugify.sh"));
    toolCall(QStringLiteral("call-4"), QStringLiteral("Lowercase the slug in slugify.sh"), QStringLiteral("edit"),
             QJsonObject{{QStringLiteral("locations"), QJsonArray{QJsonObject{{QStringLiteral("path"), file}, {QStringLiteral("line"), m_fixLine}}}},
                         {QStringLiteral("content"), QJsonArray{QJsonObject{{QStringLiteral("type"), QStringLiteral("diff")},
                                                                            {QStringLiteral("path"), file},
                                                                            {QStringLiteral("oldText"), m_source},
                                                                            {QStringLiteral("newText"), m_fixed}}}},
                         {QStringLiteral("rawInput"), QJsonObject{{QStringLiteral("path"), file}, {QStringLiteral("line"), m_fixLine}}}});
    if (m_session.mode == QLatin1String("auto") || m_session.alwaysAllowEdits)
        return next(&Turn::applyFix);
    next(&Turn::askPermission);
}

void Turn::askPermission()
{
    const QString file = path(QStringLiteral("slugify.sh"));
    auto option = [](const char *id, const char *name, const char *kind) {
        return QJsonObject{{QStringLiteral("optionId"), QString::fromLatin1(id)}, {QStringLiteral("name"), QString::fromLatin1(name)},
                           {QStringLiteral("kind"), QString::fromLatin1(kind)}};
    };
    QJsonObject params{
        {QStringLiteral("toolCall"), QJsonObject{{QStringLiteral("toolCallId"), QStringLiteral("call-4")},
                                                 {QStringLiteral("title"), QStringLiteral("Lowercase the slug in slugify.sh")},
                                                 {QStringLiteral("kind"), QStringLiteral("edit")},
                                                 {QStringLiteral("status"), QStringLiteral("pending")},
                                                 {QStringLiteral("locations"), QJsonArray{QJsonObject{{QStringLiteral("path"), file}, {QStringLiteral("line"), m_fixLine}}}}}},
        {QStringLiteral("options"), QJsonArray{option("allow-once", "Allow", "allow_once"),
                                               option("allow-always", "Always allow edits", "allow_always"),
                                               option("reject-once", "Reject", "reject_once"),
                                               option("reject-always", "Never allow edits", "reject_always")}},
    };
    call(QStringLiteral("session/request_permission"), params, [this](const RpcResult &r) {
        const QJsonObject outcome = r ? r->toObject().value(QLatin1String("outcome")).toObject() : QJsonObject();
        const QString chosen = outcome.value(QLatin1String("optionId")).toString();
        if (m_cancelled || outcome.value(QLatin1String("outcome")).toString() == QLatin1String("cancelled")) {
            toolUpdate(QStringLiteral("call-4"), QJsonObject{{QStringLiteral("status"), QStringLiteral("failed")}});
            return finish(QStringLiteral("cancelled"));
        }
        if (chosen.startsWith(QLatin1String("allow-"))) {
            m_session.alwaysAllowEdits = chosen == QLatin1String("allow-always");
            return next(&Turn::applyFix);
        }
        m_session.neverEdit = chosen == QLatin1String("reject-always");
        toolUpdate(QStringLiteral("call-4"), QJsonObject{{QStringLiteral("status"), QStringLiteral("failed")},
                                                        {QStringLiteral("rawOutput"), QJsonObject{{QStringLiteral("rejected"), true}}}});
        say(r ? QStringLiteral(" Understood: I won't change slugify.sh. The failing tests stay as they are.")
              : QStringLiteral(" I could not ask for permission (%1), so I leave the file alone.").arg(r.error().message));
        next(&Turn::checkUpstream);
    });
}

void Turn::applyFix()
{
    toolUpdate(QStringLiteral("call-4"), QJsonObject{{QStringLiteral("status"), QStringLiteral("in_progress")}});
    call(QStringLiteral("fs/write_text_file"),
         QJsonObject{{QStringLiteral("path"), path(QStringLiteral("slugify.sh"))}, {QStringLiteral("content"), m_fixed}},
         [this](const RpcResult &r) {
             if (!r) {
                 toolUpdate(QStringLiteral("call-4"), QJsonObject{{QStringLiteral("status"), QStringLiteral("failed")},
                                                                 {QStringLiteral("content"), textContent(r.error().message)}});
                 say(QStringLiteral(" Writing the fix failed: %1").arg(r.error().message));
                 return next(&Turn::checkUpstream);
             }
             m_outTokens += tokensOf(m_fixed);
             toolUpdate(QStringLiteral("call-4"), QJsonObject{{QStringLiteral("status"), QStringLiteral("completed")}});
             plan(3);
             say(QStringLiteral(" Fixed. Running the tests again."));
             next(&Turn::secondTestRun);
         });
}

void Turn::secondTestRun()
{
    runCommand(QStringLiteral("call-5"), QStringLiteral("Run the tests again"), QStringLiteral("execute"),
               {QStringLiteral("sh"), QStringLiteral("tests/run.sh")}, [this](const Run &run) {
                   if (run.started && run.exitCode == 0)
                       say(QStringLiteral(" All tests pass now."));
                   else
                       say(QStringLiteral(" The tests still fail (%1).").arg(run.started ? QStringLiteral("exit status %1").arg(run.exitCode) : run.error));
                   plan(4);
                   next(&Turn::checkUpstream);
               });
}

void Turn::checkUpstream()
{
    if (!m_session.upstreamCheck)
        return next(&Turn::wrapUp);
    say(QStringLiteral(" Last, I'll see whether upstream has a newer slugify."));
    runCommand(QStringLiteral("call-6"), QStringLiteral("Fetch %1").arg(kUpstream), QStringLiteral("fetch"),
               {QStringLiteral("sh"), QStringLiteral("tools/check-upstream.sh"), kUpstream}, [this](const Run &run) {
                   if (!run.started)
                       say(QStringLiteral(" The fetch was refused (%1); the policy keeps me off the network, and the "
                                          "fix does not need it.").arg(run.error));
                   else if (run.exitCode != 0)
                       say(QStringLiteral(" Upstream is unreachable from here: the sandbox blocks the network, as its "
                                          "policy says."));
                   else
                       say(QStringLiteral(" Upstream is reachable; this sandbox's policy lets me on the network."));
                   next(&Turn::wrapUp);
               });
}

void Turn::wrapUp()
{
    plan(5, false);
    const quint64 used = m_session.tokens + m_inTokens + m_outTokens + m_thoughtTokens;
    update(QJsonObject{{QStringLiteral("sessionUpdate"), QStringLiteral("usage_update")},
                       {QStringLiteral("used"), double(used)},
                       {QStringLiteral("size"), 200000},
                       {QStringLiteral("cost"), QJsonObject{{QStringLiteral("amount"), double(used) * 3e-6},
                                                            {QStringLiteral("currency"), QStringLiteral("USD")}}}});
    say(QStringLiteral("\n\nDone. "));
    if (!terse())
        say(QStringLiteral("slugify.sh now lowercases before it replaces the other characters with dashes "));
    say(QStringLiteral("(the tests said: %1 before).").arg(m_firstResult.isEmpty() ? QStringLiteral("nothing") : m_firstResult));
    finish(QStringLiteral("end_turn"));
}

} // namespace demo
