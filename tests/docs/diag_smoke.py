#!/usr/bin/env python3
"""`tlm diag` end to end (ctest: diag_smoke): every subcommand writes its CSV, prints its JSON
line, and scripts/plot_diag.py turns each CSV into a non-empty PNG. Known answers: Su's 2-D head
has exactly token 4 unargmaxable; the cost components sum to the model's FLOPs per token; the
embedding table has one row per token.

  python3 tests/docs/diag_smoke.py --tlm build/tlm --source .
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

TINY = ["n_layer=2", "n_head=2", "n_embd=16", "block_size=16", "batch_size=2", "threads=1",
        "eval_iters=1", "warmup_iters=0"]


def sets(extra=()):
    out = []
    for kv in TINY + list(extra):
        out += ["--set", kv]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tlm", required=True)
    ap.add_argument("--source", required=True)
    a = ap.parse_args()
    plot = os.path.join(a.source, "scripts", "plot_diag.py")

    def tlm(*args):
        r = subprocess.run([a.tlm, *args], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"tlm {' '.join(args)} failed ({r.returncode}):\n{r.stderr}")
        return json.loads(r.stdout.strip().splitlines()[-1])

    def png(*csvs, extra=()):
        out = os.path.splitext(csvs[0])[0] + ".png"
        subprocess.run([sys.executable, plot, *csvs, "-o", out, *extra], check=True,
                       capture_output=True)
        assert os.path.getsize(out) > 1000, out
        return out

    with tempfile.TemporaryDirectory() as d:
        j = tlm("diag", "cost", *sets(), "--out", f"{d}/cost.csv")
        total = sum(c["flops_per_token"] for c in j["components"].values())
        assert abs(total - j["flops_per_token"]) <= 1e-9 * j["flops_per_token"], j
        png(f"{d}/cost.csv")

        j = tlm("diag", "unargmax", "--demo", "su2d", "--out", f"{d}/su.csv")
        assert j["unargmaxable"] == [4] and j["undecided"] == [], j
        png(f"{d}/su.csv")

        runs = []
        for norm in ["pre", "post", "deepnorm"]:
            tlm("diag", "grads", *sets([f"norm={norm}"]), "--steps", "3", "--out", f"{d}/g_{norm}.csv")
            runs.append(f"{d}/g_{norm}.csv")
        png(*runs, extra=["--labels", "pre,post,deepnorm"])

        tlm("train", *sets(["max_iters=2", f"out_dir={d}/run"]))
        ckpt = f"{d}/run/ckpt.bin"
        j = tlm("diag", "entropy", "--ckpt", ckpt, "--lengths", "4,8,16", "--batches", "2",
                "--out", f"{d}/entropy.csv")
        assert j["rows"] == 3 * 2 * 2, j
        png(f"{d}/entropy.csv")
        j = tlm("diag", "unargmax", "--ckpt", ckpt, "--out", f"{d}/head.csv")
        assert j["dim"] == 16 and j["undecided"] == [], j
        png(f"{d}/head.csv")
        j = tlm("diag", "embedding", "--ckpt", ckpt, "--out", f"{d}/emb.csv")
        assert j["vocab_size"] == len(open(f"{d}/emb.csv").readlines()) - 1, j
        assert j["optimizer"] == "adamw" and j["weight_decay"] == 0.1, j
        assert abs(j["inv_weight_decay"] - 10.0) < 1e-12 and j["tied"], j
        png(f"{d}/emb.csv", f"{d}/emb.csv", extra=["--labels", "a,b"])
        j = tlm("diag", "cost", "--ckpt", ckpt, "--out", f"{d}/cost2.csv")
        assert j["params"] == sum(c["params"] for c in j["components"].values()), j

        # A full disk: the CSV and stdout writes fail, and so does the command (non-zero exit).
        r = subprocess.run([a.tlm, "diag", "cost", *sets(), "--out", "/dev/full"],
                           capture_output=True, text=True)
        assert r.returncode == 1 and "diag: cannot write /dev/full" in r.stderr, r
        with open("/dev/full", "w") as full:
            r = subprocess.run([a.tlm, "info"], stdout=full, stderr=subprocess.PIPE, text=True)
        assert r.returncode == 1 and "cannot write the output to stdout" in r.stderr, r

        # scripts/plot_run.py: loss and learning-rate curves of one run, and of two overlaid.
        tlm("train", *sets(["max_iters=6", "eval_interval=3", f"out_dir={d}/run2"]))
        plot_run = os.path.join(a.source, "scripts", "plot_run.py")
        for logs in ([f"{d}/run2/log.jsonl"], [f"{d}/run/log.jsonl", f"{d}/run2"]):
            out = f"{d}/curves{len(logs)}.png"
            subprocess.run([sys.executable, plot_run, *logs, "-o", out], check=True, capture_output=True)
            assert os.path.getsize(out) > 1000, out
    print("diag smoke ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
