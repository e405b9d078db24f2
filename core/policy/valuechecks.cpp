#include "policy/valuechecks.h"

#include "policy/sandboxlayout.h"

#include <QDir>
#include <QRegularExpression>

namespace airlock::policy {

namespace {

QString quoted(QStringView text)
{
    return u'\'' + text.toString() + u'\'';
}

QStringView homePrefix(QStringView path)
{
    for (const QStringView prefix : {QStringView(u"${HOME}"), QStringView(u"$HOME"), QStringView(u"~")}) {
        if (path == prefix || isSameOrUnder(path, prefix))
            return prefix;
    }
    return {};
}

std::optional<QString> checkSegments(QStringView path)
{
    const QStringList segments = path.toString().split(u'/');
    for (const QString &segment : segments) {
        if (segment == u"..")
            return quoted(path) + QStringLiteral(" must not contain '..'");
    }
    return std::nullopt;
}

} // namespace

bool hasControlCharacters(QStringView text)
{
    for (const QChar c : text) {
        if (c.unicode() < 0x20 || c.unicode() == 0x7f)
            return true;
    }
    return false;
}

std::optional<QString> checkHostPath(QStringView path)
{
    if (path.isEmpty())
        return QStringLiteral("a host path cannot be empty");
    if (hasControlCharacters(path))
        return quoted(path) + QStringLiteral(" contains control characters");
    if (path.contains(u':'))
        return quoted(path) + QStringLiteral(" contains ':', which Docker bind mounts cannot express");
    const QStringView prefix = homePrefix(path);
    if (prefix.isEmpty()) {
        if (path.startsWith(u'~'))
            return quoted(path) + QStringLiteral(" names another user's home; only '~' is supported");
        if (!path.startsWith(u'/'))
            return quoted(path) + QStringLiteral(" is not an absolute path or one starting with ~ or $HOME");
    }
    if (auto reason = checkSegments(path))
        return reason;
    const QString rest = path.mid(prefix.size()).toString();
    const QString clean = rest.isEmpty() ? rest : QDir::cleanPath(rest);
    if (clean != rest)
        return quoted(path) + QStringLiteral(" is not in clean form; write '") + prefix.toString() + clean
               + u'\'';
    return std::nullopt;
}

std::optional<QString> checkSandboxPath(QStringView path)
{
    if (path.isEmpty())
        return QStringLiteral("a sandbox path cannot be empty");
    if (hasControlCharacters(path))
        return quoted(path) + QStringLiteral(" contains control characters");
    if (path.contains(u':') || path.contains(u','))
        return quoted(path) + QStringLiteral(" contains ':' or ',', which Docker mounts cannot express");
    if (!path.startsWith(u'/'))
        return quoted(path) + QStringLiteral(" is not an absolute path");
    if (auto reason = checkSegments(path))
        return reason;
    if (QDir::cleanPath(path.toString()) != path)
        return quoted(path) + QStringLiteral(" is not in clean form; write '")
               + QDir::cleanPath(path.toString()) + u'\'';
    if (path == u"/")
        return QStringLiteral("'/' cannot be replaced");
    const QString airlockDir = QString::fromLatin1(kSandboxAirlockDir);
    for (const QStringView reserved : {QStringView(u"/proc"), QStringView(u"/dev"), QStringView(airlockDir)}) {
        if (isSameOrUnder(path, reserved))
            return quoted(path) + QStringLiteral(" is inside ") + reserved.toString()
                   + QStringLiteral(", which the sandbox sets up itself");
    }
    return std::nullopt;
}

std::optional<QString> checkRelativePath(QStringView path)
{
    if (path.isEmpty())
        return QStringLiteral("a workspace path cannot be empty");
    if (hasControlCharacters(path))
        return quoted(path) + QStringLiteral(" contains control characters");
    if (path.contains(u':'))
        return quoted(path) + QStringLiteral(" contains ':', which Docker bind mounts cannot express");
    if (path.startsWith(u'/'))
        return quoted(path) + QStringLiteral(" must be relative to the workspace");
    for (const QStringView segment : path.split(u'/')) {
        if (segment.isEmpty() || segment == u"." || segment == u"..")
            return quoted(path) + QStringLiteral(" must be a plain relative path (no empty, '.' or '..' parts)");
    }
    return std::nullopt;
}

QString expandHostPath(const QString &path, const QString &home)
{
    const QStringView prefix = homePrefix(path);
    if (prefix.isEmpty() || home.isEmpty())
        return QDir::cleanPath(path);
    return QDir::cleanPath(home + QStringView(path).mid(prefix.size()));
}

QString homeRelativeForm(const QString &path)
{
    const QStringView prefix = homePrefix(path);
    if (prefix.isEmpty())
        return QDir::cleanPath(path);
    return QDir::cleanPath(u'~' + QStringView(path).mid(prefix.size()));
}

bool isSameOrUnder(QStringView path, QStringView parent)
{
    if (parent == u"/")
        return path.startsWith(u'/');
    return path == parent || (path.startsWith(parent) && path.size() > parent.size()
                              && path.at(parent.size()) == u'/');
}

std::optional<QString> checkEnvName(QStringView name)
{
    static const QRegularExpression valid(QStringLiteral("^[A-Za-z_][A-Za-z0-9_]{0,254}$"));
    if (!valid.match(name).hasMatch())
        return quoted(name) + QStringLiteral(" is not an environment variable name");
    return std::nullopt;
}

std::optional<QString> checkHeaderName(QStringView name)
{
    static const QRegularExpression token(QStringLiteral("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$"));
    if (!token.match(name).hasMatch())
        return quoted(name) + QStringLiteral(" is not an HTTP header name");
    return std::nullopt;
}

std::optional<QString> checkAuthScheme(QStringView scheme)
{
    static const QRegularExpression token(QStringLiteral("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$"));
    if (!token.match(scheme).hasMatch())
        return quoted(scheme) + QStringLiteral(" is not an authorization scheme (one word such as Bearer)");
    return std::nullopt;
}

QStringList knownCapabilities()
{
    return {
        QStringLiteral("AUDIT_CONTROL"), QStringLiteral("AUDIT_READ"), QStringLiteral("AUDIT_WRITE"),
        QStringLiteral("BLOCK_SUSPEND"), QStringLiteral("BPF"), QStringLiteral("CHECKPOINT_RESTORE"),
        QStringLiteral("CHOWN"), QStringLiteral("DAC_OVERRIDE"), QStringLiteral("DAC_READ_SEARCH"),
        QStringLiteral("FOWNER"), QStringLiteral("FSETID"), QStringLiteral("IPC_LOCK"),
        QStringLiteral("IPC_OWNER"), QStringLiteral("KILL"), QStringLiteral("LEASE"),
        QStringLiteral("LINUX_IMMUTABLE"), QStringLiteral("MAC_ADMIN"), QStringLiteral("MAC_OVERRIDE"),
        QStringLiteral("MKNOD"), QStringLiteral("NET_ADMIN"), QStringLiteral("NET_BIND_SERVICE"),
        QStringLiteral("NET_BROADCAST"), QStringLiteral("NET_RAW"), QStringLiteral("PERFMON"),
        QStringLiteral("SETFCAP"), QStringLiteral("SETGID"), QStringLiteral("SETPCAP"),
        QStringLiteral("SETUID"), QStringLiteral("SYSLOG"), QStringLiteral("SYS_ADMIN"),
        QStringLiteral("SYS_BOOT"), QStringLiteral("SYS_CHROOT"), QStringLiteral("SYS_MODULE"),
        QStringLiteral("SYS_NICE"), QStringLiteral("SYS_PACCT"), QStringLiteral("SYS_PTRACE"),
        QStringLiteral("SYS_RAWIO"), QStringLiteral("SYS_RESOURCE"), QStringLiteral("SYS_TIME"),
        QStringLiteral("SYS_TTY_CONFIG"), QStringLiteral("WAKE_ALARM"),
    };
}

std::optional<QString> checkCapability(QStringView name)
{
    if (knownCapabilities().contains(name))
        return std::nullopt;
    const QString upper = name.toString().toUpper();
    if (upper.startsWith(u"CAP_") && knownCapabilities().contains(upper.mid(4)))
        return quoted(name) + QStringLiteral(": write it without the CAP_ prefix, as '") + upper.mid(4) + u'\'';
    if (knownCapabilities().contains(upper))
        return quoted(name) + QStringLiteral(": capability names are uppercase, as '") + upper + u'\'';
    return quoted(name) + QStringLiteral(" is not a Linux capability");
}

std::optional<QString> checkImageReference(QStringView image)
{
    if (image.size() > 512)
        return QStringLiteral("the image reference is longer than 512 characters");
    for (const QChar c : image) {
        if (c.isSpace() || c.unicode() < 0x20 || c.unicode() == 0x7f)
            return quoted(image) + QStringLiteral(" is not an image reference: it contains spaces or control characters");
    }
    if (image.startsWith(u'-'))
        return quoted(image) + QStringLiteral(" is not an image reference: it starts with '-'");
    return std::nullopt;
}

std::optional<QString> checkPlainText(QStringView text, qsizetype maxLength)
{
    if (hasControlCharacters(text))
        return QStringLiteral("contains control characters");
    if (text.size() > maxLength)
        return QStringLiteral("is longer than %1 characters").arg(maxLength);
    return std::nullopt;
}

} // namespace airlock::policy
