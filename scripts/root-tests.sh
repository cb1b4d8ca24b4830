#!/usr/bin/env bash
# nextest's target runner for a user who is not root (test.sh sets it). The
# test binaries that need root — cli_nat (network namespaces, veths,
# nftables) and disk_full (a small tmpfs) — run as root of their own user,
# network and mount namespaces, which any user may create on Debian 12: they
# get exactly those powers, over namespaces that end with the process, so
# the host's network and mounts are never touched and no password is asked
# in the middle of a run. Every other test binary runs as it is.
#   scripts/root-tests.sh TEST-BINARY ARGS…
set -euo pipefail
case "$(basename "$1")" in
  cli_nat-* | disk_full-*) ;;
  *) exec "$@" ;;
esac
if ! unshare --user --map-root-user --net --mount true 2>/dev/null; then
  echo "error: $(basename "$1") needs root, and this user cannot create user namespaces" \
    "(enable them with 'sudo sysctl -w kernel.unprivileged_userns_clone=1', or run the tests as root)" >&2
  exit 1
fi
# Inside: loopback up (the daemons of disk_full talk over it); a tmpfs on
# /run, seen only in this mount namespace, because `ip netns add` keeps
# namespaces under /run/netns, which only the real root may create; and
# /usr/sbin on PATH for ip, nft and sysctl.
export PATH="$PATH:/usr/sbin:/sbin"
exec unshare --user --map-root-user --net --mount -- bash -c \
  'ip link set lo up && mount -t tmpfs zks-run /run && exec "$@"' root-tests "$@"
