#pragma once

#include "docker/baseimage.h"

// The agent image: the offline base with what ACP adapters and their tools need to run in a container,
// taken from this host: node (the adapters' runtime), bash (Claude Code's shell tool runs bash), git,
// coreutils, and the CA certificates. The adapter itself is not in it: a session mounts the install
// folder read-only (airlockctl agents install), as on bubblewrap, so one image serves every agent and
// version. Built offline, like the base image, so Hardened works on a machine with no registry.

namespace airlock::docker {

inline constexpr char kAgentImageRepository[] = "airlock-agent";
inline constexpr char kAgentImage[] = "airlock-agent:latest";

// Where a session mounts an agent's install folder in a container. Not the host path: the image's
// folders above that (/root, a 0700 home) would hide it from the container's unprivileged user.
inline constexpr char kContainerAgentsDir[] = "/opt/airlock/agents";

// What to copy; fails naming the package to install when node, bash or git is missing here.
Result<BaseImageOptions> agentImageOptions();

// Whether `image` names `own` ("airlock-base:latest"), as given or as podman names it in full
// (docker.io/library/airlock-base:latest).
bool namesImage(const QString &image, const char *own);

// Whether `image` is one Airlock builds itself (so a missing one is built, not pulled).
bool isOwnImage(const QString &image);

// Builds whichever of Airlock's own images `image` names.
QFuture<Result<QString>> buildOwnImage(DockerClient *client, const QString &image, std::function<void(const QString &)> note = {});

} // namespace airlock::docker
