"""The CUDA kernels' own source (csrc/cuda/*.cu), executed on the CPU (tests/cuda_on_cpu.py).

1. Every test of the op test files (tests/test_ops_*.py) runs here again with
   ``torch.ops.mer_fast`` routed through ``Executor.check``: each op call they make (the
   backward calls of the autograd formulas too)
   runs the CPU kernel and then the CUDA source three times (blocks and threads in order, in
   reverse order, grid capped at 3 blocks), each bit for bit equal to the CPU kernel's result,
   outputs pre-filled with NaN. Their assertions against mer_fast/ops/reference.py (float64;
   autograd of it for the backward) and their stated tolerances therefore hold for the CUDA
   source's output too. New tests and cases in those files are picked up without edits here.
   Their opcheck and torch.compile tests are about the Python registration, not the kernels,
   and are left out.
2. Cases the op tests lack: theta far outside the frame, float64 or non-contiguous; N * t_out
   above 65,535 (grid.y at the device limit, the kernel strides over the rest); tensors large
   enough that the capped grid strides several times in every kernel.
3. The executor's own machinery: the NaN fill, the re-allocation of inputs, the guard bytes.
"""

from __future__ import annotations

import ctypes
import importlib
from pathlib import Path

import pytest
import torch

from mer_fast import ops
from mer_fast.ops import reference
from tests.cuda_on_cpu import (
    OP_NAMESPACE,
    RUNS,
    ExecutorError,
    checked_ops,
    compare,
    executor,
    mer_fast_schemas,
    nan_filled_outputs,
    rehome,
)
from tests.test_ops_clip_views import TOL, random_frames, random_theta

NOT_KERNEL_TESTS = {"test_opcheck_every_op", "test_compile_fullgraph"}
OP_TEST_MODULES = sorted(p.stem for p in Path(__file__).parent.glob("test_ops_*.py"))

for _stem in OP_TEST_MODULES:
    _module = importlib.import_module(f"tests.{_stem}")
    for _name, _test in list(vars(_module).items()):
        if _name.startswith("test_") and callable(_test) and _name not in NOT_KERNEL_TESTS:
            # test_ops_float.py's test_x runs here as test_cuda_source__float__x
            _alias = f"test_cuda_source__{_stem[len('test_ops_') :]}__{_name[len('test_') :]}"
            globals()[_alias] = _test


@pytest.fixture(scope="module")
def ex():
    return executor()


@pytest.fixture(autouse=True)
def _ops_run_the_cuda_source(ex):
    with checked_ops(ex):
        yield


def test_op_tests_reach_the_cuda_source(ex, gen):
    """The routing works: an op test run here checks the CUDA source, forward and backward."""
    before = dict(ex.calls)
    test_cuda_source__float__temporal_resize_backward_matches_reference(  # noqa: F821
        "cpu", (1, 2, 5, 3, 2, 4), gen
    )
    test_cuda_source__clip_views__packed_equals_per_clip("cpu", True, gen)  # noqa: F821
    for op in ("temporal_resize", "temporal_resize_backward", "clip_views", "clip_views_packed"):
        assert ex.calls[op] > before.get(op, 0), op


# -- 2. cases the op tests lack --------------------------------------------------------------------


def _theta(kind: str, gen: torch.Generator, n: int) -> torch.Tensor | None:
    if kind == "absent":
        return None
    if kind == "far outside":  # sampling far beyond every border: the border pixels, clipped
        th = random_theta(gen, n) * 6.0
        th[:, :, 2] = (torch.rand(n, 2, generator=gen) - 0.5) * 20.0
        return th
    if kind == "float64":
        return random_theta(gen, n).double()
    if kind == "non-contiguous":
        th = random_theta(gen, n).transpose(1, 2).contiguous().transpose(1, 2)
        assert not th.is_contiguous()
        return th
    raise ValueError(kind)


THETAS = ["absent", "far outside", "float64", "non-contiguous"]


