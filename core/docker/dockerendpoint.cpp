#include "docker/dockerendpoint.h"

#include <QDir>
#include <QUrl>

namespace airlock::docker {

QString DockerEndpoint::display() const
{
    if (kind == Kind::Unix)
        return QStringLiteral("unix://") + socketPath;
    if (kind == Kind::Ssh)
        return QStringLiteral("ssh://%1%2%3").arg(user.isEmpty() ? QString() : user + u'@', host,
                                                  port ? QStringLiteral(":%1").arg(port) : QString());
    return QStringLiteral("tcp://%1:%2%3").arg(host).arg(port).arg(tls ? QStringLiteral(" (tls)") : QString());
}

QStringList DockerEndpoint::sshArguments() const
{
    // BatchMode: a password or passphrase prompt would wait for a terminal nobody sees.
    QStringList args{QStringLiteral("-o"), QStringLiteral("BatchMode=yes"), QStringLiteral("-o"), QStringLiteral("ConnectTimeout=15")};
    args << sshOptions;
    if (port)
        args << QStringLiteral("-p") << QString::number(port);
    if (!user.isEmpty())
        args << QStringLiteral("-l") << user;
    args << QStringLiteral("--") << host << QStringLiteral("docker") << QStringLiteral("system") << QStringLiteral("dial-stdio");
    return args;
}

QByteArray DockerEndpoint::hostHeader() const
{
    if (kind == Kind::Unix || kind == Kind::Ssh)
        return QByteArrayLiteral("docker");
    const QByteArray name = host.contains(u':') ? '[' + host.toLatin1() + ']' : host.toLatin1();
    return name + ':' + QByteArray::number(port);
}

Result<DockerEndpoint> DockerEndpoint::parse(const QString &dockerHost, bool tls, bool verify, const QString &certPath)
{
    const QString spec = dockerHost.trimmed();
    DockerEndpoint e;
    e.tls = tls || verify;
    e.verifyPeer = verify;
    e.certPath = certPath;
    if (spec.isEmpty())
        return e;
    const auto bad = [&spec](const QString &why) {
        return fail(ErrorCode::InvalidArgument, QStringLiteral("DOCKER_HOST=%1: %2").arg(spec, why));
    };
    if (spec.startsWith(QLatin1String("unix://"))) {
        e.kind = Kind::Unix;
        e.socketPath = spec.mid(7);
        if (!e.socketPath.startsWith(u'/'))
            return bad(QStringLiteral("a unix socket path must be absolute (unix:///var/run/docker.sock)"));
        return e;
    }
    if (spec.startsWith(QLatin1String("tcp://"))) {
        const QUrl url(spec, QUrl::StrictMode);
        if (!url.isValid() || url.host().isEmpty())
            return bad(QStringLiteral("not a host and port (tcp://HOST:PORT)"));
        if (!url.path().isEmpty() && url.path() != QLatin1String("/"))
            return bad(QStringLiteral("a path after the port is not supported"));
        e.kind = Kind::Tcp;
        e.host = url.host();
        const int port = url.port(e.tls ? 2376 : 2375);
        if (port <= 0 || port > 65535)
            return bad(QStringLiteral("the port must be 1 to 65535"));
        e.port = quint16(port);
        return e;
    }
    if (spec.startsWith(u'/'))
        return parse(QStringLiteral("unix://") + spec, tls, verify, certPath);
    if (spec.startsWith(QLatin1String("ssh://"))) {
        const QUrl url(spec, QUrl::StrictMode);
        if (!url.isValid() || url.host().isEmpty() || url.host().startsWith(u'-') || url.userName().startsWith(u'-'))
            return bad(QStringLiteral("not a host (ssh://[USER@]HOST[:PORT])"));
        if (!url.path().isEmpty() && url.path() != QLatin1String("/"))
            return bad(QStringLiteral("a path after the host is not supported"));
        e.kind = Kind::Ssh;
        e.host = url.host();
        e.user = url.userName();
        const int port = url.port(0);
        if (port < 0 || port > 65535)
            return bad(QStringLiteral("the port must be 1 to 65535"));
        e.port = quint16(port);
        e.tls = false;
        return e;
    }
    if (spec.startsWith(QLatin1String("npipe://")) || spec.startsWith(QLatin1String("fd://")))
        return bad(QStringLiteral("only unix://, tcp:// and ssh:// are supported"));
    return bad(QStringLiteral("unknown scheme; use unix:///path, tcp://host:port or ssh://user@host"));
}

Result<DockerEndpoint> DockerEndpoint::fromEnvironment(const QProcessEnvironment &env)
{
    const bool verify = !env.value(QStringLiteral("DOCKER_TLS_VERIFY")).isEmpty();
    const bool tls = !env.value(QStringLiteral("DOCKER_TLS")).isEmpty();
    QString certs = env.value(QStringLiteral("DOCKER_CERT_PATH"));
    if (certs.isEmpty())
        certs = QDir::homePath() + QStringLiteral("/.docker");
    auto endpoint = parse(env.value(QStringLiteral("DOCKER_HOST")), tls, verify, certs);
    if (endpoint && endpoint->kind == DockerEndpoint::Kind::Ssh)
        endpoint->sshOptions = env.value(QStringLiteral("AIRLOCK_DOCKER_SSH_OPTS")).split(u' ', Qt::SkipEmptyParts);
    return endpoint;
}

} // namespace airlock::docker
