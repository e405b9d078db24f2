#include "docker/gvisor.h"

#include "policy/compiler.h"

#include <QJsonArray>

namespace airlock::docker {

QStringList gvisorRuntimeArgs()
{
    // --host-uds=open: the shim's control socket and the egress proxy's are host sockets in the
    //   bind-mounted control folder; without it gVisor refuses to connect to them.
    // --oci-seccomp: the policy's seccomp profile applies inside gVisor too (it does not by default).
    // --network=none: Airlock's containers have no network of their own (egress goes through the
    //   proxy's socket), and gVisor's netstack refuses to start in some hosts' network namespaces.
    return {QStringLiteral("--host-uds=open"), QStringLiteral("--oci-seccomp"), QStringLiteral("--network=none")};
}

QString GvisorStatus::stateName() const
{
    switch (state) {
    case State::NoDocker: return QStringLiteral("no-docker");
    case State::NotInstalled: return QStringLiteral("not-installed");
    case State::NotRegistered: return QStringLiteral("not-registered");
    case State::MissingFlags: return QStringLiteral("missing-flags");
    case State::Ready: return QStringLiteral("ready");
    }
    return {};
}

GvisorStatus gvisorStatus(const QJsonObject &daemonInfo, const QString &runscPath)
{
    const QString name = QString::fromLatin1(policy::kGvisorRuntime);
    const QString setup = QStringLiteral("packaging/ensure-dockerd.sh --gvisor");
    GvisorStatus s;
    if (daemonInfo.isEmpty()) {
        s.detail = QStringLiteral("the Docker daemon does not answer, so whether gVisor is registered cannot be told");
        s.fix = QStringLiteral("packaging/ensure-dockerd.sh");
        return s;
    }
    const QJsonObject runtime = daemonInfo.value(u"Runtimes").toObject().value(name).toObject();
    if (runtime.isEmpty()) {
        s.state = runscPath.isEmpty() ? GvisorStatus::State::NotInstalled : GvisorStatus::State::NotRegistered;
        s.detail = runscPath.isEmpty() ? QStringLiteral("runsc (gVisor) is not installed")
                                       : QStringLiteral("runsc is at %1, but dockerd has no runtime named %2").arg(runscPath, name);
        s.fix = setup;
        return s;
    }
    QStringList have;
    for (const QJsonValue &v : runtime.value(u"runtimeArgs").toArray())
        have << v.toString();
    QStringList missing;
    for (const QString &arg : gvisorRuntimeArgs()) {
        const bool present = have.contains(arg) || (!arg.contains(u'=') && have.contains(arg + QStringLiteral("=true")));
        if (!present)
            missing << arg;
    }
    if (!missing.isEmpty()) {
        s.state = GvisorStatus::State::MissingFlags;
        s.detail = QStringLiteral("the %1 runtime lacks %2").arg(name, missing.join(u' '));
        s.fix = setup;
        return s;
    }
    s.state = GvisorStatus::State::Ready;
    s.detail = QStringLiteral("%1 runs %2 %3").arg(name, runtime.value(u"path").toString(), have.join(u' '));
    return s;
}

} // namespace airlock::docker
