// airlock-protectfs: mounts a workspace at a mount point through FUSE, refusing every change to a
// protected name (core/sandbox/protectednames.h), and passes everything else through. Started by the
// local and Docker backends before a sandbox and stopped with it; the sandbox binds the mount point
// as its workspace. Why FUSE and not another layer: core/sandbox/README.md, "Protected names".
//
//   airlock-protectfs [--daemon] [--allow-other] [--protect NAME]... WORKSPACE MOUNTPOINT
//
// Prints "ready" on stdout once mounted. In the foreground it ends with its parent; with --daemon the
// command returns once mounted and the file system serves until it is unmounted, as a persistent
// sandbox outlives Airlock. SIGTERM or SIGINT unmounts and exits. Qt-free.
#include "protectfs.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

int usage()
{
    std::fputs("usage: airlock-protectfs [--daemon] [--allow-other] [--protect NAME]... WORKSPACE MOUNTPOINT\n", stderr);
    return 2;
}

} // namespace

int main(int argc, char **argv)
{
    bool allowOther = false;
    bool daemon = false;
    std::vector<std::string> additions;
    std::vector<std::string> positional;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--allow-other")
            allowOther = true;
        else if (a == "--daemon")
            daemon = true;
        else if (a == "--protect" && i + 1 < argc)
            additions.emplace_back(argv[++i]);
        else if (a.starts_with("-"))
            return usage();
        else
            positional.push_back(a);
    }
    if (positional.size() != 2)
        return usage();
    if (!daemon) {
        // Whoever started us going away takes the mount with it.
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (::getppid() == 1)
            return 1;
    }
    ::umask(0); // the kernel has applied the caller's umask to every mode it sends

    airlock::protectfs::State state{::open(positional[0].c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC),
                                    airlock::protect::ProtectedNames(additions)};
    if (state.rootFd < 0) {
        std::fprintf(stderr, "airlock-protectfs: cannot open the workspace %s: %s\n", positional[0].c_str(),
                     std::strerror(errno));
        return 1;
    }

    std::vector<std::string> args{"airlock-protectfs", "-o", "default_permissions,fsname=airlock-protect,subtype=airlock"};
    if (allowOther)
        args.back() += ",allow_other";
    std::vector<char *> raw;
    for (std::string &s : args)
        raw.push_back(s.data());
    fuse_args fargs = FUSE_ARGS_INIT(int(raw.size()), raw.data());
    const fuse_operations ops = airlock::protectfs::operations();
    fuse *fs = fuse_new(&fargs, &ops, sizeof ops, &state);
    if (!fs)
        return 1;
    if (fuse_mount(fs, positional[1].c_str()) != 0) {
        std::fprintf(stderr, "airlock-protectfs: cannot mount on %s (is /dev/fuse there and, for another user's "
                             "sandbox, user_allow_other in /etc/fuse.conf?)\n", positional[1].c_str());
        fuse_destroy(fs);
        return 1;
    }
    fuse_session *se = fuse_get_session(fs);
    fuse_set_signal_handlers(se);
    std::fputs("ready\n", stdout);
    std::fflush(stdout);
    if (daemon && fuse_daemonize(0) != 0) {
        fuse_unmount(fs);
        fuse_destroy(fs);
        return 1;
    }
    const int rc = fuse_loop_mt(fs, 0);
    fuse_remove_signal_handlers(se);
    fuse_unmount(fs);
    fuse_destroy(fs);
    return rc == 0 ? 0 : 1;
}
