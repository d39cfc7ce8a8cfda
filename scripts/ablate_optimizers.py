#!/usr/bin/python3
"""Optimizer study on tiny Shakespeare (docs/methods.md, "Lion"; issue 12): Lion against AdamW at its tuned
learning rate, with SGD + momentum as the floor.

For each batch size:
  1. AdamW: learning rate tuned over a small grid (seed 1; the best final val loss wins),
     weight decay 0.1 (nanoGPT).
  2. Lion: lr in {AdamW's / 3, / 5, / 10} x weight decay in {0.1 x 3, 0.1 x 10} (the paper's
     mapping), betas (0.9, 0.99) as AdamW.
  3. SGD with momentum 0.9 (a fixed lr chosen by a short probe; see the write-up).
  4. Edge check: where AdamW's best lr is the top of its grid, AdamW at 2x and Lion at lr/1.5
     (seed 1), reported apart from the main table (`--edge_only` adds it to an existing study).
Every setting runs with several seeds (the seed sets init and batches); all share the model,
steps, warmup + cosine schedule (min_lr = lr / 10), gradient clipping 1.0 and tied embeddings.

Validation loss: `tlm eval --data <chunk>` on the first 8 chunks of 8192 tokens of the
validation split (65,536 tokens, the same for every run); the table reports their mean and the
eval noise (std over the chunks / sqrt(8), the standard error of that mean), and the spread over
seeds (half the max - min). The curves use the trainer's periodic evaluation (fewer tokens).

The embedding side effect: two extra runs with untied embeddings (AdamW tuned; Lion at the
grid's largest lr x weight decay, where the drift to +-1/weight_decay is fastest), seed 1, the
small batch size; `tlm diag embedding` on each (and on the tied grid runs), plotted per token
count.

  /usr/bin/python3 scripts/ablate_optimizers.py --quick   # < 3 min: 2 x 64 model, 1 seed
  /usr/bin/python3 scripts/ablate_optimizers.py           # 3 seeds (`--seeds`); 2 seeds took 37 min (+5 for the edge check), 2 x threads=1

Verdicts (summary.csv, optimizers.md): each setting against tuned AdamW of the same batch size,
paired by seed, with the rule of scripts/ablation_util.py (a ranking only when the difference
exceeds the seed spread).

Runs go two at a time, each with threads=1 (--workers). Writes <out>/optimizers.csv (one row
per run), optimizers.md (mean +- spread per setting), val_vs_step.png, val_vs_wall.png,
drift.png, drift.csv, and the per-run logs under runs/.
"""
import argparse
import concurrent.futures as cf
import csv
import json
import math
import os
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ablation_util as U  # noqa: E402
import tlmlib  # noqa: E402

RUN_COLS = ["name", "batch_size", "optimizer", "lr", "lr_div", "weight_decay", "wd_mult", "seed",
            "iters", "val_loss", "val_se", "train_loss_trainer", "wall_s", "train_s",
            "ms_per_iter", "optimizer_state_bytes", "optimizer_buffers_per_param", "params",
            "failed"]
SUMMARY_COLS = ["batch_size", "optimizer", "lr", "weight_decay", "setting", "seeds",
                "val_loss_mean", "val_loss_std", "val_loss_min", "val_loss_max", "seed_spread",
                "eval_se", "vs_adamw", "vs_adamw_std", "verdict", "ms_per_iter", "state_bytes"]
CHUNK = 8192


def settings(quick):
    if quick:
        model = dict(n_layer=2, n_head=4, n_embd=64, block_size=64, max_iters=120,
                     warmup_iters=12, eval_interval=30, log_interval=1000)
        return dict(model=model, batch_sizes=[4, 16], seeds=[1], adamw_lrs=[2e-3, 4e-3],
                    lr_divs=[3, 10], wd_mults=[3, 10], chunks=2, sgd_lr=0.1)
    model = dict(n_layer=4, n_head=4, n_embd=128, block_size=64, max_iters=300,
                 warmup_iters=30, eval_interval=50, log_interval=1000)
    return dict(model=model, batch_sizes=[4, 16], seeds=[1, 2], adamw_lrs=[1.5e-3, 3e-3, 6e-3],
                lr_divs=[3, 5, 10], wd_mults=[3, 10], chunks=8, sgd_lr=0.1)


ADAMW_WD = 0.1


