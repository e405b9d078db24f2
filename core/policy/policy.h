#pragma once

#include <QList>
#include <QMap>
#include <QString>
#include <QStringList>

#include <algorithm>
#include <optional>
#include <span>
#include <type_traits>

// The isolation policy as a plain value. Every field has a default, so a default-constructed Policy is
// what the document {"schemaVersion": 1} means; an editor copies, edits and compares whole values (undo
// commands keep a before and an after), and the codec turns them into JSON and back without loss.
// Sizes are bytes and durations seconds; an empty std::optional means "no limit" or "not set".

namespace airlock::policy {

// The layout version this build reads and writes; older documents are migrated on parse.
inline constexpr int kSchemaVersion = 1;

enum class Backend { Local, Docker };                 // bubblewrap on the host, or a Docker container
enum class DockerRuntime { Runc, Runsc };             // OCI runtime for Docker; runsc is gVisor
enum class Placement { AgentInSandbox, AgentOnHost }; // AgentOnHost = only the tools run in the sandbox
enum class Lifecycle { Ephemeral, Persistent, Hybrid };
enum class Access { ReadWrite, ReadOnly };
enum class NetworkMode { None, Proxy, Host };
enum class SeccompMode { Default, Strict, Unconfined, Custom };
enum class Verdict { Allow, Ask, Deny };
// The ACP tool call kinds, plus Any for rules that apply to every kind.
enum class ToolKind { Any, Read, Edit, Delete, Move, Search, Execute, Think, Fetch, Other };

struct Runtime {
    Backend backend = Backend::Local;
    QString image;                       // Docker image reference; required for Backend::Docker
    DockerRuntime dockerRuntime = DockerRuntime::Runc;
    bool operator==(const Runtime &) const = default;
};

struct Mount {
    QString host;                        // absolute, or starting with ~ or $HOME
    QString target;                      // absolute path inside the sandbox
    Access access = Access::ReadOnly;
    bool operator==(const Mount &) const = default;
};

struct Tmpfs {
    QString target;
    qint64 sizeBytes = 64 * 1024 * 1024;
    bool noexec = true;
    bool operator==(const Tmpfs &) const = default;
};

// Workspace entries that could run code on the host later (git hooks, direnv, editor tasks). The
// built-in list (core/sandbox/protectednames.h) is always protected, by name at any depth; a policy's
// protectedPaths add to it. These defaults are part of the built-in list and kept for older documents.
QStringList defaultProtectedPaths();
// The built-in list as text, for the editor and the linter (".git (the entry itself)", ".git/hooks", …).
QStringList builtinProtectedNames();

struct Filesystem {
    Access workspace = Access::ReadWrite;
    QStringList protectedPaths = defaultProtectedPaths(); // more names, matched at any depth of the workspace
    // A writable workspace is presented through the protection layer (airlock-protectfs), which refuses
    // changes to protected names; without it a sandbox does not start. false opts out: only the
    // protected paths that exist at launch are bound read-only, and the linter names the risk.
    bool protectionLayer = true;
    QList<Mount> mounts;
    QStringList deniedHostPaths;         // never visible, even below a mounted parent
    bool readOnlyRoot = false;
    QList<Tmpfs> tmpfs;
    bool operator==(const Filesystem &) const = default;
};

struct Network {
    NetworkMode mode = NetworkMode::Proxy;
    QStringList allow;                   // domain patterns: example.com, *.example.com, *, with :port
    QStringList deny;                    // checked before allow
    bool allowIpLiterals = false;        // may a request name a bare IP address instead of a host
    QList<int> hostPorts;                // ports on the host's loopback the sandbox may reach
    // Special address classes an allowed name may resolve to (see addressClassNames()); by default
    // none, so an allowed name that points at loopback, the LAN or a metadata service is refused.
    QStringList allowAddressClasses;
    // PEM certificates the proxy trusts, with the system's, when it speaks TLS upstream (a corporate
    // gateway, a test server); empty for the system store alone. A host path, read by the proxy.
    QString upstreamCaFile;
    bool operator==(const Network &) const = default;
};

// The names of the address classes network.allowAddressClasses may list, in display order.
const QStringList &addressClassNames();

// A credential the egress proxy adds to requests for matching hosts. The policy says where the value
// lives, never the value itself, and the value never enters the sandbox.
struct Secret {
    enum class Source { Keychain, HostEnv };
    QString name;
    QString host;                        // domain pattern
    QString header;                      // HTTP header the proxy sets, e.g. Authorization
    Source source = Source::Keychain;
    QString ref;                         // keychain item name, or host environment variable name
    QString scheme;                      // "Bearer": the header is "Bearer <value>"; empty: the value alone
    bool operator==(const Secret &) const = default;
};

struct Environment {
    QStringList passThrough;             // host variables copied in by name
    QMap<QString, QString> set;          // fixed values
    bool operator==(const Environment &) const = default;
};

struct Resources {
    std::optional<qint64> memoryBytes;   // swap is always held equal, so the sandbox cannot swap
    std::optional<double> cpus;
    std::optional<qint64> pids;
    std::optional<qint64> wallClockSeconds;
    std::optional<qint64> tmpBytes;      // size of /tmp unless filesystem.tmpfs sets one
    std::optional<qint64> maxFileBytes;
    std::optional<qint64> maxOutputBytes; // per command, enforced by the shim
    // The whole workspace's size on disk. No file system quota is assumed: no file may grow past it
    // (RLIMIT_FSIZE / ulimit fsize), and the backend measures the workspace while the sandbox runs and
    // stops it, with the reason, once it is larger.
    std::optional<qint64> workspaceBytes;
    bool operator==(const Resources &) const = default;
};

// The largest file a sandbox may write (RLIMIT_FSIZE, Docker's fsize ulimit): no single file may
// outgrow the whole workspace either.
inline std::optional<qint64> fileSizeLimit(const Resources &r)
{
    if (r.maxFileBytes && r.workspaceBytes)
        return std::min(*r.maxFileBytes, *r.workspaceBytes);
    return r.maxFileBytes ? r.maxFileBytes : r.workspaceBytes;
}

struct Privileges {
    std::optional<qint64> uid;          // unset: the caller's id (local) or the image's user (Docker)
    std::optional<qint64> gid;
    bool dropAllCapabilities = true;
    QStringList capAdd;                  // names without the CAP_ prefix, e.g. NET_BIND_SERVICE
    bool noNewPrivileges = true;
    SeccompMode seccomp = SeccompMode::Default;
    QString seccompProfile;              // host path of a Docker-format profile; only for Custom
    bool nestedUserNamespaces = false;
    bool operator==(const Privileges &) const = default;
};

struct Guardrails {
    std::optional<qint64> maxTurns;
    std::optional<qint64> maxToolCalls;
    std::optional<qint64> maxWallClockSeconds;
    std::optional<qint64> maxTokens;
    std::optional<double> maxCostUsd;
    // The longest an agent may say nothing during a turn (while it waits for no answer from us).
    std::optional<qint64> maxIdleSeconds;
    bool operator==(const Guardrails &) const = default;
};

struct ApprovalRule {
    ToolKind kind = ToolKind::Any;
    std::optional<QString> command;      // prefix (`npm test`) or glob (`npm test*`)
    std::optional<QString> path;         // glob; relative globs are relative to the workspace
    std::optional<QString> domain;       // domain pattern
    Verdict decision = Verdict::Ask;
    bool operator==(const ApprovalRule &) const = default;
};

struct Approvals {
    Verdict defaultDecision = Verdict::Ask;
    QList<ApprovalRule> rules;
    bool operator==(const Approvals &) const = default;
};

struct Policy {
    int schemaVersion = kSchemaVersion;
    QString name;
    QString description;
    Runtime runtime;
    Placement placement = Placement::AgentInSandbox;
    Lifecycle lifecycle = Lifecycle::Ephemeral;
    Filesystem filesystem;
    Network network;
    QList<Secret> secrets;
    Environment environment;
    Resources resources;
    Privileges privileges;
    Guardrails guardrails;
    Approvals approvals;
    bool operator==(const Policy &) const = default;
};

// The JSON spelling of every enum value, shared by the codec, the CLI and an editor's choice lists.
template<typename E>
struct EnumName {
    E value;
    const char *name;
};

template<typename E>
std::span<const EnumName<E>> enumNames();

template<> std::span<const EnumName<Backend>> enumNames<Backend>();
template<> std::span<const EnumName<DockerRuntime>> enumNames<DockerRuntime>();
template<> std::span<const EnumName<Placement>> enumNames<Placement>();
template<> std::span<const EnumName<Lifecycle>> enumNames<Lifecycle>();
template<> std::span<const EnumName<Access>> enumNames<Access>();
template<> std::span<const EnumName<NetworkMode>> enumNames<NetworkMode>();
template<> std::span<const EnumName<SeccompMode>> enumNames<SeccompMode>();
template<> std::span<const EnumName<Verdict>> enumNames<Verdict>();
template<> std::span<const EnumName<ToolKind>> enumNames<ToolKind>();

// Named nameOf/parseEnum rather than toString/fromString so that argument-dependent lookup never
// confuses them with QTest::toString and friends.
template<typename E>
    requires std::is_enum_v<E>
QString nameOf(E value)
{
    for (const auto &entry : enumNames<E>()) {
        if (entry.value == value)
            return QString::fromLatin1(entry.name);
    }
    return {};
}

template<typename E>
    requires std::is_enum_v<E>
std::optional<E> parseEnum(QStringView text)
{
    for (const auto &entry : enumNames<E>()) {
        if (text == QLatin1StringView(entry.name))
            return entry.value;
    }
    return std::nullopt;
}

// "allow, ask, deny": for messages that list the accepted spellings.
template<typename E>
QString joinedNames()
{
    QStringList names;
    for (const auto &entry : enumNames<E>())
        names << QString::fromLatin1(entry.name);
    return names.join(QStringLiteral(", "));
}

} // namespace airlock::policy
