// bench_local_exec: what a sandboxed command costs on this machine, measured against raw bubblewrap
// in the same run.
//
//   one-shot  create a sandbox from the Standard preset, run /bin/true through the shim, destroy it
//             (what `airlockctl exec -- true` does, minus the CLI's own start-up)
//   raw       bwrap with the same arguments, environment and seccomp program, running /bin/true
//             instead of the shim
//   warm      /bin/true in a persistent sandbox that is already running
//
// Usage: bench_local_exec [ITERATIONS]   (default 40). Prints medians, p90s and the ratios.
// Needs airlock-shim built (found beside the build's app/ folder, or set AIRLOCK_SHIM).
// Targets (issue 4): one-shot at most 1.5x raw, warm at most 2 ms median.

#include "policy/compiler.h"
#include "policy/presets.h"
#include "sandbox/localbackend.h"
#include "sandbox/seccompfilter.h"
#include "sandbox/spawned.h"

#include <QCoreApplication>
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
    const policy::Policy standard = *policy::findPreset(u"standard");
    auto raw = rawCommand(standard, ws, dir.path() + QStringLiteral("/control"), backend.shimPath());
    if (!raw) {
        std::fprintf(stderr, "bench_local_exec: %s\n", qPrintable(raw.error().message));
        return 1;
    }

    std::vector<double> rawMs, oneShotMs, startMs, execMs, destroyMs, warmMs;
    QElapsedTimer t;
    // Interleaved, so both see the same machine load; the first round warms caches and is dropped.
    for (int i = 0; i <= n; ++i) {
        t.start();
        if (!runRaw(*raw, backend.bwrapPath())) {
            std::fprintf(stderr, "bench_local_exec: raw bwrap failed\n");
            return 1;
        }
        const double rawTime = t.nsecsElapsed() / 1e6;

        SandboxSpec spec;
        spec.policy = standard;
        spec.policyName = QStringLiteral("standard");
        spec.workspace = ws;
        t.start();
        auto s = backend.create(spec);
        if (!s || !waitFor([&] { return (*s)->state() != SandboxState::Starting; }) || !(*s)->isRunning()) {
            std::fprintf(stderr, "bench_local_exec: the sandbox did not start: %s\n",
                         s ? qPrintable((*s)->info().message) : qPrintable(s.error().message));
            return 1;
        }
        const double started = t.nsecsElapsed() / 1e6;
        if (!runTrue(*s)) {
            std::fprintf(stderr, "bench_local_exec: /bin/true failed in the sandbox\n");
            return 1;
        }
        const double executed = t.nsecsElapsed() / 1e6;
        QPointer<Sandbox> guard(*s);
        (*s)->destroy();
        waitFor([&] {
        const Sandbox *alive = guard.data();
        return alive == nullptr || alive->state() == SandboxState::Destroyed;
    });
        const double total = t.nsecsElapsed() / 1e6;
        if (i == 0)
            continue;
        rawMs.push_back(rawTime);
        oneShotMs.push_back(total);
        startMs.push_back(started);
        execMs.push_back(executed - started);
        destroyMs.push_back(total - executed);
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

    std::printf("bench_local_exec: %d one-shot rounds, %zu warm execs; limits via %s\n", n, warmMs.size(),
                qPrintable(mechanism));
    std::printf("  raw bwrap /bin/true        median %7.2f ms   p90 %7.2f ms\n", median(rawMs), p90(rawMs));
    std::printf("  one-shot (Standard)        median %7.2f ms   p90 %7.2f ms\n", median(oneShotMs), p90(oneShotMs));
    std::printf("    start to running         median %7.2f ms\n", median(startMs));
    std::printf("    exec /bin/true           median %7.2f ms\n", median(execMs));
    std::printf("    stop and remove          median %7.2f ms\n", median(destroyMs));
    std::printf("  warm exec                  median %7.2f ms   p90 %7.2f ms\n", median(warmMs), p90(warmMs));
    std::printf("  ratio one-shot / raw       %.2fx   (target <= 1.5x)\n", median(oneShotMs) / median(rawMs));
    std::printf("  warm exec                  %.2f ms (target <= 2 ms)\n", median(warmMs));
    return 0;
}
