#!/usr/bin/env bash
# Compare two rows of one benchmark program on a shared, noisy machine (tessel against a peer,
# or one tessel call against another): the reference row and the candidate row run one after
# the other, N times, a single short repetition each, so that slow phases fall on both alike.
# (bench/compare_builds.sh does the same for one row of two builds.)
#
#   bench/compare_rows.sh BENCH_DIR bench_ops 'reference regex' 'candidate regex' [ref cand ...] > pairs.txt
#   python3 bench/compare_builds.py pairs.txt
#
# Each regex selects one row (anchor it: '^linear_fwd/L1/float/onednn/threads:1/'). The output
# has compare_builds.sh's form, the reference as "before" and the candidate as "after", one
# key per pair of rows, so compare_builds.py prints reference time ÷ candidate time (> 1: the
# candidate is faster), as the README's "vs peer" ratios do.
# Environment: N pairs per row (default 7), MIN_TIME seconds per run (default 0.1).
set -euo pipefail
if [ $# -lt 4 ] || [ $(( ($# - 2) % 2 )) -ne 0 ]; then
  sed -n '2,14p' "$0" >&2
  exit 2
fi
dir=$1 program=$2
shift 2
run() {
  "$dir/$program" --benchmark_filter="$1" --benchmark_repetitions=1 \
    --benchmark_min_time="${MIN_TIME:-0.1}" 2>/dev/null |
    awk 'NF > 3 && $2 ~ /^[0-9.]+$/ { print $2; exit }'
}
while [ $# -gt 0 ]; do
  reference=$1 candidate=$2
  shift 2
  key="${candidate}~vs~${reference}"
  for _ in $(seq "${N:-7}"); do
    t=$(run "$reference"); echo "$key before ${t:-missing}"
    t=$(run "$candidate"); echo "$key after ${t:-missing}"
  done
done
