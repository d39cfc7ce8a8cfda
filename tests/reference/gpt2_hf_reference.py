#!/usr/bin/python3
"""GPT-2 written out in PyTorch (our own few lines, no transformers), for tests/train/test_hf_gpt2.cpp.

  /usr/bin/python3 tests/reference/gpt2_hf_reference.py --write tests/reference/golden/gpt2_tiny
      writes a tiny GPT-2 in the Hugging Face layout (config.json, model.safetensors with the
      names of the published checkpoints, "h.0.attn.c_attn.weight", Conv1D weights [in, out],
      the causal-mask buffers attn.bias / attn.masked_bias, no lm_head: tied) with GPT-2's real
      vocabulary size 50257, and golden.json: its logits on fixed ids. The tensors are stored in
      three dtypes (wte F16, c_attn BF16, the rest F32); the logits are computed in float64 from
      exactly those stored values.
  /usr/bin/python3 tests/reference/gpt2_hf_reference.py --logits DIR
      loads an HF GPT-2 directory (e.g. written by `tlm export`) and prints the same kind of
      golden JSON for the same ids: a second, independent reader of what tlm writes.

The model (Radford et al. 2019; the layout of openai/gpt-2 model.py and transformers' GPT2Model):
  x = wte[ids] + wpe[0..T-1]
  per layer: x += c_proj(attn(LN_1(x)));  x += mlp.c_proj(gelu_new(mlp.c_fc(LN_2(x))))
             attn: causal softmax(q k^T / sqrt(D)) v over H heads, q|k|v = c_attn(h) split in 3
  logits = LN_f(x) wte^T          (lm_head tied to wte unless the file has its own)
  Conv1D(x) = x W + b with W stored [in, out]; gelu_new(u) = 0.5 u (1 + tanh(sqrt(2/pi)(u + 0.044715 u^3)))
"""
import argparse
import json
import math
import os
import struct

import numpy as np
import torch

CONFIG = dict(vocab_size=50257, n_positions=16, n_embd=8, n_layer=2, n_head=2,
              layer_norm_epsilon=1e-5, activation_function="gelu_new")
# Two rows of 16 ids: <|endoftext|>, ordinary words, the largest ids.
IDS = [[50256, 464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13, 198, 40, 1101, 50255, 0],
       [15496, 995, 0, 1, 2, 50000, 49999, 318, 257, 1332, 286, 262, 6801, 13, 50256, 50256]]
# The logits compared: these vocabulary columns at every position, plus logsumexp over all.
COLS = [0, 1, 13, 198, 262, 464, 995, 15496, 25000, 40000, 50000, 50255, 50256]


def gelu_new(u):
    return 0.5 * u * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (u + 0.044715 * u ** 3)))


