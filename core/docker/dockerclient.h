#pragma once

#include "docker/dockerendpoint.h"
#include "docker/httpresponseparser.h"
#include "error.h"

#include <QFuture>
#include <QJsonArray>
#include <QLoggingCategory>
#include <QJsonObject>
#include <QMap>
#include <QObject>
#include <QPointer>

#include <deque>
#include <functional>
#include <memory>

// An asynchronous HTTP/1.1 client for the Docker Engine API (or podman's compatible one), over a unix
// socket or TCP with TLS. Every call returns at once; results come back on the thread the client
// lives in, as QFutures for the typed calls or callbacks for streams. The API version is negotiated
// with /_ping before the first versioned request, and idle keep-alive connections are reused.

Q_DECLARE_LOGGING_CATEGORY(lcDocker)

namespace airlock::docker {

class HttpConnection;

struct HttpRequest
{
    QByteArray method = "GET";
    QByteArray path;        // with its query, without the /vX.Y prefix
    bool versioned = true;  // prefix the negotiated API version
    QByteArray contentType; // with a body
    QByteArray body;
    int timeoutMs = 60000;  // the whole exchange; 0: none (streams, pulls, imports)
    qint64 maxBody = 64LL * 1024 * 1024; // buffered responses only
};

struct HttpResponse
{
    HttpResponseHead head;
    QByteArray body; // empty when the caller streamed it
    int status() const { return head.status; }
    bool ok() const { return head.status >= 200 && head.status < 300; }
};

// What a caller hands over with a request. When onData is set the body is streamed to it and not
// kept; callbacks stop the moment the context object is destroyed.
struct HttpHandlers
{
    std::function<void(const HttpResponseHead &)> onHead;
    std::function<void(QByteArrayView)> onData;
    std::function<void(const Result<HttpResponse> &)> onDone;
    // Set: the request asks the daemon to upgrade the connection (attach). A 101 answer calls it with
    // the first raw bytes; later ones go to onData, DockerClient::writeRaw() sends, and onDone comes
    // when the stream closes. The connection is never shared.
    std::function<void(QByteArrayView)> onUpgraded = {};
};

struct PingInfo
{
    QString apiVersion;    // what the daemon offers
    QString usedVersion;   // what this client speaks with it
    QString osType;
    bool podman = false;   // Libpod-API-Version header present
};

struct ContainerLogs
{
    QByteArray out;
    QByteArray err;
};

// One line of pull or import progress, as the daemon reports it.
struct ProgressLine
{
    QString id;       // the layer, when the line is about one
    QString status;   // "Downloading", "Pull complete" …
    qint64 current = 0;
    qint64 total = 0;
    QJsonObject raw;
};

class DockerClient : public QObject
{
    Q_OBJECT
public:
    // The oldest API this client can drive (AutoRemove and Init arrived in 1.25) and the newest it
    // asks for; a newer daemon speaks the older version happily.
    static constexpr int MinApiMinor = 25;
    static constexpr int MaxApiMinor = 41;

    explicit DockerClient(DockerEndpoint endpoint, QObject *parent = nullptr);
    ~DockerClient() override;

    // From DOCKER_HOST and friends; an unusable DOCKER_HOST is reported by the first call.
    static DockerClient *fromEnvironment(QObject *parent = nullptr);

    const DockerEndpoint &endpoint() const { return m_endpoint; }
    // An unusable DOCKER_HOST, reported by every call.
    const std::optional<Error> &endpointError() const { return m_endpointError; }
    // "1.41" once negotiated; empty before. DOCKER_API_VERSION fixes it and skips negotiation.
    QString apiVersion() const { return m_apiVersion; }
    bool apiAtLeast(int minor) const;
    void setConnectTimeout(int ms) { m_connectTimeoutMs = ms; }

    // The raw exchange; an id for cancel(). A reused connection that turns out to be closed before any
    // answer byte is retried once on a fresh one.
    quint64 send(const HttpRequest &request, QObject *context, HttpHandlers handlers);
    void cancel(quint64 id);
    // Bytes for an upgraded exchange's stream; false when it is not (or no longer) one.
    bool writeRaw(quint64 id, QByteArrayView bytes);
    int openConnections() const;

