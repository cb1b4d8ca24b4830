#!/usr/bin/env bash
# Swarm sync against the drand HTTP API and the batch verifier, on loopback.
#
#   scripts/bench-grid.sh [ROUNDS]        default: 1000000
#
# 1. A devnet (bls-unchained-g1-rfc9380, like quicknet; period 1 s) with
#    ROUNDS rounds of history serves the drand HTTP API.
# 2. A seeder fetches rounds 1..ROUNDS through that API: the HTTP rate (16
#    requests in flight; the devnet signs each round on request, on the same
#    two cores).
# 3. The seeder serves them to the grid; a fresh node fetches the same rounds
#    from the swarm alone (--no-http): the swarm rate, every signature
#    batch-verified before it is stored.
# 4. `zks beacon bench` on the same scheme: the batch verifier's own rate.
# The swarm rate divided by the verifier rate says whether the network is
# the bottleneck (target: at least 0.8).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Throwaway homes, locked with a passphrase given here; their key files use
# the cheap test Argon2id so that unlocking (once per zks process) does not
# weigh on what is measured.
export ZKS_PASSPHRASE="bench passphrase"

rounds=${1:-1000000}
work="$(mktemp -d "${TMPDIR:-/tmp}/zks-bench-grid.XXXXXX")"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

step "build zks (release)"
cargo build --release -q -p zks-cli
# A copy: another build sharing the target dir must not swap it mid-run.
ZKS="$work/zks"
cp "$CARGO_TARGET_DIR/release/zks" "$ZKS"
done_step

now() { date +%s.%N; }
wait_line() { # file pattern
  for _ in $(seq 600); do grep -q "$2" "$1" 2>/dev/null && return; sleep 0.1; done
  die "no '$2' in $1"
}

step "devnet with $rounds rounds"
"$ZKS" devnet --http 127.0.0.1:0 --period 1 --history "$rounds" >"$work/devnet.log" 2>&1 &
pids+=($!)
wait_line "$work/devnet.log" "serving the drand HTTP API"
hash=$(head -1 "$work/devnet.log" | python3 -c "import json,sys; print(json.load(sys.stdin)['hash'])")
url=$(grep -o 'http://[0-9.:]*' "$work/devnet.log" | head -1)
done_step

step "seeder: $rounds rounds over the drand HTTP API"
budget=$(( (rounds / 16384 + 4) * 4 ))MiB
t0=$(now)
"$ZKS" --home "$work/seeder" fetch --chain "$hash" --rounds "1..$rounds" --drand-url "$url" \
  --cache-budget "$budget" --json >"$work/http.json"
t1=$(now)
http_secs=$(python3 -c "print($t1 - $t0)")
done_step

step "seeder serves; a fresh node syncs from the swarm"
"$ZKS" --home "$work/seeder" seed --chain "$hash" --pin "1..$rounds" --listen /ip4/127.0.0.1/tcp/0 \
  --cache-budget "$budget" >"$work/seed.log" 2>&1 &
pids+=($!)
wait_line "$work/seed.log" "grid listening on"
peer=$(grep -o 'peer id [A-Za-z0-9]*' "$work/seed.log" | awk '{print $3}')
addr="$(grep -o 'grid listening on .*' "$work/seed.log" | head -1 | awk '{print $4}')/p2p/$peer"
t0=$(now)
"$ZKS" --home "$work/fresh" fetch --chain "$hash" --rounds "1..$rounds" --bootstrap "$addr" --no-http \
  --cache-budget "$budget" --json >"$work/swarm.json" || true
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(\"swarm failures (first 3):\", r.get(\"failed\", [])[:3])" "$work/swarm.json"
t1=$(now)
swarm_secs=$(python3 -c "print($t1 - $t0)")
done_step

step "batch verifier on the same scheme"
"$ZKS" beacon bench --chain quicknet --count 4096 --json >"$work/verify.json"
done_step

python3 - "$rounds" "$http_secs" "$swarm_secs" "$work" <<'EOF'
import json, sys
rounds, http_secs, swarm_secs, work = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
http = json.load(open(f"{work}/http.json"))
swarm = json.load(open(f"{work}/swarm.json"))
verify = json.load(open(f"{work}/verify.json"))
batch = max(v["beacons_per_second"] for v in verify if v["verifier"].startswith("batch"))
def held(r): return sum(r.get("from", {}).values())
print(f"rounds: {rounds}")
print(f"drand HTTP API (devnet): {held(http)} held in {http_secs:.1f} s = {held(http)/http_secs:,.0f} rounds/s")
print(f"swarm sync:              {swarm.get('from', {})} in {swarm_secs:.1f} s = {held(swarm)/swarm_secs:,.0f} rounds/s, {len(swarm.get('failed', []))} failed")
print(f"batch verifier (best of 1 and 2 threads): {batch:,.0f} rounds/s")
print(f"swarm / verifier: {held(swarm)/swarm_secs/batch:.2f}   swarm / HTTP: {(held(swarm)/swarm_secs)/(held(http)/http_secs):.2f}")
EOF
