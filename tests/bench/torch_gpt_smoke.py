#!/usr/bin/python3
"""bench/torch_gpt.py, the PyTorch reference trainer, on a tiny config (ctest: torch_gpt_smoke).

- A few steps run and end with the JSON line bench/e2e.sh reads (tokens_per_s, val_loss,
  peak_rss_bytes, ...), every loss finite.
- The loss of the first step (before any update) is ln(vocab) within 0.1: GPT-2's init gives
  logits near 0, so a larger init std, a broken head or a wrong vocabulary shows here. Checked
  for the data's 65 characters in fp32 and for the vocabulary padded to 512 under
  --precision bf16 --activation gelu_tanh --bias 0.
- A --vocab_size below the data's character count is refused with a message naming it.

Skips (exit 77) when python3-torch is not installed.

  /usr/bin/python3 tests/bench/torch_gpt_smoke.py --source .
"""
import argparse
import json
import math
import os
import subprocess
import sys

try:
    import torch  # noqa: F401  (only to know whether the trainer can run)
except ImportError:
    print("python3-torch not installed (apt-get install python3-torch): skipped")
    sys.exit(77)

TINY = ["--n_layer", "2", "--n_head", "2", "--n_embd", "32", "--block_size", "16",
        "--batch_size", "4", "--max_iters", "3", "--warmup_iters", "1", "--eval_interval", "0",
        "--eval_iters", "2", "--threads", "1", "--log_interval", "1"]
KEYS = ["tool", "torch", "n_layer", "n_head", "n_embd", "block_size", "batch_size", "vocab",
        "bias", "max_iters", "threads", "seed", "params_nonemb", "median_ms_per_iter",
        "mean_ms_per_iter", "tokens_per_s", "model_gflop_per_iter", "achieved_gflops",
        "train_loss", "val_loss", "wall_s", "peak_rss_bytes", "peak_rss_mib",
        "openblas_coretype_env", "precision", "activation", "first_step_loss", "last_step_loss"]


def run(script, data, extra):
    r = subprocess.run([sys.executable, script, "--data", data] + TINY + extra,
                       capture_output=True, text=True)
    return r


def check_run(script, data, extra, vocab):
    r = run(script, data, extra)
    assert r.returncode == 0, f"{extra}: exit {r.returncode}\n{r.stderr}"
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1, f"{extra}: stdout must be one JSON line, got {r.stdout!r}"
    j = json.loads(lines[0])
    missing = [k for k in KEYS if k not in j]
    assert not missing, f"{extra}: JSON line lacks {missing}"
    assert j["tool"] == "torch" and j["vocab"] == vocab, j
    for k in ("first_step_loss", "last_step_loss", "train_loss", "val_loss", "tokens_per_s",
              "median_ms_per_iter", "peak_rss_bytes"):
        assert isinstance(j[k], (int, float)) and math.isfinite(j[k]), f"{extra}: {k} = {j[k]}"
    assert j["tokens_per_s"] > 0 and j["peak_rss_bytes"] > 0, j
    expected = math.log(vocab)
    assert abs(j["first_step_loss"] - expected) < 0.1, \
        f"{extra}: first-step loss {j['first_step_loss']} is not ln({vocab}) = {expected:.4f} within 0.1"
    steps = [l for l in r.stderr.splitlines() if l.startswith("step ")]
    assert len(steps) == 3, f"{extra}: expected 3 step lines on stderr, got {steps}"
    print(f"ok {' '.join(extra) or 'fp32'}: first-step loss {j['first_step_loss']} "
          f"(ln {vocab} = {expected:.4f}), val {j['val_loss']}, {j['tokens_per_s']} tokens/s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True, help="the repository's root")
    args = ap.parse_args()
    script = os.path.join(args.source, "bench", "torch_gpt.py")
    data = os.path.join(args.source, "data", "tinyshakespeare.txt")
    check_run(script, data, [], 65)
    check_run(script, data, ["--precision", "bf16", "--activation", "gelu_tanh", "--bias", "0",
                             "--vocab_size", "512"], 512)
    r = run(script, data, ["--vocab_size", "10"])
    assert r.returncode != 0 and "--vocab_size 10" in r.stderr and "65" in r.stderr, r.stderr
    print("ok --vocab_size 10 refused:", r.stderr.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
