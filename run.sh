#!/usr/bin/env bash
# Builds Airlock (installing any missing Debian packages first) and starts the app.
# Idempotent and incremental: a second run only rebuilds what changed. Extra arguments go to airlock.
set -euo pipefail
cd "$(dirname "$0")"
bash packaging/install-deps.sh
preset=${AIRLOCK_PRESET:-dev}
[[ -f build/$preset/build.ninja ]] || cmake --preset "$preset"
cmake --build --preset "$preset" --target airlock airlockctl
exec "build/$preset/app/airlock/airlock" "$@"
