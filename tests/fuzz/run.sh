#!/usr/bin/env bash
# Fuzzes one parser for a while:  tests/fuzz/run.sh [--no-build] TARGET SECONDS [libFuzzer options…]
#
# TARGET is one of the fuzz_*.cpp names here (jsonrpc, acp, policy, shimwire, egresshttp, dockerhttp,
# dockerstream). Builds the fuzz preset first (clang, ASan + UBSan) unless --no-build is given, which
# the ctest runs use: then a missing build makes it exit 77, "skipped", with the reason.
#
# The seeds in tests/fuzz/corpus/TARGET are read, never written; what the run learns goes to
# build/fuzz/corpus/TARGET, which later runs start from, and an input that crashes goes to
# build/fuzz/artifacts/TARGET/. Replay one with: build/fuzz/tests/fuzz/fuzz_TARGET FILE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

build=1
if [[ "${1:-}" == "--no-build" ]]; then
    build=0
    shift
fi
if [[ $# -lt 2 ]]; then
    echo "usage: $0 [--no-build] TARGET SECONDS [libFuzzer options…]" >&2
    exit 2
fi
target=$1
seconds=$2
shift 2
if [[ ! -f "$here/fuzz_$target.cpp" ]]; then
    echo "error: no fuzz target '$target'; there are:" $(cd "$here" && ls fuzz_*.cpp | sed 's/^fuzz_//; s/\.cpp$//') >&2
    exit 2
fi
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [[ "$seconds" -lt 1 ]]; then
    echo "error: SECONDS must be a positive whole number, not '$seconds'" >&2
    exit 2
fi

dir=${AIRLOCK_FUZZ_BUILD_DIR:-$root/build/fuzz}
binary=$dir/tests/fuzz/fuzz_$target
if [[ $build -eq 1 ]]; then
    cd "$root"
    [[ -f "$dir/build.ninja" ]] || cmake --preset fuzz -B "$dir"
    cmake --build "$dir" --target "fuzz_$target"
elif [[ ! -x "$binary" ]]; then
    echo "skipped: no fuzz build at $dir (CI builds it; by hand: cmake --preset fuzz && cmake --build --preset fuzz," \
         "which needs clang 16: apt-get install clang-16 libclang-rt-16-dev)"
    exit 77
fi

corpus=$dir/corpus/$target
artifacts=$dir/artifacts/$target
mkdir -p "$corpus" "$artifacts"
dict=()
[[ -f "$here/$target.dict" ]] && dict=(-dict="$here/$target.dict")

# A smaller quarantine and shorter allocation stacks than ASan's defaults: a third less time per
# input, for a use-after-free window of the last 32 MiB freed, which is far more than one input uses.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:quarantine_size_mb=32:malloc_context_size=10}
if [[ -z "${ASAN_SYMBOLIZER_PATH:-}" ]]; then
    symbolizer=$(command -v llvm-symbolizer-16 || command -v llvm-symbolizer || true)
    [[ -n "$symbolizer" ]] && export ASAN_SYMBOLIZER_PATH=$symbolizer
fi
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# -timeout is generous because a shared machine can stall a process for seconds; a hang still shows.
echo "fuzz_$target for $seconds s; corpus $corpus, seeds $here/corpus/$target"
exec "$binary" -max_total_time="$seconds" -timeout=60 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "${dict[@]}" "$@" "$corpus" "$here/corpus/$target"
