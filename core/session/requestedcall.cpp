#include "requestedcall.h"

#include "policy/commandsafety.h"
#include "text/inerttext.h"

#include <QDir>
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

// A list of strings, or nothing when the value is not one (a number among them is not an argv).
std::optional<QStringList> stringList(const QJsonValue &value)
{
    if (!value.isArray())
        return std::nullopt;
    QStringList out;
    for (const QJsonValue &v : value.toArray()) {
        if (!v.isString())
            return std::nullopt;
        out << v.toString();
    }
    return out;
}

// `{"NAME": "value"}` or ACP's `[{"name": …, "value": …}]`.
QStringList environmentOf(const QJsonValue &value)
{
    QStringList env;
    if (value.isObject()) {
        const QJsonObject o = value.toObject();
        for (auto it = o.begin(); it != o.end(); ++it)
            env << it.key() + u'=' + it.value().toVariant().toString();
    } else if (value.isArray()) {
        for (const QJsonValue &v : value.toArray())
            env << v[QStringLiteral("name")].toString() + u'=' + v[QStringLiteral("value")].toString();
    }
    return env;
}

// The command a tool call's input names, under the keys agents use for it: Claude Code's Bash
// (`command`: a shell line), Codex (`command`: an argv), ACP's terminal shape (`command` + `args`),
// and `cmd`/`argv`/`script`. True when any of them is there, even empty or malformed: such a call
// runs something, so it is an execute call.
bool readCommand(const QJsonObject &input, RequestedCall &out)
{
    bool present = false;
    for (const char *key : {"command", "cmd", "argv", "script"}) {
        const QJsonValue v = input.value(QLatin1String(key));
        if (v.isUndefined() || v.isNull())
            continue;
        present = true;
        if (!out.call.command.isEmpty() || out.call.argv)
            continue; // the first one found is what is shown; the rest only mark the call
        if (v.isString()) {
            const auto args = stringList(input.value(QStringLiteral("args")));
            if (args && !args->isEmpty()) {
                out.call.argv = QStringList{v.toString()} + *args;
                out.call.command = policy::joinShellWords(*out.call.argv);
            } else {
                out.call.command = v.toString();
            }
        } else if (const auto argv = stringList(v); argv && !argv->isEmpty()) {
            out.call.argv = *argv;
            out.call.command = policy::joinShellWords(*argv);
        } else {
            out.commandUnknown = true;
        }
    }
    for (const char *key : {"cwd", "workdir", "working_directory"}) {
        if (input.value(QLatin1String(key)).isString()) {
            out.cwd = input.value(QLatin1String(key)).toString();
            break;
        }
    }
    out.call.env = environmentOf(input.value(QStringLiteral("env")));
    return present;
}

int strictness(policy::Verdict v)
{
    switch (v) {
    case policy::Verdict::Allow: return 0;
    case policy::Verdict::Ask: return 1;
    case policy::Verdict::Deny: return 2;
    }
    return 1;
}

} // namespace

QString policyPath(const QString &path, const QString &workspace)
{
    if (path.isEmpty())
        return {};
    const QString clean = QDir::cleanPath(path);
    const QString root = QDir::cleanPath(workspace);
    if (!root.isEmpty() && clean.startsWith(root + u'/'))
        return clean.mid(root.size() + 1);
    return clean;
}

