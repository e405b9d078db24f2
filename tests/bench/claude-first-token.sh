#!/usr/bin/env bash
# Start-to-first-token of the real Claude Code, in the bubblewrap sandbox (the preset: key added by
# the proxy) against on the host (the same adapter, key in its environment), measured in the same run
# against the fake Messages API over TLS. Times come from the store: session.created to the first
# agent_message_chunk. Usage: tests/bench/claude-first-token.sh [BUILD_DIR] [RUNS]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build/dev}" && pwd)
runs=${2:-5}
ctl=$build/app/airlockctl/airlockctl
work=$(mktemp -d)
chmod 711 "$work"
trap 'kill $fake 2>/dev/null || true; rm -rf "$work"' EXIT
export AIRLOCK_AGENTS_DIR=$build/agents-cache AIRLOCK_SECRETS_DIR=$work/secrets AIRLOCK_SECRETS_KEYCHAIN=0
export AIRLOCK_RUNTIME_DIR=$work/run
db=$work/airlock.db

cd "$work"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj "/CN=bench CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > ext.cnf
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 1 -extfile ext.cnf 2>/dev/null
echo '{"turns":[]}' > script.json
node "$root/tests/helpers/fake-anthropic/server.mjs" --port 0 --port-file port --log upstream.log --script script.json \
    --cert srv.pem --key srv.key >/dev/null &
fake=$!
for _ in $(seq 50); do [[ -s port ]] && break; sleep 0.1; done
port=$(cat port)

"$ctl" --db "$db" agents install claude >/dev/null
echo sk-ant-bench-key | "$ctl" --db "$db" secrets set anthropic >/dev/null
program=$(ls "$AIRLOCK_AGENTS_DIR"/@zed-industries+claude-agent-acp@*/node_modules/.bin/claude-agent-acp | head -1)
"$ctl" --db "$db" agents add claude-on-host --placement host --env ANTHROPIC_API_KEY --env ANTHROPIC_BASE_URL \
    --env NODE_EXTRA_CA_CERTS --env CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC --replace -- "$program" >/dev/null 2>&1

first_token_ms() { # the newest session: ms from its creation to its first message chunk
    "$ctl" --db "$db" events tail -n 400 --json | python3 -c '
import json, sys, datetime
ev = [json.loads(l) for l in sys.stdin if l.strip()]
sid = [e for e in ev if e["kind"] == "session.created"][-1]["session"]
t = lambda e: datetime.datetime.fromisoformat(e["time"].replace("Z", "+00:00")).timestamp() * 1000
created = [e for e in ev if e["session"] == sid and e["kind"] == "session.created"][0]
chunk = [e for e in ev if e["session"] == sid and e["kind"] == "agent.update"
         and e["payload"]["update"].get("sessionUpdate") == "agent_message_chunk"][0]
print(int(t(chunk) - t(created)))'
}

mkdir -p ws && chmod 777 ws
sandbox=() host=()
for i in $(seq "$runs"); do
    (cd ws && "$ctl" --db "$db" run --agent claude --model-endpoint "https://localhost:$port" --upstream-ca "$work/ca.pem" hi >/dev/null 2>&1)
    sandbox+=("$(first_token_ms)")
    (cd ws && ANTHROPIC_API_KEY=sk-ant-bench-key ANTHROPIC_BASE_URL="https://localhost:$port" NODE_EXTRA_CA_CERTS="$work/ca.pem" \
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 "$ctl" --db "$db" run --agent claude-on-host hi >/dev/null 2>&1)
    host+=("$(first_token_ms)")
done
python3 - "${sandbox[*]}" "${host[*]}" <<'PY'
import statistics, sys
s = [int(x) for x in sys.argv[1].split()]
h = [int(x) for x in sys.argv[2].split()]
print(f"start to first token, ms (median of {len(s)}): sandbox {statistics.median(s):.0f} {s}, host {statistics.median(h):.0f} {h}")
print(f"sandbox / host: {statistics.median(s) / statistics.median(h):.2f}")
PY
