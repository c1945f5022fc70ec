# Shared by the benchmark scripts: sourced, not run. Sets `root` (the
# repository) and works from there.
# Env: BENCH_DIR (where generated data is kept), RUNS (timed runs per command).

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
runs=${RUNS:-3}
bench_dir=${BENCH_DIR:-$root/target/bench-data}
mkdir -p "$bench_dir"

# GNU time, for max RSS.
need_gnu_time() {
    if [[ ! -x /usr/bin/time ]]; then
        echo "installing GNU time for max RSS" >&2
        apt-get install -y -qq time >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
    fi
}

# Best wall time in seconds of `runs` runs, after one untimed warm-up run.
# stdout goes to `$bench_out` (a file unless the caller says otherwise: GNU
# grep stops at the first match when its output is /dev/null).
best_of() {
    local out=${bench_out:-$bench_dir/last-output.txt} log="$bench_dir/last-stderr.txt" best="" t0 t1 t
    "$@" >"$out" 2>"$log" || { echo "command failed: $*" >&2; cat "$log" >&2; exit 1; }
    for ((i = 0; i < runs; i++)); do
        t0=$EPOCHREALTIME
        "$@" >"$out" 2>"$log"
        t1=$EPOCHREALTIME
        t=$(python3 -c "print(f'{$t1 - $t0:.4f}')")
        if [[ -z $best ]] || python3 -c "import sys; sys.exit(0 if $t < $best else 1)"; then
            best=$t
        fi
    done
    echo "$best"
}

# Max RSS in KB of one run.
max_rss_kb() {
    /usr/bin/time -f %M -o "$bench_dir/rss.txt" "$@" >/dev/null 2>&1
    cat "$bench_dir/rss.txt"
}

# Builds the scanners: `phs-doctor collect --events` when the binary has it,
# else the `scan_events` example, which calls `read_event_files` as collect
# does. Needs `root`.
build_scanner() {
    echo "building release binaries..." >&2
    cargo build --release -q -p phs-sources --example scan_events
    cli=""
    if cargo build --release -q -p phs-doctor 2>/dev/null \
        && "$root/target/release/phs-doctor" collect --help 2>/dev/null | grep -q -- '--events'; then
        cli="$root/target/release/phs-doctor"
    fi
}

# The command that scans FILE, in the array `cmd`.
scan_cmd() {
    if [[ -n $cli ]]; then
        cmd=("$cli" collect --events "$1" -o /dev/null)
    else
        cmd=("$root/target/release/examples/scan_events" "$1")
    fi
}
