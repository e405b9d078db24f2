// airlockctl sandbox create|exec|list|stop|rm, and the one-shot airlockctl exec -- CMD.
#include "cli.h"
#include "sandboxhost.h"
#include "policy/codec.h"
#include "policy/commandsafety.h"
#include "policy/policylibrary.h"
#include "docker/dockerbackend.h"
#include "sandbox/localbackend.h"
#include "store/eventstore.h"
#include "text/inerttext.h"

#include <QCoreApplication>
#include <QDir>
#include <QEventLoop>
#include <QFileInfo>
#include <QPointer>
#include <QJsonArray>
#include <QJsonObject>
#include <QSocketNotifier>
#include <QTimer>

#include <fcntl.h>
#include <functional>
#include <cstdio>
#include <unistd.h>

namespace airlock::cli {

namespace {

using sandbox::ExecRequest;
using sandbox::ExitStatus;
using sandbox::LocalBackend;
using sandbox::Sandbox;
using sandbox::SandboxProcess;
using sandbox::SandboxState;

// Exit statuses of `exec`, as timeout(1) and docker run use them.
constexpr int kTimedOut = 124;
constexpr int kSandboxFailed = 125;
constexpr int kCannotRun = 126;
constexpr int kNotFound = 127;

const QCommandLineOption kJson(QStringLiteral("json"), QStringLiteral("Print JSON."));

// The store records sandbox.* events; a sandbox works without one, so a store that cannot open only warns.
std::unique_ptr<store::EventStore> openStore(const Context &ctx)
{
    auto store = store::EventStore::open(ctx.dbPath);
    if (!store) {
        error(QStringLiteral("not recording sandbox events: ") + store.error().message);
        return nullptr;
    }
    return std::move(*store);
}

QString uptimeText(qint64 ms)
{
    const qint64 s = ms / 1000;
    if (s < 60)
        return QStringLiteral("%1s").arg(s);
    if (s < 3600)
        return QStringLiteral("%1m%2s").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1h%2m").arg(s / 3600).arg((s % 3600) / 60, 2, 10, QLatin1Char('0'));
}

// A Docker sandbox may first build its image, which has its own deadlines in the backend.
int startTimeout(const policy::Policy &policy)
{
    return policy.runtime.backend == policy::Backend::Docker ? -1 : 20000;
}

struct ExecOptions
{
    QStringList argv;
    QStringList env;
    QString cwd;
    qint64 timeoutMs = 0;
    bool interactive = false;
};

void addExecOptions(QCommandLineParser &p)
{
    p.addOption({QStringLiteral("env"), QStringLiteral("Set a variable for the command (repeatable)."), QStringLiteral("NAME=VALUE")});
    p.addOption({QStringLiteral("cwd"), QStringLiteral("Working folder (default: the workspace)."), QStringLiteral("DIR")});
    p.addOption({QStringLiteral("timeout"), QStringLiteral("Stop the command after this many seconds."), QStringLiteral("SECONDS")});
    p.addOption({{QStringLiteral("i"), QStringLiteral("interactive")}, QStringLiteral("Pass this program's stdin to the command.")});
    p.addPositionalArgument(QStringLiteral("command"), QStringLiteral("The command and its arguments, after --."), QStringLiteral("-- CMD [ARGS…]"));
}

Result<ExecOptions> execOptions(const QCommandLineParser &p, const QStringList &command)
{
    ExecOptions o;
    o.argv = command;
    if (o.argv.isEmpty())
        return fail(ErrorCode::InvalidArgument, QStringLiteral("no command given; put it after --"));
    // No shell reads the command: one word with blanks or shell syntax is not a program name.
    if (o.argv.size() == 1 && policy::isShellLine(o.argv.first(), {}) && !QFileInfo::exists(o.argv.first()))
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("'%1' is a shell line, not a program, and no shell reads the command here; to run "
                                   "it through one: -- sh -c %2")
                        .arg(text::inertLine(o.argv.first()), policy::joinShellWords({o.argv.first()})));
    for (const QString &e : p.values(QStringLiteral("env"))) {
        if (e.indexOf(u'=') < 1)
            return fail(ErrorCode::InvalidArgument, QStringLiteral("--env '%1' is not NAME=VALUE").arg(e));
        o.env << e;
    }
    o.cwd = p.value(QStringLiteral("cwd"));
    if (p.isSet(QStringLiteral("timeout"))) {
        bool ok = false;
        const double s = p.value(QStringLiteral("timeout")).toDouble(&ok);
        if (!ok || s <= 0)
            return fail(ErrorCode::InvalidArgument, QStringLiteral("--timeout takes a positive number of seconds"));
        o.timeoutMs = static_cast<qint64>(s * 1000);
    }
    o.interactive = p.isSet(QStringLiteral("interactive"));
    return o;
}

void writeAll(FILE *to, const QByteArray &chunk)
{
    std::fwrite(chunk.constData(), 1, static_cast<size_t>(chunk.size()), to);
    std::fflush(to);
}

// Ctrl-C and SIGTERM, for the whole of an exec: the first stops the command's process group and makes
// the exit status 128 + the signal, a second stops waiting for it. The sandbox is removed either way.
struct Interruption
{
    int signal = 0;
    int count = 0;
    std::function<void()> action; // what the step under way does about it
    std::unique_ptr<QObject> handler;

