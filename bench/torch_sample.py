#!/usr/bin/env python3
"""Sampling speed of a PyTorch GPT-2-layout model, batch 1, for bench/RESULTS.md.

Two ways to generate, both on the same randomly initialised model:
  recompute  nanoGPT's generate(): every new token runs the whole (cropped) context again
  kvcache    a key/value cache: each new token runs one position through the model

  /usr/bin/python3 bench/torch_sample.py --n_layer 6 --n_head 6 --n_embd 384 --block_size 256 \
      --vocab_size 50257 --prompt_len 16 --new_tokens 200 --threads 2

Prints one JSON line: {"recompute_tokens_per_s": ..., "kvcache_tokens_per_s": ..., ...}.
Debian's python3-torch (run with /usr/bin/python3). The model is written here, in the
GPT-2 layout tlm uses (learned positions, pre-norm LayerNorm, GELU MLP 4C, tied head).
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, c, h):
        super().__init__()
        self.h = h
        self.ln_1 = nn.LayerNorm(c)
        self.c_attn = nn.Linear(c, 3 * c)
        self.c_proj = nn.Linear(c, c)
        self.ln_2 = nn.LayerNorm(c)
        self.c_fc = nn.Linear(c, 4 * c)
        self.mlp_proj = nn.Linear(4 * c, c)

    def forward(self, x, cache=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.h, C // self.h).transpose(1, 2) for t in (q, k, v))
        if cache is not None:
            if cache.get("k") is not None:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        # Causal over the new positions; every cached position is visible to them.
        Tk = k.shape[2]
        att = (q @ k.transpose(-2, -1)) / math.sqrt(k.shape[-1])
        mask = torch.ones(T, Tk, dtype=torch.bool).tril(diagonal=Tk - T)
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))


class GPT(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.block_size = a.block_size
        self.wte = nn.Embedding(a.vocab_size, a.n_embd)
        self.wpe = nn.Embedding(a.block_size, a.n_embd)
        self.h = nn.ModuleList(Block(a.n_embd, a.n_head) for _ in range(a.n_layer))
        self.ln_f = nn.LayerNorm(a.n_embd)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, idx, caches=None, start=0):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(start, start + T))
        for i, b in enumerate(self.h):
            x = b(x, None if caches is None else caches[i])
        return self.ln_f(x[:, -1:, :]) @ self.wte.weight.t()  # only the last position's logits

    @torch.no_grad()
    def generate_recompute(self, idx, n):
        for _ in range(n):
            logits = self(idx[:, -self.block_size:])
            nxt = torch.multinomial(F.softmax(logits[:, -1, :], dim=-1), 1)
            idx = torch.cat([idx, nxt], dim=1)
        return idx

    @torch.no_grad()
    def generate_kvcache(self, idx, n):
        assert idx.shape[1] + n <= self.block_size, "kvcache: prompt + new tokens must fit the context"
        caches = [dict() for _ in self.h]
        logits = self(idx, caches, 0)
        for _ in range(n):
            nxt = torch.multinomial(F.softmax(logits[:, -1, :], dim=-1), 1)
            pos = idx.shape[1]
            idx = torch.cat([idx, nxt], dim=1)
            logits = self(nxt, caches, pos)
        return idx


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for k, v in dict(n_layer=6, n_head=6, n_embd=384, block_size=256, vocab_size=50257,
                     prompt_len=16, new_tokens=200, threads=2, seed=1).items():
        p.add_argument("--" + k, type=int, default=v)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = GPT(a).eval()
    prompt = torch.randint(0, a.vocab_size, (1, a.prompt_len))
    with torch.no_grad():  # the cache path computes what the full forward does
        ids = torch.randint(0, a.vocab_size, (1, 8))
        caches = [dict() for _ in model.h]
        model(ids[:, :5], caches, 0)
        for t in range(5, 8):
            step = model(ids[:, t:t + 1], caches, t)
        assert torch.allclose(step, model(ids), atol=1e-4), "kv-cache logits differ from the full forward"
    out = {"config": vars(a), "torch": torch.__version__}
    for name, fn in (("recompute", model.generate_recompute), ("kvcache", model.generate_kvcache)):
        fn(prompt, 4)  # warm-up
        t0 = time.perf_counter()
        fn(prompt, a.new_tokens)
        out[name + "_tokens_per_s"] = a.new_tokens / (time.perf_counter() - t0)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
