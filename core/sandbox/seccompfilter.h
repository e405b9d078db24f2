#pragma once

#include "error.h"
#include "policy/policy.h"

#include <QByteArray>
#include <QStringList>

// The seccomp filter of a local sandbox, built with libseccomp from the policy's privileges and handed
// to bwrap as a compiled BPF program (bwrap --seccomp FD). It is a deny list on top of what namespaces
// and dropped capabilities already forbid: calls an agent's tools never need and that have a history
// of kernel escapes fail with EPERM, so tools get an error instead of a crash.
//
// default: ptrace and reading other processes' memory, mount and the new mount API, pivot_root,
//          kexec and reboot, bpf, perf_event_open, userfaultfd, io_uring, keyctl/add_key/request_key,
//          module loading, open_by_handle_at, swap, clock and accounting changes, terminal injection
//          (TIOCSTI, TIOCLINUX) and, unless nestedUserNamespaces, creating user namespaces
//          (unshare/clone with CLONE_NEWUSER; clone3, whose flags a filter cannot read, fails with
//          ENOSYS so libc falls back to clone).
// strict:  the above plus every other namespace, setns, chroot, device nodes, kcmp,
//          name_to_handle_at, fanotify and socket families other than unix, inet, inet6 and netlink.
// unconfined: no filter. custom (a Docker profile): the default filter.
//
// nestedUserNamespaces lets nested sandboxes work: namespaces, mount, pivot_root and chroot are
// allowed then, and the kernel confines them to the nested namespaces.

namespace airlock::sandbox {

struct SeccompRule
{
    QString syscall;
    int error = 0;        // errno returned
    QString condition;    // empty: always; else a description such as "flags & CLONE_NEWUSER"
};

// The rules for these privileges, for display and tests. Empty for unconfined.
QList<SeccompRule> seccompRules(const policy::Privileges &privileges);

// The same rules as a Docker seccomp profile (JSON), so a Docker sandbox gets Airlock's filter for
// default and strict just as a local one does. Empty for unconfined and custom (the user's profile).
QByteArray dockerSeccompProfile(const policy::Privileges &privileges);

// The BPF program (an array of struct sock_filter) for the native architecture; other architectures'
// system calls kill the process. Cached per distinct rule set, so it is cheap to call per launch.
Result<QByteArray> seccompProgram(const policy::Privileges &privileges);

// A close-on-exec, sealed memfd with `bytes` in it, positioned at the start: how bwrap receives the
// program. The caller owns the descriptor.
Result<int> sealedMemfd(const char *name, const QByteArray &bytes);

} // namespace airlock::sandbox
