"""temporal_resize and decalcomanie: kernels vs the reference, gradients, opcheck, compile."""

from __future__ import annotations

import pytest
import torch
from torch.library import opcheck

from mer_fast import ops
from mer_fast.ops import reference
from tests.conftest import devices

FLOAT_TOL = {
    torch.float64: dict(atol=1e-12, rtol=1e-12),
    torch.float32: dict(atol=1e-5, rtol=1e-5),
    torch.float16: dict(atol=2e-3, rtol=2e-3),
    torch.bfloat16: dict(atol=1e-2, rtol=1e-2),
}

RESIZE_CASES = [
    (2, 3, 7, 4, 5, 11),
    (1, 2, 9, 3, 3, 4),
    (1, 1, 1, 2, 2, 5),
    (2, 1, 6, 1, 1, 1),
    (1, 2, 5, 3, 2, 5),
    (3, 2, 34, 2, 3, 74),
]


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("case", RESIZE_CASES, ids=lambda c: "x".join(map(str, c)))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16, torch.bfloat16])
def test_temporal_resize_matches_reference(device, case, dtype, gen):
    n, c, t, h, w, t_out = case
    x = torch.randn(n, c, t, h, w, generator=gen, dtype=torch.float64)
    want = reference.temporal_resize(x, t_out)
    got = ops.temporal_resize(x.to(device, dtype), t_out)
    assert got.shape == want.shape and got.dtype == dtype
    torch.testing.assert_close(got.cpu().double(), want, **FLOAT_TOL[dtype])


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("case", RESIZE_CASES, ids=lambda c: "x".join(map(str, c)))
def test_temporal_resize_backward_matches_reference(device, case, gen):
    n, c, t, h, w, t_out = case
    x = torch.randn(n, c, t, h, w, generator=gen, dtype=torch.float64)
    g = torch.randn(n, c, t_out, h, w, generator=gen, dtype=torch.float64)
    xr = x.clone().requires_grad_()
    reference.temporal_resize(xr, t_out).backward(g)
    xk = x.to(device).requires_grad_()
    ops.temporal_resize(xk, t_out).backward(g.to(device))
    torch.testing.assert_close(xk.grad.cpu(), xr.grad, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("device", devices())
def test_temporal_resize_non_contiguous(device, gen):
    x = torch.randn(2, 5, 3, 6, 4, generator=gen).transpose(1, 2)  # [2, 3, 5, 6, 4] strided
    assert not x.is_contiguous()
    torch.testing.assert_close(
        ops.temporal_resize(x.to(device), 8).cpu(),
        reference.temporal_resize(x, 8),
        atol=1e-5,
        rtol=1e-5,
    )


@pytest.mark.parametrize("t_out", [1, 3, 9])
def test_temporal_resize_gradcheck(t_out, gen):
    x = torch.randn(1, 2, 5, 2, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: ops.temporal_resize(v, t_out), x)
    assert torch.autograd.gradgradcheck(lambda v: ops.temporal_resize(v, t_out), x)


WIDTHS = [1, 2, 3, 8, 11]


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("side", ["L", "R"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16, torch.uint8])
def test_decalcomanie_matches_reference(device, width, side, dtype, gen):
    x = (torch.rand(2, 3, 4, width, generator=gen) * 200).to(dtype)
    got = ops.decalcomanie(x.to(device), side)
    assert torch.equal(got.cpu(), reference.decalcomanie(x, side))


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("side", ["L", "R"])
def test_decalcomanie_backward(device, width, side, gen):
    x = torch.randn(3, 2, width, generator=gen, dtype=torch.float64)
    g = torch.randn(3, 2, width, generator=gen, dtype=torch.float64)
    xr = x.clone().requires_grad_()
    reference.decalcomanie(xr, side).backward(g)
    xk = x.to(device).requires_grad_()
    ops.decalcomanie(xk, side).backward(g.to(device))
    torch.testing.assert_close(xk.grad.cpu(), xr.grad, atol=0, rtol=0)


def test_decalcomanie_gradcheck_and_strides(gen):
    x = torch.randn(4, 7, generator=gen, dtype=torch.float64).t().requires_grad_()  # strided
    for side in "LR":
        assert torch.autograd.gradcheck(lambda v, side=side: ops.decalcomanie(v, side), x)
        assert torch.autograd.gradgradcheck(lambda v, side=side: ops.decalcomanie(v, side), x)
        assert torch.equal(ops.decalcomanie(x, side), reference.decalcomanie(x, side))


def test_float_op_bad_input():
    with pytest.raises(ValueError, match=r"\[N, C, T, H, W\]"):
        ops.temporal_resize(torch.zeros(2, 3, 4), 2)
    with pytest.raises(ValueError, match="floating"):
        ops.temporal_resize(torch.zeros(1, 1, 2, 2, 2, dtype=torch.int64), 2)
    with pytest.raises(ValueError, match="t_out must be between 1 and 1048576"):
        ops.temporal_resize(torch.zeros(1, 1, 2, 2, 2), 0)
    with pytest.raises(ValueError, match="side must be 'L'"):
        ops.decalcomanie(torch.zeros(3, 4), "O")
    with pytest.raises(ValueError, match="at least one dimension"):
        ops.decalcomanie(torch.tensor(1.0), "L")


# -- opcheck: schema, fake kernels, autograd registration, AOT dispatch ----------------------


def _opcheck_samples(gen):
    frames = torch.randint(0, 256, (2, 5, 7, 9, 3), dtype=torch.uint8, generator=gen)
    packed, offsets = ops.pack_clips([frames[0, :2], frames[1]])
    theta = torch.tensor([[[0.9, 0.1, 0.0], [-0.1, 0.9, 0.1]]] * 2)
    stats = ([0.4, 0.4, 0.4], [0.25, 0.25, 0.25])
    return [
        (
            torch.ops.mer_fast.clip_views.default,
            (frames, 4, [6, 5], "OLR", *stats, theta, torch.float32),
        ),
        (
            torch.ops.mer_fast.clip_views.default,
            (frames[:, ::2], 3, [4, 4], "R", *stats, None, torch.bfloat16),
        ),
        (
            torch.ops.mer_fast.clip_views_packed.default,
            (packed, offsets, 4, [6, 5], "LO", *stats, theta, torch.float16),
        ),
        (
            torch.ops.mer_fast.clip_views.default,
            (frames, 4, [6, 5], "OR", *stats, theta * 1.5, torch.float32, "zeros"),
        ),
        (
            torch.ops.mer_fast.clip_views_packed.default,
            (packed, offsets, 3, [5, 5], "RLO", *stats, theta * 1.5, torch.float32, "zeros"),
        ),
        (
            torch.ops.mer_fast.temporal_resize.default,
            (torch.randn(2, 3, 5, 4, 3, generator=gen, requires_grad=True), 7),
        ),
        (
            torch.ops.mer_fast.temporal_resize_backward.default,
            (torch.randn(2, 3, 7, 4, 3, generator=gen, requires_grad=True), 5),
        ),
        (
            torch.ops.mer_fast.decalcomanie.default,
            (torch.randn(2, 3, 5, generator=gen, requires_grad=True), "L"),
        ),
        (
            torch.ops.mer_fast.decalcomanie_backward.default,
            (torch.randn(2, 3, 6, generator=gen, requires_grad=True), "R"),
        ),
    ]


def test_opcheck_every_op(gen):
    seen = set()
    for op, args in _opcheck_samples(gen):
        opcheck(op, args)
        seen.add(op.name())
    assert seen == {
        f"mer_fast::{n}"
        for n in (
            "clip_views",
            "clip_views_packed",
            "temporal_resize",
            "temporal_resize_backward",
            "decalcomanie",
            "decalcomanie_backward",
        )
    }


def test_compile_fullgraph(gen):
    """The ops trace under torch.compile(fullgraph=True) through their fake kernels."""
    torch._dynamo.reset()

    def pipeline(frames, theta):
        views = ops.clip_views(frames, 6, (8, 8), "OLR", theta=theta)  # [3, N, 3, 6, 8, 8]
        x = views.flatten(0, 1)
        y = ops.temporal_resize(x, 4)
        return ops.decalcomanie(y, "R").sum(dim=(1, 2, 3, 4))

    frames = torch.randint(0, 256, (2, 5, 10, 12, 3), dtype=torch.uint8, generator=gen)
    theta = torch.eye(2, 3).expand(2, 2, 3).contiguous()
    compiled = torch.compile(pipeline, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(compiled(frames, theta), pipeline(frames, theta))
