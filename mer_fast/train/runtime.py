"""Where and how a run executes: seeds derived from names, the training device, compilation,
and the stopwatch that measures the part of an epoch spent making inputs."""
from __future__ import annotations

import hashlib
import time
from contextlib import contextmanager

import torch

from mer_fast.errors import ConfigError
from mer_fast.utils import dist


def seed_for(*keys) -> int:
    """A 63-bit seed derived from any keys (stable across runs and machines)."""
    digest = hashlib.sha256("/".join(map(str, keys)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def generator(*keys) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed_for(*keys))
    return g


_compiled_shapes: tuple | None = None  # parameter shapes of the last network compiled here


def compile_module(module: torch.nn.Module):
    """``torch.compile(module)``. A new network with the parameter shapes of the one compiled
    before in this process (the next LOSO fold) reuses its compiled graph: compilation is paid
    once per process, not per fold (bench/bench_compile_folds.py). A network of other shapes (an
    experiment row with another architecture) starts from a reset of dynamo's caches: compiling
    it against the previous graph makes the parameter sizes symbolic, which Inductor (torch
    2.13) failed to lower for some 3D-ResNet widths ("ValueRangeError: Invalid ranges")."""
    global _compiled_shapes
    shapes = (type(module).__name__,
              tuple((n, tuple(p.shape)) for n, p in module.named_parameters()))
    if _compiled_shapes is not None and shapes != _compiled_shapes:
        torch._dynamo.reset()
    _compiled_shapes = shapes
    return torch.compile(module)


def resolve_device(name: str) -> torch.device:
    """The training device: ``auto`` is CUDA when present; under torchrun, the GPU of the
    process's ``LOCAL_RANK``."""
    if dist.active():
        return dist.rank_device(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for, but torch sees no CUDA GPU "
                          f"(torch {torch.__version__}, CUDA build: {torch.version.cuda})",
                          field="device", fix="use --device cpu, or install a CUDA build of torch")
    return dev


class Stopwatch:
    """Sums the time of marked regions of one epoch without synchronising inside it: CUDA events
    on the GPU (read once, at the end of the epoch), the host clock on the CPU. The trainer
    marks the making of each batch's input (gather + ``clip_views``, or the copy of a decoded
    batch and ``clip_views_packed``) and adds the host time spent waiting for the streaming
    loader: an epoch's ``input_share`` is the part of its time spent on data, not training."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"
        self.host = 0.0
        self.events: list = []

    @contextmanager
    def region(self):
        if self.cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            yield
            end.record()
            self.events.append((start, end))
        else:
            t0 = time.perf_counter()
            yield
            self.host += time.perf_counter() - t0

    def seconds(self) -> float:
        if self.events:
            self.events[-1][1].synchronize()
        return self.host + sum(a.elapsed_time(b) for a, b in self.events) / 1e3
