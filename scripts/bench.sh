#!/usr/bin/env bash
# Every benchmark, then BENCHMARKS.md from their figures.
#
#   scripts/bench.sh [NAME ...]     default: all of them, in this order:
#     beacon   scripts/bench-beacon.sh 9000       (~5 min)
#     pad      cargo bench -p zks-pad             (criterion, ~6 min)
#     files    scripts/bench-files.sh 1024 10240  (~15 min; 31 GiB free disk)
#     grid     scripts/bench-grid.sh 262144       (~10 min; 1000000 alone: ~35 min)
#     flood    cargo bench -p zks-cli --bench flood_memory (~2 min)
#     chat     cargo bench -p zks-scenarios --bench chat_latency, 3 runs (~5 min)
#     search   cargo bench -p zks-store --bench search (~2 min)
#     idle     scripts/measure-idle.sh 60         (~3 min)
#   scripts/bench.sh --report       only rewrite BENCHMARKS.md
#
# Each writes its figures (JSON) to artifacts/bench/; the report takes the
# latest of each, with the machine, the tools' versions and the date.
# Leave the machine otherwise idle while it runs: the figures are only as
# quiet as the machine.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export ZKS_BENCH_OUT="${ZKS_BENCH_OUT:-$ARTIFACTS/bench}"
mkdir -p "$ZKS_BENCH_OUT"

names=("$@")
[ ${#names[@]} -gt 0 ] || names=(beacon pad files grid flood chat search idle)
run_part() { # name
  case "$1" in
    beacon) "$ROOT/scripts/bench-beacon.sh" 9000 ;;
    pad)
      step "criterion: cargo bench -p zks-pad"
      (cd "$ROOT" && cargo bench -q -p zks-pad --bench seal) &&
        cp -r "$CARGO_TARGET_DIR/criterion" "$ZKS_BENCH_OUT/" ;;
    files) "$ROOT/scripts/bench-files.sh" 1024 10240 ;;
    grid) "$ROOT/scripts/bench-grid.sh" 262144 ;;
    flood)
      step "flood_memory"
      (cd "$ROOT" && ZKS_FLOOD_SECS=10 cargo bench -q -p zks-cli --bench flood_memory) ;;
    chat)
      step "chat_latency (3 runs)"
      for run in 1 2 3; do
        (cd "$ROOT" && ZKS_BENCH_RUN=$run cargo bench -q -p zks-scenarios --bench chat_latency -- 300) ||
          return 1
      done ;;
    search)
      step "search over 100,000 messages"
      (cd "$ROOT" && cargo bench -q -p zks-store --bench search) ;;
    idle) "$ROOT/scripts/measure-idle.sh" 60 ;;
  esac
}
# A part that fails (a sync short of rounds, a copy that differs, a daemon
# that died) is not retried and prints no figure: its failure and the end
# of its output go into the report instead, and the others still run.
failed=0
for name in "${names[@]}"; do
  case "$name" in
    --report) continue ;;
    beacon|pad|files|grid|flood|chat|search|idle) ;;
    *) die "no benchmark '$name' (beacon pad files grid flood chat search idle, or --report)" ;;
  esac
  log="$ZKS_BENCH_OUT/$name.log"
  if run_part "$name" 2>&1 | tee "$log"; then
    rm -f "$ZKS_BENCH_OUT/$name.failed"
  else
    tail -5 "$log" >"$ZKS_BENCH_OUT/$name.failed"
    printf '\n!! %s failed; the report says so\n' "$name"
    failed=1
  fi
done

python3 "$ROOT/scripts/benchmarks.py" "$ZKS_BENCH_OUT" "$ROOT/BENCHMARKS.md"
echo "wrote BENCHMARKS.md"
exit "$failed"
