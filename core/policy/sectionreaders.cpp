#include "policy/sectionreaders.h"

#include "policy/patterns.h"
#include "policy/valuechecks.h"

#include <QHash>
#include <QRegularExpression>

namespace airlock::policy::detail {

namespace {

// Calls read(elementReader) for every element of an array of objects.
template<typename Read>
void forEachObject(ObjectReader &parent, QStringView key, Read read)
{
    const auto items = parent.array(key);
    if (!items)
        return;
    const QString listPath = parent.pathOf(key);
    for (qsizetype i = 0; i < items->size(); ++i) {
        const QString itemPath = indexPath(listPath, i);
        const QJsonValue item = items->at(i);
        if (!item.isObject()) {
            parent.issue(itemPath, QStringLiteral("expected an object, got ") + describeType(item));
            continue;
        }
        read(item.toObject(), itemPath);
    }
}

bool issuesGrew(const QList<Issue> &issues, qsizetype before)
{
    return issues.size() != before;
}

std::optional<QString> checkSecretName(QStringView name)
{
    static const QRegularExpression valid(QStringLiteral("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"));
    if (!valid.match(name).hasMatch())
        return u'\'' + name.toString()
               + QStringLiteral("' is not a secret name (letters, digits, '_', '.', '-'; at most 64)");
    return std::nullopt;
}

std::optional<QString> checkSecretHost(QStringView host)
{
    if (auto reason = checkDomainPattern(host))
        return reason;
    if (host == u"*" || host.startsWith(u"*:"))
        return QStringLiteral("'*' would hand the secret to every host; name the host it is for");
    return std::nullopt;
}

std::optional<QString> checkKeychainItem(QStringView item)
{
    if (item.isEmpty())
        return QStringLiteral("a keychain item name cannot be empty");
    return checkPlainText(item, 256);
}

std::optional<QString> checkEnvironmentName(QStringView name)
{
    if (auto reason = checkEnvName(name))
        return reason;
    if (name.startsWith(u"AIRLOCK_"))
        return u'\'' + name.toString() + QStringLiteral("' is reserved: Airlock sets AIRLOCK_* itself");
    return std::nullopt;
}

} // namespace

void readRuntime(ObjectReader &parent, Runtime &out)
{
    const auto object = parent.object(u"runtime");
    if (!object)
        return;
    ObjectReader r = parent.nested(*object, parent.pathOf(u"runtime"));
    r.enumeration(u"backend", out.backend);
    r.string(u"image", out.image, [](QStringView image) {
        return image.isEmpty() ? std::nullopt : checkImageReference(image);
    });
    r.enumeration(u"dockerRuntime", out.dockerRuntime);
    r.finish();
}

void readFilesystem(ObjectReader &parent, Filesystem &out)
{
    const auto object = parent.object(u"filesystem");
    if (!object)
        return;
    ObjectReader r = parent.nested(*object, parent.pathOf(u"filesystem"));
    QList<Issue> &issues = r.issues();
    r.enumeration(u"workspace", out.workspace);
    r.stringList(u"protectedPaths", out.protectedPaths, checkRelativePath);
    r.boolean(u"protectionLayer", out.protectionLayer);

    // Mount and tmpfs targets share one namespace: two things cannot be mounted at one place.
    QHash<QString, QString> targets;
    const auto claimTarget = [&](const QString &target, const QString &path) {
        const auto it = targets.constFind(target);
        if (it != targets.constEnd()) {
            r.issue(path, u'\'' + target + QStringLiteral("' is already used by ") + it.value());
            return false;
        }
        targets.insert(target, path.chopped(QStringLiteral(".target").size()));
        return true;
    };

    QList<Mount> mounts;
    QStringList mountPaths;
    forEachObject(r, u"mounts", [&](const QJsonObject &item, const QString &path) {
        const qsizetype before = issues.size();
        ObjectReader m = r.nested(item, path);
        Mount mount;
        m.string(u"host", mount.host, checkHostPath, true);
        m.string(u"target", mount.target, checkSandboxPath, true);
        m.enumeration(u"access", mount.access);
        m.finish();
        if (issuesGrew(issues, before) || !claimTarget(mount.target, childPath(path, u"target")))
            return;
        mounts.append(mount);
        mountPaths.append(path);
    });
    if (object->contains(u"mounts"))
        out.mounts = mounts;

    r.stringList(u"deniedHostPaths", out.deniedHostPaths, checkHostPath);
    r.boolean(u"readOnlyRoot", out.readOnlyRoot);

    QList<Tmpfs> tmpfs;
    forEachObject(r, u"tmpfs", [&](const QJsonObject &item, const QString &path) {
        const qsizetype before = issues.size();
        ObjectReader t = r.nested(item, path);
        Tmpfs entry;
        t.string(u"target", entry.target, checkSandboxPath, true);
        t.integer(u"sizeBytes", entry.sizeBytes, {4096, qint64(1) << 40}, true);
        t.boolean(u"noexec", entry.noexec);
        t.finish();
        if (!issuesGrew(issues, before) && claimTarget(entry.target, childPath(path, u"target")))
            tmpfs.append(entry);
    });
    if (object->contains(u"tmpfs"))
        out.tmpfs = tmpfs;

    // A denial that a mount undoes would be a promise the policy does not keep.
    for (qsizetype i = 0; i < out.mounts.size(); ++i) {
        const QString host = homeRelativeForm(out.mounts.at(i).host);
        for (qsizetype j = 0; j < out.deniedHostPaths.size(); ++j) {
            const QString denied = homeRelativeForm(out.deniedHostPaths.at(j));
            if (isSameOrUnder(host, denied)) {
                r.issue(childPath(mountPaths.at(i), u"host"),
                        u'\'' + out.mounts.at(i).host + QStringLiteral("' is inside denied host path '")
                            + out.deniedHostPaths.at(j) + u'\'');
                break;
            }
        }
    }
    r.finish();
}

void readNetwork(ObjectReader &parent, Network &out)
{
    const auto object = parent.object(u"network");
    if (!object)
        return;
    ObjectReader r = parent.nested(*object, parent.pathOf(u"network"));
    r.enumeration(u"mode", out.mode);
    r.stringList(u"allow", out.allow, checkDomainPattern);
    r.stringList(u"deny", out.deny, checkDomainPattern);
    r.boolean(u"allowIpLiterals", out.allowIpLiterals);
    r.stringList(u"allowAddressClasses", out.allowAddressClasses, [](QStringView name) -> std::optional<QString> {
        if (addressClassNames().contains(name.toString()))
            return std::nullopt;
        return u'\'' + name.toString() + QStringLiteral("' is not an address class; use one of: ")
               + addressClassNames().join(QStringLiteral(", "));
    });
    r.string(u"upstreamCaFile", out.upstreamCaFile, [](QStringView path) -> std::optional<QString> {
        if (path.isEmpty() || (path.startsWith(u'/') && !path.contains(QChar(0))))
            return std::nullopt;
        return QStringLiteral("'%1' is not an absolute path").arg(path.toString());
    });
    if (const auto ports = r.array(u"hostPorts")) {
        const QString listPath = r.pathOf(u"hostPorts");
        QList<int> result;
        for (qsizetype i = 0; i < ports->size(); ++i) {
            const QString itemPath = indexPath(listPath, i);
            const auto port = readInteger(ports->at(i), itemPath, {1, 65535}, r.issues());
            if (!port)
                continue;
            if (result.contains(int(*port))) {
                r.issue(itemPath, QStringLiteral("port %1 is listed twice").arg(*port));
                continue;
            }
            result.append(int(*port));
        }
        out.hostPorts = result;
    }
    r.finish();
}

void readSecrets(ObjectReader &parent, QList<Secret> &out)
{
    QList<Secret> secrets;
    QHash<QString, QString> names;
    QList<Issue> &issues = parent.issues();
    forEachObject(parent, u"secrets", [&](const QJsonObject &item, const QString &path) {
        const qsizetype before = issues.size();
        ObjectReader s = parent.nested(item, path);
        Secret secret;
        if (s.take(u"value")) {
            s.issue(childPath(path, u"value"),
                    QStringLiteral("a policy never holds secret values; name a keychain item or a host "
                                   "environment variable instead"));
        }
        s.string(u"name", secret.name, checkSecretName, true);
        s.string(u"host", secret.host, checkSecretHost, true);
        s.string(u"header", secret.header, checkHeaderName, true);
        s.string(u"scheme", secret.scheme, checkAuthScheme);
        QString keychain;
        QString hostEnv;
        s.string(u"keychain", keychain, checkKeychainItem);
        s.string(u"hostEnv", hostEnv, checkEnvName);
        const bool fromKeychain = item.contains(u"keychain");
        const bool fromEnv = item.contains(u"hostEnv");
        if (fromKeychain == fromEnv)
            s.issue(path, QStringLiteral("give exactly one source: \"keychain\" or \"hostEnv\""));
        secret.source = fromEnv ? Secret::Source::HostEnv : Secret::Source::Keychain;
        secret.ref = fromEnv ? hostEnv : keychain;
        s.finish();
        if (issuesGrew(issues, before))
            return;
        if (const auto it = names.constFind(secret.name); it != names.constEnd()) {
            s.issue(childPath(path, u"name"),
                    u'\'' + secret.name + QStringLiteral("' is already used by ") + it.value());
            return;
        }
        names.insert(secret.name, path);
        secrets.append(secret);
    });
    out = secrets;
}

void readEnvironment(ObjectReader &parent, Environment &out)
{
    const auto object = parent.object(u"environment");
    if (!object)
        return;
    ObjectReader r = parent.nested(*object, parent.pathOf(u"environment"));
    r.stringList(u"passThrough", out.passThrough, checkEnvironmentName);
    if (const auto fixed = r.object(u"set")) {
        const QString setPath = r.pathOf(u"set");
        QMap<QString, QString> values;
        for (auto it = fixed->constBegin(); it != fixed->constEnd(); ++it) {
            const QString itemPath = childPath(setPath, it.key());
            if (auto reason = checkEnvironmentName(it.key())) {
                r.issue(itemPath, *reason);
                continue;
            }
            const auto value = readString(it.value(), itemPath, [](QStringView text) {
                return text.contains(QChar(0)) ? std::optional<QString>(QStringLiteral("contains a NUL character"))
                       : text.size() > 32768   ? std::optional<QString>(QStringLiteral("is longer than 32768 characters"))
                                               : std::nullopt;
            }, r.issues());
            if (!value)
                continue;
            if (out.passThrough.contains(it.key())) {
                r.issue(itemPath, u'\'' + it.key() + QStringLiteral("' is also passed through from the host; "
                                                                     "keep one of the two"));
                continue;
            }
            values.insert(it.key(), *value);
        }
        out.set = values;
    }
    r.finish();
}

} // namespace airlock::policy::detail
