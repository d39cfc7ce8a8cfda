#!/usr/bin/env python3
"""The ablation scripts end to end in their --quick mode (ctest: ablation_quick_<name>, one test
per script): each runs its grid through the real `tlm` binary with one seed and threads=1,
and its files must hold every row of the grid with finite figures, plus checks that could
fail on a wrong result:
  norm, gau, extrapolation, copy  every arm present; GAU depth within 15 % of MHA's parameters
  rope_base   docs/methods.md's bound for h = 32, L = 64 (315), context limits growing with the base
  losses      the reliability rows re-add to the run's token count, mean confidence, accuracy
              and ECE (computed here from the bins, against `tlm eval --metrics`)
  tasks       rare-word labels at <= 1 % prevalence, the regression aux loss on a far scale
  optimizers, precision, tuning   the per-seed summaries with their verdict columns
and the verdict rule of scripts/ablation_util.py passes its synthetic test (ablation_verdict).

  TLM=build/tlm python3 tests/docs/ablations_quick.py --source . --only losses
"""
import argparse
import csv
import math
import os
import subprocess
import sys
import tempfile
import time

SCRIPTS = {  # name -> (script, extra args)
    "norm": ("ablate_norm.py", []),
    "gau": ("ablate_gau.py", []),
    "extrapolation": ("ablate_extrapolation.py", []),
    "copy": ("ablate_extrapolation.py", ["--data", "task:copy"]),
    "rope_base": ("ablate_rope_base.py", []),
    "losses": ("ablate_losses.py", []),
    "tasks": ("ablate_tasks.py", []),
    "optimizers": ("ablate_optimizers.py", ["--workers", "1"]),
    "precision": ("ablate_precision.py", ["--jobs", "1"]),
    "tuning": ("ablate_tuning.py", []),
}
THREADS_ARG = {"norm", "gau", "extrapolation", "copy", "rope_base", "losses", "tasks", "precision", "tuning"}


