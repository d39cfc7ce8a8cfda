"""Shared parts of the ablation scripts (scripts/ablate_*.py): argument parsing (--quick,
--seeds, --threads), the common small-model settings, the final evaluation on the whole
validation split, seed statistics and the verdict rule, and the output files and plots.

Seeds and verdicts. Every arm runs with seeds 1337, 1338, ... (`--seeds N`; default 3 for full
runs, 1 for --quick); a seed sets the initialisation and the batches, so two arms with the same
seed share their data order and their differences are *paired*. Per arm the scripts report
mean, std (sample, n - 1) and min-max over seeds; per comparison the paired differences, their
mean and std. `verdict` states a ranking only when the difference exceeds the seed spread:
  paired (>= 2 shared seeds): every paired difference has the same sign and |mean| > std;
  unpaired (>= 2 seeds each): the two min-max ranges do not overlap;
otherwise "no difference measured". One seed never ranks.

Runs are sequential, threads=1 by default (2 shared cores).
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tlmlib  # noqa: E402

FIRST_SEED = 1337


def add_seed_args(p, threads=1):
    """--quick, --seeds and --threads, for scripts with their own parser."""
    p.add_argument("--quick", action="store_true", help="small grid, under 3 minutes on 2 cores")
    p.add_argument("--seeds", type=int, default=None,
                   help="seeds per arm (default 3, --quick 1); seeds 1337, 1338, ...")
    p.add_argument("--threads", type=int, default=threads)
    p.add_argument("--reuse_runs", action="store_true",
                   help="keep finished runs with the same arguments and build (tlmlib.run_tlm): "
                        "an interrupted study continues where it stopped")
    return p


def finish_args(a):
    if a.seeds is None:
        a.seeds = 1 if a.quick else 3
    if a.seeds < 1:
        sys.exit("--seeds must be at least 1")
    if a.reuse_runs:
        os.environ[tlmlib.REUSE_ENV] = "1"  # read by tlmlib.run_tlm, in this process only
    return a


def seed_list(n):
    return [FIRST_SEED + i for i in range(n)]


def parse_args(description, default_out, default_data=None, workers=False, report_only=False):
    p = argparse.ArgumentParser(description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_seed_args(p)
    if workers:
        p.add_argument("--workers", type=int, default=1, help="runs at once (each --threads threads)")
    if report_only:
        p.add_argument("--report_only", action="store_true",
                       help="no training: the tables and the plot from the CSVs in --out")
    p.add_argument("--out", default=default_out, help="output directory")
    if default_data is None:
        default_data = tlmlib.SHAKESPEARE if os.path.exists(tlmlib.SHAKESPEARE) else ""
    p.add_argument("--data", default=default_data, help="a text file or a built-in task "
                   f"(task:copy, probe:position); default: {default_data or 'the built-in corpus'}")
    return finish_args(p.parse_args())


def base(args, **kw):
    """Small char-level models; overridden per script/run. The periodic evaluation (curves)
    uses eval_iters batches; the final figure is `final_eval` on the whole validation split."""
    o = dict(seed=FIRST_SEED, threads=args.threads, eval_iters=10, log_interval=1000,
             ckpt_interval=0, dropout=0.0, batch_size=8, warmup_iters=20, learning_rate=1e-3,
             min_lr=1e-4)
    if args.data:
        o["data"] = args.data
    o.update(kw)
    o.setdefault("lr_decay_iters", o.get("max_iters", 2000))
    o.setdefault("eval_interval", max(1, o.get("max_iters", 2000) // 4))
    o["warmup_iters"] = min(o["warmup_iters"], o["lr_decay_iters"])
    return o


def train(name, overrides, out):
    """One `tlm train` run in out/runs/<name> (name should carry the seed)."""
    run_dir = os.path.join(out, "runs", name)
    os.makedirs(run_dir, exist_ok=True)
    r = tlmlib.run_tlm(overrides, run_dir, log_path=os.path.join(run_dir, "stderr.txt"))
    r["run_dir"] = run_dir
    print(f"  {name}: val {r.get('val_loss')} ({r['wall_s']} s){' FAILED' if r['failed'] else ''}",
          file=sys.stderr, flush=True)
    return r


def params_of(overrides):
    """Parameter count of a config, from `tlm info --set k=v ...` (no training)."""
    args = [tlmlib.TLM, "info"]
    for k, v in overrides.items():
        args += ["--set", f"{k}={v}"]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])["params"]


def eval_at(run_dir, block_size, max_tokens, threads=1):
    """`tlm eval --block_size N --json` on the run's checkpoint; None if it fails. On text,
    at most max_tokens of the validation split; on a built-in task, max_tokens / N fresh rows
    (at most 256)."""
    ckpt = os.path.join(run_dir, "ckpt.bin")
    p = subprocess.run([tlmlib.TLM, "eval", "--ckpt", ckpt, "--block_size", str(block_size),
                        "--json", "--max_tokens", str(max_tokens), "--batch_size", "4"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS=str(threads)))
    if p.returncode != 0:
        print(f"  eval {run_dir} at {block_size} failed: {p.stderr.strip()}", file=sys.stderr)
        return None
    return json.loads(p.stdout.strip().splitlines()[-1])


WHOLE_SPLIT = 1 << 30  # max_tokens that covers any validation split here


def final_eval(r, block_size, threads=1, metrics=False):
    """The run's final figure: `tlm eval` over the whole validation split (tiny Shakespeare:
    111,540 characters), or 256 fresh rows of a built-in task. Sets r['val_loss'] (and
    'accuracy' where reported); keeps the trainer's own last evaluation as 'val_loss_trainer'."""
    r["val_loss_trainer"] = r.get("val_loss")
    if r.get("failed"):
        r["val_loss"] = None
        return r
    e = eval_at(r["run_dir"], block_size, WHOLE_SPLIT if block_size <= 4096 else 1 << 20, threads)
    r["val_loss"] = e["loss"] if e else None
    if e:
        r["eval_tokens"] = e.get("tokens")
        if "accuracy" in e:
            r["accuracy"] = e["accuracy"]
    return r