    void install()
    {
        handler = onInterrupt([this](int sig) {
            if (!signal)
                signal = sig;
            ++count;
            if (action)
                action();
        });
    }
};

// Runs one command, streaming its output; returns the exit status airlockctl should end with.
int runCommand(Sandbox *s, const ExecOptions &o, Interruption &interruption)
{
    ExecRequest r;
    r.argv = o.argv;
    r.env = o.env;
    r.inheritEnv = true;
    r.cwd = o.cwd;
    r.timeoutMs = o.timeoutMs;
    r.streamStdin = o.interactive;
    if (!o.interactive)
        r.stdinData = QByteArray();
    Result<SandboxProcess *> started = s->exec(r);
    if (!started)
        return error(started.error().message, kSandboxFailed);
    SandboxProcess *process = *started;
    int status = kSandboxFailed;
    QEventLoop loop;
    QObject::connect(process, &SandboxProcess::stdoutReceived, [](const QByteArray &c) { writeAll(stdout, c); });
    QObject::connect(process, &SandboxProcess::stderrReceived, [](const QByteArray &c) { writeAll(stderr, c); });
    QObject::connect(process, &SandboxProcess::finished, &loop, [&](const ExitStatus &e) {
        if (e.timedOut) {
            error(QStringLiteral("the command timed out"));
            status = kTimedOut;
        } else if (e.exitCode) {
            status = *e.exitCode;
        } else {
            status = 128 + e.signal.value_or(0);
        }
        if (!e.timedOut && e.needsExplaining())
            error(QStringLiteral("the command %1").arg(e.reason()));
        loop.quit();
    });
    QObject::connect(process, &SandboxProcess::failed, &loop, [&](const Error &e) {
        error(e.message);
        status = e.message.contains(QLatin1String("No such file")) ? kNotFound
                 : e.message.contains(QLatin1String("ermission"))  ? kCannotRun
                                                                   : kSandboxFailed;
        loop.quit();
    });
    std::unique_ptr<QSocketNotifier> input;
    if (o.interactive) {
        input = std::make_unique<QSocketNotifier>(STDIN_FILENO, QSocketNotifier::Read);
        QObject::connect(input.get(), &QSocketNotifier::activated, [&] {
            char buffer[65536];
            const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
            if (n > 0) {
                process->writeStdin(QByteArrayView(buffer, n));
                return;
            }
            input->setEnabled(false);
            process->closeStdin();
        });
    }
    // Ctrl-C and SIGTERM stop the command's process group; the caller then removes what it made.
    QPointer<SandboxProcess> guard(process);
    interruption.action = [&] {
        if (interruption.count == 1 && guard)
            guard->kill(0, 500);
        else
            loop.quit();
    };
    if (!interruption.signal)
        loop.exec();
    interruption.action = {};
    return interruption.signal ? 128 + interruption.signal : status;
}

int create(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Start a sandbox that stays until `sandbox rm`, and print its name. It runs on "
                                               "the backend its policy names (bubblewrap or Docker)."));
    p.addOption({QStringLiteral("policy"), QStringLiteral("A saved policy, a preset or a .json file (default: standard)."),
                 QStringLiteral("NAME"), QStringLiteral("standard")});
    p.addOption({QStringLiteral("workspace"), QStringLiteral("The folder to work in (default: the current one)."), QStringLiteral("DIR")});
    p.addOption({QStringLiteral("name"), QStringLiteral("Its name (default: generated)."), QStringLiteral("NAME")});
    p.addOption(kJson);
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    auto entry = resolvePolicy(ctx, p.value(QStringLiteral("policy")));
    if (!entry)
        return error(entry.error());
    auto store = openStore(ctx);
    SandboxHost host(store.get());
    sandbox::SandboxSpec spec;
    spec.policy = entry->policy;
    spec.policyName = entry->name;
    spec.workspace = QDir(p.isSet(QStringLiteral("workspace")) ? p.value(QStringLiteral("workspace")) : QDir::currentPath()).absolutePath();
    spec.id = p.value(QStringLiteral("name"));
    // The command ends at once; an ephemeral sandbox would end with it.
    spec.lifecycle = policy::Lifecycle::Persistent;
    auto s = host.create(spec);
    if (!s)
        return error(s.error().message, kSandboxFailed);
    if (!waitWhileStarting(*s, startTimeout(spec.policy)))
        return error(QStringLiteral("the sandbox did not start: ") + (*s)->info().message, kSandboxFailed);
    const sandbox::SandboxInfo info = (*s)->info();
    if (store)
        (void)store->flush();
    if (p.isSet(kJson)) {
        outJson(info.toJson());
        return Ok;
    }
    out(info.id);
    std::fprintf(stderr, "backend: %s\n", qPrintable(info.backend));
    std::fprintf(stderr, "limits: %s (%s)\n", qPrintable(sandbox::mechanismName(info.limits.mechanism)),
                 qPrintable(info.limits.enforced.join(QStringLiteral("; "))));
    for (const QString &line : info.limits.unenforced)
        std::fprintf(stderr, "not enforced: %s\n", qPrintable(line));
    if (spec.policy.network.mode == policy::NetworkMode::Proxy)
        std::fprintf(stderr, "network: through the egress proxy of whichever Airlock process uses it (the window, or "
                             "airlockctl sandbox exec while a command runs)\n");
    return Ok;
}

