#!/usr/bin/env bash
# Loopback file transfer: `zks` against iroh's `sendme` (pinned below), the
# same random file, the same work charged to both.
#
#   scripts/bench-files.sh [SIZE_MIB ...]     default: 1024 10240
#   RUNS=3 (runs of each tool per size, alternating which goes first)
#
# What one timed run includes, for both tools: starting every process of
# the transfer, the sender hashing the file, connecting, moving every byte,
# the receiver checking it, and the file written where the user finds it.
# The clock starts before the first process starts and stops when the
# transfer is over:
#   zks     the receiver's daemon (paired beforehand, --auto-accept-files,
#           started inside the clock on the port its contact knows) and
#           `zks file send` without a daemon (hash, offer, serve chunks),
#           which exits once the receiver has reported the file complete
#           (every chunk's tag checked, whole BLAKE3 checked, file in place);
#   sendme  `sendme send` (import: hash the file, in place) and, as soon as
#           it prints its ticket, `sendme receive` (connect, verified
#           BLAKE3 streaming into its store, export copy into the folder),
#           until `sendme receive` exits.
# After the clock, outside it: both copies compared byte for byte with the
# original (a difference fails the script), and every process of the run
# must have ended.
# Both run on 127.0.0.1 with relays off; zks seals each chunk (grid mode,
# XChaCha20-Poly1305), sendme sends over QUIC (TLS 1.3).
# Disk: needs 3 × SIZE + 1 GiB free in $TMPDIR (sendme keeps a store copy
# and an exported copy); checked before each size.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Throwaway homes, locked with a passphrase given here; their key files use
# the cheap test Argon2id so that unlocking (once per zks process) does not
# weigh on what is measured.
export ZKS_PASSPHRASE="bench passphrase" ZKS_TEST_WEAK_KDF=1 ZKS_NOTIFICATIONS=0
SENDME_VERSION=0.37.1
RUNS=${RUNS:-3}
OUT="${ZKS_BENCH_OUT:-$ARTIFACTS/bench}"
mkdir -p "$OUT"

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1024 10240)
for mib in "${sizes[@]}"; do
  [[ "$mib" =~ ^[1-9][0-9]*$ ]] || die "sizes are whole MiB, not '$mib'"
done

step "build zks (release)"
cargo build --release -q -p zks-cli
work="$(mktemp -d "${TMPDIR:-/tmp}/zks-bench-files.XXXXXX")"
# A copy: another build sharing the target dir must not swap it mid-run.
ZKS="$work/zks"
cp "$CARGO_TARGET_DIR/release/zks" "$ZKS"
done_step

SENDME_ROOT="$HOME/.cache/zks-entropy-grid/tools/sendme-$SENDME_VERSION"
SENDME="$SENDME_ROOT/bin/sendme"
if [ ! -x "$SENDME" ]; then
  step "install sendme $SENDME_VERSION (cargo install --locked, from crates.io)"
  cargo install sendme --version "$SENDME_VERSION" --locked -q --root "$SENDME_ROOT"
  done_step
fi
"$SENDME" --version | grep -q "$SENDME_VERSION" || die "$SENDME is not sendme $SENDME_VERSION"

# Every process a run starts is its own process group, killed on exit.
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
# Whether process $1 runs (an exited child not yet waited for does not).
alive() { local s; s=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null); [ -n "$s" ] && [ "$s" != Z ]; }
# Waits up to $1 s for process $2 to end; past that, kills its group and fails.
reap() { # secs pid
  local deadline=$((SECONDS + $1))
  while alive "$2" && [ $SECONDS -lt $deadline ]; do sleep 0.02; done
  if alive "$2"; then
    kill -- "-$2" 2>/dev/null || true
    return 1
  fi
}
# Process groups of ours with a live member.
live_groups() { ps -e -o pgid=,stat= | awk -v gs=" ${groups[*]} " '$2 !~ /^Z/ && index(gs, " " $1 " ") {print $1}' | sort -u; }
now() { date +%s.%N; }
free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }

step "pair two homes (daemons on fixed loopback ports)"
a="$work/a"; b="$work/b"
port_a=$(free_port); port_b=$(free_port)
start_daemon() { # home port extra...
  local home=$1 port=$2; shift 2
  spawn "$home.log" "$ZKS" --home "$home" daemon --listen "/ip4/127.0.0.1/tcp/$port" "$@"
  for _ in $(seq 200); do grep -q "listening on" "$home.log" 2>/dev/null && return; sleep 0.05; done
  die "daemon for $home did not start: $(tail -3 "$home.log")"
}
stop_daemon() { kill -INT -- "-$1" 2>/dev/null || true; reap 10 "$1" || die "a daemon did not stop"; wait "$1" 2>/dev/null || true; }
start_daemon "$a" "$port_a"; da=$spawned
start_daemon "$b" "$port_b"; db=$spawned
"$ZKS" --home "$a" pair invite --name Alice --out "$work/inv.txt" >/dev/null
"$ZKS" --home "$b" pair accept "$work/inv.txt" --as Alice --out "$work/rep.txt" >/dev/null
"$ZKS" --home "$a" pair finish "$work/rep.txt" --as Bob >/dev/null
for h in "$a" "$b"; do
  "$ZKS" --home "$h" beacon import --chain quicknet "$ROOT/tests/data/quicknet.jsonl" >/dev/null
done
stop_daemon "$da"; stop_daemon "$db"
done_step

