#!/usr/bin/env bash
# Builds the fuzz targets, instruments Kdx.Dump.dll with SharpFuzz and runs afl-fuzz on one
# target for a while. Usage: fuzz/run.sh TARGET [SECONDS] [WORKDIR]   (see docs/fuzzing.md)
set -euo pipefail
target=${1:?target: any elf kdump flattened lzo notes lines}
seconds=${2:-600}
work=${3:-/tmp/kdx-fuzz}
repo=$(cd "$(dirname "$0")/.." && pwd)

command -v afl-fuzz >/dev/null || { echo "afl-fuzz not found: apt-get install afl++" >&2; exit 1; }
if [ ! -x "$work/bin/kdx-fuzz" ] || [ "${REBUILD:-0}" = 1 ]; then
    dotnet publish "$repo/fuzz/Kdx.Fuzz" -c Release -o "$work/bin" >/dev/null
    # Seeds first: once instrumented, Kdx.Dump.dll and Kdx.Kernel.dll only run under afl.
    rm -rf "$work/seeds"
    "$work/bin/kdx-fuzz" seeds "$work/seeds"
    (cd "$repo" && dotnet tool restore >/dev/null && dotnet sharpfuzz "$work/bin/Kdx.Dump.dll" && dotnet sharpfuzz "$work/bin/Kdx.Kernel.dll")
fi

export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
# Resume a previous run of the same target when there is one.
input="$work/seeds/$target"
[ -d "$work/findings/$target/default/queue" ] && input=-
mkdir -p "$work/findings"
timeout --preserve-status "$seconds" \
    afl-fuzz -i "$input" -o "$work/findings/$target" -t 10000 -m none -- "$work/bin/kdx-fuzz" "$target" \
    > "$work/afl-$target.log" 2>&1 || true
stats="$work/findings/$target/default/fuzzer_stats"
[ -f "$stats" ] && grep -E "run_time|execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs|bitmap_cvg" "$stats"
ls "$work/findings/$target/default/crashes" 2>/dev/null | grep -v README || true
