#!/usr/bin/env bash
# Throughput, latency and CPU per request of dc-gateway beside nginx and a bare
# hyper+rustls server, measured in ONE run by the shared harness
# (../shared/bench/run-peers.sh, which starts the peers, loads every target with
# wrk over 64 keep-alive TLS connections and prints the table).
#
# The gateway runs its real credential chain (JWT bearer grant, a360 exchange)
# against the harness's origin, which answers the two token endpoints, then
# forwards POST /api/v2/query to it: gw-cached = cache hits, gw-miss = unique
# bodies (miss + store), gw-nocache = cache off (peer of ngx-proxy).
#
# Needs: wrk, nginx-light, nghttp2-client (apt-get install -y wrk nginx-light nghttp2-client).
# Usage: bench/gateway-peers.sh [extra env for run-peers.sh, e.g. REPS=3]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HARNESS=${HARNESS:-$ROOT/../shared/bench/run-peers.sh}
cargo build --release -p dc-gateway --manifest-path "$ROOT/Cargo.toml"
GW="$ROOT/target/release/dc-gateway"
KEY="$ROOT/fixtures/default/host.key"
COMMON='serve --listen $GW_LISTEN --login-url $UPSTREAM_URL --upstream-ca-cert $UPSTREAM_CA --tls-cert $TLS_CERT --tls-key $TLS_KEY --client-id emulator-client-id --username integration_user@yourcompany.com'
export GATEWAY_CMD="env RUST_LOG=error $GW $COMMON --private-key-file $KEY"
export GATEWAY_NOCACHE_CMD="env RUST_LOG=error $GW $COMMON --private-key-file $KEY --cache-enabled false"
export RESULTS_DIR=${RESULTS_DIR:-$ROOT/bench-results/$(date +%Y%m%d-%H%M%S)}
exec "$HARNESS"
