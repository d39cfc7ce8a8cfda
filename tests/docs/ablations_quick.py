#!/usr/bin/env python3
"""The architecture ablation scripts end to end in their --quick mode (ctest: ablations_quick):
each runs its grid through the real `tlm` binary, and its CSV must hold every row of the grid
with a finite validation loss (and, on the copy task, accuracies in [0, 1]); the extrapolation
rows must have a loss at every evaluated context, the GAU depth must match the MHA model's
parameter count to 15 %, and the RoPE-base run must list the bound of docs/methods.md for h = 64, L = 128
(463.3). A few seconds on 2 idle cores.

  TLM=build/tlm python3 tests/docs/ablations_quick.py --source .
"""
import argparse
import csv
import math
import os
import subprocess
import sys
import tempfile


def rows_of(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def finite(x):
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    args = ap.parse_args()
    scripts = os.path.join(args.source, "scripts")
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)

    with tempfile.TemporaryDirectory() as tmp:
        runs = [("norm", ["ablate_norm.py"], "norm.csv", 6),
                ("gau", ["ablate_gau.py"], "gau.csv", 3),
                ("extrapolation", ["ablate_extrapolation.py"], "extrapolation.csv", 7),
                ("copy", ["ablate_extrapolation.py", "--data", "task:copy"], "extrapolation.csv", 7),
                ("rope_base", ["ablate_rope_base.py"], "rope_base.csv", 4)]
        for name, argv, stem, n_rows in runs:
            out = os.path.join(tmp, name)
            # One thread: the quick models are tiny, and ctest runs other tests beside this one.
            cmd = [sys.executable, os.path.join(scripts, argv[0]), "--quick", "--threads", "1",
                   "--out", out] + argv[1:]
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if p.returncode != 0:
                failures.append(f"{name}: exit {p.returncode}: {p.stderr[-1500:]}")
                continue
            rows = rows_of(os.path.join(out, stem))
            check(len(rows) == n_rows, f"{name}: {len(rows)} rows, expected {n_rows}")
            for r in rows:
                label = r.get("model") or r.get("norm") or r.get("rope_base")
                check(finite(r["val_loss"]), f"{name}/{label}: val_loss {r['val_loss']!r}")
                if name in ("extrapolation", "copy"):
                    lengths = (64,) if r["model"] == "learned_softmax" else (64, 128, 256, 512)
                    for n in lengths:
                        check(finite(r[f"loss@{n}"]), f"{name}/{label}: loss@{n} {r[f'loss@{n}']!r}")
                        if name == "copy":
                            check(0.0 <= float(r[f"acc@{n}"]) <= 1.0, f"{name}/{label}: acc@{n}")
            if name == "norm":
                check({(r["norm"], r["n_layer"]) for r in rows} ==
                      {(n, d) for n in ("pre", "post", "deepnorm") for d in ("4", "16")},
                      f"norm: grid {[(r['norm'], r['n_layer']) for r in rows]}")
            if name == "gau":
                params = {r["model"]: int(r["params"]) for r in rows}
                check(set(params) == {"mha_ffn", "gau_softmax", "gau_relu2"}, f"gau: models {params}")
                # The GAU depth is the one whose parameter count is closest to MHA+FFN's.
                check(abs(params["gau_softmax"] - params["mha_ffn"]) < 0.15 * params["mha_ffn"],
                      f"gau: parameter counts {params}")
            if name == "rope_base":
                bounds = {r["bound"] for r in rows}
                check(bounds == {"463.3"}, f"rope_base: bound {bounds} (h = 64, L = 128: 463.3)")

    for f in failures:
        print("FAIL:", f)
    print(f"ablations_quick: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
