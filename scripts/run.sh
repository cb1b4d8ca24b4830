#!/usr/bin/env bash
# Installs what is needed, builds the UI and the desktop app, and starts it.
# Extra arguments go to the app (e.g. --home DIR).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/deps.sh" run
step "building the UI"
# Only when a UI source is newer than the last build: a rebuilt ui/dist makes
# Cargo re-embed it and relink the app, minutes of work for nothing.
if [ ! -f "$ROOT/ui/dist/index.html" ] || [ -n "$(find "$ROOT/ui/src" "$ROOT/ui/index.html" \
     "$ROOT/ui/package-lock.json" "$ROOT/ui/vite.config.ts" -newer "$ROOT/ui/dist/index.html" 2>/dev/null | head -1)" ]; then
  (cd "$ROOT/ui" && npm run --silent build)
else
  echo "    (up to date)"
fi
step "building the desktop app"
cargo build --manifest-path "$ROOT/Cargo.toml" --release -p zks-desktop -p zks-cli
echo "the zks CLI is at $CARGO_TARGET_DIR/release/zks"
exec "$CARGO_TARGET_DIR/release/zks-desktop" "$@"
