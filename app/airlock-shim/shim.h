#pragma once

#include "fd.h"
#include "wire.h"

#include <poll.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::shim {

struct Options
{
    std::string controlPath;
    int controlFd = -1;        // an already-listening socket handed down by the backend, used instead of binding controlPath
    std::string connectPath;   // the backend listens here and the shim connects out (Docker: the folder stays read-only)
    bool stdio = false;        // serve one client over fds 0 and 1 (remote Docker: the container's attach stream)
    long maxProcesses = -1;    // RLIMIT_NPROC inside the sandbox's user namespace; -1 leaves it alone
    std::string workspace;     // empty: no file operations
    std::string proxySocket;   // empty: no bridge
    bool proxyTunnel = false;  // carry proxy-port connections over the control connection instead
    int proxyPort = 3128;      // 0 picks a free port, reported in hello
    unsigned socketMode = 0600; // a Docker backend whose shim runs as another uid needs wider
    bool useOpenat2 = true;    // false forces the O_NOFOLLOW walk, for tests
    // Serve only peers outside the shim's pid namespace (SO_PEERCRED reports them as pid 0): the
    // control socket is visible inside the sandbox, and a sandboxed process that merely connects would
    // otherwise take the backend's client slots.
    bool outsidePeersOnly = false;
};

// Backpressure: past this many unsent bytes to a client the shim stops reading that client's
// requests, its execs' output and its file reads, so a slow client costs bounded memory.
inline constexpr std::size_t ClientHighWater = 4u << 20;
// Streaming stdin queued for one exec beyond this stops reading the client until the child drains it.
inline constexpr std::size_t StdinHighWater = 1u << 20;
inline constexpr std::size_t MaxClients = 64;
inline constexpr std::size_t MaxExecs = 256;
inline constexpr std::size_t MaxReadsPerClient = 16;
inline constexpr std::size_t MaxBridges = 256; // also the limit on live tunnels
inline constexpr std::size_t BridgeBuffer = 64u << 10;

struct FileRead
{
    std::uint32_t id = 0;
    Fd fd;
    std::uint64_t offset = 0;
    std::uint64_t remaining = 0;
    std::uint64_t size = 0;
    std::uint64_t sent = 0;
};

struct Client
{
    std::uint64_t serial = 0; // never reused, so an exec can outlive its client safely
    Fd fd;
    Fd outFd; // stdio mode: frames go out here (a pipe, perhaps), requests come in on fd
    FrameDecoder decoder;
    std::string out;
    std::size_t outPos = 0;
    bool negotiated = false;
    bool closing = false;        // flush what is queued, then close
    std::int64_t closeBy = 0;    // ... but no later than this
    bool dead = false;
    std::deque<FileRead> reads;
    bool tunnels = false;          // offered proxy-tunnel in its hello
    std::uint32_t firstTunnel = 0; // the ids of the streams opened to it run from here ...
    std::uint32_t lastTunnel = 0;  // ... to here (0: none yet), so a frame for an ended one is told apart

    std::size_t unsent() const { return out.size() - outPos; }
    bool congested() const { return unsent() >= ClientHighWater; }
    int writeFd() const { return outFd ? outFd.get() : fd.get(); }
};

struct Exec
{
    std::uint64_t clientSerial = 0;
    std::uint32_t id = 0;
    pid_t pid = -1; // also the process group and session id
    Fd in, out, err;
    std::string stdinBuffer;
    std::size_t stdinPos = 0;
    bool stdinEof = false;       // close stdin once the buffer is written
    std::int64_t startedMs = 0;
    std::int64_t deadlineMs = -1;
    std::uint32_t graceMs = wire::DefaultKillGraceMs;
    std::uint64_t cap = wire::DefaultOutputCap;
    std::uint64_t forwarded = 0;
    std::uint64_t produced = 0;
    std::uint32_t flags = 0;
    bool done = false;

    std::size_t stdinPending() const { return stdinBuffer.size() - stdinPos; }
};

// A process group to SIGKILL when its grace period ends, whether or not its leader is gone.
struct GroupKill
{
    pid_t pgid;
    std::int64_t atMs;
};

struct Bridge
{
    Fd tcp, local;            // the sandbox's client, the egress proxy
    std::string up, down;     // tcp -> local, local -> tcp
    std::size_t upPos = 0, downPos = 0;
    bool tcpEof = false, localEof = false;
    bool upShut = false, downShut = false;
    bool dead = false;
};

// A TCP connection on the proxy port carried as a stream over a client's control connection
// (--proxy-tunnel). Credit bounds both directions: we read from TCP only what the client granted,
// and it may send us only what we granted, which we give back as it reaches the TCP socket.
struct Tunnel
{
    std::uint32_t id = 0; // wire::TunnelIdBit set
    std::uint64_t clientSerial = 0;
    Fd tcp;
    std::string down;                              // from the client, waiting for TCP: at most a window
    std::size_t downPos = 0;
    std::uint64_t sendCredit = wire::TunnelWindow; // what we may still send the client
    std::uint64_t recvCredit = wire::TunnelWindow; // what the client may still send us
    std::uint64_t delivered = 0;                   // written to TCP and not yet granted back
    bool tcpEof = false;                           // TCP ended and TunnelEof went out
    bool peerEof = false;                          // the client sent TunnelEof ...
    bool downShut = false;                         // ... and it reached TCP as shutdown(SHUT_WR)
    bool dead = false;

    std::size_t pending() const { return down.size() - downPos; }
};

