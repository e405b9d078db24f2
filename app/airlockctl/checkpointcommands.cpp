// airlockctl checkpoints …: the checkpoint history of a session, its diffs, rewind and fork.
#include "cli.h"
#include "store/eventstore.h"
#include "text/inerttext.h"
#include "workspace/checkpointer.h"
#include "workspace/checkpointtree.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonObject>

#include <cstdio>

namespace airlock::cli {

namespace {

using namespace airlock::workspace;

const QCommandLineOption kJson(QStringLiteral("json"), QStringLiteral("Print JSON."));
const QCommandLineOption kSession(QStringLiteral("session"), QStringLiteral("The session (required)."), QStringLiteral("ID"));

// Parses, then insists on --session and on `positionals` positional arguments.
bool parseWithSession(QCommandLineParser &p, const Context &ctx, int positionals, QString *session, int *exit)
{
    p.addOption(kSession);
    if (!parse(p, ctx, exit))
        return false;
    *session = p.value(kSession);
    if (session->isEmpty()) {
        *exit = error(QStringLiteral("%1 needs --session ID").arg(ctx.command), Usage);
        return false;
    }
    if (p.positionalArguments().size() != positionals) {
        *exit = error(positionals == 0 ? QStringLiteral("%1 takes no arguments").arg(ctx.command)
                                       : QStringLiteral("%1 needs one checkpoint id (a prefix of four or more hex "
                                                        "digits, or 'latest')")
                                             .arg(ctx.command),
                      Usage);
        return false;
    }
    return true;
}

Result<std::unique_ptr<store::EventStore>> openStore(const Context &ctx)
{
    if (auto r = prepareStore(ctx.dbPath); !r)
        return std::unexpected(r.error());
    return store::EventStore::open(ctx.dbPath);
}

QString counts(const Checkpoint &c)
{
    if (c.cause == Cause::Fork)
        return QStringLiteral("forked from %1").arg(c.fromSession);
    QString s = QStringLiteral("%1 file%2").arg(c.filesTotal).arg(c.filesTotal == 1 ? QString() : QStringLiteral("s"));
    if (c.linesAdded || c.linesRemoved)
        s += QStringLiteral(" +%1 -%2").arg(c.linesAdded).arg(c.linesRemoved);
    if (c.skippedTotal)
        s += QStringLiteral(", %1 not saved").arg(c.skippedTotal);
    return s;
}

void walk(const CheckpointTree &tree, int node, int depth, const std::function<void(int, int)> &visit)
{
    visit(node, depth);
    const QList<int> &children = tree.nodes[node].children;
    // The first child continues the line; later ones (branches) are indented under it.
    for (int i = 0; i < children.size(); ++i)
        walk(tree, children[i], i == 0 ? depth : depth + 1, visit);
}

int list(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("The checkpoints of a session and its family (the sessions it was forked "
                                               "from and its forks), oldest first; branches are indented."));
    p.addOption(kJson);
    int exit = Ok;
    QString session;
    if (!parseWithSession(p, ctx, 0, &session, &exit))
        return exit;
    if (auto r = openReader(ctx.dbPath); !r)
        return error(r.error());
    auto tree = loadCheckpointTree(ctx.dbPath, session);
    if (!tree)
        return error(tree.error());
    QJsonArray array;
    std::function<void(int, int)> visit = [&](int i, int depth) {
        const CheckpointNode &n = tree->nodes[i];
        const Checkpoint &c = n.checkpoint;
        if (p.isSet(kJson)) {
            QJsonObject o = toJson(c);
            o.insert(QStringLiteral("depth"), depth);
            o.insert(QStringLiteral("parentNode"), n.parent < 0 ? QJsonValue()
                                                                : QJsonValue(QJsonObject{{QStringLiteral("session"), tree->nodes[n.parent].checkpoint.session},
                                                                                         {QStringLiteral("commit"), tree->nodes[n.parent].checkpoint.commit}}));
            array.append(o);
            return;
        }
        QString line = QString(depth * 2, u' ') + QStringLiteral("* ") + c.shortId() + QStringLiteral("  ")
            + formatTime(c.time) + QStringLiteral("  ");
        if (c.session != session)
            line += QStringLiteral("[%1] ").arg(c.session);
        line += describeCause(c.cause, c.turn, c.toolCallId) + QStringLiteral("  ") + counts(c);
        if (!c.label.isEmpty() && c.cause != Cause::Fork)
            line += QStringLiteral("  — ") + c.label;
        out(line);
    };
    for (int root : std::as_const(tree->roots))
        walk(*tree, root, 0, visit);
    if (p.isSet(kJson)) {
        outJson(array);
        return Ok;
    }
    if (tree->nodes.isEmpty())
        out(QStringLiteral("No checkpoints yet."));
    for (const RewindRecord &r : std::as_const(tree->rewinds))
        if (r.session == session)
            out(QStringLiteral("rewound to %1 at %2 (the state before is %3)").arg(r.commit.left(8), formatTime(r.time), r.safety.left(8)));
    for (const FailureRecord &f : std::as_const(tree->failures))
        if (f.session == session)
            out(QStringLiteral("failed (%1) at %2: %3").arg(f.cause, formatTime(f.time), f.message));
    return Ok;
}

int create(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Take a checkpoint of the session's workspace now."));
    p.addOption({QStringLiteral("label"), QStringLiteral("A note kept with the checkpoint."), QStringLiteral("TEXT")});
    p.addOption({QStringLiteral("allow-empty"), QStringLiteral("Record a checkpoint even when nothing changed.")});
    p.addOption(kJson);
    int exit = Ok;
    QString session;
    if (!parseWithSession(p, ctx, 0, &session, &exit))
        return exit;
    auto store = openStore(ctx);
    if (!store)
        return error(store.error());
    Checkpointer c(**store);
    CheckpointRequest req{session};
    req.label = p.value(QStringLiteral("label"));
    req.allowEmpty = p.isSet(QStringLiteral("allow-empty"));
    auto r = c.create(req);
    if (!r)
        return error(r.error());
    if (p.isSet(kJson)) {
        QJsonObject o = r->created ? toJson(r->checkpoint) : QJsonObject{{QStringLiteral("commit"), r->checkpoint.commit}};
        o.insert(QStringLiteral("created"), r->created);
        o.insert(QStringLiteral("filesScanned"), r->filesScanned);
        o.insert(QStringLiteral("filesHashed"), r->filesHashed);
        outJson(o);
    } else if (r->created) {
        out(QStringLiteral("checkpoint %1: %2").arg(r->checkpoint.shortId(), counts(r->checkpoint)));
    } else {
        out(QStringLiteral("no changes since checkpoint %1").arg(r->checkpoint.commit.left(8)));
    }
    return Ok;
}

int diff(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("What a checkpoint changed: against the one before it, or --against "
                                               "any other checkpoint of the family."));
    p.addPositionalArgument(QStringLiteral("checkpoint"), QStringLiteral("A checkpoint id prefix, or 'latest'."));
    p.addOption({QStringLiteral("against"), QStringLiteral("Compare with this checkpoint instead."), QStringLiteral("CHECKPOINT")});
    p.addOption({QStringLiteral("stat"), QStringLiteral("Only the changed files with line counts.")});
    p.addOption({QStringLiteral("context"), QStringLiteral("Lines of context (default 3)."), QStringLiteral("N"), QStringLiteral("3")});
    p.addOption(kJson);
    int exit = Ok;
    QString session;
    if (!parseWithSession(p, ctx, 1, &session, &exit))
        return exit;
    bool ok = false;
    const int context = p.value(QStringLiteral("context")).toInt(&ok);
    if (!ok || context < 0 || context > 1000)
        return error(QStringLiteral("--context takes a number of lines from 0 to 1000"), Usage);
    if (auto r = openReader(ctx.dbPath); !r)
        return error(r.error());
    DiffOptions opts;
    opts.contextLines = context;
    opts.patches = !p.isSet(QStringLiteral("stat"));
    auto d = diffCheckpoints(ctx.dbPath, session, p.positionalArguments().first(), p.value(QStringLiteral("against")), opts);
    if (!d)
        return error(d.error());
    if (p.isSet(kJson)) {
        QJsonArray files;
        for (const FileDiff &f : std::as_const(d->files)) {
            QJsonObject o = toJson(f.change);
            if (opts.patches)
                o.insert(QStringLiteral("patch"), f.patch);
            if (f.patchTruncated)
                o.insert(QStringLiteral("patchTruncated"), true);
            files.append(o);
        }
        outJson(QJsonObject{{QStringLiteral("from"), d->from.commit.isEmpty() ? QJsonValue() : QJsonValue(d->from.commit)},
                            {QStringLiteral("to"), d->to.commit},
                            {QStringLiteral("linesAdded"), d->linesAdded},
                            {QStringLiteral("linesRemoved"), d->linesRemoved},
                            {QStringLiteral("files"), files}});
        return Ok;
    }
    if (!opts.patches) {
        for (const FileDiff &f : std::as_const(d->files)) {
            const FileChange &c = f.change;
            const QString name = c.oldPath.isEmpty() ? c.path : c.oldPath + QStringLiteral(" -> ") + c.path;
            out(QStringLiteral("%1  %2  %3").arg(statusLetter(c.status)).arg(c.binary ? QStringLiteral("binary") : QStringLiteral("+%1 -%2").arg(c.added).arg(c.removed), -12).arg(name));
        }
        out(QStringLiteral("%1 files, +%2 -%3").arg(d->files.size()).arg(d->linesAdded).arg(d->linesRemoved));
        return Ok;
    }
    for (const FileDiff &f : std::as_const(d->files)) {
        std::fputs(text::inertText(f.patch).toUtf8().constData(), stdout); // file contents the agent wrote
        if (f.patchTruncated)
            out(QStringLiteral("… (shortened)"));
    }
    return Ok;
}

