#pragma once

#include "egress/egressproxy.h"
#include "policy/policy.h"
#include "store/eventstore.h"

#include <QLocalSocket>
#include <QPointer>
#include <QSslCertificate>
#include <QSslKey>
#include <QTcpServer>
#include <QTemporaryDir>

#include <functional>
#include <memory>
#include <optional>

namespace airlock::egress::test {

// What an upstream test server saw of one request.
struct SeenRequest {
    QByteArray method;
    QByteArray target;
    QList<std::pair<QByteArray, QByteArray>> headers;
    QByteArray body;
    QByteArray rawHead;
    bool tls = false;

    QByteArray header(QByteArrayView name) const;
    int count(QByteArrayView name) const;
};

// An HTTP/1.1 server on 127.0.0.1 (optionally TLS) that records every request and answers with
// `respond` (default: 200 and "hello <target>"). It reads Content-Length and chunked bodies and keeps a
// connection open unless the request says Connection: close.
class Upstream : public QObject
{
public:
    explicit Upstream(QObject *parent = nullptr);
    bool listen();
    bool listenTls(const QSslCertificate &cert, const QSslKey &key);
    quint16 port() const { return m_server ? m_server->serverPort() : 0; }

    QList<SeenRequest> requests;
    int connections = 0;
    std::function<QByteArray(const SeenRequest &)> respond;
    bool closeAfterResponse = false; // also close when the client would keep the connection

    static QByteArray ok(const QByteArray &body, const QByteArray &extraHeaders = {});

private:
    void serve(QTcpSocket *socket);
    QTcpServer *m_server = nullptr;
    bool m_tls = false;
};

// A test certificate authority made with the openssl command: a CA and server certificates for names.
class TestCa
{
public:
    // Empty message: ready. Otherwise why not (openssl missing, no TLS in Qt), for QSKIP.
    QString create();
    // A key and a certificate for these DNS names, signed by the CA.
    bool issue(const QStringList &names, QSslCertificate *cert, QSslKey *key, QString *error);
    QString caFile() const { return m_dir.filePath(QStringLiteral("ca.pem")); }

private:
    bool openssl(const QStringList &args, QString *error);
    QTemporaryDir m_dir;
    int m_serial = 0;
};

// An HTTP response as the test client reads it.
struct Response {
    int status = 0;
    QByteArray head;
    QByteArray body;
    QByteArray header(QByteArrayView name) const;
};

// A raw client of the proxy's unix socket, driven from the test's event loop (the proxy runs on its
// own thread, the upstream servers on this one, so nothing here may block).
class RawClient
{
public:
    bool connectTo(const QString &path, int timeoutMs = 5000);
    void send(const QByteArray &bytes);
    // Reads one complete response (Content-Length, chunked or until close).
    std::optional<Response> readResponse(int timeoutMs = 10000);
    // Everything until the proxy closes the connection.
    QByteArray readAll(int timeoutMs = 10000);
    bool waitClosed(int timeoutMs = 10000);
    QLocalSocket &socket() { return m_socket; }
    QByteArray buffered() const { return m_buffer; }

private:
    QLocalSocket m_socket;
    QByteArray m_buffer;
};

std::optional<Response> parseResponse(QByteArray &buffer, bool closed);

// One request through the proxy on a new connection.
std::optional<Response> request(const QString &socketPath, const QByteArray &raw, int timeoutMs = 10000);
QByteArray get(const QString &url, const QByteArray &extraHeaders = {}); // "GET url HTTP/1.1" + Host + close

// Allow patterns without a port get ':*', and the loopback class is allowed: the test upstreams are
// on 127.0.0.1 at ports the kernel picks. Tests of those rules themselves set the network section.
policy::Policy proxyPolicy(const QStringList &allow, const QStringList &deny = {});

// A proxy serving one session from a temporary folder, with its store and a static resolver.
struct ProxyFixture {
    QTemporaryDir dir;
    std::unique_ptr<store::EventStore> store;
    std::shared_ptr<StaticResolver> resolver = std::make_shared<StaticResolver>();
    std::unique_ptr<EgressProxy> proxy;
    QString session = QStringLiteral("s1");

    bool start(const policy::Policy &policy, ProxyOptions options = {});
    QString socketPath(const QString &session = QStringLiteral("s1")) const;
    // The egress.connection events committed so far, oldest first.
    QList<EgressRecord> records();
    // Waits until at least n records are committed (the proxy writes one as an exchange ends, which
    // may be just after the client has read the answer).
    QList<EgressRecord> waitRecords(int n, int timeoutMs = 5000);
    QByteArray storeBytes(); // every byte of the database files, for leak checks
};

} // namespace airlock::egress::test
