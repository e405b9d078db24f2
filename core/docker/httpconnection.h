#pragma once

#include "docker/dockerendpoint.h"
#include "docker/httpresponseparser.h"
#include "error.h"

#include <QByteArray>
#include <QObject>

#include <functional>

class QIODevice;
class QLocalSocket;
class QSslSocket;
class QTimer;

// One connection to the daemon, carrying one exchange at a time. Internal to DockerClient.

namespace airlock::docker {

struct HttpResponse;

class HttpConnection : public QObject
{
    Q_OBJECT
public:
    HttpConnection(const DockerEndpoint &endpoint, QObject *parent = nullptr);
    ~HttpConnection() override;

    struct Outcome
    {
        bool reusable = false;        // the daemon keeps the connection open for the next request
        bool nothingReceived = false; // it failed before a single answer byte: safe to retry elsewhere
    };

    std::function<void(const HttpResponseHead &)> onHead;
    std::function<void(QByteArrayView)> onData; // set: the body is streamed, not kept
    std::function<void(const Result<HttpResponse> &, Outcome)> onDone;
    std::function<void()> onIdleClosed; // the daemon closed it while nothing was asked

    // Connects when needed, then writes the request and parses the answer; exactly one onDone follows
    // unless abort() comes first.
    void start(const QByteArray &requestBytes, bool headRequest, qint64 maxBody, int connectTimeoutMs);
    void abort();
    bool isConnected() const;
    int exchanges() const { return m_exchanges; }

private:
    void onConnected();
    void onReadyRead();
    void onClosed();
    void onSocketError(const Error &error);
    void complete(const Result<HttpResponse> &result, bool reusable);
    void setupTls();

    DockerEndpoint m_endpoint;
    QLocalSocket *m_local = nullptr;
    QSslSocket *m_tcp = nullptr;
    QIODevice *m_device = nullptr;
    QTimer *m_connectTimer = nullptr;
    HttpResponseParser m_parser;
    HttpResponseHead m_head;
    QByteArray m_body;
    QByteArray m_pendingWrite;
    qint64 m_maxBody = 0;
    bool m_busy = false;
    bool m_received = false;
    bool m_bodyOverflow = false;
    bool m_complete = false;
    int m_exchanges = 0;
};

} // namespace airlock::docker