int rewind(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Restore the session's workspace to a checkpoint. The state before is "
                                               "kept as a checkpoint first, so a rewind can be undone."));
    p.addPositionalArgument(QStringLiteral("checkpoint"), QStringLiteral("A checkpoint id prefix, or 'latest'."));
    p.addOption(kJson);
    int exit = Ok;
    QString session;
    if (!parseWithSession(p, ctx, 1, &session, &exit))
        return exit;
    auto store = openStore(ctx);
    if (!store)
        return error(store.error());
    Checkpointer c(**store);
    auto r = c.rewind(RewindRequest{session, p.positionalArguments().first()});
    if (!r)
        return error(r.error());
    if (p.isSet(kJson))
        outJson(QJsonObject{{QStringLiteral("commit"), r->commit},
                            {QStringLiteral("safety"), r->safety},
                            {QStringLiteral("safetyCreated"), r->safetyCreated},
                            {QStringLiteral("written"), r->written},
                            {QStringLiteral("removed"), r->removed},
                            {QStringLiteral("protectedRemoved"), QJsonArray::fromStringList(r->protectedRemoved)}});
    else {
        out(QStringLiteral("rewound %1 to %2: %3 files restored, %4 removed. To undo: airlockctl checkpoints rewind "
                           "--session %1 %5")
                .arg(session, r->commit.left(8))
                .arg(r->written)
                .arg(r->removed)
                .arg(r->safety.left(8)));
        if (!r->protectedRemoved.isEmpty())
            out(QStringLiteral("removed protected entries the session did not start with: ") + r->protectedRemoved.join(QStringLiteral(", ")));
    }
    return Ok;
}

