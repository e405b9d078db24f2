#!/usr/bin/env bash
# Makes Docker usable for Airlock's Docker sandboxes and their tests, and is safe to run again:
#   1. installs docker.io (and busybox-static, the base image's userland) when missing  (apt; sudo when not root)
#   2. starts dockerd in the background when nothing answers, and waits for it to answer /_ping
#   3. builds the offline base image with `airlockctl image build-base --if-missing`
#   With --podman it also installs podman (best effort), whose Docker-compatible API the tests try too.
# Usage: packaging/ensure-dockerd.sh [--airlockctl PATH] [--no-install] [--no-image] [--podman] [--timeout SECONDS]
# Exits 0 when Docker answers (and the base image exists, unless --no-image); otherwise 1, saying why.
set -euo pipefail

airlockctl=""
install=1
image=1
podman=0
timeout=60
while [[ $# -gt 0 ]]; do
    case "$1" in
        --airlockctl) airlockctl="$2"; shift 2 ;;
        --no-install) install=0; shift ;;
        --no-image) image=0; shift ;;
        --podman) podman=1; shift ;;
        --timeout) timeout="$2"; shift 2 ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "ensure-dockerd: unknown option $1" >&2; exit 2 ;;
    esac
done

say() { echo "ensure-dockerd: $*"; }
sudo_=()
if [[ $EUID -ne 0 ]]; then
    if command -v sudo >/dev/null; then sudo_=(sudo); else say "not root and no sudo: cannot install or start Docker"; fi
fi

answers() {
    # /_ping through the CLI (scripts may use it; Airlock itself speaks the Engine API).
    timeout 10 docker version --format '{{.Server.APIVersion}}' >/dev/null 2>&1
}

# 1. Installed?
need=()
command -v dockerd >/dev/null 2>&1 || [[ -x /usr/sbin/dockerd ]] || need+=(docker.io)
[[ -x /bin/busybox || -x /usr/bin/busybox ]] || need+=(busybox-static)
if [[ ${#need[@]} -gt 0 ]]; then
    if [[ $install -eq 0 ]]; then
        say "missing ${need[*]} (and --no-install was given)"; exit 1
    fi
    say "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_[@]}" apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null \
        || { "${sudo_[@]}" apt-get update -q >/dev/null && "${sudo_[@]}" apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null; }
fi
# podman runs containers started with an init process (Airlock's are) through catatonit, which Debian
# lists only as a recommendation of podman.
if [[ $podman -eq 1 && $install -eq 1 ]] && { ! command -v podman >/dev/null 2>&1 || ! command -v catatonit >/dev/null 2>&1; }; then
    say "installing podman and catatonit (their tests skip if this fails)"
    DEBIAN_FRONTEND=noninteractive "${sudo_[@]}" apt-get install -y -q --no-install-recommends podman catatonit runc >/dev/null \
        || say "could not install podman; the podman tests will say skipped"
fi
PATH="$PATH:/usr/sbin:/sbin"

# 2. Running?
if ! answers; then
    if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
        say "starting docker.service"
        "${sudo_[@]}" systemctl start docker || true
    fi
    if ! answers; then
        log=/var/log/airlock-dockerd.log
        say "starting dockerd in the background (log: $log)"
        "${sudo_[@]}" sh -c "nohup dockerd >>$log 2>&1 </dev/null &"
    fi
    for ((i = 0; i < timeout * 5; i++)); do
        answers && break
        sleep 0.2
    done
    if ! answers; then
        say "dockerd did not answer within ${timeout}s; its log ends with:"
        "${sudo_[@]}" tail -n 15 /var/log/airlock-dockerd.log 2>/dev/null || true
        exit 1
    fi
fi
say "Docker answers (API $(docker version --format '{{.Server.APIVersion}}' 2>/dev/null))"

# 3. The offline base image.
[[ $image -eq 1 ]] || exit 0
if [[ -z "$airlockctl" ]]; then
    for candidate in build/ci/app/airlockctl/airlockctl build/dev/app/airlockctl/airlockctl "$(command -v airlockctl || true)"; do
        [[ -n "$candidate" && -x "$candidate" ]] && { airlockctl="$candidate"; break; }
    done
fi
if [[ -z "$airlockctl" || ! -x "$airlockctl" ]]; then
    say "no airlockctl found (build Airlock first, or pass --airlockctl PATH); the base image is not checked"
    exit 1
fi
"$airlockctl" image build-base --if-missing | sed 's/^/ensure-dockerd: /'
