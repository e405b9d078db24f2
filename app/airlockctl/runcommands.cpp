// airlockctl run: one turn of an agent in a sandbox, from the terminal.
#include "agent/agentcatalogue.h"
#include "cli.h"
#include "docker/dockerbackend.h"
#include "egress/egressproxy.h"
#include "egress/sandboxegress.h"
#include "sandbox/localbackend.h"
#include "session/continuation.h"
#include "session/requestedcall.h"
#include "session/sessionowner.h"
#include "session/sessionrunner.h"
#include "store/eventfeed.h"
#include "store/eventstore.h"
#include "store/storereader.h"
#include "text/inerttext.h"
#include "workspace/checkpointjobs.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSocketNotifier>
#include <QStandardPaths>
#include <QTimer>

#include <csignal>
#include <cstdio>
#include <unistd.h>

namespace airlock::cli {

namespace {

// Exit statuses of `run`: how the turn ended.
enum RunExit { EndTurn = 0, Failed_ = 1, Refused = 3, MaxTokens = 4, Guardrail = 5, Cancelled = 130 };

// How long an interrupted agent has to end its turn before the session is stopped under it.
constexpr int kInterruptGraceMs = 2000;
constexpr int kAgentLogGraceMs = 500; // for the last of a failed agent's stderr to arrive

int exitFor(const QString &stopReason)
{
    if (stopReason == QLatin1String("end_turn"))
        return EndTurn;
    if (stopReason == QLatin1String("refusal"))
        return Refused;
    if (stopReason == QLatin1String("max_tokens") || stopReason == QLatin1String("max_turn_requests"))
        return MaxTokens;
    if (stopReason == QLatin1String("cancelled"))
        return Cancelled;
    return Failed_;
}

// "execute:npm test*" → a rule for that kind and command pattern; "read" → every read.
Result<policy::ApprovalRule> parseRuleFlag(const QString &flag, policy::Verdict verdict)
{
    const QString kindText = flag.section(u':', 0, 0);
    const QString pattern = flag.section(u':', 1);
    auto kind = policy::parseEnum<policy::ToolKind>(kindText);
    if (!kind)
        return fail(ErrorCode::InvalidArgument, QStringLiteral("'%1' names no tool kind (one of %2)")
                                                    .arg(kindText, policy::joinedNames<policy::ToolKind>()));
    policy::ApprovalRule rule;
    rule.kind = *kind;
    rule.decision = verdict;
    if (!pattern.isEmpty()) {
        if (*kind == policy::ToolKind::Fetch)
            rule.domain = pattern;
        else if (*kind == policy::ToolKind::Execute)
            rule.command = pattern;
        else
            rule.path = pattern;
    }
    return rule;
}

// The offered option of the first of these kinds that is offered. Options are judged by their kind,
// never by their name or their place in the list: an agent may call an allow option "Deny".
QString optionOfKind(const QJsonArray &options, std::initializer_list<const char *> kinds)
{
    for (const char *kind : kinds)
        for (const QJsonValue &o : options)
            if (o[QStringLiteral("kind")].toString() == QLatin1String(kind))
                return o[QStringLiteral("optionId")].toString();
    return {};
}

// Prints the session's events as a readable transcript.
class Transcript
{
public:
    explicit Transcript(bool json) : m_json(json) {}

