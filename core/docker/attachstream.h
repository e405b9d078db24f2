#pragma once

#include "docker/streamframes.h"
#include "error.h"

#include <QObject>
#include <QPointer>

// A container's stdin, stdout and stderr over one upgraded connection to the daemon (POST
// /containers/{id}/attach), for containers made without a TTY: what the daemon sends is multiplexed
// (streamframes.h) and split here. Attaching before the container starts loses nothing it writes.
// This is how a sandbox on a daemon of another machine reaches its shim (`airlock-shim --stdio`).

namespace airlock::docker {

class DockerClient;

class AttachStream : public QObject
{
    Q_OBJECT
public:
    AttachStream(DockerClient *client, QString container, QObject *parent = nullptr);
    ~AttachStream() override;

    void open();
    bool isOpen() const { return m_open; }
    // Queued until the stream is open; dropped after it closed.
    void write(QByteArrayView bytes);
    // Closes the connection; the container's stdin stays open for a later attach.
    void close();

Q_SIGNALS:
    void opened();
    void stdoutReceived(const QByteArray &bytes);
    void stderrReceived(const QByteArray &bytes);
    // Once: the daemon closed the stream (the container ended, or the daemon went away), the attach was
    // refused, or what it sent broke the framing. Not after close().
    void closed(const airlock::Error &why);

private:
    void feed(QByteArrayView bytes);
    void end(const Error &why);

    QPointer<DockerClient> m_client;
    QString m_container;
    quint64 m_call = 0;
    bool m_open = false;
    bool m_ended = false;
    QByteArray m_pending;
    MultiplexDecoder m_decoder;
};

} // namespace airlock::docker
