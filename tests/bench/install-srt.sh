#!/usr/bin/env bash
# Puts Anthropic's sandbox-runtime CLI (npm @anthropic-ai/sandbox-runtime) in the build folder for
# bench_local_exec's side-by-side figures, with ripgrep, which it needs. Prints the path to give as SRT.
# Usage: tests/bench/install-srt.sh [BUILD_DIR] [VERSION]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build/dev}" && pwd)
version=${2:-latest}
command -v rg >/dev/null || { [[ $(id -u) -eq 0 ]] && apt-get install -y -qq ripgrep >/dev/null || sudo apt-get install -y -qq ripgrep >/dev/null; }
dir=$build/bench-cache/srt
mkdir -p "$dir"
[[ -x $dir/node_modules/.bin/srt ]] || npm install --silent --no-audit --no-fund --prefix "$dir" "@anthropic-ai/sandbox-runtime@$version" >&2
echo "$dir/node_modules/.bin/srt"
