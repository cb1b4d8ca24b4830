#!/usr/bin/env bash
# Swarm sync against the drand HTTP API and the batch verifier, on loopback.
#
#   scripts/bench-grid.sh [ROUNDS]        default: 1000000 (at least 65536)
#   RUNS=3 (timed syncs of each kind, each into a fresh home)
#
# Set-up (not timed): a devnet (bls-unchained-g1-rfc9380, like quicknet;
# period 1 s) with ROUNDS rounds of history signs them once; a seeder
# fetches them all and pins them. From then on every beacon is pre-signed
# and served from the seeder's cache, as drand's relays and CDN serve them.
#
# Timed, each into a fresh home, every beacon batch-verified before it is
# stored (the rate includes process start and unlocking):
#   http     rounds 1..ROUNDS over the drand HTTP API (`GET /public/{round}`,
#            16 requests in flight) from the seeder's drand-compatible relay;
#   swarm-1  the same rounds from the seeder over the grid alone (--no-http);
#   swarm-4  the same rounds from four other seeders, each holding a
#            quarter (whole chunks), the full seeder stopped.
# A sync that ends with fewer rounds than asked, or any failed round, fails
# the script. Last, `zks beacon bench` gives the batch verifier's own rate
# on this machine; swarm / verifier says whether the network or the
# verifier is the bottleneck (1.0: the network costs nothing).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Throwaway homes, locked with a passphrase given here; their key files use
# the cheap test Argon2id so that unlocking (once per zks process) does not
# weigh on what is measured.
export ZKS_PASSPHRASE="bench passphrase" ZKS_TEST_WEAK_KDF=1 ZKS_LOOPBACK_ONLY=1
CHUNK=16384
RUNS=${RUNS:-3}
OUT="${ZKS_BENCH_OUT:-$ARTIFACTS/bench}"
mkdir -p "$OUT"

rounds=${1:-1000000}
[[ "$rounds" =~ ^[0-9]+$ ]] && [ "$rounds" -ge $((4 * CHUNK)) ] ||
  die "ROUNDS must be a number of at least $((4 * CHUNK)) (four seeders hold a quarter each)"