    // ---- typed calls (dockerapi.cpp) ----
    QFuture<Result<PingInfo>> ping();
    QFuture<Result<QJsonObject>> version();
    QFuture<Result<QJsonObject>> info();
    // filters as the API takes them: {"label": ["airlock.sandbox"], "status": ["running"]}
    QFuture<Result<QJsonArray>> listContainers(const QMap<QString, QStringList> &filters, bool all = true);
    QFuture<Result<QString>> createContainer(const QJsonObject &body, const QString &name);
    QFuture<Result<void>> startContainer(const QString &id);
    QFuture<Result<void>> stopContainer(const QString &id, int graceSeconds);
    QFuture<Result<void>> killContainer(const QString &id, const QString &signal = QStringLiteral("KILL"));
    // A container that is already gone counts as removed.
    QFuture<Result<void>> removeContainer(const QString &id, bool force = true);
    QFuture<Result<QJsonObject>> inspectContainer(const QString &id);
    // condition: not-running, next-exit or removed; the exit status
    QFuture<Result<qint64>> waitContainer(const QString &id, const QString &condition = QStringLiteral("not-running"));
    // One sample; one-shot where the daemon supports it (no one-second wait for a CPU delta).
    QFuture<Result<QJsonObject>> containerStats(const QString &id);
    QFuture<Result<ContainerLogs>> containerLogs(const QString &id, int tailLines = 50);
    QFuture<Result<QJsonArray>> listImages();
    QFuture<Result<QJsonObject>> inspectImage(const QString &name);
    // The image id; progress is called for each line the daemon sends.
    QFuture<Result<QString>> pullImage(const QString &reference, std::function<void(const ProgressLine &)> progress = {});
    QFuture<Result<QString>> importImage(const QByteArray &tar, const QString &repository, const QString &tag,
                                         const QStringList &changes = {},
                                         std::function<void(const ProgressLine &)> progress = {});

    // ---- volumes and archives (dockervolumeapi.cpp): remote daemons get files this way ----
    QFuture<Result<void>> createVolume(const QString &name, const QMap<QString, QString> &labels);
    // A volume that is already gone counts as removed.
    QFuture<Result<void>> removeVolume(const QString &name);
    // Unpacks a tar archive at `path` in the container (which need not run); into a volume mounted
    // read-write even when its root file system is read-only.
    QFuture<Result<void>> putArchive(const QString &container, const QString &path, const QByteArray &tar);
    // `path` in the container as a tar archive whose top entry is the path's last name; refused past
    // maxBytes.
    QFuture<Result<QByteArray>> getArchive(const QString &container, const QString &path, qint64 maxBytes);

    // ---- helpers for the calls ----
    static QByteArray percentEncode(const QString &text);
    static QByteArray filtersQuery(const QMap<QString, QStringList> &filters);
    // The daemon's {"message": …} as an Error for `what` ("create container airlock-x").
    static Error apiError(const HttpResponse &response, const QString &what);

private:
    struct Exchange;
    void startNegotiation();
    void dispatch(const std::shared_ptr<Exchange> &exchange);
    void runOn(HttpConnection *connection, const std::shared_ptr<Exchange> &exchange);
    void finishExchange(const std::shared_ptr<Exchange> &exchange, const Result<HttpResponse> &result);
    void connectionDone(HttpConnection *connection, bool reusable);
    QByteArray targetOf(const HttpRequest &request) const;
    template<typename T>
    QFuture<Result<T>> jsonCall(const HttpRequest &request, const QString &what,
                                std::function<Result<T>(const HttpResponse &)> convert);
    QFuture<Result<QString>> progressCall(const HttpRequest &request, const QString &what,
                                          std::function<void(const ProgressLine &)> progress);

    DockerEndpoint m_endpoint;
    std::optional<Error> m_endpointError;
    QString m_apiVersion;
    bool m_fixedVersion = false;
    bool m_negotiating = false;
    int m_connectTimeoutMs = 5000;
    quint64 m_lastId = 0;
    std::deque<std::shared_ptr<Exchange>> m_waiting; // for the version
    QList<HttpConnection *> m_idle;
    QHash<quint64, std::shared_ptr<Exchange>> m_active;
};

} // namespace airlock::docker

Q_DECLARE_METATYPE(airlock::docker::PingInfo)
