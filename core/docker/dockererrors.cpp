#include "docker/dockererrors.h"

#include <QFileInfo>
#include <QStandardPaths>

namespace airlock::docker {

namespace {

const QString kInstallHint = QStringLiteral(
    "Install it with 'sudo apt install docker.io' (or run packaging/ensure-dockerd.sh, which also starts it).");
const QString kStartHint = QStringLiteral(
    "Start it with 'sudo systemctl start docker' (or run packaging/ensure-dockerd.sh), or point DOCKER_HOST "
    "at a running daemon.");

} // namespace

bool dockerInstalled()
{
    const QStringList extra{QStringLiteral("/usr/sbin"), QStringLiteral("/usr/bin"), QStringLiteral("/usr/local/bin")};
    for (const char *name : {"dockerd", "podman"}) {
        const QString program = QString::fromLatin1(name);
        if (!QStandardPaths::findExecutable(program).isEmpty()
            || !QStandardPaths::findExecutable(program, extra).isEmpty())
            return true;
    }
    return false;
}

QString formatBytes(qint64 bytes)
{
    constexpr const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = double(bytes);
    int unit = 0;
    while (value >= 1024.0 && unit < 4) {
        value /= 1024.0;
        ++unit;
    }
    return unit == 0 ? QStringLiteral("%1 B").arg(bytes)
                     : QStringLiteral("%1 %2").arg(value, 0, 'f', 1).arg(QLatin1StringView(units[unit]));
}

Error unixSocketError(const QString &socketPath, QLocalSocket::LocalSocketError error, const QString &detail)
{
    const QFileInfo socket(socketPath);
    switch (error) {
    case QLocalSocket::SocketAccessError:
        return Error{ErrorCode::Io,
                     QStringLiteral("permission denied on the Docker socket %1. Add your user to the 'docker' group "
                                    "('sudo usermod -aG docker $USER', then log in again) or set DOCKER_HOST to a "
                                    "daemon you may use. Note that the docker group is as powerful as root.")
                         .arg(socketPath)};
    case QLocalSocket::ServerNotFoundError:
    case QLocalSocket::ConnectionRefusedError:
        if (!socket.exists() && !dockerInstalled())
            return Error{ErrorCode::Io,
                         QStringLiteral("Docker is not installed on this machine (no dockerd, no podman, nothing at "
                                        "%1). ")
                                 .arg(socketPath)
                             + kInstallHint};
        if (!socket.exists())
            return Error{ErrorCode::Io,
                         QStringLiteral("the Docker daemon is not running (nothing at %1). ").arg(socketPath) + kStartHint};
        return Error{ErrorCode::Io,
                     QStringLiteral("the Docker daemon is not running (%1 exists but nobody answers on it). ")
                             .arg(socketPath)
                         + kStartHint};
    case QLocalSocket::SocketTimeoutError:
        return Error{ErrorCode::Io,
                     QStringLiteral("the Docker daemon at %1 did not accept a connection in time; it may be starting "
                                    "or overloaded. Try again, or check 'systemctl status docker'.")
                         .arg(socketPath)};
    default:
        break;
    }
    return Error{ErrorCode::Io, QStringLiteral("cannot talk to the Docker daemon at %1: %2").arg(socketPath, detail)};
}

Error tcpSocketError(const DockerEndpoint &endpoint, QAbstractSocket::SocketError error, const QString &detail)
{
    const QString where = endpoint.display();
    switch (error) {
    case QAbstractSocket::ConnectionRefusedError:
        return Error{ErrorCode::Io, QStringLiteral("nothing listens at %1 (connection refused): the Docker daemon there "
                                                   "is not running, or DOCKER_HOST names the wrong port.")
                                        .arg(where)};
    case QAbstractSocket::HostNotFoundError:
        return Error{ErrorCode::Io, QStringLiteral("the Docker host in DOCKER_HOST (%1) cannot be resolved: %2").arg(where, detail)};
    case QAbstractSocket::SocketTimeoutError:
        return Error{ErrorCode::Io, QStringLiteral("the Docker daemon at %1 did not answer in time: %2").arg(where, detail)};
    case QAbstractSocket::SslHandshakeFailedError:
    case QAbstractSocket::SslInternalError:
    case QAbstractSocket::SslInvalidUserDataError:
        return Error{ErrorCode::Io,
                     QStringLiteral("the TLS handshake with the Docker daemon at %1 failed: %2. Check DOCKER_CERT_PATH "
                                    "(%3: ca.pem, cert.pem, key.pem) and DOCKER_TLS_VERIFY.")
                         .arg(where, detail, endpoint.certPath)};
    default:
        break;
    }
    return Error{ErrorCode::Io, QStringLiteral("cannot talk to the Docker daemon at %1: %2").arg(where, detail)};
}

Error imageMissing(const QString &image)
{
    return Error{ErrorCode::NotFound,
                 QStringLiteral("the image '%1' is not on this Docker host. Build the offline base image with "
                                "'airlockctl image build-base', pull it with 'airlockctl image pull %1' when a "
                                "registry is reachable, or set runtime.image in the policy to one 'airlockctl image "
                                "list' shows.")
                     .arg(image)};
}

Error oomKilled(const QString &sandbox, std::optional<qint64> memoryLimit)
{
    const QString limit = memoryLimit ? QStringLiteral(" of %1").arg(formatBytes(*memoryLimit)) : QString();
    return Error{ErrorCode::Io, QStringLiteral("sandbox %1 was killed because it ran out of memory (the policy's limit%2). "
                                               "Raise resources.memoryBytes in the policy or make the work smaller.")
                                    .arg(sandbox, limit)};
}

Error containerExited(const QString &sandbox, qint64 status, const QString &logTail)
{
    QString message = QStringLiteral("the container of sandbox %1 exited with status %2").arg(sandbox).arg(status);
    if (status == 137)
        message += QStringLiteral(" (killed with SIGKILL)");
    else if (status == 143)
        message += QStringLiteral(" (stopped with SIGTERM)");
    if (!logTail.trimmed().isEmpty())
        message += QStringLiteral("; its last output: ") + logTail.trimmed().right(600);
    return Error{ErrorCode::Io, message};
}

Error containerGone(const QString &sandbox)
{
    return Error{ErrorCode::NotFound, QStringLiteral("the container of sandbox %1 is gone (removed outside Airlock?)").arg(sandbox)};
}

} // namespace airlock::docker
