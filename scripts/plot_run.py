#!/usr/bin/python3
"""Plots training runs from their log.jsonl (what `tlm train` appends to out_dir/log.jsonl) to a
PNG: the training loss per step and the evaluated train/val losses above, the learning rate below;
several runs are overlaid, one colour each.

  python3 scripts/plot_run.py out/log.jsonl -o run.png
  python3 scripts/plot_run.py a/log.jsonl b/log.jsonl --labels adamw,lion -o compare.png
  python3 scripts/plot_run.py out -o run.png        # a directory: its log.jsonl

A run resumed after a kill repeats the steps after its last checkpoint; the last record of a step
is the one drawn (the resumed run's). Needs matplotlib (/usr/bin/python3 has it).
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_log(path):
    """{step: record} for the "step" and "eval" records of one log (later records win)."""
    if os.path.isdir(path):
        path = os.path.join(path, "log.jsonl")
    steps, evals = {}, {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a kill
            if r.get("kind") == "step" and r.get("loss") is not None:
                steps[r["step"]] = r
            elif r.get("kind") == "eval":
                evals[r["step"]] = r
    if not steps and not evals:
        sys.exit(f"plot_run: {path} has no step or eval records (is it a tlm log.jsonl?)")
    return steps, evals


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("logs", nargs="+", help="log.jsonl files (or run directories)")
    ap.add_argument("--labels", help="comma-separated names, one per log (default: the paths)")
    ap.add_argument("-o", "--out", required=True, help="PNG file")
    a = ap.parse_args()
    labels = a.labels.split(",") if a.labels else [os.path.dirname(p) or p for p in a.logs]
    if len(labels) != len(a.logs):
        sys.exit(f"plot_run: {len(a.logs)} logs but {len(labels)} labels")
    fig, (ax_loss, ax_lr) = plt.subplots(2, 1, figsize=(8, 6.5), sharex=True,
                                         gridspec_kw={"height_ratios": [3, 1]})
    for i, (path, label) in enumerate(zip(a.logs, labels)):
        steps, evals = read_log(path)
        color = f"C{i}"
        if steps:
            xs = sorted(steps)
            ax_loss.plot(xs, [steps[s]["loss"] for s in xs], color=color, alpha=0.35, lw=0.8,
                         label=f"{label} train (step)")
            ax_lr.plot(xs, [steps[s]["lr"] for s in xs], color=color, label=label)
        if evals:
            xs = sorted(evals)
            ax_loss.plot(xs, [evals[s]["train_loss"] for s in xs], "o--", color=color, ms=3,
                         label=f"{label} train (eval)")
            ax_loss.plot(xs, [evals[s]["val_loss"] for s in xs], "s-", color=color, ms=3,
                         label=f"{label} val")
    ax_loss.set_ylabel("cross-entropy loss")
    ax_loss.grid(alpha=0.3)
    ax_loss.legend(fontsize=8)
    ax_lr.set_ylabel("learning rate")
    ax_lr.set_xlabel("step")
    ax_lr.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
