"""Edges of the ops' argument space: non-finite and far theta, zero-size inputs, and the float
error over clip lengths.

Stated bounds (normalised units for clip_views; a frame spans about 7.4 units with the Kinetics
statistics):
- time: the source positions are exact (integer arithmetic) and each weight is one correctly
  rounded division, so the time weights are within half an ulp of the true ones for every clip
  length T <= 2^40 and t_out <= 2^20; the float32 error does not grow with T. clip_views in
  float32 stays within 5e-5 of the float64 reference (frames up to 32 px; tested T = 1 ... 6000),
  temporal_resize within 4 ulp of the input's magnitude (float32: 2.4e-7 |x|max, float64:
  4.5e-16 |x|max) of an exact rational reference, forward and backward (tested T <= 6000).
- space: float32 sampling positions carry an error of about 2^-24 of the frame's size, as
  F.grid_sample's own on a float32 grid: clip_views is within 1e-5 + 2e-7 max(H, W) / min(std)
  of the float64 reference (tests/test_ops_properties.py holds it over random arguments).
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import partial

import pytest
import torch

from mer_fast import ops
from mer_fast.ops import reference
from tests.conftest import devices
from tests.test_ops_clip_views import ALL_VIEWS, random_frames, random_theta

NAN, INF = float("nan"), float("inf")


# -- non-finite theta: the clip comes out NaN, on every device, never a crash ----------------


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("padding", ["border", "zeros"])
@pytest.mark.parametrize("value", [NAN, INF, -INF], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("entry", range(6))
def test_non_finite_theta_makes_its_clip_nan(device, padding, value, entry, gen):
    # frames large enough that an index computed from NaN would land far outside them
    frames = random_frames(gen, 3, 4, 64, 80, 3)
    theta = random_theta(gen, 3)
    theta[1].view(-1)[entry] = value
    dev = torch.device(device)
    out = ops.clip_views(
        frames.to(dev), 5, (7, 9), "OLR", theta=theta.to(dev), padding=padding
    ).cpu()
    assert out[:, 1].isnan().all()
    assert torch.isfinite(out[:, [0, 2]]).all()
    want = reference.clip_views(
        frames,
        5,
        (7, 9),
        "OLR",
        theta=theta,
        dtype=torch.float64,
        compute_dtype=torch.float64,
        padding=padding,
    )
    torch.testing.assert_close(out.double(), want, atol=5e-5, rtol=0, equal_nan=True)
    # packed, and with an odd output size (inf x 0 at the centre column used to give NaN there)
    packed, offsets = ops.pack_clips(list(frames))
    got = ops.clip_views_packed(
        packed.to(dev), offsets, 3, (5, 5), "RL", theta=theta.to(dev), padding=padding
    ).cpu()
    assert got[:, 1].isnan().all() and torch.isfinite(got[:, [0, 2]]).all()


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("padding", ["border", "zeros"])
@pytest.mark.parametrize("far", [1e4, 1e30, 3.4e38, -1e30], ids=str)
def test_far_theta_reads_the_edge_or_zeros(device, padding, far, gen):
    """Finite theta that sends every sample far outside (or products that overflow float32 to
    inf) gives the border pixels or zeros, as the float64 reference does, never NaN."""
    frames = random_frames(gen, 2, 3, 11, 13, 3)
    theta = torch.tensor([[[1.0, 0.2, far], [0.1, 0.9, 0.05]], [[far, far, 0.0], [0.0, 1.0, far]]])
    dev = torch.device(device)
    got = (
        ops.clip_views(frames.to(dev), 3, (6, 7), "OLR", theta=theta.to(dev), padding=padding)
        .cpu()
        .double()
    )
    assert torch.isfinite(got).all()
    want = reference.clip_views(
        frames,
        3,
        (6, 7),
        "OLR",
        theta=theta,
        dtype=torch.float64,
        compute_dtype=torch.float64,
        padding=padding,
    )
    if abs(far) < 1e30:  # clip 1 (theta[0, 0] = theta[0, 1] = far) cancels at the centre column
        torch.testing.assert_close(got, want, atol=5e-5, rtol=0)
    else:
        torch.testing.assert_close(got[:, 0], want[:, 0], atol=5e-5, rtol=0)


def test_float64_theta_beyond_float32_is_far_not_nan(gen):
    frames = random_frames(gen, 1, 2, 6, 8, 3)
    theta = torch.tensor([[[1.0, 0.0, 1e300], [0.0, 1.0, 0.0]]], dtype=torch.float64)
    got = ops.clip_views(frames, 2, (4, 5), "O", theta=theta)
    want = reference.clip_views(
        frames, 2, (4, 5), "O", theta=theta, dtype=torch.float64, compute_dtype=torch.float64
    )
    torch.testing.assert_close(got.double(), want, atol=5e-5, rtol=0)
    zeros = ops.clip_views(frames, 2, (4, 5), "O", theta=theta, padding="zeros", mean=0.0, std=1.0)
    assert bool((zeros == 0).all())


# -- zero-size inputs: an empty result or an error naming the argument ------------------------

EMPTY_RESIZE = [
    ((0, 3, 4, 5, 5), 6),
    ((1, 0, 4, 5, 5), 6),
    ((1, 3, 4, 0, 5), 6),
    ((2, 3, 4, 5, 0), 1),
    ((0, 0, 1, 0, 0), 3),
]


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("shape,t_out", EMPTY_RESIZE, ids=str)
def test_temporal_resize_empty_forward_and_backward(device, shape, t_out):
    x = torch.zeros(shape, device=device, requires_grad=True)
    y = ops.temporal_resize(x, t_out)
    assert y.shape == (shape[0], shape[1], t_out, shape[3], shape[4])
    y.sum().backward()
    assert x.grad.shape == x.shape
    want = reference.temporal_resize(torch.zeros(shape), t_out) if all(shape) else None
    if want is not None:
        assert want.shape == y.shape


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("shape", [(1, 3, 0, 5, 5), (0, 3, 0, 5, 5), (1, 3, 0, 5, 0)], ids=str)
def test_temporal_resize_without_frames_is_refused(device, shape):
    """T = 0 used to read past the input (segfault) whenever the output was not empty."""
    with pytest.raises(ValueError, match=r"x must have at least one frame \(dim 2\)"):
        ops.temporal_resize(torch.zeros(shape, device=device), 4)
    with pytest.raises(ValueError, match=r"grad must have at least one frame \(dim 2\)"):
        torch.ops.mer_fast.temporal_resize_backward(torch.zeros(shape, device=device), 4)
    with pytest.raises(ValueError, match="t_in must be"):
        torch.ops.mer_fast.temporal_resize_backward(torch.zeros(1, 3, 2, 5, 5, device=device), 0)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("shape", [(3, 0), (0, 5), (2, 0, 4), (0,)], ids=str)
@pytest.mark.parametrize("side", ["L", "R"])
def test_decalcomanie_empty(device, shape, side):
    x = torch.zeros(shape, device=device, requires_grad=True)
    y = ops.decalcomanie(x, side)
    assert y.shape == x.shape
    y.sum().backward()
    assert x.grad.shape == x.shape
    assert (
        ops.decalcomanie(torch.zeros(shape, dtype=torch.uint8, device=device), side).shape
        == x.shape
    )


@pytest.mark.parametrize("device", devices())
def test_clip_views_empty_batches(device):
    dev = torch.device(device)
    for shape in [(0, 5, 8, 8, 3), (0, 0, 8, 8, 1), (0, 2, 0, 0, 3)]:
        out = ops.clip_views(
            torch.zeros(shape, dtype=torch.uint8, device=dev),
            4,
            (6, 5),
            "LO",
            theta=torch.zeros(0, 2, 3, device=dev),
        )
        assert out.shape == (2, 0, shape[-1], 4, 6, 5)
    for frame_shape in [(0, 8, 8, 3), (0, 0, 0, 1)]:
        out = ops.clip_views_packed(
            torch.zeros(frame_shape, dtype=torch.uint8, device=dev),
            torch.zeros(1, dtype=torch.int64),
            4,
            6,
            "O",
        )
        assert out.shape == (1, 0, frame_shape[-1], 4, 6, 6)


CLIP_ZERO = [  # frames shape (or packed frames, offsets), message
    ((1, 0, 4, 4, 3), None, "at least one frame per clip"),
    ((1, 2, 0, 4, 3), None, "H, W >= 1"),
    ((1, 2, 4, 0, 3), None, "H, W >= 1"),
    ((1, 2, 4, 4, 0), None, "1 or 3 channels"),
    ((3, 4, 4, 3), [0, 3, 3], "strictly increasing"),
    ((3, 4, 4, 3), [0, 0, 3], "strictly increasing"),
    ((3, 4, 4, 3), [], "N+1 clip starts"),
    ((0, 4, 4, 3), [0, 0], "strictly increasing"),
    ((3, 0, 4, 3), [0, 3], "H, W >= 1"),
]


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("shape,offsets,message", CLIP_ZERO, ids=[str(c[:2]) for c in CLIP_ZERO])
def test_clip_views_zero_sizes_are_named(device, shape, offsets, message):
    frames = torch.zeros(shape, dtype=torch.uint8, device=device)
    if offsets is None:
        call = partial(ops.clip_views, frames, 3, 4)
    else:
        call = partial(
            ops.clip_views_packed, frames, torch.tensor(offsets, dtype=torch.int64), 3, 4
        )
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("+", r"\+")):
        call()
    for bad in (dict(t_out=0), dict(size=(0, 4)), dict(size=(4, 0))):
        kwargs = dict(t_out=3, size=4)
        kwargs.update(bad)
        with pytest.raises(ValueError, match="t_out" if "t_out" in bad else "size"):
            ops.clip_views(torch.zeros(1, 2, 4, 4, 3, dtype=torch.uint8, device=device), **kwargs)


# -- float error over clip lengths ------------------------------------------------------------


def exact_resize_matrix(t_in: int, t_out: int) -> torch.Tensor:
    """[t_out, t_in] linear interpolation matrix of the specification (align_corners=False),
    from exact rationals: src = (t_in / t_out)(t + 1/2) - 1/2, clamped at 0."""
    m = torch.zeros(t_out, t_in, dtype=torch.float64)
    for t in range(t_out):
        src = max(Fraction(t_in, t_out) * (Fraction(t) + Fraction(1, 2)) - Fraction(1, 2), 0)
        i0 = math.floor(src)
        frac = src - i0
        i1 = min(i0 + 1, t_in - 1)
        m[t, i0] += float(1 - frac)
        m[t, i1] += float(frac)
    return m


LENGTHS = [
    (1, 7),
    (7, 1),
    (34, 66),
    (66, 34),
    (74, 66),
    (500, 74),
    (1000, 66),
    (997, 1000),
    (3000, 34),
    (4999, 66),
    (6000, 6000),
    (66, 4999),
]


@pytest.mark.parametrize("t_in,t_out", LENGTHS, ids=str)
def test_temporal_resize_is_exact_for_every_length(t_in, t_out, gen):
    """Forward and backward against exact rational weights, in float32 and float64: the error is
    a few ulp of the values, whatever the length (it used to grow with T)."""
    m = exact_resize_matrix(t_in, t_out)
    x = torch.randn(1, 2, t_in, 1, 3, generator=gen, dtype=torch.float64)
    g = torch.randn(1, 2, t_out, 1, 3, generator=gen, dtype=torch.float64)
    want = torch.einsum("ot,nctij->ncoij", m, x)
    want_grad = torch.einsum("ot,ncoij->nctij", m, g)
    for dtype, ulp in [(torch.float32, 2.0**-24), (torch.float64, 2.0**-53)]:
        xk = x.to(dtype).requires_grad_()
        y = ops.temporal_resize(xk, t_out)
        y.backward(g.to(dtype))
        bound = 4 * ulp * x.abs().max().item()
        assert (y.double() - want).abs().max().item() <= bound
        # each input frame receives at most ceil(t_out / t_in) + 1 output gradients
        fan_in = -(-t_out // t_in) + 1
        grad_bound = (fan_in + 3) * ulp * g.abs().max().item() * (t_out / t_in + 1)
        assert (xk.grad.double() - want_grad).abs().max().item() <= grad_bound


@pytest.mark.parametrize(
    "t_in,t_out", [(34, 66), (1000, 66), (3000, 997), (6000, 74), (1, 3000), (2, 5)], ids=str
)
def test_clip_views_float32_error_does_not_grow_with_length(t_in, t_out, gen):
    """Random frames, float32 output against the float64 reference: within 5e-5 (it was 6.1e-5
    at T = 500 and 1.5e-4 at T = 1000 when the time positions were float32)."""
    frames = random_frames(gen, 1, t_in, 12, 13, 3)
    theta = random_theta(gen, 1)
    for padding in ("border", "zeros"):
        got = ops.clip_views(frames, t_out, (9, 10), "OLR", theta=theta, padding=padding)
        want = reference.clip_views(
            frames,
            t_out,
            (9, 10),
            "OLR",
            theta=theta,
            dtype=torch.float64,
            compute_dtype=torch.float64,
            padding=padding,
        )
        torch.testing.assert_close(got.double(), want, atol=5e-5, rtol=0)


def test_clip_views_time_weights_sweep(gen):
    """T from 1 to 300 at the paper's lengths: one value per frame (a 1x1 clip) makes the output
    the time interpolation alone, compared with the exact rational weights."""
    for t_in in list(range(1, 40)) + [66, 73, 74, 75, 97, 131, 199, 255, 256, 257, 300]:
        values = torch.randint(0, 256, (t_in,), generator=gen)
        frames = values.view(1, t_in, 1, 1, 1).to(torch.uint8)
        for t_out in (34, 66, 74):
            got = ops.clip_views(frames, t_out, 1, "O", mean=0.0, std=1 / 255)[0, 0, 0, :, 0, 0]
            want = exact_resize_matrix(t_in, t_out) @ values.double()
            # float32 blend of two weights (each within half an ulp) and values <= 255
            assert (got.double() - want).abs().max().item() <= 4 * 255 * 2.0**-24, (t_in, t_out)


@pytest.mark.parametrize("views", ALL_VIEWS[:3] + ALL_VIEWS[-2:])
def test_long_packed_clips(views, gen):
    lengths = [1, 2999, 17, 1200]
    clips = [random_frames(gen, 1, t, 5, 6, 1)[0] for t in lengths]
    frames, offsets = ops.pack_clips(clips)
    got = ops.clip_views_packed(frames, offsets, 66, (4, 4), views)
    want = reference.clip_views_packed(
        frames, offsets, 66, (4, 4), views, dtype=torch.float64, compute_dtype=torch.float64
    )
    torch.testing.assert_close(got.double(), want, atol=5e-5, rtol=0)
