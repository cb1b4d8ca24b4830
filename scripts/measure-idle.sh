#!/usr/bin/env bash
# Idle resource use with the settings a new user has: a `zks daemon` (mDNS
# on, the default drand HTTP sources) and the desktop app under Xvfb with
# every process it starts (WebKit's web and network processes, found as its
# descendants by parent PID). Each is left alone for SECS seconds after
# start-up; prints CPU over that time (all its processes together, from
# /proc/PID/stat) and memory at the end: RSS summed, and PSS summed (shared
# pages split between the processes that map them, so nothing counts twice).
#
#   scripts/measure-idle.sh [SECS]     default: 30
#
# The machine needs no internet: without it the HTTP sources fail and are
# retried on their schedule, which is part of what is measured.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Throwaway homes, locked with a passphrase given here; their key files use
# the cheap test Argon2id so that unlocking (once per zks process) does not
# weigh on what is measured.
export ZKS_PASSPHRASE="bench passphrase" ZKS_TEST_WEAK_KDF=1 ZKS_NOTIFICATIONS=0
secs=${1:-30}
[[ "$secs" =~ ^[1-9][0-9]*$ ]] || die "SECS must be a whole number of seconds, not '$secs'"
OUT="${ZKS_BENCH_OUT:-$ARTIFACTS/bench}"
mkdir -p "$OUT"

step "build (release)"
cargo build --release -q -p zks-cli -p zks-desktop
for bin in zks zks-desktop; do
  [ -x "$CARGO_TARGET_DIR/release/$bin" ] || die "no $CARGO_TARGET_DIR/release/$bin after the build"
done
command -v Xvfb >/dev/null || die "Xvfb is missing: run scripts/deps.sh run"
done_step

work="$(mktemp -d "${TMPDIR:-/tmp}/zks-idle.XXXXXX")"
groups=()
cleanup() {
  for g in "${groups[@]}"; do kill -- "-$g" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A process and all its descendants, by parent PID.
tree() {
  local all=" $1 " grew=1
  while [ $grew = 1 ]; do
    grew=0
    while read -r pid ppid; do
      if [[ "$all" == *" $ppid "* && "$all" != *" $pid "* ]]; then all="$all$pid "; grew=1; fi
    done < <(ps -e -o pid=,ppid=)
  done
  echo $all
}
ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo $t; }
kib() { # field pids...
  local field=$1 sum=0 p v; shift
  for p in "$@"; do
    v=$(awk -v f="$field:" '$1 == f {print $2}' "/proc/$p/status" "/proc/$p/smaps_rollup" 2>/dev/null | head -1)
    sum=$((sum + ${v:-0}))
  done
  echo $sum
}
names() { for p in "$@"; do cat "/proc/$p/comm" 2>/dev/null; done | sort | uniq -c | awk '{printf "%s%s×%s", sep, $2, $1; sep=", "}'; }
results=()
measure() { # name pid
  local name=$1 root=$2 hz t0 t1 pids
  hz=$(getconf CLK_TCK)
  sleep 10 # start-up done
  kill -0 "$root" 2>/dev/null || die "$name exited during start-up"
  pids=$(tree "$root")
  # shellcheck disable=SC2086
  t0=$(ticks $pids)
  sleep "$secs"
  kill -0 "$root" 2>/dev/null || die "$name exited while idle"
  # Processes started meanwhile count from zero.
  pids=$(tree "$root")
  # shellcheck disable=SC2086
  t1=$(ticks $pids)
  # shellcheck disable=SC2086
  local rss pss procs
  rss=$(kib VmRSS $pids); pss=$(kib Pss $pids); procs=$(names $pids)
  line=$(python3 -c "print(f'$name: CPU {($t1 - $t0) / $hz / $secs * 100:.2f}% of one core over $secs s idle; RSS {$rss / 1024:.0f} MiB, PSS {$pss / 1024:.0f} MiB ($procs)')")
  echo "$line"
  results+=("$(python3 -c "import json; print(json.dumps({'name': '$name', 'secs': $secs, 'cpu_percent': ($t1 - $t0) / $hz / $secs * 100, 'rss_mib': $rss / 1024, 'pss_mib': $pss / 1024, 'processes': '$procs'}))")")
}

step "zks daemon (mDNS, default sources), idle"
setsid "$CARGO_TARGET_DIR/release/zks" --home "$work/daemon" daemon --mdns >"$work/daemon.log" 2>&1 &
groups+=($!)
measure "zks daemon" "$!"
done_step

step "desktop app under Xvfb (default settings), idle"
display=":$(( 150 + RANDOM % 50 ))"
setsid Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
groups+=($!)
sleep 1
DISPLAY="$display" setsid dbus-run-session -- "$CARGO_TARGET_DIR/release/zks-desktop" --home "$work/app" >"$work/app.log" 2>&1 &
session=$!
groups+=("$session")
app=""
for _ in $(seq 100); do
  app=$(pgrep -P "$session" -x zks-desktop || true)
  [ -n "$app" ] && break
  sleep 0.1
done
[ -n "$app" ] || die "zks-desktop did not start: $(tail -3 "$work/app.log")"
measure "desktop app" "$app"
# shellcheck disable=SC2046 # a list of PIDs
case "$(names $(tree "$app"))" in
  *WebKitWebProces*) ;;
  *) die "no WebKit web process under the app: is the window up? $(tail -3 "$work/app.log")" ;;
esac
done_step

printf '%s\n' "${results[@]}" | python3 -c "import json,sys; json.dump([json.loads(l) for l in sys.stdin], open(sys.argv[1], 'w'), indent=1)" "$OUT/idle.json"
echo "results: $OUT/idle.json"
