#!/usr/bin/env bash
# An OpenSSH server on a loopback port, for DOCKER_HOST=ssh:// against the second dockerd
# (second-dockerd.sh): logins only with a key made here, and every session's `docker` reaches that
# daemon over TLS (SetEnv). Nothing of the machine's own ssh set-up is read or changed.
#   ssh-server.sh start DIR DOCKER_PORT CERT_DIR CACHE   prints PORT; DIR/ssh-opts holds the client's
#                                                       options (AIRLOCK_DOCKER_SSH_OPTS)
#   ssh-server.sh stop DIR
# Uses /usr/sbin/sshd, or one unpacked from Debian's openssh-server package into CACHE (not installed,
# so no system ssh service is started). Exits 77 (skipped) when it cannot run here, with the reason.
set -euo pipefail
verb=${1:?start or stop}
dir=${2:?a folder}
skip() { echo "ssh-server: $*" >&2; exit 77; }

if [[ $verb == stop ]]; then
    [[ -f $dir/sshd.pid ]] && kill "$(cat "$dir/sshd.pid")" 2>/dev/null || true
    rm -rf "$dir"
    exit 0
fi
docker_port=${3:?the second daemon port}
certs=${4:?the client certificates}
cache=${5:?a cache folder}
[[ $(id -u) -eq 0 ]] || skip "needs root (sshd's privilege separation)"
command -v ssh >/dev/null || skip "ssh (openssh-client) is not installed"
command -v docker >/dev/null || skip "the docker CLI, which ssh:// runs on the daemon's side, is not installed"
sshd=/usr/sbin/sshd
if [[ ! -x $sshd ]]; then
    sshd=$cache/sshd/usr/sbin/sshd
    if [[ ! -x $sshd ]]; then
        mkdir -p "$cache/sshd"
        ( cd "$cache/sshd" && apt-get download -q openssh-server >/dev/null 2>&1 ) || skip "openssh-server could not be downloaded"
        dpkg-deb -x "$cache"/sshd/openssh-server_*.deb "$cache/sshd" || skip "openssh-server could not be unpacked"
    fi
    if ldd "$sshd" | grep -q "not found"; then skip "sshd lacks libraries: $(ldd "$sshd" | grep 'not found' | head -1)"; fi
fi
mkdir -p "$dir" /run/sshd
chmod 700 "$dir"
ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$dir/client_key"
cp "$dir/client_key.pub" "$dir/authorized_keys"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$dir/sshd_config" <<CONF
ListenAddress 127.0.0.1:$port
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
SetEnv DOCKER_HOST=tcp://127.0.0.1:$docker_port DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=$certs
CONF
echo "[127.0.0.1]:$port $(cat "$dir/host_key.pub")" > "$dir/known_hosts"
echo "-i $dir/client_key -o IdentitiesOnly=yes -o UserKnownHostsFile=$dir/known_hosts -o StrictHostKeyChecking=yes -F /dev/null" > "$dir/ssh-opts"
# sshd wants its privilege-separation user, which only its package creates: it runs in a mount
# namespace of its own where /etc/passwd has that user, so the machine's user list is left alone.
{ cat /etc/passwd; getent passwd sshd >/dev/null || echo "sshd:x:65533:65534::/run/sshd:/usr/sbin/nologin"; } > "$dir/passwd"
command -v unshare >/dev/null || skip "unshare (util-linux) is not installed"
unshare -m --propagation private sh -c 'mount --bind "$1/passwd" /etc/passwd && exec "$2" -f "$1/sshd_config" -E "$1/sshd.log"' sh "$dir" "$sshd" \
    || skip "sshd could not start in a mount namespace of its own"
for _ in $(seq 50); do
    if ssh $(cat "$dir/ssh-opts") -o BatchMode=yes -p "$port" root@127.0.0.1 true 2>/dev/null; then
        echo "$port"
        exit 0
    fi
    sleep 0.2
done
echo "ssh-server: sshd did not let the test in; its log ends with:" >&2
tail -n 15 "$dir/sshd.log" >&2
"$0" stop "$dir" || true
exit 1
