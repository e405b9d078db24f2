#include "policy/lintchecks.h"

#include <QRegularExpression>
#include <QSet>

#include <algorithm>

// Findings about what the sandboxed process may do and know: its environment, privileges and limits.

namespace airlock::policy::detail {

namespace {

constexpr qint64 kGiB = qint64(1) << 30;
// Below this an agent that thinks before answering is taken for a dead one.
constexpr qint64 kShortestIdleSeconds = 30;

bool looksLikeSecretName(const QString &name)
{
    const QString upper = name.toUpper();
    for (const QLatin1StringView marker : {QLatin1StringView("TOKEN"), QLatin1StringView("SECRET"),
                                           QLatin1StringView("PASSWORD"), QLatin1StringView("PASSWD"),
                                           QLatin1StringView("API_KEY"), QLatin1StringView("APIKEY"),
                                           QLatin1StringView("ACCESS_KEY"), QLatin1StringView("PRIVATE_KEY"),
                                           QLatin1StringView("CREDENTIAL")}) {
        if (upper.contains(marker))
            return true;
    }
    return upper.endsWith(u"_KEY");
}

// A value that says it is not a key: Airlock's own placeholder, or one a person wrote as such.
bool isPlaceholder(const QString &value)
{
    const QString lower = value.toLower();
    return lower.contains(QLatin1String("placeholder")) || lower.contains(QLatin1String("dummy"))
        || lower.contains(QLatin1String("not-a-key")) || lower.contains(QLatin1String("the-proxy-adds"));
}

bool looksLikeSecretValue(const QString &value)
{
    // Prefixes that well-known providers put on their keys.
    static const QRegularExpression known(QStringLiteral(
        "^(sk-|sk_live_|rk_live_|ghp_|gho_|ghu_|ghs_|ghr_|github_pat_|glpat-|xox[abposr]-|AKIA[0-9A-Z]{16}|"
        "ASIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{20}|ya29\\.|npm_[A-Za-z0-9]{20}|-----BEGIN )"));
    if (known.match(value).hasMatch())
        return true;
    // Long unbroken runs of mixed letters and digits are rarely anything but keys in configuration.
    static const QRegularExpression tokenLike(QStringLiteral("^[A-Za-z0-9+/=_.-]{32,}$"));
    if (!tokenLike.match(value).hasMatch())
        return false;
    const bool hasDigit = std::any_of(value.cbegin(), value.cend(), [](QChar c) { return c.isDigit(); });
    const bool hasLetter = std::any_of(value.cbegin(), value.cend(), [](QChar c) { return c.isLetter(); });
    return hasDigit && hasLetter && QSet<QChar>(value.cbegin(), value.cend()).size() >= 16;
}

struct CapabilityRisk {
    const char *name;
    Severity severity;
    const char *why;
};

constexpr CapabilityRisk kCapabilityRisks[] = {
    {"SYS_ADMIN", Severity::Critical, "CAP_SYS_ADMIN is close to full root: mounts, namespaces and many kernel interfaces."},
    {"SYS_MODULE", Severity::Critical, "CAP_SYS_MODULE loads code into the host kernel."},
    {"SYS_PTRACE", Severity::Critical, "CAP_SYS_PTRACE reads and changes the memory of other processes."},
    {"SYS_RAWIO", Severity::Critical, "CAP_SYS_RAWIO gives raw access to devices and I/O ports."},
    {"DAC_READ_SEARCH", Severity::Critical, "CAP_DAC_READ_SEARCH bypasses read permissions and opens files by handle, a known container escape."},
    {"BPF", Severity::Critical, "CAP_BPF loads programs into the kernel."},
    {"MAC_ADMIN", Severity::Critical, "CAP_MAC_ADMIN changes the mandatory access control policy."},
    {"MAC_OVERRIDE", Severity::Critical, "CAP_MAC_OVERRIDE bypasses the mandatory access control policy."},
    {"SYS_BOOT", Severity::Critical, "CAP_SYS_BOOT reboots the machine and loads new kernels."},
    {"NET_ADMIN", Severity::Warning, "CAP_NET_ADMIN reconfigures interfaces, routes and firewall rules."},
    {"NET_RAW", Severity::Warning, "CAP_NET_RAW forges packets and sniffs traffic on shared networks."},
    {"DAC_OVERRIDE", Severity::Warning, "CAP_DAC_OVERRIDE ignores file permissions."},
    {"PERFMON", Severity::Warning, "CAP_PERFMON observes other processes through performance counters."},
    {"SYS_TIME", Severity::Warning, "CAP_SYS_TIME sets the host clock."},
    {"SETFCAP", Severity::Warning, "CAP_SETFCAP grants capabilities to files, which later runs may pick up."},
    {"LINUX_IMMUTABLE", Severity::Warning, "CAP_LINUX_IMMUTABLE changes the immutable flag on files."},
};

} // namespace

void lintSecretsAndEnvironment(const Policy &policy, QList<Finding> &out)
{
    const Environment &env = policy.environment;
    for (qsizetype i = 0; i < env.passThrough.size(); ++i) {
        const QString name = env.passThrough.at(i);
        const QString path = QStringLiteral("environment.passThrough[%1]").arg(i);
        const Fix remove = makeFix(QStringLiteral("Stop passing $%1 through").arg(name),
                                   [name](Policy &p) { p.environment.passThrough.removeAll(name); });
        const auto secret = std::find_if(policy.secrets.cbegin(), policy.secrets.cend(), [&](const Secret &s) {
            return s.source == Secret::Source::HostEnv && s.ref == name;
        });
        if (secret != policy.secrets.cend()) {
            out.append({QStringLiteral("secrets.passed-through"), Severity::Critical, path,
                        QStringLiteral("The secret '%1' is passed into the sandbox as $%2").arg(secret->name, name),
                        QStringLiteral("The proxy adds this secret to requests for %1, so the agent never needs "
                                       "it; passing the variable through hands the agent the value itself.")
                            .arg(secret->host),
                        remove});
        } else if (looksLikeSecretName(name)) {
            out.append({QStringLiteral("environment.secret-name"), Severity::Warning, path,
                        QStringLiteral("$%1 looks like a credential and is passed into the sandbox").arg(name),
                        QStringLiteral("Anything in the sandbox's environment can be read by the agent and sent "
                                       "out with a request. Declare it as a secret so the proxy adds it instead."),
                        remove});
        }
    }
    for (auto it = env.set.constBegin(); it != env.set.constEnd(); ++it) {
        if (!looksLikeSecretValue(it.value()) && !(looksLikeSecretName(it.key()) && !it.value().isEmpty()))
            continue;
        const QString name = it.key();
        // A stand-in the agent needs to send anything at all, while the proxy adds the real key for the
        // hosts a secret covers: safe, as long as a secret does cover the agent's API.
        if (isPlaceholder(it.value())) {
            QStringList hosts;
            for (const Secret &s : policy.secrets)
                hosts << s.host;
            if (!hosts.isEmpty())
                out.append({QStringLiteral("environment.placeholder-key"), Severity::Info, QStringLiteral("environment.set.") + name,
                            QStringLiteral("$%1 is a placeholder; the proxy adds the real key").arg(name),
                            QStringLiteral("Requests to %1 get the secret's value from the proxy; the agent holds only "
                                           "the placeholder.").arg(hosts.join(QStringLiteral(", "))),
                            {}});
            else
                out.append({QStringLiteral("environment.placeholder-key"), Severity::Warning, QStringLiteral("environment.set.") + name,
                            QStringLiteral("$%1 is a placeholder, but no secret adds the real key").arg(name),
                            QStringLiteral("Declare a secret for the agent's API host, or its requests will be refused "
                                           "as unauthenticated."),
                            {}});
            continue;
        }
        out.append({QStringLiteral("environment.secret-value"), Severity::Critical,
                    QStringLiteral("environment.set.") + name,
                    QStringLiteral("$%1 looks like a key written into the policy").arg(name),
                    QStringLiteral("The value sits in the policy file, in its history and in the sandbox's "
                                   "environment, where the agent can read it. Keep it in the keychain and declare "
                                   "a secret, so only the proxy sees it."),
                    makeFix(QStringLiteral("Remove $%1 from the environment").arg(name),
                            [name](Policy &p) { p.environment.set.remove(name); })});
    }
}

void lintResources(const Policy &policy, QList<Finding> &out)
{
    if (!policy.resources.memoryBytes) {
        out.append({QStringLiteral("resources.no-memory-limit"), Severity::Warning, QStringLiteral("resources.memoryBytes"),
                    QStringLiteral("No memory limit"),
                    QStringLiteral("A runaway build or test can take all of the machine's memory and get your "
                                   "other programs killed."),
                    makeFix(QStringLiteral("Limit memory to 4 GiB"),
                            [](Policy &p) { p.resources.memoryBytes = 4 * kGiB; })});
    }
    if (!policy.resources.pids) {
        out.append({QStringLiteral("resources.no-pids-limit"), Severity::Warning, QStringLiteral("resources.pids"),
                    QStringLiteral("No process limit"),
                    QStringLiteral("A fork bomb, on purpose or by mistake, can fill the process table and stall "
                                   "the whole machine."),
                    makeFix(QStringLiteral("Limit the sandbox to 1024 processes"),
                            [](Policy &p) { p.resources.pids = 1024; })});
    }
}

void lintPrivileges(const Policy &policy, QList<Finding> &out)
{
    const Privileges &priv = policy.privileges;
    const bool docker = policy.runtime.backend == Backend::Docker;
    if (priv.uid && *priv.uid == 0) {
        out.append({QStringLiteral("privileges.root"), docker ? Severity::Critical : Severity::Warning,
                    QStringLiteral("privileges.uid"), QStringLiteral("The sandbox runs as root"),
                    docker ? QStringLiteral("Root in a container is root on the host's kernel: one kernel bug or "
                                            "mistaken mount away from your machine.")
                           : QStringLiteral("Root inside the user namespace is not root on the host, but it can "
                                            "change every file the sandbox can write and is rarely needed."),
                    docker ? makeFix(QStringLiteral("Run as 1000:1000"), [](Policy &p) { p.privileges.uid = 1000; p.privileges.gid = 1000; })
                           : makeFix(QStringLiteral("Run as your own user id"), [](Policy &p) { p.privileges.uid.reset(); p.privileges.gid.reset(); })});
    } else if (docker && !priv.uid) {
        out.append({QStringLiteral("privileges.image-user"), Severity::Warning, QStringLiteral("privileges.uid"),
                    QStringLiteral("The container runs as the image's default user"),
                    QStringLiteral("Most images default to root. Naming an unprivileged user makes the policy, "
                                   "not the image, decide."),
                    makeFix(QStringLiteral("Run as 1000:1000"), [](Policy &p) { p.privileges.uid = 1000; p.privileges.gid = 1000; })});
    }
    if (!priv.dropAllCapabilities) {
        out.append({QStringLiteral("privileges.capabilities-kept"), Severity::Warning,
                    QStringLiteral("privileges.dropAllCapabilities"), QStringLiteral("Default capabilities are kept"),
                    QStringLiteral("The runtime's default set includes capabilities such as CHOWN, SETUID and "
                                   "NET_RAW that an agent does not need."),
                    makeFix(QStringLiteral("Drop all capabilities"), [](Policy &p) { p.privileges.dropAllCapabilities = true; })});
    }
    for (qsizetype i = 0; i < priv.capAdd.size(); ++i) {
        const QString cap = priv.capAdd.at(i);
        for (const CapabilityRisk &risk : kCapabilityRisks) {
            if (cap != QLatin1StringView(risk.name))
                continue;
            out.append({QStringLiteral("privileges.dangerous-capability"), risk.severity,
                        QStringLiteral("privileges.capAdd[%1]").arg(i),
                        QStringLiteral("The sandbox is granted %1").arg(cap), QString::fromUtf8(risk.why),
                        makeFix(QStringLiteral("Remove %1").arg(cap), [cap](Policy &p) { p.privileges.capAdd.removeAll(cap); })});
        }
    }
    if (docker && !priv.noNewPrivileges) {
        out.append({QStringLiteral("privileges.new-privileges"), Severity::Warning, QStringLiteral("privileges.noNewPrivileges"),
                    QStringLiteral("Programs may gain privileges through setuid binaries"),
                    QStringLiteral("Without no-new-privileges a setuid program in the image (su, sudo, ping) can "
                                   "raise the process's privileges."),
                    makeFix(QStringLiteral("Turn on no-new-privileges"), [](Policy &p) { p.privileges.noNewPrivileges = true; })});
    }
    if (priv.seccomp == SeccompMode::Unconfined) {
        out.append({QStringLiteral("privileges.seccomp-unconfined"), Severity::Warning, QStringLiteral("privileges.seccomp"),
                    QStringLiteral("No seccomp filter"),
                    QStringLiteral("Every system call is open, including rarely used ones where kernel bugs keep "
                                   "being found."),
                    makeFix(QStringLiteral("Use the default filter"), [](Policy &p) { p.privileges.seccomp = SeccompMode::Default; })});
    }
    if (priv.nestedUserNamespaces) {
        out.append({QStringLiteral("privileges.nested-userns"), Severity::Warning,
                    QStringLiteral("privileges.nestedUserNamespaces"),
                    QStringLiteral("The agent may create user namespaces"),
                    QStringLiteral("Inside a new user namespace a process holds every capability, which opens "
                                   "kernel interfaces that are a common route to privilege escalation."),
                    makeFix(QStringLiteral("Forbid nested user namespaces"), [](Policy &p) { p.privileges.nestedUserNamespaces = false; })});
    }
}

void lintGuardrails(const Policy &policy, QList<Finding> &out)
{
    const Guardrails &g = policy.guardrails;
    if (g.maxIdleSeconds && *g.maxIdleSeconds < kShortestIdleSeconds) {
        out.append({QStringLiteral("guardrails.idle-short"), Severity::Warning, QStringLiteral("guardrails.maxIdleSeconds"),
                    QStringLiteral("Agents are stopped after %1 s of silence").arg(*g.maxIdleSeconds),
                    QStringLiteral("A model that thinks before it answers, or a long download, is often quiet for longer; "
                                   "such sessions would be stopped while still working."),
                    makeFix(QStringLiteral("Allow 5 minutes of silence"), [](Policy &p) { p.guardrails.maxIdleSeconds = 300; })});
    }
    if (g.maxIdleSeconds && g.maxWallClockSeconds && *g.maxIdleSeconds >= *g.maxWallClockSeconds) {
        out.append({QStringLiteral("guardrails.idle-unreachable"), Severity::Info, QStringLiteral("guardrails.maxIdleSeconds"),
                    QStringLiteral("The silence limit is never reached"),
                    QStringLiteral("The wall clock (%1 s) ends the session before the agent could be silent for %2 s.")
                        .arg(*g.maxWallClockSeconds)
                        .arg(*g.maxIdleSeconds),
                    makeFix(QStringLiteral("Remove the silence limit"), [](Policy &p) { p.guardrails.maxIdleSeconds.reset(); })});
    }
    if (policy.guardrails != Guardrails{})
        return;
    out.append({QStringLiteral("guardrails.none"), Severity::Info, QStringLiteral("guardrails"),
                QStringLiteral("No guardrails"),
                QStringLiteral("Nothing stops an agent that loops: no limit on turns, tool calls, time or cost."),
                makeFix(QStringLiteral("Stop after 100 turns, 500 tool calls or 2 hours"), [](Policy &p) {
                    p.guardrails.maxTurns = 100;
                    p.guardrails.maxToolCalls = 500;
                    p.guardrails.maxWallClockSeconds = 7200;
                })});
}

} // namespace airlock::policy::detail
