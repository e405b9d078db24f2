#!/usr/bin/env bash
# Builds Airlock and runs every test (installing any missing Debian packages first).
# Idempotent and incremental. With CI=true it uses the ci preset, where warnings are errors.
set -euo pipefail
cd "$(dirname "$0")"
bash packaging/install-deps.sh --tests
preset=${AIRLOCK_PRESET:-$([[ "${CI:-}" == "true" ]] && echo ci || echo dev)}
[[ -f build/$preset/build.ninja ]] || cmake --preset "$preset"
cmake --build --preset "$preset"
exec ctest --preset "$preset" "$@"
