#!/usr/bin/env bash
# Compare two builds of the benchmarks on a shared, noisy machine: for each row, run the
# "before" and the "after" binary one after the other, N times, a single short repetition
# each, so that slow phases of the machine fall on both builds alike.
#
#   bench/compare_builds.sh BEFORE_DIR AFTER_DIR bench_ops 'regex' ['regex' ...] > pairs.txt
#   python3 bench/compare_builds.py pairs.txt
#
# BEFORE_DIR and AFTER_DIR hold the bench executables (build/release/bench of two trees).
# Each regex selects one row (anchor it: '^multi_head/W1/float/tessel_into/threads:1/real_time$').
# Environment: N pairs per row (default 7), MIN_TIME seconds per run (default 0.1).
# Output: one line per run: "<regex> before|after <time in the row's unit>".
set -euo pipefail
if [ $# -lt 4 ]; then
  sed -n '2,13p' "$0" >&2
  exit 2
fi
before=$1 after=$2 program=$3
shift 3
for row in "$@"; do
  for _ in $(seq "${N:-7}"); do
    for build in before after; do
      dir=$before
      [ "$build" = after ] && dir=$after
      time=$("$dir/$program" --benchmark_filter="$row" --benchmark_repetitions=1 \
               --benchmark_min_time="${MIN_TIME:-0.1}" 2>/dev/null |
             awk 'NF > 3 && $2 ~ /^[0-9.]+$/ { print $2; exit }')
      echo "$row $build ${time:-missing}"
    done
  done
done
