# Shared by the scripts in this folder: paths, the warm target dir, logging.
# shellcheck shell=bash
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# One target dir outside the clone, so that a fresh clone on the same machine
# (CI) starts warm; a cold run works the same, only slower.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zks-entropy-grid/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
ARTIFACTS="${ZKS_ARTIFACTS:-$ROOT/artifacts}"
mkdir -p "$ARTIFACTS"

step() { printf '\n==> %s\n' "$*"; STEP_START=$SECONDS; }
done_step() { printf '    (%ss)\n' "$((SECONDS - STEP_START))"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
