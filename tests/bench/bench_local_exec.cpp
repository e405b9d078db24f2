// bench_local_exec: what a sandboxed command costs on this machine, measured against raw bubblewrap
// in the same run.
//
//   raw       bwrap with the same arguments, environment and seccomp program as a Standard sandbox,
//             running /bin/true instead of the shim, as a process of its own
//   one-shot  create a sandbox from the Standard preset, run /bin/true through the shim, destroy it
//             (what `airlockctl exec -- true` does, minus the CLI's own start-up)
//   warm      /bin/true in a persistent sandbox that is already running
//   cli       `airlockctl exec -- /bin/true` as a whole process (set AIRLOCKCTL, or found in the build)
//   srt       `srt /bin/true`, Anthropic's sandbox-runtime CLI, when SRT names it (npm
//             @anthropic-ai/sandbox-runtime; tests/bench/install-srt.sh puts it in the build folder)
//
// Each one-shot round also runs Standard without the protection layer, to show what the layer costs.
// Usage: bench_local_exec [ITERATIONS]   (default 40). Prints medians, p90s and the ratios.
// Needs airlock-shim built (found beside the build's app/ folder, or set AIRLOCK_SHIM).
// Targets (issue 17): warm exec at most 1 ms median, one-shot at most 1.3x raw, the CLI's one-shot at
// most 2x the raw bwrap process.

#include "policy/compiler.h"
#include "policy/presets.h"
#include "sandbox/localbackend.h"
#include "sandbox/seccompfilter.h"
#include "sandbox/spawned.h"

#include <QCoreApplication>
#include <QFileInfo>
#include <QProcess>
#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QPointer>
#include <QTemporaryDir>

#include <sys/stat.h>
#include <QTimer>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

using namespace airlock;
using namespace airlock::sandbox;

