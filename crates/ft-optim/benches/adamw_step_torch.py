"""torch.optim.AdamW step time over BERT-base's parameter shapes, the figures the
`adamw_step` bench is compared with: foreach=False (the per-parameter loop), foreach=True and
fused=True, ms per step (median of 10 after 2 warm-up steps).

Usage: .venv/bin/python crates/ft-optim/benches/adamw_step_torch.py
"""
import time

import torch

H, I, LAYERS = 768, 3072, 12


def shapes():
    s = [(30522, H), (512, H), (2, H), (H,), (H,)]
    for _ in range(LAYERS):
        for _ in range(4):
            s += [(H, H), (H,)]
        s += [(H,), (H,), (I, H), (I,), (H, I), (H,), (H,), (H,)]
    s += [(H, H), (H,), (2, H), (2,)]
    return s


def bench(**kw):
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
    times.sort()
    n = sum(p.numel() for p in params)
    print(
        f"torch.optim.AdamW({', '.join(f'{k}={v}' for k, v in kw.items())}), {n} params, "
        f"{torch.get_num_threads()} threads: median {times[5]:.1f} ms/step "
        f"(min {times[0]:.1f}, max {times[-1]:.1f})"
    )
    del opt, params


bench(foreach=False)
bench(foreach=True)
bench(fused=True)