def overrides(cfg, bs, opt, lr, wd, seed, **extra):
    m = cfg["model"]
    o = dict(m, data=tlmlib.SHAKESPEARE, batch_size=bs, optimizer=opt, learning_rate=lr,
             min_lr=lr / 10, weight_decay=wd, seed=seed, threads=1, dropout=0.0,
             lr_decay_iters=m["max_iters"], ckpt_interval=0, grad_clip=1.0,
             # curve evaluations over ~4096 tokens per split (the final number is tlm eval's)
             eval_iters=max(1, 4096 // (bs * m["block_size"])))
    o.update(extra)
    return o


def val_chunks(out, n):
    """The first n chunks of CHUNK characters of the validation split (char tokenizer: one
    character = one token; the split is the last val_fraction = 0.1 of the file, as
    train/data/data.cpp cuts it)."""
    with open(tlmlib.SHAKESPEARE, encoding="utf-8") as f:
        text = f.read()
    start = math.floor((1.0 - 0.1) * len(text))
    paths = []
    os.makedirs(os.path.join(out, "val_chunks"), exist_ok=True)
    for i in range(n):
        p = os.path.join(out, "val_chunks", f"val_{i}.txt")
        with open(p, "w", encoding="utf-8") as f:
            f.write(text[start + i * CHUNK: start + (i + 1) * CHUNK + 1])  # +1: the last target
        paths.append(p)
    return paths


def chunk_losses(ckpt, chunks, log):
    losses = []
    for p in chunks:
        r, _ = tlmlib.run_tlm_cmd(["eval", "--ckpt", ckpt, "--data", p, "--json",
                                   "--batch_size", "16"], log)
        if r.get("failed") or r.get("loss") is None:
            return None
        losses.append(r["loss"])
    return losses


def eval_chunks(ckpt, chunks, log):
    losses = chunk_losses(ckpt, chunks, log)
    if losses is None:
        return None, None
    mean = statistics.fmean(losses)
    se = statistics.stdev(losses) / math.sqrt(len(losses)) if len(losses) > 1 else float("nan")
    return mean, se


def run_one(job, out, chunks):
    name, o, meta = job
    d = os.path.join(out, "runs", name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    r = tlmlib.run_tlm(o, d, log_path=os.path.join(d, "stderr.txt"))
    row = dict(meta, name=name, batch_size=o["batch_size"], optimizer=o["optimizer"],
               lr=o["learning_rate"], weight_decay=o["weight_decay"], seed=o["seed"],
               iters=r.get("iters"), train_loss_trainer=r.get("train_loss"),
               wall_s=r["wall_s"], ms_per_iter=r.get("ms_per_iter"),
               optimizer_state_bytes=r.get("optimizer_state_bytes"),
               optimizer_buffers_per_param=r.get("optimizer_buffers_per_param"),
               params=r.get("params"), failed=r["failed"])
    steps = [x for x in r["log"] if x.get("kind") == "step"]
    row["train_s"] = round(sum(x["ms"] for x in steps) / 1000, 2)
    if not r["failed"]:
        row["val_loss"], row["val_se"] = eval_chunks(os.path.join(d, "ckpt.bin"), chunks,
                                                     os.path.join(d, "eval.txt"))
    # val curve with the training wall-clock (sum of step times up to the evaluation)
    curve, t, si = [], 0.0, 0
    for x in r["log"]:
        if x.get("kind") == "step":
            t += x["ms"] / 1000
        elif x.get("kind") == "eval":
            curve.append({"step": x["step"], "val_loss": x["val_loss"], "train_s": t})
    row["_curve"] = curve
    row["_run_dir"] = d
    print(f"  {name}: val {row.get('val_loss')} +- {row.get('val_se')} ({r['wall_s']} s)"
          f"{' FAILED' if r['failed'] else ''}", file=sys.stderr, flush=True)
    return row


def run_jobs(jobs, out, chunks, workers):
    with cf.ThreadPoolExecutor(max_workers=workers) as ex:
        return list(ex.map(lambda j: run_one(j, out, chunks), jobs))


def fmt_lr(x):
    return f"{x:.3g}"


def summarize(rows, adamw_lr):
    """One row per (batch size, setting): mean over seeds, half-range spread, mean eval SE."""
    groups = {}
    for r in rows:
        if r.get("tuning_only"):
            continue
        key = (r["batch_size"], r["optimizer"], r["lr"], r["weight_decay"])
        groups.setdefault(key, []).append(r)
    out = []
    for (bs, opt, lr, wd), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] != "adamw",
                                                                      kv[0][1], -kv[0][2], kv[0][3])):
        ok = [r for r in rs if not r["failed"] and r.get("val_loss") is not None]
        vals = [r["val_loss"] for r in ok]
        ses = [r["val_se"] for r in ok if r.get("val_se") is not None and not math.isnan(r["val_se"])]
        setting = {"adamw": "tuned", "sgd": "floor"}.get(opt, "")
        if opt == "lion":
            setting = f"lr/{rs[0]['lr_div']}, wd x{rs[0]['wd_mult']}"
        st = U.stats(vals)
        out.append(dict(batch_size=bs, optimizer=opt, lr=fmt_lr(lr), weight_decay=wd,
                        setting=setting, seeds=f"{len(ok)}/{len(rs)}",
                        val_loss_mean=statistics.fmean(vals) if vals else None,
                        val_loss_std=st["std"], val_loss_min=st["min"], val_loss_max=st["max"],
                        seed_spread=(max(vals) - min(vals)) / 2 if len(vals) > 1 else None,
                        eval_se=statistics.fmean(ses) if ses else None,
                        ms_per_iter=statistics.median([r["ms_per_iter"] for r in ok]) if ok else None,
                        state_bytes=ok[0]["optimizer_state_bytes"] if ok else None,
                        _vals={r["seed"]: r["val_loss"] for r in ok}))
    for s in out:  # paired difference with AdamW of the same batch size and seed
        base = next((b for b in out if b["batch_size"] == s["batch_size"] and b["optimizer"] == "adamw"), None)
        if base and s["_vals"]:
            diffs = [v - base["_vals"][k] for k, v in s["_vals"].items() if k in base["_vals"]]
            s["vs_adamw"] = f"{statistics.fmean(diffs):+.4f}" if diffs else None
            if s is not base:
                s["vs_adamw_std"] = statistics.stdev(diffs) if len(diffs) > 1 else None
                s["verdict"] = U.verdict("adamw", base["_vals"], s["optimizer"], s["_vals"])["text"]
    return out


