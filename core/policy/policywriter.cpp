#include "policy/codec.h"

#include <QCryptographicHash>

#include <charconv>
#include <utility>
#include <vector>

namespace airlock::policy {

namespace {

// A JSON tree that keeps keys in the order they were added; QJsonObject would sort them, and the
// canonical text reads in the order of the policy's sections instead.
// A member is a struct declared ahead rather than a std::pair<QString, Node>: a pair of a type still
// being defined is ill-formed, and clang (the fuzz build) refuses it. The member functions are
// defined once Member is complete for the same reason.
struct Node {
    struct Member;
    enum class Kind { Scalar, Array, Object };
    Kind kind = Kind::Scalar;
    QByteArray scalar;            // already encoded
    std::vector<Member> members;  // objects
    std::vector<Node> items;      // arrays

    static Node object();
    static Node array();
    static Node raw(QByteArray encoded);
    Node &add(const QString &key, Node value);
    void append(Node value);
};

struct Node::Member {
    QString key;
    Node value;
};

Node Node::object() { return Node{Kind::Object, {}, {}, {}}; }
Node Node::array() { return Node{Kind::Array, {}, {}, {}}; }
Node Node::raw(QByteArray encoded) { return Node{Kind::Scalar, std::move(encoded), {}, {}}; }

Node &Node::add(const QString &key, Node value)
{
    members.push_back(Member{key, std::move(value)});
    return members.back().value;
}

void Node::append(Node value) { items.push_back(std::move(value)); }

QByteArray encodeString(const QString &text)
{
    QByteArray out = "\"";
    for (const char c : text.toUtf8()) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                out += "\\u00";
                out += QByteArray::number(static_cast<unsigned char>(c), 16).rightJustified(2, '0');
            } else {
                out += c;
            }
        }
    }
    out += '"';
    return out;
}

// The shortest text that reads back as the same double, so numbers round-trip exactly.
QByteArray encodeDouble(double value)
{
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    return QByteArray(buffer, result.ptr - buffer);
}

Node text(const QString &value) { return Node::raw(encodeString(value)); }
Node integer(qint64 value) { return Node::raw(QByteArray::number(value)); }
Node number(double value) { return Node::raw(encodeDouble(value)); }
Node boolean(bool value) { return Node::raw(value ? "true" : "false"); }

template<typename E>
Node name(E value)
{
    return text(nameOf(value));
}

Node strings(const QStringList &values)
{
    Node list = Node::array();
    for (const QString &value : values)
        list.append(text(value));
    return list;
}

void addIfSet(Node &object, const QString &key, const std::optional<qint64> &value)
{
    if (value)
        object.add(key, integer(*value));
}

void addIfSet(Node &object, const QString &key, const std::optional<double> &value)
{
    if (value)
        object.add(key, number(*value));
}

void render(const Node &node, int depth, QByteArray &out)
{
    const QByteArray inner(2 * (depth + 1), ' ');
    const QByteArray closing(2 * depth, ' ');
    switch (node.kind) {
    case Node::Kind::Scalar:
        out += node.scalar;
        return;
    case Node::Kind::Array:
        if (node.items.empty()) {
            out += "[]";
            return;
        }
        out += "[\n";
        for (size_t i = 0; i < node.items.size(); ++i) {
            out += inner;
            render(node.items[i], depth + 1, out);
            out += i + 1 < node.items.size() ? ",\n" : "\n";
        }
        out += closing + ']';
        return;
    case Node::Kind::Object:
        if (node.members.empty()) {
            out += "{}";
            return;
        }
        out += "{\n";
        for (size_t i = 0; i < node.members.size(); ++i) {
            out += inner + encodeString(node.members[i].key) + ": ";
            render(node.members[i].value, depth + 1, out);
            out += i + 1 < node.members.size() ? ",\n" : "\n";
        }
        out += closing + '}';
        return;
    }
}

