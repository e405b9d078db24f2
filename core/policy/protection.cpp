#include "policy/protection.h"

#include <QDir>

namespace airlock::policy {

protect::ProtectedNames protectedNames(const Filesystem &fs)
{
    std::vector<std::string> additions;
    for (const QString &p : fs.protectedPaths)
        additions.push_back(p.toStdString());
    return protect::ProtectedNames(additions);
}

QString protectedMatch(const protect::ProtectedNames &names, const QString &relative)
{
    return QString::fromStdString(names.match(relative.toStdString()));
}

QString workspaceRelative(const QString &workspace, const QString &path)
{
    const QString root = QDir::cleanPath(workspace);
    const QString clean = QDir::cleanPath(QDir::isAbsolutePath(path) ? path : root + u'/' + path);
    if (clean == root)
        return QStringLiteral("");
    if (clean.startsWith(root + u'/'))
        return clean.mid(root.size() + 1);
    return {};
}

QString protectedRefusal(const QString &path, const QString &pattern)
{
    return QStringLiteral("%1 is protected (%2): tools on the host run or load it, so the sandbox may not "
                          "create, change, move or delete it; change it yourself outside the sandbox")
        .arg(path, pattern);
}

} // namespace airlock::policy
