"""Timing helpers shared by the benchmarks: device events on CUDA, a monotonic clock on the CPU,
warm-up first, median of repeats, and a description of the machine for RESULTS.md."""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import time
from collections.abc import Callable

import torch


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def input_epoch_times(
    data, items, cfg, device: torch.device, dtype: torch.dtype, epochs: int, name: str
) -> list[float]:
    """Seconds of each of ``epochs`` epochs that only make the training inputs of ``items``
    (gather of each batch's frames + ``clip_views``, the trainer's ``make_input``) from the
    resident store ``data`` (a ``ClipData``), in batches of ``cfg.batch_size`` in a seeded random
    order, with the run's rotation / scale / flip drawn for each clip (one draw for its views)."""
    from mer_fast.train.augment import random_theta
    from mer_fast.train.batches import make_input
    from mer_fast.train.runtime import generator

    times = []
    for epoch in range(epochs):
        g = generator(cfg.seed, name, epoch)
        perm = torch.randperm(len(items), generator=g)
        theta = random_theta(
            len(items), rotation=cfg.rotation, scale=cfg.scale, hflip=cfg.hflip, generator=g
        )
        sync(device)
        t0 = time.perf_counter()
        for b0 in range(0, len(items), cfg.batch_size):
            idx = perm[b0 : b0 + cfg.batch_size]
            make_input(
                data.frames,
                data.offsets,
                items.take(idx),
                t_out=data.t_out,
                size=cfg.size,
                views=cfg.views,
                mean=data.mean,
                std=data.std,
                dtype=dtype,
                theta=None if theta is None else theta[idx],
            )
        sync(device)
        times.append(time.perf_counter() - t0)
    return times


def time_fn(
    fn: Callable[[], object], device: torch.device, repeats: int = 10, warmup: int = 2
) -> float:
    """Median wall time of fn() in seconds (CUDA: measured with events around each call)."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
        else:
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def copy_bandwidth(device: torch.device, gib: float = 2.0) -> float:
    """Device-to-device copy bandwidth in bytes/s, counting bytes read + written."""
    n = int(gib * (1 << 30))
    src = torch.empty(n, dtype=torch.uint8, device=device).random_(0, 255)
    dst = torch.empty_like(src)
    t = time_fn(lambda: dst.copy_(src), device, repeats=10)
    return 2 * n / t


def machine() -> str:
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()} (torch {torch.__version__})"
    return (
        f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} cores (torch {torch.__version__})"
    )


def stamp() -> str:
    return datetime.date.today().isoformat()
