#include "docker/dockerclient.h"

#include "docker/httpconnection.h"

#include <QJsonDocument>
#include <QLoggingCategory>
#include <QTimer>

Q_LOGGING_CATEGORY(lcDocker, "airlock.docker", QtWarningMsg)

namespace airlock::docker {

namespace {

constexpr int kMaxIdleConnections = 4;

// "1.41" → 41; anything else → -1
int apiMinor(QStringView version)
{
    if (!version.startsWith(u"1."))
        return -1;
    bool ok = false;
    const int minor = version.mid(2).toInt(&ok);
    return ok ? minor : -1;
}

} // namespace

struct DockerClient::Exchange
{
    quint64 id = 0;
    HttpRequest request;
    QPointer<QObject> context;
    bool hasContext = false;
    HttpHandlers handlers;
    HttpConnection *connection = nullptr;
    QTimer *timer = nullptr;
    bool retried = false;
    bool done = false;

    bool contextGone() const { return hasContext && !context; }
};

DockerClient::DockerClient(DockerEndpoint endpoint, QObject *parent) : QObject(parent), m_endpoint(std::move(endpoint))
{
    const QString fixed = qEnvironmentVariable("DOCKER_API_VERSION");
    if (apiMinor(fixed) >= MinApiMinor) {
        m_apiVersion = fixed;
        m_fixedVersion = true;
    }
}

DockerClient::~DockerClient()
{
    // Nobody hears about the calls still in flight: their contexts are going away with us.
    for (const auto &exchange : std::as_const(m_active))
        exchange->done = true;
    m_active.clear();
    m_waiting.clear();
}

DockerClient *DockerClient::fromEnvironment(QObject *parent)
{
    auto endpoint = DockerEndpoint::fromEnvironment();
    auto *client = new DockerClient(endpoint.value_or(DockerEndpoint{}), parent);
    if (!endpoint)
        client->m_endpointError = endpoint.error();
    return client;
}

bool DockerClient::apiAtLeast(int minor) const
{
    return apiMinor(m_apiVersion) >= minor;
}

int DockerClient::openConnections() const
{
    int busy = 0;
    for (const auto &exchange : m_active) {
        if (exchange->connection)
            ++busy;
    }
    return busy + int(m_idle.size());
}

QByteArray DockerClient::targetOf(const HttpRequest &request) const
{
    if (!request.versioned)
        return request.path;
    return "/v" + m_apiVersion.toLatin1() + request.path;
}

quint64 DockerClient::send(const HttpRequest &request, QObject *context, HttpHandlers handlers)
{
    auto exchange = std::make_shared<Exchange>();
    exchange->id = ++m_lastId;
    exchange->request = request;
    exchange->context = context;
    exchange->hasContext = context != nullptr;
    exchange->handlers = std::move(handlers);
    m_active.insert(exchange->id, exchange);

    if (m_endpointError) {
        const Error error = *m_endpointError;
        QTimer::singleShot(0, this, [this, exchange, error] { finishExchange(exchange, std::unexpected(error)); });
        return exchange->id;
    }
    if (request.timeoutMs > 0) {
        exchange->timer = new QTimer(this);
        exchange->timer->setSingleShot(true);
        connect(exchange->timer, &QTimer::timeout, this, [this, exchange] {
            if (exchange->connection) {
                exchange->connection->abort();
                exchange->connection->deleteLater();
                exchange->connection = nullptr;
            }
            std::erase(m_waiting, exchange);
            finishExchange(exchange, fail(ErrorCode::Io, QStringLiteral("the Docker daemon at %1 did not answer %2 %3 "
                                                                        "within %4 s")
                                                             .arg(m_endpoint.display(),
                                                                  QString::fromLatin1(exchange->request.method),
                                                                  QString::fromLatin1(exchange->request.path.left(80)))
                                                             .arg(exchange->request.timeoutMs / 1000.0)));
        });
        exchange->timer->start(request.timeoutMs);
    }
    if (request.versioned && m_apiVersion.isEmpty()) {
        m_waiting.push_back(exchange);
        startNegotiation();
    } else {
        dispatch(exchange);
    }
    return exchange->id;
}

void DockerClient::cancel(quint64 id)
{
    const auto exchange = m_active.value(id);
    if (!exchange)
        return;
    if (exchange->connection) {
        exchange->connection->abort();
        exchange->connection->deleteLater();
        exchange->connection = nullptr;
    }
    std::erase(m_waiting, exchange);
    finishExchange(exchange, fail(ErrorCode::Cancelled, QStringLiteral("the Docker request was cancelled")));
}

bool DockerClient::writeRaw(quint64 id, QByteArrayView bytes)
{
    const auto exchange = m_active.value(id);
    if (!exchange || !exchange->connection || !exchange->connection->isUpgraded())
        return false;
    exchange->connection->writeRaw(bytes);
    return true;
}

void DockerClient::startNegotiation()
{
    if (m_negotiating)
        return;
    m_negotiating = true;
    HttpRequest ping;
    ping.path = "/_ping";
    ping.versioned = false;
    ping.timeoutMs = 15000;
    send(ping, this, {.onHead = {}, .onData = {}, .onDone = [this](const Result<HttpResponse> &response) {
        m_negotiating = false;
        std::optional<Error> error;
        if (!response) {
            error = response.error();
        } else if (!response->ok()) {
            error = apiError(*response, QStringLiteral("ping"));
        } else {
            const QString offered = QString::fromLatin1(response->head.header("API-Version"));
            const int minor = offered.isEmpty() ? MinApiMinor : apiMinor(offered);
            if (minor < MinApiMinor) {
                error = Error{ErrorCode::Io, QStringLiteral("the Docker daemon at %1 speaks API %2; Airlock needs 1.%3 "
                                                            "or newer (Docker 1.13 or later)")
                                                 .arg(m_endpoint.display(), offered)
                                                 .arg(MinApiMinor)};
            } else if (m_apiVersion.isEmpty()) {
                m_apiVersion = QStringLiteral("1.%1").arg(std::min(minor, int(MaxApiMinor)));
                qCDebug(lcDocker) << "negotiated API" << m_apiVersion << "with" << m_endpoint.display();
            }
        }
        auto waiting = std::exchange(m_waiting, {});
        for (const auto &exchange : waiting) {
            if (error)
                finishExchange(exchange, std::unexpected(*error));
            else
                dispatch(exchange);
        }
    }});
}

void DockerClient::dispatch(const std::shared_ptr<Exchange> &exchange)
{
    if (exchange->done)
        return;
    HttpConnection *connection = nullptr;
    while (!m_idle.isEmpty() && !connection) {
        HttpConnection *candidate = m_idle.takeLast();
        if (candidate->isConnected())
            connection = candidate;
        else
            candidate->deleteLater();
    }
    if (!connection || exchange->retried || exchange->handlers.onUpgraded)
        connection = new HttpConnection(m_endpoint, this);
    runOn(connection, exchange);
}

void DockerClient::runOn(HttpConnection *connection, const std::shared_ptr<Exchange> &exchange)
{
    exchange->connection = connection;
    connection->onIdleClosed = nullptr;
    connection->onHead = [exchange](const HttpResponseHead &head) {
        if (!exchange->contextGone() && exchange->handlers.onHead)
            exchange->handlers.onHead(head);
    };
    if (exchange->handlers.onData) {
        connection->onData = [exchange](QByteArrayView bytes) {
            if (!exchange->contextGone() && !exchange->done)
                exchange->handlers.onData(bytes);
        };
    } else {
        connection->onData = nullptr;
    }
    if (exchange->handlers.onUpgraded) {
        connection->onUpgraded = [exchange](QByteArrayView bytes) {
            if (!exchange->contextGone() && !exchange->done)
                exchange->handlers.onUpgraded(bytes);
        };
    } else {
        connection->onUpgraded = nullptr;
    }
    connection->onDone = [this, connection, exchange](const Result<HttpResponse> &result, HttpConnection::Outcome outcome) {
        exchange->connection = nullptr;
        // A kept-alive connection the daemon had quietly closed: the request never reached it.
        if (!result && outcome.nothingReceived && connection->exchanges() > 1 && !exchange->retried && !exchange->done) {
            exchange->retried = true;
            connectionDone(connection, false);
            dispatch(exchange);
            return;
        }
        connectionDone(connection, outcome.reusable);
        finishExchange(exchange, result);
    };

    const HttpRequest &r = exchange->request;
    QByteArray bytes;
    bytes.reserve(256 + r.body.size());
    bytes += r.method + ' ' + targetOf(r) + " HTTP/1.1\r\nHost: " + m_endpoint.hostHeader()
        + "\r\nUser-Agent: airlock/" AIRLOCK_VERSION "\r\n";
    if (!r.contentType.isEmpty())
        bytes += "Content-Type: " + r.contentType + "\r\n";
    if (exchange->handlers.onUpgraded)
        bytes += "Connection: Upgrade\r\nUpgrade: tcp\r\n";
    if (!r.body.isEmpty() || r.method == "POST" || r.method == "PUT")
        bytes += "Content-Length: " + QByteArray::number(r.body.size()) + "\r\n";
    bytes += "\r\n";
    bytes += r.body;
    connection->start(bytes, r.method == "HEAD", r.maxBody, m_connectTimeoutMs);
}

void DockerClient::connectionDone(HttpConnection *connection, bool reusable)
{
    connection->onHead = nullptr;
    connection->onData = nullptr;
    connection->onDone = nullptr;
    connection->onUpgraded = nullptr;
    if (!reusable || m_idle.size() >= kMaxIdleConnections) {
        connection->abort();
        connection->deleteLater();
        return;
    }
    connection->onIdleClosed = [this, connection] {
        m_idle.removeAll(connection);
        connection->deleteLater();
    };
    m_idle.append(connection);
}

void DockerClient::finishExchange(const std::shared_ptr<Exchange> &exchange, const Result<HttpResponse> &result)
{
    if (exchange->done)
        return;
    exchange->done = true;
    if (exchange->timer) {
        exchange->timer->stop();
        exchange->timer->deleteLater();
        exchange->timer = nullptr;
    }
    m_active.remove(exchange->id);
    if (exchange->contextGone() || !exchange->handlers.onDone)
        return;
    exchange->handlers.onDone(result);
}

QByteArray DockerClient::percentEncode(const QString &text)
{
    return text.toUtf8().toPercentEncoding();
}

QByteArray DockerClient::filtersQuery(const QMap<QString, QStringList> &filters)
{
    QJsonObject object;
    for (auto it = filters.constBegin(); it != filters.constEnd(); ++it)
        object.insert(it.key(), QJsonArray::fromStringList(it.value()));
    return QJsonDocument(object).toJson(QJsonDocument::Compact).toPercentEncoding();
}

Error DockerClient::apiError(const HttpResponse &response, const QString &what)
{
    QString message;
    const QJsonDocument doc = QJsonDocument::fromJson(response.body.left(64 * 1024));
    if (doc.isObject())
        message = doc.object().value(u"message").toString();
    if (message.isEmpty())
        message = QString::fromUtf8(response.body.left(300)).trimmed();
    if (message.isEmpty())
        message = QStringLiteral("HTTP %1 %2").arg(response.status()).arg(QString::fromLatin1(response.head.reason));
    ErrorCode code = ErrorCode::Io;
    if (response.status() == 404)
        code = ErrorCode::NotFound;
    else if (response.status() == 400 || response.status() == 409)
        code = ErrorCode::InvalidArgument;
    return Error{code, QStringLiteral("Docker refused to %1: %2").arg(what, message)};
}

} // namespace airlock::docker