def diverged(r):
    """A failed run, a non-finite final loss, or no progress below the first step's loss."""
    v = r.get("val_loss")
    if r.get("failed") or v is None or not math.isfinite(v):
        return True
    steps = [x["loss"] for x in r.get("log", []) if x.get("kind") == "step"]
    return bool(steps) and v >= steps[0]


def unigram_val_loss(path, val_fraction=0.1):
    """Cross-entropy (nats) on the validation split of a character model that only knows the
    training split's character frequencies: a run whose val loss stays at this level has
    learnt nothing from the context. None for built-in tasks and the built-in corpus."""
    if not path or not os.path.isfile(path):  # "", task:copy, probe:...
        return None
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    cut = int(len(text) * (1.0 - val_fraction))
    train, val = text[:cut], text[cut:]
    counts = {}
    for ch in train:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(train)
    return -sum(math.log(counts.get(ch, 0.5) / n) for ch in val) / max(1, len(val))


def stalled(r, unigram, margin=0.05):
    """Trained without diverging but never got below the unigram level (+ margin)."""
    v = r.get("val_loss")
    return unigram is not None and v is not None and math.isfinite(v) and v >= unigram - margin


def step_curve(r):
    return [x for x in r.get("log", []) if x.get("kind") == "step"]


def eval_curve(r):
    return [x for x in r.get("log", []) if x.get("kind") == "eval"]


def write_outputs(out, stem, rows, columns, title, notes=""):
    os.makedirs(out, exist_ok=True)
    cmd = "/usr/bin/python3 " + " ".join(sys.argv)
    tlmlib.write_csv(os.path.join(out, stem + ".csv"), rows, columns)
    tlmlib.write_markdown(os.path.join(out, stem + ".md"), rows, columns, title, cmd, notes)
    print(open(os.path.join(out, stem + ".md")).read())


# ---------------------------------------------------------------------------------------
# Seed statistics and the verdict rule
# ---------------------------------------------------------------------------------------
def finite_values(vals):
    """The finite numbers of a list or of a {seed: value} dict's values."""
    vs = vals.values() if isinstance(vals, dict) else vals
    return [float(v) for v in vs if v is not None and math.isfinite(float(v))]


def stats(vals):
    """n, mean, std (n - 1; 0 for one value), min, max of the finite values (None if none)."""
    v = finite_values(vals)
    if not v:
        return dict(n=0, mean=None, std=None, min=None, max=None)
    return dict(n=len(v), mean=statistics.fmean(v), std=statistics.stdev(v) if len(v) > 1 else 0.0,
                min=min(v), max=max(v))


def fmt_stats(st, nd=4):
    """'mean ± std [min–max] (n)', or 'n/a'; st is stats() or the values ({seed: v} or list)."""
    if not (isinstance(st, dict) and "n" in st and "mean" in st):
        st = stats(st or [])
    if st["n"] == 0:
        return "n/a"
    if st["n"] == 1:
        return f"{st['mean']:.{nd}f} (1 seed)"
    return (f"{st['mean']:.{nd}f} ± {st['std']:.{nd}f} [{st['min']:.{nd}f}–{st['max']:.{nd}f}] "
            f"({st['n']} seeds)")


