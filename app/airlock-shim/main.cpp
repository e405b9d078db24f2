// airlock-shim: the first process inside an Airlock sandbox. It serves the host's requests on a
// unix control socket or on stdin/stdout (docs/shim-protocol.md) and bridges a loopback TCP port to
// the egress proxy.

#include "shim.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#ifndef AIRLOCK_VERSION
#define AIRLOCK_VERSION "unknown"
#endif

namespace {

constexpr const char *Usage =
    "usage: airlock-shim (--control PATH | --control-fd N | --connect PATH | --stdio) [--workspace DIR]\n"
    "                    [(--proxy-socket PATH | --proxy-tunnel) [--proxy-port PORT]]\n"
    "                    [--socket-mode OCTAL] [--max-processes N] [--no-openat2]\n"
    "                    [--outside-peers-only]\n"
    "\n"
    "  --control PATH       unix socket to serve the control protocol on\n"
    "  --control-fd N       serve on this inherited, listening socket instead of binding one\n"
    "  --connect PATH       connect to the backend listening at PATH and serve that connection,\n"
    "                       connecting again whenever it drops\n"
    "  --stdio              serve one client over stdin and stdout (pipes or a socket); only\n"
    "                       frames are written to stdout; EOF on stdin stops the execs and exits\n"
    "  --workspace DIR      root for file requests and default cwd of execs\n"
    "  --proxy-socket PATH  egress proxy's unix socket to bridge to\n"
    "  --proxy-tunnel       carry each connection to the proxy port as a stream over the control\n"
    "                       connection instead, to the client that offers proxy-tunnel\n"
    "  --proxy-port PORT    TCP port on 127.0.0.1 to bridge from (default 3128, 0 = any)\n"
    "  --socket-mode OCTAL  permissions of the control socket (default 600)\n"
    "  --max-processes N    RLIMIT_NPROC for the shim and its execs\n"
    "  --no-openat2         resolve workspace paths without openat2 (testing)\n"
    "  --outside-peers-only refuse control connections from processes inside the shim's own pid\n"
    "                       namespace (the sandbox); only the backend outside it is served\n";

// Pipes created later must not land on 0, 1 or 2, or dup2() in an exec child would clobber them.
void ensureStandardFds()
{
    for (int fd = 0; fd < 3; ++fd) {
        if (::fcntl(fd, F_GETFD) >= 0)
            continue;
        const int opened = ::open("/dev/null", O_RDWR);
        if (opened < 0) {
            int fds[2];
            if (::pipe(fds) != 0)
                std::_Exit(1);
        }
    }
}

bool parseInt(const char *text, int base, long min, long max, long &out)
{
    char *end = nullptr;
    errno = 0;
    const long value = std::strtol(text, &end, base);
    if (errno != 0 || end == text || *end != '\0' || value < min || value > max)
        return false;
    out = value;
    return true;
}

} // namespace

int main(int argc, char **argv)
{
    ensureStandardFds();
    airlock::shim::Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : nullptr;
        long number = 0;
        if (arg == "--help" || arg == "-h") {
            std::fputs(Usage, stdout);
            return 0;
        }
        if (arg == "--version") {
            std::printf("airlock-shim %s (protocol %u)\n", AIRLOCK_VERSION, airlock::sandbox::wire::ProtocolVersion);
            return 0;
        }
        if (arg == "--no-openat2") {
            options.useOpenat2 = false;
            continue;
        }
        if (arg == "--outside-peers-only") {
            options.outsidePeersOnly = true;
            continue;
        }
        if (arg == "--stdio") {
            options.stdio = true;
            continue;
        }
        if (arg == "--proxy-tunnel") {
            options.proxyTunnel = true;
            continue;
        }
        if (!value) {
            std::fprintf(stderr, "airlock-shim: %s needs a value\n%s", argv[i], Usage);
            return 2;
        }
        ++i;
        if (arg == "--control") {
            options.controlPath = value;
        } else if (arg == "--connect") {
            options.connectPath = value;
        } else if (arg == "--workspace") {
            options.workspace = value;
        } else if (arg == "--proxy-socket") {
            options.proxySocket = value;
        } else if (arg == "--proxy-port" && parseInt(value, 10, 0, 65535, number)) {
            options.proxyPort = static_cast<int>(number);
        } else if (arg == "--socket-mode" && parseInt(value, 8, 0, 0777, number)) {
            options.socketMode = static_cast<unsigned>(number);
        } else if (arg == "--control-fd" && parseInt(value, 10, 3, 65535, number)) {
            options.controlFd = static_cast<int>(number);
        } else if (arg == "--max-processes" && parseInt(value, 10, 1, 1L << 30, number)) {
            options.maxProcesses = number;
        } else {
            std::fprintf(stderr, "airlock-shim: bad option %s %s\n%s", argv[i - 1], value, Usage);
            return 2;
        }
    }
    const bool served = !options.controlPath.empty() || options.controlFd >= 0 || !options.connectPath.empty();
    if (!served && !options.stdio) {
        std::fprintf(stderr, "airlock-shim: --control, --control-fd, --connect or --stdio is required\n%s", Usage);
        return 2;
    }
    if (served && options.stdio) {
        std::fprintf(stderr, "airlock-shim: --stdio serves fds 0 and 1; it cannot be combined with --control, "
                             "--control-fd or --connect\n");
        return 2;
    }
    if (options.proxyTunnel && !options.proxySocket.empty()) {
        std::fprintf(stderr, "airlock-shim: --proxy-tunnel and --proxy-socket are alternatives\n");
        return 2;
    }
    if (!options.workspace.empty() && options.workspace.front() != '/') {
        std::fprintf(stderr, "airlock-shim: --workspace must be an absolute path\n");
        return 2;
    }
    airlock::shim::Shim shim(std::move(options));
    return shim.run();
}
