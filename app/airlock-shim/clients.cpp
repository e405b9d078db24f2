#include "log.h"
#include "shim.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#ifndef AIRLOCK_VERSION
#define AIRLOCK_VERSION "unknown"
#endif

// The control connections: accepting, reading frames, dispatching requests and answering.

namespace airlock::shim {

using wire::FrameType;
using wire::ShimError;
using wire::Tag;

namespace {

// The kernel translates the peer's pid into our pid namespace when we ask, and reports 0 for a
// process that namespace cannot see, which is exactly the backend on the host. The credentials are
// the ones taken at connect(), so a sandboxed process cannot lend or forge them.
bool peerIsOutside(int fd)
{
    ucred cred{};
    socklen_t length = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) {
        logErrno("cannot read a control connection's peer");
        return false;
    }
    if (cred.pid == 0)
        return true;
    static int logged = 0; // a process that connects in a loop must not flood the sandbox's log
    if (logged < 5 && ++logged)
        logError("refused a control connection from pid %d inside the sandbox", static_cast<int>(cred.pid));
    return false;
}

} // namespace

void Shim::acceptClients()
{
    for (;;) {
        Fd fd(::accept4(m_listenFd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd)
            return; // EAGAIN, or a client that went away before we got to it
        if (m_options.outsidePeersOnly && !peerIsOutside(fd.get()))
            continue; // a process of the sandbox: closed before it can hold a slot
        const auto live = std::count_if(m_clients.begin(), m_clients.end(),
                                        [](const auto &c) { return !c->dead; });
        if (static_cast<std::size_t>(live) >= MaxClients)
            continue; // closing it is the only answer that costs nothing
        auto client = std::make_unique<Client>();
        client->serial = m_nextSerial++;
        client->fd = std::move(fd);
        m_clients.push_back(std::move(client));
    }
}

void Shim::readClient(Client &client)
{
    char *buffer = m_scratch.data();
    // read(), not recv(): in stdio mode the client is a pipe. SIGPIPE is ignored, so write() below
    // reports a vanished reader as EPIPE, as send(MSG_NOSIGNAL) would.
    const ssize_t n = ::read(client.fd.get(), buffer, 64u << 10);
    if (n == 0) {
        dropClient(client);
        return;
    }
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR)
            dropClient(client);
        return;
    }
    client.decoder.feed(buffer, static_cast<std::size_t>(n));
    Frame frame;
    for (;;) {
        const FrameDecoder::Status status = client.decoder.next(frame);
        if (status == FrameDecoder::Status::NeedMore)
            return;
        if (status == FrameDecoder::Status::Failed) {
            failClient(client, ShimError::Malformed, client.decoder.error());
            return;
        }
        handleFrame(client, frame);
        if (client.dead || client.closing)
            return;
    }
}

void Shim::writeClient(Client &client)
{
    while (client.unsent() > 0) {
        const ssize_t n = ::write(client.writeFd(), client.out.data() + client.outPos, client.unsent());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                dropClient(client);
            break;
        }
        client.outPos += static_cast<std::size_t>(n);
    }
    if (client.unsent() == 0) {
        client.out.clear();
        client.outPos = 0;
        if (client.closing)
            dropClient(client);
    } else if (client.outPos > (1u << 20)) {
        client.out.erase(0, client.outPos);
        client.outPos = 0;
    }
}

