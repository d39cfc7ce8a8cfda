#!/usr/bin/env python3
"""Ablation 1: norm placement (Pre-LN, Post-LN, DeepNorm arXiv:2203.00555) at a shallow and a
deep setting; final val loss, divergence, time. METHODS.md sections 1-2.

  /usr/bin/python3 scripts/ablate_norm.py --quick      # 4 and 16 layers, width 32, 40 steps
  /usr/bin/python3 scripts/ablate_norm.py              # 6 and 48 layers, width 64
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ablation_util as U  # noqa: E402
import tlmlib  # noqa: E402


def main():
    args = U.parse_args(__doc__, "out/ablations/norm")
    tlmlib.ensure_built()
    if args.quick:
        depths, width, iters, T = (4, 16), 32, 40, 32
    else:
        depths, width, iters, T = (6, 48), 64, 600, 64
    rows, series = [], []
    for depth in depths:
        for norm in ("pre", "post", "deepnorm"):
            o = U.base(args, n_layer=depth, n_embd=width, n_head=2, block_size=T, max_iters=iters,
                       norm=norm, learning_rate=2e-3, batch_size=4 if args.quick else 8)
            r = U.train(f"{norm}_L{depth}", o, args.out)
            rows.append(dict(norm=norm, n_layer=depth, n_embd=width, iters=r.get("iters"),
                             params=r.get("params"), train_loss=r.get("train_loss"),
                             val_loss=r.get("val_loss"), diverged=U.diverged(r),
                             ms_per_iter=r.get("ms_per_iter"), peak_bytes=r.get("peak_bytes"),
                             wall_s=r["wall_s"]))
            series.append((f"{norm} L={depth}", U.step_curve(r)))
    cols = ["norm", "n_layer", "n_embd", "iters", "params", "train_loss", "val_loss", "diverged",
            "ms_per_iter", "peak_bytes", "wall_s"]
    U.write_outputs(args.out, "norm", rows, cols, "Norm placement: Pre vs Post vs DeepNorm",
                    "lr 2e-3, warmup 20, AdamW, seed 1337; diverged = failed, non-finite, or "
                    "final val loss >= the first step's loss.")
    tlmlib.plot_curves(os.path.join(args.out, "norm.png"), series, "step", "loss",
                       "training loss by norm placement and depth", "step", "loss")


if __name__ == "__main__":
    main()
