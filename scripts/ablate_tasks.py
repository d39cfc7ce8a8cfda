#!/usr/bin/python3
"""Ablation of the task losses and multi-task weighting (docs/methods.md) with
`tlm task` on tiny Shakespeare lines (train/tasks/tasks.h documents the labels), with seeds.

  multilabel  8 word-group labels per line (moderate imbalance, 3.6-38 % prevalence): ZLPR,
              soft ZLPR, R-Drop, per-label sigmoid BCE; held-out micro/macro F1 at score 0
  imbalance   64 rare-word labels (each in <= 1 % of the lines, `--labels rare_words`): ZLPR vs
              per-label sigmoid BCE vs BCE with positive weight n_neg/n_pos (bce_weighted)
  pairs       graded word-overlap pairs: CoSENT; held-out Spearman before (step 0) and after
  multitask   LM + a regression head on a far scale (`--aux line_end`: characters to the next
              newline, squared error ~10^2 against the LM's ~4 nats, not saturated): fixed
              weights, realtime, uncertainty, gradnorm, mgda, main_aux; per-task held-out loss
              relative to its step-0 value over training

Every arm runs with seeds 1337.. (`--seeds`, default 3; --quick 1); a seed sets init and
batches, so arms are paired by seed. Held-out figures: the whole held-out split (2,528 lines)
for the classification tasks; 100 batches for lm_aux (eval_iters).

  /usr/bin/python3 scripts/ablate_tasks.py --quick                      # < 3 min on 2 cores
  /usr/bin/python3 scripts/ablate_tasks.py --part imbalance             # 3 seeds
  /usr/bin/python3 scripts/ablate_tasks.py --part multitask
  /usr/bin/python3 scripts/ablate_tasks.py --part imbalance --n_embd 128 --cls_iters 1500  # larger trunk

Writes <out>/tasks.csv (per run), tasks_summary.csv, tasks.md, multitask_curves.csv and
the plots multilabel.png, imbalance.png, multitask.png.
"""
import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ablation_util as U  # noqa: E402
import tlmlib  # noqa: E402

ML_LOSSES = ["zlpr", "soft_zlpr", "rdrop", "bce"]
IMB_LOSSES = ["zlpr", "bce", "bce_weighted"]
WEIGHTINGS = ["fixed", "realtime", "uncertainty", "gradnorm", "mgda", "main_aux"]
ALL_EXAMPLES = 1 << 20  # --eval_examples: the whole held-out split
COLS = ["part", "variant", "seed", "micro_f1", "macro_f1", "exact_match", "val_zlpr",
        "spearman_untrained", "spearman", "val_lm_loss", "val_aux_loss", "val_aux_r2",
        "val_aux_accuracy", "lm_rel", "aux_rel", "imbalance", "alpha_lm", "lambda_aux",
        "log_var", "mean_prevalence", "wall_s", "failed"]


def run_task(args, sets, out_dir, log_path, eval_examples):
    cmd = ["task"] + args + ["--eval_examples", str(eval_examples)]
    for k, v in dict(sets, out_dir=out_dir).items():
        cmd += ["--set", f"{k}={v}"]
    r = tlmlib.run_in_dir(cmd, out_dir, log_path)
    r["log"] = tlmlib.read_log(os.path.join(out_dir, "task_log.jsonl"))
    return r


