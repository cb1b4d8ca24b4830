#!/usr/bin/env bash
# Idle resource use: a `zks daemon` and the desktop app (under Xvfb), each
# left alone for SECS seconds after start-up; prints CPU use over that time
# and resident memory (RSS) at the end, from /proc.
#
#   scripts/measure-idle.sh [SECS]     default: 30
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Throwaway homes, locked with a passphrase given here; their key files use
# the cheap test Argon2id so that unlocking (once per zks process) does not
# weigh on what is measured.
export ZKS_PASSPHRASE="bench passphrase"
secs=${1:-30}
export ZKS_LOOPBACK_ONLY=1 ZKS_NOTIFICATIONS=0

step "build (release)"
cargo build --release -q -p zks-cli -p zks-desktop
done_step

work="$(mktemp -d "${TMPDIR:-/tmp}/zks-idle.XXXXXX")"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
measure() { # name pid
  local name=$1 pid=$2 hz t0 t1
  hz=$(getconf CLK_TCK)
  sleep 5 # start-up done
  t0=$(ticks "$pid")
  sleep "$secs"
  t1=$(ticks "$pid")
  python3 -c "print(f'$name: CPU {($t1 - $t0) / $hz / $secs * 100:.2f}% of one core over $secs s idle, RSS {$(rss_kib "$pid") / 1024:.0f} MiB')"
}

step "zks daemon, idle"
setsid "$CARGO_TARGET_DIR/release/zks" --home "$work/daemon" daemon >/dev/null 2>&1 &
pids+=($!)
measure "zks daemon" "${pids[-1]}"
done_step

step "desktop app under Xvfb, idle"
display=":$(( 150 + RANDOM % 50 ))"
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
pids+=($!)
sleep 1
DISPLAY="$display" setsid dbus-run-session -- "$CARGO_TARGET_DIR/release/zks-desktop" --home "$work/app" >/dev/null 2>&1 &
app=$!
pids+=($app)
sleep 5
# The app's own process (dbus-run-session is its parent).
pid=$(pgrep -P "$app" -f zks-desktop | head -1 || true)
measure "desktop app (zks-desktop)" "${pid:-$app}"
webkit=$(pgrep -f WebKitWebProcess | head -1 || true)
[ -n "$webkit" ] && echo "  plus its WebKitWebProcess: RSS $(( $(rss_kib "$webkit") / 1024 )) MiB"
done_step
