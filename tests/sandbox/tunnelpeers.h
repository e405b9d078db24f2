#pragma once

#include <QByteArray>
#include <QList>
#include <QLocalServer>
#include <QObject>
#include <QString>

#include <functional>
#include <memory>

class QSocketNotifier;

namespace airlock::sandbox::test {

// One end of a stream socket on a raw, non-blocking descriptor, driven by the event loop. Unlike
// QTcpSocket and QLocalSocket it can half-close (shutdownWrite) and keep reading, and its reading
// can be paused, which the tunnel tests need on both ends.
class RawPeer : public QObject
{
    Q_OBJECT
public:
    explicit RawPeer(int fd, QObject *parent = nullptr); // takes the descriptor
    ~RawPeer() override;

    // A TCP connection to 127.0.0.1:port; nullptr when the socket cannot be made.
    static std::unique_ptr<RawPeer> connectTcp(quint16 port);

    void write(const QByteArray &data);
    // shutdown(SHUT_WR) once everything written so far is out.
    void shutdownWrite();
    // As shutdownWrite(), then close the descriptor altogether.
    void closeWhenWritten();
    void setReading(bool on);

    QByteArray received;
    bool eof = false;     // the other side ended its direction
    bool failed = false;  // reset or another error
    bool closed() const { return eof || failed; }
    qint64 queued() const { return m_out.size(); }

Q_SIGNALS:
    void dataArrived();
    void ended();

private:
    void onReadable();
    void onWritable();
    void finish(bool error);

    int m_fd = -1;
    QSocketNotifier *m_read = nullptr;
    QSocketNotifier *m_write = nullptr;
    QByteArray m_out;
    bool m_shutdownPending = false;
    bool m_closePending = false;
    bool m_reading = true;
};

// The stand-in for the egress proxy at the end of a tunnel: a unix socket server whose connections
// are RawPeers, so they see the tunnel's half-closes as they are.
class TunnelTarget : public QLocalServer
{
    Q_OBJECT
public:
    enum class Mode {
        Echo,    // sends back what arrives; ends its side after the other's EOF
        Respond, // reads up to the other side's EOF, answers "<n> bytes: <request>" and closes
        Http,    // reads up to an empty line, answers a small HTTP/1.0 response naming the request line, closes
    };
    explicit TunnelTarget(Mode mode, QObject *parent = nullptr);

    QList<RawPeer *> peers() const { return m_peers; }
    // New connections start with reading paused (to stand for a slow proxy) until resumed.
    void setReading(bool on);
    int accepted() const { return m_accepted; }

protected:
    void incomingConnection(quintptr socketDescriptor) override;

private:
    Mode m_mode;
    bool m_reading = true;
    int m_accepted = 0;
    QList<RawPeer *> m_peers;
};

} // namespace airlock::sandbox::test