def evals(r):
    return [x for x in r["log"] if x.get("kind") == "eval"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    U.add_seed_args(ap)
    ap.add_argument("--part", default="all", choices=["all", "multilabel", "imbalance", "pairs", "multitask"])
    ap.add_argument("--out", default=None)
    ap.add_argument("--n_embd", type=int, default=None,
                    help="width of the trunk (default 64; --quick 32), e.g. 128 for a larger trunk")
    ap.add_argument("--cls_iters", type=int, default=None,
                    help="steps of the classification parts (default 600; --quick 40)")
    ap.add_argument("--continue_runs", action="store_true",
                    help="keep the runs already in <out>/tasks.csv; run only the missing ones")
    ap.add_argument("--report_only", action="store_true",
                    help="no training: the tables and plots from <out>/tasks.csv and the runs' logs")
    a = U.finish_args(ap.parse_args())
    U._selftest()
    tlmlib.ensure_built()
    out = a.out or os.path.join(tlmlib.ROOT, "out", "ablations", "tasks" + ("_quick" if a.quick else ""))
    runs = os.path.join(out, "runs")
    os.makedirs(runs, exist_ok=True)
    size = (dict(n_layer=1, n_head=4, n_embd=32, block_size=48, batch_size=16)
            if a.quick else dict(n_layer=2, n_head=4, n_embd=64, block_size=64, batch_size=32))
    loop = dict(learning_rate=2e-3, min_lr=2e-4, warmup_iters=20, data=tlmlib.SHAKESPEARE,
                log_interval=1000, threads=a.threads)
    if a.n_embd:
        size["n_embd"] = a.n_embd
    cls_iters = a.cls_iters or (40 if a.quick else 600)
    mt_iters = 40 if a.quick else 600
    ev = 256 if a.quick else ALL_EXAMPLES
    seeds = U.seed_list(a.seeds)
    parts = ["multilabel", "imbalance", "pairs", "multitask"] if a.part == "all" else [a.part]
    rows, curves = [], []
    if a.report_only or (a.continue_runs and os.path.exists(os.path.join(out, "tasks.csv"))):
        rows, curves = saved(out, runs)
    if a.report_only:
        parts = [p for p in parts if any(r["part"] == p for r in rows)]
    done = {(r["part"], r["variant"], r["seed"]) for r in rows}

    def cls_sets(seed, extra=None):
        s = dict(size, **loop, seed=seed, max_iters=cls_iters, lr_decay_iters=cls_iters,
                 eval_interval=max(10, cls_iters // 4))
        s.update(extra or {})
        return s

    def save():
        tlmlib.write_csv(os.path.join(out, "tasks.csv"), rows, COLS)

    for part in [] if a.report_only else parts:
        for seed in seeds:
            if part in ("multilabel", "imbalance"):
                for loss in (ML_LOSSES if part == "multilabel" else IMB_LOSSES):
                    if (part, loss, seed) in done:
                        continue
                    extra = {"dropout": 0.1} if loss == "rdrop" else {}
                    d = os.path.join(runs, f"{part}_{loss}_s{seed}")
                    argv = ["--task", "multilabel", "--loss", loss]
                    if part == "imbalance":
                        argv += ["--labels", "rare_words"]
                    r = run_task(argv, cls_sets(seed, extra), d, d + ".log", ev)
                    prev = r.get("train_prevalence") or []
                    rows.append(dict(part=part, variant=loss, seed=seed, micro_f1=r.get("micro_f1"),
                                     macro_f1=r.get("macro_f1"), exact_match=r.get("exact_match"),
                                     val_zlpr=r.get("val_zlpr"),
                                     mean_prevalence=sum(prev) / len(prev) if prev else None,
                                     wall_s=r["wall_s"], failed=r["failed"]))
                    if part == "imbalance" and r.get("label_words") and seed == seeds[0]:
                        with open(os.path.join(out, "imbalance_labels.csv"), "w") as f:
                            f.write("word,train_prevalence\n")
                            for w, p in zip(r["label_words"], prev):
                                f.write(f"{w},{p:.6f}\n")
                    curves.append((part, loss, seed, [(x["step"], x.get("micro_f1")) for x in evals(r)]))
                    print(rows[-1], file=sys.stderr, flush=True)
                    save()
            elif part == "pairs":
                if ("pairs", "cosent", seed) in done:
                    continue
                d = os.path.join(runs, f"pairs_cosent_s{seed}")
                r = run_task(["--task", "pairs", "--loss", "cosent"], cls_sets(seed), d, d + ".log", ev)
                e = evals(r)
                rows.append(dict(part="pairs", variant="cosent", seed=seed,
                                 spearman_untrained=e[0].get("spearman") if e else None,
                                 spearman=r.get("spearman"), wall_s=r["wall_s"], failed=r["failed"]))
                print(rows[-1], file=sys.stderr, flush=True)
                save()
            else:
                for w in WEIGHTINGS:
                    if ("multitask", w, seed) in done:
                        continue
                    d = os.path.join(runs, f"multitask_{w}_s{seed}")
                    s = dict(size, **loop, seed=seed, max_iters=mt_iters, lr_decay_iters=mt_iters,
                             eval_iters=4 if a.quick else 100, eval_interval=max(10, mt_iters // 4),
                             batch_size=8 if a.quick else 12)
                    r = run_task(["--task", "lm_aux", "--aux", "line_end", "--weighting", w], s, d,
                                 d + ".log", ev)
                    e = evals(r)
                    row = dict(part="multitask", variant=w, seed=seed, val_lm_loss=r.get("val_lm_loss"),
                               val_aux_loss=r.get("val_aux_loss"), val_aux_r2=r.get("val_aux_r2"),
                               wall_s=r["wall_s"], failed=r["failed"])
                    if e and not r["failed"]:
                        row["lm_rel"] = e[-1]["val_lm_loss"] / e[0]["val_lm_loss"]
                        row["aux_rel"] = e[-1]["val_aux_loss"] / e[0]["val_aux_loss"]
                        # how unevenly the two tasks progressed: |log(lm_rel / aux_rel)|
                        row["imbalance"] = abs(math.log(row["lm_rel"] / row["aux_rel"]))
                        for x in e:
                            curves.append(("multitask", w, seed, x["step"], x["val_lm_loss"] / e[0]["val_lm_loss"],
                                           x["val_aux_loss"] / e[0]["val_aux_loss"], x["val_lm_loss"],
                                           x["val_aux_loss"]))
                    steps = [x for x in r["log"] if x.get("kind") == "step"][-20:]
                    for key in ("alpha_lm", "lambda_aux"):
                        vals = [x[key] for x in steps if key in x]
                        if vals:
                            row[key] = sum(vals) / len(vals)
                    if "log_var" in r:
                        row["log_var"] = " ".join(f"{v:.3f}" for v in r["log_var"])
                    rows.append(row)
                    print(rows[-1], file=sys.stderr, flush=True)
                    save()
    if not a.report_only:
        save()
    mt_curves = [c for c in curves if c[0] == "multitask"]
    tlmlib.write_csv(os.path.join(out, "multitask_curves.csv"),
                     [dict(weighting=c[1], seed=c[2], step=c[3], lm_rel=c[4], aux_rel=c[5],
                           val_lm_loss=c[6], val_aux_loss=c[7]) for c in mt_curves],
                     ["weighting", "seed", "step", "lm_rel", "aux_rel", "val_lm_loss", "val_aux_loss"])
    report(a, out, rows, curves, size, cls_iters, mt_iters, parts)


def saved(out, runs):
    """Rows of <out>/tasks.csv (numbers parsed) and the multitask curves from the runs' logs."""
    rows = tlmlib.read_csv(os.path.join(out, "tasks.csv"), text_columns=("part", "variant", "log_var"))
    for r in rows:
        if r.get("log_var") == "":
            r["log_var"] = None
    curves = []
    for r in rows:
        if r["part"] != "multitask":
            continue
        log = tlmlib.read_log(os.path.join(runs, f"multitask_{r['variant']}_s{r['seed']}", "task_log.jsonl"))
        e = [x for x in log if x.get("kind") == "eval"]
        for x in e:
            curves.append(("multitask", r["variant"], r["seed"], x["step"], x["val_lm_loss"] / e[0]["val_lm_loss"],
                           x["val_aux_loss"] / e[0]["val_aux_loss"], x["val_lm_loss"], x["val_aux_loss"]))
    return rows, curves


SECTIONS = {  # part -> [(metric, label, lower_is_better, reference arm)]
    "multilabel": [("micro_f1", "micro F1", False, "zlpr"), ("macro_f1", "macro F1", False, "zlpr")],
    "imbalance": [("micro_f1", "micro F1", False, "zlpr"), ("macro_f1", "macro F1", False, "zlpr")],
    "pairs": [("spearman_untrained", "Spearman, untrained (step 0)", False, None),
              ("spearman", "Spearman, trained", False, None)],
    "multitask": [("imbalance", "|log(lm_rel / aux_rel)| (0 = both tasks at the same share of their start)", True, "fixed"),
                  ("lm_rel", "LM loss / its step-0 value", True, "fixed"),
                  ("aux_rel", "aux loss / its step-0 value", True, "fixed"),
                  ("val_lm_loss", "held-out LM CE", True, "fixed"),
                  ("val_aux_r2", "aux R^2", False, "fixed")],
}


def report(a, out, rows, curves, size, cls_iters, mt_iters, parts):
    cmd = "/usr/bin/python3 scripts/ablate_tasks.py" + (" --quick" if a.quick else "") + (
        f" --part {a.part}" if a.part != "all" else "") + (
        f" --seeds {a.seeds}" if a.seeds != (1 if a.quick else 3) else "")
    summary, text = [], []
    for part in parts:
        pr = [r for r in rows if r["part"] == part]
        arms = list(dict.fromkeys(r["variant"] for r in pr))
        if not pr:
            continue
        text.append(f"## {part}\n")
        for metric, label, lower, ref in SECTIONS[part]:
            by = U.arm_summary(pr, "variant", metric, arms)
            srows = U.summary_rows(by, metric, ref=ref, lower_is_better=lower)
            for s in srows:
                s.update(part=part, metric=metric)
            summary += srows
            text.append(f"{label} (`{metric}`):\n\n| arm | mean ± std [min–max] | vs {ref or '-'} (paired) | verdict |\n|---|---|---|---|")
            for s in srows:
                d = "" if s.get("diff_vs_ref") is None else f"{s['diff_vs_ref']:+.4f} ± {s['diff_std'] or 0:.4f}"
                text.append(f"| {s['arm']} | {U.fmt_stats(by[s['arm']])} | {d} | {s.get('verdict', '(reference)')} |")
            text.append("")
        if part == "imbalance":
            prev = [r["mean_prevalence"] for r in pr if r.get("mean_prevalence") is not None]
            if prev:
                text.append(f"Mean training prevalence of the labels: {prev[0]:.4f} (labels and "
                            "prevalences: imbalance_labels.csv).\n")
        if part == "multitask":
            extra = []
            for w in arms:
                for key in ("alpha_lm", "lambda_aux"):
                    v = [r[key] for r in pr if r["variant"] == w and r.get(key) is not None]
                    if v:
                        extra.append(f"{w}: {key} over the last 20 steps {U.fmt_stats(U.stats(v), 3)}")
                lv = [r["log_var"] for r in pr if r["variant"] == w and r.get("log_var")]
                if lv:
                    extra.append(f"{w}: learned log sigma^2 (LM, aux) per seed: {'; '.join(lv)}")
            if extra:
                text.append("\n".join("- " + x for x in extra) + "\n")
    tlmlib.write_csv(os.path.join(out, "tasks_summary.csv"), summary, ["part", "metric"] + U.SUMMARY_COLS)
    with open(os.path.join(out, "tasks.md"), "w") as f:
        f.write(f"# Task losses and multi-task weighting, {a.seeds} seed(s)\n\nCommand: `{cmd}`\n\n"
                f"Model {size}; {cls_iters} steps (classification: batch {size['batch_size']} lines), "
                f"{mt_iters} steps (lm_aux, batch {8 if a.quick else 12}); AdamW lr 2e-3, warmup 20, cosine "
                "to 2e-4. Per arm: mean ± std [min–max] over seeds; paired differences against the "
                "reference arm with the verdict rule of scripts/ablation_util.py.\n\n" + "\n".join(text))
    print(open(os.path.join(out, "tasks.md")).read())
    panels = []
    for part in ("multilabel", "imbalance"):
        pr = [r for r in rows if r["part"] == part]
        if pr:
            arms = list(dict.fromkeys(r["variant"] for r in pr))
            for metric in ("micro_f1", "macro_f1"):
                by = U.arm_summary(pr, "variant", metric, arms)
                panels.append((f"{part}: {metric}", [(x, by[x]) for x in arms]))
    if panels:
        U.plot_arms(os.path.join(out, "multilabel.png"), panels, "held-out F1 at score 0",
                    min_spans=[0.05] * len(panels))
    mt = [c for c in curves if c[0] == "multitask"]
    if mt:
        plt = U._plt()
        if plt is not None:
            fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
            for j, (idx, title) in enumerate([(4, "LM: held-out loss / step-0 value"),
                                              (5, "aux (line_end MSE): held-out loss / step-0 value")]):
                series = []
                for w in WEIGHTINGS:
                    cs = {}
                    for c in mt:
                        if c[1] == w:
                            cs.setdefault(c[2], []).append((c[3], c[idx]))
                    series.append((w, list(cs.values())))
                ax = axes[j]
                for i, (w, cs) in enumerate(series):
                    if not cs:
                        continue
                    xs = sorted(set.intersection(*[set(x for x, _ in c) for c in cs]))
                    per = [dict(c) for c in cs]
                    ys = [[p[x] for p in per] for x in xs]
                    ax.plot(xs, [sum(y) / len(y) for y in ys], marker="o", ms=3, color=f"C{i}",
                            label=f"{w} (n={len(cs)})")
                    if len(cs) > 1:
                        ax.fill_between(xs, [min(y) for y in ys], [max(y) for y in ys], color=f"C{i}", alpha=0.2)
                ax.set_title(title)
                ax.set_xlabel("step")
                ax.set_ylabel("relative loss")
                ax.set_ylim(0, 1.1)
                ax.grid(alpha=0.3)
                ax.legend(fontsize=8)
            fig.tight_layout()
            fig.savefig(os.path.join(out, "multitask.png"), dpi=110)
            plt.close(fig)


if __name__ == "__main__":
    main()
