#!/usr/bin/env bash
# Loopback file-transfer throughput: `zks` (two daemons, release build)
# against iroh's `sendme` on the same file, in one run.
#
#   scripts/bench-files.sh [SIZE_MIB ...]     default: 1024
#
# zks is timed from `zks file accept` until the receiver reports the file
# completed (chunks pulled, each tag checked, partial file synced, whole
# BLAKE3 checked, file moved into place). sendme is timed for `sendme
# receive` (connect, verified BLAKE3 streaming, export). The senders' own
# hashing (zks: offer; sendme: import) happens before the clock starts for
# both. sendme is installed with `cargo install sendme` if missing (from
# crates.io); both run with relays disabled, on 127.0.0.1.
# Needs about 3 × SIZE of free disk space in $TMPDIR.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Throwaway homes, locked with a passphrase given here; their key files use
# the cheap test Argon2id so that unlocking (once per zks process) does not
# weigh on what is measured.
export ZKS_PASSPHRASE="bench passphrase" ZKS_TEST_WEAK_KDF=1

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1024)

step "build zks (release)"
cargo build --release -q -p zks-cli
ZKS="$CARGO_TARGET_DIR/release/zks"
done_step

if ! command -v sendme >/dev/null; then
  step "install sendme (cargo install sendme --locked)"
  cargo install sendme --locked -q
  done_step
fi
echo "sendme: $(sendme --version)"

work="$(mktemp -d "${TMPDIR:-/tmp}/zks-bench-files.XXXXXX")"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
json_field() { python3 -c "import json,sys; print(json.loads(sys.stdin.readline())['$1'])"; }

start_daemon() { # home extra-args...
  local home=$1; shift
  "$ZKS" --home "$home" daemon --listen /ip4/127.0.0.1/tcp/0 "$@" >"$home.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q "listening on" "$home.log" 2>/dev/null && return; sleep 0.1; done
  die "daemon for $home did not start"
}

step "pair two homes"
a="$work/a"; b="$work/b"
start_daemon "$a"
start_daemon "$b"
"$ZKS" --home "$a" pair invite --name Alice --out "$work/inv.txt" >/dev/null
"$ZKS" --home "$b" pair accept "$work/inv.txt" --as Alice --out "$work/rep.txt" >/dev/null
"$ZKS" --home "$a" pair finish "$work/rep.txt" --as Bob >/dev/null
for h in "$a" "$b"; do
  "$ZKS" --home "$h" beacon import --chain quicknet "$ROOT/tests/data/quicknet.jsonl" >/dev/null
done
done_step

results=()
for mib in "${sizes[@]}"; do
  step "$mib MiB"
  file="$work/data-$mib.bin"
  head -c $((mib * 1024 * 1024)) /dev/urandom >"$file"

  # zks: offer (sender hashes), wait for the offer, then time accept → completed.
  id=$("$ZKS" --home "$a" file send Bob "$file" --json | json_field id)
  for _ in $(seq 600); do
    "$ZKS" --home "$b" transfers --json | grep -q "\"id\":\"$id\".*\"state\":\"offered\"" && break
    sleep 0.05
  done
  t0=$(now)
  "$ZKS" --home "$b" file accept "$id" >/dev/null
  while ! "$ZKS" --home "$b" transfers --json | grep -q "\"id\":\"$id\".*\"state\":\"completed\""; do
    "$ZKS" --home "$b" transfers --json | grep "\"id\":\"$id\"" | grep -q '"state":"failed"' && die "zks transfer failed"
    sleep 0.05
  done
  t1=$(now)
  zks_secs=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
  rm -f "$b"/downloads/data-*.bin

  # sendme: import (sender hashes), then time the receive.
  (cd "$work" && sendme send "$file" --relay disabled --ticket-type addresses \
     --magic-ipv4-addr 127.0.0.1:0 --no-progress >"$work/sendme.log" 2>&1) &
  sp=$!; pids+=($sp)
  ticket=""
  for _ in $(seq 1200); do
    ticket=$(grep -o 'sendme receive [a-z0-9]*' "$work/sendme.log" 2>/dev/null | awk '{print $3}' || true)
    [ -n "$ticket" ] && break
    sleep 0.05
  done
  [ -n "$ticket" ] || die "sendme did not print a ticket"
  mkdir -p "$work/recv"
  t0=$(now)
  (cd "$work/recv" && sendme receive "$ticket" --relay disabled --no-progress >/dev/null 2>&1)
  t1=$(now)
  sendme_secs=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
  kill "$sp" 2>/dev/null || true
  cmp -s "$file" "$work/recv/$(basename "$file")" || die "sendme's copy differs"
  rm -rf "$work/recv" "$file"

  line=$(python3 -c "
mib=$mib; z=$zks_secs; s=$sendme_secs
print(f'{mib} MiB: zks {z:.2f} s ({mib/z:.0f} MiB/s), sendme {s:.2f} s ({mib/s:.0f} MiB/s), zks/sendme speed ratio {s/z:.2f}')")
  echo "$line"
  results+=("$line")
  done_step
done

printf '\n%s\n' "${results[@]}"
