#pragma once

#include <QByteArray>
#include <QString>

namespace airlock::policy {

// A unified diff of two texts (libgit2's buffer diff), with `context` lines around each change.
// Empty when the texts are equal. Used to show a policy's changes against its saved version.
QString unifiedDiff(const QByteArray &before, const QByteArray &after, const QString &beforeName,
                    const QString &afterName, int context = 3);

} // namespace airlock::policy
