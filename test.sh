#!/usr/bin/env bash
# Builds Airlock and runs every test (installing any missing Debian packages first).
# Idempotent and incremental. With CI=true it uses the ci preset, where warnings are errors.
set -euo pipefail
cd "$(dirname "$0")"
# The fuzz targets (tests/fuzz) are a clang build of their own. CI builds it, and the fuzz tests then
# run each parser briefly under ASan + UBSan; elsewhere they run when build/fuzz exists and otherwise
# say "skipped".
fuzz=$([[ "${CI:-}" == "true" || -f build/fuzz/build.ninja ]] && echo 1 || echo 0)
bash packaging/install-deps.sh --tests $([[ $fuzz -eq 1 ]] && echo --fuzz)
preset=${AIRLOCK_PRESET:-$([[ "${CI:-}" == "true" ]] && echo ci || echo dev)}
[[ -f build/$preset/build.ninja ]] || cmake --preset "$preset"
cmake --build --preset "$preset"
if [[ $fuzz -eq 1 ]]; then
    [[ -f build/fuzz/build.ninja ]] || cmake --preset fuzz
    cmake --build --preset fuzz
fi
# The Docker tests need a daemon: in CI it is installed and started; elsewhere one is started when
# Docker is installed. When none answers, those tests say "skipped" with the reason.
if [[ "${CI:-}" == "true" ]]; then dockerd_opts=(--podman --gvisor); else dockerd_opts=(--no-install --gvisor); fi
bash packaging/ensure-dockerd.sh "${dockerd_opts[@]}" --airlockctl "build/$preset/app/airlockctl/airlockctl" \
    || echo "test.sh: no Docker daemon; the Docker tests will say skipped"
exec ctest --preset "$preset" "$@"