    void print(const store::Event &e)
    {
        if (m_json) {
            outJson(eventToJson(e));
            return;
        }
        const QJsonObject &p = e.payload;
        if (e.kind == QLatin1String("agent.update")) {
            const QJsonObject u = p.value(QStringLiteral("update")).toObject();
            const QString kind = u.value(QStringLiteral("sessionUpdate")).toString();
            if (kind == QLatin1String("agent_message_chunk") || kind == QLatin1String("agent_thought_chunk")) {
                const bool thought = kind == QLatin1String("agent_thought_chunk");
                if (m_open != kind) {
                    endLine();
                    std::fputs(thought ? "  (thinking) " : "agent: ", stdout);
                    m_open = kind;
                }
                const QString chunk = u.value(QStringLiteral("content")).toObject().value(QStringLiteral("text")).toString();
                std::fputs(text::inertText(chunk).toUtf8().constData(), stdout);
                std::fflush(stdout);
                return;
            }
            endLine();
            if (kind == QLatin1String("tool_call") || kind == QLatin1String("tool_call_update")) {
                toolCall(u);
            } else if (kind == QLatin1String("plan")) {
                out(QStringLiteral("  plan:"));
                for (const QJsonValue &entry : u.value(QStringLiteral("entries")).toArray())
                    out(QStringLiteral("    [%1] %2").arg(text::inertLine(entry[QStringLiteral("status")].toString()),
                                                              text::inertLine(entry[QStringLiteral("content")].toString())));
            }
            return;
        }
        endLine();
        if (e.kind == QLatin1String("turn.started"))
            out(QStringLiteral("you: %1").arg(p.value(QStringLiteral("prompt")).toArray().first()[QStringLiteral("text")].toString()));
        else if (e.kind == QLatin1String("turn.ended"))
            out(QStringLiteral("— turn ended: %1 %2").arg(p.value(QStringLiteral("stopReason")).toString(), p.value(QStringLiteral("message")).toString()));
        else if (e.kind == QLatin1String("permission.decided"))
            out(QStringLiteral("  %1 by %2 %3").arg(p.value(QStringLiteral("decision")).toString(), p.value(QStringLiteral("by")).toString(),
                                                   p.value(QStringLiteral("explanation")).toString()));
        else if (e.kind == QLatin1String("session.state"))
            out(QStringLiteral("— session %1 %2").arg(p.value(QStringLiteral("state")).toString(), p.value(QStringLiteral("reason")).toString()));
        else if (e.kind == QLatin1String("agent.silent"))
            out(QStringLiteral("  … agent silent for %1 s%2").arg(p.value(QStringLiteral("seconds")).toInteger())
                    .arg(p.contains(QStringLiteral("limit")) ? QStringLiteral(" (limit %1 s)").arg(p.value(QStringLiteral("limit")).toInteger())
                                                             : QString()));
        else if (e.kind == QLatin1String("model.failed"))
            out(QStringLiteral("! %1%2").arg(text::inertLine(p.value(QStringLiteral("message")).toString()),
                                             p.value(QStringLiteral("failures")).toInt() > 1
                                                 ? QStringLiteral(" (%1 failed requests so far)").arg(p.value(QStringLiteral("failures")).toInt())
                                                 : QString()));
        else if (e.kind == QLatin1String("sandbox.progress"))
            out(QStringLiteral("  · %1").arg(text::inertLine(p.value(QStringLiteral("text")).toString())));
        else if (e.kind == QLatin1String("session.interrupted"))
            out(QStringLiteral("— %1").arg(p.value(QStringLiteral("reason")).toString()));
        else if (e.kind == QLatin1String("tool.outside"))
            out(QStringLiteral("! ran outside the sandbox: [%1] %2")
                    .arg(text::inertLine(p.value(QStringLiteral("kind")).toString()),
                         text::inertLine(firstOf(p, {"command", "title", "toolCallId"}))));
        else if (e.kind == QLatin1String("guardrail.tripped") || e.kind == QLatin1String("agent.error"))
            out(QStringLiteral("! %1 %2").arg(e.kind, QString::fromUtf8(QJsonDocument(p).toJson(QJsonDocument::Compact))));
    }

    void endLine()
    {
        if (!m_open.isEmpty())
            std::fputc('\n', stdout);
        m_open.clear();
    }

private:
    static QString firstOf(const QJsonObject &o, std::initializer_list<const char *> keys)
    {
        for (const char *k : keys)
            if (const QString v = o.value(QLatin1String(k)).toString(); !v.isEmpty())
                return v;
        return {};
    }
    // A tool call is shown by what it runs: the command once the agent says it (often in a later
    // update than the first), else its title; its end names it again rather than by its id.
    void toolCall(const QJsonObject &u)
    {
        const QString id = u.value(QStringLiteral("toolCallId")).toString();
        Tool &t = m_tools[id];
        if (u.contains(QStringLiteral("kind")))
            t.kind = u.value(QStringLiteral("kind")).toString();
        if (u.contains(QStringLiteral("title")))
            t.title = u.value(QStringLiteral("title")).toString();
        const QJsonObject input = u.value(QStringLiteral("rawInput")).toObject();
        const QString command = firstOf(input, {"command", "cmd"});
        if (!command.isEmpty())
            t.command = command;
        const QString label = t.command.isEmpty() ? t.title : t.command;
        if (!t.shown) { // a second tool_call for the same id (claude-code-acp sends two) is an update
            out(QStringLiteral("  ▶ [%1] %2").arg(text::inertLine(t.kind.isEmpty() ? QStringLiteral("other") : t.kind),
                                                 text::inertLine(label)));
            t.shown = label;
        } else if (!label.isEmpty() && label != t.shown) {
            out(QStringLiteral("    %1 %2").arg(t.command.isEmpty() ? QStringLiteral("↳") : QStringLiteral("$"), text::inertLine(label)));
            t.shown = label;
        }
        const QString status = u.value(QStringLiteral("status")).toString();
        if (status == QLatin1String("completed") || status == QLatin1String("failed"))
            out(QStringLiteral("  %1 %2").arg(status == QLatin1String("completed") ? QStringLiteral("✓") : QStringLiteral("✗"),
                                              text::inertLine(label.isEmpty() ? id : label)));
    }