int list(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("List sandboxes on bubblewrap and Docker: running, and stopped ones not yet removed."));
    p.addOption(kJson);
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    auto store = openStore(ctx); // the Docker backend adopts only what this database made
    SandboxHost host(store.get());
    QStringList skipped;
    const QList<Sandbox *> all = host.all(&skipped);
    for (const QString &why : std::as_const(skipped))
        std::fprintf(stderr, "not listed: %s\n", qPrintable(why));
    for (Sandbox *s : all)
        waitWhileStarting(s, 5000);
    QJsonArray array;
    if (!p.isSet(kJson))
        out(QStringLiteral("%1 %2 %3 %4 %5 %6 %7 %8 %9")
                .arg(QStringLiteral("NAME"), -18).arg(QStringLiteral("BACKEND"), -7).arg(QStringLiteral("POLICY"), -12)
                .arg(QStringLiteral("LIFECYCLE"), -10).arg(QStringLiteral("LIMITS"), -13).arg(QStringLiteral("STATE"), -8)
                .arg(QStringLiteral("UPTIME"), -7).arg(QStringLiteral("PROCS"), -5).arg(QStringLiteral("WORKSPACE")));
    for (Sandbox *s : all) {
        const sandbox::SandboxInfo i = s->info();
        if (p.isSet(kJson)) {
            array.append(i.toJson());
            continue;
        }
        out(QStringLiteral("%1 %2 %3 %4 %5 %6 %7 %8 %9")
                .arg(i.id, -18).arg(i.backend, -7).arg(i.policyName, -12).arg(policy::nameOf(i.lifecycle), -10)
                .arg(sandbox::mechanismName(i.limits.mechanism), -13).arg(sandbox::stateName(i.state), -8)
                .arg(i.state == SandboxState::Running ? uptimeText(i.uptimeMs) : QStringLiteral("-"), -7)
                .arg(i.processes >= 0 ? QString::number(i.processes) : QStringLiteral("-"), -5)
                .arg(i.workspace));
    }
    if (p.isSet(kJson))
        outJson(array);
    return Ok;
}

