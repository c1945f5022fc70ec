#!/usr/bin/env bash
# Wall time of a full two-forest diagnose against the Samba lab, and its ratio
# to a one-forest diagnose measured in the same run. The forests are checked in
# parallel, so the goal is a ratio of 1.3 or less, and under a second in all.
# Run as root: it brings the lab up (lab/lab.sh up) and leaves it as it was.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-7}

was_up=0
[ -f .lab/ready ] && lab/lab.sh status >/dev/null 2>&1 && was_up=1
lab/lab.sh install >/dev/null
lab/lab.sh up >/dev/null
if [ "$was_up" -eq 0 ]; then trap 'lab/lab.sh down >/dev/null' EXIT; fi

echo "building release binary..."
cargo build --release --locked --quiet
work=$(mktemp -d)
python3 lab/make-evidence.py "$work/one" --forest lab1 >/dev/null
python3 lab/make-evidence.py "$work/two" --forest lab1 --forest lab2 >/dev/null

ip netns exec phslab python3 - "$RUNS" "$work" <<'PY'
import statistics, subprocess, sys, time
runs, work = int(sys.argv[1]), sys.argv[2]
binary = "target/release/phs-doctor"

def timed(config):
    times = []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        p = subprocess.run([binary, "diagnose", "--config", config, "--format", "json"], capture_output=True)
        dt = time.perf_counter() - t0
        if p.returncode not in (0, 1, 2):
            sys.exit(f"diagnose failed ({p.returncode}): {p.stderr.decode()}")
        if i > 0:  # the first run warms caches
            times.append(dt)
    return statistics.median(times), min(times)

one_med, one_best = timed(f"{work}/one/phs-doctor.toml")
two_med, two_best = timed(f"{work}/two/phs-doctor.toml")
print(f"one forest : median {one_med*1000:7.1f} ms   best {one_best*1000:7.1f} ms   ({runs} runs)")
print(f"two forests: median {two_med*1000:7.1f} ms   best {two_best*1000:7.1f} ms   ({runs} runs)")
ratio = two_med / one_med
print(f"ratio two/one (median): {ratio:.2f}   (goal <= 1.3)")
print(f"two-forest diagnose under a second: {'yes' if two_med < 1.0 else 'NO'}")
PY
rm -rf "$work"