def rows_of(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def num(x):
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def check_outputs(name, out, check):
    p = lambda f: os.path.join(out, f)  # noqa: E731
    if name == "norm":
        s, runs = rows_of(p("norm.csv")), rows_of(p("norm_runs.csv"))
        check(len(s) == 6, f"norm: {len(s)} arms, expected 6")
        check({(r["norm"], r["n_layer"]) for r in runs} ==
              {(n, d) for n in ("pre", "post", "deepnorm") for d in ("4", "16")},
              f"norm: grid {[(r['norm'], r['n_layer']) for r in runs]}")
        for r in s:
            check(num(r["mean"]) is not None and r["seeds"] == "1", f"norm/{r['arm']}: {r}")
    elif name == "gau":
        s, runs = rows_of(p("gau.csv")), rows_of(p("gau_runs.csv"))
        params = {r["model"]: int(r["params"]) for r in runs}
        check(set(params) == {"mha_ffn", "gau_softmax", "gau_relu2"}, f"gau: models {params}")
        check(abs(params.get("gau_softmax", 0) - params.get("mha_ffn", 1)) < 0.15 * params.get("mha_ffn", 1),
              f"gau: parameter counts {params}")
        check(all(num(r["mean"]) is not None for r in s) and len(s) == 3, f"gau: summary {s}")
    elif name in ("extrapolation", "copy"):
        runs = rows_of(p("extrapolation_runs.csv"))
        check(len(runs) == 7, f"{name}: {len(runs)} runs, expected 7")
        for r in runs:
            for n in (64,) if r["model"] == "learned_softmax" else (64, 128, 256, 512):
                check(num(r[f"loss@{n}"]) is not None, f"{name}/{r['model']}: loss@{n} {r[f'loss@{n}']!r}")
                if name == "copy":
                    a = num(r[f"acc@{n}"])
                    check(a is not None and 0 <= a <= 1, f"{name}/{r['model']}: acc@{n}")
        check(len(rows_of(p("extrapolation.csv"))) >= 7, f"{name}: summary rows")
    elif name == "rope_base":
        runs = rows_of(p("rope_base.csv"))
        check(len(runs) == 4, f"rope_base: {len(runs)} runs, expected 4")
        check({r["bound"] for r in runs} == {"314.7"}, f"rope_base: bound {[r['bound'] for r in runs]} "
              "(docs/methods.md: h = 32, L = 64 -> 315)")
        limits = [int(r["context_limit"]) for r in sorted(runs, key=lambda r: int(r["rope_base"]))]
        # the bases meeting the bound for T/4, 3T/8 and T = 64 reach at least those contexts
        check(limits == sorted(limits) and 16 <= limits[0] < 24 <= limits[1] < 64 <= limits[2],
              f"rope_base: context limits {limits} (expected >= 16, >= 24, >= 64, in order)")
        for r in runs:
            a = num(r["accuracy"])
            check(a is not None and 0 <= a <= 1, f"rope_base/{r['rope_base']}: accuracy {r['accuracy']!r}")
        d = rows_of(p("rope_distance.csv"))
        check(d and all(int(x["count"]) > 0 for x in d), "rope_base: distance bins")
    elif name == "losses":
        runs = rows_of(p("calibration.csv"))
        check([r["arm"] for r in runs] == ["ce", "focal_g1", "focal_g2", "tailr_g0.1", "tailr_g0.8", "emo"],
              f"losses: arms {[r['arm'] for r in runs]}")
        rel = rows_of(p("reliability.csv"))
        for r in runs:
            check(num(r["val_ce"]) is not None and 0 <= num(r["ece"]) <= 1, f"losses/{r['arm']}: {r}")
            bins = [b for b in rel if b["arm"] == r["arm"] and b["seed"] == r["seed"]]
            n = sum(int(b["count"]) for b in bins)
            check(n == int(r["eval_tokens"]) and len(bins) == 15, f"losses/{r['arm']}: bins count {n}")
            full = [b for b in bins if int(b["count"]) > 0]
            conf = sum(float(b["confidence"]) * int(b["count"]) for b in full) / n
            acc = sum(float(b["accuracy"]) * int(b["count"]) for b in full) / n
            ece = sum(int(b["count"]) / n * abs(float(b["accuracy"]) - float(b["confidence"])) for b in full)
            check(abs(conf - float(r["mean_confidence"])) < 1e-6, f"losses/{r['arm']}: confidence {conf}")
            check(abs(acc - float(r["accuracy"])) < 1e-9, f"losses/{r['arm']}: accuracy {acc}")
            check(abs(ece - float(r["ece"])) < 1e-6, f"losses/{r['arm']}: ECE {ece} vs {r['ece']}")
            check(abs(float(r["conf_minus_acc"]) - (conf - acc)) < 1e-6, f"losses/{r['arm']}: conf - acc")
    elif name == "tasks":
        runs = rows_of(p("tasks.csv"))
        parts = [r["part"] for r in runs]
        check(parts.count("multilabel") == 4 and parts.count("imbalance") == 3 and
              parts.count("pairs") == 1 and parts.count("multitask") == 6, f"tasks: parts {parts}")
        for r in runs:
            if r["part"] == "imbalance":
                check(0 < float(r["mean_prevalence"]) <= 0.01, f"tasks/imbalance: prevalence {r['mean_prevalence']}")
                check(num(r["macro_f1"]) is not None, f"tasks/imbalance/{r['variant']}: macro F1")
            if r["part"] == "multitask":
                check(num(r["val_aux_loss"]) is not None and float(r["val_aux_loss"]) > 10,
                      f"tasks/multitask/{r['variant']}: aux loss {r['val_aux_loss']} (squared characters)")
                check(num(r["lm_rel"]) is not None and num(r["aux_rel"]) is not None,
                      f"tasks/multitask/{r['variant']}: relative losses")
            if r["part"] == "pairs":
                check(-1 <= float(r["spearman_untrained"]) <= 1 and -1 <= float(r["spearman"]) <= 1,
                      f"tasks/pairs: {r}")
        labels = rows_of(p("imbalance_labels.csv"))
        check(len(labels) == 64 and all(0 < float(x["train_prevalence"]) <= 0.01 for x in labels),
              f"tasks: {len(labels)} rare-word labels")
    elif name == "optimizers":
        s = rows_of(p("summary.csv"))
        check({r["optimizer"] for r in s} == {"adamw", "lion", "sgd"} and "verdict" in s[0],
              f"optimizers: summary {[r['optimizer'] for r in s]}")
        check(len([f for f in os.listdir(p("drift_tokens")) if f.endswith(".csv")]) == 4, "optimizers: drift tokens")
    elif name == "precision":
        runs, s = rows_of(p("precision.csv")), rows_of(p("precision_summary.csv"))
        check(len(runs) == 4 and all(num(r["val_loss"]) is not None for r in runs), f"precision: {runs}")
        check([r["arm"] for r in s] == ["fp32", "bf16", "fp16_noscale", "fp16_dynamic"], f"precision: {s}")
    elif name == "tuning":
        runs, s = rows_of(p("tuning.csv")), rows_of(p("tuning_summary.csv"))
        check(len(runs) == 4 and all(num(r["val_after"]) is not None for r in runs), f"tuning: {runs}")
        check([r["arm"] for r in s] == ["full", "lora", "lst", "lst_residual"], f"tuning: {s}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--only", action="append", choices=sorted(SCRIPTS) + ["verdict"],
                    help="run only these (repeatable); default: all")
    args = ap.parse_args()
    scripts = os.path.join(args.source, "scripts")
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)

    names = args.only or sorted(SCRIPTS) + ["verdict"]
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            if name == "verdict":
                p = subprocess.run([sys.executable, os.path.join(scripts, "ablation_util.py")],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                check(p.returncode == 0, f"verdict: {p.stdout[-1500:]}")
                continue
            script, extra = SCRIPTS[name]
            out = os.path.join(tmp, name)
            cmd = [sys.executable, os.path.join(scripts, script), "--quick", "--out", out] + extra
            if name in THREADS_ARG:
                cmd += ["--threads", "1"]
            t0 = time.time()
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            print(f"{name}: {time.time() - t0:.0f} s", flush=True)
            if p.returncode != 0:
                failures.append(f"{name}: exit {p.returncode}: {p.stderr[-1500:]}")
                continue
            try:
                check_outputs(name, out, check)
            except (OSError, KeyError, ValueError, TypeError, ZeroDivisionError) as e:
                failures.append(f"{name}: {type(e).__name__}: {e}")
    for f in failures:
        print("FAIL:", f)
    print(f"ablations_quick: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