def paired_diffs(a, b):
    """b - a for every seed both {seed: value} dicts have with finite values."""
    return [float(b[s]) - float(a[s]) for s in sorted(set(a) & set(b))
            if a[s] is not None and b[s] is not None and math.isfinite(float(a[s]))
            and math.isfinite(float(b[s]))]


def verdict(name_a, a, name_b, b, lower_is_better=True, nd=4):
    """Compares arm B with arm A ({seed: value} each). Returns a dict: decided (a ranking is
    stated), better (the better arm's name or None), diff (mean of B - A; paired when >= 2
    seeds are shared, else the difference of the means), spread (std of the paired
    differences, or the larger of the two stds), paired, n, text. See the module docstring."""
    d = paired_diffs(a, b)
    sa, sb = stats(a), stats(b)
    out = dict(decided=False, better=None, diff=None, spread=None, paired=len(d) >= 2, n=len(d))
    if len(d) >= 2:
        mean, sd = statistics.fmean(d), statistics.stdev(d)
        out.update(diff=mean, spread=sd)
        same_sign = all(x > 0 for x in d) or all(x < 0 for x in d)
        decided = same_sign and abs(mean) > sd
        how = f"{name_b} − {name_a} = {mean:+.{nd}f} ± {sd:.{nd}f} over {len(d)} paired seeds"
    elif sa["n"] >= 2 and sb["n"] >= 2:
        mean = sb["mean"] - sa["mean"]
        out.update(diff=mean, spread=max(sa["std"], sb["std"]), paired=False, n=min(sa["n"], sb["n"]))
        decided = sa["max"] < sb["min"] or sb["max"] < sa["min"]
        how = (f"{name_b} − {name_a} = {mean:+.{nd}f} (means; seed ranges "
               f"[{sa['min']:.{nd}f}–{sa['max']:.{nd}f}] and [{sb['min']:.{nd}f}–{sb['max']:.{nd}f}])")
    else:
        if sa["n"] and sb["n"]:
            out["diff"] = sb["mean"] - sa["mean"]
            how = f"{name_b} − {name_a} = {out['diff']:+.{nd}f} from one seed: no spread to compare with"
        else:
            how = "a value is missing"
        out["text"] = f"no difference measured ({how})"
        return out
    if decided:
        b_better = (out["diff"] < 0) == lower_is_better
        out["better"] = name_b if b_better else name_a
        out["decided"] = True
        out["text"] = f"{out['better']} better ({how})"
    else:
        out["text"] = f"no difference measured ({how})"
    return out


def _selftest():
    """The verdict rule on made-up numbers where both outcomes occur."""
    a = {1: 2.00, 2: 2.10, 3: 1.95}
    clear = verdict("A", a, "B", {1: 1.90, 2: 2.01, 3: 1.84})  # B lower by ~0.1 on every seed
    assert clear["decided"] and clear["better"] == "B" and clear["paired"], clear
    assert abs(clear["diff"] + 0.1) < 1e-12, clear
    noisy = verdict("A", a, "B", {1: 1.90, 2: 2.15, 3: 1.97})  # signs differ
    assert not noisy["decided"] and noisy["text"].startswith("no difference measured"), noisy
    up = verdict("A", {1: 0.5, 2: 0.6}, "B", {1: 0.7, 2: 0.75}, lower_is_better=False)
    assert up["decided"] and up["better"] == "B", up  # higher accuracy wins
    small = verdict("A", a, "B", {1: 2.01, 2: 2.30, 3: 1.96})  # same sign, |mean| < std
    assert not small["decided"], small
    unpaired = verdict("A", {1: 1.0, 2: 1.1}, "B", {7: 1.3, 8: 1.2})
    assert unpaired["decided"] and not unpaired["paired"] and unpaired["better"] == "A", unpaired
    overlap = verdict("A", {1: 1.0, 2: 1.25}, "B", {7: 1.3, 8: 1.2})
    assert not overlap["decided"], overlap
    one = verdict("A", {1: 1.0}, "B", {1: 3.0})
    assert not one["decided"] and "one seed" in one["text"], one
    st = stats([1.0, 2.0, 3.0, None, float("nan")])
    assert st["n"] == 3 and st["mean"] == 2.0 and st["std"] == 1.0 and (st["min"], st["max"]) == (1.0, 3.0)
    assert fmt_stats(stats([2.0])) == "2.0000 (1 seed)"


# ---------------------------------------------------------------------------------------
# Plots with the seed spread
# ---------------------------------------------------------------------------------------
def _plt():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        return plt
    except ImportError:
        print("matplotlib is missing: apt-get install -y python3-matplotlib (no plot written)",
              file=sys.stderr)
        return None