int fork(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Start a new session from a checkpoint, its workspace restored into a "
                                               "new folder (--into) or the same one (--in-place)."));
    p.addPositionalArgument(QStringLiteral("checkpoint"), QStringLiteral("A checkpoint id prefix, or 'latest'."));
    p.addOption({QStringLiteral("into"), QStringLiteral("A new or empty folder for the fork's workspace."), QStringLiteral("DIR")});
    p.addOption({QStringLiteral("in-place"), QStringLiteral("Rewind the session's own folder for the fork (its "
                                                            "current state is kept as a checkpoint first).")});
    p.addOption({QStringLiteral("as"), QStringLiteral("The new session's id (default: <session>-fork-<n>)."), QStringLiteral("ID")});
    p.addOption({QStringLiteral("title"), QStringLiteral("The new session's title."), QStringLiteral("TEXT")});
    p.addOption(kJson);
    int exit = Ok;
    QString session;
    if (!parseWithSession(p, ctx, 1, &session, &exit))
        return exit;
    if (p.isSet(QStringLiteral("into")) == p.isSet(QStringLiteral("in-place")))
        return error(QStringLiteral("checkpoints fork needs either --into DIR or --in-place"), Usage);
    if (p.isSet(QStringLiteral("into")) && p.value(QStringLiteral("into")).isEmpty())
        return error(QStringLiteral("--into needs a folder"), Usage);
    auto store = openStore(ctx);
    if (!store)
        return error(store.error());
    Checkpointer c(**store);
    ForkRequest req{session, p.positionalArguments().first(), p.value(QStringLiteral("as")), p.value(QStringLiteral("into")),
                    p.value(QStringLiteral("title"))};
    auto r = c.fork(req);
    if (!r)
        return error(r.error());
    if (p.isSet(kJson)) {
        outJson(QJsonObject{{QStringLiteral("session"), r->session},
                            {QStringLiteral("commit"), r->commit},
                            {QStringLiteral("workspace"), r->workspace},
                            {QStringLiteral("sameFolder"), r->sameFolder},
                            {QStringLiteral("safety"), r->safety.isEmpty() ? QJsonValue() : QJsonValue(r->safety)},
                            {QStringLiteral("written"), r->written},
                            {QStringLiteral("protectedRemoved"), QJsonArray::fromStringList(r->protectedRemoved)},
                            {QStringLiteral("transcriptSeq"), r->transcriptSeq}});
        return Ok;
    }
    out(QStringLiteral("forked %1 at %2 as %3 in %4").arg(session, r->commit.left(8), r->session, r->workspace));
    if (!r->protectedRemoved.isEmpty())
        out(QStringLiteral("removed protected entries the session did not start with: ") + r->protectedRemoved.join(QStringLiteral(", ")));
    if (!r->safety.isEmpty())
        out(QStringLiteral("the folder's state before is checkpoint %1 of %2").arg(r->safety.left(8), session));
    return Ok;
}

} // namespace

