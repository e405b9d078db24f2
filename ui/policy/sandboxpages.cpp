// Filesystem, resources, privileges, guardrails and approval pages.
#include "limitedit.h"
#include "policydocument.h"
#include "policypage.h"
#include "policypages.h"

#include <QLineEdit>

namespace airlock::ui {

using policy::Policy;

namespace {

std::optional<double> toDouble(std::optional<qint64> v)
{
    return v ? std::optional<double>(double(*v)) : std::nullopt;
}
std::optional<qint64> toInt(std::optional<double> v)
{
    return v ? std::optional<qint64>(qint64(*v)) : std::nullopt;
}
bool isTrue(const QString &v)
{
    return v == QLatin1String("true");
}
QString access(policy::Access a)
{
    return policy::nameOf(a);
}

class FilesystemPage : public PolicyPage
{
public:
    FilesystemPage(PolicyDocument *doc, QWidget *parent)
        : PolicyPage(doc, QStringLiteral("filesystem"), tr("Filesystem"), parent)
    {
        addChoice<policy::Access>(QStringLiteral("filesystem.workspace"), tr("Workspace"),
                                  [](const Policy &p) { return p.filesystem.workspace; },
                                  [](Policy &p, policy::Access v) { p.filesystem.workspace = v; },
                                  {tr("Read and write"), tr("Read only")});
        addCheck(QStringLiteral("filesystem.readOnlyRoot"), tr("Read-only root file system"),
                 [](const Policy &p) { return p.filesystem.readOnlyRoot; },
                 [](Policy &p, bool v) { p.filesystem.readOnlyRoot = v; });
        addCheck(QStringLiteral("filesystem.protectionLayer"), tr("Protection layer (refuse to start without it)"),
                 [](const Policy &p) { return p.filesystem.protectionLayer; },
                 [](Policy &p, bool v) { p.filesystem.protectionLayer = v; });
        addNote(tr("Always protected, by name at any depth: %1")
                    .arg(policy::builtinProtectedNames().join(QStringLiteral(", "))));
        addTable(QStringLiteral("filesystem.protectedPaths"), tr("More protected names (at any depth)"),
                 stringListTable(doc, QStringLiteral("protected name"), tr("Name or path, glob allowed"),
                                 [](const Policy &p) -> const QStringList & { return p.filesystem.protectedPaths; },
                                 [](Policy &p) -> QStringList & { return p.filesystem.protectedPaths; }));

        RowTable::Access m;
        m.count = [](const Policy &p) { return int(p.filesystem.mounts.size()); };
        m.cells = [](const Policy &p, int r) {
            const auto &x = p.filesystem.mounts.at(r);
            return QStringList{x.host, x.target, access(x.access)};
        };
        m.set = [](Policy &p, int r, int c, const QString &v) {
            auto &x = p.filesystem.mounts[r];
            if (c == 0)
                x.host = v;
            else if (c == 1)
                x.target = v;
            else if (auto a = policy::parseEnum<policy::Access>(v))
                x.access = *a;
        };
        m.add = [](Policy &p) {
            p.filesystem.mounts.append({QStringLiteral("~/data%1").arg(p.filesystem.mounts.size() + 1),
                                        QStringLiteral("/mnt/data%1").arg(p.filesystem.mounts.size() + 1),
                                        policy::Access::ReadOnly});
        };
        m.remove = [](Policy &p, int r) { p.filesystem.mounts.removeAt(r); };
        auto *mounts = new RowTable(doc, tr("mount"),
                                    {{tr("Host path")}, {tr("Path in the sandbox")},
                                     {tr("Access"), enumChoices<policy::Access>()}},
                                    m);
        addTable(QStringLiteral("filesystem.mounts"), tr("Extra mounts"), mounts);

        addTable(QStringLiteral("filesystem.deniedHostPaths"), tr("Denied host paths (never visible)"),
                 stringListTable(doc, QStringLiteral("denied path"), tr("Host path"),
                                 [](const Policy &p) -> const QStringList & { return p.filesystem.deniedHostPaths; },
                                 [](Policy &p) -> QStringList & { return p.filesystem.deniedHostPaths; },
                                 QStringLiteral("~/.ssh")));

        RowTable::Access t;
        t.count = [](const Policy &p) { return int(p.filesystem.tmpfs.size()); };
        t.cells = [](const Policy &p, int r) {
            const auto &x = p.filesystem.tmpfs.at(r);
            return QStringList{x.target, QString::number(x.sizeBytes / (1024 * 1024)),
                               x.noexec ? QStringLiteral("true") : QStringLiteral("false")};
        };
        t.set = [](Policy &p, int r, int c, const QString &v) {
            auto &x = p.filesystem.tmpfs[r];
            if (c == 0)
                x.target = v;
            else if (c == 1)
                x.sizeBytes = v.toLongLong() * 1024 * 1024;
            else
                x.noexec = isTrue(v);
        };
        t.add = [](Policy &p) { p.filesystem.tmpfs.append({QStringLiteral("/scratch"), 64 * 1024 * 1024, true}); };
        t.remove = [](Policy &p, int r) { p.filesystem.tmpfs.removeAt(r); };
        auto *tmpfs = new RowTable(doc, tr("tmpfs mount"),
                                   {{tr("Path in the sandbox")}, {tr("Size (MiB)")}, {tr("No exec"), {}, true}}, t);
        addTable(QStringLiteral("filesystem.tmpfs"), tr("Memory-backed folders (tmpfs)"), tmpfs);
    }
};

class ResourcesPage : public PolicyPage
{
public:
    ResourcesPage(PolicyDocument *doc, QWidget *parent)
        : PolicyPage(doc, QStringLiteral("resources"), tr("Resources"), parent)
    {
        using R = policy::Resources;
        auto limit = [&](const char *key, const QString &label, LimitEdit *edit, std::optional<qint64> R::*field) {
            addLimit(QStringLiteral("resources.") + QLatin1String(key), label, edit,
                     [field](const Policy &p) { return toDouble(p.resources.*field); },
                     [field](Policy &p, std::optional<double> v) { p.resources.*field = toInt(v); });
        };
        limit("memoryBytes", tr("Memory (swap held equal)"), new LimitEdit(LimitEdit::bytes()), &R::memoryBytes);
        addLimit(QStringLiteral("resources.cpus"), tr("CPUs"), new LimitEdit(LimitEdit::count(tr("CPUs")), 512, 2),
                 [](const Policy &p) { return p.resources.cpus; },
                 [](Policy &p, std::optional<double> v) { p.resources.cpus = v; });
        limit("pids", tr("Processes"), new LimitEdit(LimitEdit::count(tr("processes")), 1e7), &R::pids);
        limit("wallClockSeconds", tr("Wall clock"), new LimitEdit(LimitEdit::seconds()), &R::wallClockSeconds);
        limit("tmpBytes", tr("/tmp size"), new LimitEdit(LimitEdit::bytes()), &R::tmpBytes);
        limit("maxFileBytes", tr("Largest file"), new LimitEdit(LimitEdit::bytes()), &R::maxFileBytes);
        limit("workspaceBytes", tr("Workspace size"), new LimitEdit(LimitEdit::bytes()), &R::workspaceBytes);
        limit("maxOutputBytes", tr("Output per command"), new LimitEdit(LimitEdit::bytes()), &R::maxOutputBytes);
    }
};

class GuardrailsPage : public PolicyPage
{
public:
    GuardrailsPage(PolicyDocument *doc, QWidget *parent)
        : PolicyPage(doc, QStringLiteral("guardrails"), tr("Guardrails"), parent)
    {
        addNote(tr("When a guardrail is crossed the turn is cancelled and the session stopped, with the reason "
                   "recorded."));
        using G = policy::Guardrails;
        auto limit = [&](const char *key, const QString &label, LimitEdit *edit, std::optional<qint64> G::*field) {
            addLimit(QStringLiteral("guardrails.") + QLatin1String(key), label, edit,
                     [field](const Policy &p) { return toDouble(p.guardrails.*field); },
                     [field](Policy &p, std::optional<double> v) { p.guardrails.*field = toInt(v); });
        };
        limit("maxTurns", tr("Turns"), new LimitEdit(LimitEdit::count(tr("turns")), 1e9), &G::maxTurns);
        limit("maxToolCalls", tr("Tool calls"), new LimitEdit(LimitEdit::count(tr("calls")), 1e9), &G::maxToolCalls);
        limit("maxWallClockSeconds", tr("Wall clock"), new LimitEdit(LimitEdit::seconds()), &G::maxWallClockSeconds);
        limit("maxTokens", tr("Tokens"), new LimitEdit(LimitEdit::count(tr("tokens")), 1e12), &G::maxTokens);
        limit("maxIdleSeconds", tr("Agent silence"), new LimitEdit(LimitEdit::seconds()), &G::maxIdleSeconds);
        addLimit(QStringLiteral("guardrails.maxCostUsd"), tr("Cost"), new LimitEdit(LimitEdit::count(tr("USD")), 1e6, 2),
                 [](const Policy &p) { return p.guardrails.maxCostUsd; },
                 [](Policy &p, std::optional<double> v) { p.guardrails.maxCostUsd = v; });
    }
};

class PrivilegesPage : public PolicyPage
{
public:
    PrivilegesPage(PolicyDocument *doc, QWidget *parent)
        : PolicyPage(doc, QStringLiteral("privileges"), tr("Privileges"), parent)
    {
        auto id = [](std::optional<qint64> v) { return v ? QString::number(*v) : QString(); };
        auto parseId = [](const QString &t) {
            bool ok = false;
            const qint64 v = t.trimmed().toLongLong(&ok);
            return t.trimmed().isEmpty() ? std::optional<qint64>() : std::optional<qint64>(ok ? v : -1);
        };
        addText(QStringLiteral("privileges.uid"), tr("User id"), [id](const Policy &p) { return id(p.privileges.uid); },
                [parseId](Policy &p, const QString &t) { p.privileges.uid = parseId(t); }, tr("unset: yours, or the image's"));
        addText(QStringLiteral("privileges.gid"), tr("Group id"), [id](const Policy &p) { return id(p.privileges.gid); },
                [parseId](Policy &p, const QString &t) { p.privileges.gid = parseId(t); });
        addCheck(QStringLiteral("privileges.dropAllCapabilities"), tr("Drop all capabilities"),
                 [](const Policy &p) { return p.privileges.dropAllCapabilities; },
                 [](Policy &p, bool v) { p.privileges.dropAllCapabilities = v; });
        addText(QStringLiteral("privileges.capAdd"), tr("Add back capabilities"),
                [](const Policy &p) { return p.privileges.capAdd.join(QStringLiteral(", ")); },
                [](Policy &p, const QString &t) {
                    p.privileges.capAdd.clear();
                    for (const QString &c : t.split(u',', Qt::SkipEmptyParts))
                        p.privileges.capAdd << c.trimmed();
                },
                tr("e.g. NET_BIND_SERVICE"));
        addCheck(QStringLiteral("privileges.noNewPrivileges"), tr("No new privileges (setuid binaries cannot gain any)"),
                 [](const Policy &p) { return p.privileges.noNewPrivileges; },
                 [](Policy &p, bool v) { p.privileges.noNewPrivileges = v; });
        addChoice<policy::SeccompMode>(QStringLiteral("privileges.seccomp"), tr("System call filter"),
                                       [](const Policy &p) { return p.privileges.seccomp; },
                                       [](Policy &p, policy::SeccompMode v) { p.privileges.seccomp = v; },
                                       {tr("Default"), tr("Strict"), tr("Unconfined (no filter)"), tr("Custom profile")});
        addText(QStringLiteral("privileges.seccompProfile"), tr("Custom profile"),
                [](const Policy &p) { return p.privileges.seccompProfile; },
                [](Policy &p, const QString &t) { p.privileges.seccompProfile = t; }, tr("host path of a profile"));
        addCheck(QStringLiteral("privileges.nestedUserNamespaces"), tr("Allow nested user namespaces"),
                 [](const Policy &p) { return p.privileges.nestedUserNamespaces; },
                 [](Policy &p, bool v) { p.privileges.nestedUserNamespaces = v; });
    }
};

class ApprovalsPage : public PolicyPage
{
public:
    ApprovalsPage(PolicyDocument *doc, QWidget *parent)
        : PolicyPage(doc, QStringLiteral("approvals"), tr("Approvals"), parent)
    {
        addChoice<policy::Verdict>(QStringLiteral("approvals.default"), tr("When no rule matches"),
                                   [](const Policy &p) { return p.approvals.defaultDecision; },
                                   [](Policy &p, policy::Verdict v) { p.approvals.defaultDecision = v; },
                                   {tr("Allow"), tr("Ask me"), tr("Deny")});
        addNote(tr("Deny rules are tried first, then ask, then allow; within each, the first match wins. "
                   "An allow rule never matches a chained command line."));
        RowTable::Access a;
        a.count = [](const Policy &p) { return int(p.approvals.rules.size()); };
        a.cells = [](const Policy &p, int r) {
            const auto &x = p.approvals.rules.at(r);
            return QStringList{policy::nameOf(x.kind), x.command.value_or(QString()), x.path.value_or(QString()),
                               x.domain.value_or(QString()), policy::nameOf(x.decision)};
        };
        a.set = [](Policy &p, int r, int c, const QString &v) {
            auto &x = p.approvals.rules[r];
            auto opt = [&v] { return v.isEmpty() ? std::optional<QString>() : std::optional<QString>(v); };
            switch (c) {
            case 0:
                if (auto k = policy::parseEnum<policy::ToolKind>(v))
                    x.kind = *k;
                break;
            case 1: x.command = opt(); break;
            case 2: x.path = opt(); break;
            case 3: x.domain = opt(); break;
            case 4:
                if (auto d = policy::parseEnum<policy::Verdict>(v))
                    x.decision = *d;
                break;
            }
        };
        a.add = [](Policy &p) {
            p.approvals.rules.append({policy::ToolKind::Execute, QStringLiteral("npm test*"), {}, {}, policy::Verdict::Allow});
        };
        a.remove = [](Policy &p, int r) { p.approvals.rules.removeAt(r); };
        a.move = [](Policy &p, int from, int to) { p.approvals.rules.move(from, to); };
        auto *t = new RowTable(doc, tr("rule"),
                               {{tr("Tool kind"), enumChoices<policy::ToolKind>()}, {tr("Command")}, {tr("Path")},
                                {tr("Domain")}, {tr("Decision"), enumChoices<policy::Verdict>()}},
                               a);
        addTable(QStringLiteral("approvals.rules"), tr("Rules"), t);
    }
};

} // namespace

PolicyPage *createFilesystemPage(PolicyDocument *doc, QWidget *parent) { return new FilesystemPage(doc, parent); }
PolicyPage *createResourcesPage(PolicyDocument *doc, QWidget *parent) { return new ResourcesPage(doc, parent); }
PolicyPage *createGuardrailsPage(PolicyDocument *doc, QWidget *parent) { return new GuardrailsPage(doc, parent); }
PolicyPage *createPrivilegesPage(PolicyDocument *doc, QWidget *parent) { return new PrivilegesPage(doc, parent); }
PolicyPage *createApprovalsPage(PolicyDocument *doc, QWidget *parent) { return new ApprovalsPage(doc, parent); }

} // namespace airlock::ui
