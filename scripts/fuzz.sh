#!/usr/bin/env bash
# Coverage-guided fuzzing of the decoders with AFL++ on stable Rust
# (cargo-afl, from crates.io; `cargo install cargo-afl` builds AFL++ from
# the source it ships, nothing else is downloaded).
#
#   scripts/fuzz.sh [TARGET] [SECONDS]    default: every target, 60 s each
#
# Targets are in fuzz/src/lib.rs (code, envelope, session, file_message,
# backup, beacon_json, chain_info). The corpus starts from valid inputs
# made by fuzz/src/bin/seeds.rs; findings go to $FUZZ_OUT (default
# /tmp/zks-fuzz). A crash is a bug: copy its input to
# fuzz/regressions/<target>/, fix the decoder, and `cargo test --lib` in fuzz/
# replays it. The structured property tests (`ZKS_SOAK=N cargo test -p …`)
# are the fuzzing that runs in CI; this is the longer, coverage-guided run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
targets=(code envelope session file_message backup beacon_json chain_info)
[ $# -ge 1 ] && [ -n "$1" ] && targets=("$1")
seconds="${2:-60}"
out="${FUZZ_OUT:-/tmp/zks-fuzz}"
# Instrumented builds differ from the tests' ones: a target directory of their own.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zks-fuzz-target}/afl"

command -v cargo-afl >/dev/null || cargo install cargo-afl --locked
cd "$root/fuzz"
nice -n 19 cargo afl build --release
"$CARGO_TARGET_DIR/release/seeds" "$out/corpus"
# No core-dump helper or CPU governor here to wait for: AFL is told so.
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
for t in "${targets[@]}"; do
    echo "== $t: ${seconds}s"
    mkdir -p "$out/findings"
    nice -n 19 cargo afl fuzz -V "$seconds" -i "$out/corpus/$t" -o "$out/findings/$t" \
        "$CARGO_TARGET_DIR/release/$t" >"$out/$t.log" 2>&1 || {
        tail -20 "$out/$t.log"
        exit 1
    }
    stats="$out/findings/$t/default/fuzzer_stats"
    grep -E '^(execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs|bitmap_cvg) ' "$stats"
    crashes=$(find "$out/findings/$t/default/crashes" -type f -name 'id:*' | wc -l)
    [ "$crashes" -eq 0 ] || echo "!! $t: $crashes crashing inputs in $out/findings/$t/default/crashes"
done
