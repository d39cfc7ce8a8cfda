#!/usr/bin/env python3
"""Ablation 3: length extrapolation. Train at context 64, evaluate at 64/128/256/512 with
`tlm eval --block_size N --json`: softmax vs relu^2 attention, RoPE vs NoPE vs the HWFA hybrid
(window + RoPE layers under one full NoPE log-n layer), and RoPE + log-n.
docs/methods.md, "Attention weights" and "HWFA".

  /usr/bin/python3 scripts/ablate_extrapolation.py --quick   # 2 layers, 40 steps, short evals, 1 seed
  /usr/bin/python3 scripts/ablate_extrapolation.py           # 4 layers, 1500 steps, 3 seeds
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
        C, L, iters, B, max_tokens, window = 128, 4, 1500, 12, U.WHOLE_SPLIT, 16
    runs = [("rope_softmax", dict(pos="rope")),
            ("rope_relu2", dict(pos="rope", attn="relu2")),
            ("rope_softmax_logn", dict(pos="rope", attn_scale="logn")),
            ("nope_softmax", dict(pos="none")),
            ("nope_relu2", dict(pos="none", attn="relu2")),
            ("hwfa_softmax", dict(pos="rope", layout="hwfa", window=window)),
            ("learned_softmax", dict(pos="learned"))]
    rows, series = [], []
    text = not args.data.startswith(("task:", "probe:"))
    for name, kw in runs:
        curves = []
        for seed in U.seed_list(args.seeds):
            o = U.base(args, n_embd=C, n_layer=L, n_head=2, block_size=64, max_iters=iters,
                       batch_size=B, seed=seed, **kw)
            r = U.final_eval(U.train(f"{name}_s{seed}", o, args.out), 64, args.threads)
            row = dict(model=name, seed=seed, val_loss=r.get("val_loss"))
            curve = []
            for n in LENGTHS:
                if kw["pos"] == "learned" and n > 64:
                    continue  # learned positions cannot run longer
                e = U.eval_at(r["run_dir"], n, max_tokens, args.threads) if not r["failed"] else None
                if e:
                    row[f"loss@{n}"] = e["loss"]
                    if "accuracy" in e:
                        row[f"acc@{n}"] = e["accuracy"]
                    curve.append((n, e["accuracy"] if not text else e["loss"]))
            rows.append(row)
            curves.append(curve)
        series.append((name, curves))
    cols = ["model", "seed", "val_loss"] + [f"loss@{n}" for n in LENGTHS]
    if not text:
        cols += [f"acc@{n}" for n in LENGTHS]
    os.makedirs(args.out, exist_ok=True)
    tlmlib.write_csv(os.path.join(args.out, "extrapolation_runs.csv"), rows, cols)
    names = [n for n, _ in runs]
    summary = []
    for n in LENGTHS:
        metric = f"loss@{n}" if text else f"acc@{n}"
        by = U.arm_summary(rows, "model", metric, names)
        for srow in U.summary_rows({k: v for k, v in by.items() if U.finite_values(v)}, metric,
                                   ref="rope_softmax", lower_is_better=text):
            srow["metric"] = metric
            summary.append(srow)
    U.write_outputs(args.out, "extrapolation", summary, ["metric"] + U.SUMMARY_COLS,
                    "Length extrapolation (trained at 64; over seeds)",
                    "loss@N, acc@N: `tlm eval --block_size N` over "
                    + ("the whole validation split" if max_tokens == U.WHOLE_SPLIT else f"at most {max_tokens} tokens of the validation split")
                    + " (a task: 256 fresh rows)" + f"; hwfa window {window}; seeds {U.seed_list(args.seeds)}; "
                    "diff_vs_ref: paired difference against rope_softmax; per-run rows in extrapolation_runs.csv.")
    U.plot_bands(os.path.join(args.out, "extrapolation.png"), series, "context",
                 "eval loss" if text else "copy accuracy",
                 "eval vs context (trained at 64; band: min–max over seeds)", logx=True)


if __name__ == "__main__":
    main()
