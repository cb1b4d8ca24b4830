#!/usr/bin/env bash
# Two real desktop apps with separate homes under one Xvfb display, driven
# over WebDriver (tauri-driver in front of Debian's WebKitWebDriver): they
# pair through the text form (the reply travels over the network), exchange
# a message each way, and a screenshot of each window is saved. Alice's app
# gets the passphrase in ZKS_PASSPHRASE; Bob's starts locked and is unlocked
# through its Unlock screen (a wrong passphrase first).
#   scripts/two-windows.sh BINARY OUT_DIR
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bin="$1"; out="$2"
mkdir -p "$out"
export ZKS_LOOPBACK_ONLY=1 ZKS_NOTIFICATIONS=0
# Both homes are locked with a passphrase: Alice's app reads it from the
# environment, Bob's window asks for it (its driver runs without it).
export ZKS_PASSPHRASE="two windows passphrase"

driver="$(command -v tauri-driver || echo "$HOME/.cargo/bin/tauri-driver")"
[ -x "$driver" ] || die "tauri-driver is missing (scripts/deps.sh test installs it)"
command -v WebKitWebDriver >/dev/null || die "WebKitWebDriver is missing (apt: webkit2gtk-driver)"

work="$(mktemp -d)"
display=""
for n in $(seq 141 190); do
  [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ] || { display=":$n"; break; }
done
[ -n "$display" ] || die "no free X display"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X${display#:}" ] && break; sleep 0.1; done

# Both homes hold recorded quicknet rounds, so messages can be bound to a
# verified round without the internet (the zks binary sits next to the app's).
zks="$(dirname "$bin")/zks"
[ -x "$zks" ] || die "$zks is missing (cargo build -p zks-cli)"
# home-l is Alice's laptop (a CLI home with its daemon), linked to her
# window's home in step 8.
for who in a b l; do
  "$zks" --home "$work/home-$who" beacon import --chain quicknet "$ROOT/tests/data/quicknet.jsonl" >/dev/null
done
# A local devnet with one-second rounds, which both homes bind (and so
# timelock) to and fetch from: the timelocked message of step 6 opens at a
# round this machine publishes (quicknet's future rounds need the internet).
"$zks" devnet --http 127.0.0.1:0 --period 1 --history 100 --run-for 600 >"$work/devnet.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "serving the drand HTTP API" "$work/devnet.out" 2>/dev/null && break; sleep 0.1; done
devnet_hash="$(head -n1 "$work/devnet.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["hash"])')"
devnet_url="$(grep -o 'http://[^ ]*' "$work/devnet.out" | head -n1)"
[ -n "$devnet_hash" ] && [ -n "$devnet_url" ] || die "the devnet did not start: $(cat "$work/devnet.out")"
for who in a b l; do
  "$zks" --home "$work/home-$who" fetch --chain "$devnet_hash" --rounds 1..1 --drand-url "$devnet_url" >/dev/null
  "$zks" --home "$work/home-$who" beacon bind "$devnet_hash" >/dev/null
  "$zks" --home "$work/home-$who" settings set drand_urls "[\"$devnet_url\"]" >/dev/null
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ports=()
for who in a b; do
  port=$(free_port); native=$(free_port)
  # One session bus per app, like two desktop sessions.
  unset_passphrase=()
  [ "$who" = b ] && unset_passphrase=(-u ZKS_PASSPHRASE)
  DISPLAY="$display" env "${unset_passphrase[@]}" setsid dbus-run-session -- "$driver" \
    --port "$port" --native-port "$native" >"$work/driver-$who.log" 2>&1 &
  pids+=($!)
  ports+=("$port")
done
for port in "${ports[@]}"; do
  for _ in $(seq 100); do
    curl -s "http://127.0.0.1:$port/status" >/dev/null 2>&1 && break
    sleep 0.1
  done
done

"$zks" --home "$work/home-l" daemon --listen /ip4/127.0.0.1/tcp/0 --run-for 600 >"$work/daemon-l.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "listening on" "$work/daemon-l.log" 2>/dev/null && break; sleep 0.1; done

if ! timeout 480 node "$ROOT/ui/e2e-real/two-windows.mjs" "$bin" "$work/home-a" "$work/home-b" \
    "${ports[0]}" "${ports[1]}" "$out" "$work/home-l"; then
  echo "--- tauri-driver logs ---" >&2
  tail -n 30 "$work"/driver-*.log >&2 || true
  exit 1
fi
