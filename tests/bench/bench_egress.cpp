// Request latency and bulk throughput through the egress proxy, against a direct loopback connection
// and against socat forwarding a unix socket to the same server, all measured in the same run.
//   bench_egress [BYTES] [REQUESTS]   (default 1 GiB for throughput, 2000 requests for latency)
// The upstream is a small blocking HTTP server on 127.0.0.1 in this process: GET /N answers N bytes.
// The proxy runs as Airlock runs it (its own thread, an event store, a policy decision per request);
// socat runs as `socat UNIX-LISTEN:…,fork TCP:127.0.0.1:PORT`. Targets from issue 7: at most 0.3 ms
// added median latency per request, at least 80% of socat's throughput.
#include "egress/egressproxy.h"
#include "store/eventstore.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QThread>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace airlock;

namespace {

constexpr size_t kBuffer = 256 * 1024;

bool sendAll(int fd, const char *data, size_t n)
{
    while (n > 0) {
        const ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        data += w;
        n -= size_t(w);
    }
    return true;
}

// Reads until the end of a head; returns the head, leaves what followed in `rest`.
bool readHead(int fd, std::string &head, std::string &rest)
{
    head.swap(rest);
    rest.clear();
    char buf[4096];
    while (true) {
        const size_t end = head.find("\r\n\r\n");
        if (end != std::string::npos) {
            rest = head.substr(end + 4);
            head.resize(end + 4);
            return true;
        }
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0)
            return false;
        head.append(buf, size_t(n));
    }
}

void serveConnection(int fd)
{
    static const std::vector<char> body(kBuffer, 'x');
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::string head, rest;
    while (readHead(fd, head, rest)) {
        const size_t slash = head.find(" /");
        const long long size = slash == std::string::npos ? 0 : std::atoll(head.c_str() + slash + 2);
        const bool close = head.find("Connection: close") != std::string::npos;
        const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(size)
                                   + (close ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n");
        if (!sendAll(fd, answer.data(), answer.size()))
            break;
        for (long long left = size; left > 0;) {
            const size_t n = size_t(std::min<long long>(left, kBuffer));
            if (!sendAll(fd, body.data(), n))
                break;
            left -= (long long)n;
        }
        if (close)
            break;
    }
    ::close(fd);
}

struct Server {
    int fd = -1;
    quint16 port = 0;
    std::thread acceptor;

    bool start()
    {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 || ::listen(fd, 128) != 0
            || ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) != 0)
            return false;
        port = ntohs(a.sin_port);
        acceptor = std::thread([this] {
            while (true) {
                const int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
                if (c < 0)
                    return;
                std::thread(serveConnection, c).detach();
            }
        });
        return true;
    }
    ~Server()
    {
        ::shutdown(fd, SHUT_RDWR);
        ::close(fd);
        if (acceptor.joinable())
            acceptor.join();
    }
};

// How a client reaches the server: directly over TCP, or through a unix socket (proxy or socat).
struct Path {
    const char *name;
    std::string unixPath; // empty: direct TCP
    bool viaProxy = false;
    bool connectTunnel = false;
};

int connectPath(const Path &p, quint16 port)
{
    if (p.unixPath.empty()) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
            ::close(fd);
            return -1;
        }
        return fd;
    }
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, p.unixPath.c_str(), sizeof a.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

std::string requestFor(const Path &p, quint16 port, long long size, bool close)
{
    const std::string target = p.viaProxy && !p.connectTunnel
                                   ? "http://bench.test:" + std::to_string(port) + "/" + std::to_string(size)
                                   : "/" + std::to_string(size);
    return "GET " + target + " HTTP/1.1\r\nHost: bench.test\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n";
}

