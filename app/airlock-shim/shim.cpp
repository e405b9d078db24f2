#include "shim.h"

#include "log.h"
#include "paths.h"

#include <fcntl.h>
#include <signal.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace airlock::shim {

std::int64_t nowMs()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

Shim::Shim(Options options) : m_options(std::move(options)), m_scratch(256u << 10) {}

Shim::~Shim()
{
    if (m_ownSocketFile)
        ::unlink(m_options.controlPath.c_str());
}

int Shim::run()
{
    if (!setup())
        return 1;
    while (!m_done)
        loopOnce();
    finalFlush();
    return 0;
}

bool Shim::setup()
{
    // Orphans of our execs must come to us to be reaped even when we are not pid 1 (on the host,
    // in tests), just as they would in the sandbox's pid namespace.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    ::signal(SIGPIPE, SIG_IGN);
    // Under RLIMIT_FSIZE a large WriteFile must fail with EFBIG, not kill the shim.
    ::signal(SIGXFSZ, SIG_IGN);
    // Whatever the launcher handed down beyond stdio must not reach exec children: only the control
    // socket is meant for us, and it is taken below.
    if (::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0) {
        for (int fd = 3; fd < 1024; ++fd)
            ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    if (m_options.maxProcesses > 0) {
        // Counted per user namespace, so this bounds the sandbox's processes, not the user's.
        const rlimit limit{static_cast<rlim_t>(m_options.maxProcesses), static_cast<rlim_t>(m_options.maxProcesses)};
        if (::setrlimit(RLIMIT_NPROC, &limit) != 0) {
            logErrno("cannot limit processes to %ld", m_options.maxProcesses);
            return false;
        }
    }

    sigset_t mask;
    sigemptyset(&mask);
    for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP})
        sigaddset(&mask, sig);
    if (::sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) {
        logErrno("cannot block signals");
        return false;
    }
    m_signalFd.reset(::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
    if (!m_signalFd) {
        logErrno("cannot create a signalfd");
        return false;
    }

    if (!m_options.workspace.empty()) {
        while (m_options.workspace.size() > 1 && m_options.workspace.back() == '/')
            m_options.workspace.pop_back();
        m_rootFd.reset(::open(m_options.workspace.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!m_rootFd) {
            logErrno("cannot open the workspace %s", m_options.workspace.c_str());
            return false;
        }
        if (m_options.useOpenat2 && !probeOpenat2(m_rootFd.get())) {
            logInfo("openat2 is unavailable; resolving workspace paths by hand");
            m_options.useOpenat2 = false;
        }
    }
    if ((!m_options.proxySocket.empty() || m_options.proxyTunnel) && !listenProxy())
        return false;
    if (m_options.stdio)
        return takeStdio();
    if (!m_options.connectPath.empty()) {
        m_nextConnectMs = 0;
        connectControl();
        return true;
    }
    return listenControl();
}

// Stdio mode: the backend reaches us through the container's attach stream, so our one client is
// fd 0 (requests) and fd 1 (frames). Both move above 2, close-on-exec and non-blocking, and 0 and 1
// are pointed at /dev/null and stderr: neither an exec child nor a stray write of our own can then
// put a byte into the stream that is not a frame. They may be pipes, so the client is served with
// read() and write(), never socket calls.
bool Shim::takeStdio()
{
    // The stream is pipes, and a pipe can be opened again through /proc/PID/fd by any process of the
    // same uid, which the sandboxed ones are: they could read the backend's requests or forge frames.
    // Not dumpable, our /proc entries are closed to them (they hold no CAP_SYS_PTRACE). The backend
    // makes us PID 1, so no init process holds the pipes either.
    if (::prctl(PR_SET_DUMPABLE, 0) != 0) {
        logErrno("cannot make the shim undumpable for --stdio");
        return false;
    }
    Fd in(::fcntl(0, F_DUPFD_CLOEXEC, 3));
    Fd out(::fcntl(1, F_DUPFD_CLOEXEC, 3));
    Fd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!in || !out || !null || ::dup2(null.get(), 0) < 0 || ::dup2(2, 1) < 0) {
        logErrno("cannot take over stdin and stdout for --stdio");
        return false;
    }
    for (int fd : {in.get(), out.get()})
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    auto client = std::make_unique<Client>();
    client->serial = m_nextSerial++;
    client->fd = std::move(in);
    client->outFd = std::move(out);
    m_clients.push_back(std::move(client));
    return true;
}

