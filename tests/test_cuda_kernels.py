"""The CUDA kernels at the sizes where their grid caps bite (run by bench/gpu_check.py on a GPU;
skipped without one). The same kernels' source runs on the CPU at small sizes with lowered caps
in tests/test_cuda_on_cpu.py; these are the real caps.

- an output frame of 16,385 x 16,385 > 2^28 pixels: more than the 2^20 blocks of 256 threads
  that blocks_for allows, so the kernel must stride over pixels (it once left them unwritten);
- N * t_out above 65,535 output frames: grid.y is capped at the device limit.
Outputs are allocated NaN-filled (torch's deterministic mode), so an unwritten element shows.
"""

from __future__ import annotations

import pytest
import torch

from mer_fast import ops
from tests.cuda_on_cpu import nan_filled_outputs

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU"),
]


def _frames(gen, n, t, h, w, c):
    return torch.randint(0, 256, (n, t, h, w, c), dtype=torch.uint8, generator=gen)


def test_frame_beyond_the_block_cap():
    """Constant frames: every output value is the normalised constant, so the check needs no
    CPU reference of 2^28 pixels (the CPU kernel would tabulate 20 GB of taps for it)."""
    side = 16_385  # 268,468,225 pixels > 2^20 blocks x 256 threads
    frames = torch.full((1, 2, 3, 4, 1), 77, dtype=torch.uint8)
    with nan_filled_outputs():
        got = ops.clip_views(frames.cuda(), 2, side, "OL", dtype=torch.float16)
    assert got.shape == (2, 1, 1, 2, side, side)
    assert not got.isnan().any(), "pixels left unwritten"
    want = ops.clip_views(frames, 2, 1, "OL", dtype=torch.float32)[0, 0, 0, 0, 0, 0].item()
    assert ((got.float() - want).abs() <= 2e-3).all()


@pytest.mark.parametrize("packed", [False, True])
def test_output_frames_beyond_the_grid_y_limit(gen, packed):
    t_out = 32_771  # x 2 clips = 65,542 output frames
    if packed:
        frames, offsets = ops.pack_clips([_frames(gen, 1, t, 5, 6, 3)[0] for t in (3, 1)])
        run = lambda f: ops.clip_views_packed(f, offsets, t_out, (4, 3), "OR")  # noqa: E731
    else:
        frames = _frames(gen, 2, 3, 5, 6, 3)
        run = lambda f: ops.clip_views(f, t_out, (4, 3), "OR")  # noqa: E731
    with nan_filled_outputs():
        got = run(frames.cuda())
    assert not got.isnan().any(), "output frames left unwritten"
    torch.testing.assert_close(got.cpu(), run(frames), atol=5e-5, rtol=0)


def test_float_ops_beyond_the_block_cap():
    """temporal_resize and decalcomanie over more elements than 2^20 blocks x 256 threads."""
    g = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randn(1, 1, 2, 4097, 65_537, generator=g, device="cuda")  # 2 x (2^28 + 69,633)
    with nan_filled_outputs():
        y = ops.temporal_resize(x, 1)
        z = ops.decalcomanie(y, "L")
    assert not y.isnan().any() and not z.isnan().any()
    torch.testing.assert_close(y.cpu(), ops.temporal_resize(x.cpu(), 1), atol=1e-6, rtol=1e-6)
    assert torch.equal(z.cpu(), ops.decalcomanie(y.cpu(), "L"))