int execIn(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Run a command in a sandbox made with `sandbox create`; exits with its status."));
    addExecOptions(p);
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    QStringList rest = p.positionalArguments();
    if (rest.isEmpty())
        return error(QStringLiteral("sandbox exec needs a sandbox name and a command: sandbox exec NAME -- CMD"), Usage);
    const QString name = rest.takeFirst();
    auto options = execOptions(p, rest);
    if (!options)
        return error(options.error());
    Interruption interruption;
    interruption.install();
    auto store = openStore(ctx);
    SandboxHost host(store.get());
    auto s = host.find(name);
    if (!s)
        return error(s.error());
    if (!waitWhileStarting(*s))
        return error(QStringLiteral("sandbox %1 is %2: %3").arg(name, sandbox::stateName((*s)->state()), (*s)->info().message),
                     kSandboxFailed);
    // Its network, for as long as the command runs (unless another Airlock process serves it already).
    if (auto served = host.serveNetwork(*s); !served)
        error(served.error().message + QStringLiteral("; the command runs without a network"));
    const int status = runCommand(*s, *options, interruption);
    if (store)
        (void)store->flush();
    return status;
}

int stopOrRemove(const Context &ctx, bool remove)
{
    QCommandLineParser p;
    p.setApplicationDescription(remove ? QStringLiteral("Stop sandboxes and remove everything they left on this machine.")
                                       : QStringLiteral("Stop every process in sandboxes; `sandbox rm` removes them."));
    p.addPositionalArgument(QStringLiteral("name"), QStringLiteral("Sandboxes to act on."), QStringLiteral("NAME…"));
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    if (p.positionalArguments().isEmpty())
        return error(QStringLiteral("%1 needs at least one sandbox name").arg(ctx.command), Usage);
    auto store = openStore(ctx);
    SandboxHost host(store.get());
    int status = Ok;
    for (const QString &name : p.positionalArguments()) {
        auto s = host.find(name);
        if (!s) {
            status = error(s.error());
            continue;
        }
        waitWhileStarting(*s, 5000);
        if (remove) {
            if (!waitDestroyed(*s))
                status = error(QStringLiteral("sandbox %1 did not go away").arg(name));
            continue;
        }
        (*s)->stop();
        QPointer<Sandbox> guard(*s);
        QEventLoop loop;
        QTimer::singleShot(20000, &loop, &QEventLoop::quit);
        QObject::connect(*s, &Sandbox::stateChanged, &loop, [&](SandboxState st) {
            if (st != SandboxState::Stopping)
                loop.quit();
        });
        if (stateOf(guard) == SandboxState::Stopping)
            loop.exec();
    }
    if (store)
        (void)store->flush();
    return status;
}

int runSandbox(const QString &verb, const Context &ctx)
{
    if (verb == QLatin1String("create"))
        return create(ctx);
    if (verb == QLatin1String("list"))
        return list(ctx);
    if (verb == QLatin1String("exec"))
        return execIn(ctx);
    if (verb == QLatin1String("stop"))
        return stopOrRemove(ctx, false);
    if (verb == QLatin1String("rm"))
        return stopOrRemove(ctx, true);
    return error(QStringLiteral("unknown command 'sandbox %1'").arg(verb), Usage);
}

