#include "shim.h"

#include "log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace airlock::shim {

namespace {

std::size_t pending(const std::string &buffer, std::size_t pos)
{
    return buffer.size() - pos;
}

// Reads what fits into the direction's bounded buffer; false on a hard error.
bool fill(int fd, std::string &buffer, std::size_t &pos, bool &eof)
{
    if (eof)
        return true;
    if (pos > 0) {
        buffer.erase(0, pos);
        pos = 0;
    }
    const std::size_t room = BridgeBuffer - std::min(BridgeBuffer, buffer.size());
    if (room == 0)
        return true;
    const std::size_t old = buffer.size();
    buffer.resize(old + room);
    ssize_t n;
    do {
        n = ::recv(fd, buffer.data() + old, room, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    buffer.resize(old + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
    if (n == 0)
        eof = true;
    return n >= 0 || errno == EAGAIN;
}

bool drain(int fd, std::string &buffer, std::size_t &pos)
{
    while (pending(buffer, pos) > 0) {
        const ssize_t n = ::send(fd, buffer.data() + pos, pending(buffer, pos), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN;
        }
        pos += static_cast<std::size_t>(n);
    }
    buffer.clear();
    pos = 0;
    return true;
}

} // namespace

bool Shim::listenProxy()
{
    sockaddr_un target{};
    if (!m_options.proxyTunnel && m_options.proxySocket.size() >= sizeof(target.sun_path)) {
        logError("proxy socket path is too long: %s", m_options.proxySocket.c_str());
        return false;
    }
    if (m_options.proxyPort < 0 || m_options.proxyPort > 65535) {
        logError("proxy port %d is out of range", m_options.proxyPort);
        return false;
    }
    m_proxyListenFd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!m_proxyListenFd) {
        logErrno("cannot create the proxy listener");
        return false;
    }
    const int one = 1;
    ::setsockopt(m_proxyListenFd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(m_options.proxyPort));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof addr;
    if (::bind(m_proxyListenFd.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0
        || ::listen(m_proxyListenFd.get(), 128) != 0
        || ::getsockname(m_proxyListenFd.get(), reinterpret_cast<sockaddr *>(&addr), &length) != 0) {
        logErrno("cannot listen on 127.0.0.1:%d", m_options.proxyPort);
        m_proxyListenFd.reset();
        return false;
    }
    m_proxyPort = ntohs(addr.sin_port);
    return true;
}

void Shim::acceptBridges()
{
    for (;;) {
        Fd tcp(::accept4(m_proxyListenFd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!tcp)
            return;
        const auto live = std::count_if(m_bridges.begin(), m_bridges.end(), [](const auto &b) { return !b->dead; });
        if (static_cast<std::size_t>(live) >= MaxBridges)
            continue;
        // The proxy is local and listening, so connect() completes at once or fails (EAGAIN is a
        // full backlog); either way the sandboxed client gets a closed connection it can retry.
        Fd local(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, m_options.proxySocket.c_str(), m_options.proxySocket.size() + 1);
        if (!local || ::connect(local.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0)
            continue;
        auto bridge = std::make_unique<Bridge>();
        bridge->tcp = std::move(tcp);
        bridge->local = std::move(local);
        m_bridges.push_back(std::move(bridge));
    }
}

void Shim::addBridgeWatches()
{
    if (m_proxyListenFd)
        watch(m_proxyListenFd.get(), POLLIN, Kind::ProxyListen, nullptr);
    for (const auto &b : m_bridges) {
        if (b->dead)
            continue;
        short tcpEvents = 0;
        short localEvents = 0;
        if (!b->tcpEof && pending(b->up, b->upPos) < BridgeBuffer)
            tcpEvents |= POLLIN;
        if (pending(b->down, b->downPos) > 0)
            tcpEvents |= POLLOUT;
        if (!b->localEof && pending(b->down, b->downPos) < BridgeBuffer)
            localEvents |= POLLIN;
        if (pending(b->up, b->upPos) > 0)
            localEvents |= POLLOUT;
        // A side with nothing to do is not watched at all: a hung-up socket would otherwise
        // report POLLHUP on every poll while the other direction is still draining.
        if (tcpEvents != 0)
            watch(b->tcp.get(), tcpEvents, Kind::BridgeTcp, b.get());
        if (localEvents != 0)
            watch(b->local.get(), localEvents, Kind::BridgeLocal, b.get());
    }
}

void Shim::serviceBridge(Bridge &b, short revents)
{
    if (b.dead)
        return;
    const bool ok = !(revents & POLLERR)
                    && fill(b.tcp.get(), b.up, b.upPos, b.tcpEof) && drain(b.local.get(), b.up, b.upPos)
                    && fill(b.local.get(), b.down, b.downPos, b.localEof) && drain(b.tcp.get(), b.down, b.downPos);
    if (!ok) {
        b.dead = true;
        return;
    }
    // Half-close travels through: EOF from one side becomes a shutdown of the other once the
    // bytes before it are delivered, so request/response protocols that rely on it still work.
    if (b.tcpEof && pending(b.up, b.upPos) == 0 && !b.upShut) {
        ::shutdown(b.local.get(), SHUT_WR);
        b.upShut = true;
    }
    if (b.localEof && pending(b.down, b.downPos) == 0 && !b.downShut) {
        ::shutdown(b.tcp.get(), SHUT_WR);
        b.downShut = true;
    }
    if (b.upShut && b.downShut)
        b.dead = true;
}

} // namespace airlock::shim
