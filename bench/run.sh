#!/usr/bin/env bash
# make bench: runs every micro-benchmark binary and prints the ratios that matter, each
# computed from figures measured in the same run (the machine is shared and noisy).
set -euo pipefail
BUILD=${1:-build}
OUT=${BENCH_OUT:-$BUILD/bench-results}
mkdir -p "$OUT"
for bin in "$BUILD"/bench_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  echo "== $name"
  "$bin" --benchmark_repetitions=${BENCH_REPS:-3} --benchmark_report_aggregates_only=true \
         --benchmark_enable_random_interleaving=true \
         --benchmark_out="$OUT/$name.json" --benchmark_out_format=json ${BENCH_ARGS:-}
done
python3 bench/ratios.py "$OUT"
