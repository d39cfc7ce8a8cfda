#!/usr/bin/env python3
"""Ablation 4: RoPE base at a fixed context against the lower bound of "Base of RoPE Bounds
Context Length" (arXiv:2405.14591; `tlm rope-bound`; docs/methods.md, "RoPE base bound"). Head size 64.

  /usr/bin/python3 scripts/ablate_rope_base.py --quick   # context 128, 40 steps
  /usr/bin/python3 scripts/ablate_rope_base.py           # context 256, 1500 steps
"""
import json
import math
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ablation_util as U  # noqa: E402
import tlmlib  # noqa: E402


def main():
    args = U.parse_args(__doc__, "out/ablations/rope_base")
    tlmlib.ensure_built()
    if args.quick:
        C, H, L, T, iters, B = 64, 1, 1, 128, 40, 4
    else:
        C, H, L, T, iters, B = 128, 2, 4, 256, 1500, 12
    h = C // H
    bound = json.loads(subprocess.run([tlmlib.TLM, "rope-bound", "--context", str(T), "--head_size",
                                       str(h)], stdout=subprocess.PIPE, text=True,
                                      check=True).stdout)["rope_base_lower_bound"]
    bases = [100, 300, math.ceil(bound), 10000]  # ceil: the bound itself passes
    rows = []
    for b in bases:
        o = U.base(args, n_embd=C, n_head=H, n_layer=L, block_size=T, max_iters=iters, pos="rope",
                   rope_base=b, batch_size=B)
        r = U.train(f"base_{b}", o, args.out)
        rows.append(dict(rope_base=b, bound=round(bound, 1), above_bound=b >= bound,
                         val_loss=r.get("val_loss"), train_loss=r.get("train_loss"),
                         wall_s=r["wall_s"]))
    U.write_outputs(args.out, "rope_base", rows,
                    ["rope_base", "bound", "above_bound", "train_loss", "val_loss", "wall_s"],
                    f"RoPE base at context {T}, head size {h}",
                    "bound = `tlm rope-bound` (Su's coarse-to-fine scan of sum cos(m theta_i) >= 0).")
    tlmlib.plot_curves(os.path.join(args.out, "rope_base.png"),
                       [("val loss", [dict(b=r["rope_base"], v=r["val_loss"]) for r in rows])],
                       "b", "v", f"val loss vs RoPE base (bound {bound:.0f})", "base", "val loss",
                       logx=True)


if __name__ == "__main__":
    main()
