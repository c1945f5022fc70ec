#!/usr/bin/env bash
# Event log scan benchmark: phs-doctor's scan of a large wevtutil-style XML
# log against `grep -c 'Directory Synchronization'` on the same file, plus
# max RSS at two log sizes to show memory stays flat. See benches/README.md.
#
# Usage: benches/eventlog-scan.sh [SIZE_MB] [SMALL_MB]   (defaults: 200 50)
# Env:   BENCH_DIR  where generated logs are kept (default: target/bench-data)
#        RUNS       timed runs per command, best taken (default: 3)
# Not part of `cargo test`: run it by hand on an idle machine.
set -euo pipefail

# shellcheck source=benches/lib.sh
source "$(dirname "$0")/lib.sh" # sets root and cds there
size_mb=${1:-200}
small_mb=${2:-50}

need_gnu_time

gen() { # SIZE_MB -> path of the generated log (reused when present)
    local f="$bench_dir/application-${1}mb.xml"
    if [[ ! -s $f ]]; then
        python3 "$root/benches/gen-event-log.py" --size-mb "$1" --out "$f" >&2
    fi
    echo "$f"
}
big=$(gen "$size_mb")
small=$(gen "$small_mb")

build_scanner


scan_cmd "$big"
echo "scanner: ${cmd[*]}"
echo "log:     $big ($(du -m "$big" | cut -f1) MB)"
ours=$(best_of "${cmd[@]}")
grep_t=$(best_of grep -c 'Directory Synchronization' "$big")
ratio=$(python3 -c "print(f'{$ours / $grep_t:.2f}')")
echo "phs-doctor scan: ${ours} s   grep -c: ${grep_t} s   ratio: ${ratio} (goal <= 2.0)"

for f in "$small" "$big"; do
    scan_cmd "$f"
    echo "max RSS $(du -m "$f" | cut -f1) MB log: $(max_rss_kb "${cmd[@]}") KB"
done
