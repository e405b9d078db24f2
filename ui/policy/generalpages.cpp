// General, network, secrets and environment pages.
#include "policydocument.h"
#include "policypage.h"
#include "policypages.h"

#include <QComboBox>
#include <QLineEdit>

namespace airlock::ui {

using policy::Policy;

QList<PolicyPage *> createPolicyPages(PolicyDocument *doc, QWidget *parent)
{
    return {createGeneralPage(doc, parent),    createFilesystemPage(doc, parent), createNetworkPage(doc, parent),
            createSecretsPage(doc, parent),    createEnvironmentPage(doc, parent), createResourcesPage(doc, parent),
            createPrivilegesPage(doc, parent), createGuardrailsPage(doc, parent),  createApprovalsPage(doc, parent)};
}

RowTable *stringListTable(PolicyDocument *doc, const QString &noun, const QString &title,
                          std::function<const QStringList &(const Policy &)> get,
                          std::function<QStringList &(Policy &)> ref, const QString &fresh)
{
    RowTable::Access a;
    a.count = [get](const Policy &p) { return int(get(p).size()); };
    a.cells = [get](const Policy &p, int r) { return QStringList{get(p).at(r)}; };
    a.set = [ref](Policy &p, int r, int, const QString &v) { ref(p)[r] = v; };
    a.add = [ref, fresh](Policy &p) { ref(p).append(fresh); };
    a.remove = [ref](Policy &p, int r) { ref(p).removeAt(r); };
    a.move = [ref](Policy &p, int from, int to) { ref(p).move(from, to); };
    auto *t = new RowTable(doc, noun, {{title, {}, false}}, a);
    return t;
}

namespace {

class GeneralPage : public PolicyPage
{
public:
    GeneralPage(PolicyDocument *doc, QWidget *parent) : PolicyPage(doc, QStringLiteral("general"), tr("General"), parent)
    {
        addText(QStringLiteral("name"), tr("Name"), [](const Policy &p) { return p.name; },
                [](Policy &p, const QString &v) { p.name = v; });
        addText(QStringLiteral("description"), tr("Description"), [](const Policy &p) { return p.description; },
                [](Policy &p, const QString &v) { p.description = v; });
        addHeading(tr("Runtime"));
        addChoice<policy::Backend>(QStringLiteral("runtime.backend"), tr("Backend"),
                                   [](const Policy &p) { return p.runtime.backend; },
                                   [](Policy &p, policy::Backend v) { p.runtime.backend = v; },
                                   {tr("Local sandbox (bubblewrap)"), tr("Docker container")});
        addText(QStringLiteral("runtime.image"), tr("Image"), [](const Policy &p) { return p.runtime.image; },
                [](Policy &p, const QString &v) { p.runtime.image = v; }, tr("Docker image, e.g. debian:12"));
        addChoice<policy::DockerRuntime>(QStringLiteral("runtime.dockerRuntime"), tr("Docker runtime"),
                                         [](const Policy &p) { return p.runtime.dockerRuntime; },
                                         [](Policy &p, policy::DockerRuntime v) { p.runtime.dockerRuntime = v; },
                                         {tr("runc (default)"), tr("runsc (gVisor)")});
        addHeading(tr("Placement and lifecycle"));
        addChoice<policy::Placement>(QStringLiteral("placement"), tr("Agent runs"),
                                     [](const Policy &p) { return p.placement; },
                                     [](Policy &p, policy::Placement v) { p.placement = v; },
                                     {tr("Inside the sandbox"), tr("On the host, its tools in the sandbox")});
        addChoice<policy::Lifecycle>(QStringLiteral("lifecycle"), tr("Lifecycle"),
                                     [](const Policy &p) { return p.lifecycle; },
                                     [](Policy &p, policy::Lifecycle v) { p.lifecycle = v; },
                                     {tr("Ephemeral: destroyed with the session"), tr("Persistent: kept warm"),
                                      tr("Hybrid: destroyed, session resumable")});
    }
};

class NetworkPage : public PolicyPage
{
public:
    NetworkPage(PolicyDocument *doc, QWidget *parent) : PolicyPage(doc, QStringLiteral("network"), tr("Network"), parent)
    {
        addChoice<policy::NetworkMode>(QStringLiteral("network.mode"), tr("Network"),
                                       [](const Policy &p) { return p.network.mode; },
                                       [](Policy &p, policy::NetworkMode v) { p.network.mode = v; },
                                       {tr("None"), tr("Through Airlock's proxy"), tr("Host network (no isolation)")});
        addNote(tr("Patterns: example.com, *.example.com, * — with optional ports: example.com:8443, "
                   "*.example.com:443,80, example.com:* (every port). An allowed pattern without ports opens "
                   "443 and 80 only. Deny wins over allow."));
        addTable(QStringLiteral("network.allow"), tr("Allowed domains"),
                 stringListTable(doc, QStringLiteral("allowed domain"), tr("Domain pattern"),
                                 [](const Policy &p) -> const QStringList & { return p.network.allow; },
                                 [](Policy &p) -> QStringList & { return p.network.allow; }));
        addTable(QStringLiteral("network.deny"), tr("Denied domains"),
                 stringListTable(doc, QStringLiteral("denied domain"), tr("Domain pattern"),
                                 [](const Policy &p) -> const QStringList & { return p.network.deny; },
                                 [](Policy &p) -> QStringList & { return p.network.deny; }));
        addCheck(QStringLiteral("network.allowIpLiterals"), tr("Allow requests to bare IP addresses"),
                 [](const Policy &p) { return p.network.allowIpLiterals; },
                 [](Policy &p, bool v) { p.network.allowIpLiterals = v; });
        addText(QStringLiteral("network.hostPorts"), tr("Host loopback ports"),
                [](const Policy &p) {
                    QStringList ports;
                    for (int port : p.network.hostPorts)
                        ports << QString::number(port);
                    return ports.join(QStringLiteral(", "));
                },
                [](Policy &p, const QString &text) {
                    p.network.hostPorts.clear();
                    for (const QString &part : text.split(u',', Qt::SkipEmptyParts)) {
                        bool ok = false;
                        const int port = part.trimmed().toInt(&ok);
                        p.network.hostPorts.append(ok ? port : -1); // -1 makes validation name the bad entry
                    }
                },
                tr("e.g. 5432, 6379"));
        addText(QStringLiteral("network.upstreamCaFile"), tr("Extra upstream CA file"),
                [](const Policy &p) { return p.network.upstreamCaFile; },
                [](Policy &p, const QString &text) { p.network.upstreamCaFile = text.trimmed(); },
                tr("PEM file trusted with the system store, e.g. a corporate gateway's CA"));
        addNote(tr("Allowed names that resolve to loopback, private, link-local, CGNAT, multicast, unspecified, "
                   "reserved or cloud metadata addresses are refused unless their class is listed here."));
        addText(QStringLiteral("network.allowAddressClasses"), tr("Special addresses allowed"),
                [](const Policy &p) { return p.network.allowAddressClasses.join(QStringLiteral(", ")); },
                [](Policy &p, const QString &text) {
                    p.network.allowAddressClasses.clear();
                    for (const QString &part : text.split(u',', Qt::SkipEmptyParts))
                        p.network.allowAddressClasses.append(part.trimmed());
                },
                tr("e.g. loopback, private (one of: %1)").arg(policy::addressClassNames().join(QStringLiteral(", "))));
    }
};

class SecretsPage : public PolicyPage
{
public:
    SecretsPage(PolicyDocument *doc, QWidget *parent) : PolicyPage(doc, QStringLiteral("secrets"), tr("Secrets"), parent)
    {
        addNote(tr("The proxy adds each secret as a header on requests to its host. The policy says where the "
                   "value lives — never the value — and the value never enters the sandbox."));
        RowTable::Access a;
        a.count = [](const Policy &p) { return int(p.secrets.size()); };
        a.cells = [](const Policy &p, int r) {
            const auto &s = p.secrets.at(r);
            return QStringList{s.name, s.host, s.header, s.scheme,
                               s.source == policy::Secret::Source::Keychain ? QStringLiteral("keychain")
                                                                            : QStringLiteral("hostEnv"),
                               s.ref};
        };
        a.set = [](Policy &p, int r, int c, const QString &v) {
            auto &s = p.secrets[r];
            switch (c) {
            case 0: s.name = v; break;
            case 1: s.host = v; break;
            case 2: s.header = v; break;
            case 3: s.scheme = v.trimmed(); break;
            case 4:
                s.source = v == QLatin1String("keychain") ? policy::Secret::Source::Keychain
                                                          : policy::Secret::Source::HostEnv;
                break;
            case 5: s.ref = v; break;
            }
        };
        a.add = [](Policy &p) {
            p.secrets.append({QStringLiteral("secret%1").arg(p.secrets.size() + 1), QStringLiteral("api.example.com"),
                              QStringLiteral("Authorization"), policy::Secret::Source::Keychain,
                              QStringLiteral("airlock/secret%1").arg(p.secrets.size() + 1), {}});
        };
        a.remove = [](Policy &p, int r) { p.secrets.removeAt(r); };
        auto *t = new RowTable(doc, tr("secret"),
                               {{tr("Name")}, {tr("Host")}, {tr("Header")}, {tr("Scheme (e.g. Bearer)")},
                                {tr("Value lives in"), {QStringLiteral("keychain"), QStringLiteral("hostEnv")}},
                                {tr("Item or variable")}},
                               a);
        addTable(QStringLiteral("secrets"), tr("Secrets"), t);
    }
};

class EnvironmentPage : public PolicyPage
{
public:
    EnvironmentPage(PolicyDocument *doc, QWidget *parent)
        : PolicyPage(doc, QStringLiteral("environment"), tr("Environment"), parent)
    {
        addNote(tr("The sandbox starts with an empty environment: only these variables are passed in."));
        addTable(QStringLiteral("environment.passThrough"), tr("Passed through from the host"),
                 stringListTable(doc, QStringLiteral("variable"), tr("Variable name"),
                                 [](const Policy &p) -> const QStringList & { return p.environment.passThrough; },
                                 [](Policy &p) -> QStringList & { return p.environment.passThrough; },
                                 QStringLiteral("LANG")));
        RowTable::Access a;
        a.count = [](const Policy &p) { return int(p.environment.set.size()); };
        a.cells = [](const Policy &p, int r) {
            auto it = std::next(p.environment.set.cbegin(), r);
            return QStringList{it.key(), it.value()};
        };
        a.set = [](Policy &p, int r, int c, const QString &v) {
            auto it = std::next(p.environment.set.begin(), r);
            if (c == 1) {
                it.value() = v;
            } else if (v != it.key() && !p.environment.set.contains(v)) {
                const QString value = it.value();
                p.environment.set.erase(it);
                p.environment.set.insert(v, value);
            }
        };
        a.add = [](Policy &p) {
            QString name = QStringLiteral("NAME");
            for (int i = 2; p.environment.set.contains(name); ++i)
                name = QStringLiteral("NAME%1").arg(i);
            p.environment.set.insert(name, QString());
        };
        a.remove = [](Policy &p, int r) { p.environment.set.erase(std::next(p.environment.set.begin(), r)); };
        auto *t = new RowTable(doc, tr("variable"), {{tr("Name")}, {tr("Value")}}, a);
        addTable(QStringLiteral("environment.set"), tr("Fixed values"), t);
    }
};

} // namespace

PolicyPage *createGeneralPage(PolicyDocument *doc, QWidget *parent) { return new GeneralPage(doc, parent); }
PolicyPage *createNetworkPage(PolicyDocument *doc, QWidget *parent) { return new NetworkPage(doc, parent); }
PolicyPage *createSecretsPage(PolicyDocument *doc, QWidget *parent) { return new SecretsPage(doc, parent); }
PolicyPage *createEnvironmentPage(PolicyDocument *doc, QWidget *parent) { return new EnvironmentPage(doc, parent); }

} // namespace airlock::ui
