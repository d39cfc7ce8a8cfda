#!/usr/bin/python3
"""Golden values for tests/nn/loss/: run with PyTorch (/usr/bin/python3, torch 1.13).

    /usr/bin/python3 tests/reference/losses_reference.py   # writes tests/reference/golden/

Format (plain text, one file per loss family):
    case <name>
    <key> <count> v1 v2 ... v<count>
    end
All values are float64 printed with repr precision; ids are printed as floats and cast back.
"""
import math
import os

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "golden")


class Writer:
    def __init__(self, name):
        self.path = os.path.join(OUT, f"losses_{name}.txt")
        self.lines = [f"# written by tests/reference/losses_reference.py (torch {torch.__version__})"]

    def case(self, name, **arrays):
        self.lines.append(f"case {name}")
        for key, v in arrays.items():
            flat = torch.as_tensor(v, dtype=torch.float64).reshape(-1).tolist()
            self.lines.append(f"{key} {len(flat)} " + " ".join(repr(float(x)) for x in flat))
        self.lines.append("end")

    def close(self):
        with open(self.path, "w") as f:
            f.write("\n".join(self.lines) + "\n")


def cross_entropy_cases():
    w = Writer("cross_entropy")
    g = torch.Generator().manual_seed(1)
    configs = [  # name, N, V, eps, ignored rows
        ("plain", 5, 7, 0.0, []),
        ("smooth", 5, 7, 0.1, []),
        ("smooth_ignore", 6, 4, 0.2, [1, 4]),
        ("ignore_only", 4, 3, 0.0, [0, 2]),
        ("one_class_one_row", 1, 1, 0.1, []),
        ("wide", 3, 50, 0.1, [2]),
    ]
    for name, n, v, eps, ignored in configs:
        z = (torch.randn(n, v, generator=g) * 3).requires_grad_(True)
        t = torch.randint(0, v, (n,), generator=g)
        for i in ignored:
            t[i] = -100
        loss = F.cross_entropy(z, t, label_smoothing=eps, ignore_index=-100)
        loss.backward()
        w.case(name, shape=[n, v], eps=[eps], logits=z.detach(), targets=t.double(),
               loss=[loss.item()], grad=z.grad)
    w.close()


def focal_cases():
    """Focal loss by the formulas of Lin et al. (arXiv:1708.02002), written independently of
    tlm: binary as torchvision.ops.sigmoid_focal_loss (mean over elements), multi-class as
    -(1-p_t)^gamma log p_t (mean over rows); plus BCE-with-logits for the hard truncation."""
    w = Writer("focal")
    g = torch.Generator().manual_seed(2)
    # binary focal: torchvision's sigmoid_focal_loss, transcribed
    for name, shape, alpha, gamma in [("binary_a25_g2", (4, 5), 0.25, 2.0),
                                      ("binary_a50_g1", (3, 1), 0.5, 1.0),
                                      ("binary_a25_g0", (6,), 0.25, 0.0)]:
        x = (torch.randn(*shape, generator=g) * 2).requires_grad_(True)
        y = torch.randint(0, 2, shape, generator=g).double()
        p = torch.sigmoid(x)
        ce = F.binary_cross_entropy_with_logits(x, y, reduction="none")
        p_t = p * y + (1 - p) * (1 - y)
        loss = ce * ((1 - p_t) ** gamma)
        alpha_t = alpha * y + (1 - alpha) * (1 - y)
        loss = (alpha_t * loss).mean()
        loss.backward()
        w.case(name, shape=list(shape), alpha=[alpha], gamma=[gamma], logits=x.detach(),
               labels=y, loss=[loss.item()], grad=x.grad)
    # multi-class focal
    for name, n, c, gamma, ignored in [("multi_g2", 5, 4, 2.0, [3]), ("multi_g05", 3, 6, 0.5, []),
                                       ("multi_g0", 4, 3, 0.0, [0])]:
        z = (torch.randn(n, c, generator=g) * 2).requires_grad_(True)
        t = torch.randint(0, c, (n,), generator=g)
        for i in ignored:
            t[i] = -100
        keep = t != -100
        logp = F.log_softmax(z, -1)[keep].gather(1, t[keep].unsqueeze(1)).squeeze(1)
        loss = (-(1 - logp.exp()) ** gamma * logp).mean()
        loss.backward()
        w.case(name, shape=[n, c], gamma=[gamma], logits=z.detach(), targets=t.double(),
               loss=[loss.item()], grad=z.grad)
    # BCE with logits (hard truncation with every sample on the wrong side of m, and the
    # softened loss's K -> 0 limit / 2 are both plain BCE)
    x = (torch.randn(7, generator=g) * 2).requires_grad_(True)
    y = torch.randint(0, 2, (7,), generator=g).double()
    loss = F.binary_cross_entropy_with_logits(x, y)
    loss.backward()
    w.case("bce", shape=[7], logits=x.detach(), labels=y, loss=[loss.item()], grad=x.grad)
    w.close()


def sequence_cases():
    """TaiLr (gamma>0) via torch; EMO per the DRSY/EMO formula with the weight of docs/methods.md, "EMO"."""
    w = Writer("lm")
    g = torch.Generator().manual_seed(3)
    n, v, d = 6, 5, 3
    z = (torch.randn(n, v, generator=g) * 2).requires_grad_(True)
    t = torch.randint(0, v, (n,), generator=g)
    t[2] = -100
    emb = torch.randn(v, d, generator=g)
    keep = (t != -100).double()
    ts = t.clamp(min=0)
    # TaiLr: -log(gamma + (1-gamma) p) / (1-gamma)
    gamma = 0.3
    p = F.softmax(z, -1).gather(1, ts.unsqueeze(1)).squeeze(1)
    tailr = -torch.log(gamma + (1 - gamma) * p) / (1 - gamma)
    loss = (tailr * keep).sum() / keep.sum()
    (gz,) = torch.autograd.grad(loss, z)
    w.case("tailr_g03", shape=[n, v], gamma=[gamma], logits=z.detach(), targets=t.double(),
           loss=[loss.item()], grad=gz)
    # EMO (docs/methods.md, "EMO"): 0.5 * (ce + sg(ce / (emo + 1e-10)) * emo), masked mean
    ce = F.cross_entropy(z, t, reduction="none")
    e = emb / emb.norm(dim=1, keepdim=True)
    emo = 1 - ((F.softmax(z, -1) @ e) * e[ts]).sum(-1)
    tok = 0.5 * (ce + (ce / (emo + 1e-10)).detach() * emo)
    loss = (tok * keep).sum() / keep.sum()
    (gz,) = torch.autograd.grad(loss, z)
    w.case("emo", shape=[n, v, d], logits=z.detach(), targets=t.double(), embedding=emb,
           loss=[loss.item()], grad=gz)
    w.close()


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    cross_entropy_cases()
    focal_cases()
    sequence_cases()
