#!/usr/bin/python3
"""The classification losses and the multi-task weighting schemes trained for real with
`tlm task` on tasks built from tiny Shakespeare lines (train/tasks/tasks.h documents the labels).

  multilabel  8 labels per line (word sets, '?', '!'): ZLPR, soft ZLPR, R-Drop with the
              GlobalPointer sigmoid KL, and per-entry sigmoid BCE as the baseline;
              held-out micro/macro F1 at score 0
  pairs       graded word-overlap pairs: CoSENT; held-out Spearman of cosine vs label
  multitask   LM + "is the next character a vowel": fixed, realtime, uncertainty, gradnorm,
              mgda, main_aux (nn/loss/multitask.h); held-out LM CE and auxiliary accuracy

  /usr/bin/python3 scripts/ablate_tasks.py --quick            # < 3 min on an idle machine
  /usr/bin/python3 scripts/ablate_tasks.py                    # < 30 min
  /usr/bin/python3 scripts/ablate_tasks.py --quick --part multitask

Writes <out>/tasks.csv, tasks.md, multilabel.png, multitask.png.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tlmlib  # noqa: E402

ML_LOSSES = ["zlpr", "soft_zlpr", "rdrop", "bce"]
WEIGHTINGS = ["fixed", "realtime", "uncertainty", "gradnorm", "mgda", "main_aux"]


def run_task(args, sets, out_dir, log_path, eval_examples):
    cmd = ["task"] + args + ["--eval_examples", str(eval_examples)]
    for k, v in dict(sets, out_dir=out_dir).items():
        cmd += ["--set", f"{k}={v}"]
    r, _ = tlmlib.run_tlm_cmd(cmd, log_path)
    r["log"] = tlmlib.read_log(os.path.join(out_dir, "task_log.jsonl"))
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--part", default="all", choices=["all", "multilabel", "pairs", "multitask"])
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    tlmlib.ensure_built()
    out = a.out or os.path.join(tlmlib.ROOT, "docs", "ablations", "losses",
                                "tasks_quick" if a.quick else "tasks_full")
    runs = os.path.join(out, "runs")
    os.makedirs(runs, exist_ok=True)
    size = (dict(n_layer=1, n_head=4, n_embd=32, block_size=48, batch_size=16)
            if a.quick else dict(n_layer=2, n_head=4, n_embd=128, block_size=64, batch_size=32))
    loop = dict(learning_rate=2e-3, min_lr=2e-4, warmup_iters=20, seed=1337,
                data=tlmlib.SHAKESPEARE, log_interval=50, threads=1)
    cls_iters = 60 if a.quick else 800
    mt_iters = 60 if a.quick else 800
    ev = 256 if a.quick else 1024  # held-out examples evaluated (multilabel, pairs)
    rows, ml_series, mt_series = [], [], []

    def cls_sets(extra=None):
        s = dict(size, **loop, max_iters=cls_iters, lr_decay_iters=cls_iters,
                 eval_interval=max(20, cls_iters // 6))
        s.update(extra or {})
        return s

    if a.part in ("all", "multilabel"):
        for loss in ML_LOSSES:
            extra = {"dropout": 0.1} if loss == "rdrop" else {}
            d = os.path.join(runs, f"multilabel_{loss}")
            r = run_task(["--task", "multilabel", "--loss", loss], cls_sets(extra), d,
                         d + ".log", ev)
            rows.append({"task": "multilabel", "variant": loss, "micro_f1": r.get("micro_f1"),
                         "macro_f1": r.get("macro_f1"), "exact_match": r.get("exact_match"),
                         "val_zlpr": r.get("val_zlpr"), "wall_s": r["wall_s"],
                         "failed": r["failed"]})
            ml_series.append((loss, [x for x in r["log"] if x.get("kind") == "eval"]))
            print(rows[-1], file=sys.stderr)
    if a.part in ("all", "pairs"):
        d = os.path.join(runs, "pairs_cosent")
        r = run_task(["--task", "pairs", "--loss", "cosent"], cls_sets(), d, d + ".log", ev)
        rows.append({"task": "pairs", "variant": "cosent", "spearman": r.get("spearman"),
                     "wall_s": r["wall_s"], "failed": r["failed"]})
        print(rows[-1], file=sys.stderr)
    if a.part in ("all", "multitask"):
        for w in WEIGHTINGS:
            d = os.path.join(runs, f"lm_aux_{w}")
            s = dict(size, **loop, max_iters=mt_iters, lr_decay_iters=mt_iters, eval_iters=10,
                     eval_interval=max(20, mt_iters // 6), batch_size=12)
            r = run_task(["--task", "lm_aux", "--weighting", w], s, d, d + ".log", ev)
            steps = [x for x in r["log"] if x.get("kind") == "step"]
            tail = steps[-20:] if steps else []
            row = {"task": "lm_aux", "variant": w, "val_lm_loss": r.get("val_lm_loss"),
                   "val_aux_accuracy": r.get("val_aux_accuracy"), "wall_s": r["wall_s"],
                   "failed": r["failed"]}
            for key in ("alpha_lm", "lambda_aux"):
                vals = [x[key] for x in tail if key in x]
                if vals:
                    row[key] = sum(vals) / len(vals)
            if "log_var" in r:
                row["log_var"] = " ".join(f"{v:.3f}" for v in r["log_var"])
            rows.append(row)
            mt_series.append((w, [x for x in r["log"] if x.get("kind") == "eval"]))
            print(rows[-1], file=sys.stderr)

    cols = ["task", "variant", "micro_f1", "macro_f1", "exact_match", "val_zlpr", "spearman",
            "val_lm_loss", "val_aux_accuracy", "alpha_lm", "lambda_aux", "log_var", "wall_s",
            "failed"]
    tlmlib.write_csv(os.path.join(out, "tasks.csv"), rows, cols)
    cmd = "/usr/bin/python3 scripts/ablate_tasks.py" + (" --quick" if a.quick else "") + (
        f" --part {a.part}" if a.part != "all" else "")
    tlmlib.write_markdown(
        os.path.join(out, "tasks.md"), rows, cols, "Task losses and multi-task weighting", cmd,
        notes=(f"Model: {size}; {cls_iters} steps (classification), {mt_iters} steps (lm_aux, "
               "batch 12). alpha_lm: MGDA's weight on the LM gradient, lambda_aux: main+aux "
               "coefficient (means over the last 20 steps); log_var: learned log sigma^2 "
               "(LM, aux)."))
    if ml_series:
        tlmlib.plot_curves(os.path.join(out, "multilabel.png"), ml_series, "step", "micro_f1",
                           "Multi-label lines: held-out micro F1 (threshold 0)", "step",
                           "micro F1")
    if mt_series:
        tlmlib.plot_curves(os.path.join(out, "multitask.png"), mt_series, "step", "val_lm_loss",
                           "LM + vowel auxiliary: held-out LM cross-entropy", "step",
                           "val CE (nats/char)")
    print(f"wrote {out}/tasks.csv, tasks.md and plots", file=sys.stderr)


if __name__ == "__main__":
    main()
