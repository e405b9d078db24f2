#pragma once

#include "error.h"
#include "policy/policy.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QString>

#include <array>
#include <functional>
#include <memory>
#include <optional>

// The isolation ladder, measured on this machine: the same four workloads on the bare host (the
// baseline) and on every rung that can run here — local bubblewrap (the standard preset), Docker with
// runc (hardened) and gVisor (gvisor) — so each rung's cost reads as a ratio to the host. The policy
// editor's preset ladder and `airlockctl ladder` run it; the last result is kept in the store.

namespace airlock::sandbox {
class Backend;
class Sandbox;
} // namespace airlock::sandbox

namespace airlock::ladder {

enum class Rung { Host, Bubblewrap, Docker, Gvisor };
inline constexpr std::array kAllRungs{Rung::Host, Rung::Bubblewrap, Rung::Docker, Rung::Gvisor};

enum class Workload {
    ColdStart, // a new sandbox, until `echo` inside it has written its first byte
    WarmExec,  // /bin/true in a sandbox that already runs
    Files,     // create, stat and unlink many small files in the workspace
    Cpu,       // a shell loop that makes no system calls
};
inline constexpr std::array kAllWorkloads{Workload::ColdStart, Workload::WarmExec, Workload::Files, Workload::Cpu};

QString rungName(Rung rung);         // host, bubblewrap, docker, gvisor (the command line's words)
QString rungTitle(Rung rung);        // "bare host", "bubblewrap", "Docker (runc)", "gVisor (runsc)"
QString rungPreset(Rung rung);       // the preset whose sandbox the rung measures; empty for the host
std::optional<Rung> parseRung(QStringView name);
// The rung a policy runs on: its backend and, for Docker, its OCI runtime.
Rung rungOf(const policy::Runtime &runtime);
QString workloadName(Workload workload);  // cold-start, warm-exec, files, cpu
QString workloadTitle(Workload workload); // "cold start", "warm exec", "10,000 files", "CPU"

struct RungResult
{
    Rung rung = Rung::Host;
    QString skipped;                                // why it was not measured; empty when it was
    std::array<std::optional<double>, 4> medianMs;  // by Workload
};

struct LadderResult
{
    QDateTime measured; // UTC
    QString machine;    // kernel, CPU and cores, so an old figure can be told from a new one
    int files = 0;      // of the files workload
    QList<RungResult> rungs;

    const RungResult *rung(Rung rung) const;
    std::optional<double> medianMs(Rung rung, Workload workload) const;
    // The rung's median over the host's, when both were measured.
    std::optional<double> ratio(Rung rung, Workload workload) const;

    QJsonObject toJson() const;
    static Result<LadderResult> fromJson(const QJsonObject &object);
};

// "×1.3", "×85", "×0.98": two significant digits.
QString formatRatio(double ratio);
QString formatMs(double ms); // "0.42 ms", "13 ms", "1.8 s"
// The result as a plain-text table (workloads down, rungs across), for the CLI and the note.
QString formatTable(const LadderResult &result);

// The last result, kept in the store's kv table.
Result<void> saveLadder(const QString &dbPath, const LadderResult &result);
Result<std::optional<LadderResult>> loadLadder(const QString &dbPath);

struct LadderOptions
{
    QList<Rung> rungs = {kAllRungs.begin(), kAllRungs.end()};
    int coldRounds = 3;  // each after one start that is not counted (it may build the Docker image)
    int warmRounds = 20; // after one that is not counted
    int fileRounds = 1;  // ten thousand files are many operations already; more rounds mostly add minutes
    int cpuRounds = 3;
    int files = 10000;
    int cpuIterations = 300000;
    // Backends to use instead of the benchmark's own (tests); null: it makes its own.
    sandbox::Backend *local = nullptr;
    sandbox::Backend *docker = nullptr;
};

// Runs the ladder once. Every sandbox it makes is removed before finished() or canceled(); a rung that
// cannot run here, or fails, is reported as skipped with the reason and the others go on.
class LadderBenchmark : public QObject
{
    Q_OBJECT
public:
    explicit LadderBenchmark(LadderOptions options = {}, QObject *parent = nullptr);
    ~LadderBenchmark() override;

    void start();
    // Stops the step under way and cleans up; canceled() follows.
    void cancel();
    bool isRunning() const { return m_running; }
    int totalSteps() const;

Q_SIGNALS:
    void progress(int done, int total, const QString &what);
    void finished(const airlock::ladder::LadderResult &result);
    void canceled();

private:
    struct Step
    {
        Rung rung;
        QString what;
        std::function<void()> run;
    };
    void plan();
    void planSandboxRung(Rung rung);
    void next();
    void sample(Workload workload, double ms);
    void stepDone();
    void rungFailed(const Error &error);
    void finish();
    void cleanup(std::function<void()> then);

    // The pieces the steps are made of. Each calls back exactly once, unless the benchmark went away.
    using Timed = std::function<void(Result<double>)>;
    Timed answerOnce(QObject *process, Timed done);
    double msSince(qint64 startNs) const;
    void runOnHost(const QStringList &argv, bool untilFirstOutput, Timed done);
    // Times from startNs (m_clock), so a cold start counts the sandbox's creation too.
    void runInSandbox(sandbox::Sandbox *box, const QStringList &argv, bool untilFirstOutput, Timed done, qint64 startNs);
    void createSandbox(Rung rung, std::function<void(Result<sandbox::Sandbox *>)> done);
    void destroySandbox(sandbox::Sandbox *box, std::function<void()> done);
    sandbox::Backend *backendFor(Rung rung);
    Result<QString> workspaceFor(Rung rung);
    QStringList filesCommand() const;
    QStringList cpuCommand() const;
    static QStringList echoCommand();
    static QStringList trueCommand();

    LadderOptions m_options;
    std::unique_ptr<sandbox::Backend> m_ownLocal;
    std::unique_ptr<sandbox::Backend> m_ownDocker;
    QString m_root; // a private folder for the workspaces; removed at the end
    QList<Step> m_steps;
    int m_index = 0;
    bool m_running = false;
    bool m_canceled = false;
    LadderResult m_result;
    std::array<std::array<QList<double>, 4>, 4> m_samples; // [rung][workload]
    QPointer<sandbox::Sandbox> m_warm;                    // the rung's sandbox for the warm workloads
    QList<QPointer<sandbox::Sandbox>> m_made;             // everything made, to remove
    std::function<void()> m_abortCurrent;                 // stops what the current step waits for
    QElapsedTimer m_clock;
    quint64 m_generation = 0; // callbacks of a canceled or failed step carry an older one
};

} // namespace airlock::ladder

Q_DECLARE_METATYPE(airlock::ladder::LadderResult)