// Connect mode: the backend listens and we are its one client. Until it answers (and whenever the
// connection drops, say while Airlock restarts) we try again every kReconnectMs.
void Shim::connectControl()
{
    constexpr std::int64_t kReconnectMs = 200;
    const bool connected = std::any_of(m_clients.begin(), m_clients.end(), [](const auto &c) { return !c->dead; });
    if (connected || m_shuttingDown || m_nextConnectMs < 0 || nowMs() < m_nextConnectMs)
        return;
    m_nextConnectMs = nowMs() + kReconnectMs;
    sockaddr_un addr{};
    const std::string &path = m_options.connectPath;
    if (path.size() >= sizeof(addr.sun_path)) {
        logError("control socket path is too long: %s", path.c_str());
        m_nextConnectMs = -1;
        return;
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    // Non-blocking: a unix connect completes at once or fails (EAGAIN with a full backlog).
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0)
        return; // not listening yet, or gone for now
    auto client = std::make_unique<Client>();
    client->serial = m_nextSerial++;
    client->fd = std::move(fd);
    m_clients.push_back(std::move(client));
}

bool Shim::listenControl()
{
    if (m_options.controlFd >= 0) {
        int listening = 0;
        socklen_t len = sizeof listening;
        if (::getsockopt(m_options.controlFd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) {
            logError("--control-fd %d is not a listening socket", m_options.controlFd);
            return false;
        }
        ::fcntl(m_options.controlFd, F_SETFD, FD_CLOEXEC);
        ::fcntl(m_options.controlFd, F_SETFL, ::fcntl(m_options.controlFd, F_GETFL) | O_NONBLOCK);
        m_listenFd.reset(m_options.controlFd);
        return true; // the socket file belongs to whoever bound it
    }
    const std::string &path = m_options.controlPath;
    // Bound under a temporary name and renamed into place once listening, so the socket's path
    // appearing means it accepts connections: no client ever has to retry.
    const std::string temp = path + ".tmp." + std::to_string(::getpid());
    sockaddr_un addr{};
    if (temp.size() >= sizeof(addr.sun_path)) {
        logError("control socket path is too long: %s", path.c_str());
        return false;
    }
    struct stat st{};
    if (::lstat(path.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode)) {
        logError("%s exists and is not a socket", path.c_str());
        return false;
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, temp.c_str(), temp.size() + 1);
    m_listenFd.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!m_listenFd) {
        logErrno("cannot create the control socket");
        return false;
    }
    ::unlink(temp.c_str());
    const mode_t old = ::umask(0777 & ~m_options.socketMode);
    const int bound = ::bind(m_listenFd.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr);
    ::umask(old);
    if (bound != 0 || ::listen(m_listenFd.get(), 64) != 0 || ::rename(temp.c_str(), path.c_str()) != 0) {
        logErrno("cannot listen on %s", path.c_str());
        ::unlink(temp.c_str());
        return false;
    }
    m_ownSocketFile = true;
    return true;
}

void Shim::loopOnce()
{
    m_pollFds.clear();
    m_watches.clear();
    watch(m_signalFd.get(), POLLIN, Kind::Signal, nullptr);
    if (m_listenFd)
        watch(m_listenFd.get(), POLLIN, Kind::Listen, nullptr);
    bool busy = false;
    for (const auto &client : m_clients) {
        if (client->dead)
            continue;
        short events = 0;
        if (!client->closing && !client->congested() && !stdinCongested(*client))
            events |= POLLIN;
        if (client->outFd) {
            if (client->unsent() > 0)
                watch(client->outFd.get(), POLLOUT, Kind::ClientOut, client.get());
        } else if (client->unsent() > 0) {
            events |= POLLOUT;
        }
        watch(client->fd.get(), events, Kind::ClientFd, client.get());
        busy = busy || (!client->reads.empty() && !client->congested());
    }
    for (const auto &exec : m_execs) {
        if (exec->done)
            continue;
        const Client *client = findClient(exec->clientSerial);
        const bool blocked = client && client->congested();
        if (exec->out && !blocked)
            watch(exec->out.get(), POLLIN, Kind::ExecOut, exec.get());
        if (exec->err && !blocked)
            watch(exec->err.get(), POLLIN, Kind::ExecErr, exec.get());
        if (exec->in && exec->stdinPending() > 0)
            watch(exec->in.get(), POLLOUT, Kind::ExecIn, exec.get());
    }
    addBridgeWatches();
    addTunnelWatches();

    const int timeout = busy ? 0 : pollTimeout(nowMs());
    if (::poll(m_pollFds.data(), m_pollFds.size(), timeout) < 0 && errno != EINTR) {
        logErrno("poll failed");
        beginShutdown(0);
    }

    // Handlers may add clients, execs and bridges (never free them), so index, don't iterate.
    for (std::size_t i = 0; i < m_pollFds.size(); ++i) {
        const short revents = m_pollFds[i].revents;
        if (revents == 0)
            continue;
        const Watch w = m_watches[i];
        switch (w.kind) {
        case Kind::Signal:
            handleSignals();
            break;
        case Kind::Listen:
            acceptClients();
            break;
        case Kind::ClientFd: {
            auto *client = static_cast<Client *>(w.object);
            if (!client->dead && (revents & (POLLIN | POLLHUP | POLLERR))) {
                // A closing client only gets its error flushed; its hangup ends it early.
                if (client->closing)
                    dropClient(*client);
                else
                    readClient(*client);
            }
            if (!client->dead && (revents & POLLOUT))
                writeClient(*client);
            break;
        }
        case Kind::ClientOut: {
            // Writable, or its reader is gone (POLLERR on a pipe): the write says which.
            auto *client = static_cast<Client *>(w.object);
            if (!client->dead)
                writeClient(*client);
            break;
        }
        case Kind::ExecOut:
        case Kind::ExecErr: {
            auto *exec = static_cast<Exec *>(w.object);
            if (!exec->done)
                readExecOutput(*exec, w.kind == Kind::ExecErr, false);
            break;
        }
        case Kind::ExecIn: {
            auto *exec = static_cast<Exec *>(w.object);
            if (!exec->done)
                writeExecStdin(*exec);
            break;
        }
        case Kind::ProxyListen:
            if (m_options.proxyTunnel)
                acceptTunnels();
            else
                acceptBridges();
            break;
        case Kind::BridgeTcp:
        case Kind::BridgeLocal:
            serviceBridge(*static_cast<Bridge *>(w.object), revents);
            break;
        case Kind::TunnelTcp:
            serviceTunnel(*static_cast<Tunnel *>(w.object), revents);
            break;
        }
    }

    for (const auto &client : m_clients) {
        if (!client->dead)
            pumpReads(*client);
    }
    const std::int64_t now = nowMs();
    checkTimers(now);
    sweep();
    if (m_nextConnectMs >= 0)
        connectControl();
    if (m_shuttingDown && (runningExecs() == 0 || now >= m_shutdownBy))
        m_done = true;
}

