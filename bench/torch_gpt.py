#!/usr/bin/python3
"""The PyTorch reference trainer tlm is compared against (bench/e2e.sh) and whose model writes
the golden file of tests/nn/test_golden.cpp (tests/reference/gpt_reference.py).

It trains the model tlm trains by default, the same way, in plain PyTorch:

  model (GPT-2 layout, parameter names as tlm's and nanoGPT's: wte, wpe, h.<i>.ln_1, ...)
      x = wte[ids] + wpe[0..T-1]
      each block:  x = x + c_proj(attention(ln_1(x)))      causal, softmax(q k^T / sqrt(D)) v
                   x = x + c_proj(act(c_fc(ln_2(x))))      4C hidden, act = GELU (erf or tanh form)
      logits = ln_f(x) @ wte^T                             (the head is tied to wte)
    LayerNorm eps 1e-5; biases in every Linear and LayerNorm unless --bias 0.
    Init (GPT-2): weights N(0, 0.02), the two residual projections N(0, 0.02 / sqrt(2 L)),
    biases 0, LayerNorm gains 1.
  data    characters of a UTF-8 file; the vocabulary is the sorted set of characters (tlm's char
          tokenizer gives the same ids), optionally padded with unused ids up to --vocab_size;
          the first 90 % is train, the rest validation; a batch is batch_size windows of
          block_size + 1 characters at uniformly random offsets (inputs = window[:-1],
          targets = window[1:]).
  update  AdamW (betas 0.9 / 0.99, eps 1e-8), weight decay on the tensors with >= 2 dims only,
          the global gradient norm clipped to 1.0, learning rate warmed up linearly as
          lr (it + 1) / (warmup + 1), then a cosine from lr to min_lr at lr_decay_iters, then
          min_lr: the defaults of tlm's optimizer keys (train/io/config.cpp, optim/schedule.cpp).
  precision  fp32, or bf16: forward and loss under torch.autocast on the CPU with bfloat16
          (PyTorch's mixed precision: matmuls in bf16, fp32 master weights and optimizer).

Attention is F.scaled_dot_product_attention(is_causal=True) where the installed PyTorch has it
(2.0 and later); Debian's python3-torch 1.13 does not, and then the scores are formed, masked
and soft-maxed explicitly (the same maths).

Output: progress on stderr; one JSON line on stdout at the end: the median and mean ms per
training step (the first 5 steps excluded; evaluation not timed), tokens/s = batch_size x
block_size / median, the train/val loss of the final evaluation (mean over eval_iters batches
per split), the loss of the first step (before any update: ln(vocab) for a fresh model),
peak RSS, the non-embedding parameter count and the model FLOPs per step
(B T (6 N + 12 L C T), PaLM / nanoGPT accounting, as `tlm info` prints flops_per_token).

  /usr/bin/python3 bench/torch_gpt.py --n_layer 6 --n_head 6 --n_embd 384 --block_size 256 \\
      --batch_size 8 --max_iters 200 --eval_interval 0 --eval_iters 20 --precision bf16

Run with Debian's interpreter, which has python3-torch: /usr/bin/python3.
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HAS_SDPA = hasattr(F, "scaled_dot_product_attention")


def layer_norm(n_embd, bias):
    ln = nn.LayerNorm(n_embd, eps=1e-5)
    if not bias:
        ln.bias = None  # gain only
    return ln


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention: one Linear for q, k, v; one for the output."""

    def __init__(self, n_embd, n_head, bias, dropout):
        super().__init__()
        if n_embd % n_head != 0:
            raise ValueError(f"n_embd = {n_embd} is not a multiple of n_head = {n_head}")
        self.n_head = n_head
        self.dropout = dropout
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.resid_drop = nn.Dropout(dropout)

    def forward(self, x):
        B, T, C = x.shape
        D = C // self.n_head

        def heads(t):  # [B, T, C] -> [B, H, T, D]
            return t.reshape(B, T, self.n_head, D).transpose(1, 2)

        q, k, v = (heads(t) for t in self.c_attn(x).chunk(3, dim=-1))
        p = self.dropout if self.training else 0.0
        if HAS_SDPA:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        else:
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(D)  # [B, H, T, T]
            future = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
            weights = torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
            y = torch.matmul(F.dropout(weights, p=p, training=self.training), v)
        y = y.transpose(1, 2).reshape(B, T, C)
        return self.resid_drop(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, n_embd, bias, dropout, activation):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=bias)
        # gelu: x Phi(x) (erf); gelu_tanh: GPT-2's gelu_new, the tanh approximation
        self.act = nn.GELU(approximate="tanh" if activation == "gelu_tanh" else "none")
        self.c_proj = nn.Linear(4 * n_embd, n_embd, bias=bias)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        return self.drop(self.c_proj(self.act(self.c_fc(x))))


