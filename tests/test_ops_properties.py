"""Property-based tests (Hypothesis) over the ops' argument space.

Each drawn call either equals ``mer_fast.ops.reference`` within the stated tolerance, or raises a
ValueError / RuntimeError (never a TypeError, never a crash) whose message names an argument that
is actually wrong. Which arguments are wrong is decided here, independently of the ops' own
checks. Shapes include 0 and 1, frames come contiguous or strided, theta includes NaN, +-inf and
far values, offsets come as int32 or int64, paddings both.

Tolerance of clip_views (normalised units), from the float32 arithmetic of the kernels:
    1e-5 + 4 * 2^-24 * ((1.5 Rx + 3) W + (1.5 Ry + 3) H) / min(std)
where Rx, Ry are the sums of |theta| along theta's rows (0 for a row whose samples all lie
far outside the frame, which reads the border or zeros exactly), plus the rounding of a float16
or bfloat16 output. Examples are derandomised with a fixed budget, so runs are repeatable.
The strategies are in tests/ops_helpers.py.
"""

from __future__ import annotations

import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mer_fast import ops
from mer_fast.ops import reference
from tests.ops_helpers import (
    LAYOUTS,
    OUT_TOL,
    broken_arguments,
    clip_views_atol,
    common_args,
    make_frames,
    out_size,
    stats_arg,
    stats_problem,
    theta_rows,
)

