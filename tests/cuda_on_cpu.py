"""The CUDA kernels' own source, executed on the CPU, checked call by call.

``executor()`` builds (once per session, incrementally; tools/cuda_on_cpu.py) and loads the
library in which csrc/cuda/*.cu run on CPU tensors under the op namespace
``mer_fast_cuda_on_cpu`` (plus the planted-bug variants of :data:`PLANTED`), with mer_fast's
op schemas copied there, so that new ops and arguments are picked up without edits here.

:meth:`Executor.run` makes one call: every tensor argument re-allocated by the tracking
allocator (bounds checks), outputs pre-filled with NaN (255 for uint8) so an element no thread
writes shows, a current stream other than the default one, then the problems the executor found
outside the launches (an unchecked launch, overwritten guard bytes) raised.

:meth:`Executor.check` is the full check of one op call: the CPU op of ``torch.ops.mer_fast``,
then the executed CUDA source three times (blocks and threads forward; reverse, the race check;
forward with the grid capped at 3 blocks in x and y, so every grid-stride loop runs), each
bit for bit equal to the CPU op's result (or raising the same error). :func:`checked_ops`
routes ``torch.ops.mer_fast`` through it, so that any op test runs against the CUDA source.

A prebuilt library can be given in ``MER_FAST_CUDA_ON_CPU_LIB`` (the sanitizer run gives its
AddressSanitizer build).
"""

from __future__ import annotations

import collections
import contextlib
import functools
import os
import sys
from pathlib import Path
from unittest import mock

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import cuda_on_cpu as tool  # noqa: E402

LIBRARY_ENV = "MER_FAST_CUDA_ON_CPU_LIB"
BUILD_DIR = ROOT / "build" / "cuda_on_cpu"
OP_NAMESPACE = tool.OP_NAMESPACE
STREAM = 7  # the current stream during a call (the default stream is 0)
SMALL_GRID = 3  # the lowered grid cap of the third run
RUNS = (
    ("blocks and threads in order", "forward", 0),
    ("blocks and threads in reverse order", "reverse", 0),
    (f"grid capped at {SMALL_GRID} blocks in x and y", "forward", SMALL_GRID),
)

# Known bugs planted into copies of the real sources (tests/test_cuda_on_cpu_planted.py shows
# that the executor catches each). Each is its own op namespace in the same library.
PLANTED = {
    # the original fault: no grid-stride loop over pixels, so pixels beyond the grid stay unwritten
    "no_pixel_loop": tool.Variant(
        "mer_fast_planted_no_pixel_loop",
        "clip_views.cu",
        (
            (
                r"for \(int64_t pix = (.*?); pix < plane;\s*pix \+= .*?\) \{",
                r"{ const int64_t pix = \1; if (pix >= plane) return;",
            ),
        ),
    ),
    # no grid-stride loop over output frames: only the first gridDim.y frames are written
    "no_job_loop": tool.Variant(
        "mer_fast_planted_no_job_loop", "clip_views.cu", ((r"job \+= gridDim\.y", "job = jobs"),)
    ),
    # the second tap of a blend read one frame later: past the last frame of the last clip
    "frame_read": tool.Variant(
        "mer_fast_planted_frame_read",
        "clip_views.cu",
        ((r"bilinear<C>\(fp\.f1 \+ cs,", r"bilinear<C>(fp.f1 + p.stride_t + cs,"),),
    ),
    # grid.y not capped at 65535, and the launch not checked afterwards
    "grid_over_limit": tool.Variant(
        "mer_fast_planted_grid_over_limit",
        "clip_views.cu",
        (
            (r"grid_y_for\((p\.N \* p\.t_out)\)", r"static_cast<unsigned int>(\1)"),
            (r"C10_CUDA_KERNEL_LAUNCH_CHECK\(\);", ""),
        ),
    ),
    # forward: no CUDAGuard; backward: each thread also writes its right neighbour (a race)
    "guard_and_race": tool.Variant(
        "mer_fast_planted_guard_and_race",
        "decalcomanie.cu",
        (
            (
                r"(at::Tensor decalcomanie_cuda\(.*?)const c10::cuda::CUDAGuard guard\([^;]*\);",
                r"\1",
            ),
            (
                r"(decalcomanie_backward_kernel.*?)out\[i\] = static_cast<scalar_t>\(acc\);",
                r"\1out[i] = static_cast<scalar_t>(acc); if (i + 1 < total) out[i + 1] = g[i];",
            ),
        ),
    ),
    # forward: reads one frame past the clip; backward: launched on the default stream
    "read_and_stream": tool.Variant(
        "mer_fast_planted_read_and_stream",
        "temporal_resize.cu",
        (
            (r"x\[\(b \* T \+ tt\.t1\) \* S \+ s\]", r"x[(b * T + tt.t1 + 1) * S + s]"),
            (r"(temporal_resize_backward_kernel<scalar_t><<<[^>]*?), 0, stream>>>", r"\1>>>"),
        ),
    ),
}


