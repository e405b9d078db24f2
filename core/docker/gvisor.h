#pragma once

#include <QJsonObject>
#include <QString>
#include <QStringList>

// gVisor on this machine, as the gvisor preset needs it: Debian's runsc, registered with dockerd as
// the runtime policy::kGvisorRuntime with the flags Airlock's containers need (packaging/ensure-dockerd.sh
// --gvisor writes that registration).

namespace airlock::docker {

// The arguments the registered runtime must carry, and why each.
QStringList gvisorRuntimeArgs();

struct GvisorStatus {
    enum class State {
        NoDocker,       // the daemon cannot be asked
        NotInstalled,   // no runsc on this machine
        NotRegistered,  // runsc is here, but dockerd has no runtime for Airlock
        MissingFlags,   // registered without some of gvisorRuntimeArgs()
        Ready,
    };
    State state = State::NoDocker;
    QString detail; // one line for people
    QString fix;    // what to run; empty when Ready

    bool ready() const { return state == State::Ready; }
    QString stateName() const; // no-docker, not-installed, not-registered, missing-flags, ready
};

// From the daemon's /info answer (empty: the daemon did not answer) and where runsc is on PATH (empty: not found).
GvisorStatus gvisorStatus(const QJsonObject &daemonInfo, const QString &runscPath);

} // namespace airlock::docker
