#pragma once

#include "error.h"

#include <QProcessEnvironment>
#include <QString>

// Where the Docker daemon listens, as DOCKER_HOST and the docker CLI's TLS variables say.

namespace airlock::docker {

inline constexpr char kDefaultDockerSocket[] = "/var/run/docker.sock";

struct DockerEndpoint
{
    enum class Kind { Unix, Tcp, Ssh };
    Kind kind = Kind::Unix;
    QString socketPath = QString::fromLatin1(kDefaultDockerSocket); // unix
    QString host;                                                    // tcp
    quint16 port = 0;
    bool tls = false;
    bool verifyPeer = true; // DOCKER_TLS_VERIFY: check the daemon's certificate against ca.pem
    QString certPath;       // folder with ca.pem, cert.pem and key.pem
    QString user;           // ssh: the login, empty: ssh's own choice
    // ssh: options put before the host (AIRLOCK_DOCKER_SSH_OPTS, split at blanks), e.g. -F a config file
    QStringList sshOptions;

    // ssh: the command that reaches the daemon, as `docker -H ssh://…` runs it: `ssh … HOST docker
    // system dial-stdio`, whose stdin and stdout are the daemon's API.
    QStringList sshArguments() const;

    // unix:///var/run/docker.sock, tcp://host:2376 (tls), ssh://user@host:22
    QString display() const;
    // The Host header for requests; Docker ignores it on a socket, but HTTP/1.1 requires one.
    QByteArray hostHeader() const;

    // DOCKER_HOST (default unix:///var/run/docker.sock), DOCKER_TLS_VERIFY, DOCKER_TLS, DOCKER_CERT_PATH
    // (default ~/.docker), AIRLOCK_DOCKER_SSH_OPTS. tcp:// takes port 2376 with TLS and 2375 without
    // when none is given; ssh:// takes ssh's own default.
    static Result<DockerEndpoint> fromEnvironment(const QProcessEnvironment &env = QProcessEnvironment::systemEnvironment());
    static Result<DockerEndpoint> parse(const QString &dockerHost, bool tls = false, bool verify = false,
                                        const QString &certPath = {});
};

} // namespace airlock::docker