// Opens a connection and, for the tunnel, establishes it.
int openChannel(const Path &p, quint16 port, std::string &rest)
{
    const int fd = connectPath(p, port);
    if (fd < 0 || !p.connectTunnel)
        return fd;
    const std::string connect = "CONNECT bench.test:" + std::to_string(port) + " HTTP/1.1\r\nHost: bench.test\r\n\r\n";
    std::string head;
    if (!sendAll(fd, connect.data(), connect.size()) || !readHead(fd, head, rest) || head.find(" 200 ") == std::string::npos) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// One request on fd; reads the response whose body has `size` bytes. Returns false on any error.
bool exchange(int fd, const std::string &request, long long size, std::string &rest)
{
    static std::vector<char> sink(kBuffer);
    if (!sendAll(fd, request.data(), request.size()))
        return false;
    std::string head;
    if (!readHead(fd, head, rest) || head.compare(0, 12, "HTTP/1.1 200") != 0)
        return false;
    long long left = size - (long long)rest.size();
    rest.clear();
    while (left > 0) {
        const ssize_t n = ::read(fd, sink.data(), size_t(std::min<long long>(left, kBuffer)));
        if (n <= 0)
            return false;
        left -= n;
    }
    return true;
}

struct Latency {
    double median = 0;
    double p99 = 0;
    bool ok = false;
};

// Sequential small requests; keepAlive: one connection for all, else a new connection each.
Latency measureLatency(const Path &p, quint16 port, int requests, bool keepAlive)
{
    std::vector<double> us;
    us.reserve(size_t(requests));
    std::string rest;
    int fd = keepAlive ? openChannel(p, port, rest) : -1;
    const std::string req = requestFor(p, port, 2, !keepAlive);
    for (int i = 0; i < requests + requests / 10; ++i) {
        QElapsedTimer t;
        t.start();
        if (!keepAlive)
            fd = openChannel(p, port, rest);
        if (fd < 0 || !exchange(fd, req, 2, rest)) {
            std::fprintf(stderr, "%s: request %d failed (%s)\n", p.name, i, fd < 0 ? "connect" : "exchange");
            return {};
        }
        if (!keepAlive) {
            ::close(fd);
            fd = -1;
        }
        if (i >= requests / 10) // the first tenth warms up
            us.push_back(double(t.nsecsElapsed()) / 1000.0);
    }
    if (fd >= 0)
        ::close(fd);
    std::sort(us.begin(), us.end());
    return {us[us.size() / 2], us[us.size() * 99 / 100], true};
}

double measureThroughput(const Path &p, quint16 port, long long bytes)
{
    std::string rest;
    const int fd = openChannel(p, port, rest);
    if (fd < 0)
        return 0;
    QElapsedTimer t;
    t.start();
    const bool ok = exchange(fd, requestFor(p, port, bytes, true), bytes, rest);
    const double secs = double(t.nsecsElapsed()) / 1e9;
    ::close(fd);
    return ok ? double(bytes) / (1024.0 * 1024.0) / secs : 0;
}

bool waitForSocket(const QString &path)
{
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < 5000) {
        if (QFileInfo::exists(path))
            return true;
        QThread::msleep(10);
    }
    return false;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const long long bytes = argc > 1 ? std::atoll(argv[1]) : (1LL << 30);
    const int requests = argc > 2 ? std::atoi(argv[2]) : 2000;
    QTemporaryDir dir;
    Server server;
    if (!dir.isValid() || !server.start()) {
        std::fprintf(stderr, "cannot set up the test server\n");
        return 1;
    }

    auto store = store::EventStore::open(dir.filePath(QStringLiteral("bench.db")));
    if (!store) {
        std::fprintf(stderr, "%s\n", qPrintable(store.error().message));
        return 1;
    }
    auto resolver = std::make_shared<egress::StaticResolver>();
    resolver->add(QStringLiteral("bench.test"), {QHostAddress(QHostAddress::LocalHost)});
    egress::ProxyOptions options;
    options.store = store->get();
    options.resolver = resolver;
    egress::EgressProxy proxy(options);
    policy::Policy policy;
    policy.network.allow = {QStringLiteral("bench.test")};
    const QString proxySocket = dir.filePath(QStringLiteral("egress.sock"));
    // The socket listens when addSandbox returns; early connections wait in its backlog.
    if (auto r = proxy.addSandbox({QStringLiteral("bench"), proxySocket, policy}); !r) {
        std::fprintf(stderr, "cannot start the proxy: %s\n", qPrintable(r.error().message));
        return 1;
    }

    // socat as people run it (8 KiB buffers), and with buffers as large as the proxy's.
    QProcess socat, socatBig;
    const QString socatSocket = dir.filePath(QStringLiteral("socat.sock"));
    const QString socatBigSocket = dir.filePath(QStringLiteral("socat-big.sock"));
    const bool haveSocat = !QStandardPaths::findExecutable(QStringLiteral("socat")).isEmpty();
    if (haveSocat) {
        socat.start(QStringLiteral("socat"), {QStringLiteral("UNIX-LISTEN:%1,fork").arg(socatSocket),
                                              QStringLiteral("TCP:127.0.0.1:%1,nodelay").arg(server.port)});
        socatBig.start(QStringLiteral("socat"), {QStringLiteral("-b"), QString::number(kBuffer),
                                                 QStringLiteral("UNIX-LISTEN:%1,fork").arg(socatBigSocket),
                                                 QStringLiteral("TCP:127.0.0.1:%1,nodelay").arg(server.port)});
        if (!socat.waitForStarted() || !socatBig.waitForStarted() || !waitForSocket(socatSocket)
            || !waitForSocket(socatBigSocket)) {
            std::fprintf(stderr, "socat did not start\n");
            return 1;
        }
    }

    const std::vector<Path> paths = {
        {"direct TCP", {}, false, false},
        {"socat unix->tcp", socatSocket.toStdString(), false, false},
        {"socat -b 256K", socatBigSocket.toStdString(), false, false},
        {"proxy http", proxySocket.toStdString(), true, false},
        {"proxy CONNECT", proxySocket.toStdString(), true, true},
    };
    std::printf("egress proxy benchmark: %d requests of 2 bytes, %.2f GiB bulk, 127.0.0.1, %d cores\n", requests,
                double(bytes) / double(1LL << 30), QThread::idealThreadCount());
    std::printf("%-18s %13s %13s %13s %13s %12s\n", "path", "keep-alive", "p99", "new conn", "p99", "MiB/s");
    std::fflush(stdout);
    double directKeep = 0, directNew = 0, socatRate = 0, socatKeep = 0, socatNew = 0;
    for (const Path &p : paths) {
        if (!haveSocat && std::string(p.name).starts_with("socat")) {
            std::printf("%-18s (socat is not installed)\n", p.name);
            continue;
        }
        const Latency keep = measureLatency(p, server.port, requests, true);
        const Latency fresh = measureLatency(p, server.port, requests, false);
        const double rate = measureThroughput(p, server.port, bytes);
        if (!keep.ok || !fresh.ok || rate <= 0) {
            std::printf("%-18s FAILED\n", p.name);
            return 1;
        }
        std::printf("%-18s %10.1f us %10.1f us %10.1f us %10.1f us %12.0f", p.name, keep.median, keep.p99, fresh.median,
                    fresh.p99, rate);
        if (p.unixPath.empty()) {
            directKeep = keep.median;
            directNew = fresh.median;
            std::printf("\n");
        } else if (!p.viaProxy) {
            if (socatRate == 0) { // the default socat is the baseline
                socatRate = rate;
                socatKeep = keep.median;
                socatNew = fresh.median;
            }
            std::printf("\n");
        } else {
            std::printf("   added median: %+.1f us keep-alive, %+.1f us new connection (vs direct)", keep.median - directKeep,
                        fresh.median - directNew);
            if (socatRate > 0)
                std::printf("; %.0f%% of socat's throughput; vs socat latency %+.1f / %+.1f us",
                            100.0 * rate / socatRate, keep.median - socatKeep, fresh.median - socatNew);
            std::printf("\n");
        }
        std::fflush(stdout);
    }
    if (haveSocat) {
        for (QProcess *s : {&socat, &socatBig}) {
            s->terminate();
            s->waitForFinished(3000);
        }
    }
    return 0;
}
