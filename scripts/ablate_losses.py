#!/usr/bin/python3
"""Calibration of the language-model losses (docs/methods.md) on tiny Shakespeare, with
seeds.

For each seed: pretrain a char model with cross-entropy (`tlm train`, loss = ce), then
fine-tune that checkpoint for `ft_iters` more steps (`--resume --set loss=...`) with each arm:
  ce            continued cross-entropy (the reference)
  focal_g1/g2   focal loss, gamma 1 and 2 (docs/methods.md)
  tailr_g0.1/0.8  TaiLr, gamma 0.1 and 0.8 (docs/methods.md: the fine-tuning values)
  emo           EMO with the pretrained LM head as cost (docs/methods.md: fine-tune an MLE model)
and measure on the whole validation split with `tlm eval --metrics`: cross-entropy, top-1
accuracy, ECE (15 bins), mean confidence, the signed gap mean confidence - accuracy (> 0:
over-confident) and the reliability diagram (per bin: count, mean confidence, accuracy). A
seed sets the pretraining's init and batches; the fine-tuning arms of one seed continue the
same checkpoint with the same batches, so arms are compared by paired differences over seeds.

Claims tested (verdicts in calibration.md, rule in ablation_util.verdict):
  focal makes the model under-confident: conf - acc < 0 on every seed, and below ce's;
  TaiLr (gamma 0.1, 0.8) lowers ECE against ce;
  EMO fine-tuning vs ce: validation CE and ECE.

  /usr/bin/python3 scripts/ablate_losses.py --quick     # 1 seed, 2 x 32 model, 60 + 30 steps
  /usr/bin/python3 scripts/ablate_losses.py             # 3 seeds, 2 x 96 model, 1000 + 300 steps

Writes <out>/calibration.csv (per run), calibration_summary.csv (per arm and metric),
reliability.csv, calibration.md, reliability.png, calibration.png.
"""
import argparse
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ablation_util as U  # noqa: E402
import tlmlib  # noqa: E402

ARMS = [("ce", dict(loss="ce")),
        ("focal_g1", dict(loss="focal", focal_gamma=1)),
        ("focal_g2", dict(loss="focal", focal_gamma=2)),
        ("tailr_g0.1", dict(loss="tailr", tailr_gamma=0.1)),
        ("tailr_g0.8", dict(loss="tailr", tailr_gamma=0.8)),
        ("emo", dict(loss="emo"))]
RUN_COLS = ["arm", "seed", "iters", "val_ce", "accuracy", "ece", "mean_confidence",
            "conf_minus_acc", "eval_tokens", "wall_s", "failed"]
METRICS = [("val_ce", "val CE (nats/char)", True), ("ece", "ECE (15 bins)", True),
           ("conf_minus_acc", "mean confidence − accuracy", None), ("accuracy", "top-1 accuracy", False)]


def settings(quick):
    if quick:
        return dict(n_layer=2, n_head=2, n_embd=32, block_size=32, batch_size=8, max_iters=60,
                    lr_decay_iters=90, warmup_iters=10, learning_rate=2e-3, min_lr=2e-4,
                    eval_interval=30, eval_iters=2, log_interval=1000), 30
    return dict(n_layer=2, n_head=4, n_embd=96, block_size=64, batch_size=12, max_iters=1000,
                lr_decay_iters=1300, warmup_iters=50, learning_rate=2e-3, min_lr=2e-4,
                eval_interval=500, eval_iters=10, log_interval=1000), 300


REL_COLS = ["arm", "seed", "bin", "count", "confidence", "accuracy"]


def read_rows(path):
    """calibration.csv / reliability.csv rows with numbers parsed (none if the file is missing)."""
    return tlmlib.read_csv(path, text_columns=("arm",)) if os.path.exists(path) else []


def pretrained(run_dir, iters):
    """True when run_dir holds a checkpoint whose log reached `iters` steps."""
    log = tlmlib.read_log(os.path.join(run_dir, "log.jsonl"))
    steps = [x["step"] for x in log if x.get("kind") == "step"]
    return os.path.exists(os.path.join(run_dir, "ckpt.bin")) and bool(steps) and max(steps) + 1 >= iters


def measure(ckpt, log, threads):
    ev, _ = tlmlib.run_tlm_cmd(["eval", "--ckpt", ckpt, "--metrics", "--json",
                                "--max_tokens", str(U.WHOLE_SPLIT)], log)
    if ev.get("failed"):
        return {}, None
    row = dict(val_ce=ev.get("loss"), accuracy=ev.get("accuracy"), ece=ev.get("ece"),
               mean_confidence=ev.get("mean_confidence"), eval_tokens=ev.get("tokens"))
    if row["mean_confidence"] is not None and row["accuracy"] is not None:
        row["conf_minus_acc"] = row["mean_confidence"] - row["accuracy"]
    return row, ev.get("reliability")


