#!/usr/bin/env bash
# Starts the desktop app under a private Xvfb display with a temporary home,
# waits for its window titled "ZKS Entropy Grid", saves a screenshot and
# checks that the app is still running. Fails if the window never appears or
# the app exits early.
#   scripts/smoke-window.sh BINARY SCREENSHOT.png
set -euo pipefail
bin="$1"; shot="$2"
title="ZKS Entropy Grid"
timeout_s="${ZKS_SMOKE_TIMEOUT:-90}"

home="$(mktemp -d)"
log="$(mktemp)"
display=""
for n in $(seq 90 140); do
  [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ] || { display=":$n"; break; }
done
[ -n "$display" ] || { echo "no free X display" >&2; exit 1; }

Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
app_pid=""
cleanup() {
  # The app runs in a process group of its own (setsid below): ending the
  # group ends the app, its session bus and what the bus started.
  [ -n "$app_pid" ] && kill -- "-$app_pid" 2>/dev/null || true
  kill "$xvfb_pid" 2>/dev/null || true
  rm -rf "$home" "$log"
}
trap cleanup EXIT
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X${display#:}" ] && break; sleep 0.1; done

# A private session bus, as a desktop session has; the tray icon talks to it.
# No desktop notifications: there is no notification service here (a failure
# would only be logged) and a test has nobody to notify.
DISPLAY="$display" ZKS_HOME="$home" ZKS_NOTIFICATIONS=0 ZKS_PASSPHRASE="smoke passphrase" setsid dbus-run-session -- "$bin" >"$log" 2>&1 &
app_pid=$!

window=""
for _ in $(seq $((timeout_s * 2))); do
  if ! kill -0 "$app_pid" 2>/dev/null; then
    echo "smoke: zks-desktop exited before its window appeared; its output:" >&2
    cat "$log" >&2
    exit 1
  fi
  window="$(DISPLAY="$display" xdotool search --name "^$title\$" 2>/dev/null | head -n1 || true)"
  [ -n "$window" ] && break
  sleep 0.5
done
[ -n "$window" ] || { echo "smoke: no window titled '$title' after ${timeout_s}s; app output:" >&2; cat "$log" >&2; exit 1; }

# Give the web view time to load the UI and ask the node for its status.
sleep "${ZKS_SMOKE_SETTLE:-4}"
kill -0 "$app_pid" 2>/dev/null || { echo "smoke: zks-desktop exited after opening its window" >&2; cat "$log" >&2; exit 1; }
geometry="$(DISPLAY="$display" xwininfo -id "$window" | awk '/Width|Height/ {printf "%s ", $2}')"
DISPLAY="$display" import -window root "$shot"
[ -f "$home/zks.sqlite3" ] || { echo "smoke: the app did not create its database in ZKS_HOME" >&2; exit 1; }
echo "smoke: window '$title' ($geometry) is up; screenshot at $shot"
