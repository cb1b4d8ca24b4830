#!/usr/bin/env bash
# Installs what this project needs on Debian 12, idempotently: system
# libraries for Tauri, the test tools (Xvfb, xdotool, Chromium), Node.js,
# Rust, and the UI's npm packages. Runs apt-get only when something is missing.
#   scripts/deps.sh run    # enough to build and run the desktop app
#   scripts/deps.sh test   # plus what the test suite needs
set -euo pipefail
source "$(dirname "$0")/lib.sh"
profile="${1:-run}"

packages=(build-essential pkg-config curl file libssl-dev
          libwebkit2gtk-4.1-dev librsvg2-dev libayatana-appindicator3-dev libxdo-dev
          libdbus-1-dev)
if [ "$profile" = test ]; then
  # gnome-keyring: a real Secret Service for the keyring tests.
  packages+=(xvfb xdotool x11-utils imagemagick chromium webkit2gtk-driver dbus-x11
            dbus-daemon gnome-keyring)
  # nftables: the NAT router of the network-namespace test (cli_nat).
  packages+=(nftables)
fi
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "Node.js $node_major is too old for the UI build (Vite needs 20.19 or newer); install Node.js 20+"

if ! command -v cargo >/dev/null; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "installing Rust with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi

# tauri-driver (crates.io) puts a WebDriver front on WebKitWebDriver for the
# two-window test of the real app.
if [ "$profile" = test ] && ! command -v tauri-driver >/dev/null && [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
  echo "installing tauri-driver with cargo"
  cargo install tauri-driver --version 2.1.0 --locked --quiet
fi

# The UI's packages, exactly as locked; skipped when the lock file has not
# changed since the last install.
stamp="$ROOT/ui/node_modules/.zks-lock-stamp"
if [ ! -f "$stamp" ] || ! cmp -s "$ROOT/ui/package-lock.json" "$stamp"; then
  # Playwright drives Debian's Chromium; it must never fetch browsers itself.
  (cd "$ROOT/ui" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  cp "$ROOT/ui/package-lock.json" "$stamp"
fi
