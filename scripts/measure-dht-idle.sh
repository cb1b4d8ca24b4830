#!/usr/bin/env bash
# How many bytes an idle node exchanges with the public DHT, measured
# against a local one: N js-libp2p Amino DHT servers (tests/interop, the
# stand-in the tests use) in one network namespace, a `zks daemon`
# bootstrapped to four of them in another, joined by a veth whose byte
# counters are the daemon's traffic and nothing else. Counts from SETTLE
# seconds after the start (the join itself) for SECONDS seconds, and
# reports bytes per hour. Needs root (network namespaces).
#
# Usage: scripts/measure-dht-idle.sh [SECONDS=600] [N=20]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
secs="${1:-600}"
n="${2:-20}"
settle=60
tag="zdi$$"
net="$tag-net" cli="$tag-cli"
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  ip netns del "$cli" 2>/dev/null || true
  ip netns del "$net" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$net"
ip netns add "$cli"
ip -n "$net" link set lo up
ip -n "$cli" link set lo up
ip link add "${tag}a" netns "$net" type veth peer name "${tag}b" netns "$cli"
ip -n "$net" addr add 10.78.0.1/24 dev "${tag}a"
ip -n "$cli" addr add 10.78.0.2/24 dev "${tag}b"
ip -n "$net" link set "${tag}a" up
ip -n "$cli" link set "${tag}b" up

# Bytes, not speed, are measured: the debug build will do.
cargo build --quiet -p zks-cli
tmp="$(mktemp -d)"
first=""
addrs=()
for i in $(seq 1 "$n"); do
  port=$((5000 + i))
  mkfifo "$tmp/in$i"
  ZKS_INTEROP_PEERS="$first" ip netns exec "$net" node tests/interop/dht-node.mjs \
    "/ip4/10.78.0.1/tcp/$port" <"$tmp/in$i" >"$tmp/out$i" 2>/dev/null &
  exec {fd}>"$tmp/in$i"
  for _ in $(seq 1 100); do grep -q '^ready' "$tmp/out$i" 2>/dev/null && break; sleep 0.1; done
  addr="$(awk '/^ready/ {print $3}' "$tmp/out$i")"
  [ -n "$addr" ] || die "DHT node $i did not start"
  addrs+=("$addr")
  [ -n "$first" ] || first="$addr"
done
echo "local DHT: $n js-libp2p servers"
args=()
for a in "${addrs[@]:0:4}"; do args+=(--bootstrap "$a"); done
ip netns exec "$cli" env ZKS_PASSPHRASE=measure-idle ZKS_NEW_PASSPHRASE=measure-idle ZKS_TEST_WEAK_KDF=1 \
  "$CARGO_TARGET_DIR/debug/zks" --home "$tmp/home" daemon --listen /ip4/10.78.0.2/tcp/4001 \
  "${args[@]}" --run-for $((settle + secs + 30)) >"$tmp/daemon.log" 2>&1 &
bytes() {
  ip netns exec "$cli" cat "/sys/class/net/${tag}b/statistics/$1_bytes"
}
sleep "$settle"
grep -q '^listening on' "$tmp/daemon.log" || die "the daemon did not start: $(cat "$tmp/daemon.log")"
rx0=$(bytes rx) tx0=$(bytes tx)
echo "joined: $rx0 bytes in, $tx0 out during the first ${settle} s"
sleep "$secs"
rx1=$(bytes rx) tx1=$(bytes tx)
rx=$((rx1 - rx0)) tx=$((tx1 - tx0))
echo "idle for ${secs} s: $rx bytes in, $tx bytes out"
echo "per hour: $((rx * 3600 / secs)) bytes in, $((tx * 3600 / secs)) bytes out"