def _selftest():
    """summarize() on made-up runs: mean, half-range spread and the paired difference."""
    def row(opt, lr, wd, seed, v, **kw):
        return dict(kw, batch_size=8, optimizer=opt, lr=lr, weight_decay=wd, seed=seed,
                    val_loss=v, val_se=0.01, failed=False, ms_per_iter=1.0,
                    optimizer_state_bytes=8 if opt == "adamw" else 4)
    rows = [row("adamw", 3e-3, 0.1, 1, 2.0), row("adamw", 3e-3, 0.1, 2, 2.2),
            row("adamw", 1e-3, 0.1, 1, 9.0, tuning_only=True),
            row("lion", 1e-3, 0.3, 1, 1.9, lr_div=3, wd_mult=3),
            row("lion", 1e-3, 0.3, 2, 2.1, lr_div=3, wd_mult=3)]
    s = summarize(rows, {8: 3e-3})
    assert [x["optimizer"] for x in s] == ["adamw", "lion"], s
    assert abs(s[0]["val_loss_mean"] - 2.1) < 1e-12 and abs(s[0]["seed_spread"] - 0.1) < 1e-12
    assert s[1]["vs_adamw"] == "-0.1000" and s[1]["setting"] == "lr/3, wd x3", s[1]
    assert s[1]["state_bytes"] * 2 == s[0]["state_bytes"]


def write_md(path, summary, cfg, cmd, adamw_lrs, tuning, drift_note, noise_note):
    def f(v, nd=4):
        if v is None:
            return ""
        return f"{v:.{nd}f}" if isinstance(v, float) else str(v)
    with open(path, "w") as fh:
        fh.write("# Optimizer study: Lion vs AdamW on tiny Shakespeare\n\n")
        fh.write(f"Command: `{cmd}`\n\n")
        m = cfg["model"]
        fh.write(f"Model: {m['n_layer']} layers x {m['n_embd']} wide, {m['n_head']} heads, context "
                 f"{m['block_size']}, char tokens, tied embeddings; {m['max_iters']} steps, warmup "
                 f"{m['warmup_iters']}, cosine to lr/10, clip 1.0; seeds {cfg['seeds']}; threads=1.\n\n")
        fh.write("AdamW lr tuning (seed 1, val loss): " + "; ".join(
            f"batch {bs}: " + ", ".join(f"{fmt_lr(lr)} -> {f(v)}" for lr, v in t) for bs, t in tuning.items())
            + "\n\n")
        fh.write(f"val_loss_mean: mean over seeds of the loss on {cfg['chunks'] * CHUNK:,} fixed "
                 "validation tokens; seed_spread: half of max - min over seeds; eval_se: the "
                 f"standard error of one run's loss over the {cfg['chunks']} chunks (eval noise); "
                 "ms_per_iter: median step time (threads=1, shared machine); vs_adamw: mean paired difference with "
                 "AdamW at the same batch size and seed (negative = better than AdamW), vs_adamw_std the "
                 "std of those differences; val_loss_std/min/max over seeds; verdict: the rule of "
                 "scripts/ablation_util.py (a ranking only when the difference exceeds the seed spread).\n\n")
        fh.write("| " + " | ".join(SUMMARY_COLS) + " |\n|" + "---|" * len(SUMMARY_COLS) + "\n")
        for s in summary:
            fh.write("| " + " | ".join(f(s.get(c)) for c in SUMMARY_COLS) + " |\n")
        fh.write("\n" + noise_note + "\n\n" + drift_note + "\n")


