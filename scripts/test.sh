#!/usr/bin/env bash
# The whole test suite: what CI runs and what the README's second command runs.
# Fails loudly: any failing step stops it with a non-zero exit.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== unit, integration and end-to-end tests"
cargo test --workspace --locked --all-targets

echo "== the README's example runs"
# diagnose exits 2 on the broken example (failures found) and 0 on the healthy one.
set +e
cargo run --quiet --locked -- diagnose --config examples/two-forest-broken/phs-doctor.toml > /dev/null
broken=$?
cargo run --quiet --locked -- diagnose --config examples/two-forest-healthy/phs-doctor.toml > /dev/null
healthy=$?
set -e
if [ "$broken" -ne 2 ] || [ "$healthy" -ne 0 ]; then
  echo "example exit codes: broken=$broken (want 2), healthy=$healthy (want 0)" >&2
  exit 1
fi
echo "examples: broken exits 2, healthy exits 0"

echo "== the interactive menu in a terminal"
if ! command -v tmux >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tmux >/dev/null \
      || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tmux >/dev/null; }
  else
    echo "tmux is needed for the menu test: apt-get install tmux" >&2
    exit 1
  fi
fi
bash scripts/menu-smoke.sh
