#include "shim.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

// The proxy tunnel (--proxy-tunnel): each TCP connection accepted on the proxy port becomes a stream
// over the control connection of the client that offered tunnels, which joins it to the egress
// proxy on the host. Used where the proxy's unix socket cannot be mounted into the sandbox.

namespace airlock::shim {

using wire::FrameType;
using wire::ShimError;
using wire::Tag;

namespace {

constexpr std::size_t TunnelChunk = 64u << 10;
constexpr std::uint32_t IdMask = ~wire::TunnelIdBit;
// Credit goes back in pieces of at least this much, or whenever everything received has been
// delivered, so a bulk transfer costs one credit frame per quarter window, not one per write.
constexpr std::uint64_t GrantThreshold = wire::TunnelWindow / 4;

// Whether id was opened on this connection: ids are handed out in order (wrapping after 2^31), so
// those between the first and the last opened ones were, even if their streams have ended since.
bool openedOn(const Client &client, std::uint32_t id)
{
    if (!(id & wire::TunnelIdBit) || client.firstTunnel == 0)
        return false;
    return ((id - client.firstTunnel) & IdMask) <= ((client.lastTunnel - client.firstTunnel) & IdMask);
}

std::string streamName(std::uint32_t id)
{
    char name[32];
    std::snprintf(name, sizeof name, "tunnel stream 0x%08x", static_cast<unsigned>(id));
    return name;
}

} // namespace

// The oldest negotiated client that offered tunnels: a stream stays with the connection it was
// opened on, and a backend that connects first keeps receiving them.
Client *Shim::tunnelClient()
{
    for (const auto &client : m_clients) {
        if (!client->dead && !client->closing && client->negotiated && client->tunnels)
            return client.get();
    }
    return nullptr;
}

void Shim::acceptTunnels()
{
    for (;;) {
        Fd tcp(::accept4(m_proxyListenFd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!tcp)
            return;
        // Without a client to carry it, or past the limit, the sandboxed program sees a closed
        // connection it can retry.
        Client *client = tunnelClient();
        const auto live = std::count_if(m_tunnels.begin(), m_tunnels.end(), [](const auto &t) { return !t->dead; });
        if (!client || static_cast<std::size_t>(live) >= MaxBridges)
            continue;
        std::uint32_t id = 0;
        do {
            id = wire::TunnelIdBit | (m_nextTunnel++ & IdMask);
        } while (std::any_of(m_tunnels.begin(), m_tunnels.end(), [id](const auto &t) { return !t->dead && t->id == id; }));
        if (client->firstTunnel == 0)
            client->firstTunnel = id;
        client->lastTunnel = id;
        auto tunnel = std::make_unique<Tunnel>();
        tunnel->id = id;
        tunnel->clientSerial = client->serial;
        tunnel->tcp = std::move(tcp);
        send(*client, FrameType::TunnelOpen, id, {});
        m_tunnels.push_back(std::move(tunnel));
    }
}

void Shim::addTunnelWatches()
{
    for (const auto &t : m_tunnels) {
        if (t->dead)
            continue;
        const Client *client = findClient(t->clientSerial);
        short events = 0;
        // Read only what the client has room for, and not while its connection is backed up.
        if (!t->tcpEof && t->sendCredit > 0 && client && !client->closing && !client->congested())
            events |= POLLIN;
        if (t->pending() > 0)
            events |= POLLOUT;
        // As for bridges: a side with nothing to do is not watched, or a hung-up socket would
        // report POLLHUP on every poll.
        if (events != 0)
            watch(t->tcp.get(), events, Kind::TunnelTcp, t.get());
    }
}

void Shim::serviceTunnel(Tunnel &t, short revents)
{
    if (t.dead)
        return;
    Client *client = findClient(t.clientSerial);
    if (!client) {
        t.dead = true;
        return;
    }
    if (revents & POLLERR) {
        endTunnel(t, "the sandbox's connection failed");
        return;
    }
    if (t.pending() > 0)
        writeTunnel(t);
    if (!t.dead && (revents & (POLLIN | POLLHUP)) && !t.tcpEof && t.sendCredit > 0)
        readTunnel(t, *client);
}

void Shim::readTunnel(Tunnel &t, Client &client)
{
    const std::size_t room = static_cast<std::size_t>(std::min<std::uint64_t>(t.sendCredit, TunnelChunk));
    ssize_t n;
    do {
        n = ::recv(t.tcp.get(), m_scratch.data(), room, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno != EAGAIN)
            endTunnel(t, std::string("reading the sandbox's connection failed: ") + std::strerror(errno));
        return;
    }
    if (n == 0) {
        // A half-close: the client passes it on once the bytes before it are delivered.
        t.tcpEof = true;
        send(client, FrameType::TunnelEof, t.id, {});
        t.dead = t.downShut;
        return;
    }
    t.sendCredit -= static_cast<std::uint64_t>(n);
    send(client, FrameType::TunnelData, t.id, std::string_view(m_scratch.data(), static_cast<std::size_t>(n)));
}

// Delivers what the client sent to the TCP socket and grants the client that much again.
void Shim::writeTunnel(Tunnel &t)
{
    while (t.pending() > 0) {
        const ssize_t n = ::send(t.tcp.get(), t.down.data() + t.downPos, t.pending(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                endTunnel(t, std::string("writing to the sandbox's connection failed: ") + std::strerror(errno));
            break;
        }
        t.downPos += static_cast<std::size_t>(n);
        t.delivered += static_cast<std::uint64_t>(n);
    }
    if (t.dead)
        return;
    if (t.pending() == 0) {
        t.down.clear();
        t.downPos = 0;
    }
    // After its EOF the client sends nothing more, so it needs no more credit.
    Client *client = findClient(t.clientSerial);
    if (client && !t.peerEof && t.delivered > 0 && (t.delivered >= GrantThreshold || t.pending() == 0)) {
        TlvBuilder grant;
        grant.u64(Tag::Length, t.delivered);
        send(*client, FrameType::TunnelCredit, t.id, grant.data());
        t.recvCredit += t.delivered;
        t.delivered = 0;
    }
    if (t.peerEof && t.pending() == 0 && !t.downShut) {
        ::shutdown(t.tcp.get(), SHUT_WR);
        t.downShut = true;
        t.dead = t.tcpEof; // both directions are over
    }
}

// Aborts a stream from our side: the TCP connection closes and the client is told to drop it.
void Shim::endTunnel(Tunnel &t, std::string_view why)
{
    if (t.dead)
        return;
    t.dead = true;
    if (Client *client = findClient(t.clientSerial)) {
        TlvBuilder body;
        body.bytes(Tag::Message, why);
        send(*client, FrameType::TunnelClose, t.id, body.data());
    }
}

Tunnel *Shim::findTunnel(const Client &client, std::uint32_t id)
{
    for (const auto &t : m_tunnels) {
        if (!t->dead && t->id == id && t->clientSerial == client.serial)
            return t.get();
    }
    return nullptr;
}

void Shim::dropTunnels(const Client &client)
{
    for (const auto &t : m_tunnels) {
        if (t->clientSerial == client.serial)
            t->dead = true;
    }
}

// Anything that breaks the tunnel rules is a protocol error: a client that miscounts credit or
// invents streams cannot be trusted with the others it carries.
void Shim::handleTunnelFrame(Client &client, const Frame &frame)
{
    const auto type = static_cast<FrameType>(frame.type);
    const std::string stream = streamName(frame.id);
    std::uint64_t grant = 0;
    switch (type) {
    case FrameType::TunnelOpen:
        failClient(client, ShimError::Malformed, "tunnel streams are opened by the shim, not by clients");
        return;
    case FrameType::TunnelEof:
        if (!frame.body.empty()) {
            failClient(client, ShimError::Malformed, "a tunnel eof carries no body (" + stream + ")");
            return;
        }
        break;
    case FrameType::TunnelClose:
    case FrameType::TunnelCredit: {
        TlvReader tlv(frame.body);
        (void)tlv.bytes(Tag::Message);
        const auto length = tlv.u64(Tag::Length);
        if (!tlv.ok() || (type == FrameType::TunnelCredit && (!length || *length == 0))) {
            failClient(client, ShimError::Malformed,
                       "malformed tunnel " + std::string(type == FrameType::TunnelClose ? "close" : "credit") + " for "
                           + stream + ": " + (tlv.ok() ? "it needs a non-zero Length" : tlv.error()));
            return;
        }
        grant = length.value_or(0);
        break;
    }
    default:
        break;
    }

    Tunnel *t = findTunnel(client, frame.id);
    if (!t) {
        // A stream that ended here while the frame was on its way is the normal race; one that was
        // never opened on this connection is not.
        if (!openedOn(client, frame.id))
            failClient(client, ShimError::Malformed, "a tunnel frame for " + stream + ", which was never opened");
        return;
    }
    switch (type) {
    case FrameType::TunnelData:
        if (t->peerEof) {
            failClient(client, ShimError::Malformed, "tunnel data after eof on " + stream);
        } else if (frame.body.size() > t->recvCredit) {
            failClient(client, ShimError::Malformed,
                       std::to_string(frame.body.size()) + " bytes on " + stream + " exceed its credit of "
                           + std::to_string(t->recvCredit));
        } else {
            t->recvCredit -= frame.body.size();
            if (t->downPos > 0 && t->downPos * 2 > t->down.size()) {
                t->down.erase(0, t->downPos);
                t->downPos = 0;
            }
            t->down.append(frame.body);
            writeTunnel(*t);
        }
        return;
    case FrameType::TunnelEof:
        if (t->peerEof) {
            failClient(client, ShimError::Malformed, "a second tunnel eof on " + stream);
            return;
        }
        t->peerEof = true;
        writeTunnel(*t); // shuts TCP's write side down once the bytes before it are out
        return;
    case FrameType::TunnelClose:
        t->dead = true;
        return;
    case FrameType::TunnelCredit:
        if (grant > wire::TunnelWindow - t->sendCredit) {
            failClient(client, ShimError::Malformed, "tunnel credit beyond the window on " + stream);
            return;
        }
        t->sendCredit += grant;
        return;
    default:
        return;
    }
}

} // namespace airlock::shim