def plot(out, rows, summary, drift_csvs):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is missing: no plots", file=sys.stderr)
        return
    bss = sorted({r["batch_size"] for r in rows})
    for xkey, fname, xlabel in [("step", "val_vs_step.png", "step"),
                                ("train_s", "val_vs_wall.png", "training wall-clock (s, threads=1)")] if bss else []:
        fig, axes = plt.subplots(1, len(bss), figsize=(6.5 * len(bss), 4.5), squeeze=False)
        for ax, bs in zip(axes[0], bss):
            for s in summary:
                if s["batch_size"] != bs:
                    continue
                runs = [r for r in rows if r["batch_size"] == bs and r["optimizer"] == s["optimizer"]
                        and fmt_lr(r["lr"]) == s["lr"] and r["weight_decay"] == s["weight_decay"]
                        and not r.get("tuning_only") and r["_curve"]]
                if not runs:
                    continue
                n = min(len(r["_curve"]) for r in runs)
                xs = [statistics.fmean(r["_curve"][i][xkey] for r in runs) for i in range(n)]
                ys = [statistics.fmean(r["_curve"][i]["val_loss"] for r in runs) for i in range(n)]
                style = {"adamw": dict(color="black", lw=2.2), "sgd": dict(color="gray", ls=":")}
                label = f"{s['optimizer']} lr {s['lr']} wd {s['weight_decay']}"
                ax.plot(xs, ys, label=label, **style.get(s["optimizer"], dict(lw=1.2)))
            ax.set_title(f"batch {bs} x {rows[0].get('block_size', 64)} tokens (mean over seeds)")
            ax.set_xlabel(xlabel)
            ax.set_ylabel("val loss (trainer's periodic eval)")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
            lo = min((s["val_loss_mean"] for s in summary if s["val_loss_mean"]), default=1)
            ax.set_ylim(lo - 0.1, lo + 1.2)
        fig.tight_layout()
        fig.savefig(os.path.join(out, fname), dpi=110)
        plt.close(fig)
    if drift_csvs:
        subprocess.run([sys.executable, os.path.join(tlmlib.ROOT, "scripts", "plot_diag.py"),
                        *[p for _, p in drift_csvs], "--labels", ",".join(l for l, _ in drift_csvs),
                        "-o", os.path.join(out, "drift.png")], check=False)


