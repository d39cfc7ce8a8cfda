#!/usr/bin/env python3
"""Ablation 3: length extrapolation. Train at context 64, evaluate at 64/128/256/512 with
`tlm eval --block_size N --json`: softmax vs relu^2 attention, RoPE vs NoPE vs the HWFA hybrid
(window + RoPE layers under one full NoPE log-n layer), and RoPE + log-n.
docs/methods.md, "Attention weights" and "HWFA".

  /usr/bin/python3 scripts/ablate_extrapolation.py --quick   # 2 layers, 40 steps, short evals
  /usr/bin/python3 scripts/ablate_extrapolation.py           # 4 layers, 1500 steps
  /usr/bin/python3 scripts/ablate_extrapolation.py --data task:copy   # the copy task (+ accuracy)
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ablation_util as U  # noqa: E402
import tlmlib  # noqa: E402

LENGTHS = (64, 128, 256, 512)


def main():
    args = U.parse_args(__doc__, "out/ablations/extrapolation")
    tlmlib.ensure_built()
    if args.quick:
        C, L, iters, B, max_tokens, window = 32, 2, 40, 4, 2048, 16
    else:
        C, L, iters, B, max_tokens, window = 128, 4, 1500, 12, 32768, 16
    runs = [("rope_softmax", dict(pos="rope")),
            ("rope_relu2", dict(pos="rope", attn="relu2")),
            ("rope_softmax_logn", dict(pos="rope", attn_scale="logn")),
            ("nope_softmax", dict(pos="none")),
            ("nope_relu2", dict(pos="none", attn="relu2")),
            ("hwfa_softmax", dict(pos="rope", layout="hwfa", window=window)),
            ("learned_softmax", dict(pos="learned"))]
    rows, series = [], []
    for name, kw in runs:
        o = U.base(args, n_embd=C, n_layer=L, n_head=2, block_size=64, max_iters=iters,
                   batch_size=B, **kw)
        r = U.train(name, o, args.out)
        row = dict(model=name, val_loss=r.get("val_loss"))
        curve = []
        for n in LENGTHS:
            if kw["pos"] == "learned" and n > 64:
                continue  # learned positions cannot run longer
            e = U.eval_at(r["run_dir"], n, max_tokens, args.threads)
            if e:
                row[f"loss@{n}"] = e["loss"]
                if "accuracy" in e:
                    row[f"acc@{n}"] = e["accuracy"]
                curve.append(dict(n=n, loss=e["loss"]))
        rows.append(row)
        series.append((name, curve))
    cols = ["model", "val_loss"] + [f"loss@{n}" for n in LENGTHS]
    if args.data.startswith(("task:", "probe:")):
        cols += [f"acc@{n}" for n in LENGTHS]
    U.write_outputs(args.out, "extrapolation", rows, cols,
                    "Length extrapolation (trained at 64)",
                    f"loss@N, acc@N: `tlm eval --block_size N` over the val split (a task: fresh batches), at most {max_tokens} "
                    f"tokens; hwfa window {window}; seed 1337.")
    tlmlib.plot_curves(os.path.join(args.out, "extrapolation.png"), series, "n", "loss",
                       "eval loss vs context (trained at 64)", "context", "loss")


if __name__ == "__main__":
    main()