RequestedCall readRequestedCall(const agent::acp::ToolCall &tc, const QString &workspace)
{
    RequestedCall out;
    out.call.kind = toPolicyKind(tc.kind);
    const QJsonObject input = tc.rawInput.toObject();
    const bool runs = readCommand(input, out);
    // Content that is a live terminal shows a command running, whatever the kind says.
    bool terminal = false;
    for (const auto &c : tc.content)
        terminal |= c.type == agent::acp::ToolCallContent::Type::Terminal;
    if ((runs || terminal) && out.call.kind != policy::ToolKind::Execute) {
        out.claimedKind = agent::acp::nameOf(tc.kind);
        out.call.kind = policy::ToolKind::Execute;
    }
    if (out.call.kind == policy::ToolKind::Execute && out.call.command.isEmpty() && !out.call.argv)
        out.commandUnknown = true; // the title is not a command: nothing is allowed by a command pattern
    const QString url = input.value(QStringLiteral("url")).toString();
    if (!url.isEmpty())
        out.call.domain = QUrl(url).host();
    for (const auto &l : tc.locations)
        if (!l.path.isEmpty())
            out.paths << policyPath(l.path, workspace);
    for (const auto &c : tc.content)
        if (c.type == agent::acp::ToolCallContent::Type::Diff && !c.path.isEmpty())
            out.paths << policyPath(c.path, workspace);
    for (const char *key : {"path", "file_path", "filePath"})
        if (input.value(QLatin1String(key)).isString())
            out.paths << policyPath(input.value(QLatin1String(key)).toString(), workspace);
    out.paths.removeDuplicates();
    if (!out.cwd.isEmpty())
        out.cwd = policyPath(out.cwd, workspace);
    return out;
}

RequestedCall terminalCall(const QString &command, const QStringList &args, const QStringList &env, const QString &cwd)
{
    RequestedCall out;
    out.call.kind = policy::ToolKind::Execute;
    if (policy::isShellLine(command, args)) {
        out.call.command = command; // run by `sh -c`: read as a shell reads it, compound lines and all
    } else {
        out.call.argv = QStringList{command} + args;
        out.call.command = policy::joinShellWords(*out.call.argv);
    }
    out.call.env = env;
    out.cwd = cwd;
    if (!cwd.isEmpty())
        out.paths << cwd; // as before: rules about a folder apply to commands run in it
    return out;
}

policy::Decision evaluateRequested(const policy::Approvals &approvals, const RequestedCall &requested)
{
    const QStringList paths = requested.paths.isEmpty() ? QStringList{QString()} : requested.paths;
    std::optional<policy::Decision> strictest;
    for (const QString &path : paths) {
        policy::ToolCall call = requested.call;
        call.path = path;
        const policy::Decision d = policy::evaluate(approvals, call);
        if (!strictest || strictness(d.verdict) > strictness(strictest->verdict))
            strictest = d;
    }
    return *strictest;
}

QJsonObject RequestedCall::shown(const QString &label) const
{
    QJsonObject o{{QStringLiteral("kind"), policy::nameOf(call.kind)}, {QStringLiteral("label"), label}};
    if (!claimedKind.isEmpty())
        o.insert(QStringLiteral("claimedKind"), claimedKind);
    if (call.kind == policy::ToolKind::Execute)
        o.insert(QStringLiteral("command"), commandUnknown && call.command.isEmpty() ? QString() : call.command);
    if (call.argv)
        o.insert(QStringLiteral("argv"), QJsonArray::fromStringList(*call.argv));
    if (!cwd.isEmpty())
        o.insert(QStringLiteral("cwd"), cwd);
    if (!call.env.isEmpty())
        o.insert(QStringLiteral("env"), QJsonArray::fromStringList(call.env));
    QStringList risky = policy::riskyVariables(call.env);
    if (!call.argv) {
        if (const auto plain = policy::plainCommand(call.command))
            risky += policy::riskyVariables(plain->env);
    }
    if (!risky.isEmpty())
        o.insert(QStringLiteral("riskyEnv"), QJsonArray::fromStringList(risky));
    if (!paths.isEmpty())
        o.insert(QStringLiteral("paths"), QJsonArray::fromStringList(paths));
    if (!call.domain.isEmpty())
        o.insert(QStringLiteral("domain"), call.domain);
    if (commandUnknown)
        o.insert(QStringLiteral("commandUnknown"), true);
    return o;
}

