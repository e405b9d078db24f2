// The typed Engine API calls of DockerClient; the transport is in dockerclient.cpp.
#include "docker/dockerclient.h"
#include "docker/apicall.h"
#include "futures.h"

#include "docker/dockererrors.h"
#include "docker/streamframes.h"

#include <QJsonDocument>
#include <QPromise>

namespace airlock::docker {

using namespace detail;

namespace {

Result<QJsonObject> objectOf(const HttpResponse &response)
{
    const QJsonDocument doc = QJsonDocument::fromJson(response.body);
    if (!doc.isObject())
        return fail(ErrorCode::Io, QStringLiteral("the Docker daemon answered with something that is not a JSON object"));
    return doc.object();
}

Result<QJsonArray> arrayOf(const HttpResponse &response)
{
    const QJsonDocument doc = QJsonDocument::fromJson(response.body);
    if (!doc.isArray())
        return fail(ErrorCode::Io, QStringLiteral("the Docker daemon answered with something that is not a JSON array"));
    return doc.array();
}

QByteArray idPath(const char *prefix, const QString &id, const char *suffix = "")
{
    return QByteArray(prefix) + DockerClient::percentEncode(id) + suffix;
}

ProgressLine progressOf(const QJsonObject &line)
{
    ProgressLine p;
    p.raw = line;
    p.id = line.value(u"id").toString();
    p.status = line.value(u"status").toString();
    const QJsonObject detail = line.value(u"progressDetail").toObject();
    p.current = qint64(detail.value(u"current").toDouble());
    p.total = qint64(detail.value(u"total").toDouble());
    return p;
}

} // namespace

template<typename T>
QFuture<Result<T>> DockerClient::jsonCall(const HttpRequest &r, const QString &what,
                                          std::function<Result<T>(const HttpResponse &)> convert)
{
    auto promise = startedPromise<T>();
    send(r, this, HttpHandlers{{}, {}, [promise, what, convert](const Result<HttpResponse> &response) {
             if (!response)
                 settle<T>(*promise, std::unexpected(response.error()));
             else if (!response->ok())
                 settle<T>(*promise, std::unexpected(apiError(*response, what)));
             else
                 settle<T>(*promise, convert(*response));
         }});
    return promise->future();
}

QFuture<Result<PingInfo>> DockerClient::ping()
{
    HttpRequest r = request("GET", "/_ping", 15000);
    r.versioned = false;
    return jsonCall<PingInfo>(r, QStringLiteral("answer a ping"), [this](const HttpResponse &response) -> Result<PingInfo> {
        PingInfo info;
        info.apiVersion = QString::fromLatin1(response.head.header("API-Version"));
        info.osType = QString::fromLatin1(response.head.header("OSType"));
        info.podman = !response.head.header("Libpod-API-Version").isEmpty();
        if (m_apiVersion.isEmpty() && info.apiVersion.startsWith(QLatin1String("1."))) {
            const int minor = info.apiVersion.mid(2).toInt();
            if (minor >= MinApiMinor)
                m_apiVersion = QStringLiteral("1.%1").arg(std::min(minor, int(MaxApiMinor)));
        }
        info.usedVersion = m_apiVersion;
        return info;
    });
}

QFuture<Result<QJsonObject>> DockerClient::version()
{
    return jsonCall<QJsonObject>(request("GET", "/version"), QStringLiteral("report its version"), objectOf);
}

QFuture<Result<QJsonObject>> DockerClient::info()
{
    return jsonCall<QJsonObject>(request("GET", "/info"), QStringLiteral("describe itself"), objectOf);
}

QFuture<Result<QJsonArray>> DockerClient::listContainers(const QMap<QString, QStringList> &filters, bool all)
{
    QByteArray path = "/containers/json?all=" + QByteArray(all ? "1" : "0");
    if (!filters.isEmpty())
        path += "&filters=" + filtersQuery(filters);
    return jsonCall<QJsonArray>(request("GET", path), QStringLiteral("list containers"), arrayOf);
}

QFuture<Result<QString>> DockerClient::createContainer(const QJsonObject &body, const QString &name)
{
    HttpRequest r = request("POST", "/containers/create?name=" + percentEncode(name));
    r.contentType = "application/json";
    r.body = QJsonDocument(body).toJson(QJsonDocument::Compact);
    const QString image = body.value(u"Image").toString();
    auto promise = startedPromise<QString>();
    send(r, this, HttpHandlers{{}, {}, [promise, name, image](const Result<HttpResponse> &response) {
             if (!response)
                 return settle<QString>(*promise, std::unexpected(response.error()));
             if (response->status() == 404) {
                 const Error e = apiError(*response, QString());
                 if (e.message.contains(QLatin1String("image"), Qt::CaseInsensitive))
                     return settle<QString>(*promise, std::unexpected(imageMissing(image)));
             }
             if (!response->ok())
                 return settle<QString>(*promise, std::unexpected(apiError(*response, QStringLiteral("create container %1").arg(name))));
             auto object = objectOf(*response);
             if (!object)
                 return settle<QString>(*promise, std::unexpected(object.error()));
             const QString id = object->value(u"Id").toString();
             if (id.isEmpty())
                 return settle<QString>(*promise, fail(ErrorCode::Io, QStringLiteral("Docker created %1 but sent no id").arg(name)));
             settle<QString>(*promise, id);
         }});
    return promise->future();
}

QFuture<Result<void>> DockerClient::startContainer(const QString &id)
{
    auto promise = startedPromise<void>();
    send(request("POST", idPath("/containers/", id, "/start")), this,
         HttpHandlers{{}, {}, [promise, id](const Result<HttpResponse> &response) {
             if (!response)
                 return settle<void>(*promise, std::unexpected(response.error()));
             if (!response->ok() && response->status() != 304) // 304: already running
                 return settle<void>(*promise, std::unexpected(apiError(*response, QStringLiteral("start container %1").arg(id.left(12)))));
             settle<void>(*promise, {});
         }});
    return promise->future();
}

QFuture<Result<void>> DockerClient::stopContainer(const QString &id, int graceSeconds)
{
    auto promise = startedPromise<void>();
    const QByteArray path = idPath("/containers/", id, "/stop?t=") + QByteArray::number(std::max(0, graceSeconds));
    send(request("POST", path, (graceSeconds + 30) * 1000), this,
         HttpHandlers{{}, {}, [promise, id](const Result<HttpResponse> &response) {
             if (!response)
                 return settle<void>(*promise, std::unexpected(response.error()));
             // 304: already stopped; 404: AutoRemove took it away already
             if (!response->ok() && response->status() != 304 && response->status() != 404)
                 return settle<void>(*promise, std::unexpected(apiError(*response, QStringLiteral("stop container %1").arg(id.left(12)))));
             settle<void>(*promise, {});
         }});
    return promise->future();
}

QFuture<Result<void>> DockerClient::killContainer(const QString &id, const QString &signal)
{
    return jsonCall<void>(request("POST", idPath("/containers/", id, "/kill?signal=") + percentEncode(signal)),
                          QStringLiteral("kill container %1").arg(id.left(12)), [](const HttpResponse &) -> Result<void> { return {}; });
}

QFuture<Result<void>> DockerClient::removeContainer(const QString &id, bool force)
{
    auto promise = startedPromise<void>();
    const QByteArray path = idPath("/containers/", id, force ? "?force=1&v=1" : "?v=1");
    send(request("DELETE", path), this, HttpHandlers{{}, {}, [this, promise, id](const Result<HttpResponse> &response) {
             if (!response)
                 return settle<void>(*promise, std::unexpected(response.error()));
             if (response->status() == 409) {
                 // "removal already in progress": AutoRemove is on it; done when it is gone.
                 airlock::then(waitContainer(id, QStringLiteral("removed")), this, [promise](const Result<qint64> &) {
                     settle<void>(*promise, {});
                 });
                 return;
             }
             if (!response->ok() && response->status() != 404) // 404: gone already
                 return settle<void>(*promise, std::unexpected(apiError(*response, QStringLiteral("remove container %1").arg(id.left(12)))));
             settle<void>(*promise, {});
         }});
    return promise->future();
}

QFuture<Result<QJsonObject>> DockerClient::inspectContainer(const QString &id)
{
    return jsonCall<QJsonObject>(request("GET", idPath("/containers/", id, "/json")),
                                 QStringLiteral("inspect container %1").arg(id.left(12)), objectOf);
}

QFuture<Result<qint64>> DockerClient::waitContainer(const QString &id, const QString &condition)
{
    HttpRequest r = request("POST", idPath("/containers/", id, "/wait?condition=") + percentEncode(condition), 0);
    return jsonCall<qint64>(r, QStringLiteral("wait for container %1").arg(id.left(12)),
                            [](const HttpResponse &response) -> Result<qint64> {
                                auto object = objectOf(response);
                                if (!object)
                                    return std::unexpected(object.error());
                                return qint64(object->value(u"StatusCode").toDouble(-1));
                            });
}

QFuture<Result<QJsonObject>> DockerClient::containerStats(const QString &id)
{
    QByteArray path = idPath("/containers/", id, "/stats?stream=0");
    if (apiAtLeast(41))
        path += "&one-shot=1";
    return jsonCall<QJsonObject>(request("GET", path, 20000), QStringLiteral("report stats of %1").arg(id.left(12)), objectOf);
}

QFuture<Result<ContainerLogs>> DockerClient::containerLogs(const QString &id, int tailLines)
{
    const QByteArray path = idPath("/containers/", id, "/logs?stdout=1&stderr=1&tail=") + QByteArray::number(tailLines);
    return jsonCall<ContainerLogs>(request("GET", path, 15000), QStringLiteral("show the logs of %1").arg(id.left(12)),
                                   [](const HttpResponse &response) -> Result<ContainerLogs> {
                                       MultiplexDecoder decoder;
                                       decoder.feed(response.body);
                                       ContainerLogs logs;
                                       while (true) {
                                           auto frame = decoder.next();
                                           if (!frame)
                                               return std::unexpected(frame.error());
                                           if (!*frame)
                                               break;
                                           ((*frame)->stream == StreamKind::Stderr ? logs.err : logs.out) += (*frame)->data;
                                       }
                                       if (auto end = decoder.finish(); !end)
                                           return std::unexpected(end.error());
                                       return logs;
                                   });
}

QFuture<Result<QJsonArray>> DockerClient::listImages()
{
    return jsonCall<QJsonArray>(request("GET", "/images/json"), QStringLiteral("list images"), arrayOf);
}

QFuture<Result<QJsonObject>> DockerClient::inspectImage(const QString &name)
{
    auto promise = startedPromise<QJsonObject>();
    send(request("GET", idPath("/images/", name, "/json")), this,
         HttpHandlers{{}, {}, [promise, name](const Result<HttpResponse> &response) {
             if (!response)
                 return settle<QJsonObject>(*promise, std::unexpected(response.error()));
             if (response->status() == 404)
                 return settle<QJsonObject>(*promise, std::unexpected(imageMissing(name)));
             if (!response->ok())
                 return settle<QJsonObject>(*promise, std::unexpected(apiError(*response, QStringLiteral("inspect image %1").arg(name))));
             settle<QJsonObject>(*promise, objectOf(*response));
         }});
    return promise->future();
}

QFuture<Result<QString>> DockerClient::progressCall(const HttpRequest &r, const QString &what,
                                                    std::function<void(const ProgressLine &)> progress)
{
    struct State
    {
        JsonLineSplitter lines;
        int status = 0;
        QByteArray errorBody;
        QString last;
        std::optional<Error> error;
    };
    auto state = std::make_shared<State>();
    auto promise = startedPromise<QString>();
    const auto take = [state, progress, what](const QJsonObject &line) {
        if (line.contains(u"error") || line.contains(u"errorDetail")) {
            QString message = line.value(u"errorDetail").toObject().value(u"message").toString();
            if (message.isEmpty())
                message = line.value(u"error").toString();
            if (!state->error)
                state->error = Error{ErrorCode::Io, QStringLiteral("Docker could not %1: %2").arg(what, message)};
            return;
        }
        const ProgressLine p = progressOf(line);
        if (!p.status.isEmpty())
            state->last = p.status;
        if (progress)
            progress(p);
    };
    HttpHandlers handlers;
    handlers.onHead = [state](const HttpResponseHead &head) { state->status = head.status; };
    handlers.onData = [state, take](QByteArrayView bytes) {
        if (state->status < 200 || state->status >= 300) {
            if (state->errorBody.size() < 64 * 1024)
                state->errorBody.append(bytes.data(), bytes.size());
            return;
        }
        state->lines.feed(bytes);
        while (!state->error) {
            auto line = state->lines.next();
            if (!line) {
                state->error = line.error();
                break;
            }
            if (!*line)
                break;
            take(**line);
        }
    };
    handlers.onDone = [state, promise, what, take](const Result<HttpResponse> &response) {
        if (!response)
            return settle<QString>(*promise, std::unexpected(response.error()));
        if (state->status < 200 || state->status >= 300) {
            HttpResponse failed = *response;
            failed.body = state->errorBody;
            return settle<QString>(*promise, std::unexpected(apiError(failed, what)));
        }
        if (!state->error) {
            if (auto line = state->lines.finish(); !line)
                state->error = line.error();
            else if (*line)
                take(**line);
        }
        if (state->error)
            return settle<QString>(*promise, std::unexpected(*state->error));
        settle<QString>(*promise, state->last);
    };
    send(r, this, std::move(handlers));
    return promise->future();
}

QFuture<Result<QString>> DockerClient::pullImage(const QString &reference, std::function<void(const ProgressLine &)> progress)
{
    QString name = reference;
    QString tag = QStringLiteral("latest");
    const qsizetype colon = reference.lastIndexOf(u':');
    if (reference.contains(u'@')) {
        tag.clear(); // a digest names the image whole
    } else if (colon > reference.lastIndexOf(u'/')) {
        name = reference.left(colon);
        tag = reference.mid(colon + 1);
    }
    QByteArray path = "/images/create?fromImage=" + percentEncode(name);
    if (!tag.isEmpty())
        path += "&tag=" + percentEncode(tag);
    return progressCall(request("POST", path, 0), QStringLiteral("pull %1").arg(reference), std::move(progress));
}

QFuture<Result<QString>> DockerClient::importImage(const QByteArray &tar, const QString &repository, const QString &tag,
                                                   const QStringList &changes, std::function<void(const ProgressLine &)> progress)
{
    QByteArray path = "/images/create?fromSrc=-&repo=" + percentEncode(repository) + "&tag=" + percentEncode(tag);
    for (const QString &change : changes)
        path += "&changes=" + percentEncode(change);
    HttpRequest r = request("POST", path, 0);
    r.contentType = "application/x-tar";
    r.body = tar;
    return progressCall(r, QStringLiteral("import %1:%2").arg(repository, tag), std::move(progress));
}

} // namespace airlock::docker