    struct Tool {
        QString kind, title, command;
        std::optional<QString> shown; // the label printed last; none until the call was printed
    };
    bool m_json;
    QString m_open;
    QHash<QString, Tool> m_tools;
};

int runAgent(const QString &, const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Run one turn of an agent in a sandbox and print its transcript. Requests the policy marks 'ask' "
        "are put to you on the terminal, or answered by --approve/--deny rules. Exit status: 0 the turn "
        "ended normally, 1 it failed, 3 the agent refused, 4 it ran out of tokens, 5 a guardrail stopped it, "
        "130 it was cancelled (Ctrl-C), 143 SIGTERM ended it. The first Ctrl-C cancels the turn and gives the "
        "agent a moment to stop; a second one ends the session at once."));
    p.addPositionalArgument(QStringLiteral("prompt"), QStringLiteral("What to ask the agent."));
    p.addOption({QStringLiteral("agent"), QStringLiteral("Agent profile (see 'airlockctl agents list')."), QStringLiteral("NAME"), QStringLiteral("demo")});
    p.addOption({QStringLiteral("policy"), QStringLiteral("Policy name (default: the agent's, else standard)."), QStringLiteral("NAME")});
    p.addOption({QStringLiteral("workspace"), QStringLiteral("The workspace (default: the current folder; the demo agent gets a copy of its demo project)."), QStringLiteral("DIR")});
    p.addOption({QStringLiteral("title"), QStringLiteral("Session title."), QStringLiteral("TEXT")});
    p.addOption({QStringLiteral("approve"), QStringLiteral("Allow calls matching KIND[:PATTERN] without asking (repeatable)."), QStringLiteral("RULE")});
    p.addOption({QStringLiteral("deny"), QStringLiteral("Deny calls matching KIND[:PATTERN] without asking (repeatable)."), QStringLiteral("RULE")});
    p.addOption({QStringLiteral("json"), QStringLiteral("Print the session's events as JSON lines.")});
    p.addOption({QStringLiteral("model-endpoint"), QStringLiteral("The agent's model API, instead of its vendor's (a gateway, a "
                                                                  "test server); https only."), QStringLiteral("URL")});
    p.addOption({QStringLiteral("upstream-ca"), QStringLiteral("A PEM file of CAs the proxy trusts for the model endpoint, "
                                                               "with the system store."), QStringLiteral("FILE")});
    p.addOption({QStringLiteral("session"), QStringLiteral("Continue this stored session (a fork, or one that ended) with its agent, policy and "
                                                           "workspace, its conversation so far given to the agent."), QStringLiteral("ID")});
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    if (p.positionalArguments().size() != 1)
        return error(QStringLiteral("run needs one prompt (quote it)"), Usage);
    const QString prompt = p.positionalArguments().first();

