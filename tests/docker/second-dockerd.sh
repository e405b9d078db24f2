#!/usr/bin/env bash
# A second Docker daemon on this machine, reachable only over TLS on a loopback TCP port, with a CA,
# server and client certificates made here: a "remote" daemon for the tests, which share nothing
# with it but the kernel. Its data, exec root, containerd and sockets live under DIR.
#   second-dockerd.sh start DIR   prints PORT; DIR/client holds ca.pem, cert.pem, key.pem (DOCKER_CERT_PATH)
#   second-dockerd.sh stop DIR    stops it and removes DIR
# Needs root and dockerd. Exits 77 (skipped) when it cannot run here, with the reason on stderr.
set -euo pipefail
verb=${1:?start or stop}
dir=${2:?a folder}
skip() { echo "second-dockerd: $*" >&2; exit 77; }

if [[ $verb == stop ]]; then
    if [[ -f $dir/dockerd.pid ]]; then
        pid=$(cat "$dir/dockerd.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    # Its containerd and the shims it left, then its mounts (overlay layers, netns files).
    pkill -f "containerd.*$dir/exec" 2>/dev/null || true
    grep -F " $dir/" /proc/self/mounts | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    rm -rf "$dir"
    exit 0
fi

[[ $(id -u) -eq 0 ]] || skip "needs root to start a Docker daemon"
command -v dockerd >/dev/null || PATH=$PATH:/usr/sbin
command -v dockerd >/dev/null || skip "dockerd is not installed"
command -v openssl >/dev/null || skip "openssl is not installed"
mkdir -p "$dir/client" "$dir/server"
chmod 700 "$dir"
cd "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 2 -subj "/CN=airlock test CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout server/key.pem -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out server/cert.pem -days 2 -extfile server.ext 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout client/key.pem -out client.csr -subj "/CN=airlock test client" 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' > client.ext
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out client/cert.pem -days 2 -extfile client.ext 2>/dev/null
cp ca.pem client/ca.pem
chmod 600 client/key.pem server/key.pem
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo '{}' > daemon.json
# No bridge, no iptables: it must not touch the first daemon's networks or the host's firewall.
nohup dockerd --config-file "$dir/daemon.json" --data-root "$dir/data" --exec-root "$dir/exec" \
    --pidfile "$dir/dockerd.pid" -H "tcp://127.0.0.1:$port" --tlsverify --tlscacert "$dir/ca.pem" \
    --tlscert "$dir/server/cert.pem" --tlskey "$dir/server/key.pem" --bridge=none --iptables=false \
    --ip-masq=false --ip-forward=false --userland-proxy=false >"$dir/dockerd.log" 2>&1 </dev/null &
for _ in $(seq 150); do
    if curl -sf --cacert ca.pem --cert client/cert.pem --key client/key.pem "https://127.0.0.1:$port/_ping" >/dev/null 2>&1; then
        echo "$port"
        exit 0
    fi
    sleep 0.2
done
echo "second-dockerd: it did not answer within 30 s; its log ends with:" >&2
tail -n 15 "$dir/dockerd.log" >&2
"$0" stop "$dir" || true
exit 1
