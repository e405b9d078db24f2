#pragma once

// Where Airlock's own pieces appear inside every sandbox, whatever the backend. Policies may not mount
// over these places, and the shim and the proxy bridge find each other through them.

namespace airlock::policy {

inline constexpr char kSandboxAirlockDir[] = "/airlock";
inline constexpr char kSandboxShim[] = "/airlock/shim";          // the static airlock-shim, read-only
inline constexpr char kSandboxControlDir[] = "/airlock/control"; // the per-sandbox socket folder
inline constexpr char kSandboxControlSocket[] = "/airlock/control/shim.sock"; // the shim's control socket
inline constexpr char kSandboxProxySocket[] = "/airlock/control/proxy.sock";  // the egress proxy's socket
inline constexpr char kSandboxHome[] = "/home/agent";
inline constexpr char kSandboxPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

} // namespace airlock::policy
