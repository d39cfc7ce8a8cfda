#!/usr/bin/python3
"""Golden values for tests/optim: parameters after each step of torch.optim.AdamW,
torch.optim.SGD (momentum, Nesterov) and a direct transcription of Lion, run on fixed
parameters and gradient sequences with two parameter groups (decay / no decay, the second at
half the lr), nanoGPT's warmup + cosine schedule set before every step, clip_grad_norm_ before
AdamW's steps (as the reference trainer does), and a parameter that gets no gradient at one step.
Two more cases: Lion with the paper's NLP betas (0.95, 0.98), clipping and decay in both groups,
and AdamW at PyTorch's betas (0.9, 0.999) with a large eps (1e-3) and decay in both groups.

Run with PyTorch's interpreter:  /usr/bin/python3 tests/reference/optim_reference.py
Writes tests/reference/golden/optim_<case>_<f32|f64>.txt. Format, one record per line:
  optimizer <name> / dtype <float32|float64> / config <key> <value> ... /
  schedule warmup_cosine lr <v> min_lr <v> warmup_iters <n> lr_decay_iters <n> / clip <max_norm|0>
  group <index> <weight_decay> <lr_scale>
  param <name> <group> <ndim> <dims...>
  init <name> <values...>
  step <it> <lr>        then, for that step:
  grad <name> <values...>   (a parameter without a grad line has no gradient at this step)
  norm <pre-clip global norm>   (when clip > 0)
  expect <name> <values...>     (parameters after the step)
"""
import math
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "golden")
STEPS = 7
SCHED = dict(lr=None, min_lr=None, warmup_iters=2, lr_decay_iters=5)  # it=6 is past the decay
PARAMS = [("w1", 0, (3, 4)), ("emb", 0, (5, 2)), ("b1", 1, (4,)), ("gain", 1, (2,))]
NO_GRAD = {("b1", 2)}  # (param, step) pairs with no gradient: skipped by the optimizer
GRAD_SCALE = [0.1, 1.0, 0.3, 2.0, 0.05, 0.7, 1.5]  # global norms from ~0.3 to ~10: some clip


def get_lr(it, lr, min_lr, warmup_iters, lr_decay_iters):  # nanoGPT / bench/torch_gpt.py
    if it < warmup_iters:
        return lr * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    ratio = (it - warmup_iters) / max(1, lr_decay_iters - warmup_iters)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)


class LionRef:
    """Lion (arXiv:2302.06675) transcribed from lucidrains/lion-pytorch's update_fn."""

    def __init__(self, groups, lr, betas):
        self.param_groups = [dict(g, lr=lr) for g in groups]
        self.betas = betas
        self.state = {}

    @torch.no_grad()
    def step(self):
        b1, b2 = self.betas
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is None:
                    continue
                m = self.state.setdefault(p, torch.zeros_like(p))
                p.mul_(1 - g["lr"] * g["weight_decay"])
                update = m.clone().mul_(b1).add(p.grad, alpha=1 - b1).sign_()
                p.add_(update, alpha=-g["lr"])
                m.mul_(b2).add_(p.grad, alpha=1 - b2)


CASES = {
    # name: (optimizer config, group weight decays, group lr scales, base lr, min lr, clip)
    "adamw": (dict(lr=1e-2, beta1=0.9, beta2=0.99, eps=1e-8, momentum=0.0, nesterov=0),
              (0.1, 0.0), (1.0, 0.5), 1e-2, 1e-3, 1.0),
    "sgd": (dict(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, momentum=0.9, nesterov=0),
            (0.1, 0.0), (1.0, 0.5), 0.1, 0.01, 0.0),
    "sgd_nesterov": (dict(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, momentum=0.9, nesterov=1),
                     (0.1, 0.0), (1.0, 0.5), 0.1, 0.01, 0.0),
    "lion": (dict(lr=1e-2, beta1=0.9, beta2=0.99, eps=1e-8, momentum=0.0, nesterov=0),
             (0.5, 0.0), (1.0, 0.5), 1e-2, 1e-3, 0.0),
    # Issue 12: the paper's NLP betas with clipping and decay in both groups (the decay of the
    # half-lr group is scaled by its own lr), and AdamW at PyTorch's defaults with a large eps
    # (where eps sits: sqrt(v_hat) + eps, not sqrt(v_hat + eps)).
    "lion_nlp": (dict(lr=3e-3, beta1=0.95, beta2=0.98, eps=1e-8, momentum=0.0, nesterov=0),
                 (1.0, 0.3), (1.0, 0.5), 3e-3, 3e-4, 1.0),
    "adamw_torch": (dict(lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-3, momentum=0.0, nesterov=0),
                    (0.01, 0.05), (1.0, 0.5), 1e-2, 1e-3, 1.0),
}