void Shim::handleFrame(Client &client, Frame &frame)
{
    const auto type = static_cast<FrameType>(frame.type);
    const std::uint32_t id = frame.id;
    switch (type) {
    case FrameType::StdinData:
    case FrameType::StdinClose:
        if (client.negotiated)
            handleStdin(client, frame);
        return;
    case FrameType::Ping:
        send(client, FrameType::Pong, id, frame.body);
        return;
    case FrameType::TunnelOpen:
    case FrameType::TunnelData:
    case FrameType::TunnelEof:
    case FrameType::TunnelClose:
    case FrameType::TunnelCredit:
        handleTunnelFrame(client, frame);
        return;
    case FrameType::Hello:
    case FrameType::Shutdown:
    case FrameType::Exec:
    case FrameType::Kill:
    case FrameType::ReadFile:
    case FrameType::WriteFile:
    case FrameType::ListDir:
    case FrameType::Stat:
        break;
    default:
        sendError(client, id, ShimError::UnknownType, "unknown frame type " + std::to_string(frame.type));
        return;
    }
    if (id == 0) {
        sendError(client, 0, ShimError::InvalidRequest, "request id 0 is reserved");
        return;
    }
    TlvReader tlv(frame.body);
    if (!tlv.ok()) {
        failClient(client, ShimError::Malformed, tlv.error());
        return;
    }
    if (type == FrameType::Hello) {
        handleHello(client, id, tlv);
        return;
    }
    if (!client.negotiated) {
        sendError(client, id, ShimError::NotNegotiated, "send hello first");
        return;
    }
    if (m_shuttingDown) {
        sendError(client, id, ShimError::ShuttingDown, "the shim is shutting down");
        return;
    }
    if (idInUse(client, id)) {
        sendError(client, id, ShimError::DuplicateId, "request id is still in use");
        return;
    }
    switch (type) {
    case FrameType::Shutdown: handleShutdown(client, id, tlv); break;
    case FrameType::Exec: handleExec(client, id, tlv); break;
    case FrameType::Kill: handleKill(client, id, tlv); break;
    case FrameType::ReadFile: handleReadFile(client, id, tlv); break;
    case FrameType::WriteFile: handleWriteFile(client, id, tlv); break;
    case FrameType::ListDir: handleListDir(client, id, tlv); break;
    case FrameType::Stat: handleStat(client, id, tlv); break;
    default: break;
    }
}

void Shim::handleHello(Client &client, std::uint32_t id, TlvReader &tlv)
{
    const std::uint32_t min = tlv.u32(Tag::VersionMin).value_or(1);
    const std::uint32_t max = tlv.u32(Tag::VersionMax).value_or(min);
    const std::vector<std::string_view> offered = tlv.all(Tag::Capability);
    if (!tlv.ok()) {
        failClient(client, ShimError::Malformed, tlv.error());
        return;
    }
    if (client.negotiated) {
        sendError(client, id, ShimError::InvalidRequest, "hello was already negotiated");
        return;
    }
    const std::uint32_t low = std::max(min, wire::MinProtocolVersion);
    const std::uint32_t high = std::min(max, wire::ProtocolVersion);
    if (low > high) {
        sendError(client, id, ShimError::VersionMismatch,
                  "the shim speaks protocol versions " + std::to_string(wire::MinProtocolVersion) + " to "
                      + std::to_string(wire::ProtocolVersion));
        client.closing = true;
        client.closeBy = nowMs() + 1000;
        return;
    }
    client.negotiated = true;
    client.tunnels = std::find(offered.begin(), offered.end(), wire::TunnelCapability) != offered.end();
    TlvBuilder body;
    body.u32(Tag::Version, high)
        .bytes(Tag::Name, "airlock-shim " AIRLOCK_VERSION)
        .u32(Tag::MaxFrame, wire::MaxFrameLength)
        .u32(Tag::Pid, static_cast<std::uint32_t>(::getpid()));
    for (const char *cap : {"exec", "exec.stdin-stream", "exec.kill", "exec.timeout", "exec.output-cap",
                            "exec.stdout-closed"})
        body.bytes(Tag::Capability, cap);
    if (m_rootFd) {
        for (const char *cap : {"fs.read", "fs.write", "fs.list", "fs.stat"})
            body.bytes(Tag::Capability, cap);
        body.bytes(Tag::Capability, m_options.useOpenat2 ? "fs.openat2" : "fs.walk");
        body.bytes(Tag::Workspace, m_options.workspace);
    }
    if (m_proxyListenFd) {
        body.bytes(Tag::Capability, m_options.proxyTunnel ? wire::TunnelCapability : "proxy-bridge");
        body.u32(Tag::ProxyPort, static_cast<std::uint32_t>(m_proxyPort));
    }
    send(client, FrameType::HelloOk, id, body.data());
}

