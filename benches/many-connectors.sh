#!/usr/bin/env bash
# How diagnose scales with the number of AD connectors: the same evidence
# with N connectors (default 10,000) against a baseline of N/10, measured in
# the same run. Linear work gives a ratio of about 10; the goal is 15 or less
# (work that compares every connector with every other, or every event with
# every connector for every connector, gives about 100).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
BASE=$((N / 10))
DATA=target/bench-data
mkdir -p "$DATA"
for n in "$BASE" "$N"; do
  [ -d "$DATA/connectors-$n" ] || python3 benches/gen-many-connectors.py "$n" "$DATA/connectors-$n"
done
cargo build --release --locked -p phs-doctor >/dev/null
BIN=target/release/phs-doctor
best() { # best wall time of 3 runs, in seconds
  local n=$1 fmt=$2 best=
  "$BIN" diagnose --config "$DATA/connectors-$n/phs-doctor.toml" -f "$fmt" -o /dev/null || true
  for _ in 1 2 3; do
    local t0 t1 dt
    t0=$(date +%s.%N)
    "$BIN" diagnose --config "$DATA/connectors-$n/phs-doctor.toml" -f "$fmt" -o /dev/null || true
    t1=$(date +%s.%N)
    dt=$(echo "$t1 - $t0" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$dt < $best" | bc -l)" = 1 ]; then best=$dt; fi
  done
  echo "$best"
}
for fmt in text json html; do
  b=$(best "$BASE" "$fmt")
  t=$(best "$N" "$fmt")
  printf '%-5s %6d connectors: %6.2f s   %6d connectors: %6.2f s   ratio %.1f (goal <= 15)\n' \
    "$fmt" "$BASE" "$b" "$N" "$t" "$(echo "$t / $b" | bc -l)"
done
