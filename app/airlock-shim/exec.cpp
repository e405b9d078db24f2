#include "shim.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

extern char **environ;

namespace airlock::shim {

using wire::FrameType;
using wire::ShimError;
using wire::Tag;

namespace {

constexpr std::size_t OutputChunk = 64u << 10;
constexpr std::uint32_t MaxGraceMs = 600000;

enum class Stage : int { Setup = 1, Chdir = 2, Exec = 3 };

struct SpawnReport
{
    int stage;
    int err;
};

// Everything the child needs, built before fork() so the child only makes async-signal-safe calls.
struct ChildPlan
{
    std::vector<std::string> argv, env, candidates;
    std::string dir;
    std::vector<char *> argvPtrs, envPtrs;

    void seal()
    {
        for (std::string &s : argv)
            argvPtrs.push_back(s.data());
        argvPtrs.push_back(nullptr);
        for (std::string &s : env)
            envPtrs.push_back(s.data());
        envPtrs.push_back(nullptr);
    }
};

bool hasNul(std::string_view s)
{
    return s.find('\0') != std::string_view::npos;
}

std::vector<std::string> buildEnv(bool inherit, const std::vector<std::string_view> &entries)
{
    std::vector<std::string> env;
    if (inherit) {
        for (char **e = environ; e && *e; ++e)
            env.emplace_back(*e);
    }
    for (std::string_view entry : entries) {
        const std::string_view key = entry.substr(0, entry.find('=') + 1);
        std::erase_if(env, [key](const std::string &s) { return s.starts_with(key); });
        env.emplace_back(entry);
    }
    return env;
}

// execve() does no PATH search, and execvpe() would search the shim's PATH, not the request's.
std::vector<std::string> candidatesFor(std::string_view program, const std::vector<std::string> &env)
{
    if (program.find('/') != std::string_view::npos)
        return {std::string(program)};
    std::string_view path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (const std::string &e : env) {
        if (e.starts_with("PATH="))
            path = std::string_view(e).substr(5);
    }
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t end = path.find(':', start);
        std::string_view dir = path.substr(start, end == std::string_view::npos ? path.npos : end - start);
        if (dir.empty())
            dir = ".";
        out.push_back(std::string(dir) + "/" + std::string(program));
        if (end == std::string_view::npos)
            break;
        start = end + 1;
    }
    return out;
}

[[noreturn]] void report(int fd, Stage stage, int err)
{
    const SpawnReport r{static_cast<int>(stage), err};
    [[maybe_unused]] const ssize_t n = ::write(fd, &r, sizeof r);
    ::_exit(127);
}

[[noreturn]] void childMain(int in, int out, int err, int reportFd, const ChildPlan &plan)
{
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::signal(SIGXFSZ, SIG_DFL);
    // Its own session and process group, so a stop reaches everything it started.
    if (::setsid() < 0)
        report(reportFd, Stage::Setup, errno);
    // On the host the shim is not pid 1; if it dies its children should not live on unseen.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0)
        report(reportFd, Stage::Setup, errno);
    if (::chdir(plan.dir.c_str()) != 0)
        report(reportFd, Stage::Chdir, errno);
    int last = ENOENT;
    bool denied = false;
    for (const std::string &candidate : plan.candidates) {
        ::execve(candidate.c_str(), plan.argvPtrs.data(), plan.envPtrs.data());
        last = errno;
        if (last == EACCES)
            denied = true;
        else if (last != ENOENT && last != ENOTDIR)
            break;
    }
    if (denied && (last == ENOENT || last == ENOTDIR))
        last = EACCES;
    report(reportFd, Stage::Exec, last);
}

struct ChildArgs
{
    int in, out, err, reportFd;
    const ChildPlan *plan;
};

int childEntry(void *arg)
{
    const auto *a = static_cast<const ChildArgs *>(arg);
    childMain(a->in, a->out, a->err, a->reportFd, *a->plan);
}

// The child is made as posix_spawn makes it, with clone(CLONE_VM | CLONE_VFORK) on a stack of its
// own: no copy of the shim's page tables, so an exec costs the same whatever the shim's size. The
// shim waits until the child has exec'd (or failed); the child makes only system calls and touches
// nothing of the shim's but the plan it reads. The shim has no signal handlers to inherit (its
// signals come through a signalfd), so none can run on that stack.
pid_t spawnChild(ChildArgs &args)
{
    constexpr std::size_t kStackSize = 128 * 1024;
    static void *stack = nullptr;
    if (!stack) {
        void *s = ::mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (s == MAP_FAILED)
            return -1;
        stack = s;
    }
    return ::clone(childEntry, static_cast<char *>(stack) + kStackSize, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
}

bool makePipe(Fd &readEnd, Fd &writeEnd)
{
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        return false;
    readEnd.reset(fds[0]);
    writeEnd.reset(fds[1]);
    return true;
}

void setNonBlocking(int fd)
{
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

} // namespace

void Shim::handleExec(Client &client, std::uint32_t id, TlvReader &tlv)
{
    const std::vector<std::string_view> argv = tlv.all(Tag::Argv);
    const std::vector<std::string_view> envEntries = tlv.all(Tag::Env);
    const auto cwd = tlv.bytes(Tag::Cwd);
    const bool inherit = tlv.u8(Tag::InheritEnv).value_or(0) != 0;
    const auto stdinData = tlv.bytes(Tag::Stdin);
    const bool stream = tlv.u8(Tag::StdinStream).value_or(0) != 0;
    const std::uint64_t timeoutMs = tlv.u64(Tag::TimeoutMs).value_or(0);
    const std::uint64_t cap = tlv.u64(Tag::OutputCap).value_or(wire::DefaultOutputCap);
    const std::uint32_t grace = std::min(tlv.u32(Tag::KillGraceMs).value_or(wire::DefaultKillGraceMs), MaxGraceMs);
    if (!tlv.ok()) {
        failClient(client, ShimError::Malformed, tlv.error());
        return;
    }
    if (argv.empty() || argv.front().empty()) {
        sendError(client, id, ShimError::InvalidRequest, "exec needs a program in argv");
        return;
    }
    const bool badArgs = std::any_of(argv.begin(), argv.end(), hasNul)
                         || std::any_of(envEntries.begin(), envEntries.end(), [](std::string_view e) {
                                return hasNul(e) || e.find('=') == std::string_view::npos || e.front() == '=';
                            })
                         || (cwd && hasNul(*cwd));
    if (badArgs) {
        sendError(client, id, ShimError::InvalidRequest,
                  "argv, env and cwd must not contain NUL, and env entries must be KEY=VALUE");
        return;
    }
    if (runningExecs() >= MaxExecs) {
        sendError(client, id, ShimError::Busy, "too many running execs");
        return;
    }

    ChildPlan plan;
    plan.argv.assign(argv.begin(), argv.end());
    plan.env = buildEnv(inherit, envEntries);
    plan.candidates = candidatesFor(argv.front(), plan.env);
    const std::string base = m_options.workspace.empty() ? std::string("/") : m_options.workspace;
    if (!cwd || cwd->empty())
        plan.dir = base;
    else if (cwd->front() == '/')
        plan.dir = std::string(*cwd);
    else
        plan.dir = base + "/" + std::string(*cwd);
    plan.seal();

    Fd inRead, inWrite, outRead, outWrite, errRead, errWrite, reportRead, reportWrite;
    if (!makePipe(inRead, inWrite) || !makePipe(outRead, outWrite) || !makePipe(errRead, errWrite)
        || !makePipe(reportRead, reportWrite)) {
        sendErrno(client, id, errno, "cannot create pipes");
        return;
    }
    ChildArgs args{inRead.get(), outWrite.get(), errWrite.get(), reportWrite.get(), &plan};
    const pid_t pid = spawnChild(args);
    if (pid < 0) {
        sendErrno(client, id, errno, "cannot start a process");
        return;
    }

    inRead.reset();
    outWrite.reset();
    errWrite.reset();
    reportWrite.reset();
    // The report pipe closes on a successful execve, so this wait is as short as the exec itself;
    // afterwards the child has its own process group, which any kill below relies on.
    SpawnReport failure{};
    std::size_t got = 0;
    while (got < sizeof failure) {
        const ssize_t n = ::read(reportRead.get(), reinterpret_cast<char *>(&failure) + got, sizeof failure - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += static_cast<std::size_t>(n);
    }
    if (got == sizeof failure) {
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        const auto stage = static_cast<Stage>(failure.stage);
        std::string what = stage == Stage::Chdir ? "cannot enter " + plan.dir
                           : stage == Stage::Exec ? "cannot run " + plan.argv.front()
                                                  : std::string("cannot set up the child");
        what += ": ";
        what += std::strerror(failure.err);
        sendError(client, id, ShimError::SpawnFailed, what, failure.err);
        return;
    }

    // A new group with this id means the old one of that id is empty: a pending SIGKILL for it
    // would now hit the new exec.
    std::erase_if(m_groupKills, [pid](const GroupKill &k) { return k.pgid == pid; });

    auto exec = std::make_unique<Exec>();
    exec->clientSerial = client.serial;
    exec->id = id;
    exec->pid = pid;
    exec->in = std::move(inWrite);
    exec->out = std::move(outRead);
    exec->err = std::move(errRead);
    setNonBlocking(exec->in.get());
    setNonBlocking(exec->out.get());
    setNonBlocking(exec->err.get());
    exec->startedMs = nowMs();
    exec->deadlineMs = timeoutMs > 0 ? exec->startedMs + static_cast<std::int64_t>(std::min<std::uint64_t>(timeoutMs, 1ull << 40)) : -1;
    exec->graceMs = grace;
    exec->cap = cap;
    if (stdinData)
        exec->stdinBuffer.assign(*stdinData);
    exec->stdinEof = !stream;
    if (exec->stdinEof && exec->stdinBuffer.empty())
        exec->in.reset();

    TlvBuilder started;
    started.u32(Tag::Pid, static_cast<std::uint32_t>(pid));
    send(client, FrameType::ExecStarted, id, started.data());
    Exec &ref = *exec;
    m_execs.push_back(std::move(exec));
    if (ref.in && ref.stdinPending() > 0)
        writeExecStdin(ref);
}

void Shim::handleStdin(Client &client, const Frame &frame)
{
    // Stdin for an exec that has finished, or that never asked for a stream, is a normal race
    // with its exit: drop it without an answer.
    for (const auto &exec : m_execs) {
        if (exec->done || exec->clientSerial != client.serial || exec->id != frame.id)
            continue;
        if (!exec->in || exec->stdinEof)
            return;
        if (static_cast<FrameType>(frame.type) == FrameType::StdinClose) {
            exec->stdinEof = true;
            if (exec->stdinPending() == 0)
                exec->in.reset();
            return;
        }
        if (exec->stdinPos > 0 && exec->stdinPos * 2 > exec->stdinBuffer.size()) {
            exec->stdinBuffer.erase(0, exec->stdinPos);
            exec->stdinPos = 0;
        }
        exec->stdinBuffer.append(frame.body);
        writeExecStdin(*exec);
        return;
    }
}

void Shim::writeExecStdin(Exec &exec)
{
    while (exec.in && exec.stdinPending() > 0) {
        const ssize_t n = ::write(exec.in.get(), exec.stdinBuffer.data() + exec.stdinPos, exec.stdinPending());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return;
            // The child closed its stdin (EPIPE): what it did not read is of no use to anyone.
            exec.in.reset();
            break;
        }
        exec.stdinPos += static_cast<std::size_t>(n);
    }
    if (exec.stdinPending() == 0 || !exec.in) {
        exec.stdinBuffer.clear();
        exec.stdinPos = 0;
        if (exec.stdinEof)
            exec.in.reset();
    }
}

bool Shim::stdinCongested(const Client &client) const
{
    return std::any_of(m_execs.begin(), m_execs.end(), [&client](const auto &e) {
        return !e->done && e->clientSerial == client.serial && e->stdinPending() >= StdinHighWater;
    });
}

void Shim::readExecOutput(Exec &exec, bool isStderr, bool drain)
{
    Fd &fd = isStderr ? exec.err : exec.out;
    Client *client = findClient(exec.clientSerial);
    // A final drain reads what the child wrote before it exited; a grandchild that keeps the pipe
    // open and keeps writing must not hold the exit frame back forever.
    int rounds = drain ? 16 : 1;
    while (fd && rounds > 0) {
        const ssize_t n = ::read(fd.get(), m_scratch.data(), OutputChunk);
        if (n < 0 && errno == EINTR)
            continue;
        --rounds;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            fd.reset();
            // A process that closed its stdout and lives on can say nothing more there; an agent
            // speaking a protocol on it is as good as gone, and the client may want to know now.
            if (!isStderr && !drain && !exec.done && client)
                send(*client, FrameType::StdoutClosed, exec.id, {});
            return;
        }
        const auto size = static_cast<std::uint64_t>(n);
        exec.produced += size;
        const std::uint64_t room = exec.cap > exec.forwarded ? exec.cap - exec.forwarded : 0;
        const std::uint64_t allowed = std::min(size, room);
        if (allowed < size) {
            exec.flags |= wire::ExitFlag::OutputTruncated;
            // A process past its cap would keep running unseen; the cap is a limit, so it ends it.
            // (The final drain runs after it exited by itself: nothing left to stop.)
            if (!drain && !exec.done && !(exec.flags & wire::ExitFlag::OutputCapStopped)) {
                exec.flags |= wire::ExitFlag::OutputCapStopped;
                stopGroup(exec, exec.graceMs);
            }
        }
        if (allowed > 0 && client) {
            send(*client, isStderr ? FrameType::Stderr : FrameType::Stdout, exec.id,
                 std::string_view(m_scratch.data(), allowed));
        }
        exec.forwarded += allowed;
    }
}

void Shim::reapChildren()
{
    for (;;) {
        int status = 0;
        const pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            return; // none ready, or no children at all
        // Orphans reparented to us are reaped here too and need nothing more.
        for (const auto &exec : m_execs) {
            if (!exec->done && exec->pid == pid) {
                finishExec(*exec, status);
                break;
            }
        }
    }
}

void Shim::finishExec(Exec &exec, int status)
{
    readExecOutput(exec, false, true);
    readExecOutput(exec, true, true);
    exec.out.reset();
    exec.err.reset();
    exec.in.reset();
    TlvBuilder body;
    if (WIFEXITED(status)) {
        body.i32(Tag::ExitCode, WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        body.u32(Tag::Signal, static_cast<std::uint32_t>(WTERMSIG(status)));
        if (WCOREDUMP(status))
            exec.flags |= wire::ExitFlag::CoreDumped;
    }
    body.u32(Tag::Flags, exec.flags)
        .u64(Tag::DurationMs, static_cast<std::uint64_t>(nowMs() - exec.startedMs))
        .u64(Tag::OutputBytes, exec.produced);
    if (Client *client = findClient(exec.clientSerial))
        send(*client, FrameType::Exit, exec.id, body.data());
    exec.done = true;
}

void Shim::stopGroup(Exec &exec, std::uint32_t graceMs)
{
    if (exec.done)
        return;
    ::kill(-exec.pid, SIGTERM);
    // A stopped process only acts on SIGTERM once continued.
    ::kill(-exec.pid, SIGCONT);
    if (graceMs == 0)
        ::kill(-exec.pid, SIGKILL);
    else
        m_groupKills.push_back(GroupKill{exec.pid, nowMs() + graceMs});
}

void Shim::handleKill(Client &client, std::uint32_t id, TlvReader &tlv)
{
    const auto target = tlv.u32(Tag::Target);
    const auto signal = tlv.u32(Tag::Signal);
    const auto grace = tlv.u32(Tag::KillGraceMs);
    if (!tlv.ok()) {
        failClient(client, ShimError::Malformed, tlv.error());
        return;
    }
    if (!target || (signal && (*signal == 0 || *signal > 64))) {
        sendError(client, id, ShimError::InvalidRequest, "kill needs a target and a valid signal");
        return;
    }
    for (const auto &exec : m_execs) {
        if (exec->done || exec->clientSerial != client.serial || exec->id != *target)
            continue;
        exec->flags |= wire::ExitFlag::Killed;
        if (signal)
            ::kill(-exec->pid, static_cast<int>(*signal));
        else
            stopGroup(*exec, std::min(grace.value_or(exec->graceMs), MaxGraceMs));
        send(client, FrameType::Ok, id, {});
        return;
    }
    sendError(client, id, ShimError::NoSuchRequest, "no running exec has that request id");
}

void Shim::checkTimers(std::int64_t now)
{
    for (const auto &exec : m_execs) {
        if (!exec->done && exec->deadlineMs >= 0 && now >= exec->deadlineMs) {
            exec->flags |= wire::ExitFlag::TimedOut;
            exec->deadlineMs = -1;
            stopGroup(*exec, exec->graceMs);
        }
    }
    std::erase_if(m_groupKills, [now](const GroupKill &k) {
        if (now < k.atMs)
            return false;
        ::kill(-k.pgid, SIGKILL);
        return true;
    });
    for (const auto &client : m_clients) {
        if (!client->dead && client->closing && now >= client->closeBy)
            dropClient(*client);
    }
}

std::size_t Shim::runningExecs() const
{
    return static_cast<std::size_t>(
        std::count_if(m_execs.begin(), m_execs.end(), [](const auto &e) { return !e->done; }));
}

} // namespace airlock::shim
