#!/usr/bin/python3
"""Golden values for tests/nn/test_golden.cpp, from the PyTorch reference model.

Builds the GPT of bench/torch_gpt.py, the repository's PyTorch reference trainer (GPT-2
pre-norm, tied embeddings, GELU erf, LayerNorm eps 1e-5, written independently of tlm) with a
fixed seed, in float64, runs it on fixed ids/targets, and writes its weights, the logits, the
cross-entropy loss and the gradient of every parameter to tests/reference/golden/gpt_small.txt.
tlm loads the weights and must reproduce the rest.

Run with Debian's interpreter (python3-torch 1.13):
    /usr/bin/python3 tests/reference/gpt_reference.py

File format (text, one record per line, values with 17 significant digits):
    tlm-golden-gpt 1
    config vocab_size V block_size T n_layer L n_head H n_embd C bias 0|1
    ids B T v...            targets B T v...         loss x
    logits B T V v...
    param NAME ndim d0 d1 .. v...     (every parameter, torch's named_parameters order)
    grad NAME ndim d0 d1 .. v...      (d loss / d parameter)
"""
import argparse
import importlib.util
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def load_torch_gpt(path):
    spec = importlib.util.spec_from_file_location("torch_gpt", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def fmt(values):
    return " ".join(repr(float(v)) if isinstance(v, float) else str(v) for v in values)


def tensor_line(tag, name, t):
    t = t.detach().double().contiguous()
    head = f"{tag} {name} {t.dim()} " + " ".join(str(d) for d in t.shape)
    return head + " " + " ".join("%.17g" % v for v in t.view(-1).tolist())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "golden", "gpt_small.txt"))
    args = ap.parse_args()

    tg = load_torch_gpt(os.path.join(HERE, "..", "..", "bench", "torch_gpt.py"))
    V, T, L, H, C, B = 11, 6, 2, 2, 8, 2
    torch.manual_seed(1234)
    model = tg.GPT(V, T, L, H, C, bias=True, dropout=0.0).double()
    # Non-trivial LayerNorm gains/biases and linear biases (torch_gpt.py inits them to 1/0).
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or ".ln_" in name or name.startswith("ln_"):
                p.add_(0.1 * torch.randn_like(p))
    g = torch.Generator().manual_seed(99)
    idx = torch.randint(0, V, (B, T), generator=g)
    targets = torch.randint(0, V, (B, T), generator=g)

    logits = model.logits(idx)  # GPT.forward's logits, before the loss
    loss = model(idx, targets)
    loss.backward()

    lines = ["tlm-golden-gpt 1",
             f"config vocab_size {V} block_size {T} n_layer {L} n_head {H} n_embd {C} bias 1",
             "ids %d %d %s" % (B, T, fmt(idx.view(-1).tolist())),
             "targets %d %d %s" % (B, T, fmt(targets.view(-1).tolist())),
             "loss %.17g" % loss.item(),
             "logits %d %d %d %s" % (B, T, V, " ".join("%.17g" % v for v in logits.detach().view(-1).tolist()))]
    for name, p in model.named_parameters():
        lines.append(tensor_line("param", name, p))
    for name, p in model.named_parameters():
        lines.append(tensor_line("grad", name, p.grad))
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {args.out}: loss {loss.item():.6f}, {sum(p.numel() for p in model.parameters())} parameters")


if __name__ == "__main__":
    main()
