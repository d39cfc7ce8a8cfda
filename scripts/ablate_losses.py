#!/usr/bin/python3
"""Ablation of the language-model losses (docs/methods.md, "Losses") on tiny Shakespeare.

For each loss in ce, label_smoothing, focal, tailr, emo: train a char model with
`tlm train --set loss=...` (same seed, init, batches and schedule), then measure on the
validation split with `tlm eval --metrics` (cross-entropy, top-1 accuracy, expected calibration
error with 15 bins) and sample diversity with `tlm sample` (distinct-1/2/3 over the words of
three 500-character samples at temperature 1, pooled). EMO is also run as Su recommends it
(docs/methods.md, "EMO"), fine-tuning an MLE model: `ce -> emo` continues the ce checkpoint
for `ft_iters` steps with loss = emo (cost embedding = the LM head at that point), against
`ce -> ce` (the same extra steps with ce).

  /usr/bin/python3 scripts/ablate_losses.py --quick     # < 3 min: 2 x 64 model, 150 steps of batch 8
  /usr/bin/python3 scripts/ablate_losses.py             # < 30 min: 4 x 128 model, 1500 steps

Writes <out>/losses.csv, losses.md, val_curves.png, metrics.png.
"""
import argparse
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tlmlib  # noqa: E402

LOSSES = ["ce", "label_smoothing", "focal", "tailr", "emo"]
COLS = ["run", "loss", "iters", "val_ce", "accuracy", "ece", "distinct_1", "distinct_2",
        "distinct_3", "wall_s", "failed"]
SAMPLE_SEEDS = [1, 2, 3]


def distinct_n(words, n):
    """Distinct-n (Li et al., arXiv:1510.03055): unique n-grams / all n-grams (0 if none)."""
    grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def _selftest():
    w = "a b a b c".split()
    # 1-grams: a b a b c -> 3 unique / 5; 2-grams: ab ba ab bc -> 3 / 4; 3-grams: aba bab abc -> 3/3
    assert distinct_n(w, 1) == 3 / 5 and distinct_n(w, 2) == 3 / 4 and distinct_n(w, 3) == 1.0
    assert distinct_n(["x"], 2) == 0.0


