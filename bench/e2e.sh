#!/usr/bin/env bash
# End-to-end comparison: tlm against the PyTorch reference trainer (../shared/peers/torch_gpt.py)
# on the same config, same machine, same session, interleaved (torch, tlm, torch, tlm, ...)
# so drift on a shared machine hits both. Prints each run's JSON line and the ratios.
#
#   bash bench/e2e.sh baby  [runs] [iters]   # 4 x 128, context 64, batch 12
#   bash bench/e2e.sh w384  [runs] [iters]   # 6 x 384, context 256, batch 8
#
# The BLAS kernel: both use the same libopenblas; whatever OPENBLAS_CORETYPE the
# environment sets applies to both (compare like with like). TORCH_ENV / TLM_ENV add
# per-tool environment (e.g. TORCH_ENV="OPENBLAS_CORETYPE=SkylakeX").
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${1:-baby}
RUNS=${2:-1}
ITERS=${3:-2000}
BUILD=${BUILD:-build}
DATA=${DATA:-../shared/data/tinyshakespeare.txt}
OUT=${OUT:-$BUILD/e2e}
mkdir -p "$OUT"
case "$CONFIG" in
  baby) ARGS=(n_layer=4 n_head=4 n_embd=128 block_size=64 batch_size=12) ;;
  w384) ARGS=(n_layer=6 n_head=6 n_embd=384 block_size=256 batch_size=8) ;;
  *) echo "unknown config $CONFIG (baby|w384)"; exit 2 ;;
esac
EVAL_ITERS=${EVAL_ITERS:-20}
torch_args=(--max_iters "$ITERS" --lr_decay_iters "$ITERS" --eval_interval 0 --eval_iters "$EVAL_ITERS" --dropout 0.0 --threads 2)
tlm_args=(--set max_iters="$ITERS" --set lr_decay_iters="$ITERS" --set eval_interval=0 --set eval_iters="$EVAL_ITERS" --set dropout=0.0 --set threads=2 --set data="$DATA" --set ckpt_interval=0)
for kv in "${ARGS[@]}"; do
  torch_args+=("--${kv%%=*}" "${kv#*=}")
  tlm_args+=(--set "$kv")
done
: > "$OUT/$CONFIG.jsonl"
for r in $(seq 1 "$RUNS"); do
  seed=$r
  env ${TORCH_ENV:-} /usr/bin/python3 ../shared/peers/torch_gpt.py "${torch_args[@]}" --seed "$seed" \
      --data "$DATA" 2>"$OUT/torch-$CONFIG-$r.log" | tail -1 | sed 's/^/{"run":"torch",/;s/^{"run":"torch",{/{"run":"torch",/' >> "$OUT/$CONFIG.jsonl"
  env ${TLM_ENV:-} "./$BUILD/tlm" train "${tlm_args[@]}" --set seed="$seed" --set out_dir="$OUT/tlm-$CONFIG-$r" \
      2>"$OUT/tlm-$CONFIG-$r.log" | tail -1 | sed 's/^{/{"run":"tlm",/' >> "$OUT/$CONFIG.jsonl"
done
cat "$OUT/$CONFIG.jsonl"
python3 - "$OUT/$CONFIG.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(tool, key):
    v = [r[key] for r in rows if r.get("run") == tool and r.get(key) is not None]
    return statistics.median(v) if v else float("nan")
for key in ("tokens_per_s", "val_loss", "peak_rss_bytes"):
    t, m = med("torch", key), med("tlm", key)
    print(f"{key:16s} torch {t:12.4f}  tlm {m:12.4f}  tlm/torch {m / t:.3f}")
PY
