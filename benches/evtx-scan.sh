#!/usr/bin/env bash
# .evtx scan benchmark: `phs-doctor collect --events FILE -o /dev/null`
# against the evtx crate's own `evtx_dump -t 1 -o xml FILE > /dev/null` on the
# same file, in the same run, plus max RSS at two sizes to show memory stays
# flat; on logs like the sample (no Directory Synchronization record) and on
# PHS-heavy ones (some in every chunk). See benches/README.md.
#
# Usage: benches/evtx-scan.sh [SIZE_MB] [BIG_MB]   (defaults: 200 400)
# Env:   BENCH_DIR  where generated logs are kept (default: target/bench-data)
#        RUNS       timed runs per command, best taken (default: 3)
#        SAMPLE     the .evtx whose chunks are repeated (default: the fixture)
# Not part of `cargo test`: run it by hand on an idle machine.
set -euo pipefail

# shellcheck source=benches/lib.sh
source "$(dirname "$0")/lib.sh" # sets root and cds there
size_mb=${1:-200}
big_mb=${2:-400}
sample=${SAMPLE:-$root/tests/fixtures/evtx-classic-application/Application_no_crc32.evtx}
tools=$root/target/bench-tools

need_gnu_time

# The evtx crate's CLI, the version phs-doctor links (from Cargo.lock), kept
# under target/ rather than installed system-wide.
evtx_version=$(awk '/^name = "evtx"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
dump=$tools/bin/evtx_dump
if [[ ! -x $dump ]] || [[ $("$dump" --version 2>/dev/null) != *"$evtx_version"* ]]; then
    echo "installing evtx_dump $evtx_version into $tools..." >&2
    cargo install -q evtx --version "$evtx_version" --locked --root "$tools"
fi

gen() { # SIZE_MB [--phs-every-chunk] -> path of the generated log (reused when present)
    local f="$bench_dir/application-${1}mb${2:+-phs}.evtx"
    if [[ ! -s $f ]]; then
        python3 "$root/benches/gen-evtx.py" --sample "$sample" --size-mb "$1" --out "$f" ${2:+"$2"} >&2
    fi
    echo "$f"
}

build_scanner

# Both commands' output is discarded, as the goal is stated.
bench_out=/dev/null
echo "evtx_dump: $dump ($("$dump" --version))"
# The sample has no Directory Synchronization record, so on its copies every
# chunk is counted from its record headers; the PHS-heavy logs make every
# chunk go through the crate.
for kind in sample-like PHS-heavy; do
    gen_flags=()
    if [[ $kind == PHS-heavy ]]; then gen_flags=(--phs-every-chunk); fi
    for mb in "$size_mb" "$big_mb"; do
        f=$(gen "$mb" "${gen_flags[@]}")
        scan_cmd "$f"
        echo "$kind log: $f ($(du -m "$f" | cut -f1) MB)"
        ours=$(best_of "${cmd[@]}")
        theirs=$(best_of "$dump" -t 1 -o xml "$f")
        ratio=$(python3 -c "print(f'{$ours / $theirs:.2f}')")
        echo "  ${cmd[*]}: ${ours} s   evtx_dump -t 1 -o xml: ${theirs} s   ratio: ${ratio} (goal <= 0.75)"
        echo "  max RSS: phs-doctor $(max_rss_kb "${cmd[@]}") KB, evtx_dump $(max_rss_kb "$dump" -t 1 -o xml "$f") KB"
    done
done