std::int64_t nowMs();

// The shim's single-threaded event loop: one poll() over the control socket, its clients, the
// execs' pipes, the proxy bridge or tunnels and a signalfd. Objects are only marked dead while
// handlers run and freed in sweep() at the end of an iteration, so pointers taken for poll() stay
// valid.
class Shim
{
public:
    explicit Shim(Options options);
    ~Shim();
    Shim(const Shim &) = delete;
    Shim &operator=(const Shim &) = delete;

    // Serves until shutdown; returns the process exit status.
    int run();

private:
    enum class Kind : std::uint8_t {
        Signal, Listen, ClientFd, ClientOut, ExecIn, ExecOut, ExecErr, ProxyListen, BridgeTcp, BridgeLocal,
        TunnelTcp
    };
    struct Watch
    {
        Kind kind;
        void *object;
    };

    // shim.cpp: setup, the loop, clients and dispatch
    bool setup();
    bool listenControl();
    void connectControl();
    bool takeStdio();
    void loopOnce();
    void watch(int fd, short events, Kind kind, void *object);
    int pollTimeout(std::int64_t now) const;
    void acceptClients();
    void readClient(Client &client);
    void writeClient(Client &client);
    void handleFrame(Client &client, Frame &frame);
    void handleHello(Client &client, std::uint32_t id, TlvReader &tlv);
    void handleShutdown(Client &client, std::uint32_t id, TlvReader &tlv);
    void send(Client &client, wire::FrameType type, std::uint32_t id, std::string_view body);
    void sendError(Client &client, std::uint32_t id, wire::ShimError code, std::string_view message, int err = 0);
    void sendErrno(Client &client, std::uint32_t id, int err, std::string_view what);
    void failClient(Client &client, wire::ShimError code, std::string_view message);
    void dropClient(Client &client);
    void sweep();
    void handleSignals();
    // stopExecs false: they were stopped already, each with its own grace (a lost stdio client).
    void beginShutdown(std::uint32_t graceMs, bool stopExecs = true);
    void finalFlush();
    Client *findClient(std::uint64_t serial);
    bool idInUse(const Client &client, std::uint32_t id) const;

    // exec.cpp: children, their pipes, timeouts and reaping
    void handleExec(Client &client, std::uint32_t id, TlvReader &tlv);
    void handleStdin(Client &client, const Frame &frame);
    void handleKill(Client &client, std::uint32_t id, TlvReader &tlv);
    void readExecOutput(Exec &exec, bool isStderr, bool drain);
    void writeExecStdin(Exec &exec);
    void reapChildren();
    void finishExec(Exec &exec, int status);
    void stopGroup(Exec &exec, std::uint32_t graceMs);
    void checkTimers(std::int64_t now);
    bool stdinCongested(const Client &client) const;
    std::size_t runningExecs() const;

    // files.cpp: read, write, list and stat beneath the workspace
    bool workspacePath(Client &client, std::uint32_t id, TlvReader &tlv, std::string &relative);
    int makeParents(std::string_view relative) const;
    // Opens a workspace path beneath the root (and fstat()s it when st is given); on failure the
    // client has been answered and false is returned.
    bool openInWorkspace(Client &client, std::uint32_t id, const std::string &relative, int flags, Fd &fd,
                         struct stat *st = nullptr);
    void handleReadFile(Client &client, std::uint32_t id, TlvReader &tlv);
    void handleWriteFile(Client &client, std::uint32_t id, TlvReader &tlv);
    void handleListDir(Client &client, std::uint32_t id, TlvReader &tlv);
    void handleStat(Client &client, std::uint32_t id, TlvReader &tlv);
    void pumpReads(Client &client);

    // bridge.cpp: TCP on the sandbox's loopback <-> the egress proxy's unix socket
    bool listenProxy();
    void acceptBridges();
    void addBridgeWatches();
    void serviceBridge(Bridge &bridge, short revents);

    // tunnel.cpp: TCP on the sandbox's loopback <-> streams over the control connection
    Client *tunnelClient();
    void acceptTunnels();
    void addTunnelWatches();
    void serviceTunnel(Tunnel &tunnel, short revents);
    void readTunnel(Tunnel &tunnel, Client &client);
    void writeTunnel(Tunnel &tunnel);
    void endTunnel(Tunnel &tunnel, std::string_view why);
    void handleTunnelFrame(Client &client, const Frame &frame);
    Tunnel *findTunnel(const Client &client, std::uint32_t id);
    void dropTunnels(const Client &client);

    Options m_options;
    Fd m_signalFd, m_listenFd, m_proxyListenFd, m_rootFd;
    int m_proxyPort = 0;
    bool m_ownSocketFile = false;
    std::int64_t m_nextConnectMs = -1; // connect mode: when to try reaching the backend again
    std::vector<std::unique_ptr<Client>> m_clients;
    std::vector<std::unique_ptr<Exec>> m_execs;
    std::vector<std::unique_ptr<Bridge>> m_bridges;
    std::vector<std::unique_ptr<Tunnel>> m_tunnels;
    std::uint32_t m_nextTunnel = 0; // the low 31 bits of the next stream id
    std::vector<GroupKill> m_groupKills;
    std::uint64_t m_nextSerial = 1;
    bool m_shuttingDown = false;
    std::int64_t m_shutdownBy = 0;
    bool m_done = false;
    std::vector<char> m_scratch;
    std::vector<pollfd> m_pollFds;
    std::vector<Watch> m_watches;
};

} // namespace airlock::shim