def set_ylim_floor(ax, values, min_span):
    """y-limits around the values spanning at least min_span, so a difference far below
    min_span (chosen at the scale of the effect the claim is about) does not fill the axis."""
    v = finite_values(values)
    if not v:
        return
    lo, hi = min(v), max(v)
    span = max(hi - lo, min_span)
    mid = (lo + hi) / 2
    ax.set_ylim(mid - 0.6 * span, mid + 0.6 * span)


STYLES = ["-", "--", "-.", ":"]


def plot_bands(path, series, xlabel, ylabel, title, min_span=None, logx=False, logy=False):
    """series: list of (label, [curve per seed]) where a curve is a list of (x, y). Draws the
    mean over seeds with a min-max band; colours cycle every 10 series and line styles every
    10, so no two series look alike."""
    plt = _plt()
    if plt is None:
        return False
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    ys_all = []
    for i, (label, curves) in enumerate(series):
        curves = [c for c in curves if c]
        if not curves:
            continue
        xs = sorted(set.intersection(*[set(x for x, _ in c) for c in curves]))
        if not xs:
            continue
        per = [dict(c) for c in curves]
        ys = [[p[x] for p in per if p.get(x) is not None] for x in xs]
        mean = [statistics.fmean(y) for y in ys]
        color = f"C{i % 10}"
        ax.plot(xs, mean, STYLES[(i // 10) % 4], color=color, marker="o" if len(xs) <= 12 else None,
                markersize=3, label=f"{label} (n={len(curves)})")
        if len(curves) > 1:
            ax.fill_between(xs, [min(y) for y in ys], [max(y) for y in ys], color=color, alpha=0.2)
        ys_all += [v for y in ys for v in y]
    if min_span is not None:
        set_ylim_floor(ax, ys_all, min_span)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2 if len(series) > 6 else 1)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def plot_arms(path, panels, title, min_spans=None):
    """Final values per arm with their seed spread: panels = list of (ylabel, [(arm, {seed:
    value})]); a dot per seed, the mean as a bar-free marker with min-max error bars."""
    plt = _plt()
    if plt is None:
        return False
    fig, axes = plt.subplots(1, len(panels), figsize=(max(7.5, 4.6 * len(panels)), 4.6), squeeze=False)
    for j, (ax, (ylabel, arms)) in enumerate(zip(axes[0], panels)):
        allv = []
        for i, (arm, vals) in enumerate(arms):
            v = finite_values(vals)
            if not v:
                continue
            st = stats(v)
            ax.errorbar([i], [st["mean"]], yerr=[[st["mean"] - st["min"]], [st["max"] - st["mean"]]],
                        fmt="o", color="black", capsize=5, markersize=6)
            ax.scatter([i + 0.12] * len(v), v, s=12, color="tab:blue", alpha=0.7)
            allv += v
        ax.set_xticks(range(len(arms)))
        ax.set_xticklabels([a for a, _ in arms], rotation=40, ha="right", fontsize=8)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3, axis="y")
        if min_spans and min_spans[j] is not None:
            set_ylim_floor(ax, allv, min_spans[j])
    fig.suptitle(title + "\n(black: mean and min–max over seeds; blue: each seed)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def arm_summary(rows, arm_key, metric, arms=None):
    """{arm: {seed: value}} from per-run rows (each with arm_key, 'seed' and metric)."""
    out = {}
    for r in rows:
        out.setdefault(r[arm_key], {})[r["seed"]] = r.get(metric)
    if arms is not None:
        out = {a: out.get(a, {}) for a in arms}
    return out


def summary_rows(by_arm, metric, ref=None, lower_is_better=True, extra=None):
    """One row per arm: mean/std/min/max of metric, and against `ref` the paired difference
    and the verdict text."""
    rows = []
    for arm, vals in by_arm.items():
        st = stats(vals)
        row = dict(arm=arm, seeds=st["n"], mean=st["mean"], std=st["std"], min=st["min"],
                   max=st["max"])
        if ref is not None and arm != ref:
            v = verdict(ref, by_arm[ref], arm, vals, lower_is_better)
            d = paired_diffs(by_arm[ref], vals)
            row.update(diff_vs_ref=v["diff"], diff_std=statistics.stdev(d) if len(d) > 1 else None,
                       verdict=v["text"])
        row.update((extra or {}).get(arm, {}))
        rows.append(row)
    return rows


SUMMARY_COLS = ["arm", "seeds", "mean", "std", "min", "max", "diff_vs_ref", "diff_std", "verdict"]


if __name__ == "__main__":
    _selftest()
    print("ablation_util: selftest passed")