# Each run sets $secs (not a subshell: the cleanup must know every process).
zks_run() { # file mib
  local file=$1 mib=$2 limit t0 t1 sender
  limit=$((60 + mib / 20))
  rm -rf "$b/downloads"
  t0=$(now)
  start_daemon "$b" "$port_b" --auto-accept-files; local receiver=$spawned
  spawn "$work/zks-send.log" "$ZKS" --home "$a" file send Bob "$file" --json --wait "$limit"
  sender=$spawned
  reap "$limit" "$sender" || die "zks: no transfer within $limit s"
  t1=$(now)
  wait "$sender" || die "zks file send failed: $(tail -3 "$work/zks-send.log")"
  grep -q '"state":"completed"' "$work/zks-send.log" || die "zks: the transfer did not complete: $(tail -3 "$work/zks-send.log")"
  stop_daemon "$receiver"
  local copy
  copy=$(find "$b/downloads" -type f -name "$(basename "$file")*" | head -1)
  [ -n "$copy" ] || die "zks: no received file in $b/downloads"
  cmp -s "$file" "$copy" || die "zks: the received copy differs from the original"
  rm -rf "$b/downloads"
  secs=$(python3 -c "print(f'{$t1 - $t0:.3f}')")
}

sendme_run() { # file mib
  local file=$1 mib=$2 limit t0 t1 sender receiver ticket=""
  limit=$((60 + mib / 20))
  rm -rf "$work/send" "$work/recv"; mkdir -p "$work/send" "$work/recv"
  t0=$(now)
  spawn "$work/sendme-send.log" bash -c 'cd "$1" && exec "$2" send "$3" --relay disabled --ticket-type addresses --magic-ipv4-addr 127.0.0.1:0 --no-progress' \
    _ "$work/send" "$SENDME" "$file"
  sender=$spawned
  local deadline=$((SECONDS + limit))
  while [ -z "$ticket" ] && [ $SECONDS -lt $deadline ]; do
    ticket=$(grep -o 'sendme receive [a-z0-9]*' "$work/sendme-send.log" 2>/dev/null | awk '{print $3}' || true)
    [ -n "$ticket" ] || sleep 0.01
  done
  [ -n "$ticket" ] || die "sendme printed no ticket within $limit s: $(tail -3 "$work/sendme-send.log")"
  spawn "$work/sendme-recv.log" bash -c 'cd "$1" && exec "$2" receive "$3" --relay disabled --no-progress' \
    _ "$work/recv" "$SENDME" "$ticket"
  receiver=$spawned
  reap "$limit" "$receiver" || die "sendme: no transfer within $limit s"
  t1=$(now)
  wait "$receiver" || die "sendme receive failed: $(tail -3 "$work/sendme-recv.log")"
  kill -- "-$sender" 2>/dev/null || true
  reap 10 "$sender" || die "sendme send did not stop"
  cmp -s "$file" "$work/recv/$(basename "$file")" || die "sendme: the received copy differs from the original"
  wait "$sender" 2>/dev/null || true
  rm -rf "$work/send" "$work/recv"
  secs=$(python3 -c "print(f'{$t1 - $t0:.3f}')")
}

results="$OUT/files.json"
echo "[]" >"$results"
for mib in "${sizes[@]}"; do
  need_kib=$(( (3 * mib + 1024) * 1024 ))
  free_kib=$(df -Pk "$work" | awk 'NR==2 {print $4}')
  [ "$free_kib" -ge "$need_kib" ] ||
    die "$mib MiB needs $((need_kib / 1024 / 1024)) GiB free in $work, there are $((free_kib / 1024 / 1024)) GiB"
  step "$mib MiB: make the file"
  file="$work/data-$mib.bin"
  head -c $((mib * 1024 * 1024)) /dev/urandom >"$file"
  sync
  done_step
  zks_times=(); sendme_times=()
  for run in $(seq "$RUNS"); do
    step "$mib MiB, run $run of $RUNS"
    if [ $((run % 2)) -eq 1 ]; then order=(zks sendme); else order=(sendme zks); fi
    for tool in "${order[@]}"; do
      sync; sleep 1
      "${tool}_run" "$file" "$mib"
      echo "    $tool: $secs s"
      if [ "$tool" = zks ]; then zks_times+=("$secs"); else sendme_times+=("$secs"); fi
    done
    done_step
  done
  rm -f "$file"
  python3 - "$results" "$mib" "${zks_times[*]}" "${sendme_times[*]}" <<'EOF'
import json, statistics, sys
path, mib = sys.argv[1], int(sys.argv[2])
tools = {"zks": [float(x) for x in sys.argv[3].split()], "sendme": [float(x) for x in sys.argv[4].split()]}
out = json.load(open(path))
row = {"mib": mib}
for name, t in tools.items():
    med = statistics.median(t)
    row[name] = {"seconds": t, "median": med, "min": min(t), "max": max(t), "mib_per_s": mib / med}
row["speed_ratio"] = row["sendme"]["median"] / row["zks"]["median"]
out.append(row)
json.dump(out, open(path, "w"), indent=1)
z, s = row["zks"], row["sendme"]
print(f"{mib} MiB: zks {z['median']:.2f} s ({z['min']:.2f}–{z['max']:.2f}) = {z['mib_per_s']:.0f} MiB/s; "
      f"sendme {s['median']:.2f} s ({s['min']:.2f}–{s['max']:.2f}) = {s['mib_per_s']:.0f} MiB/s; "
      f"zks/sendme speed {row['speed_ratio']:.2f}")
EOF
done

python3 - "$results" "$SENDME_VERSION" "$RUNS" <<'EOF' >"$OUT/files.meta.json"
import json, sys
print(json.dumps({"sendme": sys.argv[2], "runs": int(sys.argv[3])}))
EOF
# Nothing of ours may outlive the runs.
left=$(live_groups)
[ -z "$left" ] || die "processes of the runs still running (groups: $left)"
echo "results: $results"
