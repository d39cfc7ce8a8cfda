#!/usr/bin/python3
"""Ablation of mixed precision emulation (docs/methods.md, "bf16 and fp16"; issue 6) on tiny Shakespeare.

The same char model (same seed, init, batches and schedule) trained four times:
  fp32          the reference
  bf16          matmul inputs/gradients and saved activations in bfloat16
  fp16_noscale  the same in fp16 with loss_scale = 1 (no loss scaling)
  fp16_dynamic  fp16 with dynamic loss scaling (S0 = 2^16, x2 / 2000 good steps, x0.5 + skip)
and reports final validation loss, skipped steps, the mean fraction of non-zero gradient
entries that the 16-bit rounding in backward flushed to zero (grad_underflow), the overflow
count, the final loss scale, and the activation memory (bytes the graph holds after forward +
loss, before backward; `activation_bytes` of the run summary) next to the allocator peak.

  /usr/bin/python3 scripts/ablate_precision.py --quick   # < 3 min: 2 x 64 model, 150 steps, 1 seed
  /usr/bin/python3 scripts/ablate_precision.py           # 4 x 128, 1000 steps, 3 seeds, 2 runs at a time

Every format runs with seeds 1337.. (`--seeds`); val_loss is `tlm eval` on the whole
validation split; precision_summary.csv has mean/std/min-max per format and the paired
difference against fp32 with the verdict rule of scripts/ablation_util.py.

Writes <out>/precision.csv, precision.md, precision_summary.csv, precision.png (final validation
loss per format and its paired difference from fp32, a dot per seed) and precision_curves.png
(validation loss over training: mean and min-max band over seeds).
"""
import argparse
import concurrent.futures
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ablation_util as U  # noqa: E402
import tlmlib  # noqa: E402

RUNS = [("fp32", dict(precision="fp32")),
        ("bf16", dict(precision="bf16")),
        ("fp16_noscale", dict(precision="fp16", loss_scale=1)),
        ("fp16_dynamic", dict(precision="fp16", loss_scale="dynamic"))]
