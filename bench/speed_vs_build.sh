#!/usr/bin/env bash
# tokens/s of two tlm builds, interleaved (old, new, old, new, ...), on the baby config (300
# steps, 3 pairs) and at width 384 (6 x 384, context 256, batch 8; 30 steps, 2 pairs): the
# "speed unchanged" check of a refactoring (bench/RESULTS.md).
#
#   bash bench/speed_vs_build.sh OLD_TLM [NEW_TLM]        (NEW_TLM default build/tlm; ~6 min)
#
# OLD_TLM: a tlm binary built from the commit to compare with, e.g.
#   git worktree add /tmp/old <commit> && make -C /tmp/old build && bash bench/speed_vs_build.sh /tmp/old/build/tlm
set -euo pipefail
OLD=${1:?usage: speed_vs_build.sh OLD_TLM [NEW_TLM]}
NEW=${2:-build/tlm}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
run() {  # binary, then config overrides; prints tokens/s and ms per step
  local bin=$1; shift
  rm -rf "$W/run"
  "$bin" train --set data=data/tinyshakespeare.txt --set out_dir="$W/run" --set eval_interval=100000 \
    --set eval_iters=1 "$@" 2> /dev/null | tail -1 |
    python3 -c "import json, sys; r = json.loads(sys.stdin.read()); print(r['tokens_per_s'], r['ms_per_iter'])"
}
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "config pair binary tokens/s ms/step"
for r in 1 2 3; do
  echo "baby $r old $(run "$OLD" --set max_iters=300)"
  echo "baby $r new $(run "$NEW" --set max_iters=300)"
done
W384=(--set n_layer=6 --set n_head=6 --set n_embd=384 --set block_size=256 --set batch_size=8 --set max_iters=30)
for r in 1 2; do
  echo "w384 $r old $(run "$OLD" "${W384[@]}")"
  echo "w384 $r new $(run "$NEW" "${W384[@]}")"
done
