#pragma once

#include "docker/dockerendpoint.h"
#include "error.h"

#include <QAbstractSocket>
#include <QLocalSocket>

// The failures a Docker user meets, each said with what to do about it. The messages are the API:
// the CLI prints them as they are and the GUI shows them in the sandbox's row.

namespace airlock::docker {

// dockerd or podman is on this machine.
bool dockerInstalled();

// Not installed, not running (no socket, or nobody behind it), permission denied.
Error unixSocketError(const QString &socketPath, QLocalSocket::LocalSocketError error, const QString &detail);
Error tcpSocketError(const DockerEndpoint &endpoint, QAbstractSocket::SocketError error, const QString &detail);

Error imageMissing(const QString &image);
Error oomKilled(const QString &sandbox, std::optional<qint64> memoryLimit);
Error containerExited(const QString &sandbox, qint64 status, const QString &logTail);
Error containerGone(const QString &sandbox);

// "2.0 GiB"
QString formatBytes(qint64 bytes);

} // namespace airlock::docker
