#pragma once

#define FUSE_USE_VERSION 31
#include <fuse.h>

#include "protectednames.h"

// airlock-protectfs: the workspace as the sandbox sees it, with every protected name
// (core/sandbox/protectednames.h) refused create, write, rename, link and delete.

namespace airlock::protectfs {

struct State {
    int rootFd = -1;                  // O_PATH descriptor of the workspace
    protect::ProtectedNames names;
};

fuse_operations operations();

} // namespace airlock::protectfs