class ExecutorError(AssertionError):
    """The executed CUDA source broke a rule (unwritten output, race, wrong stream, ...)."""


def mer_fast_schemas() -> list[str]:
    """Every ``mer_fast::`` op schema, without the namespace."""
    import mer_fast  # noqa: F401  (loads mer_fast._C: the schemas)

    out = [
        str(s).split("::", 1)[1]
        for s in torch._C._jit_get_all_schemas()
        if s.name.startswith("mer_fast::")
    ]
    if not out:
        raise RuntimeError("no mer_fast:: ops are registered: is mer_fast._C built?")
    return sorted(set(out))


@contextlib.contextmanager
def nan_filled_outputs():
    """``torch.empty`` (and so ``at::empty`` in C++) fills what it allocates: NaN for floating
    types, the largest value for integers (torch's deterministic mode does exactly this)."""
    enabled = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    fill = torch.utils.deterministic.fill_uninitialized_memory
    torch.use_deterministic_algorithms(True)
    torch.utils.deterministic.fill_uninitialized_memory = True
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(enabled, warn_only=warn_only)
        torch.utils.deterministic.fill_uninitialized_memory = fill


def rehome(t: torch.Tensor) -> torch.Tensor:
    """A copy of ``t`` in a fresh allocation (made while the tracker is on) with the same storage
    offset, sizes and strides (overlapping and broadcast strides too), detached."""
    if t.device.type != "cpu":
        raise ValueError(f"the CUDA-on-CPU executor takes CPU tensors, got one on {t.device}")
    old = t.untyped_storage()
    buf = torch.empty(old.nbytes(), dtype=torch.uint8)
    if old.nbytes():
        buf.copy_(torch.empty(0, dtype=torch.uint8).set_(old))
    return torch.empty(0, dtype=t.dtype).set_(
        buf.untyped_storage(), t.storage_offset(), t.size(), t.stride()
    )


def _map_tensors(fn, value):
    if isinstance(value, torch.Tensor):
        return fn(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_map_tensors(fn, v) for v in value)
    return value


def _bits(t: torch.Tensor) -> torch.Tensor:
    return t.detach().contiguous().reshape(-1).view(torch.uint8)


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0]


def compare(want, got, what: str) -> None:
    """``got`` must be ``want`` bit for bit (tensors, or tuples/lists of them)."""
    if isinstance(want, (list, tuple)):
        if not isinstance(got, (list, tuple)) or len(got) != len(want):
            raise ExecutorError(f"{what}: returned {type(got).__name__}, want {len(want)} values")
        for i, (w, g) in enumerate(zip(want, got, strict=True)):
            compare(w, g, f"{what}, output {i}")
        return
    if not isinstance(want, torch.Tensor):
        if want != got:
            raise ExecutorError(f"{what}: returned {got!r}, the CPU op {want!r}")
        return
    if got.dtype != want.dtype or got.shape != want.shape:
        raise ExecutorError(
            f"{what}: returned {got.dtype} {tuple(got.shape)}, the CPU op "
            f"{want.dtype} {tuple(want.shape)}"
        )
    if not got.is_contiguous():
        raise ExecutorError(f"{what}: returned a non-contiguous tensor")
    if torch.equal(_bits(got), _bits(want)):
        return
    g, w = got.detach().reshape(-1), want.detach().reshape(-1)
    differ = (_bits(g).view(-1, g.element_size()) != _bits(w).view(-1, w.element_size())).any(1)
    if g.is_floating_point():
        unwritten = differ & g.isnan() & ~w.isnan()
        fill = "NaN"
    else:
        unwritten = differ & (g == torch.iinfo(g.dtype).max)
        fill = str(torch.iinfo(g.dtype).max)
    idx = differ.nonzero().flatten()
    first = idx[0].item()
    msg = (
        f"{what}: {idx.numel()} of {g.numel()} elements differ from the CPU op's result; "
        f"first at flat index {first} (got {g[first].item()!r}, want {w[first].item()!r})"
    )
    if unwritten.any():
        msg += (
            f"; {int(unwritten.sum())} of them still hold the fill value {fill}: no thread "
            "wrote them"
        )
    raise ExecutorError(msg)


