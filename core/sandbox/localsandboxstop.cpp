// LocalSandbox, the way out: stopping and killing, releasing the cgroups, and removing every trace
// on the host once destroyed.

#include "sandbox/localsandbox.h"

#include "sandbox/localbackend.h"
#include "sandbox/protectionlayer.h"
#include "sandbox/cgroupfs.h"
#include "sandbox/shimclient.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QLoggingCategory>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

Q_DECLARE_LOGGING_CATEGORY(lcSandbox)

namespace airlock::sandbox {

namespace {

// The state letter of /proc/PID/stat ('R' running, 'S' sleeping, 'T' stopped …); 0 if unknown.
char processState(pid_t pid)
{
    const Result<QByteArray> stat = cgroupfs::readSmallFile(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!stat)
        return 0;
    const qsizetype close = stat->lastIndexOf(')');
    return close >= 0 && close + 2 < stat->size() ? stat->at(close + 2) : 0;
}

} // namespace

void LocalSandbox::failStart(const QString &message)
{
    if (m_failed || state() != SandboxState::Starting)
        return;
    m_failed = true;
    m_startTimer.stop();
    m_stopReason = message;
    if (m_exited)
        finishStopped();
    else
        beginKill();
}

void LocalSandbox::stopBecause(const QString &reason)
{
    const SandboxState now = state();
    if (now != SandboxState::Starting && now != SandboxState::Running)
        return;
    m_stopReason = reason;
    if (m_state.lifecycle == policy::Lifecycle::Persistent)
        stop();
    else
        destroy();
}

void LocalSandbox::stop(int graceMs)
{
    const SandboxState now = state();
    if (now != SandboxState::Starting && now != SandboxState::Running) {
        if (now != SandboxState::Stopping && m_destroyAfterStop)
            removeTraces();
        return;
    }
    if (m_stopReason.isEmpty())
        m_stopReason = QStringLiteral("stopped on request");
    const int grace = graceMs < 0 ? m_backend->options().stopGraceMs : graceMs;
    m_deadlineTimer.stop();
    m_startTimer.stop();
    setState(SandboxState::Stopping, m_stopReason);
    if (m_exited) {
        finishStopped();
        return;
    }
    if (ShimClient *client = shim(); grace > 0 && client && client->isReady())
        client->shutdown(grace);
    else
        beginKill();
    // The shim exits grace + 0.5 s after a shutdown at the latest; past that it is not listening.
    m_killTimer.start(grace + 1500);
}

void LocalSandbox::beginKill()
{
    if (m_exited)
        return;
    if (m_infoFd >= 0)
        readInfo();
    // SIGKILL to pid 1 of its pid namespace ends every process in it, and bwrap exits once it has
    // reaped it (if pid 1 died while bwrap still set it up, the kill timer ends bwrap too). Without
    // that pid, bwrap itself is killed.
    const bool killedInit = m_state.initPid > 0 && m_state.pidNamespace != 0
                            && pidNamespaceOf(m_state.initPid) == m_state.pidNamespace
                            && ::kill(static_cast<pid_t>(m_state.initPid), SIGKILL) == 0;
    if (killedInit)
        return;
    const auto bwrap = static_cast<pid_t>(m_state.bwrapPid);
    if (bwrap <= 0 || !(m_child || processStartTime(bwrap) == m_state.bwrapStartTime))
        return;
    if (m_child) {
        // pid 1 may exist without our knowing it yet (bwrap has not said): held still, bwrap can
        // make no other, and the one it made is its child, which would otherwise wait forever for
        // the parent killed below.
        ::kill(bwrap, SIGSTOP);
        for (int i = 0; i < 50 && processState(bwrap) == 'R'; ++i)
            ::usleep(200);
        const Result<QByteArray> children =
            cgroupfs::readSmallFile(QStringLiteral("/proc/%1/task/%1/children").arg(bwrap));
        if (children) {
            for (const QByteArray &pid : children->split(' ')) {
                if (const int child = pid.trimmed().toInt(); child > 0)
                    ::kill(child, SIGKILL);
            }
        }
    }
    ::kill(bwrap, SIGKILL);
}

void LocalSandbox::finishStopped()
{
    m_killTimer.stop();
    m_startTimer.stop();
    m_deadlineTimer.stop();
    closeNotifiers();
    if (!QFileInfo::exists(m_dir)) {
        // Its owner destroyed it; there is nothing left for us to do.
        setState(SandboxState::Destroyed, QStringLiteral("destroyed by another Airlock process"));
        m_backend->forget(m_state.id);
        return;
    }
    tryReleaseCgroup();
    // The workspace's protection layer lives as long as the sandbox.
    if (!unmountProtectionLayer(protectionMountPoint(m_dir)))
        qCWarning(lcSandbox) << "cannot unmount the protection layer at" << protectionMountPoint(m_dir);
    if (m_failed && !m_log.isEmpty())
        m_stopReason += QStringLiteral("; bwrap said: ") + logTail();
    const SandboxState final = m_failed ? SandboxState::Failed : SandboxState::Stopped;
    const bool announce = m_state.state != final;
    m_state.state = final;
    m_state.message = m_stopReason;
    if (!m_destroyAfterStop) // removeTraces deletes the file right below
        saveState();
    setState(final, m_stopReason);
    if (announce && mutableInfo().owned) {
        QJsonObject payload = eventPayload();
        payload.insert(QStringLiteral("reason"), m_stopReason);
        m_backend->recordEvent(m_state.sessionId,
                               QString::fromLatin1(m_failed ? events::SandboxFailed : events::SandboxStopped), payload);
    }
    if (m_destroyAfterStop)
        removeTraces();
}

void LocalSandbox::tryReleaseCgroup()
{
    if (m_state.cgroup.directories.isEmpty())
        return;
    const QStringList left = Limiter::release(m_state.cgroup);
    if (left.isEmpty()) {
        m_state.cgroup.directories.clear();
        return;
    }
    // Processes leave a cgroup a moment after their namespace's init is reaped.
    if (++m_releaseTries < 50)
        m_releaseTimer.start(20);
    else
        qCWarning(lcSandbox) << "cannot remove cgroups" << left;
}

void LocalSandbox::destroy()
{
    if (state() == SandboxState::Destroyed)
        return;
    m_destroyAfterStop = true;
    if (m_stopReason.isEmpty())
        m_stopReason = QStringLiteral("destroyed on request");
    if (state() == SandboxState::Starting || state() == SandboxState::Running) {
        // Nothing of ours is running, so there is nothing to be gentle with: ending pid 1 ends it all
        // at once, without a round trip through the shim.
        stop(runningProcesses() == 0 ? 0 : -1);
        return;
    }
    if (state() != SandboxState::Stopping)
        removeTraces();
}

void LocalSandbox::removeTraces()
{
    if (state() == SandboxState::Destroyed)
        return;
    m_releaseTimer.stop();
    m_saveTimer.stop();
    QStringList left = Limiter::release(m_state.cgroup);
    // The workspace's idmapped view goes first; it lives outside the sandbox folder, so no removal of
    // that folder can ever reach into the workspace.
    const bool mountLeft = !m_state.workspaceMount.isEmpty() && !unmountAndRemove(m_state.workspaceMount);
    const bool removed = ::unlink(QFile::encodeName(m_dir + QStringLiteral("/state.json")).constData()) == 0;
    removeSandboxFolder();
    QJsonObject payload = eventPayload();
    payload.insert(QStringLiteral("reason"), m_stopReason);
    if (!left.isEmpty())
        payload.insert(QStringLiteral("cgroupsLeft"), left.join(QStringLiteral(", ")));
    if (mountLeft)
        payload.insert(QStringLiteral("mountLeft"), m_state.workspaceMount);
    // Only whoever removed the state file reports it, so two processes racing log it once.
    if (removed)
        m_backend->recordEvent(m_state.sessionId, QString::fromLatin1(events::SandboxDestroyed), payload);
    setState(SandboxState::Destroyed, m_stopReason);
    m_backend->forget(m_state.id);
}

void LocalSandbox::removeSandboxFolder()
{
    // What a sandbox leaves is known, so it goes without listing the folder; anything unexpected in it
    // makes an rmdir fail, and then the folder is emptied the slow way.
    // Never list a folder that still leads into the workspace.
    if (!unmountProtectionLayer(protectionMountPoint(m_dir)))
        return;
    const QByteArray dir = QFile::encodeName(m_dir);
    const auto in = [&dir](const char *name) { return QByteArray(dir).append(name); };
    ::unlink(in("/control/shim.sock").constData());
    ::unlink(in("/control/proxy.sock").constData()); // bound there by a session's egress proxy
    ::unlink(in("/state.json.tmp").constData());
    ::rmdir(in("/control").constData());
    if (::rmdir(dir.constData()) != 0 && errno != ENOENT)
        QDir(m_dir).removeRecursively();
}

void LocalSandbox::terminateNow(const QString &reason)
{
    if (state() == SandboxState::Destroyed)
        return;
    m_stopReason = reason;
    disconnectShim();
    if (!m_exited) {
        beginKill();
        if (m_child)
            ::waitpid(static_cast<pid_t>(m_state.bwrapPid), nullptr, 0);
        m_exited = true;
    }
    closeNotifiers();
    // The namespace's processes are gone once bwrap is reaped; the cgroups empty right after.
    for (int i = 0; i < 100 && !Limiter::release(m_state.cgroup).isEmpty(); ++i)
        ::usleep(2000);
    m_state.cgroup.directories.clear();
    removeTraces();
}

} // namespace airlock::sandbox
