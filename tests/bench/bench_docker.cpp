// Benchmarks of the Docker backend against the docker CLI, in the same run on the same image:
//   cold: DockerBackend create + start + first exec of /bin/true + destroy  vs  docker run --rm IMAGE /bin/true
//   warm: exec of /bin/true in a running persistent sandbox                  vs  docker exec CONTAINER /bin/true
// Usage: bench_docker [COLD_RUNS [WARM_RUNS]]   (defaults 10 and 200; docker exec gets a tenth)
// It reports, it does not assert. Targets: cold ratio <= 1.0, warm median <= 5 ms.
#include "../docker/dockertestutil.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QProcess>
#include <QTemporaryDir>
#include <QTimer>

#include <algorithm>
#include <cstdio>

using namespace airlock;
using namespace airlock::docker;
using namespace airlock::docker::test;

namespace {

double median(QList<double> values)
{
    if (values.isEmpty())
        return 0;
    std::sort(values.begin(), values.end());
    const qsizetype n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double ms(const QElapsedTimer &t)
{
    return double(t.nsecsElapsed()) / 1e6;
}

// Spins the event loop until done() holds; QTest::qWaitFor naps 10 ms between checks, which a
// benchmark would measure as latency.
// Runs the event loop until done() holds or timeoutMs passes. It sleeps between events, as a real
// client does: processEvents() with a time limit would poll, and a polling loop takes a core away
// from the processes being measured.
template<typename F>
bool spin(F done, int timeoutMs = 60000)
{
    QTimer limit;
    limit.setSingleShot(true);
    limit.start(timeoutMs);
    while (!done()) {
        if (!limit.isActive())
            return false;
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    }
    return true;
}

DockerSandbox *launch(DockerBackend &backend, const sandbox::SandboxSpec &spec)
{
    auto created = backend.create(spec);
    if (!created)
        return nullptr;
    auto *s = qobject_cast<DockerSandbox *>(*created);
    spin([s] { return s->state() == sandbox::SandboxState::Running || s->state() == sandbox::SandboxState::Failed; });
    if (s->state() != sandbox::SandboxState::Running) {
        std::fprintf(stderr, "sandbox failed: %s\n", qPrintable(s->info().message));
        return nullptr;
    }
    return s;
}

bool trueIn(DockerSandbox *s)
{
    sandbox::ExecRequest request;
    request.argv = {QStringLiteral("/bin/true")};
    auto process = s->exec(request);
    if (!process)
        return false;
    std::optional<int> code;
    QObject::connect(*process, &sandbox::SandboxProcess::finished, [&code](const sandbox::ExitStatus &st) { code = st.exitCode.value_or(-1); });
    QObject::connect(*process, &sandbox::SandboxProcess::failed, [&code](const Error &) { code = -1; });
    spin([&code] { return code.has_value(); });
    (*process)->deleteLater();
    return code == 0;
}

bool destroyed(DockerBackend &backend, DockerSandbox *s)
{
    const QString id = s->id();
    bool removed = false;
    auto c = QObject::connect(&backend, &sandbox::Backend::sandboxRemoved, [&](const QString &gone) { removed = removed || gone == id; });
    s->destroy();
    const bool ok = spin([&] { return removed; });
    QObject::disconnect(c);
    return ok;
}

bool dockerCli(const QStringList &args, double *elapsed)
{
    QElapsedTimer t;
    t.start();
    QProcess p;
    p.start(QStringLiteral("docker"), args);
    const bool ok = p.waitForFinished(60000) && p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0;
    *elapsed = ms(t);
    if (!ok)
        std::fprintf(stderr, "docker %s failed: %s\n", qPrintable(args.join(u' ')), p.readAllStandardError().constData());
    return ok;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const int coldRuns = argc > 1 ? std::max(1, atoi(argv[1])) : 10;
    const int warmRuns = argc > 2 ? std::max(1, atoi(argv[2])) : 200;
    if (const auto why = dockerUnavailable()) {
        std::printf("skipped: %s\n", qPrintable(*why));
        return 0;
    }
    QTemporaryDir dir;
    const QString workspace = dir.filePath(QStringLiteral("ws"));
    QDir().mkpath(workspace);
    DockerBackendOptions options;
    options.shimPath = QStringLiteral(AIRLOCK_SHIM_PATH);
    options.runtimeDir = dir.filePath(QStringLiteral("run"));
    DockerBackend backend(DockerClient::fromEnvironment(), options);
    backend.client()->setParent(&backend);
    const policy::Policy policy = hardened();
    const QString image = policy.runtime.image;

    // The docker CLI with the flags the Hardened preset compiles to, minus the shim it does not need.
    const QStringList runArgs{QStringLiteral("run"), QStringLiteral("--rm"), QStringLiteral("--network"), QStringLiteral("none"),
                              QStringLiteral("--cap-drop"), QStringLiteral("ALL"), QStringLiteral("--security-opt"),
                              QStringLiteral("no-new-privileges:true"), QStringLiteral("--read-only"), QStringLiteral("--user"),
                              QStringLiteral("1000:1000"), QStringLiteral("--memory"), QStringLiteral("2g"), QStringLiteral("--pids-limit"),
                              QStringLiteral("100"), QStringLiteral("--init"), QStringLiteral("--tmpfs"),
                              QStringLiteral("/tmp:rw,noexec,nosuid,nodev,size=104857600"), QStringLiteral("--tmpfs"),
                              QStringLiteral("/home/agent:rw,noexec,nosuid,nodev,size=67108864"), QStringLiteral("-v"),
                              workspace + u':' + workspace + QStringLiteral(":ro"),
                              image, QStringLiteral("/bin/true")};

    QList<double> ours;
    QList<double> theirs;
    QList<double> toRunning;
    QList<double> firstExec;
    QList<double> destroy;
    // One of each first, unmeasured, so neither pays for a cold page cache.
    for (int i = -1; i < coldRuns; ++i) {
        QElapsedTimer t;
        t.start();
        DockerSandbox *s = launch(backend, {policy, QStringLiteral("hardened"), workspace, {}, {}, {}});
        if (!s)
            return 1;
        const double running = ms(t);
        if (!trueIn(s)) {
            std::fprintf(stderr, "exec failed\n");
            return 1;
        }
        const double execd = ms(t);
        if (!destroyed(backend, s))
            return 1;
        const double ourMs = ms(t);
        double cliMs = 0;
        if (!dockerCli(runArgs, &cliMs))
            return 1;
        if (i >= 0) {
            ours << ourMs;
            theirs << cliMs;
            toRunning << running;
            firstExec << execd - running;
            destroy << ourMs - execd;
        }
    }
    const double coldOurs = median(ours);
    const double coldCli = median(theirs);
    std::printf("cold  airlock create+start+exec+destroy  median %7.1f ms  min %7.1f  (n=%d)\n", coldOurs,
                *std::min_element(ours.begin(), ours.end()), coldRuns);
    std::printf("cold  docker run --rm                    median %7.1f ms  min %7.1f  (n=%d)\n", coldCli,
                *std::min_element(theirs.begin(), theirs.end()), coldRuns);
    std::printf("cold  ratio airlock / docker run         %.2f   (target <= 1.0)\n", coldOurs / coldCli);
    std::printf("cold  airlock parts (medians): create+start+shim ready %.1f ms, first exec %.1f ms, destroy %.1f ms\n",
                median(toRunning), median(firstExec), median(destroy));

    DockerSandbox *warm = launch(backend, {policy, QStringLiteral("hardened"), workspace, {}, {}, policy::Lifecycle::Persistent});
    if (!warm)
        return 1;
    QList<double> execs;
    for (int i = -5; i < warmRuns; ++i) {
        QElapsedTimer t;
        t.start();
        if (!trueIn(warm))
            return 1;
        if (i >= 0)
            execs << ms(t);
    }
    QList<double> cliExecs;
    const int cliRuns = std::max(5, warmRuns / 10);
    for (int i = -1; i < cliRuns; ++i) {
        double e = 0;
        if (!dockerCli({QStringLiteral("exec"), warm->containerId(), QStringLiteral("/bin/true")}, &e))
            return 1;
        if (i >= 0)
            cliExecs << e;
    }
    std::printf("warm  airlock exec /bin/true             median %7.2f ms  p90 %7.2f  (n=%d, target <= 5 ms)\n", median(execs),
                [&] { auto v = execs; std::sort(v.begin(), v.end()); return v[qsizetype(v.size() * 0.9)]; }(), warmRuns);
    std::printf("warm  docker exec /bin/true              median %7.2f ms  (n=%d)\n", median(cliExecs), cliRuns);
    destroyed(backend, warm);
    return 0;
}
