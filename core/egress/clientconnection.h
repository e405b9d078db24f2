#pragma once

#include "egress/egressrecord.h"
#include "egress/egressrules.h"
#include "egress/httpmessage.h"
#include "egress/masker.h"
#include "egress/routes.h"
#include "egress/sessiontable.h"

#include <QElapsedTimer>
#include <QObject>
#include <QPointer>

class QTimer;

namespace airlock::egress {

class FdStream;
class ProxyEngine;
class Stream;

// One connection from a sandbox, on the proxy thread. It reads a request head, decides, resolves,
// connects to the checked address, and then either forwards one HTTP exchange at a time (keeping the
// sandbox's connection for the next request when both sides allow it) or relays a CONNECT tunnel.
// Every exchange becomes one EgressRecord. Split over three files: this head and decision part,
// exchange.cpp (HTTP forwarding) and tunnel.cpp (CONNECT).
class ClientConnection : public QObject
{
    Q_OBJECT
public:
    ClientConnection(ProxyEngine *engine, QString session, qintptr fd, QObject *parent = nullptr);
    ~ClientConnection() override;

    void start();
    // Ends everything at once: the sandbox's socket, the upstream one, and an open record.
    void abort(const QString &why);

Q_SIGNALS:
    void finished(airlock::egress::ClientConnection *self);

private:
    enum class State { Head, Deciding, Connecting, Exchange, Tunnel, Closing, Done };

    // clientconnection.cpp
    void onClientReadable();
    void onClientFlushed();
    void readHead();
    void startExchange();
    void withAddresses(const QList<QHostAddress> &addresses);
    void fetchSecrets(qsizetype index);
    void connectNext();
    void onUpstreamConnected();
    void onUpstreamFailed(const QString &message);
    void refuse(int status, const QString &message, const QString &rule = {});
    void answerAndClose(int status, const QString &message);
    void openRouteTunnel();
    void beginRecord();     // a new record for the request that is arriving
    void publishDecision(); // the decision is known: connectionOpened
    void closeRecord();     // the exchange is over: connectionClosed and the store event
    void dropUpstream();
    void closeAfterFlush();
    void lingerOnClose();
    void finishClosing();
    void armTimer(int ms);
    void onTimeout();

    // exchange.cpp
    void beginForwarding();
    qsizetype forwardRequestBytes(Stream *up, QByteArrayView data); // -1: the exchange failed
    void pumpRequest();
    void onUpstreamReadableInExchange();
    bool takeResponseHead();
    void pumpResponse();
    bool forwardResponseBytes(QByteArrayView data);
    void sendToClient(QByteArrayView data);
    void sendMaskedChunk(QByteArrayView payload, bool last);
    void finishExchange();
    void resetExchange();
    void failExchange(const QString &message, int status = 502);

    // tunnel.cpp
    void beginTunnel();
    void pumpTunnel(bool towardUpstream);
    void finishTunnelIfDone();

    ProxyEngine *m_engine;
    QString m_session;
    FdStream *m_client = nullptr;
    Stream *m_upstream = nullptr;   // owned; dropped with deleteLater, as its signals may be on the stack
    QTimer *m_timer = nullptr;
    State m_state = State::Head;

    // The request being handled.
    QByteArray m_in;                 // sandbox bytes read but not yet used (a head, or what follows it)
    HeadScanner m_headScanner{HeadScanner::Kind::Request};
    HttpMessageParser m_request{HttpMessageParser::Kind::Request};
    Target m_target;
    Decision m_decision;
    std::optional<Target> m_routeTunnel; // set by CONNECT HOST.airlock: the route of the requests that follow
    std::shared_ptr<const SessionState> m_rules;
    QList<QHostAddress> m_addresses;
    qsizetype m_addressIndex = 0;
    QString m_lastConnectError;
    QList<policy::Secret> m_secrets;
    Headers m_inject;                // credential headers: values never leave this object but upstream
    Masker m_masker;
    // A chunked answer on a credential route: the proxy masks the bare body and writes chunks of its
    // own, because a value split across upstream chunks is interrupted by their framing.
    bool m_rechunkMasked = false;

    // The response.
    QByteArray m_responseBuffer;
    HeadScanner m_responseScanner{HeadScanner::Kind::Response};
    HttpMessageParser m_response{HttpMessageParser::Kind::Response};
    bool m_requestDone = false;
    bool m_responseHeadDone = false;
    bool m_keepClient = false;

    // The tunnel's two directions.
    bool m_upEofPassed = false;
    bool m_downEofPassed = false;
    bool m_splice = true;

    qint64 m_discarded = 0;          // input thrown away while closing

    EgressRecord m_record;
    bool m_recordOpen = false;
    QElapsedTimer m_clock;
};

} // namespace airlock::egress