namespace {

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

double p90(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[std::min(v.size() - 1, v.size() * 9 / 10)];
}

// Runs the event loop until pred() holds or timeoutMs passes. It sleeps between events, as a real
// client does: processEvents() with a time limit would poll, and a polling loop takes a core away
// from the processes being measured.
bool waitFor(const std::function<bool()> &pred, int timeoutMs = 20000)
{
    QTimer limit;
    limit.setSingleShot(true);
    limit.start(timeoutMs);
    while (!pred()) {
        if (!limit.isActive())
            return false;
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    }
    return true;
}

bool runTrue(Sandbox *s)
{
    ExecRequest r;
    r.argv = {QStringLiteral("/bin/true")};
    r.stdinData = QByteArray();
    auto p = s->exec(r);
    if (!p)
        return false;
    bool done = false;
    bool ok = false;
    QObject::connect(*p, &SandboxProcess::finished, [&](const ExitStatus &e) {
        done = true;
        ok = e.succeeded();
    });
    QObject::connect(*p, &SandboxProcess::failed, [&](const Error &) { done = true; });
    const bool finished = waitFor([&] { return done; });
    (*p)->deleteLater();
    return finished && ok;
}

struct Raw
{
    QStringList args;
    QMap<QString, QString> env;
    QByteArray seccomp;
};

Result<Raw> rawCommand(const policy::Policy &p, const QString &workspace, const QString &controlDir, const QString &shim)
{
    policy::LaunchContext c;
    c.workspace = workspace;
    c.shim = shim;
    c.controlDir = controlDir;
    c.home = QDir::homePath();
    c.seccompFd = 3;
    auto command = policy::compileBwrap(p, c);
    if (!command)
        return std::unexpected(command.error());
    Raw raw;
    raw.args = command->arguments;
    // Everything up to the shim stays; the shim and its arguments become /bin/true.
    raw.args = raw.args.mid(0, raw.args.indexOf(QStringLiteral("--")) + 1) << QStringLiteral("/bin/true");
    raw.env = command->environment;
    auto program = seccompProgram(p.privileges);
    if (!program)
        return std::unexpected(program.error());
    raw.seccomp = *program;
    return raw;
}

bool runRaw(const Raw &raw, const QString &bwrap)
{
    auto fd = sealedMemfd("bench-seccomp", raw.seccomp);
    if (!fd)
        return false;
    SpawnRequest r;
    r.program = bwrap;
    r.arguments = raw.args;
    r.environment = raw.env;
    r.descriptors = {{*fd, 3}};
    auto spawned = spawnProcess(r);
    ::close(*fd);
    if (!spawned)
        return false;
    int status = 0;
    ::waitpid(spawned->pid(), &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// A program run to its end as a process of its own, stdout and stderr to /dev/null: its wall time.
std::optional<double> timeProcess(const QString &program, const QStringList &args, const QMap<QString, QString> &env)
{
    SpawnRequest r;
    r.program = program;
    r.arguments = args;
    r.environment = env;
    QElapsedTimer t;
    t.start();
    auto spawned = spawnProcess(r);
    if (!spawned)
        return std::nullopt;
    int status = 0;
    ::waitpid(spawned->pid(), &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return std::nullopt;
    return t.nsecsElapsed() / 1e6;
}

QMap<QString, QString> hostEnvironment()
{
    QMap<QString, QString> env;
    const QProcessEnvironment system = QProcessEnvironment::systemEnvironment();
    for (const QString &key : system.keys())
        env.insert(key, system.value(key));
    return env;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const int n = argc > 1 ? std::max(5, std::atoi(argv[1])) : 40;
    if (auto probe = LocalBackend::probeBwrap(); !probe) {
        std::fprintf(stderr, "bench_local_exec: %s\n", qPrintable(probe.error().message));
        return 1;
    }
    QTemporaryDir dir;
    QDir(dir.path()).mkpath(QStringLiteral("ws"));
    QDir(dir.path()).mkpath(QStringLiteral("control"));
    ::chmod(QFile::encodeName(dir.path()).constData(), 0711); // a root launcher's sandbox user passes through
    const QString ws = QDir(dir.path()).canonicalPath() + QStringLiteral("/ws");
    LocalBackendOptions options;
    options.runtimeRoot = dir.path() + QStringLiteral("/run");
    LocalBackend backend(options); // finds the shim beside the build's app/ folder, or $AIRLOCK_SHIM
    if (auto why = backend.unavailableReason()) {
        std::fprintf(stderr, "bench_local_exec: %s\n", qPrintable(*why));
        return 1;
    }
    policy::Policy standard = *policy::findPreset(u"standard");
    // AIRLOCK_BENCH_NO_LAYER=1: without the workspace's protection layer, to see what it costs.
    if (qEnvironmentVariableIntValue("AIRLOCK_BENCH_NO_LAYER"))
        standard.filesystem.protectionLayer = false;
    auto raw = rawCommand(standard, ws, dir.path() + QStringLiteral("/control"), backend.shimPath());
    if (!raw) {
        std::fprintf(stderr, "bench_local_exec: %s\n", qPrintable(raw.error().message));
        return 1;
    }

    std::vector<double> rawMs, oneShotMs, startMs, execMs, destroyMs, warmMs, bareMs;
    // The Standard policy without the workspace's protection layer: what the layer's process costs.
    policy::Policy bare = standard;
    bare.filesystem.protectionLayer = false;
    QElapsedTimer t;
    struct Times
    {
        double started = 0, executed = 0, total = 0;
    };
    const auto oneShot = [&](const policy::Policy &policy) -> std::optional<Times> {
        SandboxSpec spec;
        spec.policy = policy;
        spec.policyName = QStringLiteral("standard");
        spec.workspace = ws;
        Times times;
        t.start();
        auto s = backend.create(spec);
        if (!s || !waitFor([&] { return (*s)->state() != SandboxState::Starting; }) || !(*s)->isRunning()) {
            std::fprintf(stderr, "bench_local_exec: the sandbox did not start: %s\n",
                         s ? qPrintable((*s)->info().message) : qPrintable(s.error().message));
            return std::nullopt;
        }
        times.started = t.nsecsElapsed() / 1e6;
        if (!runTrue(*s)) {
            std::fprintf(stderr, "bench_local_exec: /bin/true failed in the sandbox\n");
            return std::nullopt;
        }
        times.executed = t.nsecsElapsed() / 1e6;
        QPointer<Sandbox> guard(*s);
        (*s)->destroy();
        waitFor([&] {
            const Sandbox *alive = guard.data();
            return alive == nullptr || alive->state() == SandboxState::Destroyed;
        });
        times.total = t.nsecsElapsed() / 1e6;
        return times;
    };
    // Interleaved, so all see the same machine load; the first round warms caches and is dropped.
    for (int i = 0; i <= n; ++i) {
        t.start();
        if (!runRaw(*raw, backend.bwrapPath())) {
            std::fprintf(stderr, "bench_local_exec: raw bwrap failed\n");
            return 1;
        }
        const double rawTime = t.nsecsElapsed() / 1e6;
        const std::optional<Times> standardTimes = oneShot(standard);
        if (!standardTimes)
            return 1;
        std::optional<Times> bareTimes;
        if (standard.filesystem.protectionLayer && !(bareTimes = oneShot(bare)))
            return 1;
        if (i == 0)
            continue;
        rawMs.push_back(rawTime);
        oneShotMs.push_back(standardTimes->total);
        startMs.push_back(standardTimes->started);
        execMs.push_back(standardTimes->executed - standardTimes->started);
        destroyMs.push_back(standardTimes->total - standardTimes->executed);
        if (bareTimes)
            bareMs.push_back(bareTimes->total);
    }

    SandboxSpec warmSpec;
    warmSpec.policy = standard;
    warmSpec.policyName = QStringLiteral("standard");
    warmSpec.workspace = ws;
    warmSpec.lifecycle = policy::Lifecycle::Persistent;
    auto warm = backend.create(warmSpec);
    if (!warm || !waitFor([&] { return (*warm)->state() != SandboxState::Starting; })) {
        std::fprintf(stderr, "bench_local_exec: the persistent sandbox did not start\n");
        return 1;
    }
    runTrue(*warm);
    const QString mechanism = mechanismName((*warm)->info().limits.mechanism);
    for (int i = 0; i < n * 5; ++i) {
        t.start();
        runTrue(*warm);
        warmMs.push_back(t.nsecsElapsed() / 1e6);
    }
    QPointer<Sandbox> guard(*warm);
    (*warm)->destroy();
    waitFor([&] {
        const Sandbox *alive = guard.data();
        return alive == nullptr || alive->state() == SandboxState::Destroyed;
    });

    // Whole processes, as a user at a shell prompt sees them.
    QString ctl = qEnvironmentVariable("AIRLOCKCTL");
    if (ctl.isEmpty())
        ctl = QCoreApplication::applicationDirPath() + QStringLiteral("/../../app/airlockctl/airlockctl");
    const QString srt = qEnvironmentVariable("SRT");
    const QMap<QString, QString> env = hostEnvironment();
    auto ctlEnv = env;
    ctlEnv.insert(QStringLiteral("AIRLOCK_DB"), dir.path() + QStringLiteral("/cli.db"));
    ctlEnv.insert(QStringLiteral("AIRLOCK_SHIM"), backend.shimPath());
    const QStringList ctlArgs{QStringLiteral("exec"), QStringLiteral("--workspace"), ws, QStringLiteral("--"), QStringLiteral("/bin/true")};
    std::vector<double> rawProcessMs, cliMs, srtMs, hostMs;
    const bool haveCli = QFileInfo(ctl).isExecutable() && timeProcess(ctl, ctlArgs, ctlEnv); // also creates its store
    const bool haveSrt = !srt.isEmpty() && timeProcess(srt, {QStringLiteral("/bin/true")}, env);
    for (int i = 0; i < n; ++i) {
        t.start();
        runRaw(*raw, backend.bwrapPath());
        rawProcessMs.push_back(t.nsecsElapsed() / 1e6);
        for (int k = 0; k < 5; ++k)
            if (auto ms = timeProcess(QStringLiteral("/bin/true"), {}, env))
                hostMs.push_back(*ms);
        if (haveCli)
            if (auto ms = timeProcess(ctl, ctlArgs, ctlEnv))
                cliMs.push_back(*ms);
        if (haveSrt)
            if (auto ms = timeProcess(srt, {QStringLiteral("/bin/true")}, env))
                srtMs.push_back(*ms);
    }

    std::printf("bench_local_exec: %d one-shot rounds, %zu warm execs; limits via %s\n", n, warmMs.size(),
                qPrintable(mechanism));
    std::printf("  raw bwrap /bin/true        median %7.2f ms   p90 %7.2f ms\n", median(rawMs), p90(rawMs));
    std::printf("  one-shot (Standard)        median %7.2f ms   p90 %7.2f ms\n", median(oneShotMs), p90(oneShotMs));
    std::printf("    start to running         median %7.2f ms\n", median(startMs));
    std::printf("    exec /bin/true           median %7.2f ms\n", median(execMs));
    std::printf("    stop and remove          median %7.2f ms\n", median(destroyMs));
    if (!bareMs.empty())
        std::printf("  one-shot, no layer         median %7.2f ms   (Standard without the workspace's protection layer)\n",
                    median(bareMs));
    std::printf("  warm exec                  median %7.2f ms   p90 %7.2f ms\n", median(warmMs), p90(warmMs));
    std::printf("  /bin/true on the host      median %7.2f ms   (the floor: fork and exec, no sandbox)\n", median(hostMs));
    if (haveCli)
        std::printf("  airlockctl exec (process)  median %7.2f ms   p90 %7.2f ms\n", median(cliMs), p90(cliMs));
    else
        std::printf("  airlockctl exec (process)  not measured: %s is not built\n", qPrintable(ctl));
    if (haveSrt)
        std::printf("  srt /bin/true (process)    median %7.2f ms   p90 %7.2f ms\n", median(srtMs), p90(srtMs));
    else
        std::printf("  srt /bin/true (process)    not measured: set SRT to its path (tests/bench/install-srt.sh)\n");
    std::printf("  ratio one-shot / raw       %.2fx   (target <= 1.3x)\n", median(oneShotMs) / median(rawMs));
    if (!bareMs.empty())
        std::printf("  ratio no layer / raw       %.2fx\n", median(bareMs) / median(rawMs));
    std::printf("  warm exec                  %.2f ms (target <= 1 ms), %.2fx the host's fork and exec\n", median(warmMs),
                median(warmMs) / median(hostMs));
    if (haveCli)
        std::printf("  ratio airlockctl / raw     %.2fx   (target <= 2x)\n", median(cliMs) / median(rawProcessMs));
    if (haveCli && haveSrt)
        std::printf("  ratio srt / airlockctl     %.1fx   (target >= 20x)\n", median(srtMs) / median(cliMs));
    return 0;
}