Node filesystemNode(const Filesystem &fs)
{
    Node node = Node::object();
    node.add(QStringLiteral("workspace"), name(fs.workspace));
    node.add(QStringLiteral("protectedPaths"), strings(fs.protectedPaths));
    if (!fs.protectionLayer) // written only when opted out, so older documents and golden files stay as they are
        node.add(QStringLiteral("protectionLayer"), boolean(false));
    Node &mounts = node.add(QStringLiteral("mounts"), Node::array());
    for (const Mount &mount : fs.mounts) {
        Node item = Node::object();
        item.add(QStringLiteral("host"), text(mount.host));
        item.add(QStringLiteral("target"), text(mount.target));
        item.add(QStringLiteral("access"), name(mount.access));
        mounts.append(std::move(item));
    }
    node.add(QStringLiteral("deniedHostPaths"), strings(fs.deniedHostPaths));
    node.add(QStringLiteral("readOnlyRoot"), boolean(fs.readOnlyRoot));
    Node &tmpfs = node.add(QStringLiteral("tmpfs"), Node::array());
    for (const Tmpfs &entry : fs.tmpfs) {
        Node item = Node::object();
        item.add(QStringLiteral("target"), text(entry.target));
        item.add(QStringLiteral("sizeBytes"), integer(entry.sizeBytes));
        item.add(QStringLiteral("noexec"), boolean(entry.noexec));
        tmpfs.append(std::move(item));
    }
    return node;
}

Node networkNode(const Network &network)
{
    Node node = Node::object();
    node.add(QStringLiteral("mode"), name(network.mode));
    node.add(QStringLiteral("allow"), strings(network.allow));
    node.add(QStringLiteral("deny"), strings(network.deny));
    node.add(QStringLiteral("allowIpLiterals"), boolean(network.allowIpLiterals));
    Node &ports = node.add(QStringLiteral("hostPorts"), Node::array());
    for (const int port : network.hostPorts)
        ports.append(integer(port));
    // Written only when set, so policies saved before the key existed keep their canonical text.
    if (!network.allowAddressClasses.isEmpty())
        node.add(QStringLiteral("allowAddressClasses"), strings(network.allowAddressClasses));
    if (!network.upstreamCaFile.isEmpty())
        node.add(QStringLiteral("upstreamCaFile"), text(network.upstreamCaFile));
    return node;
}

Node secretsNode(const QList<Secret> &secrets)
{
    Node list = Node::array();
    for (const Secret &secret : secrets) {
        Node item = Node::object();
        item.add(QStringLiteral("name"), text(secret.name));
        item.add(QStringLiteral("host"), text(secret.host));
        item.add(QStringLiteral("header"), text(secret.header));
        if (!secret.scheme.isEmpty())
            item.add(QStringLiteral("scheme"), text(secret.scheme));
        const bool fromEnv = secret.source == Secret::Source::HostEnv;
        item.add(fromEnv ? QStringLiteral("hostEnv") : QStringLiteral("keychain"), text(secret.ref));
        list.append(std::move(item));
    }
    return list;
}

Node environmentNode(const Environment &environment)
{
    Node node = Node::object();
    node.add(QStringLiteral("passThrough"), strings(environment.passThrough));
    Node &set = node.add(QStringLiteral("set"), Node::object());
    for (auto it = environment.set.constBegin(); it != environment.set.constEnd(); ++it)
        set.add(it.key(), text(it.value()));
    return node;
}

Node resourcesNode(const Resources &resources)
{
    Node node = Node::object();
    addIfSet(node, QStringLiteral("memoryBytes"), resources.memoryBytes);
    addIfSet(node, QStringLiteral("cpus"), resources.cpus);
    addIfSet(node, QStringLiteral("pids"), resources.pids);
    addIfSet(node, QStringLiteral("wallClockSeconds"), resources.wallClockSeconds);
    addIfSet(node, QStringLiteral("tmpBytes"), resources.tmpBytes);
    addIfSet(node, QStringLiteral("maxFileBytes"), resources.maxFileBytes);
    addIfSet(node, QStringLiteral("workspaceBytes"), resources.workspaceBytes);
    addIfSet(node, QStringLiteral("maxOutputBytes"), resources.maxOutputBytes);
    return node;
}