def forward(p, cfg, ids):
    """p: name -> float64 tensor in the HF layout (no prefix). Returns logits [B, T, V]."""
    B, T = ids.shape
    C, H = cfg["n_embd"], cfg["n_head"]
    D = C // H
    eps = cfg["layer_norm_epsilon"]
    ln = lambda x, n: torch.nn.functional.layer_norm(x, (C,), p[n + ".weight"], p[n + ".bias"], eps)
    conv1d = lambda x, n: x @ p[n + ".weight"] + p[n + ".bias"]
    x = p["wte.weight"][ids] + p["wpe.weight"][:T]
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for i in range(cfg["n_layer"]):
        h = f"h.{i}."
        q, k, v = conv1d(ln(x, h + "ln_1"), h + "attn.c_attn").split(C, dim=-1)
        q, k, v = (t.view(B, T, H, D).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(D)
        att = att.masked_fill(~mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + conv1d(y, h + "attn.c_proj")
        x = x + conv1d(gelu_new(conv1d(ln(x, h + "ln_2"), h + "mlp.c_fc")), h + "mlp.c_proj")
    head = p.get("lm_head.weight", p["wte.weight"])
    return ln(x, "ln_f") @ head.T


def golden(p, cfg):
    ids = torch.tensor(IDS)
    logits = forward(p, cfg, ids)
    return {"ids": IDS, "cols": COLS,
            "logits": logits[:, :, COLS].tolist(),
            "logsumexp": torch.logsumexp(logits, -1).tolist()}


DTYPES = {"F32": (torch.float32, 4), "F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2)}


def write_safetensors(path, tensors):
    """tensors: list of (name, torch tensor) in the dtype to store."""
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors:
        dtype = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}[t.dtype]
        raw = t.contiguous().view(torch.int16 if t.element_size() == 2 else torch.int32).numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        dtype, size = DTYPES[e["dtype"]]
        b, end = e["data_offsets"]
        raw = np.frombuffer(data[8 + n + b: 8 + n + end], dtype=np.int16 if size == 2 else np.int32).copy()
        out[name] = torch.from_numpy(raw).view(dtype).reshape(e["shape"]).to(torch.float64)
    return out


def make_model(cfg):
    g = torch.Generator().manual_seed(24)
    C, L, V, P = cfg["n_embd"], cfg["n_layer"], cfg["vocab_size"], cfg["n_positions"]
    rnd = lambda *s, std=0.2: torch.randn(*s, generator=g) * std
    t = [("wte.weight", rnd(V, C).half()), ("wpe.weight", rnd(P, C, std=0.1))]
    for i in range(L):
        h = f"h.{i}."
        t += [(h + "ln_1.weight", 1 + rnd(C, std=0.1)), (h + "ln_1.bias", rnd(C, std=0.1)),
              (h + "attn.bias", torch.tril(torch.ones(P, P)).view(1, 1, P, P)),
              (h + "attn.masked_bias", torch.tensor(-1e4)),
              (h + "attn.c_attn.weight", rnd(C, 3 * C, std=0.3).bfloat16()),
              (h + "attn.c_attn.bias", rnd(3 * C, std=0.1).bfloat16()),
              (h + "attn.c_proj.weight", rnd(C, C, std=0.3)), (h + "attn.c_proj.bias", rnd(C, std=0.1)),
              (h + "ln_2.weight", 1 + rnd(C, std=0.1)), (h + "ln_2.bias", rnd(C, std=0.1)),
              (h + "mlp.c_fc.weight", rnd(C, 4 * C, std=0.3)), (h + "mlp.c_fc.bias", rnd(4 * C, std=0.1)),
              (h + "mlp.c_proj.weight", rnd(4 * C, C, std=0.3)), (h + "mlp.c_proj.bias", rnd(C, std=0.1))]
    t += [("ln_f.weight", 1 + rnd(C, std=0.1)), ("ln_f.bias", rnd(C, std=0.1))]
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", help="directory for the fixture")
    ap.add_argument("--logits", help="an HF GPT-2 directory to run")
    a = ap.parse_args()
    torch.set_default_dtype(torch.float32)
    if a.write:
        os.makedirs(a.write, exist_ok=True)
        tensors = make_model(CONFIG)
        write_safetensors(os.path.join(a.write, "model.safetensors"), tensors)
        with open(os.path.join(a.write, "config.json"), "w") as f:
            json.dump({"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], **CONFIG,
                       "n_ctx": CONFIG["n_positions"], "n_inner": None, "tie_word_embeddings": True},
                      f, indent=2)
        p = {n: t.to(torch.float64) for n, t in tensors}
        with open(os.path.join(a.write, "golden.json"), "w") as f:
            json.dump(golden(p, CONFIG), f)
    if a.logits:
        with open(os.path.join(a.logits, "config.json")) as f:
            cfg = json.load(f)
        assert cfg.get("activation_function") == "gelu_new", cfg.get("activation_function")
        raw = read_safetensors(os.path.join(a.logits, "model.safetensors"))
        p = {(n[len("transformer."):] if n.startswith("transformer.") else n): t for n, t in raw.items()}
        print(json.dumps(golden(p, cfg)))


if __name__ == "__main__":
    main()