    auto reader = openReader(ctx.dbPath);
    if (!reader)
        return error(reader.error());
    session::SessionConfig config;
    if (p.isSet(QStringLiteral("session"))) {
        auto continued = session::continuationOf(*reader, p.value(QStringLiteral("session")));
        if (!continued)
            return error(continued.error());
        config = *continued; // its agent, policy and workspace unless the flags say otherwise
    }
    if (p.isSet(QStringLiteral("agent")) || config.agent.name.isEmpty())
        config.agent.name = p.value(QStringLiteral("agent"));
    if (p.isSet(QStringLiteral("policy")))
        config.policyName = p.value(QStringLiteral("policy"));
    if (p.isSet(QStringLiteral("model-endpoint")))
        config.modelEndpoint = p.value(QStringLiteral("model-endpoint"));
    if (p.isSet(QStringLiteral("upstream-ca"))) {
        const QFileInfo ca(p.value(QStringLiteral("upstream-ca")));
        if (!ca.isFile() || !ca.isReadable())
            return error(QStringLiteral("--upstream-ca %1 is not a readable file").arg(ca.filePath()), Usage);
        config.upstreamCaFile = ca.absoluteFilePath();
    }
    if (auto resolved = session::resolveAgentAndPolicy(*reader, ctx.dbPath, config); !resolved)
        return error(resolved.error());
    if (const QString warning = agent::placementWarning(config.agent); !warning.isEmpty())
        std::fprintf(stderr, "airlockctl: warning: %s\n", qPrintable(warning));
    QList<policy::ApprovalRule> flagRules;
    for (const auto &[option, verdict] : {std::pair{QStringLiteral("deny"), policy::Verdict::Deny},
                                          std::pair{QStringLiteral("approve"), policy::Verdict::Allow}}) {
        for (const QString &flag : p.values(option)) {
            auto rule = parseRuleFlag(flag, verdict);
            if (!rule)
                return error(rule.error());
            flagRules << *rule;
        }
    }
    config.policy.approvals.rules = flagRules + config.policy.approvals.rules;