// airlockctl exec: a fresh ephemeral sandbox for one command, removed when it ends.
int runExec(const QString &, const Context &ctx)
{
    return runOneShot(ctx, OneShotDefaults{});
}

} // namespace

int runOneShot(const Context &ctx, const OneShotDefaults &defaults)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Run one command in a fresh sandbox on the backend its policy names, streaming its "
                                               "output; exits with its status (124 timed out, 125 the sandbox failed, 126/127 "
                                               "cannot run or not found)."));
    p.addOption({QStringLiteral("policy"), QStringLiteral("A saved policy, a preset or a .json file (default: %1).").arg(defaults.policy),
                 QStringLiteral("NAME"), defaults.policy});
    p.addOption({QStringLiteral("workspace"), QStringLiteral("The folder to work in (default: the current one)."), QStringLiteral("DIR")});
    if (defaults.imageOption)
        p.addOption({QStringLiteral("image"), QStringLiteral("Use this image instead of the policy's."), QStringLiteral("IMAGE")});
    addExecOptions(p);
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    auto options = execOptions(p, p.positionalArguments());
    if (!options)
        return error(options.error());
    auto entry = resolvePolicy(ctx, p.value(QStringLiteral("policy")));
    if (!entry)
        return error(entry.error());
    if (defaults.imageOption && p.isSet(QStringLiteral("image")))
        entry->policy.runtime.image = p.value(QStringLiteral("image"));
    auto store = openStore(ctx);
    int status = kSandboxFailed;
    // From before the sandbox exists until it is gone, so no signal leaves it behind.
    Interruption interruption;
    interruption.install();
    {
        SandboxHost host(store.get());
        sandbox::SandboxSpec spec;
        spec.policy = entry->policy;
        spec.policyName = entry->name;
        spec.workspace = QDir(p.isSet(QStringLiteral("workspace")) ? p.value(QStringLiteral("workspace")) : QDir::currentPath()).absolutePath();
        spec.lifecycle = policy::Lifecycle::Ephemeral;
        auto s = host.create(spec);
        if (!s)
            return error(s.error().message, kSandboxFailed);
        QPointer<Sandbox> box(*s);
        QString failure;
        // Its network from the start: the proxy comes up while the sandbox does.
        if (auto served = host.serveNetwork(box); !served)
            failure = served.error().message;
        else if (!waitWhileStarting(box, startTimeout(spec.policy)))
            failure = QStringLiteral("the sandbox did not start: ") + (box ? box->info().message : QStringLiteral("it went away"));
        else
            status = runCommand(box, *options, interruption);
        if (box)
            waitDestroyed(box);
        if (!failure.isEmpty()) {
            if (store)
                (void)store->flush();
            return error(failure, kSandboxFailed);
        }
    }
    if (store)
        (void)store->flush();
    return interruption.signal ? 128 + interruption.signal : status;
}

AIRLOCKCTL_GROUP({QStringLiteral("sandbox"),
                  {QStringLiteral("create"), QStringLiteral("list"), QStringLiteral("exec"), QStringLiteral("stop"), QStringLiteral("rm")},
                  runSandbox,
                  "  sandbox create [--policy NAME] [--workspace DIR] [--name NAME]\n"
                  "                                              start a sandbox that stays until removed\n"
                  "  sandbox list [--json]                       local sandboxes: policy, limits, state, uptime\n"
                  "  sandbox exec NAME [--env K=V] [--timeout S] [-i] -- CMD [ARGS…]\n"
                  "                                              run a command in it, exit with its status\n"
                  "  sandbox stop|rm NAME…                       stop its processes / remove it entirely\n",
                  40});

// The empty verb makes `exec` a command of its own: airlockctl exec [OPTIONS] -- CMD.
AIRLOCKCTL_GROUP({QStringLiteral("exec"), {QString()}, runExec,
                  "  exec [--policy NAME] [--workspace DIR] [--timeout S] [-i] -- CMD [ARGS…]\n"
                  "                                              run one command in a fresh sandbox, on the\n"
                  "                                              backend its policy names\n",
                  41});

} // namespace airlock::cli