def drift_report(out, drift_runs, workers):
    """`tlm diag embedding` on each run; returns (label, csv) pairs and rows for drift.csv."""
    pairs, table = [], []
    os.makedirs(os.path.join(out, "drift_tokens"), exist_ok=True)
    for label, d in drift_runs:
        # Per token (committed beside the write-up): drift_tokens/<label>.csv. Without the
        # run's checkpoint (runs/ is not committed) the committed file is read back.
        p = os.path.join(out, "drift_tokens", label.replace(" ", "_") + ".csv")
        ckpt = os.path.join(out, "runs", d, "ckpt.bin")
        meta = os.path.join(out, "drift_tokens", label.replace(" ", "_") + ".json")
        if os.path.exists(ckpt):
            r, _ = tlmlib.run_tlm_cmd(["diag", "embedding", "--ckpt", ckpt, "--out", p],
                                      os.path.join(out, "runs", d, "diag.txt"))
            if r.get("failed"):
                continue
            r = {k: r[k] for k in ("optimizer", "learning_rate", "weight_decay", "tied")}
            with open(meta, "w") as f:
                json.dump(r, f)
        elif os.path.exists(p) and os.path.exists(meta):
            with open(meta) as f:
                r = json.load(f)
        else:
            continue
        pairs.append((label, p))
        with open(p, newline="") as f:
            rows = list(csv.DictReader(f))
        wd = r["weight_decay"]
        for bucket, lo, hi in [("count < 100", 0, 100), ("100 <= count < 10000", 100, 10000),
                               ("count >= 10000", 10000, 10**12)]:
            sel = [x for x in rows if lo <= int(x["count"]) < hi]
            if not sel:
                continue
            table.append(dict(run=label, optimizer=r["optimizer"], lr=r["learning_rate"],
                              weight_decay=wd, tied=r["tied"], bucket=bucket, tokens=len(sel),
                              mean_abs=statistics.fmean(float(x["mean_abs"]) for x in sel),
                              max_abs=max(float(x["max_abs"]) for x in sel),
                              frac_fixed_max=max(float(x["frac_fixed"]) for x in sel),
                              abs_cv=statistics.fmean(float(x["abs_cv"]) for x in sel)))
    tlmlib.write_csv(os.path.join(out, "drift.csv"), table,
                     ["run", "optimizer", "lr", "weight_decay", "tied", "bucket", "tokens",
                      "mean_abs", "max_abs", "frac_fixed_max", "abs_cv"])
    return pairs, table


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small model, 1 seed (< 3 min)")
    ap.add_argument("--seeds", type=int, default=None,
                    help="seeds per setting (default 3, --quick 1); seeds 1, 2, ...")
    ap.add_argument("--out", default=None, help="output directory")
    ap.add_argument("--workers", type=int, default=2, help="runs at once (each threads=1)")
    ap.add_argument("--edge_only", action="store_true",
                    help="only the edge check on <out>/rows.json (then the report)")
    ap.add_argument("--drift_only", action="store_true",
                    help="only the four embedding-drift runs (AdamW/Lion, tied/untied, seed 1) on "
                    "<out>/rows.json's tuned lr: drift_tokens/*.csv, drift.csv, drift.png")
    ap.add_argument("--add_seeds", type=int, default=None, metavar="N",
                    help="bring an existing study (<out>/rows.json) to N seeds: run the main table's "
                    "settings (tuned AdamW, the Lion grid, SGD) for the seeds it lacks, then the report")
    ap.add_argument("--summary_only", action="store_true",
                    help="no training: rewrite summary.csv (with the verdicts) from <out>/rows.json")
    ap.add_argument("--report_only", action="store_true",
                    help="no training: rebuild the tables and plots from <out>/rows.json")
    a = ap.parse_args()
    _selftest()
    tlmlib.ensure_built()
    os.environ["OMP_NUM_THREADS"] = "1"  # tlm eval / diag: one thread per worker, like the runs
    cfg = settings(a.quick)
    if a.seeds is not None or not a.quick:
        cfg["seeds"] = list(range(1, (a.seeds or 3) + 1))
    out = a.out or os.path.join(tlmlib.ROOT, "docs", "ablations", "optimizers",
                                "quick" if a.quick else "full")
    os.makedirs(os.path.join(out, "runs"), exist_ok=True)
    chunks = val_chunks(out, cfg["chunks"])
    cmd = "/usr/bin/python3 scripts/ablate_optimizers.py" + (" --quick" if a.quick else "")
    small_bs = min(cfg["batch_sizes"])

    s1 = cfg["seeds"][0]
    if a.drift_only or a.summary_only:
        with open(os.path.join(out, "rows.json")) as f:
            saved = json.load(f)
        rows, tuned = saved["rows"], {int(k): v for k, v in saved["tuned"].items()}
        if a.summary_only:
            tlmlib.write_csv(os.path.join(out, "summary.csv"), summarize(rows, tuned), SUMMARY_COLS)
            return
        jobs, labels = drift_jobs(cfg, rows, tuned, s1, small_bs)
        run_jobs(jobs, out, chunks, a.workers)
        pairs, _ = drift_report(out, labels, a.workers)
        plot(out, [], [], pairs)
        return
    if a.report_only or a.edge_only or a.add_seeds:
        with open(os.path.join(out, "rows.json")) as f:
            saved = json.load(f)
        rows, tuned = saved["rows"], {int(k): v for k, v in saved["tuned"].items()}
        tuning = {int(k): v for k, v in saved["tuning"].items()}
        for r in rows:  # the study may have moved since it ran: its runs are under <out>/runs
            r["_run_dir"] = os.path.join(out, "runs", r["name"])
        if a.add_seeds:
            have = sorted({r["seed"] for r in rows if not r.get("tuning_only")})
            cfg["seeds"] = list(range(1, a.add_seeds + 1))
            jobs = [j for j in main_jobs(cfg, tuned, [s for s in cfg["seeds"] if s not in have])
                    if j[0] not in {r["name"] for r in rows}]
            print(f"seeds {have} -> {cfg['seeds']}: {len(jobs)} runs", file=sys.stderr)
            rows += run_jobs(jobs, out, chunks, a.workers)
            with open(os.path.join(out, "rows.json"), "w") as f:
                json.dump({"rows": rows, "tuned": tuned, "tuning": tuning}, f)
        if a.edge_only:
            rows += run_jobs(edge_jobs(cfg, rows, tuned, s1), out, chunks, a.workers)
            with open(os.path.join(out, "rows.json"), "w") as f:
                json.dump({"rows": rows, "tuned": tuned, "tuning": tuning}, f)
        report(a, cfg, out, cmd, rows, tuned, tuning, s1, small_bs)
        return
    # Stage 1: AdamW lr tuning (seed 1) and the SGD floor, all batch sizes.
    jobs = []
    for bs in cfg["batch_sizes"]:
        for lr in cfg["adamw_lrs"]:
            jobs.append((f"b{bs}_adamw_lr{fmt_lr(lr)}_s{s1}", overrides(cfg, bs, "adamw", lr, ADAMW_WD, s1), {}))
        for seed in cfg["seeds"]:
            jobs.append((f"b{bs}_sgd_lr{cfg['sgd_lr']}_s{seed}",
                         overrides(cfg, bs, "sgd", cfg["sgd_lr"], 0.0, seed, momentum=0.9), {}))
    rows = run_jobs(jobs, out, chunks, a.workers)
    tuned, tuning = {}, {}
    for bs in cfg["batch_sizes"]:
        cand = [r for r in rows if r["batch_size"] == bs and r["optimizer"] == "adamw"]
        tuning[bs] = [(r["lr"], r.get("val_loss")) for r in cand]
        good = [r for r in cand if r.get("val_loss") is not None]
        best = min(good, key=lambda r: r["val_loss"])
        tuned[bs] = best["lr"]
        for r in cand:
            if r is not best:
                r["tuning_only"] = True
        print(f"batch {bs}: AdamW tuned lr {tuned[bs]}", file=sys.stderr)

    # Stage 2: AdamW's other seeds, the Lion grid, and the two untied drift runs.
    jobs = main_jobs(cfg, tuned, cfg["seeds"], with_sgd=False)
    lion_drift = (tuned[small_bs] / min(cfg["lr_divs"]), round(ADAMW_WD * max(cfg["wd_mults"]), 6))
    jobs.append((f"drift_adamw_untied", overrides(cfg, small_bs, "adamw", tuned[small_bs], ADAMW_WD, s1,
                                                  tie_weights="false"), dict(tuning_only=True)))
    jobs.append((f"drift_lion_untied", overrides(cfg, small_bs, "lion", lion_drift[0], lion_drift[1], s1,
                                                 tie_weights="false"), dict(tuning_only=True)))
    rows += run_jobs(jobs, out, chunks, a.workers)
    # Stage 3: where AdamW's best lr is the top of its grid, is the grid's edge the optimum?
    rows += run_jobs(edge_jobs(cfg, rows, tuned, s1), out, chunks, a.workers)
    with open(os.path.join(out, "rows.json"), "w") as f:
        json.dump({"rows": rows, "tuned": tuned, "tuning": tuning}, f)
    report(a, cfg, out, cmd, rows, tuned, tuning, s1, small_bs)