def plot_reliability(path, rel_rows, arms):
    plt = U._plt()
    if plt is None:
        return
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    ax = axes[0]
    ax.plot([0, 1], [0, 1], color="gray", lw=0.8, ls=":")
    for i, arm in enumerate(arms):
        rs = [r for r in rel_rows if r["arm"] == arm and r["count"]]
        bins = sorted({r["bin"] for r in rs})
        xs, ys, lo, hi = [], [], [], []
        for b in bins:
            per = [r for r in rs if r["bin"] == b]
            n = sum(r["count"] for r in per)
            if n < 50:
                continue  # too few predictions for a point
            xs.append(sum(r["confidence"] * r["count"] for r in per) / n)
            accs = [r["accuracy"] for r in per]
            ys.append(sum(r["accuracy"] * r["count"] for r in per) / n)
            lo.append(ys[-1] - min(accs))
            hi.append(max(accs) - ys[-1])
        ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", ms=3, capsize=2, label=arm,
                    color=f"C{i}", ls=U.STYLES[i % 2])
    ax.set_xlabel("mean confidence in the bin")
    ax.set_ylabel("accuracy in the bin (pooled; bars: min–max over seeds)")
    ax.set_title("reliability diagram (15 bins, bins with >= 50 predictions)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax = axes[1]
    for i, arm in enumerate(arms):
        rs = [r for r in rel_rows if r["arm"] == arm]
        bins = sorted({r["bin"] for r in rs})
        tot = sum(r["count"] for r in rs) or 1
        ax.plot([(b + 0.5) / 15 for b in bins],
                [sum(r["count"] for r in rs if r["bin"] == b) / tot for b in bins],
                marker="o", ms=3, color=f"C{i}", ls=U.STYLES[i % 2], label=arm)
    ax.set_xlabel("confidence bin")
    ax.set_ylabel("share of predictions")
    ax.set_title("confidence histogram (pooled over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def claims(by):
    """Verdicts per claim, from {metric: {arm: {seed: value}}}."""
    lines = []
    cma = by["conf_minus_acc"]
    for arm in ("focal_g1", "focal_g2"):
        vals = U.finite_values(cma[arm])
        sign = ("negative on every seed" if vals and all(v < 0 for v in vals) else
                "positive on every seed" if vals and all(v > 0 for v in vals) else "mixed sign")
        v = U.verdict("ce", cma["ce"], arm, cma[arm])
        under = bool(vals) and all(x < 0 for x in vals) and v["decided"] and v["diff"] < 0  # below ce's gap
        lines.append(f"- **focal makes the model under-confident** ({arm}): conf − acc "
                     f"{U.fmt_stats(U.stats(cma[arm]))}, {sign}; against ce: {v['text'].replace(' better (', ' lower (')} → "
                     + ("**supported**" if under else "**not supported by this measurement**"))
    for arm in ("tailr_g0.1", "tailr_g0.8"):
        v = U.verdict("ce", by["ece"]["ce"], arm, by["ece"][arm])
        lines.append(f"- **TaiLr lowers ECE** ({arm}): ECE {U.fmt_stats(U.stats(by['ece'][arm]))} vs ce "
                     f"{U.fmt_stats(U.stats(by['ece']['ce']))}; {v['text']} → "
                     + ("**supported**" if v["decided"] and v["better"] == arm else
                        "**contradicted**" if v["decided"] else "**not measured**"))
    for metric in ("val_ce", "ece"):
        v = U.verdict("ce", by[metric]["ce"], "emo", by[metric]["emo"])
        lines.append(f"- **EMO fine-tuning vs continued CE, {metric}**: {v['text']}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    U.add_seed_args(ap)
    ap.add_argument("--out", default=None, help="output directory")
    ap.add_argument("--continue_runs", action="store_true",
                    help="keep the runs already in <out>/calibration.csv and the pretrained "
                    "checkpoints in <out>/runs; run only what is missing")
    ap.add_argument("--report_only", action="store_true",
                    help="no training: the tables and plots from <out>/calibration.csv and reliability.csv")
    a = U.finish_args(ap.parse_args())
    U._selftest()
    tlmlib.ensure_built()
    out = a.out or os.path.join(tlmlib.ROOT, "out", "ablations", "calibration" + ("_quick" if a.quick else ""))
    runs = os.path.join(out, "runs")
    os.makedirs(runs, exist_ok=True)
    base, ft_iters = settings(a.quick)
    base.update(data=tlmlib.SHAKESPEARE, threads=a.threads, dropout=0.0, ckpt_interval=0)
    rows, rel_rows = [], []
    if a.continue_runs or a.report_only:
        rows = read_rows(os.path.join(out, "calibration.csv"))
        rel_rows = read_rows(os.path.join(out, "reliability.csv"))
    done = {(r["arm"], r["seed"]) for r in rows}
    for seed in [] if a.report_only else U.seed_list(a.seeds):
        if all((arm, seed) in done for arm, _ in ARMS):
            continue
        pre = os.path.join(runs, f"pretrain_s{seed}")
        if not (a.continue_runs and pretrained(pre, base["max_iters"])):
            shutil.rmtree(pre, ignore_errors=True)
            r = tlmlib.run_tlm(dict(base, seed=seed, loss="ce"), pre, os.path.join(runs, f"pretrain_s{seed}.log"))
            if r["failed"]:
                sys.exit(f"pretraining seed {seed} failed: {r.get('error')}")
            print(f"seed {seed}: pretrained, val {r.get('val_loss')} ({r['wall_s']} s)", file=sys.stderr, flush=True)
        for arm, extra in ARMS:
            if (arm, seed) in done:
                continue
            d = os.path.join(runs, f"{arm}_s{seed}")
            shutil.rmtree(d, ignore_errors=True)
            shutil.copytree(pre, d)
            r = tlmlib.run_tlm(dict(base, seed=seed, max_iters=base["max_iters"] + ft_iters, **extra), d,
                               os.path.join(runs, f"{arm}_s{seed}.log"), extra_args=["--resume"])
            row = dict(arm=arm, seed=seed, iters=r.get("iters"), wall_s=r["wall_s"], failed=r["failed"])
            if not r["failed"]:
                m, rel = measure(os.path.join(d, "ckpt.bin"), os.path.join(runs, "eval.log"), a.threads)
                row.update(m)
                for b, (n, c, acc) in enumerate(zip(rel["count"], rel["confidence"], rel["accuracy"]) if rel else []):
                    rel_rows.append(dict(arm=arm, seed=seed, bin=b, count=n, confidence=c, accuracy=acc))
            rows.append(row)
            for f in ("ckpt.bin",):  # checkpoints are large; the metrics are what is kept
                if not a.quick and os.path.exists(os.path.join(d, f)):
                    os.remove(os.path.join(d, f))
            tlmlib.write_csv(os.path.join(out, "calibration.csv"), rows, RUN_COLS)  # partial results survive
            tlmlib.write_csv(os.path.join(out, "reliability.csv"), rel_rows, REL_COLS)
            print(f"  {arm} s{seed}: {row}", file=sys.stderr, flush=True)
    tlmlib.write_csv(os.path.join(out, "calibration.csv"), rows, RUN_COLS)
    tlmlib.write_csv(os.path.join(out, "reliability.csv"), rel_rows, REL_COLS)
    arms = [n for n, _ in ARMS]
    by = {m: U.arm_summary(rows, "arm", m, arms) for m, _, _ in METRICS}
    summary = []
    for m, label, lower in METRICS:
        for s in U.summary_rows(by[m], m, ref="ce", lower_is_better=lower if lower is not None else True):
            s["metric"] = m
            if lower is None:  # a signed gap: no better direction, the verdict is about a difference
                s["verdict"] = s.get("verdict", "").replace(" better (", " lower (")
            summary.append(s)
    cols = ["metric"] + U.SUMMARY_COLS
    tlmlib.write_csv(os.path.join(out, "calibration_summary.csv"), summary, cols)
    cmd = "/usr/bin/python3 scripts/ablate_losses.py" + (" --quick" if a.quick else "") + (
        f" --seeds {a.seeds}" if a.seeds != (1 if a.quick else 3) else "")
    seeds_done = sorted({r["seed"] for r in rows})
    rel_seeds = sorted({r["seed"] for r in rel_rows})
    model = ", ".join(f"{k}={v}" for k, v in base.items() if k not in ("data",))
    with open(os.path.join(out, "calibration.md"), "w") as f:
        f.write(f"# Calibration of LM losses: fine-tuning a CE model, seeds {seeds_done}\n\n"
                f"Command: `{cmd}`\n\nPretraining (loss = ce): {model}; then {ft_iters} fine-tuning "
                "steps per arm from that checkpoint (same schedule continued). Metrics: `tlm eval "
                "--metrics` on the whole validation split. Per arm: mean ± std [min–max] over seeds; "
                "diff_vs_ref: mean paired difference arm − ce (same seed), diff_std its std.\n\n")
        for m, label, _ in METRICS:
            f.write(f"## {label} (`{m}`)\n\n| arm | mean ± std [min–max] | arm − ce (paired) | verdict |\n|---|---|---|---|\n")
            for s in summary:
                if s["metric"] != m:
                    continue
                d = "" if s.get("diff_vs_ref") is None else f"{s['diff_vs_ref']:+.4f} ± {s['diff_std'] or 0:.4f}"
                f.write(f"| {s['arm']} | {U.fmt_stats(by[m][s['arm']])} | {d} | {s.get('verdict', '(reference)')} |\n")
            f.write("\n")
        f.write("## Claims\n\n" + claims(by) + "\n")
        f.write(f"\nReliability data (reliability.csv, reliability.png): seeds {rel_seeds}.\n")
    print(open(os.path.join(out, "calibration.md")).read())
    plot_reliability(os.path.join(out, "reliability.png"), rel_rows, arms)
    U.plot_arms(os.path.join(out, "calibration.png"),
                [(label, [(arm, by[m][arm]) for arm in arms]) for m, label, _ in METRICS],
                "LM losses after fine-tuning a CE model", min_spans=[0.05, 0.02, 0.04, 0.02])


if __name__ == "__main__":
    main()
