#!/usr/bin/env python3
"""Ablation 2: GAU (FLASH-Quad, arXiv:2202.10447) vs MHA+FFN at equal parameter count and
equal steps. One MHA+FFN block has ~12C^2 weights, one GAU (e = 2C) ~6C^2 + sC (= 7C^2 at
s = C), so the GAU model gets about 12/7 times the layers: the script asks `tlm info` for the
parameter count of each GAU depth and takes the one closest to the MHA+FFN model's.
Softmax and relu^2 GAUs. docs/methods.md, "GAU".

  /usr/bin/python3 scripts/ablate_gau.py --quick       # width 32, 2 MHA layers, 40 steps, 1 seed
  /usr/bin/python3 scripts/ablate_gau.py               # width 128, 4 MHA layers (7 GAU), 1000 steps, 3 seeds
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
        curves = []
        for seed in U.seed_list(args.seeds):
            o = U.base(args, n_embd=C, block_size=T, max_iters=iters, pos="rope", batch_size=B,
                       seed=seed, **kw)
            r = U.final_eval(U.train(f"{name}_s{seed}", o, args.out), T, args.threads)
            rows.append(dict(model=name, seed=seed, n_layer=kw["n_layer"], n_embd=C,
                             params=r.get("params"), iters=r.get("iters"),
                             train_loss=r.get("train_loss"), val_loss=r.get("val_loss"),
                             ms_per_iter=r.get("ms_per_iter"), peak_bytes=r.get("peak_bytes"),
                             wall_s=r["wall_s"]))
            os.makedirs(args.out, exist_ok=True)  # partial results survive an interrupted run
            tlmlib.write_csv(os.path.join(args.out, "gau_runs.csv"), rows, list(rows[-1]))
            curves.append([(x["step"], x["val_loss"]) for x in U.eval_curve(r)])
        series.append((name, curves))
    cols = ["model", "seed", "n_layer", "n_embd", "params", "iters", "train_loss", "val_loss",
            "ms_per_iter", "peak_bytes", "wall_s"]
    os.makedirs(args.out, exist_ok=True)
    tlmlib.write_csv(os.path.join(args.out, "gau_runs.csv"), rows, cols)
    names = [n for n, _ in runs]
    by = U.arm_summary(rows, "model", "val_loss", names)
    extra = {n: dict(n_layer=next(r["n_layer"] for r in rows if r["model"] == n),
                     params=next(r["params"] for r in rows if r["model"] == n)) for n in names}
    summary = U.summary_rows(by, "val_loss", ref="mha_ffn", extra=extra)
    U.write_outputs(args.out, "gau", summary, ["arm", "n_layer", "params"] + U.SUMMARY_COLS[1:],
                    "GAU vs MHA+FFN (equal parameters, equal steps; val loss over seeds)",
                    f"pos = rope, pre-norm, s = {s}, e = 2C, seeds {U.seed_list(args.seeds)}; val loss: "
                    "`tlm eval` on the whole validation split; diff_vs_ref: paired difference against "
                    "mha_ffn; per-run rows in gau_runs.csv.")
    U.plot_bands(os.path.join(args.out, "gau.png"), series, "step", "val loss (trainer's periodic eval)",
                 "GAU vs MHA+FFN (band: min–max over seeds)")


if __name__ == "__main__":
    main()