def main_jobs(cfg, tuned, seeds, with_sgd=True):
    """The main table's runs for these seeds: tuned AdamW (its first seed ran in the tuning
    stage), the Lion grid, and the SGD floor (with_sgd; the full study runs it in stage 1)."""
    jobs = []
    for bs in cfg["batch_sizes"]:
        for seed in seeds:
            if seed != cfg["seeds"][0]:
                jobs.append((f"b{bs}_adamw_lr{fmt_lr(tuned[bs])}_s{seed}",
                             overrides(cfg, bs, "adamw", tuned[bs], ADAMW_WD, seed), {}))
            if with_sgd:
                jobs.append((f"b{bs}_sgd_lr{cfg['sgd_lr']}_s{seed}",
                             overrides(cfg, bs, "sgd", cfg["sgd_lr"], 0.0, seed, momentum=0.9), {}))
        for div in cfg["lr_divs"]:
            for mult in cfg["wd_mults"]:
                lr, wd = tuned[bs] / div, round(ADAMW_WD * mult, 6)
                for seed in seeds:
                    jobs.append((f"b{bs}_lion_div{div}_wd{wd}_s{seed}",
                                 overrides(cfg, bs, "lion", lr, wd, seed),
                                 dict(lr_div=div, wd_mult=mult)))
    return jobs


