"""Reference values for ft-optim's tests, from torch.optim / transformers / torch.nn.functional.

Usage: optim_reference.py OUT.safetensors

Everything the Rust side needs to replay the same problem (initial parameters, per-step
gradients, logits, labels) is written next to the expected results, so no random generator has
to agree between the two sides. Float64 scalars (learning rates) are stored as float64 tensors.
"""
import sys

import torch
from safetensors.torch import save_file
from transformers import (
    get_constant_schedule,
    get_constant_schedule_with_warmup,
    get_cosine_schedule_with_warmup,
    get_cosine_with_hard_restarts_schedule_with_warmup,
    get_linear_schedule_with_warmup,
)

torch.set_num_threads(1)
out = {}
STEPS = 12
SHAPES = [(4, 3), (5,), (2, 3, 2)]

# ---- optimizers: a fixed problem ----
g = torch.Generator().manual_seed(1234)
init = [torch.randn(s, generator=g) for s in SHAPES]
grads = [[torch.randn(s, generator=g) for s in SHAPES] for _ in range(STEPS)]
for i, p in enumerate(init):
    out[f"problem.init.p{i}"] = p
for t in range(STEPS):
    for i, gr in enumerate(grads[t]):
        out[f"problem.grad{t}.p{i}"] = gr


def lr_at(t):
    # Varies per step so that the per-step lr plumbing is exercised.
    return 0.01 * (1.0 - t / 20.0)


# Two groups: p0, p1 with (scale 1, wd A), p2 with (scale 0.5, wd B).
CONFIGS = {
    "adamw": (torch.optim.AdamW, dict(betas=(0.9, 0.999), eps=1e-8, amsgrad=False), 0.01, 0.0),
    "adamw_amsgrad": (torch.optim.AdamW, dict(betas=(0.8, 0.99), eps=1e-6, amsgrad=True), 0.1, 0.02),
    "adam": (torch.optim.Adam, dict(betas=(0.9, 0.999), eps=1e-8, amsgrad=False), 0.05, 0.0),
    "adam_amsgrad": (torch.optim.Adam, dict(betas=(0.9, 0.98), eps=1e-8, amsgrad=True), 0.0, 0.01),
    "sgd": (torch.optim.SGD, dict(momentum=0.0), 0.01, 0.0),
    "sgd_momentum": (torch.optim.SGD, dict(momentum=0.9, dampening=0.1), 0.01, 0.001),
    "sgd_nesterov": (torch.optim.SGD, dict(momentum=0.9, nesterov=True), 0.0, 0.01),
}
for name, (cls, kw, wd_a, wd_b) in CONFIGS.items():
    params = [p.clone().requires_grad_(True) for p in init]
    opt = cls(
        [
            {"params": params[:2], "weight_decay": wd_a, "scale": 1.0},
            {"params": params[2:], "weight_decay": wd_b, "scale": 0.5},
        ],
        lr=lr_at(0),
        foreach=False,
        **kw,
    )
    for t in range(STEPS):
        for grp in opt.param_groups:
            grp["lr"] = lr_at(t) * grp["scale"]
        for p, gr in zip(params, grads[t]):
            p.grad = gr.clone()
        opt.step()
        for i, p in enumerate(params):
            out[f"{name}.step{t}.p{i}"] = p.detach().clone()

# ---- schedules ----
TOTAL, WARMUP = 50, 7
dummy = [torch.zeros(1, requires_grad=True)]


def record(name, make, base_lr=0.1, steps=TOTAL):
    opt = torch.optim.SGD(dummy, lr=base_lr)
    sched = make(opt)
    lrs = []
    for _ in range(steps + 1):
        lrs.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    out[f"sched.{name}"] = torch.tensor(lrs, dtype=torch.float64)


record("constant", lambda o: get_constant_schedule(o))
record("constant_warmup", lambda o: get_constant_schedule_with_warmup(o, WARMUP))
record("linear", lambda o: get_linear_schedule_with_warmup(o, WARMUP, TOTAL))
record("linear_nowarmup", lambda o: get_linear_schedule_with_warmup(o, 0, TOTAL))
record("cosine", lambda o: get_cosine_schedule_with_warmup(o, WARMUP, TOTAL))
record("cosine_1.5", lambda o: get_cosine_schedule_with_warmup(o, WARMUP, TOTAL, num_cycles=1.5))
record(
    "cosine_restarts_3",
    lambda o: get_cosine_with_hard_restarts_schedule_with_warmup(o, WARMUP, TOTAL, num_cycles=3),
)
record("step_10_0.5", lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=10, gamma=0.5))
record(
    "onecycle_cos",
    lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.3, total_steps=TOTAL),
    steps=TOTAL - 1,
)
record(
    "onecycle_linear_3phase",
    lambda o: torch.optim.lr_scheduler.OneCycleLR(
        o,
        max_lr=0.2,
        total_steps=TOTAL,
        pct_start=0.25,
        div_factor=10.0,
        final_div_factor=100.0,
        anneal_strategy="linear",
        three_phase=True,
    ),
    steps=TOTAL - 1,
)

# ---- losses ----
logits = torch.randn(9, 4, generator=g, dtype=torch.float64) * 2
labels = torch.tensor([0, 3, -100, 1, 1, 2, -100, 3, 0])
weights = torch.tensor([0.5, 2.0, 1.0, 3.0], dtype=torch.float64)
out["loss.logits"] = logits
out["loss.labels"] = labels
out["loss.weights"] = weights
F = torch.nn.functional
for ls in (0.0, 0.1):
    tag = f"ls{ls}"
    out[f"loss.{tag}.sum"] = F.cross_entropy(logits, labels, reduction="sum", label_smoothing=ls)
    out[f"loss.{tag}.mean"] = F.cross_entropy(logits, labels, reduction="mean", label_smoothing=ls)
    out[f"loss.{tag}.w.sum"] = F.cross_entropy(
        logits, labels, weight=weights, reduction="sum", label_smoothing=ls
    )
    out[f"loss.{tag}.w.mean"] = F.cross_entropy(
        logits, labels, weight=weights, reduction="mean", label_smoothing=ls
    )

# ---- clipping ----
clip_grads = [torch.randn(s, generator=g) * 3 for s in SHAPES]
params = [torch.zeros(s, requires_grad=True) for s in SHAPES]
for p, gr in zip(params, clip_grads):
    p.grad = gr.clone()
    out[f"clip.grad.p{SHAPES.index(tuple(p.shape))}"] = gr
norm = torch.nn.utils.clip_grad_norm_(params, max_norm=2.0, foreach=False)
out["clip.norm"] = norm.reshape(1)
for i, p in enumerate(params):
    out[f"clip.clipped.p{i}"] = p.grad.clone()

save_file({k: v.contiguous() for k, v in out.items()}, sys.argv[1])