COLS = ["run", "seed", "precision", "loss_scale", "iters", "val_loss", "train_loss", "skipped_steps",
        "grad_underflow", "overflow", "final_scale", "activation_mb", "activation_vs_fp32",
        "peak_mb", "ms_per_iter", "wall_s", "failed"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    U.add_seed_args(p)
    p.add_argument("--out", default="out/ablations/precision")
    p.add_argument("--data", default=tlmlib.SHAKESPEARE)
    p.add_argument("--iters", type=int, default=0, help="override the number of steps")
    p.add_argument("--jobs", type=int, default=2, help="runs at once (each with --threads)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="extra config for every run (e.g. norm=deepnorm)")
    args = U.finish_args(p.parse_args())
    tlmlib.ensure_built()
    if args.quick:
        model = dict(n_layer=2, n_head=2, n_embd=64, block_size=64, batch_size=8)
        iters = 150
    else:
        model = dict(n_layer=4, n_head=4, n_embd=128, block_size=64, batch_size=12)
        iters = 1000
    iters = args.iters or iters
    base = dict(data=args.data, seed=U.FIRST_SEED, threads=args.threads, max_iters=iters,
                lr_decay_iters=iters, warmup_iters=min(100, iters // 10), learning_rate=1e-3,
                min_lr=1e-4, dropout=0.0, eval_interval=max(1, iters // 10), eval_iters=20,
                log_interval=max(1, iters // 10), ckpt_interval=0, **model)
    for kv in args.set:
        k, v = kv.split("=", 1)
        base[k] = v
    os.makedirs(args.out, exist_ok=True)
    rows = []

    def launch(item):
        name, extra, seed = item
        run_dir = os.path.join(args.out, "runs", f"{name}_s{seed}")
        os.makedirs(run_dir, exist_ok=True)
        r = tlmlib.run_tlm(dict(base, seed=seed, **extra), run_dir,
                           log_path=os.path.join(run_dir, "stderr.txt"))
        r["run_dir"] = run_dir
        return U.final_eval(r, base["block_size"], args.threads)

    jobs = [(name, extra, seed) for seed in U.seed_list(args.seeds) for name, extra in RUNS]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(launch, jobs))
    for (name, extra, seed), r in zip(jobs, results):
        o = dict(base, **extra)
        steps = [x for x in r["log"] if x.get("kind") == "step"]
        skips = [x for x in r["log"] if x.get("kind") == "skip"]
        under = [x["grad_underflow"] for x in steps if "grad_underflow" in x]
        over = sum(x.get("overflow", 0) for x in steps + skips)
        rows.append(dict(run=name, seed=seed, precision=o["precision"], loss_scale=o.get("loss_scale", ""),
                         iters=r.get("iters"), val_loss=r.get("val_loss"),
                         train_loss=r.get("train_loss"),
                         skipped_steps=r.get("scaler_skipped_steps", 0) + r.get("skipped_steps", 0),
                         grad_underflow=statistics.mean(under) if under else 0.0,
                         overflow=over, final_scale=r.get("loss_scale", ""),
                         activation_mb=(r.get("activation_bytes") or 0) / 2**20,
                         peak_mb=(r.get("peak_bytes") or 0) / 2**20,
                         ms_per_iter=r.get("ms_per_iter"), wall_s=r["wall_s"], failed=r["failed"]))
        print(f"  {name}: val {r.get('val_loss')} ({r['wall_s']} s)"
              f"{' FAILED ' + r.get('error', '') if r['failed'] else ''}", file=sys.stderr, flush=True)
    ref = rows[0]["activation_mb"] or 1
    for row in rows:
        row["activation_vs_fp32"] = row["activation_mb"] / ref
    cmd = "/usr/bin/python3 " + " ".join(sys.argv)
    tlmlib.write_csv(os.path.join(args.out, "precision.csv"), rows, COLS)
    tlmlib.write_markdown(
        os.path.join(args.out, "precision.md"), rows, COLS,
        "Mixed precision emulation: fp32 vs bf16 vs fp16 with and without loss scaling", cmd,
        f"Model {model}, {iters} steps, AdamW lr 1e-3 cosine, seeds {U.seed_list(args.seeds)}, threads {args.threads}; "
        "grad_underflow = mean over steps of the fraction of non-zero gradient entries rounded "
        "to zero in backward; activation_mb = bytes held after forward + loss (max over steps); "
        "peak_mb = allocator peak (parameters, gradients and optimizer state included).")
    names = [n for n, _ in RUNS]
    by = U.arm_summary(rows, "run", "val_loss", names)
    summary = U.summary_rows(by, "val_loss", ref="fp32")
    tlmlib.write_csv(os.path.join(args.out, "precision_summary.csv"), summary, U.SUMMARY_COLS)
    with open(os.path.join(args.out, "precision.md"), "a") as f:
        f.write(f"\nval_loss over seeds {U.seed_list(args.seeds)} (`tlm eval`, whole validation split); "
                "paired differences against fp32:\n\n| run | val_loss | minus fp32 | verdict |\n|---|---|---|---|\n")
        for srow in summary:
            d = "" if srow.get("diff_vs_ref") is None else f"{srow['diff_vs_ref']:+.4f}"
            f.write(f"| {srow['arm']} | {U.fmt_stats(by[srow['arm']])} | {d} | {srow.get('verdict', '(reference)')} |\n")
    print(open(os.path.join(args.out, "precision.md")).read())
    # The spread over seeds: validation curves (mean and min-max band per format) and the final
    # figures (a dot per seed, mean and min-max), with y-ranges no narrower than 0.05 nats
    # (curves, final loss) and 0.02 (differences), so rounding-level differences stay small.
    curves = {n: [] for n in names}
    for (name, _, seed), r in zip(jobs, results):
        curves[name].append([(x["step"], x["val_loss"]) for x in r["log"] if x.get("kind") == "eval"])
    U.plot_bands(os.path.join(args.out, "precision_curves.png"), [(n, curves[n]) for n in names],
                 "step", "validation loss (trainer's eval_iters batches)",
                 f"validation loss over training, {len(U.seed_list(args.seeds))} seed(s): mean and min-max",
                 min_span=0.05)
    fp32 = by["fp32"]
    diffs = {n: {s: (by[n][s] - fp32[s]) if by[n].get(s) is not None and fp32.get(s) is not None else None
                 for s in by[n]} for n in names}
    U.plot_arms(os.path.join(args.out, "precision.png"),
                [("final val loss (tlm eval, whole split)", [(n, by[n]) for n in names]),
                 ("val loss − fp32's, same seed", [(n, diffs[n]) for n in names])],
                f"precision formats, {iters} steps", min_spans=[0.05, 0.02])


if __name__ == "__main__":
    main()