def drift_jobs(cfg, rows, tuned, s1, small_bs):
    """The runs `tlm diag embedding` reads: untied AdamW (tuned) and Lion (the grid's largest lr
    x weight decay), and the same two settings' tied grid runs, seed s1, the small batch size.
    Returns (jobs, [(label, run name)])."""
    lion_lr, lion_wd = tuned[small_bs] / min(cfg["lr_divs"]), round(ADAMW_WD * max(cfg["wd_mults"]), 6)
    tied_lion = f"b{small_bs}_lion_div{min(cfg['lr_divs'])}_wd{lion_wd}_s{s1}"
    tied_adamw = f"b{small_bs}_adamw_lr{fmt_lr(tuned[small_bs])}_s{s1}"
    jobs = [("drift_lion_untied", overrides(cfg, small_bs, "lion", lion_lr, lion_wd, s1, tie_weights="false"), {}),
            ("drift_adamw_untied", overrides(cfg, small_bs, "adamw", tuned[small_bs], ADAMW_WD, s1,
                                             tie_weights="false"), {}),
            (tied_lion, overrides(cfg, small_bs, "lion", lion_lr, lion_wd, s1), {}),
            (tied_adamw, overrides(cfg, small_bs, "adamw", tuned[small_bs], ADAMW_WD, s1), {})]
    return jobs, [("lion untied", "drift_lion_untied"), ("adamw untied", "drift_adamw_untied"),
                  ("lion tied", tied_lion), ("adamw tied", tied_adamw)]


def edge_jobs(cfg, rows, tuned, s1):
    """For each batch size whose tuned AdamW lr is the largest of the grid: AdamW at 2x that
    lr and Lion at lr/1.5 with weight decay x10 (seed 1 only, not part of the main table), to
    see whether the tuning grid or the paper's lr/3..10 mapping cut the comparison short."""
    jobs, done = [], {r["name"] for r in rows}
    for bs, lr in tuned.items():
        if lr < max(cfg["adamw_lrs"]):
            continue
        for name, o in [(f"edge_b{bs}_adamw_lr{fmt_lr(2 * lr)}_s{s1}",
                         overrides(cfg, bs, "adamw", 2 * lr, ADAMW_WD, s1)),
                        (f"edge_b{bs}_lion_div1.5_wd{round(ADAMW_WD * 10, 6)}_s{s1}",
                         overrides(cfg, bs, "lion", lr / 1.5, round(ADAMW_WD * 10, 6), s1))]:
            if name not in done:
                jobs.append((name, o, dict(tuning_only=True, edge=True)))
    return jobs


def edge_note(rows, tuned, s1):
    edge = [r for r in rows if r.get("edge")]
    if not edge:
        return ""
    lines = ["Edge check (seed 1; AdamW's best lr was the top of its grid): val loss against "
             "tuned AdamW of the same batch size and seed.", "",
             "| run | lr | weight_decay | val_loss | minus tuned AdamW |", "|---|---|---|---|---|"]
    for r in edge:
        base = next((b for b in rows if b["batch_size"] == r["batch_size"] and b["optimizer"] == "adamw"
                     and not b.get("tuning_only") and b["seed"] == s1), None)
        d = r["val_loss"] - base["val_loss"] if base and r.get("val_loss") is not None else None
        lines.append(f"| {r['name']} | {fmt_lr(r['lr'])} | {r['weight_decay']} | "
                     f"{r.get('val_loss') or float('nan'):.4f} | {d if d is None else f'{d:+.4f}'} |")
    return "\n".join(lines)


