"""What every Python bench script shares with the ft side (benches/src/lib.rs): the thread
count from BENCH_THREADS and the one JSON result line the harness reads."""
import json
import os
import resource

import torch


def init_threads():
    n = os.environ.get("BENCH_THREADS")
    if n:
        torch.set_num_threads(int(n))
    return torch.get_num_threads()


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def emit(value, **extra):
    line = {"impl": "pytorch", "value": value, "threads": torch.get_num_threads(),
            "peak_rss_mib": peak_rss_mib()}
    line.update(extra)
    print(json.dumps(line), flush=True)


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def ft_home():
    return os.environ.get("FT_HOME") or os.path.expanduser("~/.cache/ft")
