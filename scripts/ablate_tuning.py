#!/usr/bin/env python3
"""Ablation (issue 7; docs/methods.md, "Ladder Side-Tuning"): fine-tuning a frozen backbone with Ladder
Side-Tuning vs LoRA vs full fine-tuning.

A backbone is pretrained on tiny Shakespeare (char-level; reused when its checkpoint exists
with the same settings), then `tlm tune` fine-tunes it on the built-in fortunes corpus with
each method, sequentially, threads=1, the same steps, batches and seed. For each method:
trainable parameters, allocator peak and process peak RSS of the tuning run, median ms per
step, and the fortunes validation loss before (step 0) and after. The fortunes text has
characters Shakespeare lacks; they are replaced by a space (unseen_chars = replace).

  /usr/bin/python3 scripts/ablate_tuning.py --quick   # 2 x 64 backbone, 40 tuning steps, 1 seed (< 3 min)
  /usr/bin/python3 scripts/ablate_tuning.py           # 6 x 256 backbone, 120 tuning steps, 3 seeds

One backbone (seed 1337); each method tunes it with seeds 1337.. (`--seeds`: the batches and the
new weights' init), so methods are paired by seed. LST's side network is initialised by the
default pruning (lst_fisher_samples = 1024: empirical Fisher scores, as in the paper).
tuning_summary.csv: val_after per method over seeds with the paired difference against full.

Writes <out>/tuning.{csv,md,png} (loss curves and the cost bars).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ablation_util as U  # noqa: E402
import tlmlib  # noqa: E402

# run name -> (tune --method, extra config keys)
RUNS = {"full": ("full", {}), "lora": ("lora", {}), "lst": ("lst", {"lst_output": "side"}),
        "lst_residual": ("lst", {"lst_output": "residual"})}
METHODS = tuple(RUNS)


def settings(quick):
    if quick:
        model = dict(n_layer=2, n_head=4, n_embd=64, block_size=64)
        return model, dict(max_iters=150, batch_size=12), dict(max_iters=40, batch_size=12, eval_iters=10)
    model = dict(n_layer=6, n_head=8, n_embd=256, block_size=64)
    return model, dict(max_iters=600, batch_size=12), dict(max_iters=120, batch_size=12, eval_iters=100)


def pretrain(out, model, loop, threads):
    """The backbone: trained once; an existing checkpoint with the same settings is reused."""
    run_dir = os.path.join(out, "backbone")
    ckpt = os.path.join(run_dir, "ckpt.bin")
    o = dict(model, **loop, data=tlmlib.SHAKESPEARE, seed=1337, threads=threads, dropout=0.0,
             learning_rate=1e-3, min_lr=1e-4, warmup_iters=50, lr_decay_iters=loop["max_iters"],
             eval_interval=loop["max_iters"], eval_iters=20, log_interval=50)
    stamp = os.path.join(run_dir, "settings.json")
    if os.path.exists(ckpt) and os.path.exists(stamp) and json.load(open(stamp)) == o:
        print(f"reusing the backbone {ckpt}", file=sys.stderr)
        return ckpt, json.load(open(os.path.join(run_dir, "summary.json")))
    os.makedirs(run_dir, exist_ok=True)
    print(f"pretraining the backbone on {tlmlib.SHAKESPEARE} ...", file=sys.stderr, flush=True)
    r = tlmlib.run_tlm(o, run_dir, log_path=os.path.join(run_dir, "stderr.txt"))
    if r["failed"]:
        sys.exit(f"pretraining failed: {r.get('error')}")
    r.pop("log", None)
    json.dump(r, open(os.path.join(run_dir, "summary.json"), "w"))
    json.dump(o, open(stamp, "w"))
    return ckpt, r


def tune(out, ckpt, name, loop, threads, seed=U.FIRST_SEED):
    method, extra = RUNS[name]
    run_dir = os.path.join(out, "runs", f"{name}_s{seed}")
    os.makedirs(run_dir, exist_ok=True)
    lr = {"full": 3e-4, "lora": 1e-3, "lst": 3e-3}[method]  # the LST paper's side lr 3e-3
    o = dict(loop, learning_rate=lr, min_lr=lr / 10, warmup_iters=20,
             lr_decay_iters=loop["max_iters"], eval_interval=max(1, loop["max_iters"] // 5),
             log_interval=1000, threads=threads, seed=seed, dropout=0.0,
             unseen_chars="replace", lst_reduction=8, lora_rank=8, lora_alpha=16,
             out_dir=run_dir, **extra)
    args = ["tune", "--ckpt", ckpt, "--method", method, "--overwrite"]
    for k, v in o.items():
        args += ["--set", f"{k}={v}"]
    r = tlmlib.run_in_dir(args, run_dir, os.path.join(run_dir, "stderr.txt"))
    if r["failed"]:
        sys.exit(f"tuning with {name} failed: {r.get('error')}")
    r["log"] = tlmlib.read_log(os.path.join(run_dir, "log.jsonl"))
    print(f"  {name}: val {r['initial_val_loss']:.4f} -> {r['val_loss']:.4f}, "
          f"{r['ms_per_iter']:.1f} ms/step, peak {r['peak_bytes'] / 2**20:.1f} MiB "
          f"({r['wall_s']} s)", file=sys.stderr, flush=True)
    return r


def plot(path, runs, rows):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is missing (no plot written)", file=sys.stderr)
        return
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for m in METHODS:
        ev = [x for x in runs[m]["log"] if x.get("kind") == "eval"]
        axes[0].plot([x["step"] for x in ev], [x["val_loss"] for x in ev], marker="o", label=m)
    axes[0].set_title("fortunes val loss while tuning")
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("val loss (nats/char)")
    axes[0].grid(alpha=0.3)
    axes[0].legend()
    names = [r["method"] for r in rows]
    axes[1].bar(names, [r["peak_MiB"] for r in rows], label="allocator peak")
    axes[1].bar(names, [r["peak_rss_MiB"] for r in rows], alpha=0.35, label="peak RSS")
    axes[1].set_title("peak training memory (MiB)")
    axes[1].legend()
    axes[2].bar(names, [r["ms_per_step"] for r in rows])
    axes[2].set_title("median ms per step (threads=1)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    U.add_seed_args(p)
    p.add_argument("--out", default=None, help="output directory (default out/ablations/tuning[_quick])")
    p.add_argument("--pretrain_only", action="store_true", help="stop after the backbone")
    args = U.finish_args(p.parse_args())
    out = args.out or os.path.join(tlmlib.ROOT, "out", "ablations", "tuning_quick" if args.quick else "tuning")
    tlmlib.ensure_built()
    model, pre_loop, tune_loop = settings(args.quick)
    ckpt, pre = pretrain(out, model, pre_loop, args.threads)
    if args.pretrain_only:
        return
    seeds = U.seed_list(args.seeds)
    by_seed = {s: {m: tune(out, ckpt, m, tune_loop, args.threads, s) for m in METHODS} for s in seeds}
    runs = by_seed[seeds[0]]  # the first seed's runs give the cost columns and the curves
    full = runs["full"]
    rows = []
    for m in METHODS:
        r = runs[m]
        rows.append(dict(
            method=m, trainable_params=r["trainable_params"],
            trainable_pct=round(100.0 * r["trainable_params"] / full["trainable_params"], 2),
            peak_MiB=round(r["peak_bytes"] / 2**20, 2),
            peak_vs_full=round(r["peak_bytes"] / full["peak_bytes"], 3),
            peak_rss_MiB=round(r["peak_rss_bytes"] / 2**20, 1),
            rss_vs_full=round(r["peak_rss_bytes"] / full["peak_rss_bytes"], 3),
            ms_per_step=r["ms_per_iter"], time_vs_full=round(r["ms_per_iter"] / full["ms_per_iter"], 3),
            val_before=r["initial_val_loss"], val_after=r["val_loss"]))
    cols = ["method", "trainable_params", "trainable_pct", "peak_MiB", "peak_vs_full", "peak_rss_MiB",
            "rss_vs_full", "ms_per_step", "time_vs_full", "val_before", "val_after"]
    notes = (f"Backbone: {model['n_layer']} layers x {model['n_embd']} wide, {model['n_head']} heads, "
             f"context {model['block_size']}, {pre.get('params')} parameters, pretrained "
             f"{pre_loop['max_iters']} steps on tiny Shakespeare (val loss {pre.get('val_loss')}). "
             f"Tuning: {tune_loop['max_iters']} steps, batch {tune_loop['batch_size']}, AdamW, "
             "lr full 3e-4 / lora 1e-3 / lst 3e-3 (cosine to lr/10), lora r=8 alpha=16 on every "
             "attention and MLP Linear, lst r=8, side init pruned by Fisher scores over 1024 windows (the default) (lst: logits from the side network, as in the paper; "
             "lst_residual: backbone output + side correction, lst_output = residual), threads=1. val_before is the step-0 evaluation: "
             "the untuned backbone for full, lora and lst_residual (identical), the pruned side network for lst. "
             "Peaks are over the whole tuning process (allocator: tensors only; RSS: everything, "
             "including the backbone load and the corpus).")
    os.makedirs(out, exist_ok=True)
    cmd = "/usr/bin/python3 " + " ".join(sys.argv)
    tlmlib.write_csv(os.path.join(out, "tuning.csv"), rows, cols)
    tlmlib.write_markdown(os.path.join(out, "tuning.md"), rows, cols,
                          "Fine-tuning: full vs LoRA vs Ladder Side-Tuning", cmd, notes)
    vals = {m: {s: by_seed[s][m]["val_loss"] for s in seeds} for m in METHODS}
    summary = U.summary_rows(vals, "val_after", ref="full")
    tlmlib.write_csv(os.path.join(out, "tuning_summary.csv"), summary, U.SUMMARY_COLS)
    with open(os.path.join(out, "tuning.md"), "a") as f:
        f.write(f"\nval_after over tuning seeds {seeds} (the cost columns above are seed {seeds[0]}'s); "
                "paired differences against full:\n\n| method | val_after | minus full | verdict |\n"
                "|---|---|---|---|\n")
        for srow in summary:
            d = "" if srow.get("diff_vs_ref") is None else f"{srow['diff_vs_ref']:+.4f}"
            f.write(f"| {srow['arm']} | {U.fmt_stats(vals[srow['arm']])} | {d} | "
                    f"{srow.get('verdict', '(reference)')} |\n")
    plot(os.path.join(out, "tuning.png"), runs, rows)
    print(open(os.path.join(out, "tuning.md")).read())


if __name__ == "__main__":
    main()
