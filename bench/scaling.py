#!/usr/bin/env python3
"""How step time and memory grow (issue 8): with depth, with batch size, with context length.

  /usr/bin/python3 bench/scaling.py [--iters 6] [--out build/scaling]

Each point is one `tlm train` run (threads = 2, no evaluation, no checkpoint) on tiny
Shakespeare; its final JSON line gives the median ms per step, `peak_bytes` (the tensor
allocator's peak) and `activation_bytes` (what one forward pass keeps for backward).

  depth    n_layer 1 .. 200 at width 64 (4 heads, context 64, batch 12)
  batch    batch_size 4 .. 64 at the default 4 x 128 model
  context  block_size 256 .. 2048 at 2 x 64, batch 1, attn_kernel fused and composed

For depth and batch it fits y = a + b x by least squares and prints each point's deviation
from the line (linear growth: small deviations, and y(2x) - a = 2 (y(x) - a)). For context
it prints activation bytes per token: flat when attention memory is linear in T (fused), rising
with T when the [T, T] scores are stored (composed).
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import tlmlib  # noqa: E402


def run(overrides, out_dir, iters):
    base = dict(data=tlmlib.SHAKESPEARE, max_iters=iters, lr_decay_iters=iters, warmup_iters=1,
                eval_iters=0, eval_interval=0, ckpt_interval=0, log_interval=1000, threads=2)
    base.update(overrides)
    args = [tlmlib.TLM, "train"]
    for k, v in base.items():
        args += ["--set", f"{k}={v}"]
    args += ["--set", f"out_dir={out_dir}", "--overwrite"]
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"tlm failed ({' '.join(args)}):\n{p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def fit(xs, ys):
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return my - b * mx, b


def linear_table(name, xs, rows, keys):
    print(f"\n## {name}\n")
    print(f"| {name} | " + " | ".join(f"{k} | fit dev." for k in keys) + " |")
    print("|---|" + "---|---|" * len(keys))
    fits = {k: fit(xs, [r[k] for r in rows]) for k in keys}
    for x, r in zip(xs, rows):
        cells = []
        for k in keys:
            a, b = fits[k]
            pred = a + b * x
            cells.append(f"{r[k]:.4g} | {100 * (r[k] - pred) / pred:+.1f}%")
        print(f"| {x} | " + " | ".join(cells) + " |")
    for k in keys:
        a, b = fits[k]
        print(f"\n{k}: fit {a:.4g} + {b:.4g} x")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=6)
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "scaling"))
    args = ap.parse_args()
    tlmlib.ensure_built()
    os.makedirs(args.out, exist_ok=True)
    results = {}

    depths = [1, 25, 50, 100, 200]
    rows = []
    for L in depths:
        r = run(dict(n_layer=L, n_embd=64, n_head=4), os.path.join(args.out, f"depth{L}"), args.iters)
        rows.append(dict(ms=r["ms_per_iter"], peak_MB=r["peak_bytes"] / 2**20,
                         act_MB=r["activation_bytes"] / 2**20))
        print(f"depth {L}: {rows[-1]}", file=sys.stderr)
    results["depth"] = list(zip(depths, rows))
    linear_table("n_layer", depths, rows, ["ms", "peak_MB", "act_MB"])

    batches = [4, 8, 16, 32, 64]
    rows = []
    for B in batches:
        r = run(dict(batch_size=B), os.path.join(args.out, f"batch{B}"), args.iters)
        rows.append(dict(ms=r["ms_per_iter"], peak_MB=r["peak_bytes"] / 2**20,
                         act_MB=r["activation_bytes"] / 2**20))
        print(f"batch {B}: {rows[-1]}", file=sys.stderr)
    results["batch"] = list(zip(batches, rows))
    linear_table("batch_size", batches, rows, ["ms", "peak_MB", "act_MB"])

    print("\n## block_size (2 x 64, batch 1): activation bytes per token\n")
    print("| block_size | fused act. MB | fused B/token | composed act. MB | composed B/token | fused ms | composed ms |")
    print("|---|---|---|---|---|---|---|")
    ctx = []
    for T in [256, 512, 1024, 2048]:
        row = {}
        for kernel in ("fused", "composed"):
            r = run(dict(n_layer=2, n_embd=64, n_head=4, block_size=T, batch_size=1,
                         attn_kernel=kernel), os.path.join(args.out, f"ctx{T}{kernel}"), args.iters)
            row[kernel] = r
        f, c = row["fused"], row["composed"]
        print(f"| {T} | {f['activation_bytes'] / 2**20:.2f} | {f['activation_bytes'] / T:.0f} | "
              f"{c['activation_bytes'] / 2**20:.2f} | {c['activation_bytes'] / T:.0f} | "
              f"{f['ms_per_iter']:.1f} | {c['ms_per_iter']:.1f} |")
        ctx.append(dict(T=T, fused=f["activation_bytes"], composed=c["activation_bytes"],
                        fused_ms=f["ms_per_iter"], composed_ms=c["ms_per_iter"]))
    results["context"] = ctx
    with open(os.path.join(args.out, "scaling.json"), "w") as fh:
        json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
