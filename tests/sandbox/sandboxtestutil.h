#pragma once

// Helpers for tests that start real bubblewrap sandboxes (tests/sandbox and tests/security).

#include "policy/presets.h"
#include "sandbox/backend.h"
#include "sandbox/localbackend.h"

#include <QDir>
#include <QFile>
#include <QPointer>
#include <QTemporaryDir>
#include <QTest>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>

namespace airlock::sandbox::test {

// Why sandboxes cannot run here, or empty. Asked once per test binary.
inline QString bwrapUnavailable()
{
    static const QString reason = [] {
        const Result<void> probe = LocalBackend::probeBwrap();
        return probe ? QString() : probe.error().message;
    }();
    return reason;
}

#define AIRLOCK_REQUIRE_BWRAP()                                                                              \
    do {                                                                                                     \
        const QString why_ = ::airlock::sandbox::test::bwrapUnavailable();                                   \
        if (!why_.isEmpty())                                                                                 \
            QSKIP(qPrintable(QStringLiteral("bubblewrap cannot create sandboxes here: ") + why_));           \
    } while (false)

// The Standard preset with limits small enough that a bomb hits them in a test's time, and no
// wall clock unless asked.
inline policy::Policy testPolicy()
{
    policy::Policy p = *policy::findPreset(u"standard");
    p.resources.memoryBytes = 256LL << 20;
    p.resources.pids = 64;
    p.resources.cpus = 1;
    p.resources.tmpBytes = 16LL << 20;
    p.resources.maxFileBytes = 8LL << 20;
    p.resources.maxOutputBytes = 1LL << 20;
    p.resources.wallClockSeconds = 600;
    // The unprivileged rerun on a machine whose /dev/fuse only root may open: no layer can be
    // mounted there, so everything else is tested without it (tst_sandbox_unprivileged).
    if (qEnvironmentVariableIntValue("AIRLOCK_TEST_WITHOUT_LAYER"))
        p.filesystem.protectionLayer = false;
    return p;
}

// A temporary runtime root and workspace, and a backend over them.
class SandboxFixture
{
public:
    explicit SandboxFixture(LocalBackendOptions options = {})
    {
        QDir(m_dir.path()).mkpath(QStringLiteral("ws"));
        QDir(m_dir.path()).mkpath(QStringLiteral("run"));
        // Unprivileged runs need to traverse into the workspace from inside the sandbox's mapping.
        ::chmod(QFile::encodeName(m_dir.path()).constData(), 0755);
        options.runtimeRoot = runtimeRoot();
#ifdef AIRLOCK_SHIM_PATH
        if (options.shim.isEmpty())
            options.shim = QStringLiteral(AIRLOCK_SHIM_PATH);
#endif
        m_options = options;
        m_backend = std::make_unique<LocalBackend>(options);
    }

    LocalBackend &backend() { return *m_backend; }
    void resetBackend() { m_backend = std::make_unique<LocalBackend>(m_options); }
    void dropBackend() { m_backend.reset(); }
    QString path() const { return m_dir.path(); }
    QString workspace() const { return QDir(m_dir.path()).canonicalPath() + QStringLiteral("/ws"); }
    QString runtimeRoot() const { return m_dir.path() + QStringLiteral("/run"); }
    QString sandboxDir(const QString &id) const { return runtimeRoot() + QStringLiteral("/sandboxes/") + id; }

    SandboxSpec spec(const policy::Policy &policy = testPolicy(), const QString &id = {}) const
    {
        SandboxSpec s;
        s.policy = policy;
        s.policyName = QStringLiteral("standard");
        s.workspace = workspace();
        s.id = id;
        return s;
    }

    // Creates a sandbox and waits until it runs; nullptr (with a QWARN) on failure.
    Sandbox *start(const SandboxSpec &spec, int timeoutMs = 15000)
    {
        Result<Sandbox *> s = m_backend->create(spec);
        if (!s) {
            qWarning("create failed: %s", qPrintable(s.error().message));
            return nullptr;
        }
        Sandbox *sandbox = *s;
        if (!QTest::qWaitFor([sandbox] { return sandbox->state() != SandboxState::Starting; }, timeoutMs)
            || sandbox->state() != SandboxState::Running) {
            qWarning("sandbox did not start: %s %s", qPrintable(stateName(sandbox->state())),
                     qPrintable(sandbox->info().message));
            return nullptr;
        }
        return sandbox;
    }
    Sandbox *start() { return start(spec()); }

private:
    QTemporaryDir m_dir;
    LocalBackendOptions m_options;
    std::unique_ptr<LocalBackend> m_backend;
};

struct Outcome
{
    QByteArray out;
    QByteArray err;
    std::optional<ExitStatus> status;
    std::optional<Error> error;

    bool done() const { return status || error; }
    int code() const { return status && status->exitCode ? *status->exitCode : -1; }
};

// Runs a command to its end; env and cwd default to the sandbox's own.
inline Outcome run(Sandbox *sandbox, ExecRequest request, int timeoutMs = 30000)
{
    request.inheritEnv = true;
    auto outcome = std::make_shared<Outcome>();
    Result<SandboxProcess *> p = sandbox->exec(request);
    if (!p) {
        outcome->error = p.error();
        return *outcome;
    }
    SandboxProcess *process = *p;
    QObject::connect(process, &SandboxProcess::stdoutReceived, [outcome](const QByteArray &c) { outcome->out += c; });
    QObject::connect(process, &SandboxProcess::stderrReceived, [outcome](const QByteArray &c) { outcome->err += c; });
    QObject::connect(process, &SandboxProcess::finished, [outcome](const ExitStatus &s) { outcome->status = s; });
    QObject::connect(process, &SandboxProcess::failed, [outcome](const Error &e) { outcome->error = e; });
    if (!QTest::qWaitFor([outcome] { return outcome->done(); }, timeoutMs))
        outcome->error = Error{ErrorCode::Io, QStringLiteral("timed out")};
    process->deleteLater();
    return *outcome;
}

inline Outcome sh(Sandbox *sandbox, const QString &script, int timeoutMs = 30000)
{
    ExecRequest r;
    r.argv = {QStringLiteral("/bin/sh"), QStringLiteral("-c"), script};
    return run(sandbox, r, timeoutMs);
}

inline bool waitForState(Sandbox *sandbox, SandboxState state, int timeoutMs = 15000)
{
    QPointer<Sandbox> guard(sandbox);
    const auto reached = [&] {
        Sandbox *s = guard.data();
        return s == nullptr || s->state() == state;
    };
    return QTest::qWaitFor(reached, timeoutMs) && reached();
}

// Destroys and waits until the backend has dropped it.
inline bool destroyAndWait(Sandbox *sandbox, int timeoutMs = 15000)
{
    QPointer<Sandbox> guard(sandbox);
    sandbox->destroy();
    return QTest::qWaitFor([&] {
        Sandbox *s = guard.data();
        return s == nullptr || s->state() == SandboxState::Destroyed;
    }, timeoutMs);
}

// Running, not merely a zombie waiting for a parent (in containers whose pid 1 never reaps, orphans
// stay zombies forever).
inline bool pidAlive(qint64 pid)
{
    if (pid <= 0 || ::kill(static_cast<pid_t>(pid), 0) != 0)
        return false;
    QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!stat.open(QIODevice::ReadOnly))
        return false;
    const QByteArray text = stat.readAll();
    const qsizetype close = text.lastIndexOf(')');
    return close > 0 && close + 2 < text.size() && text.at(close + 2) != 'Z' && text.at(close + 2) != 'X';
}

} // namespace airlock::sandbox::test
