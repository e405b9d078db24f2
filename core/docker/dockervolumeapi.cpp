// Volumes and archives of the Engine API: how a daemon on another machine gets the workspace, the
// shim and read-only mounts, and gives the workspace back.
#include "docker/dockerclient.h"
#include "docker/apicall.h"

#include <QJsonDocument>
#include <QPromise>

namespace airlock::docker {

using namespace detail;

namespace {

// Copies are as slow as the link to the daemon; a minute per 64 MiB, never under two.
int copyTimeoutMs(qint64 bytes)
{
    return int(std::min<qint64>(3600000, 120000 + bytes / (64 * 1024 * 1024) * 60000));
}

} // namespace

QFuture<Result<void>> DockerClient::createVolume(const QString &name, const QMap<QString, QString> &labels)
{
    QJsonObject labelObject;
    for (auto it = labels.constBegin(); it != labels.constEnd(); ++it)
        labelObject.insert(it.key(), it.value());
    HttpRequest r = request("POST", "/volumes/create", 60000);
    r.contentType = "application/json";
    r.body = QJsonDocument(QJsonObject{{QStringLiteral("Name"), name}, {QStringLiteral("Labels"), labelObject}})
                 .toJson(QJsonDocument::Compact);
    auto promise = startedPromise<void>();
    send(r, this, HttpHandlers{{}, {}, [promise, name](const Result<HttpResponse> &response) {
             if (!response)
                 return settle<void>(*promise, std::unexpected(response.error()));
             if (!response->ok())
                 return settle<void>(*promise, std::unexpected(apiError(*response, QStringLiteral("create volume %1").arg(name))));
             settle<void>(*promise, {});
         }, {}});
    return promise->future();
}

QFuture<Result<void>> DockerClient::removeVolume(const QString &name)
{
    auto promise = startedPromise<void>();
    send(request("DELETE", "/volumes/" + percentEncode(name) + "?force=1", 60000), this,
         HttpHandlers{{}, {}, [promise, name](const Result<HttpResponse> &response) {
             if (!response)
                 return settle<void>(*promise, std::unexpected(response.error()));
             if (!response->ok() && response->status() != 404)
                 return settle<void>(*promise, std::unexpected(apiError(*response, QStringLiteral("remove volume %1").arg(name))));
             settle<void>(*promise, {});
         }, {}});
    return promise->future();
}

QFuture<Result<void>> DockerClient::putArchive(const QString &container, const QString &path, const QByteArray &tar)
{
    HttpRequest r = request("PUT", "/containers/" + percentEncode(container) + "/archive?path=" + percentEncode(path),
                            copyTimeoutMs(tar.size()));
    r.contentType = "application/x-tar";
    r.body = tar;
    auto promise = startedPromise<void>();
    send(r, this, HttpHandlers{{}, {}, [promise, path](const Result<HttpResponse> &response) {
             if (!response)
                 return settle<void>(*promise, std::unexpected(response.error()));
             if (!response->ok())
                 return settle<void>(*promise, std::unexpected(apiError(*response, QStringLiteral("copy files to %1").arg(path))));
             settle<void>(*promise, {});
         }, {}});
    return promise->future();
}

QFuture<Result<QByteArray>> DockerClient::getArchive(const QString &container, const QString &path, qint64 maxBytes)
{
    HttpRequest r = request("GET", "/containers/" + percentEncode(container) + "/archive?path=" + percentEncode(path),
                            copyTimeoutMs(maxBytes));
    r.maxBody = maxBytes;
    auto promise = startedPromise<QByteArray>();
    send(r, this, HttpHandlers{{}, {}, [promise, path](const Result<HttpResponse> &response) {
             if (!response)
                 return settle<QByteArray>(*promise, std::unexpected(response.error()));
             if (!response->ok())
                 return settle<QByteArray>(*promise, std::unexpected(apiError(*response, QStringLiteral("copy %1 out").arg(path))));
             settle<QByteArray>(*promise, response->body);
         }, {}});
    return promise->future();
}

} // namespace airlock::docker