static int runCheckpoints(const QString &verb, const Context &ctx)
{
    if (verb == QLatin1String("list")) return list(ctx);
    if (verb == QLatin1String("create")) return create(ctx);
    if (verb == QLatin1String("diff")) return diff(ctx);
    if (verb == QLatin1String("rewind")) return rewind(ctx);
    if (verb == QLatin1String("fork")) return fork(ctx);
    return error(QStringLiteral("unknown command 'checkpoints %1'").arg(verb), Usage);
}

AIRLOCKCTL_GROUP({QStringLiteral("checkpoints"),
                  {QStringLiteral("list"), QStringLiteral("create"), QStringLiteral("diff"), QStringLiteral("rewind"),
                   QStringLiteral("fork")},
                  runCheckpoints,
                  "  checkpoints list --session ID [--json]      the checkpoint history, forks as branches\n"
                  "  checkpoints create --session ID [--label T] [--allow-empty] [--json]\n                                              take a checkpoint now\n"
                  "  checkpoints diff --session ID CP [--against CP] [--stat] [--json]\n                                              what a checkpoint changed\n"
                  "  checkpoints rewind --session ID CP [--json] restore the workspace (undoable)\n"
                  "  checkpoints fork --session ID CP (--into DIR | --in-place) [--as ID] [--json]\n                                              a new session from a checkpoint\n",
                  40});

} // namespace airlock::cli