PROPERTY_SETTINGS = settings(
    max_examples=120,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def assert_error_names(exc: BaseException, problems: set[str]):
    assert isinstance(exc, (ValueError, RuntimeError)) and not isinstance(exc, TypeError), (
        f"{type(exc).__name__}: {exc}"
    )
    message = str(exc)
    assert any(name in message for name in problems), (
        f"message names none of {sorted(problems)}: {message}"
    )


def call(fn):
    """(result, None) or (None, the exception)."""
    try:
        result = fn()
    except Exception as exc:  # noqa: BLE001 - what it is gets checked by the caller
        event(f"refused: {type(exc).__name__}")
        return None, exc
    event("accepted")
    return result, None


def compare_clip_views(got, want, theta, n, height, width, std, dtype):
    atol, rtol = OUT_TOL[dtype]
    atol += clip_views_atol(theta, n, height, width, std)
    torch.testing.assert_close(got.double(), want, atol=atol, rtol=rtol, equal_nan=True)


# -- clip_views ---------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(data=st.data())
def test_clip_views_property(data):
    draw = data.draw
    broken = draw(
        broken_arguments(
            ("frames", "t_out", "size", "views", "mean", "std", "theta", "dtype", "padding")
        )
    )
    n, t = draw(st.integers(0, 3)), draw(st.integers(1, 7))
    height, width = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    channels, frame_dtype = draw(st.sampled_from([1, 3])), torch.uint8
    if "frames" in broken:
        flaw = draw(st.sampled_from(["T=0", "H=0", "W=0", "channels", "dtype"]))
        n = max(n, 1) if flaw in ("T=0", "H=0", "W=0") else n
        t, height, width = (
            0 if flaw == "T=0" else t,
            0 if flaw == "H=0" else height,
            0 if flaw == "W=0" else width,
        )
        channels = draw(st.sampled_from([0, 2, 4])) if flaw == "channels" else channels
        frame_dtype = (
            draw(st.sampled_from([torch.float32, torch.int16])) if flaw == "dtype" else frame_dtype
        )
    elif n == 0:  # an empty batch may have any other sizes
        t, height, width = draw(st.integers(0, 3)), draw(st.integers(0, 3)), draw(st.integers(0, 3))
    frames = make_frames(
        draw(st.integers(0, 2**31)), (n, t, height, width, channels), draw(LAYOUTS), frame_dtype
    )
    problems = set()
    if (
        frame_dtype != torch.uint8
        or channels not in (1, 3)
        or (n > 0 and (t == 0 or height == 0 or width == 0))
    ):
        problems.add("frames")
    t_out, size, views, dtype, padding, more = draw(common_args(broken))
    problems |= more
    mean = draw(stats_arg(channels, "mean", "mean" in broken))
    std = draw(stats_arg(channels, "std", "std" in broken))
    problems |= {
        p for p in (stats_problem(mean, channels, "mean"), stats_problem(std, channels, "std")) if p
    }
    theta = None
    if "theta" in broken:
        theta = draw(
            st.sampled_from(
                [
                    torch.zeros(n + 1, 2, 3),
                    torch.zeros(n, 2, 3, dtype=torch.int64),
                    torch.zeros(n, 3, 3),
                    torch.zeros(n, 6),
                ]
            )
        )
        problems.add("theta")
    else:
        kind = draw(st.sampled_from(["none", "float32", "float32", "float64"]))
        theta = None if kind == "none" else draw(theta_rows(n, getattr(torch, kind)))

    got, exc = call(
        lambda: ops.clip_views(frames, t_out, size, views, mean, std, theta, dtype, padding)
    )
    # the fake kernel (meta) agrees on what is wrong and on the output's shape
    meta, meta_exc = call(
        lambda: ops.clip_views(
            torch.empty(frames.shape, dtype=frames.dtype, device="meta"),
            t_out,
            size,
            views,
            mean,
            std,
            None if theta is None else theta.to("meta"),
            dtype,
            padding,
        )
    )
    if problems:
        assert exc is not None, f"accepted although {sorted(problems)} are wrong"
        assert_error_names(exc, problems)
        assert meta_exc is not None
        assert_error_names(meta_exc, problems)
        return
    assert exc is None, f"refused valid arguments: {exc!r}"
    assert meta_exc is None, f"fake kernel refused valid arguments: {meta_exc!r}"
    h, w = out_size(size)
    assert got.shape == (len(views), n, channels, t_out, h, w) == meta.shape
    assert got.dtype == dtype == meta.dtype and got.is_contiguous()
    if n == 0:
        return
    want = reference.clip_views(
        frames,
        t_out,
        size,
        views,
        mean,
        std,
        theta,
        torch.float64,
        compute_dtype=torch.float64,
        padding=padding,
    )
    std_values = ops.api._stats(std, ops.KINETICS_STD, channels, "std")
    compare_clip_views(got, want, theta, n, height, width, std_values, dtype)


# -- clip_views_packed --------------------------------------------------------------------------


@st.composite
def offsets_arg(draw, lengths: list[int]):
    """(offsets tensor, total frames, problem or None)."""
    total = sum(lengths)
    values = [0]
    for length in lengths:
        values.append(values[-1] + length)
    dtype = draw(st.sampled_from([torch.int64, torch.int32] * 4 + [torch.float32]))
    problem = None if all(length > 0 for length in lengths) else "offsets"
    corruption = draw(st.sampled_from(["none"] * 12 + ["start", "end", "2-D", "empty"]))
    if corruption == "start":
        values[0] = 1
    elif corruption == "end":
        values[-1] += 1
    offsets = torch.tensor(values, dtype=dtype)
    if corruption == "2-D":
        offsets = offsets[None]
    elif corruption == "empty":
        offsets = offsets[:0]
    if corruption != "none" or dtype == torch.float32:
        problem = "offsets"
    return offsets, total, problem


@PROPERTY_SETTINGS
@given(data=st.data())
def test_clip_views_packed_property(data):
    draw = data.draw
    lengths = draw(st.lists(st.integers(1, 8), min_size=0, max_size=4))
    if lengths and draw(st.integers(0, 9)) == 0:
        lengths[draw(st.integers(0, len(lengths) - 1))] = 0  # a clip without frames
    height, width = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    channels = draw(st.sampled_from([1, 3]))
    offsets, total, problem = draw(offsets_arg(lengths))
    problems = {problem} if problem else set()
    frames = make_frames(
        draw(st.integers(0, 2**31)),
        (total, height, width, channels),
        draw(st.sampled_from(["contiguous", "channel-slice", "permuted-hw"])),
    )
    t_out, size, views, dtype, padding, more = draw(
        common_args(draw(broken_arguments(("t_out", "size", "views", "dtype", "padding"))))
    )
    problems |= more
    n = len(lengths)
    theta = draw(st.one_of(st.none(), theta_rows(n, torch.float32)))
    got, exc = call(
        lambda: ops.clip_views_packed(
            frames, offsets, t_out, size, views, theta=theta, dtype=dtype, padding=padding
        )
    )
    if problems:
        assert exc is not None, f"accepted although {sorted(problems)} are wrong"
        assert_error_names(exc, problems)
        return
    assert exc is None, f"refused valid arguments: {exc!r}"
    h, w = out_size(size)
    assert got.shape == (len(views), n, channels, t_out, h, w)
    if n == 0:
        return
    want = reference.clip_views_packed(
        frames,
        offsets,
        t_out,
        size,
        views,
        theta=theta,
        dtype=torch.float64,
        compute_dtype=torch.float64,
        padding=padding,
    )
    std_values = ops.api._stats(None, ops.KINETICS_STD, channels, "std")
    compare_clip_views(got, want, theta, n, height, width, std_values, dtype)


# -- temporal_resize and decalcomanie -----------------------------------------------------------

FLOAT_TOL = {
    torch.float64: (1e-12, 1e-12),
    torch.float32: (1e-5, 1e-5),
    torch.float16: (2e-3, 2e-3),
    torch.bfloat16: (1e-2, 1e-2),
}


@PROPERTY_SETTINGS
@given(
    shape=st.tuples(
        *[st.integers(0, 4)] * 2,
        st.sampled_from(list(range(1, 10)) * 3 + [0]),
        *[st.integers(0, 4)] * 2,
    ),
    t_out=st.one_of(
        st.integers(1, 12),
        st.integers(1, 12),
        st.integers(1, 12),
        st.sampled_from([0, -1, 2**20 + 1, 2.5, True]),
    ),
    dtype=st.sampled_from(
        [torch.float64, torch.float32, torch.float16, torch.bfloat16] * 2 + [torch.int64]
    ),
    transposed=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_temporal_resize_property(shape, t_out, dtype, transposed, seed):
    g = torch.Generator().manual_seed(seed)
    x64 = torch.randn(shape, generator=g, dtype=torch.float64)
    if transposed:  # same values, non-contiguous (H and W swapped in memory)
        x64 = x64.transpose(3, 4).contiguous().transpose(3, 4)
    problems = set()
    if isinstance(t_out, (float, bool)) or not 1 <= t_out <= 2**20:
        problems.add("t_out")
    if dtype == torch.int64:
        problems.add("x")
    if shape[2] == 0:
        problems.add("x")
    x = x64.to(dtype).requires_grad_(dtype.is_floating_point)
    got, exc = call(lambda: ops.temporal_resize(x, t_out))
    if problems:
        assert exc is not None, f"accepted although {sorted(problems)} are wrong"
        assert_error_names(exc, problems)
        return
    assert exc is None, f"refused valid arguments: {exc!r}"
    assert got.shape == shape[:2] + (t_out,) + shape[3:] and got.dtype == dtype
    atol, rtol = FLOAT_TOL[dtype]
    grad = torch.randn(got.shape, generator=g, dtype=torch.float64)
    got.backward(grad.to(dtype))
    if 0 in shape:
        assert x.grad.shape == x.shape
        return
    xr = x.detach().double().requires_grad_()
    want = reference.temporal_resize(xr, t_out)
    want.backward(grad.to(dtype).double())
    torch.testing.assert_close(got.double(), want, atol=atol, rtol=rtol)
    torch.testing.assert_close(
        x.grad.double(), xr.grad, atol=atol * (t_out / shape[2] + 2), rtol=rtol
    )


@PROPERTY_SETTINGS
@given(
    shape=st.lists(st.integers(0, 6), min_size=0, max_size=4),
    side=st.sampled_from(["L", "R", "L", "R", "O", "", "LR"]),
    dtype=st.sampled_from([torch.float64, torch.float32, torch.bfloat16, torch.uint8, torch.int32]),
    strided=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_decalcomanie_property(shape, side, dtype, strided, seed):
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(shape, generator=g) * 200).to(dtype)
    if strided and x.dim() >= 2:
        x = x.transpose(-1, -2).contiguous().transpose(-1, -2)
    problems = set()
    if side not in ("L", "R"):
        problems.add("side")
    if not (dtype.is_floating_point or dtype == torch.uint8) or x.dim() == 0:
        problems.add("x")
    got, exc = call(lambda: ops.decalcomanie(x, side))
    if problems:
        assert exc is not None, f"accepted although {sorted(problems)} are wrong"
        assert_error_names(exc, problems)
        return
    assert exc is None, f"refused valid arguments: {exc!r}"
    assert torch.equal(got, reference.decalcomanie(x, side))
    if dtype.is_floating_point:
        xk = x.detach().requires_grad_()
        gk = torch.randn(x.shape, generator=g).to(dtype)
        ops.decalcomanie(xk, side).backward(gk)
        xr = x.detach().double().requires_grad_()
        reference.decalcomanie(xr, side).backward(gk.double())
        # the two gradients a column may receive are summed and rounded once to dtype
        torch.testing.assert_close(xk.grad.double(), xr.grad, atol=0, rtol=torch.finfo(dtype).eps)
