#!/usr/bin/env bash
# RSS of dc-gateway holding N (default 10,000) cached 2 KB answers: the gateway
# (release build) in front of the shared harness's origin (limit-server, which
# answers every POST with the same 2,052-byte JSON), N distinct query bodies
# POSTed over 8 keep-alive connections, then VmRSS / RssAnon / RssFile read
# from /proc. Prints idle RSS (after 50 entries), RSS with N entries in all and the
# growth per entry.
#
# Needs: one prior run of ../shared/bench/run-peers.sh (or bench/gateway-peers.sh),
# which builds limit-server and writes the TLS certificate to $RUN_DIR.
# Usage: bench/rss-2kb.sh [N]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-10000}
D=${RUN_DIR:-/dev/shm/dc-bench}
LIM=${LIMIT_SERVER:-$ROOT/../shared/bench/limit-server-target/release/limit-server}
GW=$ROOT/target/release/dc-gateway
GW_PORT=${GW_PORT:-9650}; UP_PORT=${UP_PORT:-9643}
cargo build --release -p dc-gateway --manifest-path "$ROOT/Cargo.toml" >/dev/null 2>&1
"$LIM" --listen 127.0.0.1:$UP_PORT --cert $D/cert.pem --key $D/key.pem --name upstream >/dev/null 2>&1 &
UP=$!
sleep 0.3
RUST_LOG=error "$GW" serve --listen 127.0.0.1:$GW_PORT --login-url https://localhost:$UP_PORT \
  --upstream-ca-cert $D/cert.pem --tls-cert $D/cert.pem --tls-key $D/key.pem \
  --client-id emulator-client-id --username integration_user@yourcompany.com \
  --private-key-file "$ROOT/fixtures/default/host.key" >/dev/null 2>&1 &
G=$!
trap 'kill $G $UP 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sk -o /dev/null https://127.0.0.1:$GW_PORT/healthz && break; sleep 0.1; done
fill() {
  python3 - "$1" "$2" "$GW_PORT" <<'PY'
import ssl, http.client, json, sys, threading
n, base, port = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ctx = ssl._create_unverified_context()
def work(t):
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx)
    for i in range(t, n, 8):
        body = json.dumps({"sql": f"SELECT id, name, value FROM metrics WHERE tenant = 42 AND n = {base + i}"})
        c.request("POST", "/api/v2/query", body, {"content-type": "application/json"})
        r = c.getresponse(); r.read()
        assert r.status == 200, r.status
ts = [threading.Thread(target=work, args=(t,)) for t in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
PY
}
kb() { awk -v k="$1:" '$1 == k {print $2}' /proc/$G/status; }
fill 50 0; sleep 0.5
R0=$(kb VmRSS)
fill "$((N - 50))" 1000000; sleep 1  # 10,000 entries in all
R1=$(kb VmRSS)
ENTRIES=$(curl -sk https://127.0.0.1:$GW_PORT/metrics | awk '$1 == "dcgw_cache_entries" {print $2}')
echo "idle_rss_mb=$(echo "scale=1; $R0/1024" | bc) rss_mb=$(echo "scale=1; $R1/1024" | bc) anon_mb=$(echo "scale=1; $(kb RssAnon)/1024" | bc) file_mb=$(echo "scale=1; $(kb RssFile)/1024" | bc) entries=$ENTRIES bytes_per_entry=$(( (R1 - R0) * 1024 / (N - 50) ))"
