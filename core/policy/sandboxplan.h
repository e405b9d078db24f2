#pragma once

#include "policy/compiler.h"

#include <optional>

// Internal to the compilers: what both backends share. The plan says what is mounted where and what the
// environment is; each compiler only spells it in its backend's terms.

namespace airlock::policy::detail {

struct PlannedMount {
    enum class Kind {
        Bind,             // read-write bind
        ReadOnlyBind,
        ProtectedBind,    // read-only bind of a workspace path that may not exist
        Tmpfs,
        Mask,             // an empty read-only folder over a denied path
        Directory,        // an empty folder on the sandbox's own root (bwrap only; Docker has an image)
    };
    Kind kind = Kind::Bind;
    QString source;       // host path for binds and masks
    QString target;
    std::optional<qint64> sizeBytes;
    bool noexec = false;
};

struct SandboxPlan {
    QString workspaceSource;              // on the host
    QString workspaceTarget;              // in the sandbox
    QList<PlannedMount> mounts;           // parents before children
    QMap<QString, QString> environment;
    QStringList shimArguments;            // after the shim's path: control socket, workspace, proxy bridge
};

// Validates the policy and the context together and lays out the sandbox.
Result<SandboxPlan> planSandbox(const Policy &policy, const LaunchContext &context);

} // namespace airlock::policy::detail
