#!/usr/bin/env python3
"""Ablation 1: norm placement (Pre-LN, Post-LN, DeepNorm arXiv:2203.00555) at a shallow and a
deep setting; final val loss, divergence, time. docs/methods.md, "Norms and their
placement" and "DeepNorm".

  /usr/bin/python3 scripts/ablate_norm.py --quick      # 4 and 16 layers, width 32, 40 steps
  /usr/bin/python3 scripts/ablate_norm.py              # 6 and 48 layers, width 64, 600 steps

Each depth runs at two peak learning rates: 5e-4, where Post-LN trains at the shallow depth
(Post-Norm needs a small learning rate), and 2e-3, comfortable for Pre-LN. Warmup is
20 steps. A run "stalls" when its val loss stays at the unigram level (character frequencies
only), a failure mode that the "diverged" test (final loss >= first loss) does not catch.
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
        depths, width, iters, T, lrs = (4, 16), 32, 40, 32, (2e-3,)
    else:
        depths, width, iters, T, lrs = (6, 48), 64, 600, 64, (5e-4, 2e-3)
    unigram = U.unigram_val_loss(args.data)
    rows, series = [], []
    for lr in lrs:
        for depth in depths:
            for norm in ("pre", "post", "deepnorm"):
                o = U.base(args, n_layer=depth, n_embd=width, n_head=2, block_size=T,
                           max_iters=iters, norm=norm, learning_rate=lr,
                           batch_size=4 if args.quick else 8)
                r = U.train(f"{norm}_L{depth}_lr{lr:g}", o, args.out)
                rows.append(dict(norm=norm, n_layer=depth, lr=lr, iters=r.get("iters"),
                                 params=r.get("params"), train_loss=r.get("train_loss"),
                                 val_loss=r.get("val_loss"), diverged=U.diverged(r),
                                 stalled=U.stalled(r, unigram), ms_per_iter=r.get("ms_per_iter"),
                                 peak_bytes=r.get("peak_bytes"), wall_s=r["wall_s"]))
                series.append((f"{norm} L={depth} lr={lr:g}", U.step_curve(r)))
    cols = ["norm", "n_layer", "lr", "iters", "params", "train_loss", "val_loss", "diverged",
            "stalled", "ms_per_iter", "peak_bytes", "wall_s"]
    uni = f"{unigram:.4f}" if unigram is not None else "n/a"
    U.write_outputs(args.out, "norm", rows, cols, "Norm placement: Pre vs Post vs DeepNorm",
                    f"width {width}, context {T}, warmup 20, cosine to 1e-4, AdamW, seed 1337, "
                    f"data {args.data or 'built-in corpus'}; diverged = failed, non-finite, or "
                    f"final val loss >= the first step's loss; stalled = val loss within 0.05 "
                    f"of the unigram level ({uni}).")
    tlmlib.plot_curves(os.path.join(args.out, "norm.png"), series, "step", "loss",
                       "training loss by norm placement and depth", "step", "loss")


if __name__ == "__main__":
    main()
