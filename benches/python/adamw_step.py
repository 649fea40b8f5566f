"""Twin of src/bin/adamw_step.rs: one torch.optim.AdamW step over BERT-base's parameter shapes,
ms per step (median of 10 after 2 warm-up steps).
Usage: adamw_step.py foreach|fused|loop"""
import sys
import time

import torch

from common import emit, init_threads, median

H, I, LAYERS = 768, 3072, 12


def shapes():
    s = [(30522, H), (512, H), (2, H), (H,), (H,)]
    for _ in range(LAYERS):
        for _ in range(4):
            s += [(H, H), (H,)]
        s += [(H,), (H,), (I, H), (I,), (H, I), (H,), (H,), (H,)]
    s += [(H, H), (H,), (2, H), (2,)]
    return s


init_threads()
variant = sys.argv[1] if len(sys.argv) > 1 else "foreach"
kw = {"foreach": {"foreach": True}, "fused": {"fused": True}, "loop": {"foreach": False}}[variant]
torch.manual_seed(0)
params = [(torch.randn(s) * 0.02).requires_grad_(True) for s in shapes()]
for p in params:
    p.grad = torch.full_like(p, 1e-3)
opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01, **kw)
for _ in range(2):
    opt.step()
times = []
for _ in range(10):
    t = time.perf_counter()
    opt.step()
    times.append((time.perf_counter() - t) * 1e3)
emit(median(times), variant=variant, params=sum(p.numel() for p in params))
