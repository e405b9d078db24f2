#pragma once

#include "error.h"

#include <QObject>
#include <QString>

class QSocketNotifier;

namespace airlock::docker {

// The host end of a Docker sandbox's control socket. The backend listens in the control folder, which
// the container sees read-only, and the shim inside connects out to it: nothing in the container can
// replace the socket or write to the host's disk through the folder, as it could if the shim bound the
// socket itself. One connection is taken, then the socket goes, so nothing else can connect after it.
//
// A connection is checked with SO_PEERCRED: its process must be running the shim binary. Where this
// user cannot see that (rootless runtimes map the container to other uids), the connection is taken
// only while `trustFirst` holds, i.e. right after launch, before anything but the shim runs inside.
class ShimListener : public QObject
{
    Q_OBJECT
public:
    explicit ShimListener(QString socketPath, QString shimBinary, QObject *parent = nullptr);
    ~ShimListener() override;

    Result<void> listen(bool trustFirst);
    // Under gVisor the shim's connection reaches the host through the container's gofer, a process of
    // the runtime's binary whose arguments name the container: that process is taken in its place.
    void acceptGofer(const QString &runtimeBinary, const QString &containerId);
    void close();
    bool isListening() const { return m_fd >= 0; }

Q_SIGNALS:
    // The shim's connection; the receiver owns the descriptor.
    void connected(qintptr fd);
    // A connection that was refused, and why (it is closed; listening goes on).
    void refused(const QString &why);

private:
    void acceptOne();
    // Empty when `pid` runs the shim binary; why not otherwise. `unknown` says it could not be told.
    QString checkPeer(qint64 pid, bool *unknown) const;
    bool isGofer(qint64 pid) const;

    QString m_path;
    QString m_shimBinary;
    QString m_goferBinary; // gVisor's runsc, when the container runs under it
    QString m_containerId;
    int m_fd = -1;
    bool m_trustFirst = false;
    QSocketNotifier *m_notifier = nullptr;
};

} // namespace airlock::docker
