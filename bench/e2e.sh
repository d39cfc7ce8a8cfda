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
# per-tool environment (e.g. TORCH_ENV="OPENBLAS_CORETYPE=SkylakeX"). tlm, run with no
# variable, picks the best kernel for the CPU itself (train/sys/blas_select.h).
#
# Also printed, from the same session:
#   sgemm GFLOP/s  2-thread cblas_sgemm, best of square 512 / 1024 / 2048 (bench_tensor
#                  BM_RawSgemm, median of 3) under TLM_ENV, measured before and after the runs
#   MFU            model FLOPs utilisation = flops_per_token x tokens/s / sgemm FLOP/s, with
#                  flops_per_token = 6 N + 12 L C T (PaLM / nanoGPT accounting: N non-embedding
#                  parameters, 2 + 4 FLOPs per weight forward + backward, plus q k^T and A v;
#                  `tlm info` prints it)
#   profile        one extra tlm run with --profile: the share of step time per kind of op
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${1:-baby}
RUNS=${2:-1}
ITERS=${3:-2000}
BUILD=${BUILD:-build}
DATA=${DATA:-data/tinyshakespeare.txt}
OUT=${OUT:-$BUILD/e2e}
mkdir -p "$OUT"
case "$CONFIG" in
  baby) ARGS=(n_layer=4 n_head=4 n_embd=128 block_size=64 batch_size=12) ;;
  w384) ARGS=(n_layer=6 n_head=6 n_embd=384 block_size=256 batch_size=8) ;;
  *) echo "unknown config $CONFIG (baby|w384)"; exit 2 ;;
esac
EVAL_ITERS=${EVAL_ITERS:-20}
torch_args=(--max_iters "$ITERS" --lr_decay_iters "$ITERS" --warmup_iters $((ITERS < 100 ? ITERS : 100)) --eval_interval 0 --eval_iters "$EVAL_ITERS" --dropout 0.0 --threads 2)
tlm_args=(--set max_iters="$ITERS" --set lr_decay_iters="$ITERS" --set warmup_iters=$((ITERS < 100 ? ITERS : 100)) --set eval_interval=0 --set eval_iters="$EVAL_ITERS" --set dropout=0.0 --set threads=2 --set data="$DATA" --set ckpt_interval=0)
for kv in "${ARGS[@]}"; do
  torch_args+=("--${kv%%=*}" "${kv#*=}")
  tlm_args+=(--set "$kv")
done
sgemm_gflops() {  # under TLM_ENV: the kernel tlm runs with
  env ${TLM_ENV:-} OMP_NUM_THREADS=2 "./$BUILD/bench_tensor" --benchmark_filter='BM_RawSgemm' --benchmark_repetitions=3 \
      --benchmark_report_aggregates_only=true --benchmark_format=json 2>/dev/null |
    python3 -c 'import json,sys; b=json.load(sys.stdin)["benchmarks"]; print(max(x["GFLOP/s"] for x in b if x.get("aggregate_name")=="median"))'
}
SGEMM_BEFORE=$(sgemm_gflops)
: > "$OUT/$CONFIG.jsonl"
for r in $(seq 1 "$RUNS"); do
  seed=$r
  env ${TORCH_ENV:-} /usr/bin/python3 ../shared/peers/torch_gpt.py "${torch_args[@]}" --seed "$seed" \
      --data "$DATA" 2>"$OUT/torch-$CONFIG-$r.log" | tail -1 | sed 's/^/{"run":"torch",/;s/^{"run":"torch",{/{"run":"torch",/' >> "$OUT/$CONFIG.jsonl" ||
    { echo "e2e: the PyTorch run failed (needs python3-torch):"; tail -5 "$OUT/torch-$CONFIG-$r.log"; exit 1; }
  env ${TLM_ENV:-} "./$BUILD/tlm" train "${tlm_args[@]}" --set seed="$seed" --set out_dir="$OUT/tlm-$CONFIG-$r" --overwrite \
      2>"$OUT/tlm-$CONFIG-$r.log" | tail -1 | sed 's/^{/{"run":"tlm",/' >> "$OUT/$CONFIG.jsonl" ||
    { echo "e2e: the tlm run failed:"; tail -5 "$OUT/tlm-$CONFIG-$r.log"; exit 1; }
done
SGEMM_AFTER=$(sgemm_gflops)
info_args=()
for kv in "${ARGS[@]}"; do info_args+=(--set "$kv"); done
FLOPS_PER_TOKEN=$("./$BUILD/tlm" info "${info_args[@]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["flops_per_token"])')
env ${TLM_ENV:-} "./$BUILD/tlm" train "${tlm_args[@]}" --set max_iters=$((ITERS < 150 ? ITERS : 150)) \
    --set out_dir="$OUT/tlm-$CONFIG-profile" --overwrite --profile > /dev/null 2> "$OUT/tlm-$CONFIG-profile.log"
cat "$OUT/$CONFIG.jsonl"
python3 - "$OUT/$CONFIG.jsonl" "$SGEMM_BEFORE" "$SGEMM_AFTER" "$FLOPS_PER_TOKEN" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sgemm = [float(sys.argv[2]), float(sys.argv[3])]
flops_per_token = float(sys.argv[4])
def med(tool, key):
    v = [r[key] for r in rows if r.get("run") == tool and r.get(key) is not None]
    return statistics.median(v) if v else float("nan")
for key in ("tokens_per_s", "val_loss", "peak_rss_bytes"):
    t, m = med("torch", key), med("tlm", key)
    print(f"{key:16s} torch {t:12.4f}  tlm {m:12.4f}  tlm/torch {m / t:.3f}")
ref = max(sgemm)
print(f"sgemm (2 threads, best square) {sgemm[0]:.1f} GFLOP/s before, {sgemm[1]:.1f} after")
print(f"flops_per_token {flops_per_token / 1e6:.3f} MFLOP (6 N + 12 L C T)")
for tool in ("torch", "tlm"):
    gf = flops_per_token * med(tool, "tokens_per_s") / 1e9
    print(f"MFU {tool:5s} {gf:7.1f} GFLOP/s = {gf / ref:.3f} of sgemm ({ref:.1f})")
PY
echo "tlm profile (150 steps, --profile):"
sed -n '/^profile/,/^done/p' "$OUT/tlm-$CONFIG-profile.log" | grep -v '^done'
printf 'tlm BLAS: '; grep -m1 '^blas:' "$OUT/tlm-$CONFIG-profile.log" || true