    QString workspace = p.isSet(QStringLiteral("workspace")) ? p.value(QStringLiteral("workspace")) : config.workspace;
    if (workspace.isEmpty() && config.agent.name == QLatin1String("demo")) {
        const QString base = QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation)
            + QStringLiteral("/airlock/workspaces/demo-") + QString::number(QDateTime::currentMSecsSinceEpoch());
        auto copied = agent::copyDemoWorkspace(base);
        if (!copied)
            return error(copied.error());
        workspace = *copied;
    }
    if (workspace.isEmpty())
        workspace = QDir::currentPath();
    workspace = QDir(workspace).absolutePath();

    auto store = store::EventStore::open(ctx.dbPath);
    if (!store)
        return error(store.error());
    (void)session::reconcileOrphans(*reader, **store); // sessions whose process died are not left "running"
    std::unique_ptr<sandbox::Backend> backend;
    if (config.policy.runtime.backend == policy::Backend::Docker)
        backend = std::make_unique<docker::DockerBackend>();
    else
        backend = std::make_unique<sandbox::LocalBackend>();
    if (auto why = backend->unavailableReason())
        return error(QStringLiteral("the %1 backend cannot run here: %2").arg(backend->name(), *why));
    backend->setEventStore(store->get());
    // Sandboxes of sessions whose process died are reaped now, not left until someone lists them.
    backend->discover();

    if (p.isSet(QStringLiteral("title")) || config.title.isEmpty())
        config.title = p.isSet(QStringLiteral("title")) ? p.value(QStringLiteral("title")) : prompt.left(60);
    config.workspace = workspace;
    config.databasePath = ctx.dbPath;
    session::SessionRunner runner(config, store->get(), backend.get());
    for (const QString &line : runner.setupNotes())
        std::fprintf(stderr, "airlockctl: note: %s\n", qPrintable(line));
    workspace::CheckpointJobs checkpoints(**store);
    runner.setCheckpoints(&checkpoints);
    // A proxy-mode policy reaches the network only through this process's egress proxy, which
    // records every connection and takes rules added meanwhile (airlockctl egress allow, the window).
    std::unique_ptr<egress::EgressProxy> proxy;
    std::unique_ptr<egress::SandboxEgress> sandboxEgress;
    if (config.policy.network.mode == policy::NetworkMode::Proxy) {
        egress::ProxyOptions proxyOptions;
        proxyOptions.store = store->get();
        proxy = std::make_unique<egress::EgressProxy>(proxyOptions);
        sandboxEgress = std::make_unique<egress::SandboxEgress>(proxy.get());
        runner.setEgress(sandboxEgress.get());
    }

    const bool json = p.isSet(QStringLiteral("json"));
    Transcript transcript(json);
    store::EventFeed feed(ctx.dbPath);
    qint64 printed = 0;
    auto print = [&](const QList<store::Event> &events) {
        for (const auto &e : events) {
            if (e.seq <= printed)
                continue;
            transcript.print(e);
            printed = e.seq;
        }
    };
    QObject::connect(&feed, &store::EventFeed::eventsAppended, &runner,
                     [&](const QString &, const QList<store::Event> &events) { print(events); });
    feed.follow(runner.id(), 0);
    feed.start(50);

    // The feed posts from its own thread; `&runner` as the context queues its signals to this one.
    // Questions on the terminal, one at a time; without a terminal they are denied with advice.
    const bool tty = ::isatty(STDIN_FILENO);
    QString asking;
    QSocketNotifier input(STDIN_FILENO, QSocketNotifier::Read);
    input.setEnabled(false);
    QObject::connect(&feed, &store::EventFeed::approvalsChanged, &runner, [&](const QList<store::ApprovalRow> &open) {
        for (const store::ApprovalRow &a : open) {
            if (a.session != runner.id() || !a.answer.isEmpty() || !asking.isEmpty())
                continue;
            // What is shown is what will run; the agent's title is only its label.
            const QStringList described = session::describeRequested(a.toolCall);
            if (!tty) {
                // A deny is a reject option, or, when the agent offers none, the request cancelled
                // (the session sends "cancelled" for an answer that names no option).
                runner.answer(a.request, optionOfKind(a.options, {"reject_once", "reject_always"}),
                              QStringLiteral("airlockctl (no terminal)"));
                std::fprintf(stderr, "airlockctl: denied, no terminal to ask; pass --approve to allow such calls:\n  %s\n",
                             qPrintable(described.join(QStringLiteral("\n  "))));
                continue;
            }
            transcript.endLine();
            asking = a.request;
            const QString question = QStringLiteral("? %1\n  why: %2\n  [y] allow  [a] always allow  [n] deny  [d] always deny: ")
                                         .arg(described.join(QStringLiteral("\n  ")), text::inertLine(a.explanation));
            std::fputs(question.toUtf8().constData(), stderr);
            std::fflush(stderr);
            QJsonArray options = a.options;
            QObject::disconnect(&input, nullptr, nullptr, nullptr);
            QObject::connect(&input, &QSocketNotifier::activated, [&, options, question] {
                char buf[64] = {};
                const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf - 1);
                const char c = n > 0 ? buf[0] : 'n';
                QString optionId;
                if (c == 'y' || c == 'a') {
                    // An allow is exactly the kind asked for; an agent that does not offer it is told no
                    // by nobody: the question is put again.
                    optionId = optionOfKind(options, {c == 'y' ? "allow_once" : "allow_always"});
                    if (optionId.isEmpty()) {
                        std::fprintf(stderr, "  the agent offers no '%s' option\n%s", c == 'y' ? "allow once" : "always allow",
                                     question.toUtf8().constData());
                        std::fflush(stderr);
                        return;
                    }
                } else {
                    optionId = c == 'd' ? optionOfKind(options, {"reject_always", "reject_once"})
                                        : optionOfKind(options, {"reject_once", "reject_always"});
                }
                input.setEnabled(false);
                runner.answer(asking, optionId, QStringLiteral("user"));
                asking.clear();
            });
            input.setEnabled(true);
        }
    });

    int status = Failed_;
    // Ctrl-C or SIGTERM: the turn is cancelled, the agent gets a moment, the sandbox goes, and the
    // session says why; the exit status is 128 + the signal. A second one does not wait.
    int interruptedBy = 0;
    bool leaving = false;
    auto leave = [&] {
        leaving = true;
        QCoreApplication::exit(interruptedBy ? 128 + interruptedBy : status);
    };
    const auto interrupts = onInterrupt([&](int sig) {
        const bool again = interruptedBy != 0;
        if (!again)
            interruptedBy = sig;
        transcript.endLine();
        const QString reason = QStringLiteral("interrupted by %1").arg(sig == SIGINT ? QStringLiteral("SIGINT") : QStringLiteral("SIGTERM"));
        if (runner.state() == session::SessionRunner::State::Ended || runner.state() == session::SessionRunner::State::Failed) {
            if (again)
                leave(); // still taking the last checkpoint: do not wait for it
            return;
        }
        if (!again)
            std::fprintf(stderr, "airlockctl: %s; cancelling the turn (again to stop at once)\n", qPrintable(reason));
        runner.interrupt(reason, kInterruptGraceMs);
        if (again && !leaving && runner.state() == session::SessionRunner::State::Ended)
            leave();
    });
    QObject::connect(&runner, &session::SessionRunner::ready, [&] {
        if (auto r = runner.prompt(prompt); !r) {
            error(r.error());
            runner.stop(QStringLiteral("the prompt was refused"));
        }
    });
    QObject::connect(&runner, &session::SessionRunner::turnEnded, [&](const QString &reason) {
        status = exitFor(reason);
        // A runner that is stopping (a guardrail) or interrupted ends the session with its own reason.
        if (!runner.isInterrupted() && !runner.isStopping())
            runner.stop(QStringLiteral("the turn ended"));
    });
    QObject::connect(&runner, &session::SessionRunner::failed, [&](const Error &e) {
        transcript.endLine();
        error(e);
        status = Failed_;
        if (e.message.contains(QLatin1String("last words"))) {
            leave();
            return;
        }
        // Why an agent fails is mostly in what it wrote to stderr (stored as agent.log), which may
        // still be on its way when its answer on stdout has already failed the session.
        QTimer::singleShot(kAgentLogGraceMs, &runner, [&] {
            if (const QString tail = runner.agentLogTail(); !tail.isEmpty())
                std::fprintf(stderr, "airlockctl: the agent's last log lines:\n  %s\n",
                             qPrintable(text::inertText(tail).replace(u'\n', QStringLiteral("\n  "))));
            leave();
        });
    });
    QObject::connect(&runner, &session::SessionRunner::ended, [&](const QString &reason) {
        if (reason.startsWith(QLatin1String("guardrail")))
            status = Guardrail;
        // Print what the last events said straight from the store, then leave.
        (void)(*store)->flush();
        if (auto r = store::StoreReader::open(ctx.dbPath)) {
            store::EventQuery q;
            q.session = runner.id();
            q.afterSeq = printed;
            q.limit = 100000;
            if (auto rest = r->events(q))
                print(*rest);
        }
        transcript.endLine();
        // The last turn's checkpoint is still being taken: leave when it is stored.
        if (runner.pendingCheckpoints() == 0)
            leave();
        else
            QObject::connect(&runner, &session::SessionRunner::checkpointsIdle, [&] { leave(); });
    });
    // A full disk: the store keeps the events in memory and retries; say so, and when it has caught up.
    QObject::connect(store->get(), &store::EventStore::writeFailed, &runner, [&](const Error &e) {
        transcript.endLine();
        error(QStringLiteral("cannot write to the database, %1 events wait in memory and are retried: %2")
                  .arg((*store)->pendingEvents())
                  .arg(e.message));
    });
    QObject::connect(store->get(), &store::EventStore::writeResumed, &runner,
                     [] { std::fprintf(stderr, "airlockctl: the database is written again\n"); });

    // Started from the event loop, so a failure at once still reaches exec() and ends it.
    QMetaObject::invokeMethod(&runner, &session::SessionRunner::start, Qt::QueuedConnection);
    const int code = QCoreApplication::exec();
    // What is still waiting to be written gets a while (space may come back); an event lost fails the run.
    if (const auto failing = (*store)->writeError(); failing && (*store)->pendingEvents() > 0)
        error(QStringLiteral("waiting up to 30 s for %1 events to be written: %2")
                  .arg((*store)->pendingEvents())
                  .arg(failing->message));
    if (auto drained = (*store)->drain(std::chrono::seconds(30)); !drained) {
        error(drained.error());
        return code == EndTurn ? Failed_ : code;
    }
    return code;
}

} // namespace

AIRLOCKCTL_GROUP({QStringLiteral("run"), {QString()}, runAgent,
                  "  run [--agent NAME] [--policy NAME] [--workspace DIR] [--session ID] [--approve R] [--deny R] [--json] PROMPT\n"
                  "                                              one agent turn in a sandbox, with its transcript\n",
                  40});

} // namespace airlock::cli
