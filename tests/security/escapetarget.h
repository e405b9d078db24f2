#pragma once

#include <optional>

// Where the escape suite runs its attacks: a local bubblewrap sandbox under the Standard preset, or a
// Docker container under the Hardened preset. Both scale the preset's limits down so that every bomb
// hits them within seconds. One implementation is linked into each test binary.

#include "policy/policy.h"
#include "sandbox/backend.h"

#include <QString>

#include <memory>

namespace airlock::sandbox::test {

class EscapeTarget
{
public:
    virtual ~EscapeTarget() = default;

    virtual QString name() const = 0;
    // Why it cannot run here, or empty. Called once, after the test has set up its environment.
    virtual QString unavailable() = 0;
    // Readies the backend (and image); false with why.
    virtual bool prepare(QString *why) = 0;

    virtual QString root() const = 0;        // holds ws/, and the test's outside/ and home/
    virtual QString workspace() const = 0;
    virtual QString runtimeRoot() const = 0; // comes and goes with each sandbox; checked through leftovers()
    virtual QString scratch() const = 0;     // a folder the sandbox may write (the file-size bomb's target)

    // Who the workspace's files must belong to for writable() to write them, when not whoever runs
    // the test (the Docker target as root: containers never run as host root).
    virtual std::optional<uint> workspaceOwner() const { return std::nullopt; }

    virtual policy::Policy policy() const = 0;
    // policy() with a workspace the sandbox can write (for attacks that plant links in it first).
    virtual policy::Policy writable() const = 0;
    // That with the protections some attacks aim at switched off, to show the suite has teeth.
    policy::Policy weakened() const
    {
        policy::Policy weak = writable();
        weak.network.mode = policy::NetworkMode::Host;
        weak.privileges.seccomp = policy::SeccompMode::Unconfined;
        weak.filesystem.protectedPaths.clear();
        weak.filesystem.protectionLayer = false;
        weak.filesystem.mounts.append(policy::Mount{QStringLiteral("~/.ssh"), QStringLiteral("/home/agent/.ssh"), policy::Access::ReadOnly});
        return weak;
    }

    // Why an attack (by name; "control: NAME" for the control runs, "never host root" for the uid
    // check) ends differently on this target, and what holds instead; empty when it behaves as on
    // the others. The host must stay unchanged either way.
    virtual QString differsHere(const QString &attack) const
    {
        Q_UNUSED(attack)
        return {};
    }

    // Started and running, or nullptr with a warning.
    virtual Sandbox *start(const policy::Policy &policy) = 0;
    virtual bool destroy(Sandbox *sandbox) = 0;
    // What a destroyed sandbox left on the host; empty when nothing.
    virtual QString leftovers(const QString &id, const QString &controlDir) = 0;
};

std::unique_ptr<EscapeTarget> makeEscapeTarget();

} // namespace airlock::sandbox::test
