#!/usr/bin/python3
"""Redraws the plots of the one-seed architecture runs of 2026-11-25 from their committed CSVs
(docs/ablations/architecture_full/{norm,rope_base,rope_base_copy}/), with the plotting rules of
scripts/ablation_util.py: one point per run, a y-range of at least the seed spread measured
elsewhere (so a 0.01-nat difference does not fill the axis), and one panel per setting.
The runs' step curves were not committed (runs/ is git-ignored), so norm.png shows final values.

  /usr/bin/python3 scripts/replot_one_seed.py
"""
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ablation_util as U  # noqa: E402
import tlmlib  # noqa: E402

FULL = os.path.join(tlmlib.ROOT, "docs", "ablations", "architecture_full")


def rows_of(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def main():
    norm = rows_of(os.path.join(FULL, "norm", "norm.csv"))
    panels = []
    for lr in sorted({r["lr"] for r in norm}):
        for d in sorted({r["n_layer"] for r in norm}, key=int):
            arms = [(f"{r['norm']}{' (stalled)' if r['stalled'] == 'True' else ''}", {1: float(r["val_loss"])})
                    for r in norm if r["lr"] == lr and r["n_layer"] == d]
            panels.append((f"val loss, {d} layers, lr {float(lr):g}", arms))
    U.plot_arms(os.path.join(FULL, "norm", "norm.png"), panels,
                "Norm placement, one seed (final val loss; the unigram level is 3.347)",
                min_spans=[1.2] * len(panels))
    for sub, label, span in [("rope_base", "val loss (nats/char)", 0.1),
                             ("rope_base_copy", "copy loss (nats/symbol)", 0.1)]:
        rows = rows_of(os.path.join(FULL, sub, "rope_base.csv"))
        arms = [(f"{r['rope_base']}{' (below bound)' if r['above_bound'] == 'False' else ''}",
                 {1: float(r["val_loss"])}) for r in rows]
        U.plot_arms(os.path.join(FULL, sub, "rope_base.png"), [(label, arms)],
                    f"RoPE base at context 256, h = 64, bound {rows[0]['bound']}; one seed",
                    min_spans=[span])
    print("rewrote norm.png, rope_base/rope_base.png, rope_base_copy/rope_base.png", file=sys.stderr)


if __name__ == "__main__":
    main()
