"""Known bugs planted into copies of the CUDA sources (tests/cuda_on_cpu.py PLANTED, each built
into the executor library under its own op namespace): the executor catches every one, while the
real sources pass the very same calls."""

from __future__ import annotations

import pytest
import torch

from tests.cuda_on_cpu import PLANTED, ExecutorError, executor
from tests.test_ops_clip_views import random_frames

STATS = ([0.5], [0.25])


@pytest.fixture(scope="module")
def ex():
    return executor()


def planted(name: str) -> str:
    stale = executor().stale_planted
    assert name not in stale, (
        f"the planted bug {name!r} no longer applies to the CUDA source "
        f"({stale.get(name)}): update PLANTED in tests/cuda_on_cpu.py"
    )
    return PLANTED[name].op_namespace


def clip_args(gen, n=2, t=3, size=(30, 30), t_out=2):
    return (random_frames(gen, n, t, 5, 6, 3), t_out, list(size), "OL", *STATS, None, torch.float32)


def test_kernel_without_its_pixel_loop(ex, gen):
    """The fault this executor was built to find: no grid-stride loop over pixels, so a frame of
    more pixels than the grid has threads (2^28 with the real cap) is left partly unwritten.
    With the grid capped at 3 blocks, a 30x30 frame shows it."""
    args = clip_args(gen)
    ex.check("clip_views", *args)
    with pytest.raises(ExecutorError, match=r"grid capped.*still hold the fill value NaN"):
        ex.check("clip_views", *args, namespace=planted("no_pixel_loop"))


def test_kernel_without_its_job_loop(ex, gen):
    """No grid-stride loop over output frames: only the first gridDim.y frames are written."""
    args = clip_args(gen, size=(4, 5), t_out=7)
    ex.check("clip_views", *args)
    with pytest.raises(ExecutorError, match=r"grid capped.*still hold the fill value NaN"):
        ex.check("clip_views", *args, namespace=planted("no_job_loop"))


def test_launch_over_the_grid_limit(ex, gen):
    big = (random_frames(gen, 2, 3, 4, 5, 1), 32_771, [1, 2], "O", *STATS, None, torch.float16)
    ex.run("clip_views", *big)
    with pytest.raises(RuntimeError, match=r"exceeds the device limit of 65535 for grid.y"):
        ex.run("clip_views", *big, namespace=planted("grid_over_limit"))


def test_launch_without_its_launch_check(ex, gen):
    args = clip_args(gen, size=(3, 3))
    with pytest.raises(ExecutorError, match="not followed by C10_CUDA_KERNEL_LAUNCH_CHECK"):
        ex.run("clip_views", *args, namespace=planted("grid_over_limit"))


def test_launch_without_a_guard(ex, gen):
    x = torch.randn(3, 4, 7, generator=gen)
    ex.check("decalcomanie", x, "L")
    with pytest.raises(RuntimeError, match="no CUDAGuard is live"):
        ex.run("decalcomanie", x, "L", namespace=planted("guard_and_race"))


def test_race_between_threads(ex, gen):
    """Each thread also writes its right neighbour's element: in order the neighbour overwrites
    it with the right value, in reverse order it does not."""
    g = torch.randn(3, 4, 7, generator=gen)
    ex.check("decalcomanie_backward", g, "R")
    with pytest.raises(ExecutorError, match=r"reverse order.*differ from the CPU op"):
        ex.check("decalcomanie_backward", g, "R", namespace=planted("guard_and_race"))


def test_read_out_of_bounds(ex, gen):
    x = torch.randn(2, 3, 5, 2, 3, generator=gen)
    ex.check("temporal_resize", x, 8)
    with pytest.raises(RuntimeError, match=r"out of bounds"):
        ex.run("temporal_resize", x, 8, namespace=planted("read_and_stream"))


def test_launch_on_another_stream(ex, gen):
    g = torch.randn(2, 3, 8, 2, 3, generator=gen)
    ex.check("temporal_resize_backward", g, 5)
    with pytest.raises(RuntimeError, match="launched on stream 0 but the current stream is 7"):
        ex.run("temporal_resize_backward", g, 5, namespace=planted("read_and_stream"))


def test_raw_read_outside_every_allocation(ex, gen):
    """A tap one frame past the last one, read through a raw pointer with __ldg."""
    args = clip_args(gen, n=1, t=2, size=(3, 3), t_out=3)
    ex.check("clip_views", *args)
    with pytest.raises(RuntimeError, match="__ldg of 1 bytes at an address outside every live"):
        ex.run("clip_views", *args, namespace=planted("frame_read"))
