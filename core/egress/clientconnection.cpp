#include "egress/clientconnection.h"

#include "egress/proxyengine.h"
#include "egress/stream.h"

#include <QDateTime>
#include <QTimer>

namespace airlock::egress {

namespace {

// A header value the proxy writes itself: printable ASCII only, whatever the text came from.
QByteArray headerSafe(const QString &text)
{
    QByteArray out = text.toUtf8().left(200);
    for (char &c : out) {
        if (c < 0x20 || c > 0x7e)
            c = '?';
    }
    return out;
}

} // namespace

ClientConnection::ClientConnection(ProxyEngine *engine, QString session, qintptr fd, QObject *parent)
    : QObject(parent), m_engine(engine), m_session(std::move(session)),
      m_headScanner(HeadScanner::Kind::Request, engine->limits().head),
      m_responseScanner(HeadScanner::Kind::Response, engine->limits().head)
{
    m_client = new FdStream(int(fd), this);
    m_timer = new QTimer(this);
    m_timer->setSingleShot(true);
    QObject::connect(m_timer, &QTimer::timeout, this, &ClientConnection::onTimeout);
    QObject::connect(m_client, &Stream::readable, this, &ClientConnection::onClientReadable);
    QObject::connect(m_client, &Stream::flushed, this, &ClientConnection::onClientFlushed);
    QObject::connect(m_client, &Stream::failed, this, [this](const QString &message) {
        abort(QStringLiteral("the sandbox's connection failed: ") + message);
    });
}

ClientConnection::~ClientConnection() = default;

void ClientConnection::start()
{
    m_state = State::Head;
    armTimer(m_engine->limits().idleTimeoutMs);
}

void ClientConnection::armTimer(int ms)
{
    m_timer->start(ms);
}

void ClientConnection::onClientReadable()
{
    switch (m_state) {
    case State::Head:
        readHead();
        return;
    case State::Exchange:
        pumpRequest();
        return;
    case State::Tunnel:
        pumpTunnel(true);
        return;
    case State::Closing:
        lingerOnClose();
        return;
    default:
        // Nothing is read while deciding; the kernel buffers, back-pressure does the rest.
        m_client->setReading(false);
        return;
    }
}

void ClientConnection::lingerOnClose()
{
    // Closing a unix socket with unread input resets the peer, and the shim's bridge would drop the
    // answer it had not yet delivered. So what the sandbox still sends is read and thrown away until
    // it closes its side (or too much arrives, or the closing timer fires).
    constexpr qint64 kDiscardLimit = 4 << 20;
    while (m_discarded < kDiscardLimit) {
        const qint64 n = m_client->read(m_engine->scratch(), m_engine->scratchSize());
        if (n <= 0)
            break;
        m_discarded += n;
    }
    if (m_discarded >= kDiscardLimit || (m_client->atEnd() && m_client->pending() == 0))
        finishClosing();
}

void ClientConnection::onClientFlushed()
{
    switch (m_state) {
    case State::Exchange:
        pumpResponse();
        return;
    case State::Tunnel:
        pumpTunnel(false);
        return;
    case State::Closing:
        if (m_client->pending() == 0 && m_client->atEnd())
            finishClosing();
        return;
    default:
        return;
    }
}

void ClientConnection::readHead()
{
    const HeadLimits &limits = m_engine->limits().head;
    while (m_state == State::Head) {
        auto scan = m_headScanner.scan(m_in);
        if (!scan) {
            beginRecord();
            refuse(scan.error().status, scan.error().message, QStringLiteral("malformed request"));
            return;
        }
        if (*scan > 0) {
            const QByteArray head = m_in.left(*scan);
            m_in.remove(0, *scan);
            m_headScanner.reset();
            m_client->setReading(false);
            m_timer->stop();
            beginRecord();
            if (auto parsed = m_request.parseHead(head); !parsed) {
                refuse(parsed.error().status, parsed.error().message, QStringLiteral("malformed request"));
                return;
            }
            startExchange();
            return;
        }
        // Never hold more than one head (plus what arrived with its end) for a sandbox.
        const qint64 room = std::max<qint64>(1, limits.maxHead + 1 - m_in.size());
        const qint64 n = m_client->read(m_engine->scratch(), std::min(room, m_engine->scratchSize()));
        if (n <= 0) {
            if (m_client->atEnd()) {
                if (m_in.isEmpty())
                    finishClosing(); // the sandbox is done with a kept-alive connection
                else
                    answerAndClose(400, QStringLiteral("the connection ended in the middle of a request head"));
                return;
            }
            m_client->setReading(true);
            return;
        }
        if (m_in.isEmpty())
            armTimer(m_engine->limits().headTimeoutMs);
        m_in.append(m_engine->scratch(), n);
    }
}

void ClientConnection::openRouteTunnel()
{
    // Nothing is connected yet: each request inside is decided, recorded and sent on its own, as the
    // route it names. The CONNECT itself leaves no record.
    Target route = m_target;
    route.opensRoute = false;
    m_routeTunnel = route;
    m_record = EgressRecord{};
    resetExchange();
    m_client->write("HTTP/1.1 200 Connection established\r\n\r\n");
    m_state = State::Head;
    armTimer(m_in.isEmpty() ? m_engine->limits().idleTimeoutMs : m_engine->limits().headTimeoutMs);
    m_client->setReading(true);
    if (!m_in.isEmpty())
        readHead();
}

void ClientConnection::beginRecord()
{
    if (m_record.id != 0)
        return;
    m_record = EgressRecord{};
    m_record.id = m_engine->nextId();
    m_record.session = m_session;
    if (const auto state = m_engine->table().get(m_session)) {
        m_record.sandbox = state->sandbox;
        if (!state->isSession)
            m_record.session.clear(); // a sandbox of its own: its records belong to no session
    }
    m_record.method = QStringLiteral("-");
    m_record.host = QStringLiteral("-");
    m_record.started = QDateTime::currentMSecsSinceEpoch();
    m_clock.start();
    m_recordOpen = false;
}

void ClientConnection::startExchange()
{
    const RequestHead &head = m_request.request();
    m_record.method = QString::fromLatin1(head.method);
    m_state = State::Deciding;
    if (head.upgrade) {
        refuse(501, QStringLiteral("protocol upgrades over http:// are not proxied; use wss:// or https:// "
                                   "through CONNECT"),
               QStringLiteral("upgrade"));
        return;
    }
    auto target = requestTarget(head, m_routeTunnel ? &*m_routeTunnel : nullptr);
    if (!target) {
        refuse(target.error().status, target.error().message, QStringLiteral("malformed request"));
        return;
    }
    m_target = *target;
    m_record.host = m_target.host;
    m_record.port = m_target.port;
    m_record.route = m_target.route;
    m_rules = m_engine->table().get(m_session);
    if (!m_rules) {
        answerAndClose(503, QStringLiteral("this sandbox's egress has been closed"));
        return;
    }
    m_decision = decide(m_rules->rules, m_target.host, m_target.port);
    if (!m_decision.allowed()) {
        refuse(403, m_decision.reason);
        return;
    }
    if (m_target.opensRoute) {
        openRouteTunnel();
        return;
    }
    m_secrets.clear();
    if (m_target.route == Route::TlsRoute) {
        for (const policy::Secret &s : m_rules->secrets) {
            if (matchesHost(s.host, m_target.host, m_target.port))
                m_secrets.append(s);
        }
    }
    const std::optional<QHostAddress> literal = parseIpLiteral(m_target.host);
    if (m_decision.hostLoopback) {
        withAddresses({literal ? *literal : QHostAddress(QHostAddress::LocalHost)});
        return;
    }
    if (literal) {
        withAddresses({*literal});
        return;
    }
    armTimer(m_engine->limits().connectTimeoutMs);
    QPointer<ClientConnection> self(this);
    const quint64 id = m_record.id;
    std::shared_ptr<PostBox> box = m_engine->postBox();
    m_engine->config().resolver->resolve(m_target.host, [self, id, box](Result<QList<QHostAddress>> result) {
        box->post([self, id, result = std::move(result)] {
            ClientConnection *c = self.data();
            if (!c || c->m_record.id != id || c->m_state != State::Deciding)
                return;
            if (!result) {
                c->m_record.error = result.error().message;
                c->answerAndClose(502, result.error().message);
                return;
            }
            c->withAddresses(*result);
        });
    });
}

void ClientConnection::publishDecision()
{
    if (m_recordOpen)
        return;
    m_record.decision = m_decision.verdict;
    m_record.rule = m_decision.rule;
    m_record.reason = m_decision.reason;
    m_recordOpen = true;
    m_engine->reportOpened(m_record);
}

void ClientConnection::withAddresses(const QList<QHostAddress> &addresses)
{
    const Decision checked = checkAddresses(m_decision, m_rules->rules, m_target.host, addresses);
    if (!checked.allowed()) {
        m_decision = checked;
        refuse(403, checked.reason);
        return;
    }
    m_addresses = addresses;
    m_addressIndex = 0;
    publishDecision();
    if (!m_secrets.isEmpty()) {
        m_inject.clear();
        // Named in the record before any is read, so a request that fails for want of a key is seen
        // as one on the keyed route too.
        QStringList names;
        for (const policy::Secret &s : std::as_const(m_secrets))
            names << s.name;
        m_record.secret = names.join(u',');
        fetchSecrets(0);
        return;
    }
    connectNext();
}

void ClientConnection::fetchSecrets(qsizetype index)
{
    if (index >= m_secrets.size()) {
        QList<QByteArray> values;
        for (const Header &h : std::as_const(m_inject)) {
            values << h.value;
            // "Bearer sk-…": an upstream that quotes the key quotes the token, not the scheme.
            if (const qsizetype space = h.value.lastIndexOf(' '); space >= 0 && h.value.size() - space > 8)
                values << h.value.mid(space + 1);
        }
        m_masker = Masker(values);
        // A compressed answer would carry an echoed key where the masker cannot see it.
        m_inject.append(Header{QByteArrayLiteral("Accept-Encoding"), QByteArrayLiteral("identity")});
        connectNext();
        return;
    }
    const policy::Secret secret = m_secrets.at(index);
    const QByteArray header = secret.header.toLatin1();
    if (header.isEmpty() || !std::all_of(header.cbegin(), header.cend(), isTokenChar)) {
        answerAndClose(502, QStringLiteral("the secret '%1' names an invalid header").arg(secret.name));
        return;
    }
    QPointer<ClientConnection> self(this);
    const quint64 id = m_record.id;
    std::shared_ptr<PostBox> box = m_engine->postBox();
    const QByteArray scheme = secret.scheme.toLatin1();
    m_engine->config().secrets->fetch(secret, [self, id, box, index, header, scheme](Result<QByteArray> value) {
        // Always through the queue: a provider may answer before fetch() returns.
        box->post([self, id, index, header, scheme, value = std::move(value)] {
            ClientConnection *c = self.data();
            if (!c || c->m_record.id != id || c->m_state != State::Deciding)
                return;
            if (!value) {
                c->answerAndClose(502, QStringLiteral("the credential for %1 is not available: %2")
                                           .arg(c->m_target.host, value.error().message));
                return;
            }
            // With a scheme, "Bearer <key>"; the masker then hides the key alone as well (above).
            c->m_inject.append(Header{header, scheme.isEmpty() ? *value : scheme + ' ' + *value});
            c->fetchSecrets(index + 1);
        });
    });
}

void ClientConnection::connectNext()
{
    if (m_addressIndex >= m_addresses.size()) {
        answerAndClose(502, QStringLiteral("cannot connect to %1 port %2: %3")
                                .arg(m_target.host)
                                .arg(m_target.port)
                                .arg(m_lastConnectError));
        return;
    }
    const QHostAddress address = m_addresses.at(m_addressIndex++);
    m_record.address = address.toString();
    m_state = State::Connecting;
    armTimer(m_engine->limits().connectTimeoutMs);
    Stream *upstream = nullptr;
    if (m_target.route == Route::TlsRoute) {
        upstream = new TlsStream(address, m_target.port, m_target.host, m_engine->tlsConfiguration(m_rules->upstreamCaFile), this);
    } else {
        auto stream = FdStream::connectTo(address, m_target.port, this);
        if (!stream) {
            m_lastConnectError = stream.error().message;
            connectNext();
            return;
        }
        upstream = *stream;
    }
    m_upstream = upstream;
    QObject::connect(upstream, &Stream::connected, this, &ClientConnection::onUpstreamConnected);
    QObject::connect(upstream, &Stream::failed, this, &ClientConnection::onUpstreamFailed);
    QObject::connect(upstream, &Stream::readable, this, [this] {
        if (m_state == State::Exchange)
            onUpstreamReadableInExchange();
        else if (m_state == State::Tunnel)
            pumpTunnel(false);
    });
    QObject::connect(upstream, &Stream::flushed, this, [this] {
        if (m_state == State::Exchange)
            pumpRequest();
        else if (m_state == State::Tunnel)
            pumpTunnel(true);
    });
}

void ClientConnection::onUpstreamConnected()
{
    if (m_state != State::Connecting)
        return;
    m_timer->stop();
    if (m_target.route == Route::Connect)
        beginTunnel();
    else
        beginForwarding();
}

void ClientConnection::onUpstreamFailed(const QString &message)
{
    switch (m_state) {
    case State::Connecting:
        m_lastConnectError = message;
        dropUpstream();
        connectNext();
        return;
    case State::Exchange:
        failExchange(message);
        return;
    case State::Tunnel:
        m_record.error = message;
        closeRecord();
        finishClosing();
        return;
    default:
        return;
    }
}

void ClientConnection::refuse(int status, const QString &message, const QString &rule)
{
    if (!rule.isEmpty()) {
        m_decision = Decision{};
        m_decision.rule = rule;
        m_decision.reason = message;
    }
    m_decision.verdict = Verdict::Deny;
    publishDecision();
    const QByteArray extra = "X-Airlock-Egress: denied; rule=\"" + headerSafe(m_decision.rule) + "\"\r\n";
    m_record.status = status;
    m_client->write(proxyResponse(status, message, extra));
    closeRecord();
    closeAfterFlush();
}

void ClientConnection::answerAndClose(int status, const QString &message)
{
    publishDecision();
    if (m_record.error.isEmpty() && status >= 500)
        m_record.error = message;
    m_record.status = status;
    m_client->write(proxyResponse(status, message));
    closeRecord();
    closeAfterFlush();
}

void ClientConnection::closeRecord()
{
    if (m_record.id == 0)
        return;
    publishDecision();
    m_record.durationMs = m_clock.elapsed();
    m_engine->reportClosed(m_record);
    m_record = EgressRecord{};
    m_recordOpen = false;
}

void ClientConnection::dropUpstream()
{
    Stream *up = std::exchange(m_upstream, nullptr);
    if (!up)
        return;
    QObject::disconnect(up, nullptr, this, nullptr);
    up->close();
    up->deleteLater();
}

void ClientConnection::closeAfterFlush()
{
    if (m_state == State::Done)
        return;
    m_state = State::Closing;
    dropUpstream();
    m_discarded = 0;
    m_client->shutdownWrite();
    m_client->setReading(true);
    armTimer(5000); // a sandbox that never reads its answer or never closes does not keep the slot
    lingerOnClose();
}

void ClientConnection::finishClosing()
{
    if (m_state == State::Done)
        return;
    m_state = State::Done;
    m_timer->stop();
    closeRecord();
    m_client->close();
    dropUpstream();
    Q_EMIT finished(this);
}

void ClientConnection::abort(const QString &why)
{
    if (m_state == State::Done)
        return;
    if (m_record.id != 0 && m_record.error.isEmpty())
        m_record.error = why;
    finishClosing();
}

void ClientConnection::onTimeout()
{
    const ProxyLimits &limits = m_engine->limits();
    switch (m_state) {
    case State::Head:
        if (m_in.isEmpty()) {
            finishClosing();
        } else {
            beginRecord();
            refuse(408, QStringLiteral("the request head did not arrive within %1 s").arg(limits.headTimeoutMs / 1000),
                   QStringLiteral("malformed request"));
        }
        return;
    case State::Deciding:
    case State::Connecting:
        answerAndClose(504, QStringLiteral("%1 port %2 did not answer within %3 s")
                                .arg(m_target.host)
                                .arg(m_target.port)
                                .arg(limits.connectTimeoutMs / 1000));
        return;
    case State::Closing:
        finishClosing();
        return;
    default:
        return;
    }
}

} // namespace airlock::egress
