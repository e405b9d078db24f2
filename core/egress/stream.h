#pragma once

#include "error.h"

#include <QByteArray>
#include <QHostAddress>
#include <QObject>
#include <QSslConfiguration>

class QSocketNotifier;
class QSslSocket;

namespace airlock::egress {

// One side of a proxied exchange, in the shape the proxy's loops need: read what is there without
// blocking, queue writes without limit (the caller watches pending() for back-pressure), and close
// each direction separately so a tunnel can pass a half-close on.
class Stream : public QObject
{
    Q_OBJECT
public:
    using QObject::QObject;

    // Up to max bytes that are ready now; 0 when none are (then atEnd() tells whether more can come).
    virtual qint64 read(char *data, qint64 max) = 0;
    // Hands data to the kernel or queues it; never blocks.
    virtual void write(QByteArrayView data) = 0;
    // Bytes queued and not yet taken by the kernel.
    virtual qint64 pending() const = 0;
    // Ends the write direction once the queue is empty.
    virtual void shutdownWrite() = 0;
    // Back-pressure: while off, nothing is read from the peer and readable() stays quiet.
    virtual void setReading(bool on) = 0;
    // The peer will send nothing more and everything it sent has been read.
    virtual bool atEnd() const = 0;
    virtual void close() = 0;

Q_SIGNALS:
    void connected();
    void readable();
    void flushed(); // some queued bytes were written; pending() went down
    void failed(const QString &message);
};

// A non-blocking socket file descriptor: the sandbox's unix socket or a plain TCP connection upstream.
// Reads and writes are direct system calls, with nothing copied between the socket and the caller's
// buffer but what the kernel must.
class FdStream : public Stream
{
    Q_OBJECT
public:
    // Takes ownership of a connected descriptor.
    explicit FdStream(int fd, QObject *parent = nullptr);
    ~FdStream() override;

    // Starts a non-blocking TCP connect to exactly this address; connected() or failed() follows.
    static Result<FdStream *> connectTo(const QHostAddress &address, quint16 port, QObject *parent = nullptr);

    qint64 read(char *data, qint64 max) override;
    void write(QByteArrayView data) override;
    qint64 pending() const override { return m_out.size() - m_outOffset + m_pipeBytes; }
    void shutdownWrite() override;
    void setReading(bool on) override;
    bool atEnd() const override { return m_eof; }
    void close() override;
    int descriptor() const { return m_fd; }

    // Moves up to max bytes from source into this stream inside the kernel (splice through a pipe
    // of this stream's), so a tunnel's bytes never pass through user space. Returns how many bytes
    // were taken from source, 0 when it has none now (then see source.atEnd()), or -1 when splicing
    // cannot be used here and read()/write() must be. Once bytes are spliced in, write() is not used
    // on this stream again: the two queues would not keep their order.
    qint64 spliceFrom(FdStream &source, qint64 max);
    // Nothing written with write() is still queued, so spliceFrom() can proceed.
    bool canSplice() const { return m_out.size() == m_outOffset; }

private:
    FdStream(int fd, bool connecting, QObject *parent);
    void onWritable();
    void flush();
    void flushPipe();
    void updateNotifiers();
    void failWith(const QString &what, int err);

    int m_fd = -1;
    QSocketNotifier *m_readNotifier = nullptr;
    QSocketNotifier *m_writeNotifier = nullptr;
    QByteArray m_out;
    qsizetype m_outOffset = 0;
    int m_pipe[2] = {-1, -1};   // splice buffer: read end, write end
    qint64 m_pipeBytes = 0;
    qint64 m_pipeCapacity = 0;
    bool m_spliceBroken = false;
    bool m_connecting = false;
    bool m_reading = true;
    bool m_eof = false;
    bool m_shutdownPending = false;
    bool m_writeShut = false;
    bool m_failed = false;
};

// TLS to an upstream server over a TCP connection to exactly the checked address; the certificate
// is verified against the host name (also sent as SNI), never against the address.
class TlsStream : public Stream
{
    Q_OBJECT
public:
    TlsStream(const QHostAddress &address, quint16 port, const QString &hostName,
              const QSslConfiguration &config, QObject *parent = nullptr);
    ~TlsStream() override;

    qint64 read(char *data, qint64 max) override;
    void write(QByteArrayView data) override;
    qint64 pending() const override;
    void shutdownWrite() override;
    void setReading(bool on) override;
    bool atEnd() const override;
    void close() override;

private:
    QSslSocket *m_socket;
    bool m_reading = true;
    bool m_encrypted = false;
    bool m_eof = false;
};

} // namespace airlock::egress