def paired_noise(out, cfg, rows, s1):
    """The eval noise of a *difference* between two runs (what the comparison needs): per chunk
    d_i = loss_B,i - loss_A,i on the same tokens; SE = std(d) / sqrt(chunks). For each batch
    size: AdamW seed 1 vs the best Lion setting's seed 1, and AdamW seed 1 vs seed 2."""
    chunks = val_chunks(out, cfg["chunks"])
    if len(chunks) < 2:
        return ""
    lines = ["| batch | A | B | mean(B - A) | eval SE of the difference |", "|---|---|---|---|---|"]
    earlier = {}  # (batch, A, B) -> its line in the previous optimizers.md
    md = os.path.join(out, "optimizers.md")
    if os.path.exists(md):
        for line in open(md):
            f = [x.strip() for x in line.strip().strip("|").split("|")]
            if len(f) == 5 and f[0].isdigit() and f[1].startswith("b"):
                earlier[(int(f[0]), f[1], f[2])] = line.rstrip("\n")
    for bs in sorted({r["batch_size"] for r in rows}):
        main = [r for r in rows if r["batch_size"] == bs and not r.get("tuning_only") and not r["failed"]
                and r.get("val_loss") is not None]
        adamw = {r["seed"]: r for r in main if r["optimizer"] == "adamw"}
        lion = [r for r in main if r["optimizer"] == "lion"]
        if s1 not in adamw or not lion:
            continue
        best = {}
        for r in lion:
            best.setdefault((r["lr"], r["weight_decay"]), []).append(r["val_loss"])
        key = min(best, key=lambda k: statistics.fmean(best[k]))
        pairs = [(adamw[s1], next(r for r in lion if (r["lr"], r["weight_decay"]) == key
                                  and r["seed"] == s1))]
        pairs += [(adamw[s1], adamw[s]) for s in sorted(adamw) if s != s1]
        for a, b in pairs:
            ckpts = [os.path.join(r["_run_dir"], "ckpt.bin") for r in (a, b)]
            if not all(os.path.exists(c) for c in ckpts):
                # The checkpoints were not kept (runs/ is not committed): keep the line the
                # report that had them wrote, if there is one.
                prev = earlier.get((bs, a["name"], b["name"]))
                if prev:
                    lines.append(prev)
                continue
            la = chunk_losses(ckpts[0], chunks, os.devnull)
            lb = chunk_losses(ckpts[1], chunks, os.devnull)
            if la is None or lb is None:
                continue
            d = [y - x for x, y in zip(la, lb)]
            lines.append(f"| {bs} | {a['name']} | {b['name']} | {statistics.fmean(d):+.4f} | "
                         f"{statistics.stdev(d) / math.sqrt(len(d)):.4f} |")
    return "Paired eval noise (same tokens, per-chunk differences):\n\n" + "\n".join(lines)


def report(a, cfg, out, cmd, rows, tuned, tuning, s1, small_bs):
    lion_drift = (tuned[small_bs] / min(cfg["lr_divs"]), round(ADAMW_WD * max(cfg["wd_mults"]), 6))
    tlmlib.write_csv(os.path.join(out, "optimizers.csv"), rows, RUN_COLS)
    summary = summarize(rows, tuned)
    tlmlib.write_csv(os.path.join(out, "summary.csv"), summary, SUMMARY_COLS)

    # The embedding side effect.
    tied_lion = f"b{small_bs}_lion_div{min(cfg['lr_divs'])}_wd{lion_drift[1]}_s{s1}"
    tied_adamw = next(r["name"] for r in rows if r["batch_size"] == small_bs and r["optimizer"] == "adamw"
                      and not r.get("tuning_only") and r["seed"] == s1)
    pairs, table = drift_report(out, [("lion untied", "drift_lion_untied"),
                                      ("adamw untied", "drift_adamw_untied"),
                                      ("lion tied", tied_lion), ("adamw tied", tied_adamw)], a.workers)
    drift_note = ("Embedding drift (`tlm diag embedding`, per input-embedding row against its "
                  "token's count in the training text; see drift.csv and drift.png):\n\n"
                  "| run | wd | bucket | tokens | mean abs | max abs | max frac of 1/wd | std/mean abs |\n"
                  "|---|---|---|---|---|---|---|---|\n" +
                  "\n".join(f"| {t['run']} | {t['weight_decay']} | {t['bucket']} | {t['tokens']} | "
                            f"{t['mean_abs']:.4f} | {t['max_abs']:.4f} | {t['frac_fixed_max']:.4f} | "
                            f"{t['abs_cv']:.3f} |" for t in table))
    ses = [r["val_se"] for r in rows if r.get("val_se") is not None and not math.isnan(r["val_se"])]
    noise_note = (f"Eval noise: the standard error over the {cfg['chunks']} chunks is "
                  f"{statistics.fmean(ses):.4f} on average (max {max(ses):.4f}); every run is "
                  "scored on the same tokens, so paired differences carry less than that."
                  if ses else "Eval noise: not available (one chunk).")
    noise_note += "\n\n" + paired_noise(out, cfg, rows, s1) + "\n\n" + edge_note(rows, tuned, s1)
    write_md(os.path.join(out, "optimizers.md"), summary, cfg, cmd, cfg["adamw_lrs"], tuning,
             drift_note, noise_note)
    with open(os.path.join(out, "curves.json"), "w") as f:
        json.dump({r["name"]: r["_curve"] for r in rows}, f)
    plot(out, rows, summary, pairs)
    print(open(os.path.join(out, "optimizers.md")).read())
    print(f"wrote {out}/optimizers.csv, summary.csv, optimizers.md, val_vs_step.png, "
          "val_vs_wall.png, drift.csv, drift.png", file=sys.stderr)


if __name__ == "__main__":
    main()
