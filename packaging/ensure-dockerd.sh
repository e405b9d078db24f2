#!/usr/bin/env bash
# Makes Docker usable for Airlock's Docker sandboxes and their tests, and is safe to run again:
#   1. installs docker.io (and busybox-static, the base image's userland) when missing  (apt; sudo when not root)
#   2. starts dockerd in the background when nothing answers, and waits for it to answer /_ping
#   3. builds the offline base image with `airlockctl image build-base --if-missing`
#   With --podman it also installs podman (best effort), whose Docker-compatible API the tests try too.
#   With --gvisor it installs Debian's runsc and registers it with dockerd as the runtime airlock-runsc,
#   with the flags Airlock's containers need (see core/docker/gvisor.cpp), then has dockerd reload.
# Usage: packaging/ensure-dockerd.sh [--airlockctl PATH] [--no-install] [--no-image] [--podman] [--gvisor] [--timeout SECONDS]
# Exits 0 when Docker answers (and the base image exists, unless --no-image); otherwise 1, saying why.
set -euo pipefail

airlockctl=""
install=1
image=1
podman=0
gvisor=0
timeout=60
while [[ $# -gt 0 ]]; do
    case "$1" in
        --airlockctl) airlockctl="$2"; shift 2 ;;
        --no-install) install=0; shift ;;
        --no-image) image=0; shift ;;
        --podman) podman=1; shift ;;
        --gvisor) gvisor=1; shift ;;
        --timeout) timeout="$2"; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
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

# 2b. gVisor, registered for Airlock. Docker works without it: a failure here is said, not fatal.
setup_gvisor() {
    gvisor_args='"--host-uds=open", "--oci-seccomp", "--network=none"'
    if ! command -v runsc >/dev/null 2>&1; then
        [[ $install -eq 1 ]] || { say "runsc is missing (and --no-install was given)"; return 1; }
        say "installing runsc (gVisor)"
        DEBIAN_FRONTEND=noninteractive "${sudo_[@]}" apt-get install -y -q --no-install-recommends runsc >/dev/null \
            || { say "could not install runsc; the gVisor rung stays unavailable"; return 1; }
    fi
    runsc_path=$(command -v runsc)
    registered() {
        docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"airlock-runsc":{"path":"'"$runsc_path"'","runtimeArgs":\["--host-uds=open","--oci-seccomp","--network=none"\]'
    }
    conf=/etc/docker/daemon.json
    # In the running daemon and in its file, so a restart keeps it.
    if registered && grep -q '"airlock-runsc"' "$conf" 2>/dev/null; then
        say "gVisor is registered as airlock-runsc"
    else
        entry="{\"path\": \"$runsc_path\", \"runtimeArgs\": [$gvisor_args]}"
        if [[ ! -s $conf ]]; then
            "${sudo_[@]}" mkdir -p /etc/docker
            printf '{\n  "runtimes": {\n    "airlock-runsc": %s\n  }\n}\n' "$entry" | "${sudo_[@]}" tee "$conf" >/dev/null
        elif command -v python3 >/dev/null 2>&1; then
            # Keeps everything else in the file; only Airlock's runtime entry is (re)written.
            "${sudo_[@]}" python3 -c 'import json,sys
p=sys.argv[1]; d=json.load(open(p)); d.setdefault("runtimes", {})["airlock-runsc"]=json.loads(sys.argv[2])
open(p+".airlock-new","w").write(json.dumps(d, indent=2)+"\n")' "$conf" "$entry" && "${sudo_[@]}" mv "$conf.airlock-new" "$conf"
        else
            say "$conf exists and python3 is not here to merge it: add to its \"runtimes\": \"airlock-runsc\": $entry"
            return 1
        fi
        # Runtimes are among the settings dockerd reloads on SIGHUP; running containers are untouched.
        if [[ -d /run/systemd/system ]] && systemctl is-active --quiet docker 2>/dev/null; then
            "${sudo_[@]}" systemctl reload docker
        else
            "${sudo_[@]}" pkill -HUP -x dockerd
        fi
        for ((i = 0; i < 50; i++)); do registered && break; sleep 0.2; done
        registered || { say "dockerd did not take the airlock-runsc runtime; see $conf"; return 1; }
        say "registered gVisor ($runsc_path) with dockerd as airlock-runsc"
    fi
}
if [[ $gvisor -eq 1 ]]; then
    setup_gvisor || say "gVisor is not set up; the gvisor preset and its tests say why (airlockctl doctor)"
fi

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