class Block(nn.Module):
    """Pre-norm residual block: x + attn(ln_1(x)), then + mlp(ln_2(x))."""

    def __init__(self, n_embd, n_head, bias, dropout, activation):
        super().__init__()
        self.ln_1 = layer_norm(n_embd, bias)
        self.attn = CausalSelfAttention(n_embd, n_head, bias, dropout)
        self.ln_2 = layer_norm(n_embd, bias)
        self.mlp = MLP(n_embd, bias, dropout, activation)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, vocab_size, block_size, n_layer, n_head, n_embd, bias=True, dropout=0.0,
                 activation="gelu"):
        super().__init__()
        self.block_size = block_size
        self.n_layer, self.n_embd = n_layer, n_embd
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(block_size, n_embd)
        self.drop = nn.Dropout(dropout)
        self.h = nn.ModuleList(Block(n_embd, n_head, bias, dropout, activation)
                               for _ in range(n_layer))
        self.ln_f = layer_norm(n_embd, bias)
        self._init_gpt2()

    @torch.no_grad()
    def _init_gpt2(self):
        residual_std = 0.02 / math.sqrt(2 * self.n_layer)
        for name, p in self.named_parameters():
            if ".ln_" in name or name.startswith("ln_"):
                nn.init.ones_(p) if name.endswith("weight") else nn.init.zeros_(p)
            elif name.endswith("bias"):
                nn.init.zeros_(p)
            else:
                std = residual_std if name.endswith("c_proj.weight") else 0.02
                nn.init.normal_(p, mean=0.0, std=std)

    def non_embedding_params(self):
        """Every parameter but wpe (the tied wte counts once: it is also the head)."""
        return sum(p.numel() for n, p in self.named_parameters() if not n.startswith("wpe."))

    def flops_per_token(self, T):
        """6 N (forward 2 + backward 4 per weight) + 12 L C T (q k^T and A v, forward + backward)."""
        return 6 * self.non_embedding_params() + 12 * self.n_layer * self.n_embd * T

    def logits(self, ids):  # ids [B, T] -> [B, T, V]
        T = ids.shape[1]
        if T > self.block_size:
            raise ValueError(f"sequence of {T} tokens is longer than block_size {self.block_size}")
        x = self.drop(self.wte(ids) + self.wpe(torch.arange(T, device=ids.device)))
        for block in self.h:
            x = block(x)
        return F.linear(self.ln_f(x), self.wte.weight)

    def forward(self, ids, targets):
        """Mean cross-entropy over every position, computed in float32 (or wider)."""
        z = self.logits(ids)
        if z.dtype in (torch.bfloat16, torch.float16):
            z = z.float()
        return F.cross_entropy(z.reshape(-1, z.shape[-1]), targets.reshape(-1))


def lr_at(it, lr, min_lr, warmup_iters, lr_decay_iters):
    """Linear warmup, cosine decay to min_lr at lr_decay_iters, then constant (tlm's
    warmup_cosine schedule, optim/schedule.cpp)."""
    if it < warmup_iters:
        return lr * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    progress = (it - warmup_iters) / max(1, lr_decay_iters - warmup_iters)
    return min_lr + (lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))


