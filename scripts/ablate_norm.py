#!/usr/bin/env python3
"""Ablation 1: norm placement (Pre-LN, Post-LN, DeepNorm arXiv:2203.00555) at a shallow and a
deep setting, with seeds; final val loss on the whole validation split, divergence, stalls,
time. docs/methods.md, "Norms and their placement" and "DeepNorm".

  /usr/bin/python3 scripts/ablate_norm.py --quick      # 4 and 16 layers, width 32, 40 steps, 1 seed
  /usr/bin/python3 scripts/ablate_norm.py              # 6 and 48 layers, width 64, 600 steps, 3 seeds

Each depth runs at two peak learning rates: 5e-4, where Post-LN trains at the shallow depth
(docs/methods.md: Post-Norm needs a small learning rate), and 2e-3, comfortable for Pre-LN. Warmup is
20 steps. A run "stalls" when its val loss stays at the unigram level (character frequencies
only), a failure mode that the "diverged" test (final loss >= first loss) does not catch.
Verdicts: Post-LN and DeepNorm against Pre-LN of the same depth and lr, paired by seed.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ablation_util as U  # noqa: E402
import tlmlib  # noqa: E402

NORMS = ("pre", "post", "deepnorm")


def main():
    args = U.parse_args(__doc__, "out/ablations/norm")
    tlmlib.ensure_built()
    if args.quick:
        depths, width, iters, T, lrs = (4, 16), 32, 40, 32, (2e-3,)
    else:
        depths, width, iters, T, lrs = (6, 48), 64, 600, 64, (5e-4, 2e-3)
    unigram = U.unigram_val_loss(args.data)
    rows, series = [], []
    for lr in lrs:
        for depth in depths:
            for norm in NORMS:
                curves = []
                for seed in U.seed_list(args.seeds):
                    o = U.base(args, n_layer=depth, n_embd=width, n_head=2, block_size=T,
                               max_iters=iters, norm=norm, learning_rate=lr, seed=seed,
                               batch_size=4 if args.quick else 8)
                    r = U.final_eval(U.train(f"{norm}_L{depth}_lr{lr:g}_s{seed}", o, args.out), T, args.threads)
                    rows.append(dict(arm=f"{norm} L{depth} lr{lr:g}", norm=norm, n_layer=depth, lr=lr,
                                     seed=seed, iters=r.get("iters"), params=r.get("params"),
                                     train_loss=r.get("train_loss"), val_loss=r.get("val_loss"),
                                     diverged=U.diverged(r), stalled=U.stalled(r, unigram),
                                     ms_per_iter=r.get("ms_per_iter"), peak_bytes=r.get("peak_bytes"),
                                     wall_s=r["wall_s"]))
                    curves.append([(x["step"], x["loss"]) for x in U.step_curve(r)])
                series.append((f"{norm} L={depth} lr={lr:g}", curves))
    cols = ["norm", "n_layer", "lr", "seed", "iters", "params", "train_loss", "val_loss", "diverged",
            "stalled", "ms_per_iter", "peak_bytes", "wall_s"]
    os.makedirs(args.out, exist_ok=True)
    tlmlib.write_csv(os.path.join(args.out, "norm_runs.csv"), rows, cols)
    summary = []
    for lr in lrs:
        for depth in depths:
            arms = [f"{n} L{depth} lr{lr:g}" for n in NORMS]
            by = U.arm_summary(rows, "arm", "val_loss", arms)
            extra = {a: dict(stalled=sum(r["stalled"] for r in rows if r["arm"] == a),
                             diverged=sum(r["diverged"] for r in rows if r["arm"] == a)) for a in arms}
            summary += U.summary_rows(by, "val_loss", ref=arms[0], extra=extra)
    uni = f"{unigram:.4f}" if unigram is not None else "n/a"
    U.write_outputs(args.out, "norm", summary, U.SUMMARY_COLS[:6] + ["stalled", "diverged"] + U.SUMMARY_COLS[6:],
                    "Norm placement: Pre vs Post vs DeepNorm (val loss over seeds)",
                    f"width {width}, context {T}, warmup 20, cosine to 1e-4, AdamW, seeds "
                    f"{U.seed_list(args.seeds)}, data {args.data or 'built-in corpus'}; val loss: `tlm eval` "
                    f"on the whole validation split; stalled / diverged: runs (of {args.seeds}) whose val "
                    f"loss stayed within 0.05 of the unigram level ({uni}) / failed, went non-finite or "
                    "ended at or above the first step's loss. diff_vs_ref: paired difference against "
                    "Pre-LN of the same depth and lr; per-run rows in norm_runs.csv.")
    # One panel per (lr, depth) would be clearer than 12 curves on one axis: mean and band per
    # norm, each setting in its own line style.
    plt = U._plt()
    if plt is not None:
        settings = [(lr, d) for lr in lrs for d in depths]
        fig, axes = plt.subplots(1, len(settings), figsize=(4.2 * len(settings), 4), squeeze=False, sharey=True)
        for ax, (lr, d) in zip(axes[0], settings):
            for i, norm in enumerate(NORMS):
                curves = dict(series)[f"{norm} L={d} lr={lr:g}"]
                curves = [c for c in curves if c]
                if not curves:
                    continue
                xs = sorted(set.intersection(*[set(x for x, _ in c) for c in curves]))
                per = [dict(c) for c in curves]
                ys = [[p[x] for p in per] for x in xs]
                ax.plot(xs, [sum(y) / len(y) for y in ys], color=f"C{i}", label=f"{norm} (n={len(curves)})")
                if len(curves) > 1:
                    ax.fill_between(xs, [min(y) for y in ys], [max(y) for y in ys], color=f"C{i}", alpha=0.2)
            if unigram is not None:
                ax.axhline(unigram, color="gray", ls=":", lw=1, label="unigram level")
            ax.set_title(f"{d} layers, lr {lr:g}")
            ax.set_xlabel("step")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
        axes[0][0].set_ylabel("training loss (band: min–max over seeds)")
        fig.tight_layout()
        fig.savefig(os.path.join(args.out, "norm.png"), dpi=110)
        plt.close(fig)


if __name__ == "__main__":
    main()