void Shim::handleShutdown(Client &client, std::uint32_t id, TlvReader &tlv)
{
    const std::uint32_t grace = tlv.u32(Tag::KillGraceMs).value_or(wire::DefaultKillGraceMs);
    if (!tlv.ok()) {
        failClient(client, ShimError::Malformed, tlv.error());
        return;
    }
    send(client, FrameType::Ok, id, {});
    beginShutdown(std::min<std::uint32_t>(grace, 60000));
}

void Shim::send(Client &client, FrameType type, std::uint32_t id, std::string_view body)
{
    if (!client.dead)
        appendFrame(client.out, type, id, body);
}

void Shim::sendError(Client &client, std::uint32_t id, ShimError code, std::string_view message, int err)
{
    TlvBuilder body;
    body.u32(Tag::ErrorCode, static_cast<std::uint32_t>(code));
    if (err != 0)
        body.u32(Tag::Errno, static_cast<std::uint32_t>(err));
    body.bytes(Tag::Message, message.substr(0, 4096));
    send(client, FrameType::Error, id, body.data());
}

void Shim::sendErrno(Client &client, std::uint32_t id, int err, std::string_view what)
{
    ShimError code = ShimError::Io;
    std::string message(what);
    switch (err) {
    case EXDEV:
        code = ShimError::PathEscape;
        message += ": the path leads outside the workspace";
        sendError(client, id, code, message, err);
        return;
    case ENOENT: code = ShimError::NotFound; break;
    case EACCES:
    case EPERM:
    case EROFS: code = ShimError::PermissionDenied; break;
    default: break;
    }
    message += ": ";
    message += std::strerror(err);
    sendError(client, id, code, message, err);
}

void Shim::failClient(Client &client, ShimError code, std::string_view message)
{
    sendError(client, 0, code, message);
    client.closing = true;
    client.closeBy = nowMs() + 1000;
    writeClient(client);
}

void Shim::dropClient(Client &client)
{
    if (client.dead)
        return;
    client.dead = true;
    client.reads.clear();
    dropTunnels(client);
    // Nobody is left to read what they print or to stop them.
    std::uint32_t longestGrace = 0;
    for (const auto &exec : m_execs) {
        if (!exec->done && exec->clientSerial == client.serial) {
            exec->flags |= wire::ExitFlag::Killed;
            stopGroup(*exec, exec->graceMs);
            longestGrace = std::max(longestGrace, exec->graceMs);
        }
    }
    // In stdio mode the backend cannot come back (connect mode would try again): once its execs
    // are reaped, or their grace is over, the shim has nothing left to do and exits.
    if (m_options.stdio)
        beginShutdown(longestGrace, false);
}

void Shim::sweep()
{
    std::erase_if(m_clients, [](const auto &c) { return c->dead; });
    std::erase_if(m_execs, [](const auto &e) { return e->done; });
    std::erase_if(m_bridges, [](const auto &b) { return b->dead; });
    std::erase_if(m_tunnels, [](const auto &t) { return t->dead; });
}

Client *Shim::findClient(std::uint64_t serial)
{
    for (const auto &client : m_clients) {
        if (client->serial == serial)
            return client->dead ? nullptr : client.get();
    }
    return nullptr;
}

bool Shim::idInUse(const Client &client, std::uint32_t id) const
{
    for (const auto &exec : m_execs) {
        if (!exec->done && exec->clientSerial == client.serial && exec->id == id)
            return true;
    }
    return std::any_of(client.reads.begin(), client.reads.end(),
                       [id](const FileRead &r) { return r.id == id; });
}

} // namespace airlock::shim