def make_optimizer(case, cfg, groups):
    if case.startswith("adamw"):
        return torch.optim.AdamW(groups, lr=cfg["lr"], betas=(cfg["beta1"], cfg["beta2"]),
                                 eps=cfg["eps"])
    if case.startswith("sgd"):
        return torch.optim.SGD(groups, lr=cfg["lr"], momentum=cfg["momentum"],
                               nesterov=bool(cfg["nesterov"]))
    if case.startswith("lion"):
        return LionRef(groups, cfg["lr"], (cfg["beta1"], cfg["beta2"]))
    raise ValueError(case)


def fmt(t):
    return " ".join("%.17g" % v for v in t.detach().double().reshape(-1).tolist())


def run(case, dtype):
    cfg, decays, scales, lr, min_lr, clip = CASES[case]
    gen = torch.Generator().manual_seed(1234)
    init = {n: torch.randn(shape, generator=gen, dtype=torch.float64) for n, _, shape in PARAMS}
    grads = [{n: GRAD_SCALE[it] * torch.randn(shape, generator=gen, dtype=torch.float64)
              for n, _, shape in PARAMS} for it in range(STEPS)]
    params = {n: init[n].to(dtype).clone().requires_grad_(True) for n, _, _ in PARAMS}
    groups = [{"params": [params[n] for n, g, _ in PARAMS if g == gi],
               "weight_decay": decays[gi]} for gi in range(2)]
    opt = make_optimizer(case, cfg, groups)
    tag = "f32" if dtype == torch.float32 else "f64"
    lines = ["# generated by tests/reference/optim_reference.py (torch %s); do not edit"
             % torch.__version__,
             "optimizer %s" % case.split("_")[0],
             "dtype %s" % ("float32" if dtype == torch.float32 else "float64"),
             "config " + " ".join("%s %.17g" % kv for kv in cfg.items()),
             "schedule warmup_cosine lr %.17g min_lr %.17g warmup_iters %d lr_decay_iters %d"
             % (lr, min_lr, SCHED["warmup_iters"], SCHED["lr_decay_iters"]),
             "clip %.17g" % clip]
    for gi in range(2):
        lines.append("group %d %.17g %.17g" % (gi, decays[gi], scales[gi]))
    for n, g, shape in PARAMS:
        lines.append("param %s %d %d %s" % (n, g, len(shape), " ".join(map(str, shape))))
    for n, _, _ in PARAMS:
        lines.append("init %s %s" % (n, fmt(params[n])))
    for it in range(STEPS):
        base = get_lr(it, lr, min_lr, SCHED["warmup_iters"], SCHED["lr_decay_iters"])
        for gi, group in enumerate(opt.param_groups):
            group["lr"] = base * scales[gi]
        lines.append("step %d %.17g" % (it, base))
        for n, _, _ in PARAMS:
            if (n, it) in NO_GRAD:
                params[n].grad = None
            else:
                params[n].grad = grads[it][n].to(dtype).clone()
                lines.append("grad %s %s" % (n, fmt(params[n].grad)))
        if clip > 0:
            norm = torch.nn.utils.clip_grad_norm_(list(params.values()), clip)
            lines.append("norm %.17g" % norm.item())
        opt.step()
        for n, _, _ in PARAMS:
            lines.append("expect %s %s" % (n, fmt(params[n])))
    path = os.path.join(OUT, "optim_%s_%s.txt" % (case, tag))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", os.path.relpath(path, HERE))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for case in CASES:
        for dtype in (torch.float64, torch.float32):
            run(case, dtype)