class Executor:
    def __init__(self, library: Path, stale_planted: dict[str, str] | None = None):
        self.library = library
        # planted bugs whose edits no longer match the sources (not built): name -> why
        self.stale_planted = stale_planted or {}
        self.calls: collections.Counter = collections.Counter()
        self._libraries = []
        for ns in [OP_NAMESPACE] + [v.op_namespace for v in PLANTED.values()]:
            lib = torch.library.Library(ns, "DEF")
            for schema in mer_fast_schemas():
                lib.define(schema)
            self._libraries.append(lib)  # keeps the definitions alive
        torch.ops.load_library(str(library))
        self.control = torch.ops.cuda_on_cpu
        self.real = torch.ops.mer_fast

    def counters(self) -> dict:
        launches, threads = self.control.counters()
        return {"launches": launches, "threads": threads}

    def run(
        self,
        op: str,
        *args,
        order: str = "forward",
        grid_cap: int = 0,
        namespace: str = OP_NAMESPACE,
        **kwargs,
    ):
        """One call of ``namespace::op`` (the executed CUDA source)."""
        fn = getattr(getattr(torch.ops, namespace), op)
        ctl = self.control
        ctl.finish()
        ctl.track_allocations(True)
        failed = True
        try:
            args = _map_tensors(rehome, args)
            kwargs = {k: _map_tensors(rehome, v) for k, v in kwargs.items()}
            ctl.configure(order, grid_cap, STREAM)
            with torch.no_grad(), nan_filled_outputs():
                out = fn(*args, **kwargs)
            failed = False
        finally:
            problems = ctl.finish()
            ctl.configure("forward", 0, 0)
            ctl.track_allocations(False)
        if problems and not failed:
            raise ExecutorError("\n".join(problems))
        return out

    def check(self, op: str, *args, namespace: str = OP_NAMESPACE, **kwargs):
        """The CPU op's result, after checking the executed CUDA source against it (module
        docstring). Errors of the CPU op are re-raised once the CUDA source raised the same.
        A call with a tensor not on the CPU (``meta``: the fake kernels) has no kernel to
        execute and goes to ``torch.ops.mer_fast`` alone."""
        tensors = []
        _map_tensors(tensors.append, (args, list(kwargs.values())))
        if any(t.device.type != "cpu" for t in tensors):
            return getattr(self.real, op)(*args, **kwargs)
        try:
            want = getattr(self.real, op)(*args, **kwargs)
        except Exception as cpu_error:
            try:
                self.run(op, *args, namespace=namespace, **kwargs)
            except ExecutorError:
                raise
            except Exception as err:
                self.calls[op] += 1
                if type(err) is not type(cpu_error) or first_line(err) != first_line(cpu_error):
                    raise ExecutorError(
                        f"{op}: the CPU op raised {type(cpu_error).__name__}: "
                        f"{first_line(cpu_error)}; the CUDA source {type(err).__name__}: "
                        f"{first_line(err)}"
                    ) from err
                raise cpu_error from None  # both raised the same error: the CPU op's stands
            raise ExecutorError(
                f"{op}: the CPU op raised {type(cpu_error).__name__}: "
                f"{first_line(cpu_error)}, the CUDA source returned a result"
            ) from cpu_error
        for what, order, cap in RUNS:
            got = self.run(op, *args, order=order, grid_cap=cap, namespace=namespace, **kwargs)
            compare(want, got, f"{op} on the CUDA source ({what})")
        self.calls[op] += 1
        return want


@functools.cache
def executor() -> Executor:
    """The session's executor: the library of ``MER_FAST_CUDA_ON_CPU_LIB``, or built under
    build/cuda_on_cpu/ (with the planted variants)."""
    lib = os.environ.get(LIBRARY_ENV)
    if lib:
        if not Path(lib).is_file():
            raise FileNotFoundError(f"{LIBRARY_ENV}={lib}: no such file")
        return Executor(Path(lib))
    variants, stale = [], {}
    for name, v in PLANTED.items():
        try:
            tool.apply_edits((tool.CSRC / "cuda" / v.source).read_text(), v.edits, name)
            variants.append(v)
        except tool.TranslationError as exc:
            stale[name] = str(exc)
    return Executor(tool.build(BUILD_DIR / "plain", variants), stale)


class _CheckedOp:
    """An op packet whose calls are Executor.check; its overloads (``.default``, which torch's
    own lookups use, e.g. for fake kernels) are the real ones."""

    def __init__(self, ex: Executor, name: str, packet):
        self._ex, self._name, self._packet = ex, name, packet

    def __call__(self, *args, **kwargs):
        return self._ex.check(self._name, *args, **kwargs)

    def __getattr__(self, attr: str):
        return getattr(self._packet, attr)


class _CheckedNamespace:
    def __init__(self, ex: Executor):
        self._ex = ex

    def __getattr__(self, name: str):
        attr = getattr(self._ex.real, name)  # AttributeError for an op that does not exist
        if isinstance(attr, torch._ops.OpOverloadPacket):
            return _CheckedOp(self._ex, name, attr)
        return attr


@contextlib.contextmanager
def checked_ops(ex: Executor):
    """While active, every ``torch.ops.mer_fast.<op>(...)`` call (mer_fast.ops and the autograd
    formulas call through it) is :meth:`Executor.check`."""
    with mock.patch.object(torch.ops, "mer_fast", _CheckedNamespace(ex)):
        yield