@pytest.mark.parametrize("kind", THETAS)
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("padding", ["border", "zeros"])
def test_theta_kinds(kind, channels, padding, gen):
    frames = random_frames(gen, 3, 4, 9, 11, channels)
    theta = _theta(kind, gen, 3)
    got = ops.clip_views(frames, 5, (7, 6), "RLO", theta=theta, padding=padding)
    want = reference.clip_views(
        frames,
        5,
        (7, 6),
        "RLO",
        theta=theta,
        dtype=torch.float64,
        compute_dtype=torch.float64,
        padding=padding,
    )
    torch.testing.assert_close(got.double(), want, **TOL[torch.float32])


@pytest.mark.parametrize("kind", THETAS)
@pytest.mark.parametrize("offsets_dtype", [torch.int32, torch.int64])
@pytest.mark.parametrize("padding", ["border", "zeros"])
def test_theta_kinds_packed(kind, offsets_dtype, padding, gen):
    clips = [random_frames(gen, 1, t, 8, 13, 3)[0] for t in (3, 1, 6)]
    frames, offsets = ops.pack_clips(clips)
    theta = _theta(kind, gen, 3)
    got = ops.clip_views_packed(
        frames,
        offsets.to(offsets_dtype),
        4,
        (5, 9),
        "OR",
        theta=theta,
        dtype=torch.bfloat16,
        padding=padding,
    )
    want = reference.clip_views_packed(
        frames,
        offsets,
        4,
        (5, 9),
        "OR",
        theta=theta,
        dtype=torch.float64,
        compute_dtype=torch.float64,
        padding=padding,
    )
    torch.testing.assert_close(got.double(), want, **TOL[torch.bfloat16])


T_OUT_PAST_GRID_Y = 32_771  # N = 2 clips: N * t_out = 65,542 output frames > 65,535


def test_output_frames_beyond_the_grid_y_limit(gen):
    frames = random_frames(gen, 2, 3, 4, 5, 1)
    got = ops.clip_views(frames, T_OUT_PAST_GRID_Y, (2, 3), "L", dtype=torch.float16)
    want = reference.clip_views(
        frames, T_OUT_PAST_GRID_Y, (2, 3), "L", dtype=torch.float64, compute_dtype=torch.float64
    )
    torch.testing.assert_close(got.double(), want, **TOL[torch.float16])


def test_output_frames_beyond_the_grid_y_limit_packed(gen):
    frames, offsets = ops.pack_clips([random_frames(gen, 1, t, 3, 4, 3)[0] for t in (2, 5)])
    got = ops.clip_views_packed(frames, offsets.int(), T_OUT_PAST_GRID_Y, (1, 2), "O")
    want = reference.clip_views_packed(
        frames,
        offsets,
        T_OUT_PAST_GRID_Y,
        (1, 2),
        "O",
        dtype=torch.float64,
        compute_dtype=torch.float64,
    )
    torch.testing.assert_close(got.double(), want, **TOL[torch.float32])


def test_large_float_ops_stride_over_a_capped_grid(gen):
    """Thousands of elements: with the grid capped at 3 blocks of 256 threads, every thread of
    temporal_resize, decalcomanie and their backward kernels handles several."""
    x = torch.randn(2, 3, 9, 7, 13, generator=gen, dtype=torch.float32)
    torch.testing.assert_close(
        ops.temporal_resize(x, 17), reference.temporal_resize(x, 17), atol=1e-5, rtol=1e-5
    )
    torch.ops.mer_fast.temporal_resize_backward(torch.randn(2, 3, 17, 7, 13, generator=gen), 9)
    for side in "LR":
        y = torch.randn(5, 7, 3, 33, generator=gen).to(torch.bfloat16)
        assert torch.equal(ops.decalcomanie(y, side), reference.decalcomanie(y, side))
        torch.ops.mer_fast.decalcomanie_backward(y, side)