def measure(ckpt, row, sample_len, eval_tokens, log_dir):
    ev, _ = tlmlib.run_tlm_cmd(["eval", "--ckpt", ckpt, "--metrics", "--json",
                                "--max_tokens", str(eval_tokens)],
                               os.path.join(log_dir, "eval.log"))
    row["val_ce"] = ev.get("loss")
    row["accuracy"] = ev.get("accuracy")
    row["ece"] = ev.get("ece")
    words = []
    for s in SAMPLE_SEEDS:
        _, text = tlmlib.run_tlm_cmd(["sample", "--ckpt", ckpt, "--length", str(sample_len),
                                      "--temperature", "1.0", "--seed", str(s)],
                                     os.path.join(log_dir, "sample.log"))
        words += text.split()
    for n in (1, 2, 3):
        row[f"distinct_{n}"] = distinct_n(words, n)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small model, few steps (< 3 min)")
    ap.add_argument("--out", default=None, help="output directory")
    a = ap.parse_args()
    _selftest()
    tlmlib.ensure_built()
    out = a.out or os.path.join(tlmlib.ROOT, "docs", "ablations", "losses",
                                "quick" if a.quick else "full")
    os.makedirs(out, exist_ok=True)
    runs = os.path.join(out, "runs")
    os.makedirs(runs, exist_ok=True)
    if a.quick:
        base = dict(n_layer=2, n_head=4, n_embd=64, block_size=64, batch_size=8, max_iters=150,
                    lr_decay_iters=200, warmup_iters=20, learning_rate=2e-3, min_lr=2e-4,
                    eval_interval=50, eval_iters=4, log_interval=50)
        ft_iters, sample_len, eval_tokens = 50, 200, 8192
    else:
        base = dict(n_layer=4, n_head=4, n_embd=128, block_size=64, batch_size=12, max_iters=1500,
                    lr_decay_iters=2000, warmup_iters=100, learning_rate=1e-3, min_lr=1e-4,
                    eval_interval=250, eval_iters=20, log_interval=100)
        ft_iters, sample_len, eval_tokens = 500, 500, 1 << 20
    # threads=1: the numbers do not depend on it, and two runs can share 2 cores without
    # OpenMP threads waiting on each other.
    base.update(data=tlmlib.SHAKESPEARE, seed=1337, threads=1)
    rows, series = [], []
    for loss in LOSSES:
        d = os.path.join(runs, loss)
        shutil.rmtree(d, ignore_errors=True)
        r = tlmlib.run_tlm(dict(base, loss=loss), d, os.path.join(runs, f"{loss}.log"))
        row = {"run": loss, "loss": loss, "iters": r.get("iters"), "wall_s": r["wall_s"],
               "failed": r["failed"]}
        if not r["failed"]:
            measure(os.path.join(d, "ckpt.bin"), row, sample_len, eval_tokens, runs)
        rows.append(row)
        tlmlib.write_csv(os.path.join(out, "losses.csv"), rows, COLS)  # partial results survive
        series.append((loss, [x for x in r["log"] if x.get("kind") == "eval"]))
        print(f"{loss}: {row}", file=sys.stderr)
    # Fine-tuning: continue the ce model for ft_iters more steps with emo, and with ce.
    total = base["max_iters"] + ft_iters
    for ft in ["ce", "emo"]:
        name = f"ce -> {ft}"
        d = os.path.join(runs, f"ce_then_{ft}")
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(os.path.join(runs, "ce"), d)
        r = tlmlib.run_tlm(dict(base, loss=ft, max_iters=total), d,
                           os.path.join(runs, f"ce_then_{ft}.log"), extra_args=["--resume"])
        row = {"run": name, "loss": ft, "iters": r.get("iters"), "wall_s": r["wall_s"],
               "failed": r["failed"]}
        if not r["failed"]:
            measure(os.path.join(d, "ckpt.bin"), row, sample_len, eval_tokens, runs)
        rows.append(row)
        tlmlib.write_csv(os.path.join(out, "losses.csv"), rows, COLS)
        print(f"{name}: {row}", file=sys.stderr)

    cols = COLS
    tlmlib.write_csv(os.path.join(out, "losses.csv"), rows, cols)
    cmd = "/usr/bin/python3 scripts/ablate_losses.py" + (" --quick" if a.quick else "")
    model = ", ".join(f"{k}={v}" for k, v in base.items() if k != "data")
    tlmlib.write_markdown(
        os.path.join(out, "losses.md"), rows, cols, "LM loss ablation on tiny Shakespeare", cmd,
        notes=(f"Settings: {model}; fine-tuning rows continue the ce checkpoint for {ft_iters} "
               "steps. val_ce, accuracy (top-1) and ece (15 bins) from `tlm eval --metrics` on "
               f"the validation split (first {eval_tokens} tokens); distinct-n over the words of three samples "
               f"(`tlm sample --length {sample_len} --temperature 1.0 --seed 1|2|3`)."))
    tlmlib.plot_curves(os.path.join(out, "val_curves.png"), series, "step", "val_loss",
                       "Validation cross-entropy by training loss", "step", "val CE (nats/char)")
    plot_bars(os.path.join(out, "metrics.png"), rows)
    print(f"wrote {out}/losses.csv, losses.md, val_curves.png, metrics.png", file=sys.stderr)


def plot_bars(path, rows):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is missing (no bar plot written)", file=sys.stderr)
        return
    ok = [r for r in rows if not r["failed"]]
    metrics = [("val_ce", "val CE"), ("accuracy", "top-1 accuracy"), ("ece", "ECE (15 bins)"),
               ("distinct_2", "distinct-2 (samples)")]
    fig, axes = plt.subplots(1, len(metrics), figsize=(14, 4))
    for ax, (key, label) in zip(axes, metrics):
        ax.bar(range(len(ok)), [r[key] for r in ok], color="tab:blue")
        ax.set_xticks(range(len(ok)))
        ax.set_xticklabels([r["run"] for r in ok], rotation=45, ha="right", fontsize=8)
        ax.set_title(label)
        lo = min(r[key] for r in ok)
        hi = max(r[key] for r in ok)
        if key in ("val_ce", "accuracy") and hi > lo:
            ax.set_ylim(lo - 0.5 * (hi - lo), hi + 0.2 * (hi - lo))
        ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
