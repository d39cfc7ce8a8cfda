#!/usr/bin/python3
"""Plots the CSVs `tlm diag` writes (the kind is read from the header) to a PNG.

  python3 scripts/plot_diag.py grads_pre.csv grads_post.csv grads_deepnorm.csv \
      --labels pre,post,deepnorm -o grads.png     # one row per run: |g| and |dθ|/|θ| per block
  python3 scripts/plot_diag.py entropy.csv -o entropy.png     # per layer: H vs n, and log n
  python3 scripts/plot_diag.py cost.csv -o cost.png           # params and FLOPs by component
  python3 scripts/plot_diag.py unargmax.csv -o unargmax.png   # margin per token, unargmaxable in red
  python3 scripts/plot_diag.py lion.csv adamw.csv --labels lion,adamw -o drift.png
      # embedding rows: mean |w| and std/mean of |w| against the token's count (Lion's drift)

Needs matplotlib (/usr/bin/python3 has it); no other dependency.
"""
import argparse
import csv
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DPI = 110


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"plot_diag: {path} has no rows")
    return rows


def kind(rows):
    keys = set(rows[0])
    for k, need in [("grads", "update_ratio"), ("entropy", "entropy_last"),
                    ("cost", "flops_per_token"), ("unargmax", "status"),
                    ("embedding", "abs_cv")]:
        if need in keys:
            return k
    sys.exit(f"plot_diag: unknown CSV columns {sorted(keys)}")


def block_order(g):
    if g == "embed":
        return -1
    if g.startswith("h."):
        return int(g[2:])
    return 10**9


def plot_grads(runs, labels, out):
    fig, axes = plt.subplots(len(runs), 2, figsize=(11, 3.2 * len(runs)), squeeze=False,
                             sharex=True)
    for r, (rows, label) in enumerate(zip(runs, labels)):
        groups = sorted({x["group"] for x in rows}, key=block_order)
        cmap = plt.get_cmap("viridis")
        for i, g in enumerate(groups):
            sel = [x for x in rows if x["group"] == g]
            steps = [int(x["step"]) for x in sel]
            color = cmap(i / max(1, len(groups) - 1))
            axes[r][0].plot(steps, [float(x["grad_norm"]) for x in sel], color=color, label=g)
            axes[r][1].plot(steps, [float(x["update_ratio"]) for x in sel], color=color, label=g)
        axes[r][0].set_ylabel(f"{label}\n|g| (before clipping)")
        axes[r][1].set_ylabel("|Δθ| / |θ|")
        for ax in axes[r]:
            ax.set_yscale("log")
            ax.grid(alpha=0.3)
        if len(groups) <= 14:
            axes[r][1].legend(fontsize=7, ncol=2)
    axes[-1][0].set_xlabel("step")
    axes[-1][1].set_xlabel("step")
    fig.suptitle("per-block gradient and relative update (DeepNet's increment view)")
    fig.tight_layout()
    fig.savefig(out, dpi=DPI)


def plot_entropy(rows, out):
    layers = sorted({int(x["layer"]) for x in rows})
    fig, axes = plt.subplots(1, len(layers), figsize=(4 * len(layers), 3.4), squeeze=False,
                             sharey=True)
    for li, layer in enumerate(layers):
        ax = axes[0][li]
        sel = [x for x in rows if int(x["layer"]) == layer]
        for head in sorted({int(x["head"]) for x in sel}):
            h = sorted((int(x["length"]), float(x["entropy_last"])) for x in sel if int(x["head"]) == head)
            ax.plot([a for a, _ in h], [b for _, b in h], marker="o", label=f"head {head}")
        n = sorted({int(x["length"]) for x in sel})
        ax.plot(n, [math.log(v) for v in n], "k--", label="log n (uniform)")
        ax.set_xscale("log", base=2)
        ax.set_title(f"layer {layer}")
        ax.set_xlabel("context length n")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("entropy of the last query row (nats)")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=DPI)


def plot_cost(rows, out):
    names = [x["component"] for x in rows]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    axes[0].bar(names, [int(x["params"]) for x in rows])
    axes[0].set_title("parameters")
    axes[1].bar(names, [float(x["flops_per_token"]) for x in rows])
    axes[1].set_title("training FLOPs per token")
    for ax in axes:
        ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    fig.savefig(out, dpi=DPI)


def plot_unargmax(rows, out):
    fig, ax = plt.subplots(figsize=(9, 3.4))
    colors = {"argmaxable": "tab:blue", "unargmaxable": "tab:red", "undecided": "tab:orange"}
    for status, color in colors.items():
        sel = [x for x in rows if x["status"] == status]
        if not sel:
            continue
        ys = [float(x["margin"]) if status == "argmaxable" else 0.0 for x in sel]
        ax.scatter([int(x["token"]) for x in sel], ys, s=12, color=color,
                   label=f"{status} ({len(sel)})")
    ax.set_xlabel("token id")
    ax.set_ylabel("witness margin z_k - max z_i")
    ax.set_title("argmaxable tokens of the LM head (0 = no witness)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=DPI)


def plot_embedding(runs, labels, out):
    """Per input-embedding row against its token's count in the training text (+1, log axis):
    mean |w| (a Lion row with stale momentum grows by lr per step towards 1/weight_decay) and
    std/mean of |w| (~0.76 for a Gaussian row, -> 0 for a row that moved the same in every
    coordinate)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for rows, label in zip(runs, labels):
        xs = [int(x["count"]) + 1 for x in rows]
        axes[0].scatter(xs, [float(x["mean_abs"]) for x in rows], s=12, label=label)
        axes[1].scatter(xs, [float(x["abs_cv"]) for x in rows], s=12, label=label)
    axes[0].set_ylabel("mean |w| of the row")
    axes[1].set_ylabel("std |w| / mean |w|")
    axes[1].axhline(math.sqrt(math.pi / 2 - 1), color="gray", ls="--", lw=0.8)
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("token count in the training text + 1")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_title("input embedding rows by token frequency")
    axes[1].set_title("flatness (dashed: Gaussian row)")
    fig.tight_layout()
    fig.savefig(out, dpi=DPI)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv", nargs="+")
    ap.add_argument("-o", "--out")
    ap.add_argument("--labels", help="comma-separated names of the runs (grads, embedding)")
    ap.add_argument("--dpi", type=int, default=110)
    a = ap.parse_args()
    global DPI
    DPI = a.dpi
    runs = [read(p) for p in a.csv]
    kinds = {kind(r) for r in runs}
    if len(kinds) != 1:
        sys.exit(f"plot_diag: mixed CSV kinds {sorted(kinds)}")
    k = kinds.pop()
    out = a.out or os.path.splitext(a.csv[0])[0] + ".png"
    labels = a.labels.split(",") if a.labels else [os.path.basename(p) for p in a.csv]
    if k == "grads":
        plot_grads(runs, labels, out)
    elif k == "embedding":
        plot_embedding(runs, labels, out)
    elif len(runs) > 1:
        sys.exit(f"plot_diag: one {k} CSV at a time")
    elif k == "entropy":
        plot_entropy(runs[0], out)
    elif k == "cost":
        plot_cost(runs[0], out)
    else:
        plot_unargmax(runs[0], out)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
