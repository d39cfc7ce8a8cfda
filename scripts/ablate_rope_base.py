#!/usr/bin/env python3
"""Ablation 4: RoPE base against the lower bound of "Base of RoPE Bounds Context Length"
(arXiv:2405.14591; `tlm rope-bound`; docs/methods.md), on a retrieval task, with seeds.

The claim: below the bound a model may keep a good loss but fails at long-range retrieval.
The test: train on `task:recall` at context T with a small head size h (so the bound is
large), with bases on both sides of the bound for (T, h) (two of them meeting the bound only up
to T/4 and 3T/8, inside the copy distances); evaluate accuracy grouped by the copy distance k.
task:recall (train/data/probes.h): m distinct keys, fillers, a separator at k, the keys again;
each copied key occurs once, k + 1 tokens back, so it is found by content (an induction head),
the similar-token attention the bound is about; k spans [2, T - 2]. L_b: the longest context
whose bound base b satisfies (bisection over `tlm rope-bound`). The paper predicts accuracy
falls for k beyond L_b. (`--data task:copy`: the 15-symbol copy task, k in [T/8, T/2], where a
copy is found by position; at T = 1024 a 2 x 64 model stays at chance on it.)

  /usr/bin/python3 scripts/ablate_rope_base.py --quick   # context 64, h 32 (bound 315), 40 steps, 1 seed
  /usr/bin/python3 scripts/ablate_rope_base.py --workers 2  # context 1024, h 32 (bound 5.8e4): 1,500 steps at 128, 1,000 at 1024; 3 seeds
  /usr/bin/python3 scripts/ablate_rope_base.py --data data/tinyshakespeare.txt  # text: loss only

Writes <out>/rope_base.csv (per run), rope_base_summary.csv (per base), rope_distance.csv
(accuracy per run and distance bin), rope_base.md, rope_base.png.
"""
import concurrent.futures as cf
import json
import math
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ablation_util as U  # noqa: E402
import tlmlib  # noqa: E402


