#!/usr/bin/env bash
# Installs the Debian 12 packages Airlock needs to build, run and test.
# Idempotent: only packages that are missing are installed; nothing happens when all are present.
set -euo pipefail

# Build toolchain and libraries.
build_pkgs=(
  build-essential cmake ninja-build ccache pkg-config git
  qt6-base-dev qt6-base-dev-tools qt6-websockets-dev qt6-svg-dev libqt6svg6 qt6-qpa-plugins
  libgl-dev libxkbcommon-dev
  libsqlite3-dev sqlite3 libgit2-dev libseccomp-dev libhttp-parser-dev qtkeychain-qt6-dev libfuse3-dev
)
# What the app needs at run time beyond the libraries above (fuse3: the protection layer of the workspace).
run_pkgs=( bubblewrap fuse3 fonts-dejavu-core )
# What only the tests need: validators for the desktop entry and metainfo, util-linux for setpriv, a
# D-Bus daemon and gnome-keyring for a real Secret Service; node and npm for the ACP conformance test.
test_pkgs=( desktop-file-utils appstream util-linux procps openssl socat curl dbus-daemon gnome-keyring )

# The fuzz build (tests/fuzz): clang 16 is the oldest in Debian 12 that compiles std::expected with
# libstdc++ 12, and libFuzzer with the sanitizer runtimes.
fuzz_pkgs=( clang-16 libclang-rt-16-dev llvm )

want=("${build_pkgs[@]}" "${run_pkgs[@]}")
[[ " $* " == *" --fuzz "* ]] && want+=("${fuzz_pkgs[@]}")
if [[ " $* " == *" --tests "* ]]; then
  want+=("${test_pkgs[@]}")
  # Node may come from elsewhere (NodeSource's nodejs bundles npm and conflicts with Debian's npm):
  # a working command is enough; Debian's packages are installed only when a command is missing.
  command -v node >/dev/null 2>&1 || want+=(nodejs)
  command -v npm >/dev/null 2>&1 || want+=(npm)
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "Installing missing Debian packages: ${missing[*]}"
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "error: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
