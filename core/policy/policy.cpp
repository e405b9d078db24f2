#include "policy/policy.h"

#include "sandbox/protectednames.h"

#include <array>

namespace airlock::policy {

QStringList defaultProtectedPaths()
{
    return {QStringLiteral(".git/hooks"), QStringLiteral(".git/config"), QStringLiteral(".envrc"),
            QStringLiteral(".vscode"), QStringLiteral(".idea")};
}

QStringList builtinProtectedNames()
{
    QStringList out;
    for (const protect::Pattern &p : protect::builtinPatterns())
        out << QString::fromStdString(p.text) + (p.entryOnly ? QStringLiteral(" (the entry itself)") : QString());
    return out;
}

namespace {

constexpr std::array<EnumName<Backend>, 2> kBackends{{
    {Backend::Local, "local"},
    {Backend::Docker, "docker"},
}};

constexpr std::array<EnumName<DockerRuntime>, 2> kDockerRuntimes{{
    {DockerRuntime::Runc, "runc"},
    {DockerRuntime::Runsc, "runsc"},
}};

constexpr std::array<EnumName<Placement>, 2> kPlacements{{
    {Placement::AgentInSandbox, "agentInSandbox"},
    {Placement::AgentOnHost, "agentOnHost"},
}};

constexpr std::array<EnumName<Lifecycle>, 3> kLifecycles{{
    {Lifecycle::Ephemeral, "ephemeral"},
    {Lifecycle::Persistent, "persistent"},
    {Lifecycle::Hybrid, "hybrid"},
}};

constexpr std::array<EnumName<Access>, 2> kAccess{{
    {Access::ReadWrite, "rw"},
    {Access::ReadOnly, "ro"},
}};

constexpr std::array<EnumName<NetworkMode>, 3> kNetworkModes{{
    {NetworkMode::None, "none"},
    {NetworkMode::Proxy, "proxy"},
    {NetworkMode::Host, "host"},
}};

constexpr std::array<EnumName<SeccompMode>, 4> kSeccompModes{{
    {SeccompMode::Default, "default"},
    {SeccompMode::Strict, "strict"},
    {SeccompMode::Unconfined, "unconfined"},
    {SeccompMode::Custom, "custom"},
}};

constexpr std::array<EnumName<Verdict>, 3> kVerdicts{{
    {Verdict::Allow, "allow"},
    {Verdict::Ask, "ask"},
    {Verdict::Deny, "deny"},
}};

constexpr std::array<EnumName<ToolKind>, 10> kToolKinds{{
    {ToolKind::Any, "any"},
    {ToolKind::Read, "read"},
    {ToolKind::Edit, "edit"},
    {ToolKind::Delete, "delete"},
    {ToolKind::Move, "move"},
    {ToolKind::Search, "search"},
    {ToolKind::Execute, "execute"},
    {ToolKind::Think, "think"},
    {ToolKind::Fetch, "fetch"},
    {ToolKind::Other, "other"},
}};

} // namespace

template<> std::span<const EnumName<Backend>> enumNames<Backend>() { return kBackends; }
template<> std::span<const EnumName<DockerRuntime>> enumNames<DockerRuntime>() { return kDockerRuntimes; }
template<> std::span<const EnumName<Placement>> enumNames<Placement>() { return kPlacements; }
template<> std::span<const EnumName<Lifecycle>> enumNames<Lifecycle>() { return kLifecycles; }
template<> std::span<const EnumName<Access>> enumNames<Access>() { return kAccess; }
template<> std::span<const EnumName<NetworkMode>> enumNames<NetworkMode>() { return kNetworkModes; }
template<> std::span<const EnumName<SeccompMode>> enumNames<SeccompMode>() { return kSeccompModes; }
template<> std::span<const EnumName<Verdict>> enumNames<Verdict>() { return kVerdicts; }
template<> std::span<const EnumName<ToolKind>> enumNames<ToolKind>() { return kToolKinds; }

const QStringList &addressClassNames()
{
    static const QStringList names{QStringLiteral("loopback"),    QStringLiteral("private"),
                                   QStringLiteral("link-local"),  QStringLiteral("cgnat"),
                                   QStringLiteral("metadata"),    QStringLiteral("multicast"),
                                   QStringLiteral("unspecified"), QStringLiteral("reserved")};
    return names;
}

} // namespace airlock::policy
