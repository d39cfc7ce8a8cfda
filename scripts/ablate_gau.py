#!/usr/bin/env python3
"""Ablation 2: GAU (FLASH-Quad, arXiv:2202.10447) vs MHA+FFN at equal parameter count and
equal steps. One MHA+FFN block has ~12C^2 weights, one GAU (e = 2C) ~6C^2 + sC (= 7C^2 at
s = C), so the GAU model gets about 12/7 times the layers: the script asks `tlm info` for the
parameter count of each GAU depth and takes the one closest to the MHA+FFN model's.
Softmax and relu^2 GAUs. docs/methods.md, "GAU".

  /usr/bin/python3 scripts/ablate_gau.py --quick       # width 32, 2 MHA layers, 40 steps
  /usr/bin/python3 scripts/ablate_gau.py               # width 128, 4 MHA layers (7 GAU), 1000 steps
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ablation_util as U  # noqa: E402
import tlmlib  # noqa: E402


def main():
    args = U.parse_args(__doc__, "out/ablations/gau")
    tlmlib.ensure_built()
    if args.quick:
        C, L, iters, T, B = 32, 2, 40, 32, 4
    else:
        C, L, iters, T, B = 128, 4, 1000, 64, 12
    s = min(128, C)
    common = dict(n_embd=C, block_size=T, pos="rope")
    target = U.params_of(dict(common, block="transformer", n_layer=L, n_head=4))
    gau_layers = min(range(1, 4 * L + 1), key=lambda n: abs(
        U.params_of(dict(common, block="gau", n_layer=n, n_head=1, gau_attn_size=s)) - target))
    runs = [("mha_ffn", dict(block="transformer", n_layer=L, n_head=4)),
            ("gau_softmax", dict(block="gau", n_layer=gau_layers, n_head=1, attn="softmax",
                                 gau_attn_size=s)),
            ("gau_relu2", dict(block="gau", n_layer=gau_layers, n_head=1, attn="relu2",
                               gau_attn_size=s))]
    rows, series = [], []
    for name, kw in runs:
        o = U.base(args, n_embd=C, block_size=T, max_iters=iters, pos="rope", batch_size=B, **kw)
        r = U.train(name, o, args.out)
        rows.append(dict(model=name, n_layer=kw["n_layer"], n_embd=C, params=r.get("params"),
                         iters=r.get("iters"), train_loss=r.get("train_loss"),
                         val_loss=r.get("val_loss"), ms_per_iter=r.get("ms_per_iter"),
                         peak_bytes=r.get("peak_bytes"), wall_s=r["wall_s"]))
        series.append((name, U.step_curve(r)))
    cols = ["model", "n_layer", "n_embd", "params", "iters", "train_loss", "val_loss",
            "ms_per_iter", "peak_bytes", "wall_s"]
    U.write_outputs(args.out, "gau", rows, cols, "GAU vs MHA+FFN (equal parameters, equal steps)",
                    f"pos = rope, pre-norm, s = {s}, e = 2C, seed 1337.")
    tlmlib.plot_curves(os.path.join(args.out, "gau.png"), series, "step", "loss",
                       "GAU vs MHA+FFN", "step", "loss")


if __name__ == "__main__":
    main()