work="$(mktemp -d "${TMPDIR:-/tmp}/zks-bench-grid.XXXXXX")"
groups=()
cleanup() {
  for g in "${groups[@]}"; do kill -- "-$g" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
spawn() { # log cmd... : starts cmd in a new process group, sets $spawned
  local log=$1; shift
  setsid "$@" >"$log" 2>&1 &
  spawned=$!
  groups+=("$spawned")
}
stop() { # pid
  kill -INT -- "-$1" 2>/dev/null || true
  for _ in $(seq 200); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
  kill -- "-$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
wait_line() { # file pattern
  for _ in $(seq 600); do grep -q "$2" "$1" 2>/dev/null && return; sleep 0.1; done
  die "no '$2' in $1: $(tail -3 "$1")"
}
now() { date +%s.%N; }

step "build zks (release)"
cargo build --release -q -p zks-cli
# A copy: another build sharing the target dir must not swap it mid-run.
ZKS="$work/zks"
cp "$CARGO_TARGET_DIR/release/zks" "$ZKS"
done_step

budget=$(( (rounds / CHUNK + 4) * 4 ))MiB
# fetch HOME LIMIT_SECS ARGS... : a sync that must end with every round held.
fetch() {
  local home=$1 limit=$2; shift 2
  timeout "$limit" "$ZKS" --home "$home" fetch --chain "$hash" --cache-budget "$budget" --json "$@" \
    >"$home.json" 2>"$home.err" || true
  python3 - "$home.json" "$home.err" <<'EOF' || die "sync into $home failed"
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except Exception:
    sys.exit(f"no report: {open(sys.argv[2]).read().strip()[-300:]}")
held = sum(r.get("from", {}).values())
if r.get("failed") or held != r["requested"]:
    sys.exit(f"{held} of {r['requested']} rounds held, {len(r.get('failed', []))} failed, first: {r.get('failed', [])[:3]}")
EOF
}
seed() { # home log pin extra... : a seeder; sets $addr (multiaddr with peer id), $spawned
  local home=$1 log=$2 pin=$3; shift 3
  spawn "$log" "$ZKS" --home "$home" seed --chain "$hash" --pin "$pin" --listen /ip4/127.0.0.1/tcp/0 \
    --cache-budget "$budget" --no-http "$@"
  wait_line "$log" "grid listening on"
  local peer
  peer=$(grep -o 'peer id [A-Za-z0-9]*' "$log" | awk '{print $3}')
  addr="$(grep -o 'grid listening on .*' "$log" | head -1 | awk '{print $4}')/p2p/$peer"
}

step "set-up: a devnet with $rounds rounds; a seeder fetches and pins them"
spawn "$work/devnet.log" "$ZKS" devnet --http 127.0.0.1:0 --period 1 --history "$rounds"
devnet=$spawned
wait_line "$work/devnet.log" "serving the drand HTTP API"
hash=$(head -1 "$work/devnet.log" | python3 -c "import json,sys; print(json.load(sys.stdin)['hash'])")
devnet_url=$(grep -o 'http://[0-9.:]*' "$work/devnet.log" | head -1)
fetch "$work/seeder" $((600 + rounds / 200)) --rounds "1..$rounds" --drand-url "$devnet_url"
stop "$devnet"
seed "$work/seeder" "$work/seeder.log" "1..$rounds" --relay-http 127.0.0.1:0
full=$spawned; full_addr=$addr
wait_line "$work/seeder.log" "relay listening on"
relay=$(grep -o 'relay listening on http://[0-9.:]*' "$work/seeder.log" | awk '{print $4}')
done_step

step "set-up: four seeders, each holding a quarter (whole chunks of $CHUNK rounds)"
chunks=$(( (rounds + CHUNK - 1) / CHUNK ))
quarter_addrs=()
quarters=()
for q in 0 1 2 3; do
  first=$(( q * chunks / 4 * CHUNK + 1 ))
  last=$(( (q + 1) * chunks / 4 * CHUNK ))
  [ "$last" -le "$rounds" ] || last=$rounds
  quarters+=("$first..$last")
  fetch "$work/q$q" $((300 + rounds / 500)) --rounds "$first..$last" --bootstrap "$full_addr" --no-http
done
done_step

# Writes grid.json and prints the figures of every kind of sync done so
# far (a later failure leaves the earlier, complete ones reported).
report() {
python3 - "$rounds" "$OUT/grid.json" "$work/verify.json" "${times_http[*]}" "${times_s1[*]}" "${times_s4[*]:-}" <<'EOF'
import json, statistics, sys
rounds, out, verify = int(sys.argv[1]), sys.argv[2], json.load(open(sys.argv[3]))
batch = [m for m in verify["cases"][0]["measurements"] if m["verifier"].startswith("batch")]
best = max(batch, key=lambda m: m["beacons_per_second"])
verifier = {"threads": best["threads"], "rounds_per_s": best["beacons_per_second"],
            "min": best["beacons"] / best["max_seconds"], "max": best["beacons"] / best["min_seconds"]}
report = {"rounds": rounds, "verifier": verifier}
labels = {"http": "drand HTTP API (relay, pre-signed)", "swarm-1": "swarm, 1 full seeder",
          "swarm-4": "swarm, 4 seeders × ¼"}
for key, arg in zip(["http", "swarm-1", "swarm-4"], sys.argv[4:7]):
    t = [float(x) for x in arg.split()]
    if not t:
        continue
    med = statistics.median(t)
    report[key] = {"seconds": t, "median": med, "rounds_per_s": rounds / med,
                   "min_rate": rounds / max(t), "max_rate": rounds / min(t)}
json.dump(report, open(out, "w"), indent=1)
print(f"\nrounds: {rounds}; medians (slowest–fastest)")
for key, label in labels.items():
    if key not in report:
        continue
    r = report[key]
    print(f"  {label:<36} {r['median']:7.1f} s  {r['rounds_per_s']:9,.0f} rounds/s ({r['min_rate']:,.0f}–{r['max_rate']:,.0f})")
print(f"  {'batch verifier, ' + str(verifier['threads']) + ' threads':<36} {'':7}    {verifier['rounds_per_s']:9,.0f} rounds/s")
for key in [k for k in ["swarm-1", "swarm-4"] if k in report]:
    r = report[key]
    print(f"  {key}: / verifier {r['rounds_per_s'] / verifier['rounds_per_s']:.2f}, / HTTP {r['rounds_per_s'] / report['http']['rounds_per_s']:.1f}")
EOF
}

step "batch verifier on this machine"
"$ZKS" beacon bench --chain quicknet --count 4096 --runs 3 --invalid-percent 0 --json >"$work/verify.json"
done_step

times_http=(); times_s1=(); times_s4=()
for run in $(seq "$RUNS"); do
  step "run $run of $RUNS: drand HTTP API from the relay, then the swarm (one seeder)"
  rm -rf "$work/fresh"*
  t0=$(now)
  fetch "$work/fresh-http" $((300 + rounds / 200)) --rounds "1..$rounds" --drand-url "$relay"
  t1=$(now)
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['from'].get('drand', 0) + r['from'].get('http', 0) > 0, r['from']" \
    "$work/fresh-http.json" || die "the HTTP sync did not come from the HTTP source: $(cat "$work/fresh-http.json")"
  times_http+=("$(python3 -c "print($t1 - $t0)")")
  t0=$(now)
  fetch "$work/fresh-swarm" $((300 + rounds / 500)) --rounds "1..$rounds" --bootstrap "$full_addr" --no-http
  t1=$(now)
  times_s1+=("$(python3 -c "print($t1 - $t0)")")
  echo "    http ${times_http[-1]} s, swarm-1 ${times_s1[-1]} s"
  done_step
done

report

step "the four quarter seeders serve; the full seeder stops"
stop "$full"
quarter_pids=()
for q in 0 1 2 3; do
  seed "$work/q$q" "$work/q$q.log" "${quarters[$q]}"
  quarter_pids+=("$spawned"); quarter_addrs+=(--bootstrap "$addr")
done
sleep 2
done_step

for run in $(seq "$RUNS"); do
  step "run $run of $RUNS: the swarm, four seeders with a quarter each"
  rm -rf "$work/fresh"*
  t0=$(now)
  fetch "$work/fresh-swarm4" $((300 + rounds / 500)) --rounds "1..$rounds" "${quarter_addrs[@]}" --no-http
  t1=$(now)
  times_s4+=("$(python3 -c "print($t1 - $t0)")")
  echo "    swarm-4 ${times_s4[-1]} s"
  done_step
done
for p in "${quarter_pids[@]}"; do stop "$p"; done

report
echo "results: $OUT/grid.json"