Node privilegesNode(const Privileges &privileges)
{
    Node node = Node::object();
    addIfSet(node, QStringLiteral("uid"), privileges.uid);
    addIfSet(node, QStringLiteral("gid"), privileges.gid);
    node.add(QStringLiteral("dropAllCapabilities"), boolean(privileges.dropAllCapabilities));
    node.add(QStringLiteral("capAdd"), strings(privileges.capAdd));
    node.add(QStringLiteral("noNewPrivileges"), boolean(privileges.noNewPrivileges));
    node.add(QStringLiteral("seccomp"), name(privileges.seccomp));
    if (!privileges.seccompProfile.isEmpty())
        node.add(QStringLiteral("seccompProfile"), text(privileges.seccompProfile));
    node.add(QStringLiteral("nestedUserNamespaces"), boolean(privileges.nestedUserNamespaces));
    return node;
}

Node guardrailsNode(const Guardrails &guardrails)
{
    Node node = Node::object();
    addIfSet(node, QStringLiteral("maxTurns"), guardrails.maxTurns);
    addIfSet(node, QStringLiteral("maxToolCalls"), guardrails.maxToolCalls);
    addIfSet(node, QStringLiteral("maxWallClockSeconds"), guardrails.maxWallClockSeconds);
    addIfSet(node, QStringLiteral("maxTokens"), guardrails.maxTokens);
    addIfSet(node, QStringLiteral("maxCostUsd"), guardrails.maxCostUsd);
    addIfSet(node, QStringLiteral("maxIdleSeconds"), guardrails.maxIdleSeconds);
    return node;
}

Node approvalsNode(const Approvals &approvals)
{
    Node node = Node::object();
    node.add(QStringLiteral("default"), name(approvals.defaultDecision));
    Node &rules = node.add(QStringLiteral("rules"), Node::array());
    for (const ApprovalRule &rule : approvals.rules) {
        Node item = Node::object();
        item.add(QStringLiteral("kind"), name(rule.kind));
        if (rule.command)
            item.add(QStringLiteral("command"), text(*rule.command));
        if (rule.path)
            item.add(QStringLiteral("path"), text(*rule.path));
        if (rule.domain)
            item.add(QStringLiteral("domain"), text(*rule.domain));
        item.add(QStringLiteral("decision"), name(rule.decision));
        rules.append(std::move(item));
    }
    return node;
}

} // namespace

QByteArray serializePolicy(const Policy &policy)
{
    Node root = Node::object();
    root.add(QStringLiteral("schemaVersion"), integer(policy.schemaVersion));
    root.add(QStringLiteral("name"), text(policy.name));
    root.add(QStringLiteral("description"), text(policy.description));
    Node &runtime = root.add(QStringLiteral("runtime"), Node::object());
    runtime.add(QStringLiteral("backend"), name(policy.runtime.backend));
    if (!policy.runtime.image.isEmpty())
        runtime.add(QStringLiteral("image"), text(policy.runtime.image));
    runtime.add(QStringLiteral("dockerRuntime"), name(policy.runtime.dockerRuntime));
    root.add(QStringLiteral("placement"), name(policy.placement));
    root.add(QStringLiteral("lifecycle"), name(policy.lifecycle));
    root.add(QStringLiteral("filesystem"), filesystemNode(policy.filesystem));
    root.add(QStringLiteral("network"), networkNode(policy.network));
    root.add(QStringLiteral("secrets"), secretsNode(policy.secrets));
    root.add(QStringLiteral("environment"), environmentNode(policy.environment));
    root.add(QStringLiteral("resources"), resourcesNode(policy.resources));
    root.add(QStringLiteral("privileges"), privilegesNode(policy.privileges));
    root.add(QStringLiteral("guardrails"), guardrailsNode(policy.guardrails));
    root.add(QStringLiteral("approvals"), approvalsNode(policy.approvals));

    QByteArray out;
    render(root, 0, out);
    out += '\n';
    return out;
}

QString policyHash(const Policy &policy)
{
    return QString::fromLatin1(
        QCryptographicHash::hash(serializePolicy(policy), QCryptographicHash::Sha256).toHex());
}

} // namespace airlock::policy