def load_chars(path, block_size, vocab_size):
    """The file's characters as ids (sorted set of characters), split 90 / 10."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        sys.exit(f"torch_gpt: --data {path}: {e.strerror}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        sys.exit(f"torch_gpt: --data {path}: not UTF-8 text (byte {e.start}): {e.reason}")
    chars = sorted(set(text))
    if vocab_size and vocab_size < len(chars):
        sys.exit(f"torch_gpt: --vocab_size {vocab_size} is smaller than the {len(chars)} "
                 f"characters of {path}")
    index = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([index[c] for c in text], dtype=torch.long)
    cut = int(0.9 * len(ids))
    splits = {"train": ids[:cut], "val": ids[cut:]}
    for name, d in splits.items():
        if len(d) <= block_size + 1:
            sys.exit(f"torch_gpt: --data {path}: the {name} split has {len(d)} characters, "
                     f"too few for block_size {block_size}")
    return splits, len(chars)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="PyTorch reference GPT trainer (char-level)")
    ap.add_argument("--data", default=os.path.join(here, "..", "data", "tinyshakespeare.txt"))
    ap.add_argument("--n_layer", type=int, default=4)
    ap.add_argument("--n_head", type=int, default=4)
    ap.add_argument("--n_embd", type=int, default=128)
    ap.add_argument("--block_size", type=int, default=64)
    ap.add_argument("--batch_size", type=int, default=12)
    ap.add_argument("--vocab_size", type=int, default=0,
                    help="pad the vocabulary to N ids (e.g. 50257 for GPT-2 shapes); 0: the data's")
    ap.add_argument("--activation", choices=["gelu", "gelu_tanh"], default="gelu")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--max_iters", type=int, default=2000)
    ap.add_argument("--lr_decay_iters", type=int, default=None, help="default: max_iters")
    ap.add_argument("--eval_interval", type=int, default=250,
                    help="evaluate every N steps (0: only at the end)")
    ap.add_argument("--eval_iters", type=int, default=20,
                    help="batches per split per evaluation (0: no evaluation)")
    ap.add_argument("--learning_rate", type=float, default=1e-3)
    ap.add_argument("--min_lr", type=float, default=1e-4)
    ap.add_argument("--warmup_iters", type=int, default=100)
    ap.add_argument("--weight_decay", type=float, default=0.1)
    ap.add_argument("--beta1", type=float, default=0.9)
    ap.add_argument("--beta2", type=float, default=0.99)
    ap.add_argument("--grad_clip", type=float, default=1.0, help="0: no clipping")
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--bias", type=int, choices=[0, 1], default=1)
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--log_interval", type=int, default=100, help="0: no step lines")
    args = ap.parse_args()
    if args.max_iters < 1:
        ap.error("--max_iters must be at least 1")
    for flag in ("n_layer", "n_head", "n_embd", "block_size", "batch_size", "threads"):
        if getattr(args, flag) < 1:
            ap.error(f"--{flag} must be at least 1")
    if args.lr_decay_iters is None:
        args.lr_decay_iters = args.max_iters

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    splits, data_vocab = load_chars(args.data, args.block_size, args.vocab_size)
    vocab = args.vocab_size or data_vocab
    batch_gen = torch.Generator().manual_seed(args.seed + 1)

    def batch(split):
        d = splits[split]
        starts = torch.randint(len(d) - args.block_size, (args.batch_size,), generator=batch_gen)
        offsets = torch.arange(args.block_size + 1)
        windows = d[starts[:, None] + offsets]  # [B, T + 1]
        return windows[:, :-1], windows[:, 1:]

    model = GPT(vocab, args.block_size, args.n_layer, args.n_head, args.n_embd,
                bias=bool(args.bias), dropout=args.dropout, activation=args.activation)
    params = list(model.parameters())
    optimizer = torch.optim.AdamW(
        [{"params": [p for p in params if p.dim() >= 2], "weight_decay": args.weight_decay},
         {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}],
        lr=args.learning_rate, betas=(args.beta1, args.beta2), eps=1e-8)

    def autocast():
        return torch.autocast(device_type="cpu", dtype=torch.bfloat16,
                              enabled=args.precision == "bf16")

    flops_step = model.flops_per_token(args.block_size) * args.batch_size * args.block_size
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, vocab {vocab} "
          f"({data_vocab} in the data), {model.non_embedding_params() / 1e6:.3f}M parameters "
          f"(non-embedding), {flops_step / 1e9:.3f} GFLOP/step, precision {args.precision}, "
          f"attention {'scaled_dot_product_attention' if HAS_SDPA else 'explicit softmax'}",
          file=sys.stderr)

    @torch.no_grad()
    def evaluate():
        model.eval()
        means = {}
        for split in ("train", "val"):
            total = 0.0
            for _ in range(args.eval_iters):
                with autocast():
                    total += model(*batch(split)).item()
            means[split] = total / args.eval_iters
        model.train()
        return means

    losses = {"train": None, "val": None}
    step_s = []
    first_loss = last_loss = None
    t_start = time.perf_counter()
    for it in range(args.max_iters):
        if args.eval_iters > 0 and args.eval_interval > 0 and it > 0 and it % args.eval_interval == 0:
            losses = evaluate()
            print(f"step {it}: train {losses['train']:.4f} val {losses['val']:.4f}", file=sys.stderr)
        t0 = time.perf_counter()
        lr = lr_at(it, args.learning_rate, args.min_lr, args.warmup_iters, args.lr_decay_iters)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = batch("train")
        with autocast():
            loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if args.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, args.grad_clip)
        optimizer.step()
        last_loss = loss.item()  # waits for the step, as a logging trainer does
        step_s.append(time.perf_counter() - t0)
        if first_loss is None:
            first_loss = last_loss
        if not math.isfinite(last_loss):
            sys.exit(f"torch_gpt: the loss is {last_loss} at step {it}")
        if args.log_interval > 0 and it % args.log_interval == 0:
            print(f"step {it}: loss {last_loss:.4f}, {step_s[-1] * 1e3:.1f} ms, lr {lr:.2e}",
                  file=sys.stderr)
    if args.eval_iters > 0:
        losses = evaluate()
        print(f"final: train {losses['train']:.4f} val {losses['val']:.4f}", file=sys.stderr)
    wall = time.perf_counter() - t_start

    timed = step_s[5:] if len(step_s) > 5 else step_s
    median = statistics.median(timed)
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Linux reports KiB

    def rounded(v):
        return None if v is None else round(v, 4)

    print(json.dumps({
        "tool": "torch", "torch": torch.__version__, "script": "bench/torch_gpt.py",
        "n_layer": args.n_layer, "n_head": args.n_head, "n_embd": args.n_embd,
        "block_size": args.block_size, "batch_size": args.batch_size,
        "vocab": vocab, "data_vocab": data_vocab, "bias": bool(args.bias),
        "activation": args.activation, "precision": args.precision,
        "attention": "sdpa" if HAS_SDPA else "explicit",
        "max_iters": args.max_iters, "threads": torch.get_num_threads(), "seed": args.seed,
        "params_nonemb": model.non_embedding_params(),
        "median_ms_per_iter": round(median * 1e3, 3),
        "mean_ms_per_iter": round(statistics.mean(timed) * 1e3, 3),
        "tokens_per_s": round(args.batch_size * args.block_size / median, 1),
        "model_gflop_per_iter": round(flops_step / 1e9, 4),
        "achieved_gflops": round(flops_step / median / 1e9, 2),
        "first_step_loss": rounded(first_loss), "last_step_loss": rounded(last_loss),
        "train_loss": rounded(losses["train"]), "val_loss": rounded(losses["val"]),
        "wall_s": round(wall, 2),
        "peak_rss_bytes": rss_kib * 1024, "peak_rss_mib": round(rss_kib / 1024, 1),
        "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE", ""),
    }), flush=True)


if __name__ == "__main__":
    main()
