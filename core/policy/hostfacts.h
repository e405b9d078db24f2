#pragma once

#include <QString>

// What the linter needs to know about this machine to say which settings can be enforced as written.
// Plain data so tests and the CLI can describe any machine; probeHostFacts() fills it for this one.

namespace airlock::policy {

struct HostFacts {
    QString home;                   // expands ~ and $HOME in mount paths
    QString runtimeDir;             // $XDG_RUNTIME_DIR, home of a rootless Docker socket
    bool bwrapInstalled = true;
    bool userNamespaces = true;     // unprivileged user namespaces are allowed
    bool cgroupsWritable = false;   // a delegated cgroup v2 subtree can take limits
    bool dockerReachable = false;
    bool runscInstalled = false;    // gVisor registered as a Docker runtime
    // What a limit is measured against; 0: unknown (the linter then says nothing about it).
    int cpuCount = 0;               // cores this process may run on
    qint64 memoryBytes = 0;         // physical memory
    qint64 workspaceDiskBytes = 0;  // size of the file system of the home folder (where workspaces usually are)
    bool launcherIsRoot = false;    // local sandboxes then run as another, unprivileged uid
    bool operator==(const HostFacts &) const = default;
};

// A quick look at this machine: files and executables only, no processes started, no sockets opened.
// Docker reachability and runsc are approximations (the socket is writable, runsc is on PATH); the
// Docker backend knows better after talking to the daemon and may overwrite them.
HostFacts probeHostFacts();

} // namespace airlock::policy
