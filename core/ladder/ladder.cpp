// The ladder benchmark: a plan of small asynchronous steps, run one after another on the event loop.
#include "ladder.h"

#include "docker/dockerbackend.h"
#include "policy/presets.h"
#include "sandbox/backend.h"
#include "sandbox/localbackend.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QSysInfo>
#include <QThread>
#include <QTimer>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <type_traits>

namespace airlock::ladder {

using sandbox::Sandbox;
using sandbox::SandboxState;

namespace {

constexpr int kStartTimeoutMs = 180000; // the first Docker start may build the base image
constexpr int kRunTimeoutMs = 600000;
constexpr int kDestroyTimeoutMs = 60000;

double median(QList<double> v)
{
    std::sort(v.begin(), v.end());
    return v.isEmpty() ? 0 : (v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2);
}

QString machineDescription()
{
    QString cpu;
    QFile info(QStringLiteral("/proc/cpuinfo"));
    if (info.open(QIODevice::ReadOnly)) {
        for (const QByteArray &line : info.readAll().split('\n'))
            if (line.startsWith("model name")) {
                cpu = QString::fromUtf8(line.mid(line.indexOf(':') + 1)).simplified();
                break;
            }
    }
    return QStringLiteral("Linux %1, %2, %3 cores")
        .arg(QSysInfo::kernelVersion(), cpu.isEmpty() ? QStringLiteral("unknown CPU") : cpu)
        .arg(QThread::idealThreadCount());
}

// A one-shot callback: the first call wins, later ones (a timeout after the answer) do nothing.
template<typename... Args>
std::function<void(Args...)> once(std::type_identity_t<std::function<void(Args...)>> fn)
{
    auto called = std::make_shared<bool>(false);
    return [called, fn = std::move(fn)](Args... args) {
        if (*called)
            return;
        *called = true;
        fn(std::forward<Args>(args)...);
    };
}

} // namespace

LadderBenchmark::LadderBenchmark(LadderOptions options, QObject *parent) : QObject(parent), m_options(std::move(options))
{
    m_clock.start();
}

LadderBenchmark::~LadderBenchmark()
{
    ++m_generation;
    for (const QPointer<Sandbox> &made : std::as_const(m_made))
        if (Sandbox *box = made.data(); box && box->state() != SandboxState::Destroyed)
            box->destroy();
    if (!m_root.isEmpty())
        QDir(m_root).removeRecursively();
}

int LadderBenchmark::totalSteps() const
{
    return int(m_steps.size());
}

sandbox::Backend *LadderBenchmark::backendFor(Rung rung)
{
    if (rung == Rung::Bubblewrap) {
        if (m_options.local)
            return m_options.local;
        if (!m_ownLocal)
            m_ownLocal = std::make_unique<sandbox::LocalBackend>();
        return m_ownLocal.get();
    }
    if (m_options.docker)
        return m_options.docker;
    if (!m_ownDocker)
        m_ownDocker = std::make_unique<docker::DockerBackend>();
    return m_ownDocker.get();
}

Result<QString> LadderBenchmark::workspaceFor(Rung rung)
{
    if (m_root.isEmpty()) {
        QByteArray templ = QFile::encodeName(QDir::tempPath() + QStringLiteral("/airlock-ladder-XXXXXX"));
        if (!::mkdtemp(templ.data()))
            return fail(ErrorCode::Io, QStringLiteral("cannot make a folder for the ladder's workspaces under %1").arg(QDir::tempPath()));
        // Traversable, not listable: a root launcher's sandbox user reaches its own workspace only.
        ::chmod(templ.constData(), 0711);
        m_root = QFile::decodeName(templ);
    }
    const QString path = m_root + u'/' + rungName(rung);
    if (!QDir().mkpath(path))
        return fail(ErrorCode::Io, QStringLiteral("cannot make the workspace %1").arg(path));
    if (rung != Rung::Host && ::geteuid() == 0) {
        // As root, the sandbox runs as the policy's user: the workspace is theirs, as a user's own is.
        const auto preset = policy::findPreset(rungPreset(rung));
        if (preset && preset->privileges.uid && preset->privileges.gid
            && ::chown(QFile::encodeName(path).constData(), uid_t(*preset->privileges.uid), gid_t(*preset->privileges.gid)) != 0)
            return fail(ErrorCode::Io, QStringLiteral("cannot give the workspace %1 to the sandbox's user").arg(path));
    }
    return path;
}

namespace {

// The same static busybox everywhere when the host has one (Airlock's base image is built from it), so
// the rungs run the very same shell and the ratios measure isolation, not two interpreters.
bool haveBusybox()
{
    static const bool busybox = QFileInfo(QStringLiteral("/usr/bin/busybox")).isExecutable();
    return busybox;
}

QStringList tool(QStringList argv)
{
    if (!haveBusybox()) {
        argv.first().prepend(QStringLiteral("/bin/"));
        return argv;
    }
    argv.prepend(QStringLiteral("/usr/bin/busybox"));
    return argv;
}

} // namespace

QStringList LadderBenchmark::filesCommand() const
{
    // Builtins only, but for mkdir and one rm: the file system does the work, not process starts.
    const QString prefix = haveBusybox() ? QStringLiteral("/usr/bin/busybox ") : QString();
    return tool({QStringLiteral("sh"), QStringLiteral("-c"),
                 QStringLiteral("n=$1; d=.airlock-ladder-$$; %1mkdir \"$d\" && cd \"$d\" || exit 1; "
                                "i=0; while [ $i -lt $n ]; do echo x > f$i || exit 2; i=$((i+1)); done; "
                                "i=0; while [ $i -lt $n ]; do [ -f f$i ] || exit 3; i=$((i+1)); done; "
                                "cd .. && %1rm -r \"$d\"")
                     .arg(prefix),
                 QStringLiteral("ladder"), QString::number(m_options.files)});
}

QStringList LadderBenchmark::cpuCommand() const
{
    return tool({QStringLiteral("sh"), QStringLiteral("-c"), QStringLiteral("i=0; while [ $i -lt $1 ]; do i=$((i+1)); done"),
                 QStringLiteral("ladder"), QString::number(m_options.cpuIterations)});
}

QStringList LadderBenchmark::echoCommand()
{
    return tool({QStringLiteral("echo"), QStringLiteral("ready")});
}

QStringList LadderBenchmark::trueCommand()
{
    return tool({QStringLiteral("true")});
}

void LadderBenchmark::start()
{
    if (m_running)
        return;
    m_running = true;
    m_canceled = false;
    m_index = 0;
    m_samples = {};
    m_result = LadderResult{};
    m_result.machine = machineDescription();
    m_result.files = m_options.files;
    for (Rung rung : std::as_const(m_options.rungs))
        m_result.rungs.append(RungResult{rung, {}, {}});
    plan();
    QTimer::singleShot(0, this, &LadderBenchmark::next);
}

void LadderBenchmark::plan()
{
    m_steps.clear();
    for (Rung rung : std::as_const(m_options.rungs)) {
        if (rung != Rung::Host) {
            planSandboxRung(rung);
            continue;
        }
        const QString title = rungTitle(rung);
        m_steps.append({rung, tr("%1: preparing").arg(title), [this] {
                            if (auto ws = workspaceFor(Rung::Host); !ws)
                                return rungFailed(ws.error());
                            stepDone();
                        }});
        const auto timed = [this, title](Workload w, int round, int rounds, QStringList argv) {
            const bool counted = round > 0 || w == Workload::Files || w == Workload::Cpu;
            const int shown = w == Workload::Files || w == Workload::Cpu ? round + 1 : round;
            m_steps.append({Rung::Host, tr("%1: %2 %3/%4").arg(title, workloadTitle(w)).arg(shown).arg(rounds),
                            [this, w, counted, argv] {
                                runOnHost(argv, w == Workload::ColdStart, [this, w, counted](Result<double> ms) {
                                    if (!ms)
                                        return rungFailed(ms.error());
                                    if (counted)
                                        sample(w, *ms);
                                    stepDone();
                                });
                            }});
        };
        for (int i = 0; i <= m_options.coldRounds; ++i)
            timed(Workload::ColdStart, i, m_options.coldRounds, echoCommand());
        for (int i = 0; i <= m_options.warmRounds; ++i)
            timed(Workload::WarmExec, i, m_options.warmRounds, trueCommand());
        for (int i = 0; i < m_options.fileRounds; ++i)
            timed(Workload::Files, i, m_options.fileRounds, filesCommand());
        for (int i = 0; i < m_options.cpuRounds; ++i)
            timed(Workload::Cpu, i, m_options.cpuRounds, cpuCommand());
    }
}

void LadderBenchmark::planSandboxRung(Rung rung)
{
    const QString title = rungTitle(rung);
    m_steps.append({rung, tr("%1: checking that it runs here").arg(title), [this, rung] {
                        if (auto why = backendFor(rung)->unavailableReason())
                            return rungFailed(Error{ErrorCode::Io, *why});
                        stepDone();
                    }});
    for (int i = 0; i <= m_options.coldRounds; ++i) {
        const QString what = i == 0 ? tr("%1: first start (not counted; it may build the image)").arg(title)
                                    : tr("%1: cold start %2/%3").arg(title).arg(i).arg(m_options.coldRounds);
        m_steps.append({rung, what, [this, rung, counted = i > 0] {
                            const qint64 t0 = m_clock.nsecsElapsed();
                            createSandbox(rung, [this, t0, counted](Result<Sandbox *> box) {
                                if (!box)
                                    return rungFailed(box.error());
                                QPointer<Sandbox> guard(*box);
                                runInSandbox(*box, echoCommand(), true,
                                             [this, guard, counted](Result<double> firstOutput) {
                                                 if (!firstOutput)
                                                     return rungFailed(firstOutput.error());
                                                 destroySandbox(guard.data(), [this, ms = *firstOutput, counted] {
                                                     if (counted)
                                                         sample(Workload::ColdStart, ms);
                                                     stepDone();
                                                 });
                                             }, t0);
                            });
                        }});
    }
    m_steps.append({rung, tr("%1: starting a sandbox for the other workloads").arg(title), [this, rung] {
                        createSandbox(rung, [this](Result<Sandbox *> box) {
                            if (!box)
                                return rungFailed(box.error());
                            m_warm = *box;
                            stepDone();
                        });
                    }});
    const auto timed = [this, title, rung](Workload w, int round, int rounds, QStringList argv) {
        const bool counted = round > 0 || w == Workload::Files || w == Workload::Cpu;
        const int shown = w == Workload::Files || w == Workload::Cpu ? round + 1 : round;
        m_steps.append({rung, tr("%1: %2 %3/%4").arg(title, workloadTitle(w)).arg(shown).arg(rounds),
                        [this, w, counted, argv] {
                            Sandbox *box = m_warm.data();
                            if (!box || !box->isRunning())
                                return rungFailed(Error{ErrorCode::Io, tr("the sandbox stopped under the benchmark")});
                            runInSandbox(box, argv, false, [this, w, counted](Result<double> ms) {
                                if (!ms)
                                    return rungFailed(ms.error());
                                if (counted)
                                    sample(w, *ms);
                                stepDone();
                            }, m_clock.nsecsElapsed());
                        }});
    };
    for (int i = 0; i <= m_options.warmRounds; ++i)
        timed(Workload::WarmExec, i, m_options.warmRounds, trueCommand());
    for (int i = 0; i < m_options.fileRounds; ++i)
        timed(Workload::Files, i, m_options.fileRounds, filesCommand());
    for (int i = 0; i < m_options.cpuRounds; ++i)
        timed(Workload::Cpu, i, m_options.cpuRounds, cpuCommand());
    m_steps.append({rung, tr("%1: removing its sandbox").arg(title), [this] {
                        destroySandbox(m_warm.data(), [this] { stepDone(); });
                    }});
}

void LadderBenchmark::next()
{
    if (!m_running || m_canceled)
        return;
    if (m_index >= m_steps.size())
        return finish();
    // The step's callbacks check the generation: one that answers after a cancel or a failure is ignored.
    ++m_generation;
    m_abortCurrent = nullptr;
    Q_EMIT progress(m_index, int(m_steps.size()), m_steps.at(m_index).what);
    if (!m_running || m_canceled) // a slot of progress() canceled it
        return;
    const auto run = m_steps.at(m_index).run; // a copy: a slot connected to progress() may have changed the plan
    run();
}

void LadderBenchmark::sample(Workload workload, double ms)
{
    m_samples[int(m_steps.at(m_index).rung)][int(workload)].append(ms);
}

void LadderBenchmark::stepDone()
{
    ++m_index;
    // Not from inside the callback: the object that called back may be on its way out.
    QTimer::singleShot(0, this, &LadderBenchmark::next);
}

void LadderBenchmark::rungFailed(const Error &error)
{
    const Rung rung = m_steps.at(m_index).rung;
    for (RungResult &r : m_result.rungs)
        if (r.rung == rung)
            r.skipped = error.message;
    m_samples[int(rung)] = {};
    ++m_generation;
    if (m_abortCurrent)
        m_abortCurrent();
    m_abortCurrent = nullptr;
    while (m_index < m_steps.size() && m_steps.at(m_index).rung == rung)
        ++m_index;
    // Whatever the rung made goes before the next rung starts, so it measures an idle machine.
    cleanup([this] { QTimer::singleShot(0, this, &LadderBenchmark::next); });
}

void LadderBenchmark::finish()
{
    m_result.measured = QDateTime::currentDateTimeUtc();
    for (RungResult &r : m_result.rungs)
        for (Workload w : kAllWorkloads)
            if (const QList<double> &s = m_samples[int(r.rung)][int(w)]; !s.isEmpty())
                r.medianMs[int(w)] = median(s);
    cleanup([this] {
        m_running = false;
        if (!m_root.isEmpty())
            QDir(m_root).removeRecursively();
        m_root.clear();
        Q_EMIT progress(int(m_steps.size()), int(m_steps.size()), tr("done"));
        Q_EMIT finished(m_result);
    });
}

void LadderBenchmark::cancel()
{
    if (!m_running || m_canceled)
        return;
    m_canceled = true;
    ++m_generation;
    if (m_abortCurrent)
        m_abortCurrent();
    m_abortCurrent = nullptr;
    cleanup([this] {
        m_running = false;
        if (!m_root.isEmpty())
            QDir(m_root).removeRecursively();
        m_root.clear();
        Q_EMIT canceled();
    });
}

void LadderBenchmark::cleanup(std::function<void()> then)
{
    QList<Sandbox *> live;
    for (const QPointer<Sandbox> &made : std::as_const(m_made))
        if (Sandbox *box = made.data(); box && box->state() != SandboxState::Destroyed)
            live.append(box);
    m_made.clear();
    if (live.isEmpty())
        return then();
    auto pending = std::make_shared<int>(int(live.size()));
    for (Sandbox *box : live)
        destroySandbox(box, [pending, then] {
            if (--*pending == 0)
                then();
        });
}

LadderBenchmark::Timed LadderBenchmark::answerOnce(QObject *process, Timed done)
{
    // Answers once, lets the process go, and says nothing when the step was canceled or failed meanwhile.
    const quint64 generation = m_generation;
    return once<Result<double>>([this, generation, process, done = std::move(done)](Result<double> r) {
        process->disconnect(this);
        process->deleteLater();
        if (generation == m_generation)
            done(r);
    });
}

double LadderBenchmark::msSince(qint64 startNs) const
{
    return (m_clock.nsecsElapsed() - startNs) / 1e6;
}

void LadderBenchmark::runOnHost(const QStringList &argv, bool untilFirstOutput, Timed done)
{
    auto *process = new QProcess(this);
    process->setWorkingDirectory(m_root + QStringLiteral("/host"));
    process->setProcessEnvironment(QProcessEnvironment());
    process->setStandardInputFile(QProcess::nullDevice());
    auto answer = answerOnce(process, std::move(done));
    auto firstOutput = std::make_shared<std::optional<double>>();
    const qint64 t0 = m_clock.nsecsElapsed();
    connect(process, &QProcess::readyReadStandardOutput, this, [this, process, t0, firstOutput] {
        if (!*firstOutput)
            *firstOutput = msSince(t0);
        process->readAllStandardOutput();
    });
    connect(process, &QProcess::finished, this, [this, process, t0, firstOutput, untilFirstOutput, answer](int code, QProcess::ExitStatus status) {
        const double ms = msSince(t0);
        if (status != QProcess::NormalExit || code != 0)
            return answer(fail(ErrorCode::Io, tr("%1 failed on the host (status %2): %3")
                                                  .arg(process->program()).arg(code)
                                                  .arg(QString::fromLocal8Bit(process->readAllStandardError()).trimmed())));
        answer(untilFirstOutput && *firstOutput ? **firstOutput : ms);
    });
    connect(process, &QProcess::errorOccurred, this, [process, answer](QProcess::ProcessError error) {
        if (error == QProcess::FailedToStart)
            answer(fail(ErrorCode::Io, tr("cannot start %1: %2").arg(process->program(), process->errorString())));
    });
    m_abortCurrent = [guard = QPointer<QProcess>(process)] {
        if (QProcess *p = guard.data())
            p->kill();
    };
    process->start(argv.first(), argv.mid(1));
}

void LadderBenchmark::runInSandbox(Sandbox *box, const QStringList &argv, bool untilFirstOutput, Timed done, qint64 t0)
{
    sandbox::ExecRequest request;
    request.argv = argv;
    request.stdinData = QByteArray();
    request.timeoutMs = kRunTimeoutMs;
    auto started = box->exec(request);
    if (!started)
        return done(std::unexpected(started.error()));
    sandbox::SandboxProcess *process = *started;
    auto answer = answerOnce(process, std::move(done));
    auto firstOutput = std::make_shared<std::optional<double>>();
    auto errors = std::make_shared<QByteArray>();
    connect(process, &sandbox::SandboxProcess::stdoutReceived, this, [this, t0, firstOutput] {
        if (!*firstOutput)
            *firstOutput = msSince(t0);
    });
    connect(process, &sandbox::SandboxProcess::stderrReceived, this, [errors](const QByteArray &chunk) {
        if (errors->size() < 4096)
            errors->append(chunk.left(4096));
    });
    connect(process, &sandbox::SandboxProcess::finished, this,
            [this, t0, argv, firstOutput, errors, untilFirstOutput, answer](const sandbox::ExitStatus &status) {
                const double ms = msSince(t0);
                if (!status.succeeded())
                    return answer(fail(ErrorCode::Io, tr("%1 in the sandbox %2: %3")
                                                          .arg(argv.first(), status.reason(),
                                                               QString::fromLocal8Bit(*errors).trimmed())));
                answer(untilFirstOutput && *firstOutput ? **firstOutput : ms);
            });
    connect(process, &sandbox::SandboxProcess::failed, this, [answer](const Error &error) { answer(std::unexpected(error)); });
    m_abortCurrent = [guard = QPointer<sandbox::SandboxProcess>(process)] {
        if (sandbox::SandboxProcess *p = guard.data())
            (void)p->kill(SIGKILL, 0);
    };
}

void LadderBenchmark::createSandbox(Rung rung, std::function<void(Result<Sandbox *>)> done)
{
    auto ws = workspaceFor(rung);
    if (!ws)
        return done(std::unexpected(ws.error()));
    auto preset = policy::findPreset(rungPreset(rung));
    if (!preset)
        return done(fail(ErrorCode::NotFound, tr("the %1 preset is missing").arg(rungPreset(rung))));
    sandbox::SandboxSpec spec;
    spec.policy = *preset;
    // The file workload writes where an agent does: in the workspace, through the preset's own mounts.
    spec.policy.filesystem.workspace = policy::Access::ReadWrite;
    spec.policyName = QStringLiteral("ladder:") + rungPreset(rung);
    spec.workspace = *ws;
    // Ephemeral, the one for the warm workloads too: should this process end mid-run, they end with it.
    spec.lifecycle = policy::Lifecycle::Ephemeral;
    auto made = backendFor(rung)->create(spec);
    if (!made)
        return done(std::unexpected(made.error()));
    Sandbox *box = *made;
    m_made.append(box);
    const quint64 generation = m_generation;
    auto answer = once<Result<Sandbox *>>([this, generation, done](Result<Sandbox *> r) {
        if (generation == m_generation)
            done(r);
    });
    QPointer<Sandbox> guard(box);
    const auto check = [guard, answer] {
        Sandbox *s = guard.data();
        if (!s)
            return answer(fail(ErrorCode::Io, tr("the sandbox went away while it started")));
        if (s->state() == SandboxState::Running)
            return answer(s);
        if (s->state() != SandboxState::Starting)
            answer(fail(ErrorCode::Io, tr("the sandbox did not start: %1").arg(s->info().message)));
    };
    connect(box, &Sandbox::stateChanged, this, check);
    connect(box, &QObject::destroyed, this, check);
    QTimer::singleShot(kStartTimeoutMs, this, [answer] {
        answer(fail(ErrorCode::Io, tr("the sandbox did not start within %1 s").arg(kStartTimeoutMs / 1000)));
    });
    m_abortCurrent = [guard] {
        if (Sandbox *s = guard.data())
            s->destroy();
    };
    check();
}

void LadderBenchmark::destroySandbox(Sandbox *box, std::function<void()> done)
{
    if (!box || box->state() == SandboxState::Destroyed)
        return done();
    QPointer<Sandbox> guard(box);
    auto answer = once<>(std::function<void()>([this, done] { QTimer::singleShot(0, this, done); }));
    const auto check = [guard, answer] {
        const Sandbox *s = guard.data();
        if (!s || s->state() == SandboxState::Destroyed)
            answer();
    };
    connect(box, &Sandbox::stateChanged, this, check);
    connect(box, &QObject::destroyed, this, check);
    QTimer::singleShot(kDestroyTimeoutMs, this, answer);
    box->destroy();
    check();
}

} // namespace airlock::ladder
