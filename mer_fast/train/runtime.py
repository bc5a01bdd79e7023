"""Where and how a run executes: seeds derived from names, compilation, and the stopwatch that
measures the part of an epoch spent making inputs. The training device is
:func:`mer_fast.utils.dist.resolve_device` (the rank's GPU under torchrun)."""

from __future__ import annotations

import hashlib
import time
from contextlib import contextmanager

import torch

from mer_fast.errors import ConfigError


def seed_for(*keys) -> int:
    """A 63-bit seed derived from any keys (stable across runs and machines)."""
    digest = hashlib.sha256("/".join(map(str, keys)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def generator(*keys) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed_for(*keys))
    return g


_compiled_shapes: tuple | None = None  # parameter shapes of the last network compiled here


def compile_module(module: torch.nn.Module) -> CompiledModule:
    """``torch.compile(module)``, surviving a damaged compile cache (:class:`CompiledModule`).

    A new network with the parameter shapes of the one compiled before in this process (the
    next LOSO fold) reuses its compiled graph: compilation is paid once per process, not per
    fold (bench/bench_compile_folds.py). A network of other shapes (an experiment row with
    another architecture) starts from a reset of dynamo's caches: compiling it against the
    previous graph makes the parameter sizes symbolic, which Inductor (torch 2.13) failed to
    lower for some 3D-ResNet widths ("ValueRangeError: Invalid ranges")."""
    global _compiled_shapes  # noqa: PLW0603 - dynamo's caches are per process, so is this
    shapes = (
        type(module).__name__,
        tuple((n, tuple(p.shape)) for n, p in module.named_parameters()),
    )
    if _compiled_shapes is not None and shapes != _compiled_shapes:
        torch._dynamo.reset()
    _compiled_shapes = shapes
    return CompiledModule(module)


class CompiledModule:
    """A compiled module that survives a damaged Inductor cache entry.

    torch.compile compiles at the first call. Inductor keeps its compiled kernels in a cache
    folder shared by every process of the user (``TORCHINDUCTOR_CACHE_DIR``, by default
    ``/tmp/torchinductor_<user>``); a compile killed mid-write (Ctrl-C, SIGKILL, a full disk)
    can leave a truncated entry there ("ImportError: ... .so: file too short") that fails every
    later compile of the same graph. When compiling fails, the process says so, points Inductor
    (and Triton) at a fresh cache folder of its own, drops the in-memory caches and dynamo's
    compiled code, and compiles again, once; a second failure is torch.compile's own and stops
    the run with advice."""

    def __init__(self, module: torch.nn.Module):
        self.module = module
        self.compiled = torch.compile(module)
        self.retried = False

    def __call__(self, *args, **kwargs):
        from torch._dynamo.exc import BackendCompilerFailed

        while True:
            try:
                return self.compiled(*args, **kwargs)
            except BackendCompilerFailed as exc:
                if self.retried:
                    raise ConfigError(
                        f"torch.compile failed again with a clean cache folder: {_first_line(exc)}",
                        field="compile",
                        fix="run without compile (drop --set compile=true); the run resumes "
                        "from its last saved epoch",
                    ) from exc
                self.retried = True
                fresh_compile_cache(exc)
                self.compiled = torch.compile(self.module)


def _first_line(exc: BaseException) -> str:
    """``Type: first line`` of what went wrong (the compiler's own error, not the wrapper's)."""
    exc = getattr(exc, "inner_exception", None) or exc
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def fresh_compile_cache(reason: BaseException | None = None) -> str:
    """Points this process's Inductor and Triton caches at a new empty folder (removed at exit),
    clears the in-memory compile caches and dynamo's compiled code; returns the folder."""
    import atexit
    import os
    import shutil
    import tempfile

    from torch._inductor.runtime.cache_dir_utils import cache_dir
    from torch._inductor.utils import clear_caches

    from mer_fast.utils.progress import console

    old = cache_dir()
    new = tempfile.mkdtemp(prefix="mer-fast-inductor-")
    atexit.register(shutil.rmtree, new, ignore_errors=True)
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = new
    os.environ["TRITON_CACHE_DIR"] = os.path.join(new, "triton")
    clear_caches()
    torch._dynamo.reset()
    why = f" ({_first_line(reason)})" if reason is not None else ""
    console.print(
        f"[yellow]torch.compile failed{why}. Inductor's cache folder {old} may hold a "
        f"damaged entry (a compile killed mid-write leaves one); compiling again "
        f"into a clean folder of this process, {new}[/]",
        highlight=False,
    )
    return new


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
