"""fp32 2048² matmul rate in PyTorch (GFLOP/s), the twin of src/bin/matmul_peak.rs."""
import time

import torch

from common import emit, init_threads, median

init_threads()
n = 2048
a, b = torch.randn(n, n), torch.randn(n, n)
for _ in range(3):
    a @ b
times = []
for _ in range(10):
    t = time.perf_counter()
    a @ b
    times.append(time.perf_counter() - t)
emit(2 * n**3 / median(times) / 1e9)
