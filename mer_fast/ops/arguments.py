"""Argument checks of the mer_fast operators on the Python side.

The C++ operators check every argument themselves (csrc/checks.cpp), so that code calling
``torch.ops.mer_fast.*`` directly gets clear errors. Two places need the checks in Python too:
the Python face (:mod:`mer_fast.ops.api`), which turns what a user passes (a float ``t_out``, a
list where a tensor goes, ...) into the schema's types without silent truncation, and the fake
kernels (:mod:`mer_fast.ops._registration`), which are the kernels of ``meta`` tensors and of
``torch.compile``'s tracing, where no C++ check runs. The messages match the C++ ones; the limits
are the C++ limits (``tests/test_ops_arguments.py`` checks both sides at the boundaries).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence

import torch

from mer_fast.errors import OpArgumentError

# csrc/clip_math.h and csrc/checks.h: kMaxTimeLength, kMaxClipFrames, kMaxOutputSide,
# kMaxFrameSide.
MAX_T_OUT = 1 << 20  # frames per output clip (t_out of clip_views and temporal_resize)
MAX_CLIP_FRAMES = 1 << 40  # frames per input clip
MAX_OUTPUT_SIDE = 1 << 15  # h and w of clip_views' output
MAX_FRAME_SIDE = 1 << 24  # H and W of the frames
OUTPUT_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
PADDINGS = ("border", "zeros")


def fail(fn: str, message: str) -> OpArgumentError:
    return OpArgumentError(f"{fn}: {message}")


def integer(fn: str, name: str, value, lo: int, hi: int, what: str = "") -> int:
    """``value`` as an int in [lo, hi]; a bool, a float (even 4.0) or a string is an error."""
    what = f" ({what})" if what else ""
    try:
        if isinstance(value, bool):
            raise TypeError
        v = operator.index(value)
    except TypeError:
        raise fail(
            fn,
            f"{name} must be an integer between {lo} and {hi}{what}, got {value!r} "
            f"({type(value).__name__})",
        ) from None
    if not lo <= v <= hi:
        raise fail(fn, f"{name} must be between {lo} and {hi}{what}, got {v}")
    return v


def pair(fn: str, size) -> list[int]:
    """``size`` (an int, or a pair (h, w)) as [h, w] with each in [1, MAX_OUTPUT_SIDE]."""
    allowed = f"an int or a pair (h, w) of ints between 1 and {MAX_OUTPUT_SIDE}"
    if isinstance(size, (str, bytes)) or (
        not isinstance(size, Sequence) and not (isinstance(size, torch.Tensor) and size.dim() == 1)
    ):
        values = [size]
    else:
        values = list(size)
        if len(values) != 2:
            raise fail(fn, f"size must be {allowed}, got {len(values)} values: {size!r}")
    out = [integer(fn, "size", v, 1, MAX_OUTPUT_SIDE) for v in values]
    return out * 2 if len(out) == 1 else out


def stats(fn: str, values, default: Sequence[float], channels: int, name: str) -> list[float]:
    """``mean``/``std`` as a list of 1 or C floats (``None``: the default statistics)."""
    if values is None:
        return list(default) if channels == len(default) else [sum(default) / len(default)]
    given = values
    if isinstance(values, torch.Tensor):
        values = values.detach().flatten().tolist()
    elif isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        values = [values]
    out = []
    for v in values:
        if isinstance(v, (bool, str, bytes)) or not hasattr(v, "__float__"):
            raise fail(fn, f"{name} must be a number or one number per channel, got {given!r}")
        out.append(float(v))
    if channels in (1, 3) and len(out) not in (1, channels):
        raise fail(fn, f"{name} must have 1 or C={channels} values, got {len(out)}: {out}")
    return out


def tensor(fn: str, name: str, value, what: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise fail(fn, f"{name} must be {what}, got {type(value).__name__}")
    return value


def text(fn: str, name: str, value, what: str) -> str:
    if not isinstance(value, str):
        raise fail(fn, f"{name} must be {what}, got {value!r} ({type(value).__name__})")
    return value


def output_dtype(fn: str, dtype) -> torch.dtype:
    if dtype not in OUTPUT_DTYPES:
        raise fail(
            fn, f"dtype must be torch.float32, torch.float16 or torch.bfloat16, got {dtype!r}"
        )
    return dtype


def check_views(fn: str, views: str) -> None:
    text(fn, "views", views, "an ordered subset of 'OLR'")
    if not views:
        raise fail(fn, "views must name at least one of 'O', 'L', 'R', got an empty string")
    if len(views) > 3:
        raise fail(
            fn, f"views must be an ordered subset of 'OLR' (at most 3 letters), got '{views}'"
        )
    for c in views:
        if c not in "OLR":
            raise fail(fn, f"views may contain only 'O', 'L' and 'R', got '{c}' in '{views}'")
    if len(set(views)) != len(views):
        raise fail(fn, f"views must not repeat a view, got '{views}'")


def check_padding(fn: str, padding: str) -> None:
    if padding not in PADDINGS:
        raise fail(
            fn,
            "padding must be 'border' (a sample outside the frame repeats the edge) or "
            f"'zeros' (it reads 0, black), got {padding!r}",
        )


def check_clip_views(
    fn: str,
    frames: torch.Tensor,
    offsets,
    t_out: int,
    size,
    views: str,
    mean,
    std,
    theta,
    dtype,
    padding: str,
) -> int:
    """Every check of csrc/checks.cpp prepare_clip_views that needs no tensor data (the fake
    kernels' checks); returns N."""
    packed = offsets is not None
    rank, layout = (4, "[sum_T, H, W, C]") if packed else (5, "[N, T, H, W, C]")
    tensor(fn, "frames", frames, f"a uint8 tensor {layout}")
    if frames.dtype != torch.uint8:
        raise fail(
            fn,
            f"frames must be uint8 {layout} as decoders return them, got dtype "
            f"{frames.dtype}; convert with frames.to(torch.uint8) if they hold 0-255 "
            "values",
        )
    if frames.dim() != rank:
        raise fail(fn, f"frames must have rank {rank} {layout}, got shape {list(frames.shape)}")
    c = frames.shape[-1]
    if c not in (1, 3):
        raise fail(
            fn,
            f"frames must have 1 or 3 channels (last dim), got {c} in shape "
            f"{list(frames.shape)}; frames are channels-last",
        )
    integer(fn, "t_out", t_out, 1, MAX_T_OUT, "frames per output clip")
    if len(size) != 2 or not all(1 <= s <= MAX_OUTPUT_SIDE for s in size):
        raise fail(fn, f"size must be (h, w) with 1 <= h, w <= {MAX_OUTPUT_SIDE}, got {size}")
    check_views(fn, views)
    for name, values in (("mean", mean), ("std", std)):
        if len(values) not in (1, c):
            raise fail(fn, f"{name} must have 1 or C={c} values, got {len(values)}")
    for i in range(c):
        m, s = mean[0 if len(mean) == 1 else i], std[0 if len(std) == 1 else i]
        if not (math.isfinite(s) and s > 0):
            raise fail(fn, f"std[{i}] must be a positive number, got {s}")
        if not math.isfinite(m):
            raise fail(fn, f"mean[{i}] must be finite, got {m}")
    output_dtype(fn, dtype)
    check_padding(fn, padding)
    h, w = frames.shape[-3], frames.shape[-2]
    if h > MAX_FRAME_SIDE or w > MAX_FRAME_SIDE:
        raise fail(
            fn,
            f"frames may be at most {MAX_FRAME_SIDE} pixels high and wide, got shape "
            f"{list(frames.shape)}",
        )
    if packed:
        tensor(fn, "offsets", offsets, "an int64 (or int32) tensor of N+1 clip starts")
        if offsets.dim() != 1 or offsets.shape[0] < 1:
            raise fail(
                fn,
                "offsets must be a 1-D tensor of N+1 clip starts (offsets = [0] for no "
                f"clips), got shape {list(offsets.shape)}",
            )
        if offsets.dtype not in (torch.int64, torch.int32):
            raise fail(fn, f"offsets must be int64 (or int32), got {offsets.dtype}")
        if offsets.device.type != "cpu" and offsets.device != frames.device:
            raise fail(
                fn,
                f"offsets must be on the CPU or on the frames' device {frames.device}, "
                f"got {offsets.device}",
            )
        n = offsets.shape[0] - 1
    else:
        n, t = frames.shape[0], frames.shape[1]
        if n > 0 and t < 1:
            raise fail(
                fn,
                f"frames must hold at least one frame per clip (T >= 1), got T = {t} "
                f"in shape {list(frames.shape)}",
            )
        if t > MAX_CLIP_FRAMES:
            raise fail(fn, f"a clip may have at most {MAX_CLIP_FRAMES} frames, got T = {t}")
    if n > 0 and (h < 1 or w < 1):
        raise fail(fn, f"frames must have H, W >= 1, got shape {list(frames.shape)}")
    if theta is not None:
        tensor(fn, "theta", theta, "None or a float tensor [N, 2, 3]")
        if theta.dim() != 3 or tuple(theta.shape) != (n, 2, 3):
            raise fail(
                fn,
                f"theta must be [N, 2, 3] = [{n}, 2, 3] (one affine per clip), got "
                f"{list(theta.shape)}",
            )
        if not theta.is_floating_point():
            raise fail(fn, f"theta must be a floating tensor, got {theta.dtype}")
        if theta.device != frames.device:
            raise fail(
                fn,
                f"theta is on {theta.device} but frames are on {frames.device}; move "
                "theta with .to(frames.device)",
            )
    return n


def check_temporal_resize(fn: str, x: torch.Tensor, t_out: int) -> None:
    """csrc/checks.cpp check_temporal_resize (``fn`` is the op's name)."""
    backward = fn == "temporal_resize_backward"
    x_name, t_name = ("grad", "t_in") if backward else ("x", "t_out")
    tensor(fn, x_name, x, "a float tensor [N, C, T, H, W]")
    if x.dim() != 5:
        raise fail(fn, f"{x_name} must be [N, C, T, H, W], got shape {list(x.shape)}")
    if not x.is_floating_point():
        raise fail(
            fn,
            f"{x_name} must be a floating tensor (float16, bfloat16, float32, "
            f"float64), got {x.dtype}",
        )
    integer(fn, t_name, t_out, 1, MAX_CLIP_FRAMES if backward else MAX_T_OUT)
    t = x.shape[2]
    if t < 1:
        raise fail(fn, f"{x_name} must have at least one frame (dim 2), got shape {list(x.shape)}")
    most = MAX_T_OUT if backward else MAX_CLIP_FRAMES
    if t > most:
        raise fail(
            fn, f"{x_name} must have at most {most} frames (dim 2), got shape {list(x.shape)}"
        )


def check_decalcomanie(fn: str, x: torch.Tensor, side: str) -> None:
    """csrc/checks.cpp decalcomanie_side + check_decalcomanie."""
    text(fn, "side", side, "'L' or 'R'")
    if side not in ("L", "R"):
        raise fail(
            fn,
            "side must be 'L' (left half mirrored onto the right) or 'R' (right half "
            f"mirrored onto the left), got '{side}'",
        )
    tensor(fn, "x", x, "a tensor whose last dim is the width")
    if x.dim() < 1:
        raise fail(fn, "x must have at least one dimension (the width, last)")
    if not (x.is_floating_point() or x.dtype == torch.uint8):
        raise fail(fn, f"x must be a floating or uint8 tensor, got {x.dtype}")
    if fn == "decalcomanie_backward" and not x.is_floating_point():
        raise fail(fn, f"grad must be floating, got {x.dtype}")
