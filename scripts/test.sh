#!/usr/bin/env bash
# Runs every check of the project: formatting, clippy, Rust tests, UI type
# checks and unit tests, a real-window smoke test of the desktop app under
# Xvfb, and two real app windows pairing and chatting over WebDriver.
# Installs what is missing first. Exits non-zero on any failure.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
total_start=$SECONDS
# Tests never show desktop notifications (the desktop app reads this), and
# nodes started without explicit addresses stay on loopback without mDNS.
export ZKS_NOTIFICATIONS=0 ZKS_LOOPBACK_ONLY=1
# Homes made by tests seal their key with a cheap Argon2id (test-only knob;
# hundreds of processes each unlock a home).
export ZKS_TEST_WEAK_KDF=1

step "dependencies"
scripts/deps.sh test
done_step

step "UI: type check, unit tests, build"
(cd ui && npm run --silent check && npm run --silent test && npm run --silent build)
done_step

step "UI: end-to-end in Chromium against the built UI (mocked backend)"
(cd ui && ZKS_ARTIFACTS="$ARTIFACTS" npm run --silent e2e)
done_step

step "rustfmt"
cargo fmt --all --check
done_step

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
done_step

step "Rust tests"
# deps.sh installed cargo-nextest. The tests that need root (network
# namespaces, a tmpfs) get it from a user namespace when we are not root
# (scripts/root-tests.sh, docs/decisions/0004-tests-that-need-root.md).
runner=()
if [ "$(id -u)" -ne 0 ]; then
  host="$(rustc -vV | sed -n 's/^host: //p')"
  host="${host^^}"
  runner=("CARGO_TARGET_${host//-/_}_RUNNER=$ROOT/scripts/root-tests.sh")
fi
env "${runner[@]}" cargo nextest run --workspace --locked --no-fail-fast
done_step

step "desktop app: real window under Xvfb"
cargo build --locked -p zks-desktop -p zks-cli
scripts/smoke-window.sh "$CARGO_TARGET_DIR/debug/zks-desktop" "$ARTIFACTS/smoke-window.png"
done_step

step "desktop app: two real windows pair and chat over WebDriver"
scripts/two-windows.sh "$CARGO_TARGET_DIR/debug/zks-desktop" "$ARTIFACTS/two-windows"
done_step

printf '\nall checks passed in %ss\n' "$((SECONDS - total_start))"
