#!/usr/bin/env bash
# The whole test suite: what CI runs and what the README's second command runs.
# Needs root (the Samba lab runs in a network namespace). Fails loudly: any
# failing step stops it with a non-zero exit; nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== installing what the tests need (Samba AD DC for the lab, tmux for the menu test)"
if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/test.sh must run as root: the Samba lab needs a network namespace" >&2
  exit 1
fi
lab/lab.sh install
if ! command -v tmux >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tmux >/dev/null \
    || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tmux >/dev/null; }
fi

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
bash scripts/menu-smoke.sh

echo "== Active Directory against the two-forest Samba lab"
lab/lab.sh up
trap 'lab/lab.sh start-dc lab2 >/dev/null 2>&1 || true; lab/lab.sh down' EXIT
# Every lab scenario (sources and end to end) runs inside the lab's namespace.
ip netns exec phslab cargo test --workspace --locked --all-targets -- --ignored --skip lab2_dc_stopped
echo "-- with lab2's DC stopped"
lab/lab.sh stop-dc lab2
ip netns exec phslab cargo test -p phs-doctor --test lab --locked -- --ignored --exact lab2_dc_stopped
lab/lab.sh start-dc lab2
echo "all tests passed"