namespace {

QStringList strings(const QJsonValue &v)
{
    QStringList out;
    for (const QJsonValue &x : v.toArray())
        out << x.toString();
    return out;
}

// Airlock's reading of the call, or one made from the agent's fields for events recorded before
// readings were.
QJsonObject readingOf(const QJsonObject &toolCall)
{
    const QJsonObject reading = toolCall.value(QStringLiteral("airlock")).toObject();
    if (!reading.isEmpty())
        return reading;
    QJsonObject old{{QStringLiteral("kind"), toolCall.value(QStringLiteral("kind")).toString()},
                    {QStringLiteral("label"), toolCall.value(QStringLiteral("title")).toString()}};
    const QJsonValue command = toolCall.value(QStringLiteral("rawInput")).toObject().value(QStringLiteral("command"));
    if (command.isString())
        old.insert(QStringLiteral("command"), command.toString());
    QStringList paths;
    for (const QJsonValue &l : toolCall.value(QStringLiteral("locations")).toArray())
        paths << l.toObject().value(QStringLiteral("path")).toString();
    if (!paths.isEmpty())
        old.insert(QStringLiteral("paths"), QJsonArray::fromStringList(paths));
    return old;
}

} // namespace

QStringList describeRequested(const QJsonObject &toolCall)
{
    using text::inertLine;
    const QJsonObject r = readingOf(toolCall);
    QStringList lines;
    const QString kind = r.value(QStringLiteral("kind")).toString();
    if (r.contains(QStringLiteral("command"))) {
        const QString command = r.value(QStringLiteral("command")).toString();
        lines << (command.isEmpty() || r.value(QStringLiteral("commandUnknown")).toBool()
                      ? QStringLiteral("runs: (the agent does not say what it runs)")
                      : QStringLiteral("runs: ") + inertLine(command));
        if (r.contains(QStringLiteral("argv")))
            lines << QStringLiteral("  exactly this argv, no shell: ") + inertLine(policy::joinShellWords(strings(r.value(QStringLiteral("argv")))));
    }
    if (r.contains(QStringLiteral("cwd")))
        lines << QStringLiteral("in: ") + inertLine(r.value(QStringLiteral("cwd")).toString());
    const QStringList risky = strings(r.value(QStringLiteral("riskyEnv")));
    QStringList assignments = strings(r.value(QStringLiteral("env"))) + risky;
    assignments.removeDuplicates();
    for (const QString &assignment : std::as_const(assignments))
        lines << QStringLiteral("sets: ") + inertLine(assignment)
                     + (risky.contains(assignment) ? QStringLiteral("  — this can change what runs") : QString());
    const QStringList paths = strings(r.value(QStringLiteral("paths")));
    if (!paths.isEmpty()) {
        QStringList shown;
        for (const QString &p : paths)
            shown << inertLine(p);
        lines << QStringLiteral("paths: ") + shown.join(QStringLiteral(", "));
    }
    if (r.contains(QStringLiteral("domain")))
        lines << QStringLiteral("host: ") + inertLine(r.value(QStringLiteral("domain")).toString());
    QString label = QStringLiteral("the agent calls it “%1”").arg(inertLine(r.value(QStringLiteral("label")).toString()));
    if (r.contains(QStringLiteral("claimedKind")))
        label += QStringLiteral(" and says it is a %1 call; it runs a command, so it is decided as %2")
                     .arg(inertLine(r.value(QStringLiteral("claimedKind")).toString()), kind);
    else if (!kind.isEmpty())
        label += QStringLiteral(" (%1)").arg(inertLine(kind));
    lines << label;
    return lines;
}

QString summariseRequested(const QJsonObject &toolCall)
{
    using text::inertLine;
    const QJsonObject r = readingOf(toolCall);
    QString what;
    if (r.contains(QStringLiteral("command")))
        what = r.value(QStringLiteral("command")).toString().isEmpty() ? QStringLiteral("(an unnamed command)")
                                                                         : inertLine(r.value(QStringLiteral("command")).toString());
    else if (r.contains(QStringLiteral("paths")))
        what = inertLine(strings(r.value(QStringLiteral("paths"))).join(QStringLiteral(", ")));
    else if (r.contains(QStringLiteral("domain")))
        what = inertLine(r.value(QStringLiteral("domain")).toString());
    const QString kind = inertLine(r.value(QStringLiteral("kind")).toString());
    const QString label = inertLine(r.value(QStringLiteral("label")).toString());
    if (what.isEmpty())
        return QStringLiteral("%1 “%2”").arg(kind, label);
    return QStringLiteral("%1 %2 — “%3”").arg(kind, what, label);
}

} // namespace airlock::session
