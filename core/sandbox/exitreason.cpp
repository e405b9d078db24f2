// Why a sandboxed process ended, in words a person can act on. The same sentence goes to exec
// results, events, airlockctl and the GUI, so that a 137 never arrives without its cause.
#include "sandbox/shimprotocol.h"

#include <csignal>
#include <cstring>

namespace airlock::sandbox {

QString signalName(int signal)
{
    // sigabbrev_np is glibc 2.32+; the table keeps the names stable across C libraries.
    static constexpr std::pair<int, const char *> names[] = {
        {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
        {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
        {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
        {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"}, {SIGCHLD, "SIGCHLD"},
        {SIGCONT, "SIGCONT"}, {SIGSTOP, "SIGSTOP"}, {SIGTSTP, "SIGTSTP"}, {SIGTTIN, "SIGTTIN"},
        {SIGTTOU, "SIGTTOU"}, {SIGURG, "SIGURG"},   {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"},
        {SIGVTALRM, "SIGVTALRM"}, {SIGPROF, "SIGPROF"}, {SIGWINCH, "SIGWINCH"}, {SIGIO, "SIGIO"},
        {SIGPWR, "SIGPWR"},   {SIGSYS, "SIGSYS"},
    };
    for (const auto &[number, name] : names) {
        if (number == signal)
            return QString::fromLatin1(name);
    }
    return QStringLiteral("signal %1").arg(signal);
}

QString ExitStatus::reasonCode() const
{
    if (outOfMemory)
        return QStringLiteral("oom");
    if (outputCapStopped)
        return QStringLiteral("output-cap");
    if (timedOut)
        return QStringLiteral("timeout");
    if (killed)
        return QStringLiteral("killed");
    if (signal == SIGXCPU)
        return QStringLiteral("cpu-limit");
    if (signal == SIGXFSZ)
        return QStringLiteral("file-size-limit");
    if (signal)
        return QStringLiteral("signal");
    return QStringLiteral("exited");
}

QString ExitStatus::reason() const
{
    QString how;
    if (signal) {
        how = QStringLiteral("killed by %1").arg(signalName(*signal));
        if (coreDumped)
            how += QStringLiteral(" (core dumped)");
    } else {
        how = QStringLiteral("exited with status %1").arg(exitCode.value_or(-1));
    }
    QString why;
    if (outOfMemory)
        why = QStringLiteral("out of memory: the sandbox's memory limit was reached and the kernel killed it");
    else if (outputCapStopped)
        why = QStringLiteral("stopped because its output passed the cap (maxOutputBytes); %1 bytes written")
                  .arg(outputBytes);
    else if (timedOut)
        why = QStringLiteral("stopped because it ran past its time limit");
    else if (killed)
        why = QStringLiteral("stopped on request");
    else if (signal == SIGXCPU)
        why = QStringLiteral("its CPU time limit (RLIMIT_CPU) ran out");
    else if (signal == SIGXFSZ)
        why = QStringLiteral("it wrote past the file size limit (maxFileBytes)");
    else if (signal == SIGKILL)
        why = QStringLiteral("no limit of Airlock's was involved that Airlock could see");
    if (outputTruncated && !outputCapStopped)
        why += (why.isEmpty() ? QString() : QStringLiteral("; ")) + QStringLiteral("output beyond the cap was dropped");
    return why.isEmpty() ? how : how + QStringLiteral(": ") + why;
}

} // namespace airlock::sandbox
