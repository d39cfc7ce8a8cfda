#!/usr/bin/env bash
# activation_checkpointing = none | blocks at 12 x 768 (12 heads), context 1024, batch 4, char
# vocabulary (tiny Shakespeare), AdamW, 3 steps each, interleaved pairs (issue 26, bench/RESULTS.md).
#
#   bash bench/activation_checkpointing.sh [build] [pairs]     (default build, 2 pairs; ~12 min)
#
# Prints per run: ms per step (median after the first steps, as tlm reports it), tokens/s, the
# allocator's peak during training (the eval record's peak_bytes: forward, backward and update
# of every step, before the final checkpoint is written), the process's peak RSS (whole run,
# checkpoint included) and the activation bytes the graph holds after forward (activation_bytes).
set -euo pipefail
BUILD=${1:-build}
PAIRS=${2:-2}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| pair | activation_checkpointing | ms/step | tokens/s | peak (training) | peak RSS | activations after forward |"
echo "|---|---|---|---|---|---|---|"
for r in $(seq "$PAIRS"); do
  for ac in none blocks; do
    rm -rf "$W/run"
    "$BUILD/tlm" train --set n_layer=12 --set n_head=12 --set n_embd=768 --set block_size=1024 \
      --set batch_size=4 --set max_iters=3 --set eval_interval=1000 --set eval_iters=1 \
      --set data=data/tinyshakespeare.txt --set activation_checkpointing=$ac --set out_dir="$W/run" \
      2> /dev/null | tail -1 > "$W/summary.json"
    python3 - "$r" "$ac" "$W/summary.json" "$W/run/log.jsonl" <<'PY'
import json, sys
r, ac, summary, log = sys.argv[1:]
s = json.load(open(summary))
ev = [json.loads(l) for l in open(log) if '"kind":"eval"' in l][-1]
g = lambda b: f"{b / 1e9:.2f} GB"
print(f"| {r} | {ac} | {s['ms_per_iter']:,.0f} | {s['tokens_per_s']:.1f} | {g(ev['peak_bytes'])} | "
      f"{g(s['peak_rss_bytes'])} | {g(s['activation_bytes'])} |")
PY
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
