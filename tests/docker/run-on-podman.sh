#!/bin/sh
# Runs Docker-backend tests against podman's Docker-compatible API: starts `podman system service` on a
# socket of its own, points DOCKER_HOST at it and runs each test binary given. Exits 77 (skipped) with
# the reason where podman is not installed or its service does not answer.
#
# The service runs containers with runc: crun refuses hybrid cgroup hierarchies (v1 controllers with a
# v2 mount), which some hosts, CI machines among them, have.
set -u
command -v podman >/dev/null 2>&1 || { echo "skipped: podman is not installed (apt install podman)"; exit 77; }
# Airlock starts containers with an init process; podman needs catatonit for that (Debian: catatonit).
if [ ! -x /usr/libexec/podman/catatonit ] && ! command -v catatonit >/dev/null 2>&1; then
    echo "skipped: podman cannot start containers with an init process here: catatonit is not installed (apt install catatonit)"
    exit 77
fi
runtime=$(command -v runc || true)
dir=$(mktemp -d)
sock="$dir/podman.sock"
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
podman ${runtime:+--runtime "$runtime"} system service --time=0 "unix://$sock" >"$dir/service.log" 2>&1 &
pid=$!
i=0
until curl -sf --unix-socket "$sock" http://podman/_ping >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "skipped: podman's service did not answer: $(tail -n 3 "$dir/service.log")"
        exit 77
    fi
    sleep 0.1
done
export DOCKER_HOST="unix://$sock"
status=0
for test in "$@"; do
    echo "== $test against podman ($(podman --version))"
    "$test" || status=1
done
exit $status
