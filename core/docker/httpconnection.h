#pragma once

#include "docker/dockerendpoint.h"
#include "docker/httpresponseparser.h"
#include "error.h"

#include <QByteArray>
#include <QObject>

#include <functional>

class QIODevice;
class QLocalSocket;
class QProcess;
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
    // Set before start() for a request that asks for an upgrade (Docker's attach). When the daemon
    // answers 101 the connection stops being HTTP: onUpgraded gets the bytes that came after the head,
    // later bytes go to onData, writeRaw() sends, and onDone follows once, when it closes. Any other
    // answer is an ordinary response.
    std::function<void(QByteArrayView)> onUpgraded;

    // Connects when needed, then writes the request and parses the answer; exactly one onDone follows
    // unless abort() comes first.
    void start(const QByteArray &requestBytes, bool headRequest, qint64 maxBody, int connectTimeoutMs);
    void abort();
    bool isConnected() const;
    bool isUpgraded() const { return m_upgraded; }
    void writeRaw(QByteArrayView bytes);
    int exchanges() const { return m_exchanges; }

private:
    void onConnected();
    void onReadyRead();
    void onClosed();
    void onSocketError(const Error &error);
    void complete(const Result<HttpResponse> &result, bool reusable);
    void setupTls();
    // Until the head of an upgrade answer is whole; false when it is not an upgrade after all.
    bool takeUpgradeHead(QByteArray &bytes);

    DockerEndpoint m_endpoint;
    QLocalSocket *m_local = nullptr;
    QSslSocket *m_tcp = nullptr;
    QProcess *m_ssh = nullptr; // ssh://: `ssh HOST docker system dial-stdio`, one per connection
    QByteArray m_sshErrors;
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
    bool m_upgraded = false;
    bool m_headSeen = false; // of an upgrade request: the head has been parsed
    QByteArray m_headBuffer;
    int m_exchanges = 0;
};

} // namespace airlock::docker