def _sample_calls(gen) -> dict:
    frames = random_frames(gen, 2, 3, 5, 6, 3)
    packed, offsets = ops.pack_clips([frames[0], frames[1, :1]])
    stats = ([0.5], [0.25])
    x = torch.randn(1, 2, 3, 4, 5, generator=gen)
    return {
        "clip_views": (frames, 2, [3, 4], "OLR", *stats, None, torch.float32, "zeros"),
        "clip_views_packed": (
            packed,
            offsets,
            2,
            [3, 4],
            "L",
            *stats,
            None,
            torch.float16,
            "border",
        ),
        "temporal_resize": (x, 5),
        "temporal_resize_backward": (x, 2),
        "decalcomanie": (x, "L"),
        "decalcomanie_backward": (x, "R"),
    }


def test_every_op_runs_on_the_cuda_source(ex, gen):
    """Each mer_fast op has a CUDA kernel that the executor runs (a new op needs a sample here
    and a .cu kernel)."""
    samples = _sample_calls(gen)
    names = sorted({s.split("(", 1)[0].split(".", 1)[0] for s in mer_fast_schemas()})
    assert names == sorted(samples), "add a sample call for every mer_fast op"
    for name in names:
        before = ex.counters()["launches"]
        getattr(torch.ops.mer_fast, name)(*samples[name])
        assert ex.counters()["launches"] >= before + len(RUNS), name


# -- 3. the executor itself ------------------------------------------------------------------------


def test_outputs_are_filled_with_nan_or_the_largest_integer():
    with nan_filled_outputs():
        assert torch.empty(5).isnan().all()
        assert torch.empty(3, dtype=torch.bfloat16).isnan().all()
        assert (torch.empty(4, dtype=torch.uint8) == 255).all()


def test_rehome_keeps_offsets_and_strides(gen):
    base = torch.randint(0, 256, (3, 10, 4, 5, 4), dtype=torch.uint8, generator=gen)
    for t in (base[:, 1::3, :, ::2, 1:], base[1:, :1].expand(2, 6, 4, 5, 4), base.transpose(2, 3)):
        r = rehome(t)
        assert (r.shape, r.stride(), r.storage_offset()) == (
            t.shape,
            t.stride(),
            t.storage_offset(),
        )
        assert torch.equal(r, t) and r.data_ptr() != t.data_ptr()


def test_writes_past_an_allocation_are_reported(ex):
    """The tracking allocator's guard bytes: a byte written just past a buffer (here by hand)
    is reported by the next ``finish``."""
    ctl = ex.control
    ctl.finish()
    ctl.track_allocations(True)
    try:
        t = torch.zeros(10, dtype=torch.uint8)
        ctypes.memset(t.data_ptr() + t.numel(), 0, 1)
        del t
    finally:
        ctl.track_allocations(False)
    problems = ctl.finish()
    assert problems and "guard bytes" in problems[0], problems


def test_a_failing_op_leaves_no_state_behind(ex):
    """An error in the host code (here: an argument check) leaves the executor ready for the
    next call."""
    with pytest.raises(ValueError, match="t_out must be between 1 and"):
        ex.run(
            "clip_views",
            torch.zeros(1, 2, 3, 3, 3, dtype=torch.uint8),
            0,
            [2, 2],
            "O",
            [0.5],
            [0.25],
            None,
            torch.float32,
        )
    out = ex.run("decalcomanie", torch.arange(4.0), "L")
    assert out.tolist() == [0.0, 1.0, 1.0, 0.0]
    assert OP_NAMESPACE == "mer_fast_cuda_on_cpu"


def test_results_that_differ_are_explained():
    want = torch.arange(6.0)
    got = want.clone()
    got[4] = float("nan")
    with pytest.raises(ExecutorError, match=r"1 of 6 elements differ.*no thread wrote them"):
        compare(want, got, "op")
    with pytest.raises(ExecutorError, match="differ"):
        compare(torch.tensor([0.0]), torch.tensor([-0.0]), "op")  # bits, not values
