#pragma once

#include <QString>
#include <QStringList>

#include <optional>

// Checks for the plain values in a policy (paths, variable and header names, capabilities, images) and
// the path arithmetic the linter and compilers share. As in patterns.h, a check returns why a value is
// rejected, or nothing when it is acceptable.

namespace airlock::policy {

bool hasControlCharacters(QStringView text);

// Host paths in mounts: absolute, or `~`, `~/...`, `$HOME`, `$HOME/...`, `${HOME}/...`.
std::optional<QString> checkHostPath(QStringView path);
// Absolute paths inside the sandbox, outside the places Airlock itself owns.
std::optional<QString> checkSandboxPath(QStringView path);
// Workspace-relative paths (protected paths).
std::optional<QString> checkRelativePath(QStringView path);
// `~` and `$HOME` replaced by home, then cleaned. Without a home the path is only cleaned.
QString expandHostPath(const QString &path, const QString &home);
// The same path with a leading `$HOME`/`${HOME}` spelled `~`, cleaned: for comparing without a home.
QString homeRelativeForm(const QString &path);
// path equals parent or lies below it; both cleaned absolute paths.
bool isSameOrUnder(QStringView path, QStringView parent);

std::optional<QString> checkEnvName(QStringView name);
std::optional<QString> checkHeaderName(QStringView name);
// An authorization scheme put before a secret's value ("Bearer", "token"): 1-32 token characters.
std::optional<QString> checkAuthScheme(QStringView scheme);
std::optional<QString> checkCapability(QStringView name);
QStringList knownCapabilities();
std::optional<QString> checkImageReference(QStringView image);
// Free text that ends up in a label, header or item name: no control characters.
std::optional<QString> checkPlainText(QStringView text, qsizetype maxLength);

} // namespace airlock::policy