def bound_of(T, h):
    p = subprocess.run([tlmlib.TLM, "rope-bound", "--context", str(T), "--head_size", str(h)],
                       stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(p.stdout)["rope_base_lower_bound"]


def context_limit(base, h, hi):
    """The largest L in [2, hi] with bound(L, h) <= base (hi if every L up to hi passes)."""
    if bound_of(hi, h) <= base:
        return hi
    lo = 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if bound_of(mid, h) <= base:
            lo = mid
        else:
            hi = mid
    return lo


def two_phase(name, o, short_iters, out):
    """short_iters steps at context T/8 and 4x the batch (runs/<name>_short), then the run
    continued at context T up to o['max_iters'] steps (runs/<name>: the short run's checkpoint,
    resumed with --set block_size=T; RoPE has no weight that depends on the context). One
    cosine schedule over both phases."""
    T = o["block_size"]
    short = dict(o, block_size=T // 8, batch_size=4 * o["batch_size"], max_iters=short_iters)
    r1 = U.train(name + "_short", short, out)
    if r1["failed"]:
        return r1
    run_dir = os.path.join(out, "runs", name)
    shutil.rmtree(run_dir, ignore_errors=True)  # never a stale result: phase 2 always runs
    os.makedirs(run_dir)
    for f in ("ckpt.bin", "log.jsonl"):
        shutil.copy(os.path.join(r1["run_dir"], f), run_dir)
    r = tlmlib.run_tlm(o, run_dir, log_path=os.path.join(run_dir, "stderr.txt"), extra_args=["--resume"])
    r["run_dir"] = run_dir
    r["wall_s"] = round(r["wall_s"] + r1["wall_s"], 2)
    print(f"  {name}: {short_iters} steps at {T // 8}, then to {o['max_iters']} at {T}: val "
          f"{r.get('val_loss')} ({r['wall_s']} s){' FAILED' if r['failed'] else ''}", file=sys.stderr, flush=True)
    return r


def main():
    args = U.parse_args(__doc__, "out/ablations/rope_base", default_data="task:recall", workers=True,
                        report_only=True)
    tlmlib.ensure_built()
    # task:recall trains in two phases (context extension, as in the paper's long-context
    # runs): short_iters steps at context T/8 and batch 4B, where every base here meets the
    # bound and the induction head forms (in probes at 128: loss < 0.1 by step 1,250 on both
    # seeds tried; at 256 it formed after 2,500 steps on one seed and not by 3,000 on another;
    # from scratch at 1024, on an earlier variant with keys from 512 symbols, 2 x 64 stayed at
    # chance for 2,200 steps), then `--resume --set
    # block_size=T` for the remaining steps at T.
    if args.quick:
        C, H, L, T, iters, B, short_iters = 32, 1, 2, 64, 40, 4, 20
    else:
        C, H, L, T, iters, B, short_iters = 64, 2, 2, 1024, 800, 4, 0
    data = args.data
    copy = data in ("task:copy", "task:recall")
    recall = data == "task:recall"
    if recall and not args.quick:
        iters, short_iters = 2500, 1500
    if not recall:
        short_iters = 0
    h = C // H
    bound = bound_of(T, h)
    # Two bases below the bound whose context limits fall inside the copy distances [T/8, T/2]
    # (the bases that just meet the bound for T/4 and 3T/8), the bound for T, and 3x the bound.
    bases = [math.ceil(bound_of(T // 4, h)), math.ceil(bound_of(3 * T // 8, h)), math.ceil(bound),
             math.ceil(bound * 3)]
    limits = {b: context_limit(b, h, 4 * T) for b in bases}
    print(f"bound(T={T}, h={h}) = {bound:.1f}; bases {bases}; context limits {limits}", file=sys.stderr)
    rows, dist_rows, curves = [], [], {}
    if recall:  # 8 distance bins over [2, T)
        edges = [2] + [i * T // 8 for i in range(1, 8)] + [T]
    else:  # 6 distance bins over [T/8, T/2]
        edges = [T // 8 + i * (T // 2 - T // 8) // 6 for i in range(7)]
        edges[-1] = T // 2 + 1
    def run_one(b, seed):
        """Trains and scores one (base, seed): its row and its distance-bin rows."""
        o = U.base(args, n_embd=C, n_head=H, n_layer=L, block_size=T, max_iters=iters, pos="rope",
                   rope_base=b, batch_size=B, seed=seed, data=data, learning_rate=2e-3,
                   min_lr=2e-4, warmup_iters=50)
        if short_iters:
            r = two_phase(f"base_{b}_s{seed}", o, short_iters, args.out)
        else:
            r = U.train(f"base_{b}_s{seed}", o, args.out)
        e = U.eval_at(r["run_dir"], T, 256 * T, args.threads) if not r["failed"] else None
        row = dict(rope_base=b, seed=seed, bound=round(bound, 1), above_bound=b >= bound,
                   context_limit=limits[b], train_loss=r.get("train_loss"),
                   val_loss=e["loss"] if e else None, accuracy=e.get("accuracy") if e else None,
                   eval_tokens=e.get("tokens") if e else None, wall_s=r["wall_s"])
        drows = []
        if e and "by_copy_length" in e:
            bl = e["by_copy_length"]
            # the retrieval distance: task:recall's first copy is k + 1 back; task:copy's k
            dist = [(k + 1 if recall else k, c, n) for k, c, n in zip(bl["k"], bl["correct"], bl["count"])]
            near = [(d, c, n) for d, c, n in dist if d <= limits[b]]
            far = [(d, c, n) for d, c, n in dist if d > limits[b]]
            row["acc_within_limit"] = sum(c for _, c, _ in near) / sum(n for *_, n in near) if near else None
            row["acc_beyond_limit"] = sum(c for _, c, _ in far) / sum(n for *_, n in far) if far else None
            for lo, hi in zip(edges[:-1], edges[1:]):
                sel = [(c, n) for d, c, n in dist if lo <= d < hi]
                if sel:
                    drows.append(dict(rope_base=b, seed=seed, k_lo=lo, k_hi=hi - 1,
                                      k_mid=(lo + hi - 1) / 2, correct=sum(c for c, _ in sel),
                                      count=sum(n for _, n in sel),
                                      accuracy=sum(c for c, _ in sel) / sum(n for _, n in sel),
                                      beyond_limit=(lo + hi - 1) / 2 > limits[b]))
        return row, drows

    jobs = [] if args.report_only else [(b, seed) for b in bases for seed in U.seed_list(args.seeds)]
    if args.report_only:  # the tables and the plot from the committed CSVs
        rows, dist_rows = tlmlib.read_csv(os.path.join(args.out, "rope_base.csv")), \
            tlmlib.read_csv(os.path.join(args.out, "rope_distance.csv"))
        for b in bases:
            for seed in sorted({r["seed"] for r in rows if r["rope_base"] == b}):
                curves.setdefault(b, []).append([(d["k_mid"], d["accuracy"]) for d in dist_rows
                                                 if d["rope_base"] == b and d["seed"] == seed])
    with cf.ThreadPoolExecutor(max_workers=args.workers) as ex:
        for (b, seed), (row, drows) in zip(jobs, ex.map(lambda j: run_one(*j), jobs)):
            rows.append(row)
            dist_rows += drows
            os.makedirs(args.out, exist_ok=True)  # partial results survive an interrupted run
            tlmlib.write_csv(os.path.join(args.out, "rope_base.csv"), rows, list(row))
            curves.setdefault(b, []).append([(d["k_mid"], d["accuracy"]) for d in drows])
    cols = ["rope_base", "seed", "bound", "above_bound", "context_limit", "train_loss", "val_loss",
            "accuracy", "acc_within_limit", "acc_beyond_limit", "eval_tokens", "wall_s"]
    os.makedirs(args.out, exist_ok=True)
    if not args.report_only:
        tlmlib.write_csv(os.path.join(args.out, "rope_base.csv"), rows, cols)
        tlmlib.write_csv(os.path.join(args.out, "rope_distance.csv"), dist_rows,
                         ["rope_base", "seed", "k_lo", "k_hi", "k_mid", "correct", "count", "accuracy",
                          "beyond_limit"])
    ref = math.ceil(bound)
    metric = "accuracy" if copy else "val_loss"
    by = U.arm_summary(rows, "rope_base", metric, bases)
    summary = U.summary_rows(by, metric, ref=ref, lower_is_better=not copy,
                             extra={b: dict(context_limit=limits[b], above_bound=b >= bound) for b in bases})
    scols = ["arm", "above_bound", "context_limit"] + U.SUMMARY_COLS[1:]
    tlmlib.write_csv(os.path.join(args.out, "rope_base_summary.csv"), summary, scols)
    task_name = "Recall task (task:recall)" if recall else ("Copy task (task:copy)" if copy else f"Text ({data})")
    phases = (f"{short_iters} steps at context {T // 8} (batch {4 * B}), then {iters - short_iters} steps at "
              f"context {T} (batch {B}, `--resume --set block_size={T}`), one cosine schedule"
              if short_iters else f"{iters} steps, batch {B}")
    notes = [f"{task_name} at context {T}, head size {h} ({L} layers, width {C}, {H} heads), {phases}"
             f", lr 2e-3; `tlm rope-bound --context {T} --head_size {h}` = {bound:.1f}. "
             f"context_limit L_b: the longest context whose bound base b meets. {metric}: `tlm eval` on "
             f"{'256 fresh rows' if copy else 'the whole validation split'} at context {T}"
             f"{' (every scored token: the first copy and the later cycles)' if recall else ''}; per base mean ± std [min–max] over "
             f"{len({r['seed'] for r in rows})} seed(s); diff_vs_ref against base {ref} (at the bound), paired by seed."]
    if copy:
        notes.append("\nAccuracy within / beyond each base's context limit (" +
                     ("retrieval distance k + 1" if recall else "copy distance k") + " <= L_b or > L_b), per seed:\n")
        notes.append("| base | L_b | within | beyond |\n|---|---|---|---|")
        for b in bases:
            w = U.stats([r["acc_within_limit"] for r in rows if r["rope_base"] == b])
            f = U.stats([r["acc_beyond_limit"] for r in rows if r["rope_base"] == b])
            notes.append(f"| {b} | {limits[b]} | {U.fmt_stats(w)} | {U.fmt_stats(f)} |")
        bins = sorted({(d["k_lo"], d["k_hi"]) for d in dist_rows})
        notes.append("\nAccuracy by distance bin (" + ("first copy, " if recall else "") +
                     "mean over seeds; * = the bin's middle is beyond the base's L_b):\n")
        notes.append("| base | " + " | ".join(f"{lo}-{hi}" for lo, hi in bins) + " |\n|---|" + "---|" * len(bins))
        for b in bases:
            cells = []
            for lo, hi in bins:
                accs = [d["accuracy"] for d in dist_rows if d["rope_base"] == b and d["k_lo"] == lo]
                mark = "*" if (lo + hi) / 2 > limits[b] else ""
                cells.append(f"{sum(accs) / len(accs):.4f}{mark}" if accs else "")
            notes.append(f"| {b} | " + " | ".join(cells) + " |")
        # The claim, two ways, for each base whose L_b falls inside the distances: (1) within one
        # run, accuracy beyond L_b against within it; (2) beyond L_b, this base against the
        # largest base at the same distances (the distance bins whose middle is beyond L_b).
        big = max(bases)
        notes.append("\nVerdicts for the bases whose L_b falls inside the distances (rule: "
                     "scripts/ablation_util.py; higher accuracy is better):\n")
        notes.append("| base | L_b | beyond vs within L_b (same runs) | beyond L_b: this base vs base "
                     f"{big}, same distance bins |\n|---|---|---|---|")
        for b in bases:
            if limits[b] >= T or b == big:
                continue
            within = {r["seed"]: r["acc_within_limit"] for r in rows if r["rope_base"] == b}
            beyond = {r["seed"]: r["acc_beyond_limit"] for r in rows if r["rope_base"] == b}
            v1 = U.verdict("within", within, "beyond", beyond, lower_is_better=False)
            far_bins = {(d["k_lo"], d["k_hi"]) for d in dist_rows if d["rope_base"] == b and d["k_mid"] > limits[b]}

            def far_acc(base):
                acc = {}
                for d in dist_rows:
                    if d["rope_base"] == base and (d["k_lo"], d["k_hi"]) in far_bins:
                        c, n = acc.get(d["seed"], (0, 0))
                        acc[d["seed"]] = (c + d["correct"], n + d["count"])
                return {k: c / n for k, (c, n) in acc.items() if n}
            v2 = U.verdict(f"base {big}", far_acc(big), f"base {b}", far_acc(b), lower_is_better=False)
            notes.append(f"| {b} | {limits[b]} | {v1['text']} | {v2['text']} |")
    U.write_outputs(args.out, "rope_base_summary", summary, scols,
                    f"RoPE base at context {T}, head size {h} ({'recall' if recall else 'copy' if copy else 'val loss'}"
                    f"{' accuracy' if copy else ''})",
                    "\n".join(notes))
    if copy:
        plt = U._plt()
        if plt is not None:
            fig, ax = plt.subplots(figsize=(8, 4.8))
            for i, b in enumerate(bases):
                cs = [c for c in curves[b] if c]
                if not cs:
                    continue
                xs = sorted({x for c in cs for x, _ in c})
                per = [dict(c) for c in cs]
                ys = [[p[x] for p in per if x in p] for x in xs]
                mean = [sum(y) / len(y) for y in ys]
                ax.plot(xs, mean, marker="o", color=f"C{i}", label=f"base {b} (L_b = {limits[b]}, n={len(cs)})")
                if len(cs) > 1:
                    ax.fill_between(xs, [min(y) for y in ys], [max(y) for y in ys], color=f"C{i}", alpha=0.2)
                if limits[b] <= (T if recall else T // 2):
                    ax.axvline(limits[b], color=f"C{i}", ls=":", lw=1)
            symbols = 128 if recall else 15
            ax.axhline(1 / symbols, color="gray", ls="--", lw=0.8, label=f"chance (1/{symbols})")
            ax.set_ylim(0, 1.02)
            ax.set_xlabel(("retrieval distance k + 1" if recall else "copy distance k") +
                          " (tokens back); dotted: each base's L_b")
            ax.set_ylabel(("first-copy" if recall else "copy") + " accuracy (band: min–max over seeds)")
            ax.set_title(f"{data} accuracy by distance, context {T}, head size {h}, bound {bound:.0f}")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
            fig.tight_layout()
            fig.savefig(os.path.join(args.out, "rope_base.png"), dpi=110)
            plt.close(fig)
    else:
        U.plot_arms(os.path.join(args.out, "rope_base.png"),
                    [("val loss (nats/char)", [(str(b), by[b]) for b in bases])],
                    f"val loss by RoPE base (bound {bound:.0f})", min_spans=[0.1])


if __name__ == "__main__":
    main()
