#!/usr/bin/env bash
# Beacon verification through the command a user runs: `zks beacon verify`
# on real quicknet beacons, the batch verifier (blst) against the
# reference (drand-verify, each beacon on its own) at equal threads.
#
#   scripts/bench-beacon.sh [COUNT]       default: 9000 beacons
#   RUNS=3 (process runs of each verifier at each thread count, alternating)
#
# The input is the 164 recorded quicknet beacons of tests/data (see its
# README for provenance) repeated up to COUNT: the same work per beacon as
# 9,000 distinct rounds (no verifier caches across beacons). A second file
# has 1 % of them carrying another round's signature (a valid point, the
# wrong message), which the batch verifier finds by bisection.
# Each timing is the whole process (start, reading and parsing the JSON,
# verifying, printing) from outside. Then `zks beacon bench` on 2,048 of
# the same beacons gives the verification alone, in process.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
count=${1:-9000}
[[ "$count" =~ ^[1-9][0-9]*$ ]] || die "COUNT must be a number of beacons, not '$count'"
RUNS=${RUNS:-3}
OUT="${ZKS_BENCH_OUT:-$ARTIFACTS/bench}"
mkdir -p "$OUT"

step "build zks (release)"
cargo build --release -q -p zks-cli
work="$(mktemp -d "${TMPDIR:-/tmp}/zks-bench-beacon.XXXXXX")"
trap 'rm -rf "$work"' EXIT
ZKS="$work/zks"
cp "$CARGO_TARGET_DIR/release/zks" "$ZKS"
done_step

python3 - "$ROOT/tests/data/quicknet.jsonl" "$count" "$work" <<'EOF'
import json, sys
pool = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
count, work = int(sys.argv[2]), sys.argv[3]
beacons = [pool[i % len(pool)] for i in range(count)]
with open(f"{work}/valid.jsonl", "w") as f:
    for b in beacons:
        f.write(json.dumps(b) + "\n")
bad = max(1, count // 100)
step = count // bad
with open(f"{work}/invalid.jsonl", "w") as f:
    for i, b in enumerate(beacons):
        if i % step == 0 and i // step < bad:
            donor = beacons[(i + 1) % count]
            b = {"round": b["round"], "signature": donor["signature"]}
        f.write(json.dumps(b) + "\n")
print(bad, file=open(f"{work}/bad", "w"))
EOF
bad=$(cat "$work/bad")
cores=$(nproc)
threads=(1); [ "$cores" -gt 1 ] && threads+=("$cores")

declare -A times
for input in valid invalid; do
  for run in $(seq "$RUNS"); do
    step "$input beacons, run $run of $RUNS"
    order=(reference batch); [ $((run % 2)) -eq 0 ] && order=(batch reference)
    for verifier in "${order[@]}"; do
      for t in "${threads[@]}"; do
        t0=$(date +%s.%N)
        set +e
        "$ZKS" beacon verify --chain quicknet --verifier "$verifier" --threads "$t" "$work/$input.jsonl" >"$work/out.txt"
        code=$?
        set -e
        t1=$(date +%s.%N)
        want=0; [ "$input" = invalid ] && want=1
        [ "$code" = "$want" ] || die "$verifier on $input beacons exited $code: $(tail -2 "$work/out.txt")"
        expect="$count beacons, $((count - (want * bad))) valid"
        grep -q "$expect" "$work/out.txt" || die "$verifier on $input beacons: not '$expect': $(tail -1 "$work/out.txt")"
        secs=$(python3 -c "print(f'{$t1 - $t0:.3f}')")
        times[$input/$verifier/$t]="${times[$input/$verifier/$t]:-} $secs"
        echo "    $verifier, $t thread(s): $secs s"
      done
    done
    done_step
  done
done

step "zks beacon bench (in process) on 2048 of the same beacons"
"$ZKS" beacon bench --chain quicknet --input "$ROOT/tests/data/quicknet.jsonl" --count 2048 \
  --runs "$RUNS" --json >"$OUT/beacon-bench.json"
done_step

for k in "${!times[@]}"; do echo "$k${times[$k]}"; done >"$work/times"
python3 - "$count" "$bad" "$OUT/beacon-verify.json" "$work/times" <<'EOF'
import json, statistics, sys
count, bad, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rows = {}
for line in open(sys.argv[4]):
    key, *t = line.split()
    inp, verifier, threads = key.split("/")
    t = [float(x) for x in t]
    rows.setdefault(inp, []).append({"verifier": verifier, "threads": int(threads), "seconds": t,
        "median": statistics.median(t), "min": min(t), "max": max(t)})
report = {"beacons": count, "invalid_beacons": bad, "cases": {}}
print(f"\n`zks beacon verify` on {count} real quicknet beacons; process wall time, median (min–max)")
for inp in ["valid", "invalid"]:
    r = sorted(rows[inp], key=lambda x: (x["verifier"] != "reference", x["threads"]))
    ref = {x["threads"]: x for x in r if x["verifier"] == "reference"}
    bat = {x["threads"]: x for x in r if x["verifier"] == "batch"}
    equal = {t: ref[t]["median"] / bat[t]["median"] for t in bat if t in ref}
    best = min(x["min"] for x in ref.values()) / min(x["min"] for x in bat.values())
    one = ref[1]["median"] / min(x["median"] for x in bat.values())
    report["cases"][inp] = {"runs": r, "equal_threads": equal, "best_of": best, "against_one_thread_reference": one}
    print(f"  {'all valid' if inp == 'valid' else f'{bad} invalid'}:")
    for x in r:
        print(f"    {x['verifier']:<9} {x['threads']} thread(s) {x['median']:8.3f} s ({x['min']:.3f}–{x['max']:.3f})  {count / x['median']:9,.0f} beacons/s")
    print("    batch / reference: " + ", ".join(f"{v:.1f}x at {t} thread(s)" for t, v in equal.items())
          + f"; best of each {best:.1f}x; batch (best threads) / one-thread reference {one:.1f}x")
json.dump(report, open(out, "w"), indent=1)
EOF
python3 - "$OUT/beacon-bench.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
p = r["projection"]
print(f"  all of {p['chain']} ({p['rounds']:,} rounds) at the in-process batch rate: {p['seconds'] / 60:.1f} min")
EOF
echo "results: $OUT/beacon-verify.json, $OUT/beacon-bench.json"