void Shim::watch(int fd, short events, Kind kind, void *object)
{
    m_pollFds.push_back(pollfd{fd, events, 0});
    m_watches.push_back(Watch{kind, object});
}

int Shim::pollTimeout(std::int64_t now) const
{
    std::int64_t next = -1;
    auto consider = [&](std::int64_t at) {
        if (at >= 0 && (next < 0 || at < next))
            next = at;
    };
    for (const auto &exec : m_execs) {
        if (!exec->done)
            consider(exec->deadlineMs);
    }
    for (const GroupKill &kill : m_groupKills)
        consider(kill.atMs);
    for (const auto &client : m_clients) {
        if (client->closing)
            consider(client->closeBy);
    }
    if (m_shuttingDown)
        consider(m_shutdownBy);
    const bool connected = std::any_of(m_clients.begin(), m_clients.end(), [](const auto &c) { return !c->dead; });
    if (m_nextConnectMs >= 0 && !connected && !m_shuttingDown)
        consider(m_nextConnectMs);
    if (next < 0)
        return -1;
    return static_cast<int>(std::clamp<std::int64_t>(next - now, 0, 60000));
}

void Shim::handleSignals()
{
    bool child = false;
    signalfd_siginfo info{};
    while (::read(m_signalFd.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        if (info.ssi_signo == SIGCHLD)
            child = true;
        else
            beginShutdown(wire::DefaultKillGraceMs);
    }
    // SIGCHLD coalesces, so one wakeup reaps everything that is ready.
    if (child)
        reapChildren();
}

void Shim::beginShutdown(std::uint32_t graceMs, bool stopExecs)
{
    if (m_shuttingDown)
        return;
    m_shuttingDown = true;
    m_listenFd.reset();
    if (m_ownSocketFile) {
        ::unlink(m_options.controlPath.c_str());
        m_ownSocketFile = false;
    }
    m_proxyListenFd.reset();
    for (const auto &exec : m_execs) {
        if (stopExecs && !exec->done) {
            exec->flags |= wire::ExitFlag::Killed;
            stopGroup(*exec, graceMs);
        }
    }
    // SIGKILL lands at graceMs; leave a moment after it for the exits to be reaped and reported.
    m_shutdownBy = nowMs() + graceMs + 500;
}

void Shim::finalFlush()
{
    for (const GroupKill &kill : m_groupKills)
        ::kill(-kill.pgid, SIGKILL);
    for (const auto &exec : m_execs) {
        if (!exec->done)
            ::kill(-exec->pid, SIGKILL);
    }
    // As pid 1 of a namespace, whatever escaped its process group goes too. Never on the host.
    if (::getpid() == 1)
        ::kill(-1, SIGKILL);
    reapChildren();

    // Best effort: give clients a moment to take the last exit frames.
    const std::int64_t until = nowMs() + 500;
    for (;;) {
        std::vector<pollfd> fds;
        std::vector<Client *> owners;
        for (const auto &client : m_clients) {
            if (!client->dead && client->unsent() > 0) {
                fds.push_back(pollfd{client->writeFd(), POLLOUT, 0});
                owners.push_back(client.get());
            }
        }
        const std::int64_t left = until - nowMs();
        if (fds.empty() || left <= 0)
            break;
        if (::poll(fds.data(), fds.size(), static_cast<int>(left)) < 0 && errno != EINTR)
            break;
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].revents != 0)
                writeClient(*owners[i]);
        }
    }
}

} // namespace airlock::shim
