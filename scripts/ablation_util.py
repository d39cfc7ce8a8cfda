"""Shared parts of the architecture ablations (scripts/ablate_*.py): argument parsing, the
common small-model settings, `tlm eval` at other context lengths, and the output files.

Every run has a fixed seed; runs are sequential (2 cores: one run at a time, each using both).
"""
import argparse
import json
import math
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tlmlib  # noqa: E402


def parse_args(description, default_out):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="small grid, under 3 minutes on 2 cores")
    p.add_argument("--out", default=default_out, help="output directory")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data", default=tlmlib.SHAKESPEARE if os.path.exists(tlmlib.SHAKESPEARE)
                   else "", help="a text file or a built-in task (task:copy, probe:position); "
                   "default: tiny Shakespeare (data/tinyshakespeare.txt), else the built-in corpus")
    return p.parse_args()


def base(args, **kw):
    """Small char-level models on the built-in corpus; overridden per script/run."""
    o = dict(seed=1337, threads=args.threads, eval_iters=10, log_interval=1000, ckpt_interval=0,
             dropout=0.0, batch_size=8, warmup_iters=20, learning_rate=1e-3, min_lr=1e-4)
    if args.data:
        o["data"] = args.data
    o.update(kw)
    o.setdefault("lr_decay_iters", o.get("max_iters", 2000))
    o.setdefault("eval_interval", max(1, o.get("max_iters", 2000) // 4))
    o["warmup_iters"] = min(o["warmup_iters"], o["lr_decay_iters"])
    return o


def train(name, overrides, out):
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


def eval_at(run_dir, block_size, max_tokens, threads=2):
    """`tlm eval --block_size N --json` on the run's checkpoint; None if it fails."""
    ckpt = os.path.join(run_dir, "ckpt.bin")
    p = subprocess.run([tlmlib.TLM, "eval", "--ckpt", ckpt, "--block_size", str(block_size),
                        "--json", "--max_tokens", str(max_tokens), "--batch_size", "4"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS=str(threads)))
    if p.returncode != 0:
        print(f"  eval {run_dir} at {block_size} failed: {p.stderr.strip()}", file=sys.stderr)
        return None
    return json.loads(p.stdout.strip().splitlines()[-1])


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
