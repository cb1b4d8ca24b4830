#!/usr/bin/env bash
# Installs what is needed, builds the UI and the desktop app, and starts it.
# Extra arguments go to the app (e.g. --home DIR).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/deps.sh" run
step "building the UI"
(cd "$ROOT/ui" && npm run --silent build)
step "building the desktop app"
cargo build --manifest-path "$ROOT/Cargo.toml" --release -p zks-desktop -p zks-cli
echo "the zks CLI is at $CARGO_TARGET_DIR/release/zks"
exec "$CARGO_TARGET_DIR/release/zks-desktop" "$@"
