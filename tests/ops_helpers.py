"""Hypothesis strategies and tolerances for tests/test_ops_properties.py: arguments of the
mer_fast ops, valid or broken on purpose, and the property's own view of what is wrong."""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

OUT_TOL = {torch.float32: (0.0, 0.0), torch.float16: (2e-3, 1e-3), torch.bfloat16: (1e-3, 8e-3)}
EPS32 = 2.0**-24


def make_frames(seed: int, shape, layout: str, dtype=torch.uint8) -> torch.Tensor:
    """Random frames of ``shape`` [N, T, H, W, C] (or [S, H, W, C]), laid out as ``layout``."""
    g = torch.Generator().manual_seed(seed)
    shape = list(shape)

    def rand(s):
        return torch.randint(0, 256, s, generator=g).to(dtype)

    if layout == "time-strided" and len(shape) == 5:
        return rand([shape[0], 2 * shape[1]] + shape[2:])[:, ::2]
    if layout == "channel-slice":
        return rand(shape[:-1] + [shape[-1] + 1])[..., 1:]
    if layout == "permuted-hw":
        s = list(shape)
        s[-3], s[-2] = s[-2], s[-3]
        return rand(s).transpose(-3, -2)
    if layout == "broadcast-time" and len(shape) == 5:
        return rand([shape[0], 1] + shape[2:]).expand(shape)
    return rand(shape)


LAYOUTS = st.sampled_from(
    ["contiguous", "time-strided", "channel-slice", "permuted-hw", "broadcast-time"]
)
MODERATE = st.floats(-2.0, 2.0, allow_nan=False)
FAR = st.builds(
    lambda m, s: m * s, st.sampled_from([10.0, 1e4, 1e30, 3e38]), st.sampled_from([-1.0, 1.0])
)


@st.composite
def theta_rows(draw, n: int, dtype):
    """[n, 2, 3]: moderate linear parts, moderate or far translations, sometimes a large linear
    part, sometimes a non-finite entry."""
    rows = []
    for _ in range(2 * n):
        a, b = draw(MODERATE), draw(MODERATE)
        if draw(st.integers(0, 9)) == 0:
            a *= draw(st.sampled_from([30.0, 1e3]))
        c = draw(st.one_of(MODERATE, FAR))
        if dtype == torch.float64 and draw(st.integers(0, 7)) == 0:
            c = math.copysign(1e300, c)  # finite in float64, beyond float32
        rows.append([a, b, c])
    theta = torch.tensor(rows, dtype=torch.float64).view(n, 2, 3)
    if n and draw(st.integers(0, 4)) == 0:
        i, j = draw(st.integers(0, n - 1)), draw(st.integers(0, 5))
        theta[i].view(-1)[j] = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
    return theta.to(dtype)


def row_magnitude(row: torch.Tensor) -> float:
    """Sum |theta| of one row, or 0 when every sample of that row lies far outside the frame
    (|g| > 3 for all |gx0|, |gy0| <= 1): that axis then reads the border or zeros exactly."""
    a, b, c = (abs(float(v)) for v in row)
    return 0.0 if c - a - b > 4.0 else a + b + c


def clip_views_atol(theta, n: int, height: int, width: int, std: list[float]) -> float:
    worst = 0.0
    for i in range(n):
        rx, ry = (
            (1.0, 1.0)
            if theta is None
            else (row_magnitude(theta[i, 0]), row_magnitude(theta[i, 1]))
        )
        worst = max(worst, (1.5 * rx + 3) * width + (1.5 * ry + 3) * height)
    return 1e-5 + 4 * EPS32 * worst / min(std)


def broken_arguments(names: tuple[str, ...]):
    """Which arguments an example breaks: none half of the time, else one or two of ``names``."""
    return st.one_of(
        st.just(frozenset()), st.frozensets(st.sampled_from(names), min_size=1, max_size=2)
    )


@st.composite
def stats_arg(draw, channels: int, kind: str, bad: bool):
    """mean or std: None (the default), 1 or C good values, or (bad) 2 values / a non-finite
    value / a non-positive std."""
    good = st.floats(0.05, 0.9) if kind == "std" else st.floats(-1.0, 1.0)
    if not bad:
        if draw(st.booleans()):
            return None
        count = draw(st.sampled_from([1, channels])) if channels in (1, 3) else 1
        return [draw(good) for _ in range(count)]
    if draw(st.booleans()):
        return [draw(good)] * 2
    return [
        draw(
            st.sampled_from([math.nan, math.inf] + ([0.0, -0.5] if kind == "std" else [-math.inf]))
        )
    ]


def stats_problem(values, channels: int, kind: str):
    if values is None:
        return None
    if channels in (1, 3) and len(values) not in (1, channels):
        return kind
    if any(not math.isfinite(v) or (kind == "std" and v <= 0) for v in values):
        return kind
    return None


GOOD_VIEWS = st.permutations("OLR").flatmap(
    lambda p: st.integers(1, 3).map(lambda k: "".join(p[:k]))
)
BAD_VIEWS = st.one_of(
    st.sampled_from(["", "OO", "OLRO", "X", "ol", "LRL"]), st.text("OLRXo", min_size=0, max_size=4)
)


def views_problem(views: str):
    ok = 1 <= len(views) <= 3 and set(views) <= set("OLR") and len(set(views)) == len(views)
    return None if ok else "views"


@st.composite
def common_args(draw, broken: frozenset):
    """t_out, size, views, dtype, padding (bad where ``broken`` says); and their problems, as
    this test sees them."""
    problems = set()
    t_out = draw(
        st.sampled_from([0, -2, 2**20 + 1, 4.5, 3.0, True])
        if "t_out" in broken
        else st.integers(1, 12)
    )
    if isinstance(t_out, bool) or not isinstance(t_out, int) or not 1 <= t_out <= 2**20:
        problems.add("t_out")
    size = draw(
        st.sampled_from([(0, 3), (3, -1), (4, 40000), 2.5, (3, 3, 3), "ab"])
        if "size" in broken
        else st.one_of(st.tuples(st.integers(1, 9), st.integers(1, 9)), st.integers(1, 9))
    )
    entries = size if isinstance(size, tuple) else (size,)
    if (isinstance(size, tuple) and len(size) != 2) or not all(
        isinstance(v, int) and 1 <= v <= 2**15 for v in entries
    ):
        problems.add("size")
    views = draw(BAD_VIEWS if "views" in broken else GOOD_VIEWS)
    if views_problem(views):
        problems.add("views")
    dtype = draw(
        st.sampled_from([torch.float64, torch.int32, torch.uint8])
        if "dtype" in broken
        else st.sampled_from([torch.float32, torch.float32, torch.float16, torch.bfloat16])
    )
    if dtype not in OUT_TOL:
        problems.add("dtype")
    padding = draw(
        st.sampled_from(["reflection", "Zeros", ""])
        if "padding" in broken
        else st.sampled_from(["border", "zeros"])
    )
    if padding not in ("border", "zeros"):
        problems.add("padding")
    return t_out, size, views, dtype, padding, problems


def out_size(size):
    return (size, size) if isinstance(size, int) else size
