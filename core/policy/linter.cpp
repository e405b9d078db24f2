#include "policy/linter.h"

#include "policy/lintchecks.h"
#include "policy/valuechecks.h"

#include <QDir>

#include <algorithm>

namespace airlock::policy {

using namespace detail;

namespace {

struct SensitivePath {
    QString path;     // absolute, or ~-based when the home is unknown
    QString why;
    bool socket = false;
};

QList<SensitivePath> sensitivePaths(const QString &home, const QString &runtimeDir)
{
    const auto inHome = [&](const char *relative, const char *why) {
        return SensitivePath{home + u'/' + QLatin1StringView(relative), QString::fromUtf8(why), false};
    };
    const QString rootWhy = QStringLiteral("Access to a container engine's socket is equal to root on the host: "
                                           "the agent can start a container that mounts / and change anything.");
    QList<SensitivePath> paths{
        inHome(".ssh", "SSH keys open every server and repository you can reach."),
        inHome(".aws", "AWS credentials act as you in your cloud accounts."),
        inHome(".config", "~/.config holds the login tokens of many tools (gh, gcloud, docker, editors)."),
        inHome(".gnupg", "GPG keys sign commits as you and decrypt what was sent to you."),
        inHome(".kube", "A kubeconfig grants access to your clusters."),
        inHome(".docker", "~/.docker holds container registry credentials."),
        inHome(".netrc", "~/.netrc holds passwords for hosts in plain text."),
        inHome(".git-credentials", "~/.git-credentials holds git passwords in plain text."),
        inHome(".password-store", "Your pass password store."),
        inHome(".local/share/keyrings", "Your desktop keyring holds saved passwords."),
        inHome(".local/share/airlock", "Airlock's own data: the keys it keeps where no keychain runs, and its database."),
        {QStringLiteral("/var/run/docker.sock"), rootWhy, true},
        {QStringLiteral("/run/docker.sock"), rootWhy, true},
        {QStringLiteral("/run/containerd/containerd.sock"), rootWhy, true},
        {QStringLiteral("/run/podman/podman.sock"), rootWhy, true},
    };
    if (!runtimeDir.isEmpty()) {
        paths.append({runtimeDir + QStringLiteral("/docker.sock"), rootWhy, true});
        paths.append({runtimeDir + QStringLiteral("/podman/podman.sock"), rootWhy, true});
    }
    return paths;
}

const QStringList &shellStartupFiles()
{
    static const QStringList files{
        QStringLiteral(".bashrc"),  QStringLiteral(".bash_profile"), QStringLiteral(".bash_login"),
        QStringLiteral(".bash_logout"), QStringLiteral(".profile"), QStringLiteral(".zshrc"),
        QStringLiteral(".zprofile"), QStringLiteral(".zshenv"), QStringLiteral(".zlogin"),
        QStringLiteral(".xprofile"), QStringLiteral(".xsessionrc"), QStringLiteral(".inputrc"),
    };
    return files;
}

// How a path is shown to the user: ~-based when it lies in the home.
QString displayPath(const QString &path, const QString &home)
{
    if (!home.isEmpty() && home != u"~" && isSameOrUnder(path, home))
        return u'~' + path.mid(home.size());
    return path;
}

void makeReadOnly(Policy &policy, const Mount &mount)
{
    for (Mount &candidate : policy.filesystem.mounts) {
        if (candidate == mount) {
            candidate.access = Access::ReadOnly;
            return;
        }
    }
}

void lintMount(const Policy &policy, qsizetype index, const QString &home, const QList<SensitivePath> &sensitive,
               const QStringList &denied, QList<Finding> &out)
{
    const Mount &mount = policy.filesystem.mounts.at(index);
    const QString path = QStringLiteral("filesystem.mounts[%1]").arg(index);
    const QString host = expandHostPath(mount.host, home);
    const Fix remove = makeFix(QStringLiteral("Remove this mount"),
                               [mount](Policy &p) { p.filesystem.mounts.removeOne(mount); });

    for (const SensitivePath &s : sensitive) {
        if (isSameOrUnder(host, s.path)) {
            const QString title = s.socket ? QStringLiteral("A container engine socket (%1) is mounted into the sandbox")
                                                 .arg(mount.host)
                                           : mount.host + QStringLiteral(" is mounted into the sandbox");
            out.append({QStringLiteral("filesystem.sensitive-mount"), Severity::Critical, path + QStringLiteral(".host"),
                        title, s.why, remove});
            return;
        }
    }

    if (mount.access == Access::ReadWrite && isSameOrUnder(home, host)) {
        out.append({QStringLiteral("filesystem.home-writable"), Severity::Critical, path + QStringLiteral(".access"),
                    QStringLiteral("Your home folder is mounted writable (%1)").arg(mount.host),
                    QStringLiteral("The agent could edit ~/.bashrc, ~/.profile or the git hooks of your other projects, "
                                   "which then run outside the sandbox the next time you open a shell or commit."),
                    makeFix(QStringLiteral("Mount it read-only"), [mount](Policy &p) { makeReadOnly(p, mount); })});
    } else if (mount.access == Access::ReadWrite) {
        for (const QString &file : shellStartupFiles()) {
            if (host == home + u'/' + file) {
                out.append({QStringLiteral("filesystem.shell-rc-writable"), Severity::Critical,
                            path + QStringLiteral(".access"),
                            QStringLiteral("A shell startup file is mounted writable (%1)").arg(mount.host),
                            QStringLiteral("Your next shell runs whatever the agent writes into it, outside the sandbox."),
                            makeFix(QStringLiteral("Mount it read-only"), [mount](Policy &p) { makeReadOnly(p, mount); })});
                break;
            }
        }
    }

    // A parent of something sensitive exposes it unless the policy denies it below the mount.
    QStringList exposed;
    bool exposesSocket = false;
    QString why;
    for (const SensitivePath &s : sensitive) {
        if (s.path == host || !isSameOrUnder(s.path, host))
            continue;
        const bool isDenied = std::any_of(denied.cbegin(), denied.cend(),
                                          [&](const QString &d) { return isSameOrUnder(s.path, d); });
        if (isDenied)
            continue;
        exposed << displayPath(s.path, home);
        exposesSocket = exposesSocket || s.socket;
        if (why.isEmpty())
            why = s.why;
    }
    if (exposed.isEmpty())
        return;
    const QString title = mount.host + QStringLiteral(" exposes ") + exposed.join(QStringLiteral(", "));
    // Denied paths are masked with empty folders, which cannot stand in for a socket file.
    Fix fix = exposesSocket ? remove
                            : makeFix(QStringLiteral("Deny %1 below this mount").arg(exposed.join(QStringLiteral(", "))),
                                      [exposed](Policy &p) {
                                          for (const QString &e : exposed) {
                                              if (!p.filesystem.deniedHostPaths.contains(e))
                                                  p.filesystem.deniedHostPaths.append(e);
                                          }
                                      });
    out.append({QStringLiteral("filesystem.exposes-sensitive"), Severity::Critical, path + QStringLiteral(".host"),
                title, why, fix});
}

} // namespace

QString nameOf(Severity severity)
{
    switch (severity) {
    case Severity::Info:
        return QStringLiteral("info");
    case Severity::Warning:
        return QStringLiteral("warning");
    case Severity::Critical:
        return QStringLiteral("critical");
    }
    return {};
}

namespace detail {

void lintFilesystem(const Policy &policy, const HostFacts &facts, QList<Finding> &out)
{
    const Filesystem &fs = policy.filesystem;
    // Without a known home, ~-based paths are compared in their ~ form.
    const QString home = facts.home.isEmpty() ? QStringLiteral("~") : QDir::cleanPath(facts.home);
    const QList<SensitivePath> sensitive = sensitivePaths(home, facts.runtimeDir);
    QStringList denied;
    for (const QString &d : fs.deniedHostPaths)
        denied << expandHostPath(d, home);
    for (qsizetype i = 0; i < fs.mounts.size(); ++i)
        lintMount(policy, i, home, sensitive, denied, out);

    if (fs.workspace == Access::ReadWrite && !fs.protectionLayer) {
        out.append({QStringLiteral("filesystem.protection-layer"), Severity::Warning,
                    QStringLiteral("filesystem.protectionLayer"),
                    QStringLiteral("Files the host runs are protected only where they exist at launch"),
                    QStringLiteral("Git runs hooks, direnv runs .envrc and editors run their task files on your machine, "
                                   "outside the sandbox. Without the protection layer the agent can create them anywhere in "
                                   "the workspace (a new .git with an fsmonitor, a .vscode/tasks.json), or rename .git away."),
                    makeFix(QStringLiteral("Use the protection layer"), [](Policy &p) { p.filesystem.protectionLayer = true; })});
    }

    const bool tmpListed = std::any_of(fs.tmpfs.cbegin(), fs.tmpfs.cend(),
                                       [](const Tmpfs &t) { return t.target == u"/tmp"; });
    if (policy.resources.tmpBytes && tmpListed) {
        out.append({QStringLiteral("resources.tmp-ignored"), Severity::Info, QStringLiteral("resources.tmpBytes"),
                    QStringLiteral("resources.tmpBytes is ignored"),
                    QStringLiteral("filesystem.tmpfs already mounts /tmp with its own size, which wins."),
                    makeFix(QStringLiteral("Remove resources.tmpBytes"),
                            [](Policy &p) { p.resources.tmpBytes.reset(); })});
    }
}

void lintNetwork(const Policy &policy, QList<Finding> &out)
{
    const Network &network = policy.network;
    if (network.mode == NetworkMode::Host) {
        out.append({QStringLiteral("network.host"), Severity::Critical, QStringLiteral("network.mode"),
                    QStringLiteral("The sandbox shares the host's network"),
                    QStringLiteral("The agent can reach every service on your machine and network (databases, "
                                   "cloud metadata, admin pages) and send your code anywhere, and Airlock records "
                                   "none of it."),
                    makeFix(QStringLiteral("Send traffic through the egress proxy"),
                            [](Policy &p) { p.network.mode = NetworkMode::Proxy; })});
    }
    if (network.mode == NetworkMode::Proxy) {
        for (qsizetype i = 0; i < network.allow.size(); ++i) {
            const QString pattern = network.allow.at(i);
            if (pattern != u"*" && !pattern.startsWith(u"*:"))
                continue;
            out.append({QStringLiteral("network.allow-all"), Severity::Warning,
                        QStringLiteral("network.allow[%1]").arg(i),
                        QStringLiteral("The proxy lets every domain through"),
                        QStringLiteral("With '*' allowed the agent can upload your code to any host; the proxy "
                                       "only records it."),
                        makeFix(QStringLiteral("Remove '%1' from the allow list").arg(pattern),
                                [pattern](Policy &p) { p.network.allow.removeAll(pattern); })});
        }
    }
    if (network.mode == NetworkMode::Proxy) {
        // Each special class opened is a way back into the host, the LAN or the cloud's control plane.
        for (const QString &cls : network.allowAddressClasses) {
            const bool metadata = cls == u"metadata";
            const QString name = cls;
            out.append({QStringLiteral("network.address-class"), metadata ? Severity::Critical : Severity::Warning,
                        QStringLiteral("network.allowAddressClasses"),
                        QStringLiteral("Allowed names may reach %1 addresses").arg(cls),
                        metadata ? QStringLiteral("A cloud metadata service hands out the machine's credentials; an "
                                                  "agent that reaches it can act as this machine in your cloud.")
                                 : QStringLiteral("Any allowed name that resolves to a %1 address (by a rule, or by "
                                                  "DNS the agent's server controls) reaches services that are "
                                                  "not on the internet.")
                                       .arg(cls),
                        makeFix(QStringLiteral("Remove '%1' from the allowed address classes").arg(cls),
                                [name](Policy &p) { p.network.allowAddressClasses.removeAll(name); })});
        }
    }
    if (network.mode != NetworkMode::Proxy && !network.hostPorts.isEmpty()) {
        out.append({QStringLiteral("network.host-ports-unused"), Severity::Info, QStringLiteral("network.hostPorts"),
                    QStringLiteral("Host ports only apply in proxy mode"),
                    QStringLiteral("The proxy bridges these ports; with mode '%1' the list has no effect.")
                        .arg(nameOf(network.mode)),
                    makeFix(QStringLiteral("Clear the host port list"), [](Policy &p) { p.network.hostPorts.clear(); })});
    }
}

} // namespace detail

QList<Finding> lint(const Policy &policy, const HostFacts &facts)
{
    QList<Finding> findings;
    lintFilesystem(policy, facts, findings);
    lintNetwork(policy, findings);
    lintSecretsAndEnvironment(policy, findings);
    lintResources(policy, findings);
    lintPrivileges(policy, findings);
    lintGuardrails(policy, findings);
    lintApprovals(policy, findings);
    lintHost(policy, facts, findings);
    return findings;
}

Policy applyFixes(const Policy &policy, const QList<Finding> &findings)
{
    Policy fixed = policy;
    for (const Finding &finding : findings) {
        if (finding.fix)
            fixed = finding.fix->apply(fixed);
    }
    return fixed;
}

} // namespace airlock::policy
