#!/usr/bin/env bash
# Runs every libFuzzer target of a TLM_FUZZ build for a bounded time and prints its figures.
#   bash scripts/fuzz.sh BUILD_DIR SECONDS_PER_TARGET [target ...]
# Each target starts from its committed seed corpus (tests/fuzz/<target>/, never modified) and
# a working corpus in BUILD_DIR/fuzz-corpus/<target>/ that grows across runs. A crash, a
# sanitizer report, a hang (-timeout) or an out-of-memory (-rss_limit_mb) stops the run; the
# input is saved as BUILD_DIR/fuzz-artifacts/<target>/crash-* (or timeout-*, oom-*) and this
# script fails. Fix the bug, then commit the input to tests/fuzz/<target>/ (test_fuzz replays
# it) and add a named regression test.
set -euo pipefail
build=${1:?usage: fuzz.sh BUILD_DIR SECONDS [target ...]}
seconds=${2:?usage: fuzz.sh BUILD_DIR SECONDS [target ...]}
shift 2
root="$(cd "$(dirname "$0")/.." && pwd)"
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(checkpoint config tokenizer data token_dir safetensors)

export OMP_NUM_THREADS=1
# Leak checks stay on; an allocation the allocator refuses is a finding, not a null pointer.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

status=0
summary=()
for t in "${targets[@]}"; do
  bin="$build/fuzz_$t"
  [ -x "$bin" ] || { echo "fuzz.sh: $bin is missing (build with -DTLM_FUZZ=ON)" >&2; exit 1; }
  corpus="$build/fuzz-corpus/$t"
  artifacts="$build/fuzz-artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  log="$build/fuzz-$t.log"
  echo "fuzz: $t for ${seconds}s (log $log)"
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
      -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "$root/tests/fuzz/$t" \
      > "$log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
    grep -E "ERROR|SUMMARY|Test unit written|what\(\)|terminate" "$log" | head -20 || true
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
  summary+=("$(printf '%-10s %-6s %10s execs  %6s edges  %5s corpus files' "$t" "$result" "$execs" \
    "$cov" "$(ls "$corpus" | wc -l)")")
done
echo "fuzz summary (${seconds}s per target):"
printf '  %s\n' "${summary[@]}"
exit $status
