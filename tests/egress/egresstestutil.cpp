#include "egresstestutil.h"

#include "store/storereader.h"

#include <QFile>
#include <QProcess>
#include <QSslConfiguration>
#include <QSslServer>
#include <QSslSocket>
#include <QStandardPaths>
#include <QTest>
#include <QUrl>

namespace airlock::egress::test {

namespace {

bool sameName(QByteArrayView a, QByteArrayView b)
{
    return a.compare(b, Qt::CaseInsensitive) == 0;
}

// Decodes a chunked body at the front of buf; nothing when it is not complete yet.
std::optional<std::pair<QByteArray, qsizetype>> dechunk(QByteArrayView buf)
{
    QByteArray body;
    qsizetype at = 0;
    while (true) {
        const qsizetype eol = buf.indexOf("\r\n", at);
        if (eol < 0)
            return std::nullopt;
        bool ok = false;
        QByteArray sizeText = buf.sliced(at, eol - at).toByteArray();
        if (const qsizetype semi = sizeText.indexOf(';'); semi >= 0)
            sizeText.truncate(semi);
        const qsizetype size = sizeText.trimmed().toLongLong(&ok, 16);
        if (!ok)
            return std::nullopt;
        at = eol + 2;
        if (size == 0) {
            // Trailers end at an empty line.
            const qsizetype end = buf.indexOf("\r\n", at);
            if (end < 0)
                return std::nullopt;
            if (end == at)
                return std::pair{body, at + 2};
            const qsizetype blank = buf.indexOf("\r\n\r\n", at);
            if (blank < 0)
                return std::nullopt;
            return std::pair{body, blank + 4};
        }
        if (buf.size() < at + size + 2)
            return std::nullopt;
        body += buf.sliced(at, size);
        at += size + 2;
    }
}

QList<std::pair<QByteArray, QByteArray>> parseHeaders(const QByteArray &head, QByteArray *firstLine)
{
    QList<std::pair<QByteArray, QByteArray>> out;
    const QList<QByteArray> lines = head.split('\n');
    for (qsizetype i = 0; i < lines.size(); ++i) {
        const QByteArray line = lines.at(i).trimmed();
        if (i == 0) {
            *firstLine = line;
            continue;
        }
        const qsizetype colon = line.indexOf(':');
        if (colon > 0)
            out.append({line.left(colon).trimmed(), line.mid(colon + 1).trimmed()});
    }
    return out;
}

} // namespace

QByteArray SeenRequest::header(QByteArrayView name) const
{
    for (const auto &[n, v] : headers) {
        if (sameName(n, name))
            return v;
    }
    return {};
}

int SeenRequest::count(QByteArrayView name) const
{
    return int(std::count_if(headers.cbegin(), headers.cend(), [&](const auto &h) { return sameName(h.first, name); }));
}

QByteArray Response::header(QByteArrayView name) const
{
    QByteArray first;
    for (const auto &[n, v] : parseHeaders(head, &first)) {
        if (sameName(n, name))
            return v;
    }
    return {};
}

Upstream::Upstream(QObject *parent) : QObject(parent) {}

QByteArray Upstream::ok(const QByteArray &body, const QByteArray &extraHeaders)
{
    return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + QByteArray::number(body.size())
           + "\r\n" + extraHeaders + "\r\n" + body;
}

bool Upstream::listen()
{
    m_server = new QTcpServer(this);
    QObject::connect(m_server, &QTcpServer::pendingConnectionAvailable, this, [this] {
        while (QTcpSocket *s = m_server->nextPendingConnection())
            serve(s);
    });
    return m_server->listen(QHostAddress::LocalHost, 0);
}

bool Upstream::listenTls(const QSslCertificate &cert, const QSslKey &key)
{
    auto *server = new QSslServer(this);
    QSslConfiguration config = QSslConfiguration::defaultConfiguration();
    config.setLocalCertificate(cert);
    config.setPrivateKey(key);
    config.setPeerVerifyMode(QSslSocket::VerifyNone);
    server->setSslConfiguration(config);
    m_server = server;
    m_tls = true;
    QObject::connect(m_server, &QTcpServer::pendingConnectionAvailable, this, [this] {
        while (QTcpSocket *s = m_server->nextPendingConnection())
            serve(s);
    });
    return m_server->listen(QHostAddress::LocalHost, 0);
}

void Upstream::serve(QTcpSocket *socket)
{
    ++connections;
    auto buffer = std::make_shared<QByteArray>();
    QObject::connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
    QObject::connect(socket, &QTcpSocket::readyRead, this, [this, socket, buffer] {
        buffer->append(socket->readAll());
        while (true) {
            const qsizetype end = buffer->indexOf("\r\n\r\n");
            if (end < 0)
                return;
            SeenRequest r;
            r.tls = m_tls;
            r.rawHead = buffer->left(end + 4);
            QByteArray first;
            r.headers = parseHeaders(r.rawHead, &first);
            const QList<QByteArray> parts = first.split(' ');
            r.method = parts.value(0);
            r.target = parts.value(1);
            qsizetype consumed = end + 4;
            if (sameName(r.header("transfer-encoding"), "chunked")) {
                auto body = dechunk(QByteArrayView(*buffer).sliced(consumed));
                if (!body)
                    return;
                r.body = body->first;
                consumed += body->second;
            } else {
                const qsizetype length = r.header("content-length").toLongLong();
                if (buffer->size() < consumed + length)
                    return;
                r.body = buffer->mid(consumed, length);
                consumed += length;
            }
            buffer->remove(0, consumed);
            requests.append(r);
            socket->write(respond ? respond(r) : ok("hello " + r.target));
            if (closeAfterResponse || sameName(r.header("connection"), "close")) {
                socket->disconnectFromHost();
                return;
            }
        }
    });
}

bool TestCa::openssl(const QStringList &args, QString *error)
{
    QProcess p;
    p.setWorkingDirectory(m_dir.path());
    p.start(QStringLiteral("openssl"), args);
    if (!p.waitForFinished(30000) || p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0) {
        *error = QStringLiteral("openssl %1 failed: %2").arg(args.value(0), QString::fromLocal8Bit(p.readAllStandardError()));
        return false;
    }
    return true;
}

QString TestCa::create()
{
    if (!QSslSocket::supportsSsl())
        return QStringLiteral("Qt has no TLS backend here");
    if (QStandardPaths::findExecutable(QStringLiteral("openssl")).isEmpty())
        return QStringLiteral("the openssl command is not installed (packaging/install-deps.sh --tests adds it)");
    if (!m_dir.isValid())
        return QStringLiteral("no temporary folder");
    QString error;
    if (!openssl({QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"), QStringLiteral("ec"),
                  QStringLiteral("-pkeyopt"), QStringLiteral("ec_paramgen_curve:prime256v1"), QStringLiteral("-nodes"),
                  QStringLiteral("-keyout"), QStringLiteral("ca.key"), QStringLiteral("-out"), QStringLiteral("ca.pem"),
                  QStringLiteral("-days"), QStringLiteral("2"), QStringLiteral("-subj"),
                  QStringLiteral("/CN=Airlock egress test CA"), QStringLiteral("-addext"),
                  QStringLiteral("basicConstraints=critical,CA:TRUE"), QStringLiteral("-addext"),
                  QStringLiteral("keyUsage=critical,keyCertSign,cRLSign")},
                 &error))
        return error;
    return {};
}

bool TestCa::issue(const QStringList &names, QSslCertificate *cert, QSslKey *key, QString *error)
{
    const QString base = QStringLiteral("server%1").arg(++m_serial);
    QStringList sans;
    for (const QString &n : names)
        sans << QStringLiteral("DNS:") + n;
    QFile ext(m_dir.filePath(base + QStringLiteral(".ext")));
    if (!ext.open(QIODevice::WriteOnly))
        return false;
    ext.write("subjectAltName=" + sans.join(u',').toLatin1() + "\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n");
    ext.close();
    if (!openssl({QStringLiteral("req"), QStringLiteral("-newkey"), QStringLiteral("ec"), QStringLiteral("-pkeyopt"),
                  QStringLiteral("ec_paramgen_curve:prime256v1"), QStringLiteral("-nodes"), QStringLiteral("-keyout"),
                  base + QStringLiteral(".key"), QStringLiteral("-out"), base + QStringLiteral(".csr"),
                  QStringLiteral("-subj"), QStringLiteral("/CN=") + names.value(0)},
                 error))
        return false;
    if (!openssl({QStringLiteral("x509"), QStringLiteral("-req"), QStringLiteral("-in"), base + QStringLiteral(".csr"),
                  QStringLiteral("-CA"), QStringLiteral("ca.pem"), QStringLiteral("-CAkey"), QStringLiteral("ca.key"),
                  QStringLiteral("-set_serial"), QString::number(1000 + m_serial), QStringLiteral("-days"),
                  QStringLiteral("2"), QStringLiteral("-out"), base + QStringLiteral(".pem"), QStringLiteral("-extfile"),
                  base + QStringLiteral(".ext")},
                 error))
        return false;
    QFile certFile(m_dir.filePath(base + QStringLiteral(".pem")));
    QFile keyFile(m_dir.filePath(base + QStringLiteral(".key")));
    if (!certFile.open(QIODevice::ReadOnly) || !keyFile.open(QIODevice::ReadOnly))
        return false;
    *cert = QSslCertificate(certFile.readAll(), QSsl::Pem);
    *key = QSslKey(keyFile.readAll(), QSsl::Ec, QSsl::Pem);
    return !cert->isNull() && !key->isNull();
}

std::optional<Response> parseResponse(QByteArray &buffer, bool closed)
{
    while (true) {
        const qsizetype end = buffer.indexOf("\r\n\r\n");
        if (end < 0)
            return std::nullopt;
        Response r;
        r.head = buffer.left(end + 4);
        r.status = r.head.mid(9, 3).toInt();
        const qsizetype start = end + 4;
        if (r.status >= 100 && r.status < 200) {
            buffer.remove(0, start);
            continue;
        }
        if (sameName(r.header("transfer-encoding"), "chunked")) {
            auto body = dechunk(QByteArrayView(buffer).sliced(start));
            if (!body)
                return std::nullopt;
            r.body = body->first;
            buffer.remove(0, start + body->second);
            return r;
        }
        const QByteArray length = r.header("content-length");
        if (!length.isEmpty()) {
            const qsizetype n = length.toLongLong();
            if (buffer.size() < start + n)
                return std::nullopt;
            r.body = buffer.mid(start, n);
            buffer.remove(0, start + n);
            return r;
        }
        if (!closed)
            return std::nullopt;
        r.body = buffer.mid(start);
        buffer.clear();
        return r;
    }
}

bool RawClient::connectTo(const QString &path, int timeoutMs)
{
    m_socket.connectToServer(path);
    return QTest::qWaitFor([this] { return m_socket.state() == QLocalSocket::ConnectedState; }, timeoutMs);
}

void RawClient::send(const QByteArray &bytes)
{
    m_socket.write(bytes);
    m_socket.flush();
}

std::optional<Response> RawClient::readResponse(int timeoutMs)
{
    std::optional<Response> r;
    (void)QTest::qWaitFor([&] {
        m_buffer += m_socket.readAll();
        r = parseResponse(m_buffer, m_socket.state() != QLocalSocket::ConnectedState);
        return r.has_value() || (m_socket.state() != QLocalSocket::ConnectedState && m_socket.bytesAvailable() == 0
                                 && !m_buffer.contains("\r\n\r\n"));
    }, timeoutMs);
    return r;
}

bool RawClient::waitClosed(int timeoutMs)
{
    return QTest::qWaitFor([this] {
        m_buffer += m_socket.readAll();
        return m_socket.state() == QLocalSocket::UnconnectedState;
    }, timeoutMs);
}

QByteArray RawClient::readAll(int timeoutMs)
{
    waitClosed(timeoutMs);
    m_buffer += m_socket.readAll();
    return std::exchange(m_buffer, {});
}

std::optional<Response> request(const QString &socketPath, const QByteArray &raw, int timeoutMs)
{
    RawClient c;
    if (!c.connectTo(socketPath))
        return std::nullopt;
    c.send(raw);
    return c.readResponse(timeoutMs);
}

QByteArray get(const QString &url, const QByteArray &extraHeaders)
{
    const QUrl u = QUrl::fromEncoded(url.toLatin1());
    QByteArray host = u.host(QUrl::FullyEncoded).toLatin1();
    if (host.contains(':'))
        host = '[' + host + ']';
    if (u.port() > 0)
        host += ':' + QByteArray::number(u.port());
    return "GET " + url.toLatin1() + " HTTP/1.1\r\nHost: " + host + "\r\n" + extraHeaders + "Connection: close\r\n\r\n";
}

policy::Policy proxyPolicy(const QStringList &allow, const QStringList &deny)
{
    policy::Policy p;
    p.network.mode = policy::NetworkMode::Proxy;
    // The upstreams listen on loopback, on ports the kernel picks: say both, as a policy must.
    for (const QString &pattern : allow)
        p.network.allow << (pattern.contains(u':') ? pattern : pattern + QStringLiteral(":*"));
    p.network.deny = deny;
    p.network.allowAddressClasses = {QStringLiteral("loopback")};
    return p;
}

bool ProxyFixture::start(const policy::Policy &policy, ProxyOptions options)
{
    if (!dir.isValid())
        return false;
    auto opened = store::EventStore::open(dir.filePath(QStringLiteral("airlock.db")));
    if (!opened)
        return false;
    store = std::move(*opened);
    options.store = store.get();
    if (!options.resolver)
        options.resolver = resolver;
    proxy = std::make_unique<EgressProxy>(options);
    return proxy->addSandbox(SandboxSpec{session, socketPath(session), policy}).has_value();
}

QString ProxyFixture::socketPath(const QString &name) const
{
    return dir.filePath(name + QStringLiteral(".sock"));
}

QList<EgressRecord> ProxyFixture::records()
{
    QList<EgressRecord> out;
    if (!store || !store->flush())
        return out;
    auto reader = store::StoreReader::open(store->path());
    if (!reader)
        return out;
    store::EventQuery q;
    q.limit = 100000;
    auto events = reader->events(q);
    if (!events)
        return out;
    for (const store::Event &e : std::as_const(*events)) {
        if (auto r = EgressRecord::fromEvent(e))
            out.append(*r);
    }
    return out;
}

QList<EgressRecord> ProxyFixture::waitRecords(int n, int timeoutMs)
{
    QList<EgressRecord> out;
    (void)QTest::qWaitFor([&] {
        out = records();
        return out.size() >= n;
    }, timeoutMs);
    return out;
}

QByteArray ProxyFixture::storeBytes()
{
    QByteArray all;
    for (const char *suffix : {"", "-wal", "-shm"}) {
        QFile f(store->path() + QLatin1String(suffix));
        if (f.open(QIODevice::ReadOnly))
            all += f.readAll();
    }
    return all;
}

} // namespace airlock::egress::test
